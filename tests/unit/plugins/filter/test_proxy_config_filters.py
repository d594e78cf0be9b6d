# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy_config_* filters: thin wrappers over module_utils/_proxy_config.py."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from ansible.errors import AnsibleFilterError, AnsibleUndefinedVariable

from ansible_collections.kube_proxy.mode.plugins.filter import (
    proxy_config_errors,
    proxy_config_groups,
    proxy_config_kubeadm_configmap,
    proxy_config_manifests,
    proxy_config_translate,
)
from ansible_collections.kube_proxy.mode.plugins.module_utils._proxy_config import kubespray_config


def f(module, name):
    return module.FilterModule().filters()[name]


class LazyHostVars(Mapping):
    """Like Ansible's HostVarsVars: templates on access; 'broken' fails when read."""

    def __init__(self, data):
        self._data = data

    def __getitem__(self, key):
        if key == "broken" or self._data[key] == "{{ undefined_thing }}":
            raise AnsibleUndefinedVariable("'undefined_thing' is undefined")
        return self._data[key]

    def __contains__(self, key):
        return key in self._data

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


def test_errors_filter_accepts_both_version_spellings_and_rejects_bad_versions():
    errors = f(proxy_config_errors, "proxy_config_errors")
    config = kubespray_config({})
    assert errors(config, "1.33.2") == [] and errors(config, "v1.33.2") == []
    config["ipvs"]["scheduler"] = "fastest"
    assert errors(config, "1.33.2")[0].startswith("ipvs.scheduler:")
    with pytest.raises(AnsibleFilterError, match="kube_version"):
        errors(config, "latest")


def test_groups_filter_reads_only_the_variables_it_needs():
    groups = f(proxy_config_groups, "proxy_config_groups")
    hostvars = {
        "a": LazyHostVars({"kube_version": "1.33.2", "kube_proxy_target_mode": "nftables", "broken": "x"}),
        "b": LazyHostVars({"kube_version": "1.33.2"}),
    }
    result = groups(hostvars, hosts=["a", "b"])
    assert sorted(result) == ["ipvs", "nftables"] and result["nftables"]["hosts"] == ["a"]


def test_groups_filter_names_the_host_and_variable_that_cannot_be_read():
    groups = f(proxy_config_groups, "proxy_config_groups")
    hostvars = {"a": LazyHostVars({"kube_version": "1.33.2", "kube_proxy_mode": "{{ undefined_thing }}"})}
    with pytest.raises(AnsibleFilterError, match="variable kube_proxy_mode of host a"):
        groups(hostvars)
    with pytest.raises(AnsibleFilterError, match="host zz is not in the inventory"):
        groups(hostvars, hosts=["zz"])
    with pytest.raises(AnsibleFilterError, match="must be hostvars"):
        groups(["a"])


def test_groups_filter_uses_fallback_version_and_defaults():
    groups = f(proxy_config_groups, "proxy_config_groups")
    result = groups({"a": {}}, kube_version="1.31.0", defaults={"kube_proxy_mode": "iptables"})
    assert result["iptables"]["kube_version"] == "1.31.0" and result["iptables"]["errors"] == []


def test_translate_filter_returns_config_and_warnings():
    translate = f(proxy_config_translate, "proxy_config_translate")
    out = translate(
        kubespray_config({}), "nftables", overrides={"nodePortAddresses": ["primary"]}, kernel_versions=["6.6"]
    )
    assert out["config"]["mode"] == "nftables"
    assert [w["id"] for w in out["warnings"]] == ["nodeport-firewall"]
    with pytest.raises(AnsibleFilterError, match="target mode"):
        translate(kubespray_config({}), "userspace")


def test_manifests_and_kubeadm_filters():
    manifests = f(proxy_config_manifests, "proxy_config_manifests")
    cm, ds = manifests(kubespray_config({}), "edge", {"kube_version": "1.33.2", "unrelated": object()})
    assert cm["metadata"]["name"] == ds["metadata"]["name"] == "kube-proxy-edge"
    with pytest.raises(AnsibleFilterError, match="kube_version"):
        manifests(kubespray_config({}), "edge", {})
    kubeadm = f(proxy_config_kubeadm_configmap, "proxy_config_kubeadm_configmap")
    assert kubeadm(kubespray_config({}))["metadata"]["name"] == "kube-proxy"
    with pytest.raises(AnsibleFilterError):
        kubeadm("mode: ipvs")
