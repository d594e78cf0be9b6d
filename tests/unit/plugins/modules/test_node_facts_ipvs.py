# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_facts ipvs_other_rules: the IPVS services of other software, as ipvsadm -S -n lines."""

from __future__ import annotations

from ansible_collections.kube_proxy.mode.plugins.modules import node_facts
from ansible_collections.kube_proxy.mode.tests.unit.plugins.modules.netstate_fake import (
    ALL_TOOLS,
    FakeNode,
    fixture,
    run,
)

# `ipvsadm -S -n` of an ipvs-mode node (kube-ipvs0 holds 10.96.0.1, 10.96.0.10, fd00:10:233::1;
# KUBE-NODE-PORT-TCP holds 30080) with kube-vip (IPv4 and IPv6), keepalived fwmark services and a
# UDP service on a port that is a NodePort only for TCP.
IPVSADM_SAVE = """\
-A -t 10.96.0.1:443 -s rr
-a -t 10.96.0.1:443 -r 192.168.1.10:6000 -m -w 1
-A -t 10.96.0.10:53 -s rr
-a -t 10.96.0.10:53 -r 10.160.0.5:53 -m -w 1
-a -t 10.96.0.10:53 -r 10.160.0.6:53 -m -w 1
-A -t 192.168.1.10:30080 -s rr
-a -t 192.168.1.10:30080 -r 10.160.0.7:8080 -m -w 1
-A -t 192.168.1.100:6443 -s rr -p 300 -M 255.255.255.0
-a -t 192.168.1.100:6443 -r 192.168.1.11:6443 -g -w 1
-a -t 192.168.1.100:6443 -r 192.168.1.12:6443 -g -w 0
-A -u 10.96.0.10:53 -s rr
-a -u 10.96.0.10:53 -r 10.160.0.5:53 -m -w 1
-A -u 192.168.1.10:30080 -s sh -b sh-port
-A -f 1 -s wlc
-a -f 1 -r 192.168.1.11:0 -g -w 1
-A -f 2 -6 -s rr
-A -t [fd00:10:233::1]:443 -s rr
-a -t [fd00:10:233::1]:443 -r [fd00:10:233:64::5]:6000 -m -w 1
-A -t [fd00:99::100]:6443 -s rr
-a -t [fd00:99::100]:6443 -r [fd00:99::11]:6443 -m -w 1
"""

OTHER_RULES = [
    {
        'service': '-A -t 192.168.1.100:6443 -s rr -p 300 -M 255.255.255.0',
        'destinations': [
            '-a -t 192.168.1.100:6443 -r 192.168.1.11:6443 -g -w 1',
            '-a -t 192.168.1.100:6443 -r 192.168.1.12:6443 -g -w 0',
        ],
    },
    {'service': '-A -u 192.168.1.10:30080 -s sh -b sh-port', 'destinations': []},
    {'service': '-A -f 1 -s wlc', 'destinations': ['-a -f 1 -r 192.168.1.11:0 -g -w 1']},
    {'service': '-A -f 2 -6 -s rr', 'destinations': []},
    {
        'service': '-A -t [fd00:99::100]:6443 -s rr',
        'destinations': ['-a -t [fd00:99::100]:6443 -r [fd00:99::11]:6443 -m -w 1'],
    },
]


def ipvs_node(tools=tuple(ALL_TOOLS), loaded=True, save=(0, IPVSADM_SAVE, '')):
    return FakeNode(
        tools=tools,
        outputs={
            ('ipset', 'list', '-n'): (0, 'KUBE-CLUSTER-IP\nKUBE-NODE-PORT-TCP\n', ''),
            ('ipset', 'save', 'KUBE-NODE-PORT-TCP'): (0, 'add KUBE-NODE-PORT-TCP 30080\n', ''),
            ('ip', '-j', 'addr', 'show', 'dev', 'kube-ipvs0'): (0, fixture('ip_addr_kube_ipvs0.json'), ''),
            ('ipvsadm', '-S', '-n'): save,
        },
        files={'/proc/net/ip_vs': fixture('proc_net_ip_vs.txt')} if loaded else {},
        devices=['kube-ipvs0'],
    )


