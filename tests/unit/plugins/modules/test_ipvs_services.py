# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible.module_utils.common import warnings

from ansible_collections.kube_proxy.mode.plugins.module_utils._netnode import NodeReader
from ansible_collections.kube_proxy.mode.plugins.modules import ipvs_services
from ansible_collections.kube_proxy.mode.tests.unit.plugins.modules.netstate_fake import FakeNode
from ansible_collections.kube_proxy.mode.tests.unit.plugins.modules.netstate_fake import run as run_main
from ansible_collections.kube_proxy.mode.tests.unit.plugins.modules.test_node_facts_ipvs import OTHER_RULES

KUBE_VIP = OTHER_RULES[0]


class IPVSNode(FakeNode):
    """A node whose IPVS table is `ipvsadm -S -n` lines; `ipvsadm -R` appends what it is fed."""

    def __init__(self, lines=(), tools=('ipvsadm',), loaded=True, restore_rc=0):
        super().__init__(tools=tools, files={'/proc/net/ip_vs': ''} if loaded else {})
        self.lines = list(lines)
        self.restore_rc = restore_rc

    def run_command(self, args, data=None, **kw):
        key = tuple(args[1:])
        if args[0].endswith('ipvsadm') and key == ('-S', '-n'):
            self.calls.append((('ipvsadm',) + key, data))
            return 0, ''.join(line + '\n' for line in self.lines), ''
        if args[0].endswith('ipvsadm') and key == ('-R',):
            self.calls.append((('ipvsadm',) + key, data))
            if self.restore_rc:
                return self.restore_rc, '', 'Memory allocation problem'
            self.lines.extend((data.decode() if isinstance(data, bytes) else data).splitlines())
            return 0, '', ''
        raise AssertionError('unexpected command %s' % (args,))


def run(monkeypatch, node, services, check_mode=False, diff=False):
    monkeypatch.setattr(NodeReader, 'ipvs_loaded', lambda self: '/proc/net/ip_vs' in node.files)
    return run_main(ipvs_services.main, monkeypatch, node, {'services': services}, check_mode=check_mode, diff=diff)


def restores(node):
    return [d for c, d in node.calls if c == ('ipvsadm', '-R')]


def test_flushed_node_gets_services_back_with_one_restore(monkeypatch):
    node = IPVSNode()
    failed, result = run(monkeypatch, node, OTHER_RULES, diff=True)
    assert not failed, result
    assert result['changed'] is True
    expected = [line for e in OTHER_RULES for line in [e['service']] + e['destinations']]
    assert result['added'] == expected
    assert restores(node) == ['\n'.join(expected) + '\n']
    assert node.lines == expected
    assert result['diff']['before'] == []
    assert result['diff']['after'][:3] == [
        '-t 192.168.1.100:6443',
        '-t 192.168.1.100:6443 -r 192.168.1.11:6443',
        '-t 192.168.1.100:6443 -r 192.168.1.12:6443',
    ]
    assert '-f 2 -6' in result['diff']['after'] and '-t [fd00:99::100]:6443' in result['diff']['after']

    # a second run finds everything and runs no restore
    failed, result = run(monkeypatch, node, OTHER_RULES)
    assert not failed and result['changed'] is False and result['added'] == []
    assert len(restores(node)) == 1


def test_nothing_to_add(monkeypatch):
    lines = [line for e in OTHER_RULES for line in [e['service']] + e['destinations']]
    # what is there is only compared by key: another scheduler, weight or spelling is left alone
    lines[0] = '-A -t 192.168.1.100:6443 -s wlc'
    lines[1] = '-a -t 192.168.1.100:6443 -r 192.168.1.11:6443 -m -w 5'
    node = IPVSNode(lines=lines + ['-A -t 10.0.0.1:80 -s rr'])
    wanted = OTHER_RULES + [{'service': '-A --tcp-service [fd00:99:0::100]:6443 -s rr'}]
    failed, result = run(monkeypatch, node, wanted, diff=True)
    assert not failed, result
    assert result['changed'] is False and result['added'] == []
    assert restores(node) == []
    assert result['diff']['before'] == result['diff']['after']
    # the diff is about the given services only
    assert '-t 10.0.0.1:80' not in result['diff']['before']


