#!/usr/bin/python
# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: ipvs_services
short_description: Put back IPVS services that are not kube-proxy's (kube-vip, keepalived)
version_added: 0.1.0
description:
  - kube-proxy starting in nftables mode runs the ipvs proxier's cleanup, which flushes B(every) IPVS
    virtual server of the node, also those of kube-vip, keepalived or an administrator. This module puts
    such services back from the list M(kube_proxy.mode.node_facts) returns with
    O(kube_proxy.mode.node_facts#module:ipvs_other_rules=true) (read before kube-proxy started in nftables mode).
  - Reads the node's services with one C(ipvsadm -S -n), then adds with one C(ipvsadm -R) the services of
    O(services) that are missing (with their destinations) and the missing destinations of those that exist.
    Services and destinations compare by key (protocol option and address:port, or fwmark; real server
    address:port), so their spelling does not matter.
  - Never deletes or edits anything. A service that exists keeps its scheduler, persistence and flags, a
    destination that exists keeps its weight and forwarding method, even when O(services) says otherwise.
author:
  - Kube Proxy Mode Maintainers (@kube-proxy-mode)
extends_documentation_fragment:
  - kube_proxy.mode._attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports what would be added and changes nothing.
  diff_mode:
    support: full
    details:
      - The diff lists the keys of the given services (and of their destinations) present on the node before and after.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  services:
    description:
      - The IPVS services that must exist, in the form of
        RV(kube_proxy.mode.node_facts#module:ansible_facts.kube_proxy_node.ipvs.other_rules).
      - An empty list changes nothing and runs nothing.
    type: list
    elements: dict
    required: true
    suboptions:
      service:
        description: The service's C(ipvsadm -S) line, for example C(-A -t 10.99.0.100:6443 -s rr).
        type: str
        required: true
      destinations:
        description:
          - The service's destination lines, for example C(-a -t 10.99.0.100:6443 -r 10.99.0.11:6443 -m -w 1).
          - Each must name the same service as O(services[].service).
        type: list
        elements: str
        default: []
  state:
    description: V(present) adds what is missing. Nothing else is supported (this module never removes services).
    type: str
    choices: [present]
    default: present
notes:
  - Needs root and the C(ipvsadm) command; use C(become).
  - The C(ip_vs) module must be loaded (kube-proxy's flush leaves it loaded); the kernel loads the scheduler
    modules the services use (for example C(ip_vs_wlc)) on demand.
  - C(ipvsadm -R) applies the lines one by one; when one fails (for example a scheduler module that cannot
    be loaded) the ones before it stay applied. Running the module again adds the rest.
seealso:
  - module: kube_proxy.mode.node_facts
  - name: ipvsadm(8)
    description: The save and restore formats.
    link: https://man7.org/linux/man-pages/man8/ipvsadm.8.html
'''

EXAMPLES = r'''
- name: Read the IPVS services of other software before kube-proxy starts in nftables mode
  kube_proxy.mode.node_facts:
    ipvs_other_rules: true
    versions: false

# ... kube-proxy restarts in nftables mode and flushes all IPVS services ...

- name: Put them back
  kube_proxy.mode.ipvs_services:
    services: "{{ kube_proxy_node.ipvs.other_rules }}"
  when: kube_proxy_node.ipvs.other_rules is truthy

- name: A service written by hand
  kube_proxy.mode.ipvs_services:
    services:
      - service: "-A -t 10.99.0.100:6443 -s rr"
        destinations:
          - "-a -t 10.99.0.100:6443 -r 10.99.0.11:6443 -m -w 1"
          - "-a -t 10.99.0.100:6443 -r 10.99.0.12:6443 -m -w 1"
'''

RETURN = r'''
added:
  description:
    - The lines fed to C(ipvsadm -R) (or that would be, in check mode), in order; empty when nothing was missing.
  returned: always
  type: list
  elements: str
  sample: ['-A -t 10.99.0.100:6443 -s rr', '-a -t 10.99.0.100:6443 -r 10.99.0.11:6443 -m -w 1']
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.kube_proxy.mode.plugins.module_utils import _netstate as ns  # noqa: E402
from ansible_collections.kube_proxy.mode.plugins.module_utils._netnode import NodeReader  # noqa: E402


def read_current(module, ipvsadm, added):
    rc, out, err = module.run_command([ipvsadm, '-S', '-n'], environ_update={'LC_ALL': 'C'})
    if rc != 0:
        module.fail_json(msg='ipvsadm -S -n failed (rc=%d): %s' % (rc, (err or out).strip()), added=added)
    try:
        return ns.parse_ipvsadm_save(out)
    except ValueError as e:
        module.fail_json(msg='cannot parse the output of ipvsadm -S -n: %s' % e, added=added)


def main():
    module = AnsibleModule(
        argument_spec={
            'services': {
                'type': 'list',
                'elements': 'dict',
                'required': True,
                'options': {
                    'service': {'type': 'str', 'required': True},
                    'destinations': {'type': 'list', 'elements': 'str', 'default': []},
                },
            },
            'state': {'type': 'str', 'default': 'present', 'choices': ['present']},
        },
        supports_check_mode=True,
    )
    wanted = module.params['services']
    try:
        # validates every line before anything runs
        _lines, keys = ns.plan_ipvs_restore(wanted, [])
    except ValueError as e:
        module.fail_json(msg='services: %s' % e, added=[])
    result = {'changed': False, 'added': []}
    if not wanted:
        module.exit_json(**result)

    reader = NodeReader(module)
    ipvsadm = reader.bin('ipvsadm')
    if not ipvsadm:
        module.fail_json(
            msg='ipvsadm is missing: install ipvsadm to put back the %d IPVS services that kube-proxy flushed when '
            'it started in nftables mode (it removes every IPVS service of the node, not only its own)' % len(keys),
            added=[],
        )
    if not reader.ipvs_loaded():
        # not running ipvsadm: it would load ip_vs itself, and there is nothing on the node then
        module.fail_json(
            msg='the ip_vs kernel module is not loaded (no /proc/net/ip_vs), so the %d IPVS services to put back '
            'cannot be added: load ip_vs and the scheduler modules they use (modprobe ip_vs ip_vs_rr ...)' % len(keys),
            added=[],
        )
    current = read_current(module, ipvsadm, [])
    lines, _keys = ns.plan_ipvs_restore(wanted, current)
    before = ns.ipvs_present_keys(keys, current)
    after = before
    if lines:
        result['changed'] = True
        result['added'] = lines
        if module.check_mode:
            after = ns.ipvs_present_keys(keys, ns.parse_ipvsadm_save('\n'.join(_current_lines(current) + lines)))
        else:
            rc, out, err = module.run_command(
                [ipvsadm, '-R'], data='\n'.join(lines) + '\n', binary_data=True, environ_update={'LC_ALL': 'C'}
            )
            if rc != 0:
                module.fail_json(
                    msg='ipvsadm -R failed (rc=%d): %s; the lines before the failing one are applied'
                    % (rc, (err or out).strip()),
                    added=lines,
                )
            after_state = read_current(module, ipvsadm, lines)
            after = ns.ipvs_present_keys(keys, after_state)
            left, _k = ns.plan_ipvs_restore(wanted, after_state)
            if left:
                module.warn('still missing after ipvsadm -R: %s' % '; '.join(left))
    if module._diff:
        result['diff'] = {
            'before': before,
            'after': after,
            'before_header': 'IPVS services (before)',
            'after_header': 'IPVS services (after)',
        }
    module.exit_json(**result)


def _current_lines(current):
    return [line for s in current for line in [s['service']] + s['destinations']]


if __name__ == '__main__':
    main()
