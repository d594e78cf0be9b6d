# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/variables.md and docs/nftables-changes.md are what docs/gen/gen_proxy_config.py renders."""

from __future__ import annotations

import importlib.util
import os

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")


def _generator():
    path = os.path.join(TOP, "docs", "gen", "gen_proxy_config.py")
    spec = importlib.util.spec_from_file_location("gen_proxy_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_pages_equal_generated_pages():
    gen = _generator()
    for key, text in gen.render().items():
        with open(gen.PAGES[key], encoding="utf-8") as handle:
            assert handle.read() == text, "%s is stale: run python docs/gen/gen_proxy_config.py" % gen.PAGES[key]


def test_pages_cover_every_variable_and_warning():
    gen = _generator()
    pages = gen.render()
    for name in gen.pc.KUBESPRAY_DEFAULTS:
        assert "| `%s` |" % name in pages["variables"]
    for name in (
        "kube_proxy_target_mode",
        "kube_proxy_target_config",
        "kube_proxy_node_group",
        "kube-proxy.mode/group",
    ):
        assert "`%s" % name in pages["variables"]
    for wid in (
        "nodeport-primary",
        "nodeport-firewall",
        "tcp-be-liberal",
        "localhost-nodeports",
        "ipvs-strict-arp",
        "ipvs-exclude-cidrs",
        "ipvs-scheduler",
        "nftables-section-missing",
        "ipvs-deprecated",
    ):
        assert "| `%s` |" % wid in pages["nftables"]


def test_field_map_is_derived_from_the_code():
    gen = _generator()
    fields = gen.kubespray_field_map()
    assert fields["kube_proxy_masquerade_all"] == ["iptables.masqueradeAll"]
    assert fields["kube_proxy_sync_period"] == ["iptables.syncPeriod", "ipvs.syncPeriod"]
    assert fields["bin_dir"] == []
