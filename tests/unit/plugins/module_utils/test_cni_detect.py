# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CNI detection from kubectl JSON built from the upstream manifests (tests/standin-data/cni)."""

from __future__ import annotations

import copy
import json
import os

import pytest
import yaml

from ansible_collections.kube_proxy.mode.plugins.module_utils._cni import (
    CniError,
    decide,
    detect_from_cluster,
    detect_from_inventory,
    evaluate,
    image_version,
)

TOP = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
STANDIN = os.path.join(TOP, 'tests', 'standin-data', 'cni')
K8S = '1.33.5'


@pytest.fixture(scope='module')
def matrix():
    with open(os.path.join(TOP, 'data', 'cni_matrix.yml'), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def load(scenario, name):
    path = os.path.join(STANDIN, scenario, name)
    if not os.path.exists(path):
        return None
    with open(path, encoding='utf-8') as handle:
        return json.load(handle)


def detect(scenario):
    return detect_from_cluster(
        load(scenario, 'daemonsets.json'), load(scenario, 'configmaps.json'), load(scenario, 'installation.json')
    )


# scenario -> name, version, settings, namespace, verdicts (iptables, ipvs, nftables) at Kubernetes 1.33
SCENARIOS = {
    'calico-manifest': (
        'calico', 'v3.32.1', {}, 'kube-system', ('supported', 'supported', 'supported')),
    'calico-operator-iptables': (
        'calico', 'v3.32.1', {'linuxDataplane': 'Iptables'}, 'calico-system',
        ('supported', 'supported', 'supported')),
    'calico-operator-bpf': (
        'calico', 'v3.32.1', {'linuxDataplane': 'BPF'}, 'calico-system',
        ('not_applicable', 'not_applicable', 'not_applicable')),
    'calico-operator-nftables': (
        'calico', 'v3.32.1', {'linuxDataplane': 'Nftables'}, 'calico-system',
        ('supported', 'supported', 'supported')),
    'cilium-latest': (
        'cilium', None, {'kube-proxy-replacement': 'probe'}, 'kube-system',
        ('unverified', 'unverified', 'unverified')),
    'cilium-v1.8.0-rc3': (
        'cilium', 'v1.8.0-rc3', {'kube-proxy-replacement': 'probe'}, 'kube-system',
        ('unverified', 'unverified', 'unverified')),
    'aws-vpc-cni': (
        'aws-vpc-cni', 'v1.23.1', {}, 'kube-system', ('supported', 'supported', 'supported')),
    'flannel': (
        'flannel', 'v0.28.9', {'EnableNFTables': False}, 'kube-flannel',
        ('supported', 'supported', 'needs_settings')),
    'kube-router': (
        'kube-router', None, {'run-service-proxy': 'false'}, 'kube-system',
        ('unverified', 'unverified', 'unverified')),
    'kube-router-all-features': (
        'kube-router', None, {'run-service-proxy': 'true'}, 'kube-system',
        ('not_applicable', 'not_applicable', 'not_applicable')),
}  # fmt: skip


def test_every_scenario_is_tested():
    on_disk = {d for d in os.listdir(STANDIN) if os.path.isdir(os.path.join(STANDIN, d))}
    assert on_disk == set(SCENARIOS)


@pytest.mark.parametrize('scenario', sorted(SCENARIOS))
def test_detection_and_verdicts(matrix, scenario):
    name, version, settings, namespace, verdicts = SCENARIOS[scenario]
    found = detect(scenario)
    assert found['name'] == name
    assert found['version'] == version
    assert found['settings'] == settings
    assert found['namespace'] == namespace
    assert found['source'] == 'cluster'
    assert found['ready'] == '3/3'
    assert found['others'] == []
    if version is None:
        assert any('no release tag' in n for n in found['notes'])
    # env from ConfigMaps that do not matter here (FELIX_IPINIPMTU, ...) is not reported
    assert not any('was not resolved' in n for n in found['notes'])
    for mode, verdict in zip(('iptables', 'ipvs', 'nftables'), verdicts, strict=True):
        result = evaluate(matrix, found['name'], mode, found['version'], found['settings'], kube_version=K8S)
        assert result['verdict'] == verdict, (mode, result['reasons'])


def test_operator_install_is_said(matrix):
    found = detect('calico-operator-nftables')
    assert any('tigera-operator' in n and 'Nftables' in n for n in found['notes'])
    default = detect('calico-operator-iptables')
    assert any('Iptables by default' in n for n in default['notes'])


def test_calico_3_31_manifest_with_and_without_nftables_env(matrix):
    """Kubespray's calico_nftable_mode renders FELIX_NFTABLESMODE into calico-node's env."""
    daemonsets = load('calico-manifest', 'daemonsets.json')
    ds = copy.deepcopy(daemonsets)
    node = [c for c in ds['items'][0]['spec']['template']['spec']['containers'] if c['name'] == 'calico-node'][0]
    node['image'] = 'docker.io/calico/node:v3.31.5'
    plain = detect_from_cluster(ds)
    assert plain['version'] == 'v3.31.5'
    assert evaluate(matrix, 'calico', 'nftables', plain['version'], plain['settings'], K8S)['verdict'] == (
        'needs_settings'
    )
    node['env'].append({'name': 'FELIX_NFTABLESMODE', 'value': 'Enabled'})
    node['env'].append({'name': 'FELIX_IPTABLESBACKEND', 'value': 'NFT'})
    enabled = detect_from_cluster(ds)
    assert enabled['settings'] == {'FELIX_NFTABLESMODE': 'Enabled', 'FELIX_IPTABLESBACKEND': 'NFT'}
    assert evaluate(matrix, 'calico', 'nftables', enabled['version'], enabled['settings'], K8S)['verdict'] == (
        'supported'
    )


def test_env_from_configmap_is_noted():
    ds = copy.deepcopy(load('calico-manifest', 'daemonsets.json'))
    node = [c for c in ds['items'][0]['spec']['template']['spec']['containers'] if c['name'] == 'calico-node'][0]
    node['env'].append(
        {'name': 'FELIX_NFTABLESMODE', 'valueFrom': {'configMapKeyRef': {'name': 'x', 'key': 'nftables'}}}
    )
    found = detect_from_cluster(ds)
    assert 'FELIX_NFTABLESMODE' not in found['settings']
    assert any('FELIX_NFTABLESMODE comes from configMapKeyRef' in n for n in found['notes'])


def test_flannel_helm_style_enable_nftables(matrix):
    cms = copy.deepcopy(load('flannel', 'configmaps.json'))
    conf = json.loads(cms['items'][0]['data']['net-conf.json'])
    conf['EnableNFTables'] = True
    cms['items'][0]['data']['net-conf.json'] = json.dumps(conf)
    found = detect_from_cluster(load('flannel', 'daemonsets.json'), cms)
    assert found['settings'] == {'EnableNFTables': True}
    assert evaluate(matrix, 'flannel', 'nftables', found['version'], found['settings'], K8S)['verdict'] == 'supported'


def test_missing_configmap_is_noted():
    found = detect_from_cluster(load('cilium-v1.8.0-rc3', 'daemonsets.json'), None)
    assert found['settings'] == {}
    assert any('cilium-config not found' in n for n in found['notes'])


def test_configmaps_as_several_lists():
    flannel = load('flannel', 'configmaps.json')
    cilium = load('cilium-latest', 'configmaps.json')
    found = detect_from_cluster(load('cilium-latest', 'daemonsets.json'), [flannel, cilium])
    assert found['settings'] == {'kube-proxy-replacement': 'probe'}


def test_modern_cilium_kpr_true(matrix):
    ds = copy.deepcopy(load('cilium-v1.8.0-rc3', 'daemonsets.json'))
    for container in ds['items'][0]['spec']['template']['spec']['containers']:
        container['image'] = 'quay.io/cilium/cilium:v1.16.3@sha256:' + '0' * 64
    cms = copy.deepcopy(load('cilium-v1.8.0-rc3', 'configmaps.json'))
    cms['items'][0]['data']['kube-proxy-replacement'] = 'true'
    found = detect_from_cluster(ds, cms)
    assert found['version'] == 'v1.16.3'
    assert evaluate(matrix, 'cilium', 'nftables', found['version'], found['settings'], K8S)['verdict'] == (
        'not_applicable'
    )


def test_two_cnis_calico_first_kube_router_reported():
    merged = load('calico-manifest', 'daemonsets.json')
    merged['items'] += load('kube-router', 'daemonsets.json')['items']
    found = detect_from_cluster(merged)
    assert found['name'] == 'calico'
    assert [o['name'] for o in found['others']] == ['kube-router']
    assert any('Also found: kube-router' in n for n in found['notes'])


def test_no_cni_found(matrix):
    found = detect_from_cluster({'apiVersion': 'v1', 'kind': 'List', 'items': []})
    assert found['name'] is None
    assert 'No DaemonSet of a known CNI' in found['notes'][0]
    result = decide(evaluate(matrix, found['name'], 'iptables', kube_version=K8S))
    assert result['verdict'] == 'unverified' and result['ok'] is False


def test_json_text_and_bad_input():
    text = json.dumps(load('aws-vpc-cni', 'daemonsets.json'))
    assert detect_from_cluster(text)['name'] == 'aws-vpc-cni'
    with pytest.raises(CniError, match='not JSON'):
        detect_from_cluster('Error from server (Forbidden)')
    with pytest.raises(CniError):
        detect_from_cluster(42)


@pytest.mark.parametrize(
    'image, version',
    [
        ('quay.io/calico/node:v3.32.1', 'v3.32.1'),
        ('docker.io/cilium/cilium:latest', None),
        ('docker.io/cloudnativelabs/kube-router', None),
        ('registry.local:5000/calico/node', None),
        ('registry.local:5000/calico/node:v3.30.7', 'v3.30.7'),
        ('602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.23.1-eksbuild.1', 'v1.23.1-eksbuild.1'),
        ('quay.io/cilium/cilium@sha256:' + 'a' * 64, None),
        (None, None),
    ],
)
def test_image_version(image, version):
    assert image_version(image) == version


def test_inventory_fallback(matrix):
    found = detect_from_inventory(
        {'kube_network_plugin': 'calico', 'calico_version': 'v3.31.5', 'calico_nftable_mode': True},
        'kubectl failed: connection refused',
    )
    assert found['source'] == 'inventory'
    assert found['name'] == 'calico' and found['version'] == '3.31.5'
    assert found['settings'] == {'calico_nftable_mode': True}
    assert 'not from the cluster: kubectl failed' in found['notes'][0]
    assert evaluate(matrix, 'calico', 'nftables', found['version'], found['settings'], K8S)['verdict'] == 'supported'

    cilium = detect_from_inventory({'kube_network_plugin': 'cilium', 'cilium_kube_proxy_replacement': True})
    assert evaluate(matrix, 'cilium', 'ipvs', cilium['version'], cilium['settings'], K8S)['verdict'] == (
        'not_applicable'
    )
    assert any('cilium_version is not set' in n for n in cilium['notes'])

    router = detect_from_inventory({'kube_network_plugin': 'kube-router', 'kube_router_version': 'v2.4.1'})
    assert router['settings'] == {'kube_router_run_service_proxy': False}
    assert evaluate(matrix, 'kube-router', 'iptables', router['version'], router['settings'], K8S)['verdict'] == (
        'supported'
    )

    assert detect_from_inventory({})['name'] is None
    assert detect_from_inventory({'kube_network_plugin': 'weave'})['name'] == 'weave'