def test_missing_destination_of_an_existing_service(monkeypatch):
    node = IPVSNode(
        lines=[
            '-A -t 192.168.1.100:6443 -s rr -p 300 -M 255.255.255.0',
            '-a -t 192.168.1.100:6443 -r 192.168.1.12:6443 -g -w 0',
        ]
    )
    failed, result = run(monkeypatch, node, [KUBE_VIP])
    assert not failed, result
    assert result['added'] == ['-a -t 192.168.1.100:6443 -r 192.168.1.11:6443 -g -w 1']
    assert restores(node) == ['-a -t 192.168.1.100:6443 -r 192.168.1.11:6443 -g -w 1\n']


def test_check_mode_reports_and_changes_nothing(monkeypatch):
    node = IPVSNode(lines=['-A -f 1 -s wlc'])
    failed, result = run(monkeypatch, node, OTHER_RULES[2:4], check_mode=True, diff=True)
    assert not failed, result
    assert result['changed'] is True
    assert result['added'] == ['-a -f 1 -r 192.168.1.11:0 -g -w 1', '-A -f 2 -6 -s rr']
    assert restores(node) == [] and node.lines == ['-A -f 1 -s wlc']
    assert result['diff'] == {
        'before': ['-f 1'],
        'after': ['-f 1', '-f 1 -r 192.168.1.11:0', '-f 2 -6'],
        'before_header': 'IPVS services (before)',
        'after_header': 'IPVS services (after)',
    }


def test_ipvsadm_missing_fails_clearly(monkeypatch):
    node = IPVSNode(tools=())
    failed, result = run(monkeypatch, node, OTHER_RULES)
    assert failed
    assert 'ipvsadm is missing' in result['msg'] and 'nftables' in result['msg']
    assert node.calls == []


def test_ip_vs_not_loaded_fails_without_running_ipvsadm(monkeypatch):
    node = IPVSNode(loaded=False)
    failed, result = run(monkeypatch, node, [KUBE_VIP])
    assert failed
    assert 'ip_vs' in result['msg'] and 'not loaded' in result['msg']
    # ipvsadm would modprobe ip_vs itself
    assert node.calls == []


def test_empty_list_runs_nothing(monkeypatch):
    node = IPVSNode(tools=(), loaded=False)
    failed, result = run(monkeypatch, node, [])
    assert not failed and result['changed'] is False and result['added'] == []
    assert node.calls == []


def test_malformed_entries_fail_before_anything_runs(monkeypatch):
    for bad in (
        [{'service': '-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1'}],
        [{'service': '-A -t 10.0.0.1:80 -s rr', 'destinations': ['-a -t 10.0.0.9:80 -r 10.0.0.2:80 -m -w 1']}],
        [{'service': '-A -t 10.0.0.1:80 -s rr\n-D -t 10.0.0.2:80'}],
        [{'service': '-C'}],
    ):
        node = IPVSNode()
        failed, result = run(monkeypatch, node, bad)
        assert failed, bad
        assert result['msg'].startswith('services: ')
        assert node.calls == []


def test_restore_failure_is_reported(monkeypatch):
    node = IPVSNode(restore_rc=1)
    failed, result = run(monkeypatch, node, [KUBE_VIP])
    assert failed
    assert 'ipvsadm -R failed (rc=1): Memory allocation problem' in result['msg']
    assert result['added'][0] == KUBE_VIP['service']


def test_read_back_warns_when_something_did_not_stick(monkeypatch):
    node = IPVSNode()
    # a restore that says it worked but added nothing
    node.run_command = lambda args, data=None, **kw: (
        (0, '', '') if args[1:] == ['-R'] else IPVSNode.run_command(node, args, data, **kw)
    )
    failed, result = run(monkeypatch, node, [KUBE_VIP])
    assert not failed and result['changed'] is True
    assert any('still missing after ipvsadm -R' in w for w in warnings.get_warning_messages())
