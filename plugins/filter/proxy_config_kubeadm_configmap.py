# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.kube_proxy.mode.plugins.module_utils._proxy_config import (
    ProxyConfigError,
    render_kubeadm_configmap,
)

DOCUMENTATION = r"""
name: proxy_config_kubeadm_configmap
short_description: kubeadm's ConfigMap kube-system/kube-proxy with a new config.conf
version_added: 0.1.0
author: kube_proxy.mode developers
description:
  - For handing the cluster back to kubeadm once every node runs in one mode - the ConfigMap
    C(kube-system/kube-proxy) that C(kubeadm) and Kubespray's C(upgrade_cluster.yml) read, with
    C(config.conf) set to the given configuration.
  - The other keys and labels of O(live_configmap) (C(kubeconfig.conf)) are kept.
positional: live_configmap
options:
  _input:
    description: The KubeProxyConfiguration all nodes share.
    type: dict
    required: true
  live_configmap:
    description: The live ConfigMap (C(kubectl get configmap kube-proxy -n kube-system -o json)).
    type: dict
"""

EXAMPLES = r"""
- name: The ConfigMap for kubeadm when every node ends in nftables
  ansible.builtin.set_fact:
    __kubeadm_cm: "{{ groups_config | kube_proxy.mode.proxy_config_kubeadm_configmap(live_cm) }}"
"""

RETURN = r"""
_value:
  description: The ConfigMap.
  type: dict
"""


def proxy_config_kubeadm_configmap(config, live_configmap=None):
    try:
        return render_kubeadm_configmap(config, live_configmap or None)
    except ProxyConfigError as exc:
        raise AnsibleFilterError("proxy_config_kubeadm_configmap: %s" % to_native(exc)) from exc


class FilterModule:
    def filters(self):
        return {"proxy_config_kubeadm_configmap": proxy_config_kubeadm_configmap}
