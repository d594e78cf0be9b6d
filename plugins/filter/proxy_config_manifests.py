# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.kube_proxy.mode.plugins.module_utils._proxy_config import (
    ProxyConfigError,
    render_group_manifests,
)

DOCUMENTATION = r"""
name: proxy_config_manifests
short_description: ConfigMap and DaemonSet kube-system/kube-proxy-<group> of a node group
version_added: 0.1.0
author: kube_proxy.mode developers
description:
  - Renders, from data, the ConfigMap C(kube-system/kube-proxy-<group>) (key C(config.conf)) and the
    DaemonSet C(kube-system/kube-proxy-<group>) of a node group.
  - The DaemonSet is like kubeadm's kube-proxy DaemonSet (hostNetwork, privileged, tolerates every
    taint, priority class C(system-node-critical), mounts of C(/run/xtables.lock) and C(/lib/modules),
    C(--hostname-override=$(NODE_NAME))) but its pods run only on nodes labelled
    C(kube-proxy.mode/group=<group>). Pods carry C(k8s-app=kube-proxy) and C(kube-proxy.mode/group=<group>),
    and an annotation C(kube-proxy.mode/config-hash) so a config change rolls them.
  - C(config.conf) is projected next to C(kubeconfig.conf) of kubeadm's ConfigMap C(kube-proxy)
    under C(/var/lib/kube-proxy), as kubeadm lays them out.
positional: group, variables
options:
  _input:
    description: The group's KubeProxyConfiguration (C(config) of P(kube_proxy.mode.proxy_config_groups#filter)).
    type: dict
    required: true
  group:
    description: The node group's name (a DNS label of at most 40 characters).
    type: str
    required: true
  variables:
    description:
      - Kubespray's variables for the image - C(kube_version), C(kube_image_repo), C(kube_proxy_image_repo),
        C(kube_proxy_image_tag) - and optionally C(kubeconfig_configmap), the ConfigMap holding
        C(kubeconfig.conf) (default C(kube-proxy), kubeadm's).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Apply the group's ConfigMap and DaemonSet
  ansible.builtin.command:
    cmd: "{{ bin_dir }}/kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -"
    stdin: "{{ {'apiVersion': 'v1', 'kind': 'List', 'items': __manifests} | to_json }}"
  vars:
    __manifests: >-
      {{ group.config | kube_proxy.mode.proxy_config_manifests('workers-nft', hostvars[inventory_hostname]) }}
  changed_when: true
"""

RETURN = r"""
_value:
  description: The ConfigMap and the DaemonSet, in that order.
  type: list
  elements: dict
"""


def proxy_config_manifests(config, group, variables):
    names = ("kube_version", "kube_image_repo", "kube_proxy_image_repo", "kube_proxy_image_tag", "kubeconfig_configmap")
    picked = {name: variables[name] for name in names if name in (variables or {})}
    try:
        return render_group_manifests(str(group), config, picked)
    except ProxyConfigError as exc:
        raise AnsibleFilterError("proxy_config_manifests: %s" % to_native(exc)) from exc


class FilterModule:
    def filters(self):
        return {"proxy_config_manifests": proxy_config_manifests}
