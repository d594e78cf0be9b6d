# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.kube_proxy.mode.plugins.module_utils._proxy_config import (
    ProxyConfigError,
    config_errors,
    plain,
)

DOCUMENTATION = r"""
name: proxy_config_errors
short_description: Why kube-proxy would reject a KubeProxyConfiguration, or silently misbehave with it
version_added: 0.1.0
author: kube_proxy.mode developers
description:
  - Checks a C(kubeproxy.config.k8s.io/v1alpha1) C(KubeProxyConfiguration) against every rule of
    kube-proxy's validation for the given Kubernetes version (mode and the C(NFTablesProxyMode) gate,
    masquerade bits, sync periods of the active mode, ipvs timeouts, schedulers and excluded CIDRs,
    bind addresses, port range, C(nodePortAddresses), C(detectLocalMode), C(clusterCIDR), conntrack,
    C(oomScoreAdj), C(clientConnection.burst), C(showHiddenMetricsForVersion), feature gates).
  - Stricter than kube-proxy where kube-proxy only warns - unknown fields at any level are errors,
    values must have their types (Go duration strings such as C(30s) or C(1h0m0s), booleans,
    integers) and the ipvs scheduler must be one kube-proxy knows.
  - Each error starts with the field path and says what is allowed.
positional: kube_version
options:
  _input:
    description: The KubeProxyConfiguration, as a dict.
    type: dict
    required: true
  kube_version:
    description: Kubernetes version of kube-proxy, with or without a leading C(v) (C(1.33.2), C(v1.33.2)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a configuration kube-proxy 1.33 would not run as meant
  ansible.builtin.assert:
    that: __errors | length == 0
    fail_msg: "{{ __errors | join('; ') }}"
  vars:
    __errors: "{{ my_config | kube_proxy.mode.proxy_config_errors(kube_version='1.33.2') }}"

- name: A typo is an error (kube-proxy would only log a warning)
  ansible.builtin.debug:
    msg: >-
      {{ {'apiVersion': 'kubeproxy.config.k8s.io/v1alpha1', 'kind': 'KubeProxyConfiguration',
          'mode': 'nftables', 'nftables': {'masqueradeALL': true}}
         | kube_proxy.mode.proxy_config_errors('v1.33.2') }}
  # => ["nftables.masqueradeALL: unknown field (kube-proxy would ignore it with a warning); allowed here: ..."]
"""

RETURN = r"""
_value:
  description:
    - Error strings, each the field path, a colon and the problem with what is allowed.
    - Empty when the configuration is fine.
  type: list
  elements: str
"""


def proxy_config_errors(config, kube_version):
    try:
        return config_errors(plain(config), str(kube_version))
    except ProxyConfigError as exc:
        raise AnsibleFilterError(to_native(exc)) from exc


class FilterModule:
    def filters(self):
        return {"proxy_config_errors": proxy_config_errors}
