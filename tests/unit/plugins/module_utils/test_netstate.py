# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os

import pytest

from ansible_collections.kube_proxy.mode.plugins.module_utils import _netstate as ns

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'rules')


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding='utf-8') as f:
        return f.read()


def chains_of(tables):
    return {(t, c) for t, d in tables.items() for c in d['chains']}


def apply_restore(tables, restore):
    """Simulate iptables-restore --noflush on parsed tables (flush on ':X', -D, -X)."""
    import copy
    import shlex

    tables = copy.deepcopy(tables)
    cur = None
    for line in restore.splitlines():
        if line.startswith('*'):
            cur = tables[line[1:]]
        elif line.startswith(':'):
            name = line[1:].split()[0]
            cur['rules'] = [r for r in cur['rules'] if r[0] != name]
        elif line.startswith('-D '):
            chain, _sep, spec = line[3:].partition(' ')
            target = (chain, spec)
            assert target in cur['rules'], 'rule to delete not found: %s' % line
            cur['rules'].remove(target)
            shlex.split(spec)  # must stay parseable
        elif line.startswith('-X '):
            name = line[3:]
            assert all(ns.rule_target(s) != name for _c, s in cur['rules']), 'chain still referenced: %s' % name
            cur['chains'].remove(name)
        elif line == 'COMMIT':
            cur = None
    return tables


IPT = ns.parse_iptables_save(fixture('iptables-mode.rules'))
IPVS = ns.parse_iptables_save(fixture('ipvs-mode.rules'))
FOREIGN = {
    ('mangle', 'KUBE-IPTABLES-HINT'),
    ('mangle', 'KUBE-KUBELET-CANARY'),
    ('mangle', 'cali-PREROUTING'),
    ('nat', 'KUBE-KUBELET-CANARY'),
    ('nat', 'KUBE-MARK-DROP'),
    ('nat', 'AWS-SNAT-CHAIN-0'),
    ('nat', 'cali-nat-outgoing'),
    ('nat', 'CNI-HOSTPORT-DNAT'),
    ('filter', 'KUBE-FIREWALL'),
    ('filter', 'KUBE-KUBELET-CANARY'),
    ('filter', 'CILIUM_INPUT'),
    ('filter', 'cali-INPUT'),
}


