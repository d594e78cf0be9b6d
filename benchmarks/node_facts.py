# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: node_facts on a node with N services programmed in iptables mode (run as root).

Builds the node in a fresh network namespace (kube-proxy 1.30-layout ruleset, IPv4, plus kubelet,
CNI and admin rules), loads it with iptables-restore in each backend, then times the node_facts
module (a full module process, as Ansible runs it), with its defaults and with rules=true (which
reads the iptables-nft backend with iptables-nft-save to count rules). Wall-clock and CPU seconds
(user+sys of all child processes): on a busy machine the CPU figure is the stable one.

    sudo .venv/bin/python benchmarks/node_facts.py [--services 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'fixtures', 'rules'))

import generate  # noqa: E402

RESTORE = {'legacy': 'iptables-legacy-restore', 'nft': 'iptables-nft-restore'}


def _children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Timing:
    """Wall-clock and CPU (user+sys of the child processes) seconds of one command."""

    def __init__(self, wall, cpu):
        self.wall, self.cpu = wall, cpu

    def __str__(self):
        return '%.3f (cpu %.3f)' % (self.wall, self.cpu)


class Namespace:
    def __init__(self):
        self.name = 'kpt-bench-%s' % uuid.uuid4().hex[:8]
        subprocess.run(['ip', 'netns', 'add', self.name], check=True)
        self.collections = tempfile.mkdtemp(prefix='kpt-bench-')
        os.makedirs(os.path.join(self.collections, 'ansible_collections', 'kube_proxy'))
        os.symlink(ROOT, os.path.join(self.collections, 'ansible_collections', 'kube_proxy', 'mode'))

    def close(self):
        subprocess.run(['ip', 'netns', 'del', self.name], check=False)
        os.unlink(os.path.join(self.collections, 'ansible_collections', 'kube_proxy', 'mode'))

    def timed(self, args, data=None):
        start, cpu = time.perf_counter(), _children_cpu()
        p = subprocess.run(
            ['ip', 'netns', 'exec', self.name] + args, input=data, capture_output=True, text=True, check=False
        )
        elapsed = Timing(time.perf_counter() - start, _children_cpu() - cpu)
        if p.returncode != 0:
            raise SystemExit('%s failed: %s %s' % (args[0], p.stdout[-2000:], p.stderr[-2000:]))
        return elapsed, p.stdout

    def module(self, name, **args):
        with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as fh:
            json.dump({'ANSIBLE_MODULE_ARGS': args}, fh)
        env = dict(os.environ, PYTHONPATH=self.collections)
        try:
            start, cpu = time.perf_counter(), _children_cpu()
            p = subprocess.run(
                ['ip', 'netns', 'exec', self.name, sys.executable, '-m',
                 'ansible_collections.kube_proxy.mode.plugins.modules.' + name, fh.name],
                capture_output=True, text=True, env=env, check=False,
            )  # fmt: skip
            elapsed = Timing(time.perf_counter() - start, _children_cpu() - cpu)
        finally:
            os.unlink(fh.name)
        result = json.loads(p.stdout)
        if result.get('failed'):
            raise SystemExit('%s failed: %s' % (name, result))
        return elapsed, result


def ruleset(services):
    return generate.iptables_mode(services)


def row(cells, widths):
    return '| ' + ' | '.join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + ' |'


def print_table(head, rows):
    """The load average (how far wall-clock figures can be trusted), then a Markdown table."""
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    print('load average at the end: %.2f %.2f %.2f' % os.getloadavg())
    print(row(head, widths))
    print('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    for r in rows:
        print(row(r, widths))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--services', type=int, default=10000)
    ap.add_argument('--runs', type=int, default=3)
    opts = ap.parse_args()
    text = ruleset(opts.services)
    lines = text.count('\n')
    rows = []
    for backend in ('legacy', 'nft'):
        ns = Namespace()
        try:
            load, _out = ns.timed([RESTORE[backend]], data=text)
            times = []
            facts = None
            for _run in range(opts.runs):
                t, result = ns.module('node_facts')
                times.append(t)
                facts = result['ansible_facts']['kube_proxy_node']
            full = [ns.module('node_facts', rules=True) for _run in range(opts.runs)]
            t_rules = min((t for t, _r in full), key=lambda t: t.wall)
            rules = full[0][1]['ansible_facts']['kube_proxy_node']['counts']['iptables_rules']
            rows.append(
                (
                    backend,
                    opts.services,
                    lines,
                    facts['counts']['iptables_chains'],
                    rules,
                    ','.join(facts['modes']),
                    load,
                    min(times, key=lambda t: t.wall),
                    max(times, key=lambda t: t.wall),
                    t_rules,
                )
            )
        finally:
            ns.close()
    head = ('backend', 'services', 'restore lines', 'kp chains', 'kp rules', 'modes', 'load s (iptables-restore)',
            'node_facts s (best)', 'node_facts s (worst)', 'node_facts rules=true s (best)')  # fmt: skip
    print_table(head, rows)


if __name__ == '__main__':
    main()
