# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: node_prepare_plan
short_description: Work out a node's preparation for a kube-proxy mode
version_added: 0.1.0
description:
  - Without a probe (input V(None) or empty), returns the input errors and what the probe of the role
    M(kube_proxy.mode.node_prepare) must read (modules, sysctls).
  - With the probe output, returns the node preflight verdict and the changes to make (packages, modules
    to load, sysctls to set or restore, the checksums of the owned files), without changing anything.
options:
  _input:
    description: Output of the role's probe (C(key=value) lines), or V(None).
    type: raw
    required: true
  host:
    description: Host name used in messages.
    type: str
    required: true
  mode:
    description: Target mode (iptables, ipvs or nftables).
    type: str
    required: true
  scheduler:
    description: ipvs scheduler.
    type: str
    default: rr
  strict_arp:
    description: ipvs strictARP.
    type: bool
    default: false
  immutable:
    description: V(auto), V(true) or V(false).
    type: raw
    default: auto
  kube_version:
    description: Kubernetes version of the cluster.
    type: str
    default: ''
  feature_gates:
    description: Feature gates of kube-proxy (name to bool).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Work out the plan
  ansible.builtin.set_fact:
    plan: "{{ probe.stdout | kube_proxy.mode.node_prepare_plan(host=inventory_hostname, mode='nftables') }}"
"""

RETURN = r"""
_value:
  description:
    - Without a probe, C(input_errors) (list), C(probe_modules) and C(probe_sysctls) (space-separated).
    - With a probe, C(preflight) (ok, errors, warnings), C(packages), C(package_manager), C(modules),
      C(modules_to_load), C(sysctls), C(sysctl_set), C(sysctl_restore), C(record_add), C(record_after) and more.
  type: dict
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.kube_proxy.mode.plugins.module_utils._node_prepare import (  # noqa: E402
    input_errors,
    plan,
    probe_request,
)


def node_prepare_plan(
    probe, host, mode, scheduler='rr', strict_arp=False, immutable='auto', kube_version='', feature_gates=None
):
    if feature_gates is not None and not isinstance(feature_gates, dict):
        raise AnsibleFilterError('node_prepare_plan: feature_gates must be a dict, got %r' % (feature_gates,))
    mode = str(mode).strip()
    scheduler = str(scheduler or 'rr').strip() or 'rr'
    if not probe:
        request = probe_request(mode, scheduler)
        return {
            'input_errors': input_errors(host, mode, scheduler, immutable),
            'probe_modules': request['modules'],
            'probe_sysctls': request['sysctls'],
        }
    return plan(
        str(probe),
        host,
        mode,
        scheduler=scheduler,
        strict_arp=bool(strict_arp),
        immutable=immutable,
        kube_version=str(kube_version or ''),
        feature_gates=feature_gates or {},
    )


class FilterModule:
    def filters(self):
        return {'node_prepare_plan': node_prepare_plan}
