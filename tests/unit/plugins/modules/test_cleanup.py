# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible.module_utils.common import warnings

from ansible_collections.kube_proxy.mode.plugins.modules import cleanup
from ansible_collections.kube_proxy.mode.tests.unit.plugins.modules.netstate_fake import (
    ALL_TOOLS,
    FakeNode,
    fixture,
    run,
)


def ipvs_node(tools=tuple(ALL_TOOLS)):
    return FakeNode(
        tools=tools,
        outputs={
            ('iptables-nft-save',): (0, fixture('ipvs-mode.rules'), ''),
            ('ipset', 'list', '-n'): (0, 'KUBE-CLUSTER-IP\nKUBE-NODE-PORT-TCP\nKUBE-SRC-ABC\n', ''),
            ('ipset', 'save', 'KUBE-NODE-PORT-TCP'): (0, 'add KUBE-NODE-PORT-TCP 30080\n', ''),
            ('ip', '-j', 'addr', 'show', 'dev', 'kube-ipvs0'): (0, fixture('ip_addr_kube_ipvs0.json'), ''),
        },
        files={'/proc/net/ip_vs': fixture('proc_net_ip_vs.txt')},
        devices=['kube-ipvs0'],
    )


def test_ipvs_cleanup_order_and_bulk(monkeypatch):
    node = ipvs_node()
    failed, result = run(cleanup.main, monkeypatch, node, {'mode': 'ipvs'}, diff=True)
    assert not failed, result
    assert result['changed'] is True
    assert result['removed']['ipvs_services'] == [
        'tcp 10.96.0.1:443',
        'tcp 10.96.0.10:53',
        'udp 10.96.0.10:53',
        'tcp 192.168.1.10:30080',
        'tcp [fd00:10:233::1]:443',
    ]
    assert result['removed']['ipsets'] == ['KUBE-CLUSTER-IP', 'KUBE-NODE-PORT-TCP']
    changes = [(c, d) for c, d in node.calls if d is not None or c[:3] == ('ip', 'link', 'del')]
    order = [c[0] for c, _d in changes]
    # iptables-nft backend: the rules pointing at the chains go with iptables-nft-restore, the chains with nft -f
    assert order == ['ipvsadm', 'ip', 'iptables-nft-restore', 'nft', 'ipset']
    assert changes[0][1].count('-D ') == 5 and 'tcp 192.168.1.100' not in changes[0][1]
    assert changes[2][0][1] == '--noflush'
    assert all(line.startswith('-D ') or line[:1] in '*C' for line in changes[2][1].splitlines())
    assert 'delete chain ip filter KUBE-IPVS-FILTER' in changes[3][1]
    assert changes[4][1] == 'destroy KUBE-CLUSTER-IP\ndestroy KUBE-NODE-PORT-TCP\n'
    assert result['diff']['before']['ipvs_services'] == 5
    assert result['diff']['before_header'] == 'kube-proxy ipvs state (before)'


def test_ipvs_cleanup_check_mode_runs_nothing(monkeypatch):
    node = ipvs_node()
    failed, result = run(cleanup.main, monkeypatch, node, {'mode': 'ipvs'}, check_mode=True)
    assert not failed and result['changed'] is True
    assert result['after'] == dict.fromkeys(result['before'], 0)
    assert all(d is None for _c, d in node.calls)
    assert not any(c[0] in ('ipvsadm',) or c[:2] == ('ip', 'link') for c in node.commands())


def test_ipvs_cleanup_without_ipvsadm_fails_before_changing(monkeypatch):
    node = ipvs_node(tools=[t for t in ALL_TOOLS if t != 'ipvsadm'])
    failed, result = run(cleanup.main, monkeypatch, node, {'mode': 'ipvs'})
    assert failed
    assert 'ipvsadm is missing' in result['msg']
    assert all(d is None for _c, d in node.calls)


def test_restore_failure_is_reported(monkeypatch):
    node = FakeNode(
        tools=ALL_TOOLS,
        outputs={
            ('iptables-legacy-save',): (0, fixture('iptables-mode.rules'), ''),
            ('iptables-legacy-restore', '--noflush', '--wait=10'): (4, '', 'iptables-restore: line 7 failed'),
        },
    )
    failed, result = run(cleanup.main, monkeypatch, node, {'mode': 'iptables'})
    assert failed
    assert 'line 7 failed' in result['msg'] and 'legacy/ipv4' in result['msg']


def test_nftables_cleanup_deletes_only_kube_proxy_tables(monkeypatch):
    table = '{"nftables": [{"table": {"family": "ip6", "name": "kube-proxy"}}]}'
    node = FakeNode(tools=ALL_TOOLS, outputs={('nft', '-j', 'list', 'table', 'ip6', 'kube-proxy'): (0, table, '')})
    failed, result = run(cleanup.main, monkeypatch, node, {'mode': 'nftables'}, diff=True)
    assert not failed and result['changed'] is True
    assert result['removed']['nft_tables'] == ['ip6 kube-proxy']
    assert [d for c, d in node.calls if c == ('nft', '-f', '-')] == ['delete table ip6 kube-proxy\n']


def test_nftables_cleanup_without_nft_changes_nothing(monkeypatch):
    node = FakeNode(tools=['iptables-nft-save', 'iptables-nft-restore'])
    failed, result = run(cleanup.main, monkeypatch, node, {'mode': 'nftables'})
    assert not failed and result['changed'] is False
    assert 'nft' in result['missing_tools']


def test_iptables_cleanup_reads_back_only_what_it_changed(monkeypatch):
    """mode=iptables: no nft table probes, and after the restore only the changed backend/family is saved again."""
    node = FakeNode(
        tools=ALL_TOOLS,
        outputs={('iptables-legacy-save',): (0, fixture('iptables-mode.rules'), '')},
    )
    monkeypatch.setattr(warnings, '_global_warnings', [])
    failed, result = run(cleanup.main, monkeypatch, node, {'mode': 'iptables'}, diff=True)
    assert not failed, result
    assert result['changed'] is True
    assert list(result['removed']['iptables']) == ['legacy/ipv4']
    cmds = [c[0] for c in node.commands()]
    assert 'nft' not in cmds
    restore_at = cmds.index('iptables-legacy-restore')
    assert cmds[:restore_at].count('iptables-legacy-save') == 1
    assert cmds[restore_at + 1 :] == ['iptables-legacy-save']
    # the fake node still shows the rules after the restore: the read-back reports them, with a warning
    assert result['after']['iptables_chains'] == result['before']['iptables_chains'] > 0
    assert any(w.startswith('kube-proxy iptables state is back or left') for w in warnings.get_warning_messages())
