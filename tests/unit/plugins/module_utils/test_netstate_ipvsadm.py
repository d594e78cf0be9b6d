# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipvsadm -S -n parsing and the add-only ipvsadm -R plan."""

from __future__ import annotations

import pytest

from ansible_collections.kube_proxy.mode.plugins.module_utils import _netstate as ns


@pytest.mark.parametrize(
    'line,key,dest',
    [
        ('-A -t 10.99.0.100:6443 -s rr', '-t 10.99.0.100:6443', None),
        ('-a -t 10.99.0.100:6443 -r 10.99.0.11:6443 -m -w 1', '-t 10.99.0.100:6443', '10.99.0.11:6443'),
        ('-A -u 10.96.0.10:53 -s rr -p 300', '-u 10.96.0.10:53', None),
        ('-A --sctp-service 10.0.0.1:3868 -s rr', '--sctp-service 10.0.0.1:3868', None),
        ('-A -f 1 -s wlc', '-f 1', None),
        ('-a -f 1 -r 192.168.1.11:0 -g -w 1', '-f 1', '192.168.1.11:0'),
        ('-A -f 2 -6 -s rr', '-f 2 -6', None),
        ('-a -f 2 -6 -r [fd00::11]:0 -g -w 1', '-f 2 -6', '[fd00::11]:0'),
        # spelling does not matter: long options, uncompressed IPv6, hex fwmark
        ('--add-service --tcp-service [fd00:0099:0000::0100]:6443 --scheduler rr', '-t [fd00:99::100]:6443', None),
        ('-a -t [fd00:99::100]:6443 -r [FD00:99::11]:6443 -m -w 1', '-t [fd00:99::100]:6443', '[fd00:99::11]:6443'),
        ('-A -f 0x10 -s rr', '-f 16', None),
    ],
)
def test_rule_keys(line, key, dest):
    rule = ns.parse_ipvsadm_rule(line)
    assert (rule['key'], rule['destination']) == (key, dest)


@pytest.mark.parametrize(
    'line',
    [
        '-D -t 10.0.0.1:80',
        '-E -t 10.0.0.1:80 -s wlc',
        '-A -s rr',
        '-a -t 10.0.0.1:80 -m -w 1',
        '-A -t 10.0.0.1:80 -s rr\n-C',
        '-A -t not-an-address:http -s rr',
        '',
    ],
)
def test_rule_rejects(line):
    with pytest.raises(ValueError):
        ns.parse_ipvsadm_rule(line)


SAVE = """\
-A -t 10.96.0.1:443 -s rr
-a -t 10.96.0.1:443 -r 192.168.1.10:6000 -m -w 1
-A -f 1 -s wlc
-a -f 1 -r 192.168.1.11:0 -g -w 1
-A -t [fd00:10:233::1]:443 -s rr
-a -t [fd00:10:233::1]:443 -r [fd00:10:233:64::5]:6000 -m -w 1
"""


def test_parse_save_feeds_the_kube_proxy_split():
    services = ns.parse_ipvsadm_save(SAVE)
    assert [(s['protocol'], s['address'], s['port'], s['fwmark'], s['family']) for s in services] == [
        ('tcp', '10.96.0.1', 443, None, 'ipv4'),
        ('fwm', None, None, 1, 'ipv4'),
        ('tcp', 'fd00:10:233::1', 443, None, 'ipv6'),
    ]
    mine, other = ns.kube_proxy_ipvs_services(services, ['10.96.0.1', 'fd00:10:233::1'])
    assert [s['key'] for s in mine] == ['-t 10.96.0.1:443', '-t [fd00:10:233::1]:443']
    assert ns.ipvsadm_rules(other) == [
        {'service': '-A -f 1 -s wlc', 'destinations': ['-a -f 1 -r 192.168.1.11:0 -g -w 1']}
    ]


def test_plan_adds_only_what_is_missing_and_merges_duplicates():
    current = ns.parse_ipvsadm_save(SAVE)
    wanted = [
        {
            'service': '-A -f 1 -s rr',
            'destinations': ['-a -f 1 -r 192.168.1.11:0 -m -w 9', '-a -f 1 -r 192.168.1.12:0 -g -w 1'],
        },
        {
            'service': '-A -t 10.99.0.100:6443 -s rr',
            'destinations': ['-a -t 10.99.0.100:6443 -r 10.99.0.11:6443 -m -w 1'],
        },
        {
            'service': '-A -t 10.99.0.100:6443 -s wlc',
            'destinations': ['-a -t 10.99.0.100:6443 -r 10.99.0.11:6443 -m -w 2'],
        },
    ]
    lines, keys = ns.plan_ipvs_restore(wanted, current)
    assert lines == [
        '-a -f 1 -r 192.168.1.12:0 -g -w 1',
        '-A -t 10.99.0.100:6443 -s rr',
        '-a -t 10.99.0.100:6443 -r 10.99.0.11:6443 -m -w 1',
    ]
    assert keys == ['-f 1', '-t 10.99.0.100:6443']
    assert ns.plan_ipvs_restore(wanted, ns.parse_ipvsadm_save(SAVE + '\n'.join(lines)))[0] == []


def test_plan_rejects_a_destination_of_another_service():
    with pytest.raises(ValueError, match='does not belong'):
        ns.plan_ipvs_restore([{'service': '-A -f 1 -s rr', 'destinations': ['-a -f 2 -r 10.0.0.1:0 -g -w 1']}], [])
