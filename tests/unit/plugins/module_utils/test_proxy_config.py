# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of plugins/module_utils/_proxy_config.py.

The validation cases follow kube-proxy's rules (pkg/proxy/apis/config/validation/validation.go,
types.go of kubeproxy.config.k8s.io/v1alpha1) as summarised in the project's domain facts §2.
"""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from ansible_collections.kube_proxy.mode.plugins.module_utils import _proxy_config as pc

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE_DEFAULTS = os.path.join(HERE, "..", "..", "..", "..", "roles", "proxy_config", "defaults", "main.yml")


def cfg(**fields):
    """A valid minimal config plus fields (dotted keys allowed: 'ipvs.scheduler')."""
    out = {"apiVersion": pc.API_VERSION, "kind": pc.KIND, "mode": "iptables"}
    for key, value in fields.items():
        parts = key.split("__")
        cur = out
        for part in parts[:-1]:
            cur = cur.setdefault(part, {})
        cur[parts[-1]] = value
    return out


def errors_for(config, version="1.33.2"):
    return pc.config_errors(config, version)


def assert_one_error(config, path, fragment, version="1.33.2"):
    errs = errors_for(config, version)
    assert len(errs) == 1, errs
    assert errs[0].startswith(path + ":"), errs
    assert fragment in errs[0], errs


# ----------------------------------------------------------------------------- parsers
@pytest.mark.parametrize(
    "text, seconds",
    [("30s", 30), ("1h0m0s", 3600), ("1m30s", 90), ("500ms", 0.5), ("0", 0), ("0s", 0), ("-1s", -1), ("1.5h", 5400)],
)
def test_parse_duration_accepts_go_durations(text, seconds):
    assert pc.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["30", "1d", "s", "", "30 s", 30, None, "1h-2m"])
def test_parse_duration_rejects_others(text):
    with pytest.raises(ValueError):
        pc.parse_duration(text)


@pytest.mark.parametrize("text, expected", [("1.33.2", (1, 33, 2)), ("v1.29.0", (1, 29, 0)), ("1.31", (1, 31, 0))])
def test_parse_kube_version(text, expected):
    assert pc.parse_kube_version(text) == expected


@pytest.mark.parametrize("text", ["latest", "", None, 1.33])
def test_parse_kube_version_rejects(text):
    with pytest.raises(pc.ProxyConfigError):
        pc.parse_kube_version(text)


# ----------------------------------------------------------------------------- validation
def test_kubespray_config_is_valid_for_both_version_spellings():
    base = pc.kubespray_config({})
    assert errors_for(base, "1.33.2") == []
    assert errors_for(base, "v1.33.2") == []


def test_kubeadm_style_live_config_with_nulls_is_valid():
    # what kubeadm stores in kube-system/kube-proxy: nulls and zero values for unset fields
    live = yaml.safe_load(
        """
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection: {acceptContentTypes: "", burst: 0, contentType: "",
                   kubeconfig: /var/lib/kube-proxy/kubeconfig.conf, qps: 0}
clusterCIDR: 10.233.64.0/18
configSyncPeriod: 0s
conntrack: {maxPerCore: null, min: null, tcpBeLiberal: false, tcpCloseWaitTimeout: null,
            tcpEstablishedTimeout: null, udpStreamTimeout: 0s, udpTimeout: 0s}
detectLocal: {bridgeInterface: "", interfaceNamePrefix: ""}
detectLocalMode: ""
enableProfiling: false
healthzBindAddress: ""
hostnameOverride: ""
iptables: {localhostNodePorts: null, masqueradeAll: false, masqueradeBit: null, minSyncPeriod: 0s, syncPeriod: 0s}
ipvs: {excludeCIDRs: null, minSyncPeriod: 0s, scheduler: "", strictARP: false, syncPeriod: 0s,
       tcpFinTimeout: 0s, tcpTimeout: 0s, udpTimeout: 0s}
