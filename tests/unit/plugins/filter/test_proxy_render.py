# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendering of the per-group manifests, checked against Kubernetes' schemas offline.

The example inventory under fixtures/proxy_inventory is laid out like Kubespray's sample inventory
and has two node groups in different modes. It is loaded with Ansible's own inventory code.
"""

from __future__ import annotations

import os

import kubernetes_validate
import pytest
import yaml
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager

from ansible_collections.kube_proxy.mode.plugins.module_utils import _proxy_config as pc

INVENTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "proxy_inventory", "hosts.yaml")


def schema_version(kube_version):
    """The kubernetes-validate schema version matching kube_version, or the nearest it has."""
    wanted = pc.parse_kube_version(kube_version)[:2]
    have = sorted(
        tuple(int(p) for p in v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions() if v.count(".") >= 1
    )
    best = min(have, key=lambda v: (abs(v[1] - wanted[1]) if v[0] == wanted[0] else 1000, -v[1]))
    return "%d.%d.0" % best


def validate(manifest, kube_version):
    # strict: unknown fields are errors, as for our own validation
    kubernetes_validate.validate(manifest, schema_version(kube_version), strict=True)


@pytest.fixture(scope="module")
def inventory_groups():
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[INVENTORY])
    variables = VariableManager(loader=loader, inventory=inventory)
    hostvars = {h.name: variables.get_vars(host=h) for h in inventory.get_hosts()}
    hosts = sorted(inventory.get_groups_dict()["k8s_cluster"])
    return pc.build_group_configs(hostvars, hosts=hosts), hostvars


def test_example_inventory_has_two_groups_in_different_modes(inventory_groups):
    groups, _hv = inventory_groups
    assert sorted(groups) == ["ipvs", "workers-nft"]
    assert groups["ipvs"]["hosts"] == ["cp1", "worker1"] and groups["ipvs"]["mode"] == "ipvs"
    assert groups["workers-nft"]["hosts"] == ["worker2", "worker3"]
    assert groups["workers-nft"]["mode"] == "nftables"
    assert groups["ipvs"]["errors"] == [] and groups["workers-nft"]["errors"] == []
    nft = groups["workers-nft"]["config"]
    # Kubespray's masquerade/sync settings reach the nftables section, the user's overrides are merged
    assert nft["nftables"] == {"masqueradeAll": True, "masqueradeBit": 14, "syncPeriod": "45s", "minSyncPeriod": "2s"}
    assert nft["nodePortAddresses"] == ["primary"] and nft["conntrack"]["tcpBeLiberal"] is True
    assert "ipvs" not in nft
    assert groups["ipvs"]["config"]["ipvs"]["strictARP"] is True
    assert sorted(w["id"] for w in groups["workers-nft"]["warnings"]) == ["ipvs-strict-arp", "nodeport-firewall"]


def test_rendered_group_manifests_validate_against_kubernetes_schemas(inventory_groups):
    groups, hostvars = inventory_groups
    for name, group in groups.items():
        manifests = pc.render_group_manifests(name, group["config"], hostvars[group["hosts"][0]])
        assert [m["kind"] for m in manifests] == ["ConfigMap", "DaemonSet"]
        for manifest in manifests:
            validate(manifest, group["kube_version"])
            assert manifest["metadata"]["name"] == "kube-proxy-" + name
            assert manifest["metadata"]["namespace"] == "kube-system"
        configmap, daemonset = manifests
        # config.conf is YAML of the group's config and passes our own validation
        conf = yaml.safe_load(configmap["data"]["config.conf"])
        assert conf == group["config"]
        assert pc.config_errors(conf, group["kube_version"]) == []
        pod = daemonset["spec"]["template"]
        assert pod["spec"]["nodeSelector"]["kube-proxy.mode/group"] == name
        assert pod["metadata"]["labels"]["k8s-app"] == "kube-proxy"
        assert pod["metadata"]["labels"]["kube-proxy.mode/group"] == name
        assert daemonset["spec"]["selector"]["matchLabels"] == {"k8s-app": "kube-proxy", "kube-proxy.mode/group": name}
        container = pod["spec"]["containers"][0]
        assert container["image"] == "registry.k8s.io/kube-proxy:v1.33.2"
        assert "--hostname-override=$(NODE_NAME)" in container["command"]
        assert container["securityContext"]["privileged"] is True
        assert pod["spec"]["hostNetwork"] is True
        assert pod["spec"]["priorityClassName"] == "system-node-critical"
        assert {"operator": "Exists"} in pod["spec"]["tolerations"]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/run/xtables.lock", "/lib/modules", "/var/lib/kube-proxy"} <= mounts


def test_config_change_changes_the_pod_template():
    base = pc.kubespray_config({})
    _cm, ds1 = pc.render_group_manifests("a", base, {"kube_version": "1.33.2"})
    changed = dict(base, oomScoreAdj=-998)
    _cm, ds2 = pc.render_group_manifests("a", changed, {"kube_version": "1.33.2"})
    key = pc.CONFIG_HASH_ANNOTATION
    assert (
        ds1["spec"]["template"]["metadata"]["annotations"][key]
        != ds2["spec"]["template"]["metadata"]["annotations"][key]
    )


@pytest.mark.parametrize(
    "variables, image",
    [
        ({"kube_version": "v1.32.4"}, "registry.k8s.io/kube-proxy:v1.32.4"),
        ({"kube_version": "1.33.2", "kube_image_repo": "mirror.example/k8s"}, "mirror.example/k8s/kube-proxy:v1.33.2"),
        (
            {"kube_version": "1.33.2", "kube_proxy_image_repo": "m.example/kp", "kube_proxy_image_tag": "v1.33.2-fix"},
            "m.example/kp:v1.33.2-fix",
        ),
    ],
)
def test_image_follows_kubespray_variables(variables, image):
    assert pc.image_for(variables) == image


def test_render_rejects_bad_group_names_and_missing_version():
    with pytest.raises(pc.ProxyConfigError):
        pc.render_group_manifests("Bad_Name", pc.kubespray_config({}), {"kube_version": "1.33.2"})
    with pytest.raises(pc.ProxyConfigError):
        pc.render_group_manifests("ok", pc.kubespray_config({}), {})


def test_kubeadm_configmap_keeps_the_other_keys_of_the_live_one():
    live = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"app": "kube-proxy"}},
        "data": {"config.conf": "old", "kubeconfig.conf": "apiVersion: v1\nkind: Config\n"},
    }
    config, _w = pc.translate(pc.kubespray_config({}), "nftables", {"nodePortAddresses": ["primary"]})
    cm = pc.render_kubeadm_configmap(config, live)
    validate(cm, "1.33.2")
    assert cm["metadata"]["name"] == "kube-proxy" and cm["metadata"]["labels"] == {"app": "kube-proxy"}
    assert cm["data"]["kubeconfig.conf"] == live["data"]["kubeconfig.conf"]
    assert yaml.safe_load(cm["data"]["config.conf"])["mode"] == "nftables"
    assert live["data"]["config.conf"] == "old"
