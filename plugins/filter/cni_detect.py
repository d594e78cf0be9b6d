# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.kube_proxy.mode.plugins.module_utils._cni import (
    CniError,
    detect_from_cluster,
    detect_from_inventory,
)

DOCUMENTATION = r"""
name: cni_detect
short_description: Which CNI a cluster runs, from kubectl JSON or from Kubespray variables
version_added: 0.1.0
author: kube_proxy.mode developers
description:
  - Finds the node agent of a known CNI among the DaemonSets (C(calico-node), C(cilium), C(aws-node),
    C(kube-flannel-ds), C(kube-router)), takes the version from its image tag and the settings
    that matter for kube-proxy from the container env (Calico, AWS VPC CNI), the ConfigMaps
    C(cilium-config) and C(kube-flannel-cfg), the container args (kube-router) and the tigera
    operator's Installation C(default) (Calico C(linuxDataplane)).
  - With O(source=inventory) the input is a dict of Kubespray variables instead
    (C(kube_network_plugin), C(calico_version), C(calico_nftable_mode), C(cilium_version),
    C(cilium_kube_proxy_replacement), ...) and the result says that it did not come from the cluster.
  - The result feeds P(kube_proxy.mode.cni_compat#filter).
options:
  _input:
    description:
      - With O(source=cluster) the parsed output of C(kubectl get daemonsets -A -o json).
      - With O(source=inventory) a dict of Kubespray variables.
    type: raw
    required: true
  configmaps:
    description: Parsed C(kubectl get configmaps -o json) List(s) holding C(cilium-config) and/or C(kube-flannel-cfg).
    type: raw
  installation:
    description: Parsed C(kubectl get installations.operator.tigera.io default -o json), or V(null) when there is none.
    type: raw
  source:
    description: Where the input comes from.
    type: str
    default: cluster
    choices: [cluster, inventory]
  reason:
    description: With O(source=inventory), why the cluster was not read (kept in the notes).
    type: str
"""

EXAMPLES = r"""
- name: Detect the CNI from the cluster
  ansible.builtin.set_fact:
    cni: >-
      {{ (kubectl_out.stdout | from_json).daemonsets
         | kube_proxy.mode.cni_detect(configmaps=(kubectl_out.stdout | from_json).configmaps) }}

- name: Fall back to Kubespray variables
  ansible.builtin.set_fact:
    cni: >-
      {{ {'kube_network_plugin': kube_network_plugin, 'calico_version': calico_version | default(none)}
         | kube_proxy.mode.cni_detect(source='inventory', reason='kubectl failed') }}
"""

RETURN = r"""
_value:
  description: The detected CNI.
  type: dict
  contains:
    name:
      description: Canonical CNI name (V(calico), V(cilium), V(aws-vpc-cni), V(flannel), V(kube-router)), or V(null).
      type: str
    version:
      description: Version from the image tag (or Kubespray variable), V(null) when untagged or C(latest).
      type: str
    settings:
      description: The settings found, spelled as the CNI spells them.
      type: dict
    namespace:
      description: Namespace of the DaemonSet.
      type: str
    daemonset:
      description: Name of the DaemonSet.
      type: str
    image:
      description: Image of the node agent container.
      type: str
    ready:
      description: C(numberReady/desiredNumberScheduled) from the DaemonSet status.
      type: str
    source:
      description: V(cluster) or V(inventory).
      type: str
    notes:
      description: What could not be read, or what was assumed.
      type: list
      elements: str
    others:
      description: Further CNIs found (same keys), for example kube-router next to Calico.
      type: list
      elements: dict
"""


def cni_detect(data, configmaps=None, installation=None, source='cluster', reason=None):
    try:
        if source == 'cluster':
            return detect_from_cluster(data, configmaps, installation)
        if source == 'inventory':
            if data is not None and not isinstance(data, dict):
                raise AnsibleFilterError('cni_detect: with source=inventory the input must be a dict of variables')
            return detect_from_inventory(data, reason)
    except CniError as exc:
        raise AnsibleFilterError('cni_detect: %s' % to_native(exc)) from exc
    raise AnsibleFilterError('cni_detect: source must be cluster or inventory, got %r' % (source,))


class FilterModule:
    def filters(self):
        return {'cni_detect': cni_detect}
