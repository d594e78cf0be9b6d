#!/usr/bin/python
# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: cleanup
short_description: Remove one kube-proxy mode's state from the node's kernel
version_added: 0.1.0
description:
  - Removes the kernel state that kube-proxy left in one mode, and nothing else. kube-proxy itself
    cleans nothing when moving between iptables and ipvs (KEP-2448), so stale rules stay until a reboot.
  - V(iptables) removes kube-proxy's iptables-mode chains in both backends (legacy and nft) and both
    families, deleting the rules of other chains that jump into them first. Kubelet's
    C(KUBE-IPTABLES-HINT), C(KUBE-KUBELET-CANARY), C(KUBE-FIREWALL) and C(KUBE-MARK-DROP), CNI chains
    (C(cali-*), C(CILIUM_*), C(AWS-*)), firewall and admin rules stay.
  - V(ipvs) removes kube-proxy's IPVS services (address on C(kube-ipvs0), or a NodePort listed in the
    proxier's NodePort ipsets; kube-vip's and other services stay), then C(kube-ipvs0), then the
    ipvs-mode chains (deleting rules elsewhere that jump to them or match the proxier's ipsets), then
    the proxier's ipsets.
  - Chains both proxiers use (nat C(KUBE-SERVICES), C(KUBE-POSTROUTING), C(KUBE-MARK-MASQ), filter
    C(KUBE-FORWARD), C(KUBE-PROXY-FIREWALL)) are removed only when the other of the two modes has no
    state on the node; otherwise only the rules in them that belong to the removed mode go.
  - V(nftables) deletes the tables C(ip kube-proxy) and C(ip6 kube-proxy); other tables stay.
  - Works in bulk, one C(iptables-restore --noflush) per backend and family (one COMMIT per table),
    one C(ipvsadm -R), one C(ipset restore), one C(nft -f). In the iptables-nft backend the chains are
    flushed and deleted with one C(nft -f) transaction after the C(iptables-nft-restore) that deletes
    the rules pointing at them (iptables-nft-restore needs seconds of CPU for 20,000 chains).
author:
  - Kube Proxy Mode Maintainers (@kube-proxy-mode)
extends_documentation_fragment:
  - kube_proxy.mode._attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports what would be removed and changes nothing.
  diff_mode:
    support: full
    details:
      - The diff shows the counts of the mode's state before and after.
options:
  mode:
    description: The kube-proxy mode whose state is removed.
    type: str
    required: true
    choices: [iptables, ipvs, nftables]
  wait:
    description: Seconds C(iptables-restore) waits for the xtables lock (C(--wait)).
    type: int
    default: 10
notes:
  - Stop kube-proxy in that mode first (it re-creates its state at its next sync). Running it while
    kube-proxy runs in another mode is the intended use.
  - Needs root; use C(become).
  - When C(kube-ipvs0) is already gone, IPVS services on ClusterIPs can no longer be told apart and stay.
seealso:
  - module: kube_proxy.mode.node_facts
'''

EXAMPLES = r'''
- name: Remove stale ipvs state after moving to iptables mode
  kube_proxy.mode.cleanup:
    mode: ipvs

- name: Show what would go, change nothing
  kube_proxy.mode.cleanup:
    mode: iptables
  check_mode: true
  diff: true
'''

RETURN = r'''
mode:
  description: The mode whose state was (or would be) removed.
  returned: always
  type: str
  sample: ipvs
removed:
  description: What was removed (or would be, in check mode).
  returned: always
  type: dict
  contains:
    iptables:
      description: Per C(backend/family) (for example C(nft/ipv4)), the counts C(chains) and C(rules) removed.
      type: dict
      sample: {legacy/ipv4: {chains: 20017, rules: 42031}}
    ipvs_services:
      description: IPVS services removed, as C(protocol address:port).
      type: list
      elements: str
      sample: [tcp 10.96.0.1:443]
    kube_ipvs0:
      description: Whether the C(kube-ipvs0) device was removed.
      type: bool
      sample: true
    ipsets:
      description: ipsets destroyed.
      type: list
      elements: str
      sample: [KUBE-CLUSTER-IP]
    nft_tables:
      description: nft tables deleted, as C(family name).
      type: list
      elements: str
      sample: [ip kube-proxy, ip6 kube-proxy]
before:
  description: Counts of the mode's state before.
  returned: always
  type: dict
  sample: {iptables_chains: 20017, iptables_rules: 42031, ipvs_services: 0, kube_ipvs0: 0, ipsets: 0, nft_tables: 0}
after:
  description:
    - Counts after (read back from the node; predicted in check mode). For O(mode=iptables) the backends
      and families the module changed are read again; nothing else was touched.
  returned: always
  type: dict
  sample: {iptables_chains: 0, iptables_rules: 0, ipvs_services: 0, kube_ipvs0: 0, ipsets: 0, nft_tables: 0}
missing_tools:
  description: Commands that were looked for and not found.
  returned: always
  type: list
  elements: str
  sample: [ipvsadm]
'''

import gc  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.kube_proxy.mode.plugins.module_utils import _netstate as ns  # noqa: E402
from ansible_collections.kube_proxy.mode.plugins.module_utils._netnode import NodeReader, gather  # noqa: E402


def make_plan(facts, raw, mode, keep_shared=None):
    """Everything cleanup of `mode` would do, from gathered state.

    keep_shared: keep the chains both proxiers use; None: keep them when the other of the
    iptables and ipvs modes has state on the node.
    """
    plan = {'iptables': {}, 'ipvs_services': [], 'kube_ipvs0': False, 'ipsets': [], 'nft': '', 'keep_shared': False}
    if mode in ('iptables', 'ipvs'):
        if keep_shared is None:
            keep_shared = ('ipvs' if mode == 'iptables' else 'iptables') in facts['modes']
        plan['keep_shared'] = keep_shared
        sets = ns.IPVS_IPSETS if mode == 'ipvs' else ()
        for (backend, family), (tables, restore) in sorted(raw['iptables'].items()):
            p = ns.plan_iptables_cleanup(tables, mode, keep_shared=keep_shared, ipsets=sets)
            if p['restore']:
                plan['iptables']['%s/%s' % (backend, family)] = dict(p, restore_bin=restore)
    if mode == 'ipvs':
        plan['ipvs_services'] = raw['ipvs_mine']
        plan['kube_ipvs0'] = raw['kube_ipvs0']
        plan['ipsets'] = ns.kube_proxy_ipsets(raw['ipset_names'])
    if mode == 'nftables':
        plan['nft'] = ns.plan_nft_cleanup(raw['nft_tables'])
    return plan


def read_back(module, plan, mode):
    """Counts of the mode's state left on the node after apply_plan, read from the node again.

    For the iptables mode only the backends and families the plan changed are saved again (the
    plan touches nothing else: no IPVS, ipset or nft state), planned with the same keep_shared;
    after a cleanup those tables are small, so this costs milliseconds. Other modes read it all.
    """
    reader = NodeReader(module)
    if mode != 'iptables':
        facts, raw = gather(reader, with_versions=False, nft_tables=mode == 'nftables', counts=False)
        return plan_counts(make_plan(facts, raw, mode))
    only = {tuple(key.split('/')) for key in plan['iptables']}
    ipt = reader.read_iptables(rules=True, only=only)
    raw = {'iptables': {k: (v[0], v[1]) for k, v in ipt.items()}}
    after = plan_counts(make_plan(None, raw, mode, keep_shared=plan['keep_shared']))
    if set(ipt) != only:
        module.warn('could not read back %s after cleanup' % ', '.join(sorted('%s/%s' % k for k in only - set(ipt))))
    return after


def plan_counts(plan):
    return {
        'iptables_chains': sum(p['chains'] for p in plan['iptables'].values()),
        'iptables_rules': sum(p['rules'] for p in plan['iptables'].values()),
        'ipvs_services': len(plan['ipvs_services']),
        'kube_ipvs0': int(bool(plan['kube_ipvs0'])),
        'ipsets': len(plan['ipsets']),
        'nft_tables': plan['nft'].count('delete table'),
    }


def removed_report(plan):
    return {
        'iptables': {k: {'chains': p['chains'], 'rules': p['rules']} for k, p in plan['iptables'].items()},
        'ipvs_services': [
            '%s %s:%d' % (s['protocol'], '[%s]' % s['address'] if s['family'] == 'ipv6' else s['address'], s['port'])
            for s in plan['ipvs_services']
        ],
        'kube_ipvs0': bool(plan['kube_ipvs0']),
        'ipsets': list(plan['ipsets']),
        'nft_tables': [line[len('delete table ') :] for line in plan['nft'].splitlines()],
    }


def apply_plan(module, reader, plan):
    """Run the plan in order: IPVS services, kube-ipvs0, iptables, ipsets, nft tables."""

    def must(args, data=None, what=None):
        rc, out, err = module.run_command(args, data=data, binary_data=True, environ_update={'LC_ALL': 'C'})
        if rc != 0:
            module.fail_json(
                msg='%s failed (rc=%d): %s' % (what or args[0], rc, (err or out).strip()),
                removed=removed_report(plan),
            )

    if plan['ipvs_services']:
        ipvsadm = reader.bin('ipvsadm')
        if not ipvsadm:
            module.fail_json(
                msg='%d kube-proxy IPVS services to remove but ipvsadm is missing: install ipvsadm'
                % len(plan['ipvs_services']),
                removed=removed_report(plan),
            )
        must([ipvsadm, '-R'], data=ns.plan_ipvs_cleanup(plan['ipvs_services']), what='ipvsadm -R')
    if plan['kube_ipvs0']:
        ip = reader.bin('ip')
        if not ip:
            module.fail_json(msg='kube-ipvs0 to remove but the ip command is missing: install iproute2')
        must([ip, 'link', 'del', ns.KUBE_IPVS_DEVICE], what='ip link del kube-ipvs0')
    for key, p in sorted(plan['iptables'].items()):
        restore = [p['restore_bin'], '--noflush', '--wait=%d' % module.params['wait']]
        backend, family = key.split('/')
        split = ns.split_for_nft_backend(p, family) if backend == 'nft' and reader.bin('nft', record=False) else None
        if split is None:
            must(restore, data=p['restore'], what='%s --noflush (%s)' % (p['restore_bin'], key))
            continue
        unlink, chains = split
        if unlink:
            must(restore, data=unlink, what='%s --noflush, rules pointing at kube-proxy (%s)' % (p['restore_bin'], key))
        if chains:
            must([reader.bin('nft'), '-f', '-'], data=chains, what='nft -f, flush and delete chains (%s)' % key)
    if plan['ipsets']:
        must(
            [reader.bin('ipset'), 'restore'],
            data=ns.plan_ipset_cleanup(plan['ipsets']),
            what='ipset restore (destroy %s)' % ', '.join(plan['ipsets']),
        )
    if plan['nft']:
        must([reader.bin('nft'), '-f', '-'], data=plan['nft'], what='nft -f (delete kube-proxy tables)')


def main():
    module = AnsibleModule(
        argument_spec={
            'mode': {'type': 'str', 'required': True, 'choices': ['iptables', 'ipvs', 'nftables']},
            'wait': {'type': 'int', 'default': 10},
        },
        supports_check_mode=True,
    )
    mode = module.params['mode']
    reader = NodeReader(module)
    # tens of thousands of parsed rules, none of them cyclic: the cycle collector has nothing to find
    gc.disable()
    facts, raw = gather(reader, with_versions=False, nft_tables=mode == 'nftables', counts=False)
    plan = make_plan(facts, raw, mode)
    # the parsed save output is not needed any more: smaller process for the commands forked next
    del raw
    gc.enable()
    before = plan_counts(plan)
    changed = any(before.values())
    after = dict.fromkeys(before, 0)
    if changed and not module.check_mode:
        apply_plan(module, reader, plan)
        after = read_back(module, plan, mode)
        if any(after.values()):
            module.warn(
                'kube-proxy %s state is back or left after cleanup: %s (is kube-proxy still running in %s mode?)'
                % (mode, after, mode)
            )
    result = {
        'changed': changed,
        'mode': mode,
        'removed': removed_report(plan),
        'before': before,
        'after': after,
        'missing_tools': sorted(reader.missing),
    }
    if module._diff:
        result['diff'] = {
            'before': before,
            'after': after,
            'before_header': 'kube-proxy %s state (before)' % mode,
            'after_header': 'kube-proxy %s state (after)' % mode,
        }
    for e in reader.errors:
        module.warn(e)
    if mode == 'nftables' and 'nft' in reader.missing:
        module.warn('nft is missing: the nftables kube-proxy tables cannot be read nor removed')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
