# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cleanup run for real in network namespaces: kube-proxy's state goes, everything else stays."""

from __future__ import annotations

import pytest

BACKENDS = [('legacy', 'ipv4'), ('nft', 'ipv4'), ('legacy', 'ipv6'), ('nft', 'ipv6')]


def parsed(text):
    """{table: (sorted chains, rules in order)} of iptables-save text."""
    out = {}
    table = None
    for line in text.splitlines():
        if line.startswith('*'):
            table = line[1:]
            out[table] = (set(), [])
        elif line.startswith(':'):
            out[table][0].add(line[1:].split()[0])
        elif line.startswith('-A '):
            out[table][1].append(line)
    return {t: (sorted(c), r) for t, (c, r) in out.items()}


@pytest.fixture
def reference(netns):
    """Saves of a namespace holding only the foreign (kubelet, CNI, admin) rules."""
    cache = {}

    def get(backend, family, gen):
        if (backend, family) not in cache:
            ref = netns()
            ref.restore(backend, family, gen.foreign_only(family))
            cache[(backend, family)] = parsed(ref.save(backend, family))
        return cache[(backend, family)]

    return get


def test_iptables_cleanup_all_backends_families(netns, gen, reference):
    ns = netns()
    for backend, family in BACKENDS:
        ns.restore(backend, family, gen.iptables_mode(30, family=family))
    saved = {bf: ns.save(*bf) for bf in BACKENDS}

    check = ns.module('cleanup', check_mode=True, diff=True, mode='iptables')
    assert check['changed'] is True
    assert set(check['removed']['iptables']) == {'legacy/ipv4', 'nft/ipv4', 'legacy/ipv6', 'nft/ipv6'}
    assert check['diff']['before']['iptables_chains'] == 4 * (30 * 2 + 3 + 12)
    assert check['diff']['after']['iptables_chains'] == 0
    assert {bf: ns.save(*bf) for bf in BACKENDS} == saved, 'check mode changed the rules'

    result = ns.module('cleanup', diff=True, mode='iptables')
    assert result['changed'] is True
    assert result['before'] == check['before']
    assert result['after'] == dict.fromkeys(result['after'], 0)
    for backend, family in BACKENDS:
        assert parsed(ns.save(backend, family)) == reference(backend, family, gen), (backend, family)
    facts = ns.facts()
    assert facts['modes'] == []
    assert facts['kubelet_iptables_backend'] == ['legacy', 'nft']

    again = ns.module('cleanup', mode='iptables')
    assert again['changed'] is False


def test_iptables_cleanup_leaves_ipvs_and_nft_state(netns, gen):
    ns = netns()
    ns.restore('nft', 'ipv4', gen.iptables_mode(5))
    ns.sh(['ipset', 'restore'], data=gen.ipvs_ipsets())
    ns.restore('legacy', 'ipv4', gen.ipvs_mode())
    ns.nft(gen.nftables_mode(2))
    legacy = ns.save('legacy', 'ipv4')
    sets = ns.ipsets()
    result = ns.module('cleanup', mode='iptables')
    assert result['changed'] is True
    assert ns.save('legacy', 'ipv4') == legacy
    assert ns.ipsets() == sets
    assert ns.facts()['modes'] == ['ipvs', 'nftables']


def test_ipvs_cleanup_leftovers(netns, gen, reference):
    ns = netns()
    ns.sh(['ipset', 'restore'], data=gen.ipvs_ipsets(('ipv4', 'ipv6')))
    ns.restore('nft', 'ipv4', gen.ipvs_mode())
    ns.restore('legacy', 'ipv6', gen.ipvs_mode(family='ipv6'))
    ns.sh('ip link add kube-ipvs0 type bridge && ip addr add 10.96.0.1/32 dev kube-ipvs0')
    before_sets = ns.ipsets()
    saved = ns.save('nft', 'ipv4')

    check = ns.module('cleanup', check_mode=True, mode='ipvs')
    assert check['changed'] is True
    assert check['removed']['kube_ipvs0'] is True
    assert 'KUBE-6-CLUSTER-IP' in check['removed']['ipsets']
    assert ns.save('nft', 'ipv4') == saved and ns.ipsets() == before_sets
    assert 'kube-ipvs0' in ns.sh(['ip', '-o', 'link'])

    result = ns.module('cleanup', mode='ipvs')
    assert result['changed'] is True
    assert ns.ipsets() == ['KUBE-SRC-KUBEROUTERXYZ', 'cali40all-ipam-pools']
    assert 'kube-ipvs0' not in ns.sh(['ip', '-o', 'link'])
    assert parsed(ns.save('nft', 'ipv4')) == reference('nft', 'ipv4', gen)
    assert parsed(ns.save('legacy', 'ipv6')) == reference('legacy', 'ipv6', gen)
    assert ns.facts()['modes'] == []
    assert ns.module('cleanup', mode='ipvs')['changed'] is False


def test_ipvs_cleanup_while_iptables_mode_is_live(netns, gen):
    """ipvs -> iptables: the chains both proxiers use stay, the ipvs rules in them go."""
    ns = netns()
    ns.sh(['ipset', 'restore'], data=gen.ipvs_ipsets())
    both = gen.combine(gen.foreign_iptables(), gen.iptables_mode_tables(10), gen.ipvs_mode_tables())
    ns.restore('nft', 'ipv4', gen.render(both))
    before = ns.facts()
    assert before['modes'] == ['iptables', 'ipvs']

    result = ns.module('cleanup', mode='ipvs')
    assert result['changed'] is True
    after = ns.facts()
    assert after['modes'] == ['iptables']
    b4, af = before['iptables']['nft']['ipv4'], after['iptables']['nft']['ipv4']
    assert af['iptables_chains'] == b4['iptables_chains']
    assert af['shared_chains'] == b4['shared_chains'] == 5
    assert af['ipvs_chains'] == 0
    text = ns.save('nft', 'ipv4')
    assert '--match-set' not in text
    assert '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' in text
    assert ns.ipsets() == ['KUBE-SRC-KUBEROUTERXYZ', 'cali40all-ipam-pools']


def test_nftables_cleanup(netns, gen):
    ns = netns()
    ns.nft(gen.nftables_mode(3))
    ns.nft(gen.foreign_nft())
    ns.restore('nft', 'ipv4', gen.iptables_mode(3))
    ipt = ns.save('nft', 'ipv4')

    check = ns.module('cleanup', check_mode=True, diff=True, mode='nftables')
    assert check['changed'] is True
    assert check['removed']['nft_tables'] == ['ip kube-proxy', 'ip6 kube-proxy']
    assert check['diff']['before']['nft_tables'] == 2
    assert 'ip kube-proxy' in ns.sh(['nft', 'list', 'tables']).replace('table ', '')

    result = ns.module('cleanup', mode='nftables')
    assert result['changed'] is True
    tables = ns.sh(['nft', 'list', 'tables'])
    assert 'kube-proxy' not in tables
    assert 'table inet filter' in tables and 'table ip calico-fw' in tables
    assert ns.save('nft', 'ipv4') == ipt
    assert ns.facts()['modes'] == ['iptables']
    assert ns.module('cleanup', mode='nftables')['changed'] is False


def test_nothing_to_clean(netns, gen):
    ns = netns()
    ns.restore('legacy', 'ipv4', gen.foreign_only())
    for mode in ('iptables', 'ipvs', 'nftables'):
        result = ns.module('cleanup', check_mode=True, diff=True, mode=mode)
        assert result['changed'] is False, mode
        assert not any(result['before'].values())
