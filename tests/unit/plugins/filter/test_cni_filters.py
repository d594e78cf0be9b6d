# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters cni_compat and cni_detect: shipped matrix, errors as AnsibleFilterError."""

from __future__ import annotations

import json
import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kube_proxy.mode.plugins.filter.cni_compat import FilterModule as CompatFilters
from ansible_collections.kube_proxy.mode.plugins.filter.cni_compat import load_matrix
from ansible_collections.kube_proxy.mode.plugins.filter.cni_detect import FilterModule as DetectFilters

STANDIN = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'standin-data', 'cni')
cni_compat = CompatFilters().filters()['cni_compat']
cni_detect = DetectFilters().filters()['cni_detect']


def test_issue_example():
    result = cni_compat(
        {'name': 'calico', 'version': '3.31.5', 'settings': {'FELIX_NFTABLESMODE': 'Enabled'}},
        mode='nftables',
        kube_version='1.33.5',
    )
    assert result['verdict'] == 'supported'
    assert result['ok'] is True
    assert set(result) >= {'verdict', 'reasons', 'required_settings', 'sources'}


def test_shipped_matrix_is_complete():
    matrix = load_matrix()
    assert set(matrix['cnis']) == {'calico', 'cilium', 'aws-vpc-cni', 'flannel', 'kube-router'}
    for row in matrix['rows']:
        assert set(row['modes']) == set(matrix['modes']), row
        for entry in row['modes'].values():
            assert 'sources' in entry, row


def test_name_only_and_override():
    result = cni_compat('weave', 'iptables', kube_version='1.33.5')
    assert result['verdict'] == 'unverified' and result['ok'] is False
    accepted = cni_compat('weave', 'iptables', kube_version='1.33.5', override_reason='Weave tested in staging.')
    assert accepted['ok'] is True and accepted['override_reason'] == 'Weave tested in staging.'


def test_required_settings_and_kernel():
    flannel = {'name': 'flannel', 'version': 'v0.28.9', 'settings': {'EnableNFTables': False}}
    result = cni_compat(flannel, 'nftables', kube_version='1.33.5', kernel_version='6.1.0-28-amd64')
    assert result['verdict'] == 'needs_settings'
    assert result['required_settings'] == {'EnableNFTables': 'true'}
    old_kernel = cni_compat(flannel, 'nftables', kube_version='1.33.5', kernel_version='5.10.0-33-amd64')
    assert old_kernel['verdict'] == 'unsupported'


def test_errors_are_filter_errors():
    with pytest.raises(AnsibleFilterError, match='mode is required'):
        cni_compat('calico')
    with pytest.raises(AnsibleFilterError, match='mode must be one of'):
        cni_compat('calico', 'userspace')
    with pytest.raises(AnsibleFilterError, match='input must be'):
        cni_compat(['calico'], 'iptables')
    with pytest.raises(AnsibleFilterError, match='override reason must be a string'):
        cni_compat('weave', 'iptables', override_reason=True)
    with pytest.raises(AnsibleFilterError, match='not JSON'):
        cni_detect('The connection to the server localhost:8080 was refused')
    with pytest.raises(AnsibleFilterError, match='source must be'):
        cni_detect({}, source='guess')
    with pytest.raises(AnsibleFilterError, match='dict of variables'):
        cni_detect(['calico'], source='inventory')


def test_detect_then_compat():
    with open(os.path.join(STANDIN, 'calico-operator-bpf', 'daemonsets.json'), encoding='utf-8') as handle:
        daemonsets = json.load(handle)
    with open(os.path.join(STANDIN, 'calico-operator-bpf', 'installation.json'), encoding='utf-8') as handle:
        installation = json.load(handle)
    found = cni_detect(daemonsets, installation=installation)
    assert found['namespace'] == 'calico-system'
    assert cni_compat(found, 'nftables', kube_version='1.33.5')['verdict'] == 'not_applicable'
    fallback = cni_detect({'kube_network_plugin': 'flannel'}, source='inventory', reason='kubectl failed')
    assert fallback['source'] == 'inventory' and fallback['name'] == 'flannel'
