# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter node_prepare_plan: the two calls the role node_prepare makes."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kube_proxy.mode.plugins.filter.node_prepare_plan import FilterModule

plan = FilterModule().filters()['node_prepare_plan']


def test_without_probe_returns_input_errors_and_probe_request():
    request = plan(None, host='w1', mode='ipvs', scheduler='sh')
    assert request['input_errors'] == []
    assert request['probe_modules'].split() == [
        'br_netfilter',
        'ip_vs',
        'nf_conntrack',
        'ip_vs_sh',
        'nf_conntrack_ipv4',
    ]


def test_without_probe_bad_mode_is_reported_with_host():
    (msg,) = plan('', host='w1', mode='ipvs2')['input_errors']
    assert msg.startswith('w1: kube_proxy_target_mode')


def test_empty_scheduler_means_rr():
    assert plan(None, host='w1', mode='ipvs', scheduler='')['probe_modules'].split()[3] == 'ip_vs_rr'


def test_with_probe_returns_the_preflight():
    probe = 'kernel=5.10.0-30-amd64\nos_id=debian\nos_version_id=11\ntool.nft=nftables v0.9.8 (E.D.S.)\n'
    result = plan(probe, host='w2', mode='nftables', kube_version='1.33.5')
    assert result['preflight']['ok'] is False
    assert any('kernel 5.10.0-30-amd64 is older than 5.13' in e for e in result['preflight']['errors'])
    assert result['packages'] == ['conntrack']


def test_feature_gates_must_be_a_dict():
    with pytest.raises(AnsibleFilterError, match='feature_gates must be a dict'):
        plan('kernel=6.1.0', host='w2', mode='nftables', feature_gates=['NFTablesProxyMode=true'])
