# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures: fresh network namespaces on the host kernel, rulesets loaded with the real tools, and
the collection's modules run for real inside the namespace (`ip netns exec NS python -m ...`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'fixtures', 'rules'))

import generate  # noqa: E402

SAVE = {
    ('legacy', 'ipv4'): 'iptables-legacy',
    ('nft', 'ipv4'): 'iptables-nft',
    ('legacy', 'ipv6'): 'ip6tables-legacy',
    ('nft', 'ipv6'): 'ip6tables-nft',
}


class NetNS:
    def __init__(self, name, collections):
        self.name = name
        self.collections = collections

    def sh(self, args, data=None, check=True):
        if isinstance(args, str):
            args = ['sh', '-c', args]
        p = subprocess.run(
            ['ip', 'netns', 'exec', self.name] + list(args),
            input=data,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and p.returncode != 0:
            raise AssertionError('%s failed rc=%d: %s %s' % (args, p.returncode, p.stdout, p.stderr))
        return p.stdout

    def restore(self, backend, family, text):
        self.sh(['%s-restore' % SAVE[(backend, family)], '--noflush'], data=text)

    def save(self, backend, family):
        """iptables-save without comments and counters: comparable text."""
        out = self.sh(['%s-save' % SAVE[(backend, family)]])
        return '\n'.join(line for line in out.splitlines() if line and not line.startswith('#'))

    def nft(self, text):
        self.sh(['nft', '-f', '-'], data=text)

    def ipsets(self):
        return sorted(self.sh(['ipset', 'list', '-n']).split())

    def module(self, name, check_mode=False, diff=False, **args):
        params = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        path = '/tmp/kpt-args-%s.json' % uuid.uuid4().hex[:8]
        with open(path, 'w', encoding='utf-8') as fh:
            json.dump({'ANSIBLE_MODULE_ARGS': params}, fh)
        try:
            env = dict(os.environ, PYTHONPATH=self.collections)
            p = subprocess.run(
                [
                    'ip',
                    'netns',
                    'exec',
                    self.name,
                    sys.executable,
                    '-m',
                    'ansible_collections.kube_proxy.mode.plugins.modules.%s' % name,
                    path,
                ],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
        finally:
            os.unlink(path)
        try:
            result = json.loads(p.stdout)
        except ValueError as e:
            raise AssertionError('module %s: no JSON (rc=%d): %s %s' % (name, p.returncode, p.stdout, p.stderr)) from e
        assert not result.get('failed'), result
        return result

    def facts(self):
        return self.module('node_facts')['ansible_facts']['kube_proxy_node']


@pytest.fixture(scope='session')
def collections(tmp_path_factory):
    """A collections root where ansible_collections.kube_proxy.mode is this checkout."""
    root = tmp_path_factory.mktemp('collections')
    ns_dir = root / 'ansible_collections' / 'kube_proxy'
    ns_dir.mkdir(parents=True)
    (ns_dir / 'mode').symlink_to(ROOT)
    return str(root)


@pytest.fixture
def netns(collections):
    made = []

    def make():
        name = 'kpt-%s' % uuid.uuid4().hex[:10]
        subprocess.run(['ip', 'netns', 'add', name], check=True)
        made.append(name)
        return NetNS(name, collections)

    yield make
    for name in made:
        subprocess.run(['ip', 'netns', 'del', name], check=False)


@pytest.fixture
def gen():
    return generate
