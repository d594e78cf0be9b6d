# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_facts run for real in network namespaces loaded with kube-proxy rulesets."""

from __future__ import annotations


def test_empty_namespace_reports_no_mode(netns):
    ns = netns()
    facts = ns.facts()
    assert facts['modes'] == []
    assert facts['counts'] == {
        'iptables_chains': 0,
        'iptables_rules': 0,
        'ipvs_services': 0,
        'ipsets': 0,
        'nft_tables': 0,
        'nft_elements': 0,
    }
    assert facts['kubelet_iptables_backend'] is None
    assert facts['ipvs']['loaded'] is False  # the host kernel has no ip_vs
    assert facts['errors'] == []
    assert facts['tools']['nft'] and facts['tools']['iptables'] and facts['tools']['ipset']
    assert facts['kernel']['release']


def test_iptables_mode_in_both_backends_and_families(netns, gen):
    ns = netns()
    ns.restore('legacy', 'ipv4', gen.iptables_mode(20))
    ns.restore('nft', 'ipv6', gen.iptables_mode(10, family='ipv6'))
    facts = ns.facts()
    assert facts['modes'] == ['iptables']
    v4 = facts['iptables']['legacy']['ipv4']
    v6 = facts['iptables']['nft']['ipv6']
    # 20 services: SVC + SEP each, NodePort EXT every 10th
    assert v4['service_chains'] == 20 * 2 + 2
    assert v6['service_chains'] == 10 * 2 + 1
    assert v4['kube_proxy_chains'] == v4['service_chains'] + 7 + 5
    assert facts['iptables']['nft']['ipv4']['kube_proxy_chains'] == 0
    assert v4['hint'] and v6['hint']
    assert facts['kubelet_iptables_backend'] == ['legacy', 'nft']
    assert facts['counts']['iptables_chains'] == v4['kube_proxy_chains'] + v6['kube_proxy_chains']
    # by default the nft backend's chains come from `nft -j list chains`, without rules
    assert v6['kube_proxy_rules'] is None and facts['counts']['iptables_rules'] is None
    assert v4['kube_proxy_rules'] == 4 + 21 + 20 * 4 + 2 * 3 + 3 and v4['jump_rules'] == 12
    full = ns.module('node_facts', rules=True, versions=False)['ansible_facts']['kube_proxy_node']
    v6_full = full['iptables']['nft']['ipv6']
    assert (v6_full['kube_proxy_rules'], v6_full['jump_rules']) == (4 + 11 + 10 * 4 + 3 + 3, 12)
    # both ways of reading the nft backend agree on everything else
    assert {k: v for k, v in v6_full.items() if k not in ('kube_proxy_rules', 'jump_rules')} == {
        k: v for k, v in v6.items() if k not in ('kube_proxy_rules', 'jump_rules')
    }
    assert full['counts']['iptables_rules'] == v4['kube_proxy_rules'] + 12 + 61 + 12
    # the iptables-nft backend's own tables (ip6 nat, ...) are not kube-proxy's nftables mode
    assert facts['nftables'] == {
        'readable': True,
        'kube_proxy_tables': [],
        'counts': {'chains': 0, 'rules': 0, 'sets': 0, 'maps': 0, 'elements': 0},
    }


def test_kubelet_hint_names_the_backend(netns, gen):
    ns = netns()
    ns.restore('nft', 'ipv4', gen.iptables_mode(1))
    assert ns.facts()['kubelet_iptables_backend'] == 'nft'


def test_nftables_mode(netns, gen):
    ns = netns()
    ns.nft(gen.nftables_mode(5))
    ns.nft(gen.foreign_nft())
    facts = ns.facts()
    assert facts['modes'] == ['nftables']
    assert facts['nftables']['kube_proxy_tables'] == ['ip kube-proxy', 'ip6 kube-proxy']
    # per family: 5 cluster-ips elements + 5 service-ips map elements (calico-fw's element not counted)
    assert facts['counts']['nft_elements'] == 20
    assert facts['counts']['nft_tables'] == 2
    assert facts['nftables']['counts']['chains'] == 2 * (4 + 2 * 5)


def test_ipvs_leftovers_without_ip_vs(netns, gen):
    ns = netns()
    ns.sh(['ipset', 'restore'], data=gen.ipvs_ipsets(('ipv4', 'ipv6')))
    ns.restore('nft', 'ipv4', gen.ipvs_mode())
    ns.sh('ip link add kube-ipvs0 type bridge && ip addr add 10.96.0.1/32 dev kube-ipvs0')
    facts = ns.facts()
    assert facts['modes'] == ['ipvs']
    assert facts['ipvs']['kube_ipvs0'] is True and facts['ipvs']['kube_ipvs0_addresses'] == 1
    assert 'KUBE-CLUSTER-IP' in facts['ipsets'] and 'KUBE-6-CLUSTER-IP' in facts['ipsets']
    assert 'KUBE-SRC-KUBEROUTERXYZ' not in facts['ipsets']
    assert facts['iptables']['nft']['ipv4']['ipvs_chains'] == 6


def test_mixed_stale_state(netns, gen):
    ns = netns()
    ns.restore('nft', 'ipv4', gen.iptables_mode(3))
    ns.sh(['ipset', 'restore'], data=gen.ipvs_ipsets(foreign=False))
    ns.restore('legacy', 'ipv4', gen.ipvs_mode(foreign=False))
    ns.nft(gen.nftables_mode(1, families=('ip',)))
    facts = ns.facts()
    assert facts['modes'] == ['iptables', 'ipvs', 'nftables']


def test_check_mode_and_versions_off(netns, gen):
    ns = netns()
    ns.restore('nft', 'ipv4', gen.iptables_mode(2))
    before = ns.save('nft', 'ipv4')
    result = ns.module('node_facts', check_mode=True, versions=False)
    facts = result['ansible_facts']['kube_proxy_node']
    assert result['changed'] is False
    assert facts['modes'] == ['iptables']
    assert 'tools' not in facts and 'kernel' not in facts
    assert ns.save('nft', 'ipv4') == before
