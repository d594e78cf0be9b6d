# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.kube_proxy.mode.plugins.modules import node_facts
from ansible_collections.kube_proxy.mode.tests.unit.plugins.modules.netstate_fake import (
    ALL_TOOLS,
    FakeNode,
    fixture,
    run,
)


def test_node_without_tools_reports_them(monkeypatch):
    # an iptables without `iptables-save -f`: the output is read from stdout instead
    node = FakeNode(tools=['iptables-save', 'iptables-restore', 'iptables'], save_to_file=False)
    node.outputs[('iptables', '--version')] = (0, 'iptables v1.8.7 (legacy)', '')
    node.outputs[('iptables-save',)] = (0, fixture('iptables-mode.rules'), '')
    failed, result = run(node_facts.main, monkeypatch, node)
    assert not failed and result['changed'] is False
    facts = result['ansible_facts']['kube_proxy_node']
    assert facts['modes'] == ['iptables']
    # the plain iptables-save is read once and attributed to the backend `iptables --version` names
    assert list(facts['iptables']) == ['legacy']
    assert facts['iptables_default_backend'] == 'legacy'
    assert facts['missing_tools'] == ['ip6tables-restore', 'ip6tables-save', 'ipset', 'ipvsadm', 'nft']
    assert facts['tools'] == {'nft': None, 'iptables': '1.8.7', 'ipset': None, 'ipvsadm': None}
    assert facts['ipvs']['loaded'] is False
    assert facts['kernel']['modules_info'] == 'partial'


def test_ipvs_node_from_recorded_outputs(monkeypatch):
    node = FakeNode(
        tools=ALL_TOOLS,
        outputs={
            ('iptables-nft-save',): (0, fixture('ipvs-mode.rules'), ''),
            ('ipset', 'list', '-n'): (0, 'KUBE-CLUSTER-IP\nKUBE-NODE-PORT-TCP\ncali40all-hosts\n', ''),
            ('ipset', 'save', 'KUBE-NODE-PORT-TCP'): (
                0,
                'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\nadd KUBE-NODE-PORT-TCP 30080\n',
                '',
            ),
            ('ip', '-j', 'addr', 'show', 'dev', 'kube-ipvs0'): (0, fixture('ip_addr_kube_ipvs0.json'), ''),
            ('iptables-legacy-save',): (1, '', 'iptables-legacy-save: could not open /proc/net/ip_tables_names'),
        },
        files={
            '/proc/net/ip_vs': fixture('proc_net_ip_vs.txt'),
            '/proc/sys/kernel/osrelease': '6.1.0-28-amd64\n',
            '/proc/modules': 'ip_vs 200704 6 - Live 0x0\nnf_conntrack 1 1 - Live 0x0\n',
            '/lib/modules/6.1.0-28-amd64/modules.dep': 'kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz:\n',
            '/lib/modules/6.1.0-28-amd64/modules.builtin': 'kernel/net/netfilter/nf_tables.ko\n',
        },
        devices=['kube-ipvs0'],
    )
    failed, result = run(node_facts.main, monkeypatch, node, {'rules': True}, check_mode=True)
    assert not failed
    facts = result['ansible_facts']['kube_proxy_node']
    assert facts['modes'] == ['ipvs']
    assert facts['iptables']['nft']['ipv4']['kube_proxy_rules'] == 10 + 8  # nat 10, filter 8
    assert facts['ipvs'] == {
        'loaded': True,
        'services': 7,
        'kube_proxy_services': 5,
        'other_services': 2,
        'kube_ipvs0': True,
        'kube_ipvs0_addresses': 3,
    }
    assert facts['ipsets'] == ['KUBE-CLUSTER-IP', 'KUBE-NODE-PORT-TCP']
    assert facts['nftables']['kube_proxy_tables'] == []
    assert facts['kernel']['release'] == '6.1.0-28-amd64'
    assert facts['kernel']['modules']['ipvs']['loaded'] == ['ip_vs', 'nf_conntrack']
    assert 'ip_vs_rr' in facts['kernel']['modules']['ipvs']['available']
    assert facts['kernel']['modules']['nftables']['builtin'] == ['nf_tables']
    assert any('iptables-legacy-save' in e for e in facts['errors'])
    # few processes: 4 saves (+1 retry of the failed one), 2 nft table probes, ipset -n, ipset save,
    # ip addr, 4 versions
    assert len(node.calls) <= 14
    assert not any(c[0].endswith('-restore') for c in node.commands())