def test_parse_iptables_save_tables_chains_rules():
    assert set(IPT) == {'mangle', 'nat', 'filter'}
    assert 'PREROUTING' in IPT['nat']['chains']
    assert ('PREROUTING', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES') in IPT['nat']['rules']
    assert ns.rule_target('-m comment --comment "x -j y" -j KUBE-SVC-ABC') == 'KUBE-SVC-ABC'
    assert ns.rule_target('-p tcp -m tcp --dport 22 -j ACCEPT') == 'ACCEPT'
    assert ns.rule_target('-m mark --mark 0x1') is None


@pytest.mark.parametrize(
    'table,name,owner',
    [
        ('nat', 'KUBE-SVC-ABCDEF0123456789', 'iptables'),
        ('nat', 'KUBE-XLB-ABCDEF0123456789', 'iptables'),
        ('nat', 'KUBE-SERVICES', 'shared'),
        ('filter', 'KUBE-SERVICES', 'iptables'),
        ('filter', 'KUBE-PROXY-FIREWALL', 'shared'),
        ('nat', 'KUBE-FIREWALL', 'ipvs'),
        ('filter', 'KUBE-FIREWALL', 'kubelet'),
        ('nat', 'KUBE-MARK-DROP', 'kubelet'),
        ('mangle', 'KUBE-IPTABLES-HINT', 'kubelet'),
        ('filter', 'KUBE-IPVS-OUT-FILTER', 'ipvs'),
        ('nat', 'KUBE-HOSTPORTS', None),
        ('nat', 'cali-nat-outgoing', None),
        ('filter', 'KUBE-SVC-ABC', None),
    ],
)
def test_classify_chain(table, name, owner):
    assert ns.classify_chain(table, name) == owner


def test_summarize_iptables_mode():
    s = ns.summarize_iptables(IPT)
    # 3 services: SVC+SEP each, 1 NodePort (EXT); fixed nat 5, filter 6, mangle 1
    assert s['service_chains'] == 7
    assert s['iptables_chains'] == 7 + 2 + 4 + 1
    assert s['shared_chains'] == 3 + 2
    assert s['ipvs_chains'] == 0
    assert s['jump_rules'] == 3 + 9
    assert s['hint'] is True
    assert 'mangle/KUBE-IPTABLES-HINT' in s['kubelet_chains']
    assert 'filter/KUBE-FIREWALL' in s['kubelet_chains']


def test_plan_iptables_cleanup_removes_only_kube_proxy_chains():
    plan = ns.plan_iptables_cleanup(IPT, 'iptables')
    after = apply_restore(IPT, plan['restore'])
    left = chains_of(after)
    assert not any(ns.classify_chain(t, c) in ('iptables', 'shared') for t, c in left)
    assert left >= FOREIGN
    # foreign rules intact, no kube-proxy jump left in built-in chains
    for table in after:
        for _chain, spec in after[table]['rules']:
            assert ns.rule_target(spec) not in ('KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-FORWARD')
    assert ('INPUT', '-p tcp -m tcp --dport 22 -m comment --comment "admin: ssh" -j ACCEPT') in after['filter']['rules']
    assert ('INPUT', '-j KUBE-FIREWALL') in after['filter']['rules']
    assert plan['chains'] == 14 + 5
    # one COMMIT per table, flush lines before the deletes
    assert plan['restore'].count('COMMIT') == 3
    nat = plan['restore'].split('*nat\n', 1)[1].split('COMMIT', 1)[0]
    assert nat.index(':KUBE-SERVICES - [0:0]') < nat.index('-D PREROUTING') < nat.index('-X KUBE-SERVICES')
    # nothing to do the second time
    assert ns.plan_iptables_cleanup(after, 'iptables')['restore'] == ''


def test_plan_iptables_cleanup_keeps_shared_chains_when_other_mode_is_live():
    plan = ns.plan_iptables_cleanup(IPT, 'iptables', keep_shared=True)
    after = apply_restore(IPT, plan['restore'])
    left = chains_of(after)
    assert ('nat', 'KUBE-SERVICES') in left and ('nat', 'KUBE-MARK-MASQ') in left
    assert not any(ns.classify_chain(t, c) == 'iptables' for t, c in left)
    # the shared KUBE-SERVICES lost its jumps to per-service chains but kept nothing dangling
    assert all(not (ns.rule_target(s) or '').startswith('KUBE-SVC-') for _c, s in after['nat']['rules'])


def test_plan_ipvs_cleanup_deletes_set_references_in_kept_chains():
    sets = ns.kube_proxy_ipsets(ns.parse_ipset_names('KUBE-CLUSTER-IP\nKUBE-LOOP-BACK\nKUBE-SRC-X\n'))
    assert sets == ['KUBE-CLUSTER-IP', 'KUBE-LOOP-BACK']
    plan = ns.plan_iptables_cleanup(IPVS, 'ipvs', keep_shared=True, ipsets=ns.IPVS_IPSETS)
    after = apply_restore(IPVS, plan['restore'])
    for table in after:
        for _chain, spec in after[table]['rules']:
            assert not ns.rule_match_sets(spec)
    left = chains_of(after)
    assert ('nat', 'KUBE-SERVICES') in left and ('filter', 'KUBE-FORWARD') in left
    assert ('filter', 'KUBE-IPVS-FILTER') not in left and ('nat', 'KUBE-NODE-PORT') not in left
    full = apply_restore(IPVS, ns.plan_iptables_cleanup(IPVS, 'ipvs', ipsets=ns.IPVS_IPSETS)['restore'])
    assert not any(ns.classify_chain(t, c) in ('ipvs', 'shared') for t, c in chains_of(full))
    assert chains_of(full) >= FOREIGN


def test_plan_iptables_cleanup_leaves_ipvs_chains():
    after = apply_restore(IPVS, ns.plan_iptables_cleanup(IPVS, 'iptables', keep_shared=True)['restore'])
    assert chains_of(after) == chains_of(IPVS)


def test_detect_modes():
    s_ipt = ns.summarize_iptables(IPT)
    s_ipvs = ns.summarize_iptables(IPVS)
    assert ns.detect_modes([s_ipt], False, []) == ['iptables']
    assert ns.detect_modes([s_ipvs], False, []) == ['ipvs']
    assert ns.detect_modes([s_ipvs], True, []) == ['ipvs']
    assert ns.detect_modes([s_ipt, s_ipvs], False, [('ip', 'kube-proxy')]) == ['iptables', 'ipvs', 'nftables']
    assert ns.detect_modes([], False, []) == []
    assert ns.detect_modes([], True, []) == ['ipvs']


NFT_TABLES = (
    '{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "ip", "name": "nat", "handle": 1}},'
    ' {"table": {"family": "ip", "name": "kube-proxy", "handle": 2}},'
    ' {"table": {"family": "inet", "name": "kube-proxy", "handle": 3}},'
    ' {"table": {"family": "ip6", "name": "kube-proxy", "handle": 4}}]}'
)
NFT_TABLE = (
    '{"nftables": [{"metainfo": {}}, {"table": {"family": "ip", "name": "kube-proxy"}},'
    ' {"set": {"name": "cluster-ips", "elem": ["10.96.0.1", "10.96.0.10"]}},'
    ' {"set": {"name": "nodeport-ips"}},'
    ' {"map": {"name": "service-ips", "elem": [[{"concat": ["10.96.0.1", "tcp", 443]}, {"goto": {"target": "s"}}]]}},'
    ' {"chain": {"name": "services"}}, {"chain": {"name": "s"}},'
    ' {"rule": {"chain": "services", "expr": []}}]}'
)


def test_nft_parsers_and_plan():
    tables = ns.parse_nft_tables(NFT_TABLES)
    assert ('ip', 'nat') in tables
    assert ns.kube_proxy_nft_tables(tables) == [('ip', 'kube-proxy'), ('ip6', 'kube-proxy')]
    assert ns.plan_nft_cleanup(tables) == 'delete table ip kube-proxy\ndelete table ip6 kube-proxy\n'
    assert ns.plan_nft_cleanup([('ip', 'filter'), ('inet', 'kube-proxy')]) == ''
    assert ns.summarize_nft_table(NFT_TABLE) == {'chains': 2, 'rules': 1, 'sets': 2, 'maps': 1, 'elements': 3}
    assert ns.parse_nft_tables('') == []


def test_ipvs_parsing_and_ownership():
    services = ns.parse_proc_ip_vs(fixture('proc_net_ip_vs.txt'))
    assert len(services) == 7
    assert services[0] == {
        'protocol': 'tcp',
        'address': '10.96.0.1',
        'port': 443,
        'fwmark': None,
        'scheduler': 'rr',
        'family': 'ipv4',
        'destinations': 1,
    }
    assert services[1]['destinations'] == 2
    assert services[5]['address'] == 'fd00:10:233::1' and services[5]['family'] == 'ipv6'
    assert services[6]['protocol'] == 'fwm' and services[6]['fwmark'] == 1
    addrs = ns.parse_ip_addr_json(fixture('ip_addr_kube_ipvs0.json'))
    assert addrs == ['10.96.0.1', '10.96.0.10', 'fd00:10:233::1']
    nodeports = ns.nodeports_from_sets({'KUBE-NODE-PORT-TCP': ['30080'], 'KUBE-NODE-PORT-UDP': []})
    mine, other = ns.kube_proxy_ipvs_services(services, addrs, nodeports)
    # ClusterIPs on kube-ipvs0 (v4 tcp/udp, v6) + NodePort 30080 on the node IP; kube-vip 192.168.1.100:6443
    # and the fwmark service stay
    assert [(s['address'], s['port']) for s in mine] == [
        ('10.96.0.1', 443),
        ('10.96.0.10', 53),
        ('10.96.0.10', 53),
        ('192.168.1.10', 30080),
        ('fd00:10:233::1', 443),
    ]
    assert {(s['address'], s['port']) for s in other} == {('192.168.1.100', 6443), (None, None)}
    assert ns.plan_ipvs_cleanup(mine) == (
        '-D -t 10.96.0.1:443\n-D -t 10.96.0.10:53\n-D -u 10.96.0.10:53\n-D -t 192.168.1.10:30080\n'
        '-D -t [fd00:10:233::1]:443\n'
    )
    assert ns.parse_proc_ip_vs('IP Virtual Server version 1.2.1 (size=4096)\n') == []


def test_ipsets():
    text = fixture('ipvs-mode.ipset')
    names = [line.split()[1] for line in text.splitlines() if line.startswith('create ')]
    plan = ns.plan_ipset_cleanup(names)
    assert 'destroy KUBE-CLUSTER-IP\n' in plan and 'destroy KUBE-6-CLUSTER-IP\n' in plan
    assert 'KUBE-SRC-KUBEROUTERXYZ' not in plan and 'cali40' not in plan
    members = ns.parse_ipset_save_members(text, ns.NODEPORT_IPSETS)
    assert ns.nodeports_from_sets(members) == {('tcp', 30080)}


def test_modules_and_versions():
    loaded = ns.parse_proc_modules('nf_tables 303104 0 - Live 0x0\nip_vs 200704 6 - Live 0x0\n')
    assert loaded == ['ip_vs', 'nf_tables']
    avail = ns.parse_modules_list(
        'kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz: kernel/net/netfilter/ipvs/ip_vs.ko.xz\n'
        'kernel/net/netfilter/nft-fib.ko.zst:\n'
    )
    assert avail == {'ip_vs_rr', 'nft_fib'}
    rep = ns.module_report(loaded, {'nf_conntrack'}, avail)
    assert rep['ipvs']['loaded'] == ['ip_vs'] and 'ip_vs_rr' in rep['ipvs']['available']
    assert 'ip_vs_sh' in rep['ipvs']['missing'] and rep['ipvs']['builtin'] == ['nf_conntrack']
    assert ns.module_report([], set(), None)['nftables']['missing'] == []
    assert ns.parse_tool_version('nftables v1.0.6 (Lester Gooch #5)') == '1.0.6'
    assert ns.parse_tool_version('ipset v7.17, protocol version: 7') == '7.17'
    assert ns.parse_tool_version('ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)') == '1.31'
    assert ns.parse_tool_version(None) is None
    assert ns.iptables_version_backend('iptables v1.8.9 (nf_tables)') == 'nft'
    assert ns.iptables_version_backend('iptables v1.8.9 (legacy)') == 'legacy'


def test_split_for_nft_backend():
    plan = ns.plan_iptables_cleanup(IPT, 'iptables')
    unlink, chains = ns.split_for_nft_backend(plan, 'ipv6')
    # unlink: only the -D lines, per table; chains: every flush before every delete, ip6 family
    assert ':' not in ''.join(line[:1] for line in unlink.splitlines())
    assert unlink.count('-D ') == plan['deleted_rules'] == 12
    lines = chains.splitlines()
    assert len(lines) == 2 * plan['chains']
    assert lines[0].startswith('flush chain ip6 ') and lines[-1].startswith('delete chain ip6 ')
    assert max(i for i, x in enumerate(lines) if x.startswith('flush')) < min(
        i for i, x in enumerate(lines) if x.startswith('delete')
    )
    assert 'delete chain ip6 nat KUBE-SERVICES' in lines
    bad = dict(plan, tables={'nat': ['KUBE-SVC-"x']})
    assert ns.split_for_nft_backend(bad, 'ipv4') is None


def test_summarize_iptables_without_rules_counts_chains_only():
    full, chains_only = ns.summarize_iptables(IPT), ns.summarize_iptables(IPT, rules=False)
    assert chains_only['kube_proxy_rules'] is None and chains_only['jump_rules'] is None
    assert full['kube_proxy_rules'] > 0
    for key in ('iptables_chains', 'ipvs_chains', 'shared_chains', 'kube_proxy_chains', 'kubelet_chains', 'hint'):
        assert chains_only[key] == full[key], key
