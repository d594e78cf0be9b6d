# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import yaml
from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.kube_proxy.mode.plugins.module_utils._cni import CniError, decide, evaluate

DOCUMENTATION = r"""
name: cni_compat
short_description: Whether a CNI works with kube-proxy in a given mode
version_added: 0.1.0
author: kube_proxy.mode developers
description:
  - Looks the CNI, its version and settings up in the compatibility matrix shipped with the
    collection (C(data/cni_matrix.yml), rendered in C(docs/compatibility.md)) and applies the
    Kubernetes- and kernel-wide rules (nftables needs Kubernetes 1.29 or later and the
    C(NFTablesProxyMode) gate before 1.31, and Linux 5.13 or later; ipvs is deprecated from 1.35).
  - Known CNIs are C(calico), C(cilium), C(aws-vpc-cni), C(flannel) and C(kube-router); any other
    name is C(unverified).
  - Settings are spelled as the CNI spells them - C(FELIX_NFTABLESMODE), C(FELIX_BPFENABLED),
    C(FELIX_IPTABLESBACKEND) or the operator's C(linuxDataplane) for Calico, C(kubeProxyReplacement)
    or C(kube-proxy-replacement) for Cilium, C(ENABLE_NFTABLES) for the AWS VPC CNI, C(EnableNFTables)
    for Flannel, C(run-service-proxy) for kube-router - or as Kubespray names them
    (C(calico_nftable_mode), C(calico_bpf_enabled), C(cilium_kube_proxy_replacement),
    C(kube_router_run_service_proxy)). C(featureGates), C(kube_proxy_feature_gates) or
    C(NFTablesProxyMode) carry kube-proxy's nftables gate.
positional: mode
options:
  _input:
    description:
      - The CNI as returned by P(kube_proxy.mode.cni_detect#filter) - a dict with C(name), C(version)
        (with or without a leading C(v); V(null) when unknown) and C(settings) - or just its name.
    type: raw
    required: true
  mode:
    description: The kube-proxy mode to check.
    type: str
    required: true
    choices: [iptables, ipvs, nftables]
  kube_version:
    description:
      - Kubernetes version of the cluster.
      - Without it the Kubernetes rules are not checked (and the result says so).
    type: str
  kernel_version:
    description:
      - Kernel release of the node(s), for example C(ansible_facts.kernel), or a list of them (the
        nodes of a group); the oldest one decides.
      - Without it the kernel rule is not checked.
    type: raw
  override_reason:
    description:
      - A sentence that accepts an C(unverified) verdict (the value of C(kube_proxy_cni_override_reason)).
        It never accepts C(unsupported) nor a missing required setting.
    type: str
"""

EXAMPLES = r"""
- name: Check Calico 3.31 with nftables
  ansible.builtin.debug:
    msg: >-
      {{ {'name': 'calico', 'version': '3.31.5', 'settings': {'FELIX_NFTABLESMODE': 'Enabled'}}
         | kube_proxy.mode.cni_compat(mode='nftables', kube_version='1.33.5') }}
  # -> verdict: supported

- name: Accept an unverified combination
  ansible.builtin.set_fact:
    cilium_nft: >-
      {{ 'cilium' | kube_proxy.mode.cni_compat('nftables', kube_version=kube_version,
                                               override_reason=kube_proxy_cni_override_reason) }}
"""

RETURN = r"""
_value:
  description: The verdict and what it rests on.
  type: dict
  contains:
    cni:
      description: Canonical CNI name.
      type: str
    version:
      description: The CNI version without a leading C(v), or V(null) when unknown.
      type: str
    mode:
      description: The checked mode.
      type: str
    verdict:
      description:
        - V(supported); V(needs_settings) (works once RV(_value.required_settings) are set);
          V(unverified) (no upstream statement - proceed only with an override); V(unsupported);
          V(not_applicable) (kube-proxy is not used, for example Cilium's kube-proxy replacement or
          Calico eBPF).
      type: str
      choices: [supported, needs_settings, unverified, unsupported, not_applicable]
    reasons:
      description: Sentences a user can act on.
      type: list
      elements: str
    required_settings:
      description: Settings still missing, spelled as the CNI spells them, with the value to set.
      type: dict
    sources:
      description: Where the facts come from (issues, pull requests, release notes, docs).
      type: list
      elements: str
    rows:
      description: The matrix rows and cross-cutting rules that applied.
      type: list
      elements: str
    settings:
      description: The settings after normalisation.
      type: dict
    ok:
      description: Whether the migration may proceed (supported, not_applicable, or unverified with an override).
      type: bool
    overridden:
      description: Whether O(override_reason) accepted an unverified verdict.
      type: bool
    override_reason:
      description: The override reason, or V(null).
      type: str
"""

MATRIX_PATH = os.path.join(os.path.dirname(__file__), '..', '..', 'data', 'cni_matrix.yml')
_CACHE = {}


def load_matrix(path=MATRIX_PATH):
    """The parsed matrix file (read once per process)."""
    path = os.path.realpath(path)
    if path not in _CACHE:
        try:
            with open(path, encoding='utf-8') as handle:
                _CACHE[path] = yaml.safe_load(handle)
        except (OSError, yaml.YAMLError) as exc:
            raise AnsibleFilterError('cannot read the CNI matrix %s: %s' % (path, to_native(exc))) from exc
    return _CACHE[path]


def cni_compat(cni, mode=None, kube_version=None, kernel_version=None, override_reason=None):
    if mode is None:
        raise AnsibleFilterError('cni_compat: mode is required (iptables, ipvs or nftables)')
    if isinstance(cni, dict):
        name, version, settings = cni.get('name'), cni.get('version'), cni.get('settings') or {}
    elif cni is None or isinstance(cni, str):
        name, version, settings = cni, None, {}
    else:
        raise AnsibleFilterError('cni_compat: input must be a dict (name, version, settings) or a CNI name')
    try:
        result = evaluate(
            load_matrix(),
            name,
            mode,
            version=version,
            settings=settings,
            kube_version=kube_version,
            kernel_version=kernel_version,
        )
        return decide(result, override_reason)
    except CniError as exc:
        raise AnsibleFilterError('cni_compat: %s' % to_native(exc)) from exc


class FilterModule:
    def filters(self):
        return {'cni_compat': cni_compat}
