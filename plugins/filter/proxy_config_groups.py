# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.kube_proxy.mode.plugins.module_utils._proxy_config import (
    READ_VARIABLES,
    ProxyConfigError,
    build_group_configs,
)

DOCUMENTATION = r"""
name: proxy_config_groups
short_description: The kube-proxy node groups of an inventory, each with its target configuration
version_added: 0.1.0
author: kube_proxy.mode developers
description:
  - Groups the hosts by C(kube_proxy_node_group) (default - their C(kube_proxy_target_mode)) and
    builds each group's C(KubeProxyConfiguration) - the cluster's current configuration (the live
    one when O(live_config) is given, else the one Kubespray renders from its C(kube_proxy_*)
    variables), translated to the target mode, with C(kube_proxy_target_config) merged last.
  - A host without C(kube_proxy_target_mode) keeps the current mode.
  - Hosts that share a group but disagree on the mode or the resulting configuration, bad
    variables (naming host, variable and allowed values) and every validation error of
    P(kube_proxy.mode.proxy_config_errors#filter) are returned in the group's C(errors).
  - Warnings about behaviour that changes with the mode (NodePorts on the primary IP only,
    localhost NodePorts, firewall holes, C(tcpBeLiberal) on kernels older than 6.1, dropped ipvs
    settings) are returned as data in the group's C(warnings).
  - Only the variables the collection uses are read from each host, so unrelated variables that
    cannot be templated do not matter.
options:
  _input:
    description: C(hostvars), or any dict of host name to variables.
    type: dict
    required: true
  hosts:
    description: The hosts to consider, for example C(groups['k8s_cluster']). Default - every host of O(_input).
    type: list
    elements: str
  live_config:
    description:
      - The live C(config.conf) of ConfigMap C(kube-system/kube-proxy), as a dict or as YAML text.
        When given it is the base of every group instead of the Kubespray-derived configuration.
    type: raw
  defaults:
    description:
      - Kubespray's defaults for the variables a host does not set (the role C(proxy_config) passes
        C(proxy_config_kubespray_defaults)). Default - the same values built into the collection.
    type: dict
  kube_version:
    description: Kubernetes version for hosts that do not set C(kube_version).
    type: str
"""

EXAMPLES = r"""
- name: Build and check every node group once
  ansible.builtin.set_fact:
    proxy_config_groups: "{{ hostvars | kube_proxy.mode.proxy_config_groups(hosts=groups['k8s_cluster']) }}"
  run_once: true

# proxy_config_groups:
#   workers-nft:
#     mode: nftables
#     current_mode: ipvs
#     hosts: [worker2, worker3]
#     kube_version: 1.33.2
#     config: {apiVersion: kubeproxy.config.k8s.io/v1alpha1, kind: KubeProxyConfiguration, mode: nftables, ...}
#     warnings: [{id: nodeport-firewall, field: null, message: "nftables mode opens no firewall holes ..."}]
#     errors: []
"""

RETURN = r"""
_value:
  description: One entry per node group, keyed by the group's name.
  type: dict
  contains:
    mode:
      description: Target mode of the group.
      type: str
    current_mode:
      description: Mode of the current configuration the group's config was built from.
      type: str
    hosts:
      description: Hosts of the group.
      type: list
      elements: str
    kube_version:
      description: Kubernetes version of the group's hosts.
      type: str
    config:
      description: The group's target KubeProxyConfiguration.
      type: dict
    warnings:
      description: Behaviour that changes, each a dict with C(id), C(field) (or V(null)) and C(message).
      type: list
      elements: dict
    errors:
      description: Everything that must be fixed before any change; empty when the group is fine.
      type: list
      elements: str
"""


def _read(hostvars, hosts):
    out = {}
    for host in hosts:
        if host not in hostvars:
            raise AnsibleFilterError("proxy_config_groups: host %s is not in the inventory" % host)
        hv = hostvars[host]
        values = {}
        for name in READ_VARIABLES:
            if name in hv:
                try:
                    values[name] = hv[name]
                except Exception as exc:
                    raise AnsibleFilterError(
                        "proxy_config_groups: variable %s of host %s: %s" % (name, host, to_native(exc))
                    ) from exc
        out[host] = values
    return out


def proxy_config_groups(hostvars, hosts=None, live_config=None, defaults=None, kube_version=None):
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("proxy_config_groups: the input must be hostvars (a dict of host to variables)")
    names = [str(h) for h in (hosts if hosts is not None else hostvars.keys())]
    try:
        return build_group_configs(
            _read(hostvars, names),
            hosts=names,
            live_config=live_config or None,
            defaults=defaults,
            kube_version=kube_version or None,
        )
    except ProxyConfigError as exc:
        raise AnsibleFilterError("proxy_config_groups: %s" % to_native(exc)) from exc


class FilterModule:
    def filters(self):
        return {"proxy_config_groups": proxy_config_groups}
