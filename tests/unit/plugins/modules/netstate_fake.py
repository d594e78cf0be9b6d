# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake node for the node_facts / cleanup unit tests: tools, files and recorded outputs."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.kube_proxy.mode.plugins.module_utils import _netnode

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'rules')


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding='utf-8') as f:
        return f.read()


class Exit(Exception):
    pass


class Failed(Exception):
    pass


class FakeNode:
    """tools: names found on PATH. outputs: {(tool, args...): (rc, stdout, stderr)}. files: {path: text}."""

    def __init__(self, tools, outputs=None, files=None, devices=(), save_to_file=True):
        self.save_to_file = save_to_file
        self.tools = set(tools)
        self.outputs = dict(outputs or {})
        self.files = dict(files or {})
        self.devices = set(devices)
        self.calls = []

    def run_command(self, args, data=None, **_kw):
        key = (os.path.basename(args[0]),) + tuple(args[1:])
        self.calls.append((key, data))
        if key[0].endswith('-save') and key[1:2] == ('-f',):
            if not self.save_to_file:
                return 2, '', "%s: invalid option -- 'f'" % key[0]
            rc, out, err = self.outputs.get(key[:1], (0, '', ''))
            self.files[key[2]] = out  # read back through the patched _netnode._read
            return rc, '', err
        if key in self.outputs:
            return self.outputs[key]
        if key[:4] == ('nft', '-j', 'list', 'table'):
            return 1, '', 'Error: No such file or directory\nlist table %s %s\n' % key[4:6]
        if key[1:] == ('--version',):
            return 0, '%s v1.0.0' % key[0], ''
        if key[0].endswith('-save'):
            return 0, '', ''
        if key[0].endswith('-restore') or key[0] in ('ipvsadm', 'ip', 'ipset', 'nft'):
            return 0, '', ''
        raise AssertionError('unexpected command %s' % (key,))

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return '/usr/sbin/' + name if name in self.tools else None

    def commands(self):
        return [c[0] for c in self.calls]


ALL_TOOLS = [
    'iptables-legacy-save',
    'iptables-legacy-restore',
    'iptables-nft-save',
    'iptables-nft-restore',
    'ip6tables-legacy-save',
    'ip6tables-legacy-restore',
    'ip6tables-nft-save',
    'ip6tables-nft-restore',
    'iptables',
    'nft',
    'ipset',
    'ipvsadm',
    'ip',
]


def install(monkeypatch, node, args, check_mode=False, diff=False):
    params = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': params})))
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, a, **kw: node.run_command(a, **kw))
    monkeypatch.setattr(
        basic.AnsibleModule, 'get_bin_path', lambda self, name, required=False, opt_dirs=None: node.get_bin_path(name)
    )

    def exit_json(self, **kw):
        raise Exit(kw)

    def fail_json(self, **kw):
        raise Failed(kw)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setattr(_netnode, '_read', node.files.get)
    monkeypatch.setattr(_netnode.NodeReader, 'device_exists', lambda self, name='kube-ipvs0': name in node.devices)


def run(main, monkeypatch, node, args=None, check_mode=False, diff=False):
    install(monkeypatch, node, args or {}, check_mode=check_mode, diff=diff)
    with pytest.raises((Exit, Failed)) as e:
        main()
    return e.type is Failed, e.value.args[0]
