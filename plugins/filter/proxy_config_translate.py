# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.kube_proxy.mode.plugins.module_utils._proxy_config import ProxyConfigError, translate

DOCUMENTATION = r"""
name: proxy_config_translate
short_description: Translate a KubeProxyConfiguration to another mode, keeping behaviour
version_added: 0.1.0
author: kube_proxy.mode developers
description:
  - Sets C(mode), moves C(masqueradeAll), C(masqueradeBit), C(syncPeriod) and C(minSyncPeriod) to the
    section the target mode reads (C(iptables), C(ipvs) or C(nftables)), drops the sections the target
    mode does not read (no ipvs setting leaks into other modes) and merges O(overrides) last.
  - Returns the warnings that apply (NodePorts only on the primary IP in nftables mode when
    C(nodePortAddresses) is unset, localhost NodePorts, firewall holes, C(tcpBeLiberal) on kernels
    older than 6.1, ipvs C(strictARP)/C(excludeCIDRs)/scheduler dropped, ipvs deprecation) as data.
positional: mode
options:
  _input:
    description: The current KubeProxyConfiguration.
    type: dict
    required: true
  mode:
    description: The target mode.
    type: str
    required: true
    choices: [iptables, ipvs, nftables]
  overrides:
    description: KubeProxyConfiguration fields merged last (the value of C(kube_proxy_target_config)).
    type: dict
  kernel_versions:
    description: Kernel releases of the nodes (for example C(ansible_facts.kernel)); unknown when omitted.
    type: list
    elements: str
  kube_version:
    description: Kubernetes version, for the ipvs deprecation warning.
    type: str
"""

EXAMPLES = r"""
- name: What would change if this cluster moved to nftables
  ansible.builtin.debug:
    msg: >-
      {{ current | kube_proxy.mode.proxy_config_translate('nftables', overrides={'nodePortAddresses': ['primary']}) }}
"""

RETURN = r"""
_value:
  description: The translated configuration and the warnings.
  type: dict
  contains:
    config:
      description: The target KubeProxyConfiguration.
      type: dict
    warnings:
      description: Each a dict with C(id), C(field) (or V(null)) and C(message).
      type: list
      elements: dict
"""


def proxy_config_translate(current, mode, overrides=None, kernel_versions=None, kube_version=None):
    try:
        config, warnings = translate(
            current,
            mode,
            overrides or None,
            kernel_versions=[str(k) for k in kernel_versions or [] if k],
            kube_version=kube_version,
        )
    except ProxyConfigError as exc:
        raise AnsibleFilterError("proxy_config_translate: %s" % to_native(exc)) from exc
    return {"config": config, "warnings": warnings}


class FilterModule:
    def filters(self):
        return {"proxy_config_translate": proxy_config_translate}
