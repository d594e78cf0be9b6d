# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: cleanup of N services' worth of stale iptables-mode state, side by side with the
iptables-restore that loaded it (run as root).

Per backend (legacy, nft) and family (IPv4, and IPv6 with --ipv6): a fresh network namespace,
iptables-restore of the kube-proxy ruleset (timed), then the cleanup module with mode=iptables
(timed, full module process: Python start-up and imports, one iptables-save per backend and
family, plan, one iptables-restore --noflush, a save of what it changed to read it back), then a
check that only the foreign (kubelet, CNI, admin) chains remain. Prints one table; times are
wall-clock and CPU seconds (user + sys of every child process): on a shared machine compare CPU.

    sudo .venv/bin/python benchmarks/cleanup.py [--services 10000] [--ipv6]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from node_facts import Namespace, generate, print_table  # noqa: E402

RESTORE = {
    ('legacy', 'ipv4'): 'iptables-legacy-restore',
    ('nft', 'ipv4'): 'iptables-nft-restore',
    ('legacy', 'ipv6'): 'ip6tables-legacy-restore',
    ('nft', 'ipv6'): 'ip6tables-nft-restore',
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--services', type=int, default=10000)
    ap.add_argument('--ipv6', action='store_true', help='also IPv6')
    opts = ap.parse_args()
    families = ('ipv4', 'ipv6') if opts.ipv6 else ('ipv4',)
    rows = []
    for family in families:
        text = generate.iptables_mode(opts.services, family=family)
        for backend in ('legacy', 'nft'):
            ns = Namespace()
            try:
                load, _out = ns.timed([RESTORE[(backend, family)]], data=text)
                t_check, check = ns.module('cleanup', mode='iptables', _ansible_check_mode=True)
                t_clean, result = ns.module('cleanup', mode='iptables')
                t_again, again = ns.module('cleanup', mode='iptables')
                _timing, facts = ns.module('node_facts', versions=False)
                left = facts['ansible_facts']['kube_proxy_node']
                ok = (
                    result['changed']
                    and not again['changed']
                    and left['modes'] == []
                    and not any(result['after'].values())
                )
                rows.append(
                    (
                        backend,
                        family,
                        opts.services,
                        result['before']['iptables_chains'],
                        result['before']['iptables_rules'],
                        load,
                        t_clean,
                        '%.2f (cpu %.2f)' % (t_clean.wall / load.wall, t_clean.cpu / max(load.cpu, 1e-6)),
                        t_check,
                        t_again,
                        'yes' if ok else 'NO',
                    )
                )
            finally:
                ns.close()
    head = ('backend', 'family', 'services', 'chains removed', 'rules removed', 'load s (iptables-restore)',
            'cleanup s', 'cleanup/load', 'check mode s', 'second run s', 'clean + idempotent')  # fmt: skip
    print_table(head, rows)


if __name__ == '__main__':
    main()