def ipvsadm_saves(node):
    return [c for c in node.commands() if c[:2] == ('ipvsadm', '-S')]


def test_other_rules_split_like_the_counts(monkeypatch):
    node = ipvs_node()
    failed, result = run(node_facts.main, monkeypatch, node, {'ipvs_other_rules': True, 'versions': False})
    assert not failed, result
    ipvs = result['ansible_facts']['kube_proxy_node']['ipvs']
    # kube-proxy's (on kube-ipvs0, IPv4 and IPv6, or TCP NodePort 30080) are left out; kube-vip's,
    # fwmark (IPv4 and IPv6) and the UDP service on 30080 are kept, lines exactly as printed
    assert ipvs['other_rules'] == OTHER_RULES
    assert ipvsadm_saves(node) == [('ipvsadm', '-S', '-n')]
    # the /proc counts are unchanged by the option
    assert (ipvs['kube_proxy_services'], ipvs['other_services']) == (5, 2)


def test_option_off_runs_no_ipvsadm_and_returns_no_key(monkeypatch):
    node = ipvs_node()
    failed, result = run(node_facts.main, monkeypatch, node, {'versions': False})
    assert not failed
    facts = result['ansible_facts']['kube_proxy_node']
    assert 'other_rules' not in facts['ipvs']
    assert ipvsadm_saves(node) == []
    assert 'ipvsadm' not in facts['missing_tools']


def test_other_rules_null_when_ipvsadm_missing(monkeypatch):
    node = ipvs_node(tools=[t for t in ALL_TOOLS if t != 'ipvsadm'])
    failed, result = run(node_facts.main, monkeypatch, node, {'ipvs_other_rules': True, 'versions': False})
    assert not failed
    facts = result['ansible_facts']['kube_proxy_node']
    assert facts['ipvs']['other_rules'] is None
    assert 'ipvsadm' in facts['missing_tools']


def test_other_rules_empty_when_ip_vs_not_loaded(monkeypatch):
    node = ipvs_node(loaded=False)
    failed, result = run(node_facts.main, monkeypatch, node, {'ipvs_other_rules': True, 'versions': False})
    assert not failed
    facts = result['ansible_facts']['kube_proxy_node']
    assert facts['ipvs']['loaded'] is False
    assert facts['ipvs']['other_rules'] == []
    # ipvsadm would load ip_vs (modprobe): not run
    assert ipvsadm_saves(node) == []


def test_other_rules_null_when_ipvsadm_fails(monkeypatch):
    node = ipvs_node(save=(2, '', 'Can\'t initialize ipvs: Protocol not available'))
    failed, result = run(node_facts.main, monkeypatch, node, {'ipvs_other_rules': True, 'versions': False})
    assert not failed
    facts = result['ansible_facts']['kube_proxy_node']
    assert facts['ipvs']['other_rules'] is None
    assert any(e.startswith('ipvsadm -S -n: rc=2') for e in facts['errors'])


def test_all_services_are_other_without_kube_ipvs0(monkeypatch):
    # after kube-proxy left ipvs mode (no kube-ipvs0, no ipsets): every service is someone else's
    node = FakeNode(
        tools=ALL_TOOLS,
        outputs={('ipvsadm', '-S', '-n'): (0, '-A -t 10.99.0.100:6443 -s rr\n', '')},
        files={'/proc/net/ip_vs': 'TCP  0A630064:192B rr\n'},
    )
    failed, result = run(node_facts.main, monkeypatch, node, {'ipvs_other_rules': True, 'versions': False})
    assert not failed
    ipvs = result['ansible_facts']['kube_proxy_node']['ipvs']
    assert ipvs['other_rules'] == [{'service': '-A -t 10.99.0.100:6443 -s rr', 'destinations': []}]
    assert ipvs['other_services'] == 1