logging: {flushFrequency: 0, options: {json: {infoBufferSize: "0"}, text: {infoBufferSize: "0"}}, verbosity: 0}
metricsBindAddress: ""
mode: ""
nftables: {masqueradeAll: false, masqueradeBit: null, minSyncPeriod: 0s, syncPeriod: 0s}
nodePortAddresses: null
oomScoreAdj: null
portRange: ""
showHiddenMetricsForVersion: ""
winkernel: {enableDSR: false, forwardHealthCheckVip: false, networkName: "", rootHnsEndpointName: "", sourceVip: ""}
"""
    )
    errs = errors_for(live)
    # kube-proxy fills 0s sync periods with defaults only when absent: explicit 0s is rejected
    assert "configSyncPeriod: must be greater than 0, e.g. 15m0s" in errs
    assert "iptables.syncPeriod: must be greater than 0, e.g. 30s" in errs
    for key in ("configSyncPeriod", "iptables", "ipvs", "nftables"):
        del live[key]
    assert errors_for(live) == []


@pytest.mark.parametrize(
    "config, path, fragment",
    [
        (cfg(mode="userspace"), "mode", "allowed: iptables, ipvs, nftables"),
        (cfg(mode="IPVS"), "mode", "allowed: iptables, ipvs, nftables"),
        (cfg(iptables__masqueradeBit=32), "iptables.masqueradeBit", "[0, 31]"),
        (cfg(iptables__masqueradeBit=-1), "iptables.masqueradeBit", "[0, 31]"),
        (cfg(mode="nftables", nftables__masqueradeBit=40), "nftables.masqueradeBit", "[0, 31]"),
        (cfg(mode="ipvs", ipvs__tcpTimeout="-1s"), "ipvs.tcpTimeout", "0 or greater"),
        (cfg(mode="ipvs", ipvs__tcpFinTimeout="-5s"), "ipvs.tcpFinTimeout", "0 or greater"),
        (cfg(mode="ipvs", ipvs__udpTimeout="-1m"), "ipvs.udpTimeout", "0 or greater"),
        (cfg(mode="ipvs", ipvs__excludeCIDRs=["10.0.0.0/8", "10.1.2.3"]), "ipvs.excludeCIDRs[1]", "not a CIDR"),
        (cfg(mode="ipvs", ipvs__scheduler="roundrobin"), "ipvs.scheduler", "allowed: rr, wrr, lc"),
        (cfg(configSyncPeriod="0s"), "configSyncPeriod", "greater than 0"),
        (cfg(iptables__syncPeriod="0s"), "iptables.syncPeriod", "greater than 0"),
        (cfg(mode="ipvs", ipvs__syncPeriod="-1s"), "ipvs.syncPeriod", "greater than 0"),
        (cfg(iptables__minSyncPeriod="-1s"), "iptables.minSyncPeriod", "0 or greater"),
        (cfg(iptables__syncPeriod="10s", iptables__minSyncPeriod="1m"), "iptables.minSyncPeriod", "not be greater"),
        (cfg(mode="nftables", nftables__minSyncPeriod="31s"), "nftables.minSyncPeriod", "not be greater"),
        (cfg(bindAddress="0.0.0.0:1"), "bindAddress", "not an IP address"),
        (cfg(healthzBindAddress="0.0.0.0"), "healthzBindAddress", "IP:port"),
        (cfg(healthzBindAddress="0.0.0.0:0"), "healthzBindAddress", "1-65535"),
        (cfg(metricsBindAddress="localhost:10249"), "metricsBindAddress", "not an IP address"),
        (cfg(metricsBindAddress="127.0.0.1:70000"), "metricsBindAddress", "1-65535"),
        (cfg(portRange="30000:32767"), "portRange", "port range"),
        (cfg(portRange="40000-30000"), "portRange", "port range"),
        (cfg(nodePortAddresses=["primary", "10.0.0.0/8"]), "nodePortAddresses", "both 'primary' and CIDRs"),
        (cfg(nodePortAddresses=["10.0.0.1"]), "nodePortAddresses[0]", "not a CIDR"),
        (cfg(detectLocalMode="PodCIDR"), "detectLocalMode", "allowed: ClusterCIDR, NodeCIDR"),
        (cfg(detectLocalMode="BridgeInterface"), "detectLocal.bridgeInterface", "must be set"),
        (cfg(detectLocalMode="InterfaceNamePrefix"), "detectLocal.interfaceNamePrefix", "must be set"),
        (cfg(clusterCIDR="10.0.0.0/8,10.1.0.0/16"), "clusterCIDR", "one IPv4 and one IPv6"),
        (cfg(clusterCIDR="10.0.0.0/8,fd00::/48,fd01::/48"), "clusterCIDR", "at most 2"),
        (cfg(clusterCIDR="10.0.0.0"), "clusterCIDR", "not a CIDR"),
        (cfg(conntrack__maxPerCore=-1), "conntrack.maxPerCore", "0 or greater"),
        (cfg(conntrack__min=-1), "conntrack.min", "0 or greater"),
        (cfg(conntrack__tcpEstablishedTimeout="-1s"), "conntrack.tcpEstablishedTimeout", "0 or greater"),
        (cfg(conntrack__tcpCloseWaitTimeout="-1s"), "conntrack.tcpCloseWaitTimeout", "0 or greater"),
        (cfg(conntrack__udpTimeout="-1s"), "conntrack.udpTimeout", "0 or greater"),
        (cfg(oomScoreAdj=-1001), "oomScoreAdj", "[-1000, 1000]"),
        (cfg(oomScoreAdj=1001), "oomScoreAdj", "[-1000, 1000]"),
        (cfg(clientConnection__burst=-1), "clientConnection.burst", "0 or greater"),
        (cfg(showHiddenMetricsForVersion="1.30"), "showHiddenMetricsForVersion", "1.32"),
        (cfg(featureGates={"NFTablesProxyMode": False}), "featureGates.NFTablesProxyMode", "locked to true"),
        (cfg(featureGates={"nftables": True}), "featureGates.nftables", "not a feature gate name"),
    ],
)
def test_rejected_values_name_the_field_and_what_is_allowed(config, path, fragment):
    assert_one_error(config, path, fragment)


@pytest.mark.parametrize(
    "config, path, fragment",
    [
        (cfg(iptbles={"masqueradeAll": True}), "iptbles", "unknown field"),
        (cfg(iptables__masqueradeAl=True), "iptables.masqueradeAl", "allowed here: localhostNodePorts"),
        (cfg(nftables__masqueradeall=True), "nftables.masqueradeall", "unknown field"),
        (cfg(conntrack__tcpBeLiberals=True), "conntrack.tcpBeLiberals", "unknown field"),
        (cfg(detectLocal__clusterCIDRs=["10.0.0.0/8"]), "detectLocal.clusterCIDRs", "unknown field"),
        (cfg(iptables__syncPeriod=30), "iptables.syncPeriod", "Go duration string"),
        (cfg(iptables__syncPeriod="30 seconds"), "iptables.syncPeriod", "Go duration string"),
        (cfg(iptables__masqueradeAll="yes"), "iptables.masqueradeAll", "a boolean"),
        (cfg(iptables__masqueradeBit="14"), "iptables.masqueradeBit", "an integer"),
        (cfg(iptables__masqueradeBit=True), "iptables.masqueradeBit", "an integer"),
        (cfg(mode="ipvs", ipvs__strictARP="true"), "ipvs.strictARP", "a boolean"),
        (cfg(nodePortAddresses="10.0.0.0/8"), "nodePortAddresses", "must be a list"),
        (cfg(featureGates={"NFTablesProxyMode": "true"}), "featureGates.NFTablesProxyMode", "a boolean"),
        (cfg(iptables=[]), "iptables", "must be a mapping"),
    ],
)
def test_stricter_than_kube_proxy_unknown_fields_and_types(config, path, fragment):
    assert_one_error(config, path, fragment)


def test_api_version_and_kind_are_required():
    errs = errors_for({"mode": "iptables"})
    assert errs == [
        "apiVersion: must be kubeproxy.config.k8s.io/v1alpha1, got None",
        "kind: must be KubeProxyConfiguration, got None",
    ]
    assert errors_for(["not", "a", "dict"]) == ["config: must be a KubeProxyConfiguration mapping, got list"]


@pytest.mark.parametrize("scheduler", list(pc.IPVS_SCHEDULERS) + [""])
def test_every_known_ipvs_scheduler_is_accepted(scheduler):
    assert errors_for(cfg(mode="ipvs", ipvs__scheduler=scheduler)) == []


@pytest.mark.parametrize(
    "version, gates, expected",
    [
        ("1.28.9", None, "needs Kubernetes >= 1.29"),
        ("1.29.0", None, "needs featureGates: {NFTablesProxyMode: true}"),
        ("1.30.5", {"NFTablesProxyMode": False}, "needs featureGates: {NFTablesProxyMode: true}"),
        ("1.29.0", {"NFTablesProxyMode": True}, None),
        ("1.31.0", None, None),
        ("1.32.0", {"NFTablesProxyMode": False}, "NFTablesProxyMode is false"),
        ("1.33.2", None, None),
        ("v1.34.1", {"NFTablesProxyMode": True}, None),
    ],
)
def test_nftables_mode_follows_the_feature_gate_lifecycle(version, gates, expected):
    config = cfg(mode="nftables")
    if gates is not None:
        config["featureGates"] = gates
    errs = [e for e in errors_for(config, version) if e.startswith("mode:")]
    if expected is None:
        assert errs == []
    else:
        assert len(errs) == 1 and expected in errs[0], errs


def test_nftables_section_is_unknown_before_1_29():
    errs = errors_for(cfg(mode="iptables", nftables={"masqueradeAll": True}), "1.28.3")
    assert errs == ["nftables: unknown field for Kubernetes 1.28 (kube-proxy knows it from 1.29 on)"]


def test_primary_node_port_addresses_need_1_29():
    assert errors_for(cfg(nodePortAddresses=["primary"]), "1.33.0") == []
    errs = errors_for(cfg(nodePortAddresses=["primary"]), "1.28.0")
    assert errs == ["nodePortAddresses: 'primary' needs Kubernetes >= 1.29; use CIDRs"]


@pytest.mark.parametrize(
    "version, expected",
    [("1.39.0", None), ("1.40.0", "off by default from Kubernetes 1.40"), ("1.43.0", "removed in Kubernetes 1.43")],
)
def test_ipvs_mode_lifecycle(version, expected):
    errs = [e for e in errors_for(cfg(mode="ipvs"), version) if e.startswith("mode:")]
    assert (errs == []) if expected is None else (len(errs) == 1 and expected in errs[0])


def test_valid_values_are_accepted():
    config = cfg(
        mode="ipvs",
        bindAddress="::",
        healthzBindAddress="[::]:10256",
        metricsBindAddress="0.0.0.0:10249",
        portRange="30000+2767",
        nodePortAddresses=["10.0.0.0/8", "fd00::/64"],
        clusterCIDR="10.233.64.0/18,fd85:ee78:d8a6:8607::1:0/112",
        detectLocalMode="InterfaceNamePrefix",
        detectLocal={"interfaceNamePrefix": "cali"},
        showHiddenMetricsForVersion="1.32",
        oomScoreAdj=-999,
        ipvs={"syncPeriod": "1m", "minSyncPeriod": "1m", "scheduler": "wrr", "excludeCIDRs": ["192.0.2.0/24"]},
        conntrack={"tcpBeLiberal": True, "udpTimeout": "30s", "udpStreamTimeout": "5m0s"},
        logging={"format": "text", "verbosity": 2, "flushFrequency": "5s"},
    )
    assert errors_for(config) == []


def test_bad_kube_version_raises():
    with pytest.raises(pc.ProxyConfigError):
        pc.config_errors(cfg(), "latest")


# ----------------------------------------------------------------------------- Kubespray base
def test_role_defaults_mirror_the_module_defaults():
    with open(ROLE_DEFAULTS) as f:
        defaults = yaml.safe_load(f)
    assert defaults["proxy_config_kubespray_defaults"] == pc.KUBESPRAY_DEFAULTS


def test_kubespray_config_follows_its_variables():
    config = pc.kubespray_config(
        {
            "kube_proxy_mode": "iptables",
            "kube_pods_subnet": "10.10.0.0/16",
            "enable_dual_stack_networks": True,
            "kube_pods_subnet_ipv6": "fd00:10::/56",
            "kube_proxy_nodeport_addresses_cidr": "ignored",
            "kube_proxy_nodeport_addresses": ["192.0.2.0/24"],
            "kube_proxy_feature_gates": ["NFTablesProxyMode=true"],
            "kube_proxy_exclude_cidrs": "[10.1.0.0/16, 10.2.0.0/16]",
        }
    )
    assert config["mode"] == "iptables"
    assert config["clusterCIDR"] == "10.10.0.0/16,fd00:10::/56"
    assert config["nodePortAddresses"] == ["192.0.2.0/24"]
    assert config["featureGates"] == {"NFTablesProxyMode": True}
    assert config["ipvs"]["excludeCIDRs"] == ["10.1.0.0/16", "10.2.0.0/16"]
    assert config["iptables"] == {
        "masqueradeAll": False,
        "masqueradeBit": 14,
        "minSyncPeriod": "0s",
        "syncPeriod": "30s",
    }
    assert "hostnameOverride" not in config
    assert "clusterCIDR" not in pc.kubespray_config({"kube_network_plugin": "kube-ovn"})


def test_live_config_wins_over_kubespray_variables():
    live = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\n"
    assert pc.current_config({"kube_proxy_mode": "ipvs"}, live)["mode"] == "iptables"
    assert pc.current_config({"kube_proxy_mode": "ipvs"}, None)["mode"] == "ipvs"


# ----------------------------------------------------------------------------- translation
def ids(warnings):
    return sorted(w["id"] for w in warnings)


def test_ipvs_to_nftables_moves_masquerade_and_sync_periods_and_drops_ipvs():
    base = pc.kubespray_config(
        {"kube_proxy_masquerade_all": True, "kube_proxy_sync_period": "45s", "kube_proxy_min_sync_period": "2s"}
    )
    config, warnings = pc.translate(base, "nftables", kernel_versions=["6.1.0"])
    assert config["nftables"] == {
        "masqueradeAll": True,
        "masqueradeBit": 14,
        "syncPeriod": "45s",
        "minSyncPeriod": "2s",
    }
    assert "ipvs" not in config and "iptables" not in config
    assert config["mode"] == "nftables"
    assert ids(warnings) == ["nodeport-firewall", "nodeport-primary"]
    assert pc.config_errors(config, "1.33.2") == []


def test_pinned_node_port_addresses_silence_the_primary_warning():
    base = pc.kubespray_config({})
    _config, warnings = pc.translate(base, "nftables", {"nodePortAddresses": ["0.0.0.0/0"]}, kernel_versions=["6.12"])
    assert "nodeport-primary" not in ids(warnings)


def test_iptables_to_nftables_warns_about_localhost_nodeports_and_old_kernels():
    base = pc.kubespray_config({"kube_proxy_mode": "iptables"})
    config, warnings = pc.translate(base, "nftables", kernel_versions=["5.15.0-126-generic", "6.1.0"])
    assert ids(warnings) == ["localhost-nodeports", "nodeport-firewall", "nodeport-primary", "tcp-be-liberal"]
    liberal = [w for w in warnings if w["id"] == "tcp-be-liberal"][0]
    assert "5.15.0-126-generic" in liberal["message"] and liberal["field"] == "conntrack.tcpBeLiberal"
    # the user set it: no warning
    _c, warnings = pc.translate(base, "nftables", {"conntrack": {"tcpBeLiberal": True}}, kernel_versions=["5.15.0"])
    assert "tcp-be-liberal" not in ids(warnings)
    # localhostNodePorts explicitly off: nobody relies on them
    base["iptables"]["localhostNodePorts"] = False
    _c, warnings = pc.translate(base, "ipvs")
    assert "localhost-nodeports" not in ids(warnings)


def test_unknown_kernels_warn_that_tcp_be_liberal_may_apply():
    _c, warnings = pc.translate(pc.kubespray_config({}), "nftables")
    msg = [w for w in warnings if w["id"] == "tcp-be-liberal"][0]["message"]
    assert "unknown" in msg


def test_ipvs_to_iptables_keeps_behaviour_and_reports_what_is_dropped():
    base = pc.kubespray_config(
        {"kube_proxy_strict_arp": True, "kube_proxy_scheduler": "lc", "kube_proxy_exclude_cidrs": ["10.0.0.0/8"]}
    )
    config, warnings = pc.translate(base, "iptables")
    assert "ipvs" not in config
    assert config["iptables"]["masqueradeBit"] == 14
    assert ids(warnings) == ["ipvs-exclude-cidrs", "ipvs-scheduler", "ipvs-strict-arp"]


def test_nftables_from_kubespray_template_without_nftables_section():
    base = pc.kubespray_config({"kube_proxy_mode": "nftables", "kube_proxy_masquerade_all": True})
    config, warnings = pc.translate(base, "ipvs", kernel_versions=["6.1"])
    assert config["iptables"]["masqueradeAll"] is True
    assert "nftables-section-missing" in ids(warnings)
    config, _w = pc.translate(base, "nftables", kernel_versions=["6.1"])
    assert config["nftables"]["masqueradeAll"] is True


def test_iptables_to_ipvs_keeps_only_what_ipvs_reads_from_iptables():
    base = pc.kubespray_config({"kube_proxy_mode": "iptables", "kube_proxy_sync_period": "1m"})
    base["iptables"]["localhostNodePorts"] = True
    config, warnings = pc.translate(base, "ipvs", kube_version="1.35.0")
    assert config["iptables"] == {"masqueradeAll": False, "masqueradeBit": 14}
    assert config["ipvs"]["syncPeriod"] == "1m"
    assert "ipvs-deprecated" in ids(warnings)


def test_overrides_are_merged_last_and_do_not_mutate_input():
    base = pc.kubespray_config({})
    snapshot = copy.deepcopy(base)
    config, _w = pc.translate(base, "nftables", {"nftables": {"masqueradeAll": True}, "nodePortAddresses": ["primary"]})
    assert config["nftables"]["masqueradeAll"] is True and config["nftables"]["syncPeriod"] == "30s"
    assert base == snapshot


@pytest.mark.parametrize("bad", ["nft", "", None])
def test_translate_rejects_unknown_modes(bad):
    with pytest.raises(pc.ProxyConfigError):
        pc.translate(pc.kubespray_config({}), bad)


# ----------------------------------------------------------------------------- groups
def hv(**extra):
    base = {"kube_version": "1.33.2"}
    base.update(extra)
    return base


def test_groups_default_to_the_target_mode_and_collect_hosts():
    result = pc.build_group_configs(
        {
            "a": hv(kube_proxy_target_mode="nftables", ansible_kernel="6.1.0"),
            "b": hv(kube_proxy_target_mode="nftables", ansible_kernel="5.10.0"),
            "c": hv(kube_proxy_target_mode="iptables"),
            "d": hv(),
        }
    )
    assert sorted(result) == ["iptables", "ipvs", "nftables"]
    assert result["nftables"]["hosts"] == ["a", "b"]
    assert result["nftables"]["errors"] == []
    # the group's kernel warning names the old kernel of host b
    assert "5.10.0" in [w for w in result["nftables"]["warnings"] if w["id"] == "tcp-be-liberal"][0]["message"]
    assert result["ipvs"]["hosts"] == ["d"] and result["ipvs"]["current_mode"] == "ipvs"


def test_hosts_that_disagree_are_named():
    result = pc.build_group_configs(
        {
            "a": hv(kube_proxy_target_mode="nftables", kube_proxy_node_group="edge"),
            "b": hv(kube_proxy_target_mode="iptables", kube_proxy_node_group="edge"),
            "c": hv(kube_proxy_target_mode="iptables", kube_proxy_node_group="core"),
            "d": hv(
                kube_proxy_target_mode="iptables",
                kube_proxy_node_group="core",
                kube_proxy_target_config={"iptables": {"masqueradeAll": True}},
            ),
        }
    )
    (edge,) = result["edge"]["errors"]
    assert "kube_proxy_target_mode" in edge and "nftables: a" in edge and "iptables: b" in edge
    (core,) = result["core"]["errors"]
    assert "hosts c and d disagree on iptables.masqueradeAll" in core


def test_bad_variables_name_host_variable_and_allowed_values():
    result = pc.build_group_configs(
        {
            "a": hv(kube_proxy_target_mode="nft"),
            "b": hv(kube_proxy_target_mode="iptables", kube_proxy_target_config="masqueradeAll: true"),
            "c": hv(kube_proxy_target_mode="iptables", kube_proxy_node_group="Edge_1"),
            "d": {"kube_proxy_target_mode": "iptables", "kube_proxy_node_group": "nover"},
            "e": hv(
                kube_proxy_target_mode="iptables",
                kube_proxy_node_group="typo",
                kube_proxy_target_config={"iptable": {}},
            ),
        }
    )
    all_errors = [e for g in result.values() for e in g["errors"]]
    assert "host a: kube_proxy_target_mode is 'nft'; allowed: iptables, ipvs, nftables" in all_errors
    assert any(e.startswith("host b: kube_proxy_target_config must be a mapping") for e in all_errors)
    assert any(e.startswith("host c: kube_proxy_node_group must be a lower-case DNS label") for e in all_errors)
    assert "node group nover: kube_version is not set for hosts d" in all_errors
    assert any(e.startswith("node group typo (hosts e): iptable: unknown field") for e in all_errors)


def test_live_config_is_the_base_of_every_group():
    live = pc.kubespray_config({"kube_proxy_mode": "iptables", "kube_proxy_masquerade_bit": 15})
    result = pc.build_group_configs({"a": hv(kube_proxy_target_mode="nftables")}, live_config=live)
    assert result["nftables"]["current_mode"] == "iptables"
    assert result["nftables"]["config"]["nftables"]["masqueradeBit"] == 15


def test_hosts_argument_limits_the_hosts():
    result = pc.build_group_configs({"a": hv(), "b": hv(kube_proxy_target_mode="iptables")}, hosts=["a"])
    assert list(result) == ["ipvs"]
