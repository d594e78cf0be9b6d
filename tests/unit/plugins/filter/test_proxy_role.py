# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role proxy_config run by ansible-playbook against the example Kubespray inventory.

No node is contacted (the inventory's addresses are documentation addresses): the role must do all
of its work on the controller. The written manifests are validated with kubernetes-validate.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import kubernetes_validate
import yaml

from ansible_collections.kube_proxy.mode.plugins.module_utils import _proxy_config as pc

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
# .../ansible_collections/kube_proxy/mode/plugins/module_utils/_proxy_config.py -> dir of ansible_collections
COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(pc.__file__), *[".."] * 5))


EVERYONE_IPTABLES = {
    "kube_proxy_target_mode": "iptables",
    "kube_proxy_node_group": "all",
    "kube_proxy_target_config": {},
}


def run_playbook(tmp_path, inventory, *extra):
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(cfg),
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
        }
    )
    cmd = [sys.executable, "-m", "ansible.cli.playbook", "-i", inventory, os.path.join(FIXTURES, "proxy_playbook.yml")]
    cmd += ["-e", "proxy_config_render_dir=%s" % (tmp_path / "out"), *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_role_renders_the_two_groups_of_the_example_inventory(tmp_path):
    result = run_playbook(tmp_path, os.path.join(FIXTURES, "proxy_inventory", "hosts.yaml"), "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "out"
    groups = json.loads((out / "groups.json").read_text())
    assert {name: g["mode"] for name, g in groups.items()} == {"ipvs": "ipvs", "workers-nft": "nftables"}
    assert groups["workers-nft"]["hosts"] == ["worker2", "worker3"]
    # the node the role never contacted: no module ran on the nodes, so only localhost made changes
    assert "unreachable=1" not in result.stdout
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    # two modes: no single configuration to hand back to kubeadm
    assert written == [
        "ipvs/configmap.yaml",
        "ipvs/daemonset.yaml",
        "workers-nft/configmap.yaml",
        "workers-nft/daemonset.yaml",
    ]
    for path in written:
        manifest = yaml.safe_load((out / path).read_text())
        kubernetes_validate.validate(manifest, "1.33.0", strict=True)
        if manifest["kind"] == "ConfigMap":
            conf = yaml.safe_load(manifest["data"]["config.conf"])
            assert pc.config_errors(conf, "1.33.2") == []
            assert conf["mode"] == groups[path.split("/")[0]]["mode"]


def test_role_hands_back_to_kubeadm_when_every_node_ends_in_one_mode(tmp_path):
    result = run_playbook(
        tmp_path, os.path.join(FIXTURES, "proxy_inventory", "hosts.yaml"), "-e", json.dumps(EVERYONE_IPTABLES)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cm = yaml.safe_load((tmp_path / "out" / "kubeadm" / "configmap.yaml").read_text())
    kubernetes_validate.validate(cm, "1.33.0", strict=True)
    assert cm["metadata"]["name"] == "kube-proxy"
    assert yaml.safe_load(cm["data"]["config.conf"])["mode"] == "iptables"


def test_role_fails_before_any_change_naming_host_variable_and_allowed_values(tmp_path):
    inventory = tmp_path / "inventory"
    shutil.copytree(os.path.join(FIXTURES, "proxy_inventory"), inventory)
    (inventory / "host_vars").mkdir()
    (inventory / "host_vars" / "worker1.yml").write_text("kube_proxy_target_mode: nft\n")
    result = run_playbook(tmp_path, str(inventory / "hosts.yaml"))
    assert result.returncode != 0
    assert "host worker1: kube_proxy_target_mode is 'nft'; allowed: iptables, ipvs, nftables" in result.stdout
    assert not (tmp_path / "out").exists()
