# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plain() and the builders on Ansible's unsafe (tagged) values.

These tests live under filter/ because they need ansible-core's own ansible.utils.unsafe_proxy, which
ansible-test units does not provide to module_utils tests.
"""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.utils.unsafe_proxy import AnsibleUnsafeText, wrap_var

from ansible_collections.kube_proxy.mode.plugins.module_utils import _proxy_config as pc


def hv(**extra):
    base = {"kube_version": "1.33.2"}
    base.update(extra)
    return base


# ----------------------------------------------------------------------------- Ansible's tagged values
def _exact_types(value):
    """Every node of value is an exact dict/list/str/int/float/bool/None (no subclass)."""
    if value.__class__ is dict:
        return all(_exact_types(k) and _exact_types(v) for k, v in value.items())
    if value.__class__ is list:
        return all(_exact_types(v) for v in value)
    return value is None or value.__class__ in (str, int, float, bool)


def test_plain_turns_unsafe_and_subclassed_values_into_plain_types():
    class Count(int):
        pass

    class Ratio(float):
        pass

    wrapped = wrap_var(
        {
            "mode": "ipvs",
            "blob": b"kubeconfig.conf",
            "nested": [{"scheduler": "rr", "ports": ("30000-32767", b"80")}, Count(7), Ratio(0.5), True, None],
        }
    )
    assert isinstance(wrapped["mode"], AnsibleUnsafeText) and str(wrapped["mode"]).__class__ is not str
    with pytest.raises(yaml.representer.RepresenterError):
        yaml.safe_dump(wrapped)
    out = pc.plain(wrapped)
    assert _exact_types(out)
    assert out == {
        "mode": "ipvs",
        "blob": "kubeconfig.conf",
        "nested": [{"scheduler": "rr", "ports": ["30000-32767", "80"]}, 7, 0.5, True, None],
    }
    assert yaml.safe_load(yaml.safe_dump(out)) == out
    assert json.loads(json.dumps(out)) == out
    with pytest.raises(pc.ProxyConfigError, match="not UTF-8"):
        pc.plain(wrap_var(b"\xff\xfe"))


KUBEADM_CONFIG_CONF = """\
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
bindAddress: 0.0.0.0
clientConnection: {acceptContentTypes: "", burst: 10, contentType: application/vnd.kubernetes.protobuf,
                   kubeconfig: /var/lib/kube-proxy/kubeconfig.conf, qps: 5}
clusterCIDR: 10.233.64.0/18
conntrack: {maxPerCore: 32768, min: 131072, tcpCloseWaitTimeout: 1h0m0s, tcpEstablishedTimeout: 24h0m0s}
iptables: {masqueradeAll: false, masqueradeBit: 14, minSyncPeriod: 0s, syncPeriod: 30s}
ipvs: {excludeCIDRs: [], minSyncPeriod: 0s, scheduler: rr, strictARP: true, syncPeriod: 30s}
metricsBindAddress: 127.0.0.1:10249
mode: ipvs
nodePortAddresses: []
"""


def test_wrapped_live_kubeadm_config_is_a_base_that_renders_and_dumps():
    # what `registered.stdout | from_yaml` (or kubectl JSON | from_json) hands the filters: unsafe strings
    live = wrap_var(yaml.safe_load(KUBEADM_CONFIG_CONF))
    assert _exact_types(pc.current_config({}, live))
    assert pc.current_config({}, wrap_var(KUBEADM_CONFIG_CONF)) == pc.current_config({}, live)
    hostvars = wrap_var(
        {
            "a": hv(kube_proxy_target_mode="nftables", ansible_kernel="6.1.0"),
            "b": hv(kube_proxy_target_mode="nftables", ansible_kernel="6.1.0"),
        }
    )
    result = pc.build_group_configs(hostvars, live_config=live)
    group = result["nftables"]
    assert group["errors"] == [] and group["hosts"] == ["a", "b"]
    assert group["current_mode"] == "ipvs" and group["mode"] == "nftables"
    config = group["config"]
    assert config["clusterCIDR"] == "10.233.64.0/18" and config["nftables"]["masqueradeBit"] == 14
    assert config["clientConnection"]["kubeconfig"] == "/var/lib/kube-proxy/kubeconfig.conf"
    manifests = pc.render_group_manifests("nftables", wrap_var(config), wrap_var({"kube_version": "v1.33.2"}))
    assert _exact_types(manifests)
    cm, ds = yaml.safe_load_all(yaml.safe_dump_all(manifests))
    assert yaml.safe_load(cm["data"]["config.conf"])["mode"] == "nftables"
    assert ds["metadata"]["name"] == "kube-proxy-nftables"
    json.dumps(manifests)
    live_cm = wrap_var(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"app": "kube-proxy"}},
            "data": {"config.conf": KUBEADM_CONFIG_CONF, "kubeconfig.conf": "apiVersion: v1\nkind: Config\n"},
        }
    )
    kubeadm_cm = pc.render_kubeadm_configmap(wrap_var(config), live_cm)
    assert _exact_types(kubeadm_cm)
    assert yaml.safe_load(yaml.safe_dump(kubeadm_cm))["data"]["kubeconfig.conf"] == "apiVersion: v1\nkind: Config\n"
