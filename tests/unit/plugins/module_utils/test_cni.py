# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verdicts of plugins/module_utils/_cni.py against the real matrix data/cni_matrix.yml."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.kube_proxy.mode.plugins.module_utils._cni import (
    CniError,
    decide,
    describe_bounds,
    evaluate,
    normalize_settings,
    parse_version,
)

MATRIX_PATH = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'data', 'cni_matrix.yml')
K8S = '1.33.5'


@pytest.fixture(scope='module')
def matrix():
    with open(MATRIX_PATH, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


# (cni, version, mode, settings, expected verdict, expected required_settings)
CASES = [
    # Calico <= 3.27
    ('calico', '3.27.5', 'iptables', {}, 'supported', {}),
    ('calico', '3.27.5', 'ipvs', {}, 'supported', {}),
    (
        'calico',
        '3.27.5',
        'ipvs',
        {'FELIX_KUBENODEPORTRANGES': '30000:40000'},
        'needs_settings',
        {'FELIX_KUBENODEPORTRANGES': '30000:32767'},
    ),
    ('calico', '3.27.5', 'nftables', {'FELIX_NFTABLESMODE': 'Enabled'}, 'unsupported', {}),
    ('calico', 'v3.26.4', 'nftables', {}, 'unsupported', {}),
    # Calico 3.28 (boundary 3.28.0)
    ('calico', '3.28.0', 'nftables', {}, 'unverified', {}),
    ('calico', 'v3.28.2', 'nftables', {'FELIX_NFTABLESMODE': 'Enabled'}, 'unverified', {}),
    # Calico 3.29-3.30
    ('calico', '3.29.0', 'nftables', {}, 'needs_settings', {'FELIX_NFTABLESMODE': 'Enabled'}),
    ('calico', '3.30.7', 'nftables', {'FELIX_NFTABLESMODE': 'Enabled'}, 'supported', {}),
    ('calico', '3.30.7', 'nftables', {'FELIX_NFTABLESMODE': 'enabled'}, 'supported', {}),
    ('calico', '3.30.7', 'iptables', {}, 'supported', {}),
    # Calico 3.31 (default Disabled)
    ('calico', '3.31.0', 'nftables', {}, 'needs_settings', {'FELIX_NFTABLESMODE': 'Enabled'}),
    ('calico', '3.31.5', 'nftables', {'FELIX_NFTABLESMODE': 'Enabled'}, 'supported', {}),
    (
        'calico',
        '3.31.5',
        'nftables',
        {'FELIX_NFTABLESMODE': 'Disabled'},
        'needs_settings',
        {'FELIX_NFTABLESMODE': 'Enabled'},
    ),
    ('calico', '3.31.5', 'nftables', {'calico_nftable_mode': True}, 'supported', {}),
    (
        'calico',
        '3.31.5',
        'nftables',
        {'calico_nftable_mode': 'false'},
        'needs_settings',
        {'FELIX_NFTABLESMODE': 'Enabled'},
    ),
    ('calico', '3.31.5', 'nftables', {'linuxDataplane': 'Nftables'}, 'supported', {}),
    (
        'calico',
        '3.31.5',
        'nftables',
        {'linuxDataplane': 'Iptables'},
        'needs_settings',
        {'FELIX_NFTABLESMODE': 'Enabled'},
    ),
    # Calico >= 3.32 (default Auto; boundary 3.32.0 and pre-release of it)
    ('calico', '3.32.0', 'nftables', {}, 'supported', {}),
    ('calico', 'v3.32.1', 'nftables', {'FELIX_NFTABLESMODE': 'Auto'}, 'supported', {}),
    (
        'calico',
        '3.32.1',
        'nftables',
        {'FELIX_NFTABLESMODE': 'Disabled'},
        'needs_settings',
        {'FELIX_NFTABLESMODE': 'Auto'},
    ),
    ('calico', '3.32.0-0.dev', 'nftables', {}, 'needs_settings', {'FELIX_NFTABLESMODE': 'Enabled'}),
    ('calico', '4.0.0', 'ipvs', {}, 'supported', {}),
    # Calico eBPF: any version, any mode
    ('calico', '3.31.5', 'nftables', {'linuxDataplane': 'BPF'}, 'not_applicable', {}),
    ('calico', '3.20.0', 'iptables', {'FELIX_BPFENABLED': 'true'}, 'not_applicable', {}),
    ('calico', None, 'ipvs', {'calico_bpf_enabled': True}, 'not_applicable', {}),
    # Cilium
    ('cilium', '1.16.3', 'nftables', {'kubeProxyReplacement': 'true'}, 'not_applicable', {}),
    ('cilium', '1.13.0', 'iptables', {'kube-proxy-replacement': 'strict'}, 'not_applicable', {}),
    ('cilium', '1.16.3', 'iptables', {'cilium_kube_proxy_replacement': True}, 'not_applicable', {}),
    ('cilium', 'v1.8.0-rc3', 'iptables', {'kube-proxy-replacement': 'probe'}, 'unverified', {}),
    ('cilium', '1.13.4', 'ipvs', {'kubeProxyReplacement': 'partial'}, 'unverified', {}),
    ('cilium', '1.16.3', 'iptables', {'kubeProxyReplacement': 'false'}, 'supported', {}),
    ('cilium', '1.16.3', 'iptables', {}, 'supported', {}),
    ('cilium', '1.16.3', 'ipvs', {}, 'unverified', {}),
    ('cilium', '1.16.3', 'nftables', {'kube-proxy-replacement': 'disabled'}, 'unverified', {}),
    ('cilium', '1.13.9', 'iptables', {}, 'supported', {}),
    ('cilium', '1.13.9', 'nftables', {}, 'unverified', {}),
    ('cilium', '1.14.0', 'nftables', {}, 'unverified', {}),
    # AWS VPC CNI (boundaries 1.12.1, 1.13.2, 1.23.0)
    ('aws-vpc-cni', '1.12.0', 'iptables', {}, 'supported', {}),
    ('aws-vpc-cni', '1.12.0', 'ipvs', {}, 'supported', {}),
    ('aws-vpc-cni', '1.12.0', 'nftables', {}, 'unsupported', {}),
    ('aws-vpc-cni', '1.12.1', 'iptables', {}, 'needs_settings', {'ENABLE_NFTABLES': 'true'}),
    ('aws-vpc-cni', 'v1.13.1', 'iptables', {'ENABLE_NFTABLES': 'true'}, 'supported', {}),
    ('aws-vpc-cni', '1.13.1', 'nftables', {'ENABLE_NFTABLES': 'true'}, 'unsupported', {}),
    ('aws-vpc-cni', '1.13.2', 'iptables', {}, 'supported', {}),
    ('aws-vpc-cni', '1.22.9', 'nftables', {}, 'unsupported', {}),
    ('aws-node', 'v1.23.0', 'nftables', {}, 'supported', {}),
    ('aws-vpc-cni', 'v1.23.1', 'ipvs', {}, 'supported', {}),
    # Flannel (boundary 0.25.0)
    ('flannel', '0.24.4', 'nftables', {}, 'unverified', {}),
    ('flannel', '0.24.4', 'ipvs', {}, 'supported', {}),
    ('flannel', '0.25.0', 'nftables', {}, 'needs_settings', {'EnableNFTables': 'true'}),
    ('flannel', 'v0.28.9', 'nftables', {'EnableNFTables': True}, 'supported', {}),
    ('flannel', 'v0.28.9', 'nftables', {'EnableNFTables': False}, 'needs_settings', {'EnableNFTables': 'true'}),
    ('flannel', 'v0.28.9', 'iptables', {}, 'supported', {}),
    # kube-router
    ('kube-router', '2.4.1', 'iptables', {'run-service-proxy': 'false'}, 'supported', {}),
    ('kube-router', '2.4.1', 'ipvs', {'run-service-proxy': 'false'}, 'unverified', {}),
    ('kube-router', 'v2.0.0', 'nftables', {'run-service-proxy': 'false'}, 'unverified', {}),
    ('kube-router', '1.6.0', 'iptables', {'run-service-proxy': 'false'}, 'unverified', {}),
    ('kube-router', '2.4.1', 'nftables', {}, 'not_applicable', {}),
    ('kube-router', '2.4.1', 'iptables', {'kube_router_run_service_proxy': True}, 'not_applicable', {}),
    # anything else
    ('weave', '2.8.1', 'iptables', {}, 'unverified', {}),
    ('kube-ovn', None, 'nftables', {}, 'unverified', {}),
]


@pytest.mark.parametrize('cni, version, mode, settings, verdict, required', CASES)
def test_verdicts(matrix, cni, version, mode, settings, verdict, required):
    result = evaluate(matrix, cni, mode, version=version, settings=settings, kube_version=K8S)
    assert result['verdict'] == verdict, result['reasons']
    assert result['required_settings'] == required
    assert result['mode'] == mode
    if verdict != 'supported':
        assert result['reasons'], 'a verdict other than supported must say why'


def test_every_row_is_reachable(matrix):
    """Every CNI row of the matrix is the one chosen for a version inside its bounds."""
    for row in matrix['rows']:
        bounds = row.get('versions') or {}
        version = bounds.get('min') or '0.0.1'
        settings = {k: v[0] for k, v in (row.get('when_settings') or {}).items()}
        if not settings:
            # stay clear of the CNI's settings-gated rows (eBPF, kube-proxy replacement, service proxy)
            for other in matrix['rows']:
                if other['cni'] == row['cni']:
                    settings.update({k: 'false' for k in other.get('when_settings') or {}})
        row_id = '%s %s' % (row['cni'], row.get('label') or describe_bounds(row.get('versions')))
        for mode in matrix['modes']:
            result = evaluate(matrix, row['cni'], mode, version=version, settings=settings, kube_version=K8S)
            assert result['rows'][0] == row_id, result
            entry = row['modes'][mode]
            expected = entry['verdict']
            if expected == 'needs_settings' and not result['required_settings']:
                expected = 'supported'  # met by the CNI's own defaults
            assert result['verdict'] == expected, (row, mode, result)
            if entry['verdict'] in ('unsupported', 'not_applicable', 'unverified'):
                assert result['reasons']


def test_issue_example(matrix):
    result = evaluate(
        matrix,
        'calico',
        'nftables',
        version='3.31.5',
        settings={'FELIX_NFTABLESMODE': 'Enabled'},
        kube_version='1.33.5',
    )
    assert result['verdict'] == 'supported'
    assert result['required_settings'] == {}
    assert 'Calico release notes 3.31' in result['sources']


def test_v_prefix_is_the_same_version(matrix):
    plain = evaluate(matrix, 'calico', 'nftables', version='3.31.5', kube_version='1.33.5')
    prefixed = evaluate(matrix, 'calico', 'nftables', version='v3.31.5', kube_version='v1.33.5')
    assert plain['verdict'] == prefixed['verdict'] == 'needs_settings'
    assert prefixed['version'] == '3.31.5'


@pytest.mark.parametrize(
    'kube, settings, verdict, required',
    [
        ('1.28.15', {'FELIX_NFTABLESMODE': 'Enabled'}, 'unsupported', {}),
        ('1.29.0', {'FELIX_NFTABLESMODE': 'Enabled'}, 'needs_settings', {'NFTablesProxyMode': 'true'}),
        ('1.30.9', {'FELIX_NFTABLESMODE': 'Enabled', 'featureGates': {'NFTablesProxyMode': True}}, 'supported', {}),
        (
            '1.30.9',
            {'FELIX_NFTABLESMODE': 'Enabled', 'kube_proxy_feature_gates': ['NFTablesProxyMode=true']},
            'supported',
            {},
        ),
        ('1.30.9', {}, 'needs_settings', {'NFTablesProxyMode': 'true', 'FELIX_NFTABLESMODE': 'Enabled'}),
        ('1.31.0', {'FELIX_NFTABLESMODE': 'Enabled'}, 'supported', {}),
    ],
)
def test_kubernetes_rules_for_nftables(matrix, kube, settings, verdict, required):
    result = evaluate(matrix, 'calico', 'nftables', version='3.31.5', settings=settings, kube_version=kube)
    assert result['verdict'] == verdict, result['reasons']
    assert result['required_settings'] == required


def test_calico_tech_preview_needs_kubernetes_1_31(matrix):
    settings = {'FELIX_NFTABLESMODE': 'Enabled', 'NFTablesProxyMode': 'true'}
    result = evaluate(matrix, 'calico', 'nftables', version='3.30.2', settings=settings, kube_version='1.30.4')
    assert result['verdict'] == 'unverified'
    assert any('1.31' in r for r in result['reasons'])
    assert evaluate(matrix, 'calico', 'nftables', '3.30.2', settings, '1.31.0')['verdict'] == 'supported'


def test_kernel_below_5_13_blocks_nftables_only(matrix):
    args = {'version': '1.23.1', 'kube_version': K8S}
    assert evaluate(matrix, 'aws-vpc-cni', 'nftables', kernel_version='5.10.0-32-amd64', **args)['verdict'] == (
        'unsupported'
    )
    assert evaluate(matrix, 'aws-vpc-cni', 'nftables', kernel_version='5.13.0', **args)['verdict'] == 'supported'
    assert evaluate(matrix, 'aws-vpc-cni', 'iptables', kernel_version='4.19.0', **args)['verdict'] == 'supported'
    mixed = ['6.1.0-28-amd64', '5.10.0-33-amd64', None]
    assert evaluate(matrix, 'aws-vpc-cni', 'nftables', kernel_version=mixed, **args)['verdict'] == 'unsupported'
    assert evaluate(matrix, 'aws-vpc-cni', 'nftables', kernel_version=['6.1.0', '6.12.1'], **args)['verdict'] == (
        'supported'
    )


def test_ipvs_deprecation_warns_from_1_35(matrix):
    old = evaluate(matrix, 'flannel', 'ipvs', version='0.28.9', kube_version='1.34.2')
    new = evaluate(matrix, 'flannel', 'ipvs', version='0.28.9', kube_version='1.35.0')
    assert old['verdict'] == new['verdict'] == 'supported'
    assert not any('deprecated' in r for r in old['reasons'])
    assert any('deprecated' in r for r in new['reasons'])
    assert 'KEP-5495' in new['sources']


def test_not_applicable_ignores_kubernetes_rules(matrix):
    result = evaluate(
        matrix, 'cilium', 'nftables', version='1.16.0', settings={'kubeProxyReplacement': 'true'}, kube_version='1.27.0'
    )
    assert result['verdict'] == 'not_applicable'


def test_unknown_kube_version_is_said(matrix):
    result = evaluate(matrix, 'calico', 'nftables', version='3.32.1')
    assert result['verdict'] == 'supported'
    assert any('Kubernetes version unknown' in r for r in result['reasons'])


def test_unknown_version_agreeing_rows(matrix):
    # every Flannel version is fine with iptables
    assert evaluate(matrix, 'flannel', 'iptables', version=None, kube_version=K8S)['verdict'] == 'supported'
    # 'latest' is no version; Calico's nftables verdict depends on the version
    result = evaluate(matrix, 'calico', 'nftables', version='latest', kube_version=K8S)
    assert result['verdict'] == 'unverified'
    assert 'depends on it' in result['reasons'][0]


def test_unknown_cni_names_known_ones(matrix):
    result = evaluate(matrix, 'weave', 'nftables', version='2.8.1', kube_version=K8S)
    assert result['verdict'] == 'unverified'
    assert 'calico' in result['reasons'][0] and 'kube_proxy_cni_override_reason' in result['reasons'][0]
    assert evaluate(matrix, None, 'iptables')['verdict'] == 'unverified'


def test_bad_mode_and_settings(matrix):
    with pytest.raises(CniError, match='mode must be one of'):
        evaluate(matrix, 'calico', 'userspace', version='3.31.0')
    with pytest.raises(CniError, match='settings must be a dict'):
        evaluate(matrix, 'calico', 'iptables', version='3.31.0', settings=['FELIX_NFTABLESMODE=Enabled'])
    with pytest.raises(CniError, match='matrix'):
        evaluate({}, 'calico', 'iptables')


@pytest.mark.parametrize(
    'value, expected',
    [
        ('v3.31.5', (3, 31, 5, 0)),
        ('3.31', (3, 31, 0, 0)),
        ('v1.8.0-rc3', (1, 8, 0, -1)),
        ('1.23.1-eksbuild.1', (1, 23, 1, -1)),
        ('latest', None),
        (None, None),
    ],
)
def test_parse_version(value, expected):
    assert parse_version(value) == expected


@pytest.mark.parametrize(
    'cni, settings, expected',
    [
        ('calico', {'linuxDataplane': 'BPF'}, {'linuxDataplane': 'BPF', 'FELIX_BPFENABLED': 'true'}),
        (
            'calico',
            {'linuxDataplane': 'Nftables', 'FELIX_NFTABLESMODE': 'Disabled'},
            {'linuxDataplane': 'Nftables', 'FELIX_NFTABLESMODE': 'Disabled', 'FELIX_BPFENABLED': 'false'},
        ),
        (
            'calico',
            {'calico_nftable_mode': True, 'calico_iptables_backend': 'NFT'},
            {'FELIX_NFTABLESMODE': 'Enabled', 'FELIX_IPTABLESBACKEND': 'NFT'},
        ),
        ('calico', {'FELIX_IPTABLESBACKEND': 'legacy'}, {'FELIX_IPTABLESBACKEND': 'Legacy'}),
        ('cilium', {'kube-proxy-replacement': 'strict'}, {'kubeProxyReplacement': 'true'}),
        ('cilium', {'cilium_kube_proxy_replacement': False}, {'kubeProxyReplacement': 'false'}),
        ('cilium', {'kubeProxyReplacement': 'probe'}, {'kubeProxyReplacement': 'probe'}),
        ('aws-node', {'ENABLE_NFTABLES': 'True'}, {'ENABLE_NFTABLES': 'true'}),
        ('flannel', {'EnableNFTables': True}, {'EnableNFTables': 'true'}),
        ('kube-router', {'--run-service-proxy': 'false'}, {'run-service-proxy': 'false'}),
        (
            'calico',
            {'kube_proxy_feature_gates': ['NFTablesProxyMode=true'], 'other': 1},
            {'NFTablesProxyMode': 'true', 'other': 1},
        ),
    ],
)
def test_normalize_settings(cni, settings, expected):
    assert normalize_settings(cni, settings) == expected


def test_decide_override_only_for_unverified(matrix):
    unverified = evaluate(matrix, 'cilium', 'nftables', version='1.16.3', kube_version=K8S)
    assert decide(unverified)['ok'] is False
    accepted = decide(unverified, 'Tested on the canary group for two weeks (ticket NET-42).')
    assert accepted['ok'] is True and accepted['overridden'] is True
    assert accepted['reasons'][-1].endswith('(ticket NET-42).')
    assert decide(unverified, '   ')['ok'] is False

    unsupported = evaluate(matrix, 'calico', 'nftables', version='3.27.0', kube_version=K8S)
    refused = decide(unsupported, 'We really want it.')
    assert refused['ok'] is False and refused['overridden'] is False
    assert 'cannot accept' in refused['reasons'][-1]

    assert decide(evaluate(matrix, 'calico', 'nftables', version='3.31.0', kube_version=K8S))['ok'] is False
    assert decide(evaluate(matrix, 'calico', 'iptables', version='3.31.0', kube_version=K8S))['ok'] is True
    with pytest.raises(CniError):
        decide(unverified, ['not', 'a', 'string'])
