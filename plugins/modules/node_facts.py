#!/usr/bin/python
# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: node_facts
short_description: Read the kube-proxy state programmed in the node's kernel
version_added: 0.1.0
description:
  - Reads which kube-proxy modes left state in the kernel of the node (iptables chains in both
    iptables backends and both IP families, IPVS services, the C(kube-ipvs0) device, the ipvs
    proxier's ipsets, the nftables C(kube-proxy) tables) and returns it as the fact
    C(kube_proxy_node). Changes nothing.
  - Uses few processes (one C(iptables-save) per backend and family, one C(nft) listing, one
    C(ipset list -n), file reads for IPVS and kernel modules), so it returns in well under a second
    on a node with 10,000 services.
  - A missing tool (C(nft), C(ipset), C(ipvsadm), an iptables backend) is reported in
    C(missing_tools), never an error; a missing C(ip_vs) module is reported as C(ipvs.loaded=false).
  - Ownership of chains, sets and tables follows docs/node-state.md of the collection.
author:
  - Kube Proxy Mode Maintainers (@kube-proxy-mode)
extends_documentation_fragment:
  - kube_proxy.mode._attributes
  - kube_proxy.mode._attributes.facts
  - kube_proxy.mode._attributes.info_module
attributes:
  facts:
    support: full
options:
  rules:
    description:
      - Also count the rules in the iptables-nft backend, reading it with C(iptables-nft-save) (about 0.8 s of
        CPU with 10,000 services). Otherwise its chain names come from one C(nft -j list chains) (0.1 s) and its
        rule counts are null. The legacy backend is always read in full (it is cheap).
      - Without C(nft) on the node the nft backend is always read with C(iptables-nft-save).
    type: bool
    default: false
  ipvs_other_rules:
    description:
      - Also return the IPVS services that are not kube-proxy's (kube-vip, keepalived, fwmark services) as
        the lines C(ipvsadm -S -n) prints, in RV(ansible_facts.kube_proxy_node.ipvs.other_rules), so that
        M(kube_proxy.mode.ipvs_services) can put them back (one more process, C(ipvsadm -S -n), run only when
        the C(ip_vs) module is loaded).
      - kube-proxy starting in nftables mode flushes every IPVS service of the node, not only its own; read
        them before that start.
    type: bool
    default: false
  versions:
    description:
      - Also report the kernel release, the kube-proxy kernel modules and the versions of C(nft),
        C(iptables), C(ipset) and C(ipvsadm) (four more short processes).
    type: bool
    default: true
notes:
  - Needs root (reading iptables and nftables state needs C(CAP_NET_ADMIN)); use C(become).
  - Run it in a network namespace with C(ip netns exec) to read that namespace.
seealso:
  - module: kube_proxy.mode.cleanup
  - module: kube_proxy.mode.ipvs_services
'''

EXAMPLES = r'''
- name: Read kube-proxy's kernel state
  kube_proxy.mode.node_facts:

- name: Fail when a node carries stale state of more than one mode
  ansible.builtin.assert:
    that: kube_proxy_node.modes | length <= 1
    fail_msg: "stale kube-proxy state: {{ kube_proxy_node.modes | join(', ') }}"

- name: Only the counts, no versions
  kube_proxy.mode.node_facts:
    versions: false

- name: Count the rules of the iptables-nft backend too (slower on big nodes)
  kube_proxy.mode.node_facts:
    rules: true

- name: Keep the IPVS services of kube-vip and keepalived before kube-proxy starts in nftables mode
  kube_proxy.mode.node_facts:
    ipvs_other_rules: true
    versions: false

- name: Put them back after kube-proxy's nftables start-up flushed them
  kube_proxy.mode.ipvs_services:
    services: "{{ kube_proxy_node.ipvs.other_rules }}"
  when: kube_proxy_node.ipvs.other_rules is truthy
'''

RETURN = r'''
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: dict
  contains:
    kube_proxy_node:
      description: kube-proxy's state on the node.
      returned: always
      type: dict
      contains:
        modes:
          description:
            - Sorted modes whose kube-proxy state is on the node. More than one means stale state; empty means none.
            - C(iptables) when iptables-mode chains (C(KUBE-SVC-*), C(KUBE-NODEPORTS), C(KUBE-PROXY-CANARY), ...)
              exist in any backend, or chains both proxiers use exist with no ipvs state.
            - C(ipvs) when C(kube-ipvs0), kube-proxy IPVS services, the ipvs proxier's ipsets or ipvs-only chains exist.
            - C(nftables) when table C(ip kube-proxy) or C(ip6 kube-proxy) exists (the iptables-nft backend's
              C(ip nat)/C(ip filter) tables do not count).
          type: list
          elements: str
          sample: [iptables, ipvs]
        kubelet_iptables_backend:
          description:
            - The iptables backend whose table mangle holds kubelet's C(KUBE-IPTABLES-HINT) chain (C(legacy) or
              C(nft)); a list when both have it; null when none.
          type: raw
          sample: nft
        iptables_default_backend:
          description: Backend of the C(iptables) command (C(nft) or C(legacy)); null when unknown.
          type: str
          returned: when O(versions=true)
          sample: nft
        iptables:
          description:
            - Per backend (C(legacy), C(nft)) and family (C(ipv4), C(ipv6)), the counts of that ruleset. Backends
              whose save command is missing or failed are absent.
            - Each entry has C(iptables_chains), C(ipvs_chains), C(shared_chains) (chains by owner),
              C(service_chains) (per-service chains), C(kube_proxy_chains), C(kube_proxy_rules) (rules inside
              kube-proxy chains), C(jump_rules) (rules elsewhere jumping into them; both null for the nft
              backend unless O(rules=true)), C(kubelet_chains)
              (C(table/chain) names of kubelet's chains) and C(hint) (kubelet's hint chain is here).
          type: dict
          sample: {nft: {ipv4: {iptables_chains: 14, ipvs_chains: 0, shared_chains: 5, service_chains: 7,
                   kube_proxy_chains: 19, kube_proxy_rules: 31, jump_rules: 12, hint: true,
                   kubelet_chains: [filter/KUBE-FIREWALL, mangle/KUBE-IPTABLES-HINT]}}}
        ipvs:
          description:
            - C(loaded) (C(/proc/net/ip_vs) exists), C(services) (all IPVS virtual servers),
              C(kube_proxy_services) (address on C(kube-ipvs0), or a NodePort of the proxier's ipsets),
              C(other_services) (kube-vip, keepalived, ...), C(kube_ipvs0) (device exists),
              C(kube_ipvs0_addresses) (count).
          type: dict
          sample: {loaded: true, services: 6, kube_proxy_services: 5, other_services: 1, kube_ipvs0: true,
                   kube_ipvs0_addresses: 3}
          contains:
            other_rules:
              description:
                - The IPVS services that are not kube-proxy's (the same split as C(other_services), read with
                  C(ipvsadm -S -n)), one entry per service with C(service) (its C(-A) line) and C(destinations)
                  (its C(-a) lines), exactly as C(ipvsadm -S -n) printed them (they can be fed to C(ipvsadm -R)
                  or to M(kube_proxy.mode.ipvs_services)).
                - An empty list when the C(ip_vs) module is not loaded; null when C(ipvsadm) is missing (it is then
                  in C(missing_tools)) or failed (see C(errors)).
              returned: when O(ipvs_other_rules=true)
              type: list
              elements: dict
              sample: [{service: '-A -t 10.99.0.100:6443 -s rr',
                        destinations: ['-a -t 10.99.0.100:6443 -r 10.99.0.11:6443 -m -w 1',
                                       '-a -t 10.99.0.100:6443 -r 10.99.0.12:6443 -m -w 1']},
                       {service: '-A -f 1 -s wlc', destinations: ['-a -f 1 -r 192.168.1.20:0 -g -w 1']}]
        ipsets:
          description: Names of the ipvs proxier's ipsets present (C(KUBE-*), C(KUBE-6-*); exact names only).
          type: list
          elements: str
          sample: [KUBE-CLUSTER-IP, KUBE-LOOP-BACK]
        nftables:
          description:
            - C(readable) (false when C(nft) is missing), C(kube_proxy_tables) (C(ip kube-proxy) and/or
              C(ip6 kube-proxy)), and C(counts) (chains, rules, sets, maps, elements) of those tables.
            - Other nft tables are not listed; C(nft list tables) fetches the whole ruleset, which takes tens of
              seconds when the iptables-nft backend holds many services.
          type: dict
          sample: {readable: true, kube_proxy_tables: [ip kube-proxy],
                   counts: {chains: 9, rules: 12, sets: 2, maps: 1, elements: 6}}
        counts:
          description:
            - Totals over backends and families. C(iptables_chains), C(iptables_rules) (inside kube-proxy chains
              plus jumps into them; null when a backend's rules were not read, see O(rules)),
              C(ipvs_services) (kube-proxy's), C(ipsets), C(nft_tables), C(nft_elements).
          type: dict
          sample: {iptables_chains: 20019, iptables_rules: 42031, ipvs_services: 0, ipsets: 0, nft_tables: 0,
                   nft_elements: 0}
        kernel:
          description:
            - C(release), C(modules_info) (C(complete), or C(partial) when C(/proc/modules) or modules.dep is
              missing), and C(modules) per mode (C(iptables), C(ipvs), C(nftables), C(common)) with lists
              C(loaded), C(builtin), C(available) (loadable from /lib/modules), C(missing).
          type: dict
          returned: when O(versions=true)
          sample: {release: 6.1.0-28-amd64, modules_info: complete, modules: {ipvs: {loaded: [ip_vs], builtin: [],
                   available: [ip_vs_rr], missing: []}}}
        tools:
          description: Versions of C(nft), C(iptables), C(ipset), C(ipvsadm); null when the tool is missing.
          type: dict
          returned: when O(versions=true)
          sample: {nft: 1.0.6, iptables: 1.8.9, ipset: '7.17', ipvsadm: null}
        missing_tools:
          description: Commands that were looked for and not found.
          type: list
          elements: str
          sample: [ipvsadm]
        errors:
          description: Commands that failed (state they would have read is absent from the facts).
          type: list
          elements: str
          sample: []
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.kube_proxy.mode.plugins.module_utils._netnode import NodeReader, gather  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec={
            'rules': {'type': 'bool', 'default': False},
            'versions': {'type': 'bool', 'default': True},
            'ipvs_other_rules': {'type': 'bool', 'default': False},
        },
        supports_check_mode=True,
    )
    facts, _raw = gather(
        NodeReader(module),
        with_versions=module.params['versions'],
        rules=module.params['rules'],
        ipvs_rules=module.params['ipvs_other_rules'],
    )
    module.exit_json(changed=False, ansible_facts={'kube_proxy_node': facts})


if __name__ == '__main__':
    main()