NFT_TABLE = (
    '{"nftables": [{"metainfo": {}}, {"table": {"family": "ip", "name": "kube-proxy"}},'
    ' {"set": {"name": "cluster-ips", "elem": ["10.96.0.1", "10.96.0.10"]}},'
    ' {"chain": {"name": "services"}}, {"rule": {"chain": "services", "expr": []}}]}'
)


def test_nftables_tables_are_probed_not_listed(monkeypatch):
    node = FakeNode(
        tools=ALL_TOOLS,
        outputs={
            ('nft', '-j', 'list', 'table', 'ip', 'kube-proxy'): (0, NFT_TABLE, ''),
            ('nft', '-j', 'list', 'table', 'ip6', 'kube-proxy'): (1, '', 'Error: Could not process rule: Permission'),
        },
    )
    failed, result = run(node_facts.main, monkeypatch, node, {'versions': False})
    assert not failed
    facts = result['ansible_facts']['kube_proxy_node']
    assert facts['modes'] == ['nftables']
    assert facts['nftables']['kube_proxy_tables'] == ['ip kube-proxy']
    assert facts['counts']['nft_elements'] == 2
    assert facts['errors'] == ['nft -j list table ip6 kube-proxy: rc=1 Error: Could not process rule: Permission']
    # never `nft list tables` (it fetches the whole ruleset)
    assert not any(c[:3] == ('nft', '-j', 'list') and c[3] == 'tables' for c in node.commands())


NFT_CHAINS = (
    '{"nftables": [{"metainfo": {}},'
    ' {"chain": {"family": "ip", "table": "mangle", "name": "KUBE-IPTABLES-HINT"}},'
    ' {"chain": {"family": "ip", "table": "nat", "name": "KUBE-SERVICES"}},'
    ' {"chain": {"family": "ip", "table": "nat", "name": "KUBE-SVC-ABCDEFGHIJKLMNOP"}},'
    ' {"chain": {"family": "ip6", "table": "nat", "name": "KUBE-NODEPORTS"}},'
    ' {"chain": {"family": "ip", "table": "kube-proxy", "name": "services"}},'
    ' {"chain": {"family": "inet", "table": "filter", "name": "KUBE-SERVICES"}}]}'
)


def test_nft_backend_chains_without_rules(monkeypatch):
    node = FakeNode(tools=ALL_TOOLS, outputs={('nft', '-j', 'list', 'chains'): (0, NFT_CHAINS, '')})
    failed, result = run(node_facts.main, monkeypatch, node, {'versions': False})
    assert not failed
    facts = result['ansible_facts']['kube_proxy_node']
    assert facts['modes'] == ['iptables']
    v4, v6 = facts['iptables']['nft']['ipv4'], facts['iptables']['nft']['ipv6']
    assert (v4['iptables_chains'], v4['shared_chains'], v4['hint'], v4['kube_proxy_rules']) == (1, 1, True, None)
    assert (v6['iptables_chains'], v6['kube_proxy_chains']) == (1, 1)
    assert facts['kubelet_iptables_backend'] == 'nft'
    assert facts['counts'] == {
        'iptables_chains': 3,
        'iptables_rules': None,
        'ipvs_services': 0,
        'ipsets': 0,
        'nft_tables': 0,
        'nft_elements': 0,
    }
    # one nft listing for both families, no iptables-nft-save
    assert node.commands().count(('nft', '-j', 'list', 'chains')) == 1
    assert not any(c[0].startswith(('iptables-nft-save', 'ip6tables-nft-save')) for c in node.commands())
