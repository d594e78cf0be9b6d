# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KubeProxyConfiguration per node group: build, translate, validate, render.

Private to the collection; the filters in plugins/filter and the roles call these pure functions.
Facts (field list, validation rules, behaviour that changes between modes) come from kube-proxy's
types.go / validation.go and from Kubespray's kubeadm-config template; see docs/domain facts.
No code of those projects is copied here.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

API_VERSION = "kubeproxy.config.k8s.io/v1alpha1"
KIND = "KubeProxyConfiguration"
MODES = ("iptables", "ipvs", "nftables")
NAMESPACE = "kube-system"
GROUP_LABEL = "kube-proxy.mode/group"
APP_LABEL = "k8s-app"
APP_VALUE = "kube-proxy"
CONFIG_HASH_ANNOTATION = "kube-proxy.mode/config-hash"
MANAGED_BY = "kube_proxy.mode"
KUBEADM_KUBECONFIG = "/var/lib/kube-proxy/kubeconfig.conf"

# ipvs schedulers kube-proxy knows (each needs kernel module ip_vs_<name>); "" means rr.
IPVS_SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq", "mh")
DETECT_LOCAL_MODES = ("ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix")

# Kubespray's defaults for the variables we read (roles/kubespray_defaults and
# roles/kubernetes/control-plane/defaults/main/kube-proxy.yml). A playbook outside Kubespray does
# not load them, so they are mirrored here and in roles/proxy_config/defaults (kept equal by a test).
KUBESPRAY_DEFAULTS = {
    "kube_proxy_mode": "ipvs",
    "bin_dir": "/usr/local/bin",
    "kube_pods_subnet": "10.233.64.0/18",
    "kube_pods_subnet_ipv6": "fd85:ee78:d8a6:8607::1:0000/112",
    "kube_service_addresses": "10.233.0.0/18",
    "enable_dual_stack_networks": False,
    "kube_network_plugin": "calico",
    "kube_image_repo": "registry.k8s.io",
    "kube_proxy_bind_address": "0.0.0.0",
    "kube_proxy_client_accept_content_types": "",
    "kube_proxy_client_burst": 10,
    "kube_proxy_client_content_type": "application/vnd.kubernetes.protobuf",
    "kube_proxy_client_kubeconfig": "",
    "kube_proxy_client_qps": 5,
    "kube_proxy_config_sync_period": "15m0s",
    "kube_proxy_conntrack_max_per_core": 32768,
    "kube_proxy_conntrack_min": 131072,
    "kube_proxy_conntrack_tcp_close_wait_timeout": "1h0m0s",
    "kube_proxy_conntrack_tcp_established_timeout": "24h0m0s",
    "kube_proxy_enable_profiling": False,
    "kube_proxy_healthz_bind_address": "0.0.0.0:10256",
    "kube_proxy_masquerade_all": False,
    "kube_proxy_masquerade_bit": 14,
    "kube_proxy_min_sync_period": "0s",
    "kube_proxy_sync_period": "30s",
    "kube_proxy_exclude_cidrs": [],
    "kube_proxy_scheduler": "rr",
    "kube_proxy_strict_arp": False,
    "kube_proxy_tcp_timeout": "0s",
    "kube_proxy_tcp_fin_timeout": "0s",
    "kube_proxy_udp_timeout": "0s",
    "kube_proxy_metrics_bind_address": "127.0.0.1:10249",
    "kube_proxy_nodeport_addresses": [],
    "kube_proxy_oom_score_adj": -999,
    "kube_proxy_port_range": "",
    "kube_proxy_feature_gates": [],
    "kube_feature_gates": [],
}

# Every host variable the collection reads for the configuration (the filter proxy_config_groups
# reads only these from hostvars).
READ_VARIABLES = tuple(
    sorted(
        set(KUBESPRAY_DEFAULTS)
        | {
            "kube_proxy_target_mode",
            "kube_proxy_target_config",
            "kube_proxy_node_group",
            "kube_version",
            "ansible_kernel",
            "kube_proxy_image_repo",
            "kube_proxy_image_tag",
        }
    )
)

# ---------------------------------------------------------------------------------------------
# Schema of KubeProxyConfiguration v1alpha1 (staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go)
# A leaf is a type tag; a dict is a nested struct; ("list", tag) / ("map", tag) are collections.
# ("since", (1, 29), spec) marks a field that kube-proxy only knows from that minor version on.
# ---------------------------------------------------------------------------------------------
STR, BOOL, INT, NUM, DUR, FLUSH = "string", "boolean", "integer", "number", "duration", "duration-or-int"

_LOGGING = {
    "format": STR,
    "flushFrequency": FLUSH,
    "verbosity": INT,
    "vmodule": ("list", {"filePath": STR, "verbosity": INT}),
    "options": {
        "json": {"splitStream": BOOL, "infoBufferSize": "quantity"},
        "text": {"splitStream": BOOL, "infoBufferSize": "quantity"},
    },
}

SCHEMA = {
    "apiVersion": STR,
    "kind": STR,
    "featureGates": ("map", BOOL),
    "clientConnection": {"kubeconfig": STR, "acceptContentTypes": STR, "contentType": STR, "qps": NUM, "burst": INT},
    "logging": _LOGGING,
    "hostnameOverride": STR,
    "bindAddress": STR,
    "healthzBindAddress": STR,
    "metricsBindAddress": STR,
    "bindAddressHardFail": BOOL,
    "enableProfiling": BOOL,
    "showHiddenMetricsForVersion": STR,
    "mode": STR,
    "iptables": {
        "masqueradeBit": INT,
        "masqueradeAll": BOOL,
        "localhostNodePorts": BOOL,
        # snatNodeInternalIP appears in types.go of the newest releases; the minor version is not
        # verified, so it is only accepted from 1.36 on (stricter than kube-proxy).
        "snatNodeInternalIP": ("since", (1, 36), BOOL),
        "syncPeriod": DUR,
        "minSyncPeriod": DUR,
    },
    "ipvs": {
        "syncPeriod": DUR,
        "minSyncPeriod": DUR,
        "scheduler": STR,
        "excludeCIDRs": ("list", STR),
        "strictARP": BOOL,
        "tcpTimeout": DUR,
        "tcpFinTimeout": DUR,
        "udpTimeout": DUR,
    },
    "nftables": (
        "since",
        (1, 29),
        {"masqueradeBit": INT, "masqueradeAll": BOOL, "syncPeriod": DUR, "minSyncPeriod": DUR},
    ),
    "winkernel": {
        "networkName": STR,
        "sourceVip": STR,
        "enableDSR": BOOL,
        "rootHnsEndpointName": STR,
        "forwardHealthCheckVip": BOOL,
    },
    "detectLocalMode": STR,
    "detectLocal": {"bridgeInterface": STR, "interfaceNamePrefix": STR},
    "clusterCIDR": STR,
    "nodePortAddresses": ("list", STR),
    "oomScoreAdj": INT,
    "conntrack": {
        "maxPerCore": INT,
        "min": INT,
        "tcpEstablishedTimeout": DUR,
        "tcpCloseWaitTimeout": DUR,
        "tcpBeLiberal": ("since", (1, 29), BOOL),
        "udpTimeout": ("since", (1, 29), DUR),
        "udpStreamTimeout": ("since", (1, 29), DUR),
    },
    "configSyncPeriod": DUR,
    "portRange": STR,
    "windowsRunAsService": BOOL,
}

# Sections kube-proxy reads per mode (pkg/proxy/apis/config/v1alpha1 conversion): the sync periods
# come from the active mode's section; ipvs mode takes masqueradeAll/masqueradeBit from iptables.
_SYNC_SECTION = {"iptables": "iptables", "ipvs": "ipvs", "nftables": "nftables"}
_MASQ_SECTION = {"iptables": "iptables", "ipvs": "iptables", "nftables": "nftables"}
# kube-proxy's defaults for the sync periods when a section leaves them out.
_SYNC_DEFAULTS = {"iptables": ("30s", "1s"), "ipvs": ("30s", "0s"), "nftables": ("30s", "1s")}

_TYPE_HELP = {
    STR: "a string",
    BOOL: "a boolean (true/false)",
    INT: "an integer",
    NUM: "a number",
    DUR: "a Go duration string such as 30s, 1m or 1h0m0s",
    FLUSH: "a Go duration string such as 5s, or an integer number of nanoseconds",
    "quantity": "a quantity string such as 0 or 64Ki",
}

_DURATION_RE = re.compile(r"^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_QUANTITY_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_GATE_NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_GROUP_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
GROUP_NAME_MAX = 40


class ProxyConfigError(ValueError):
    """Bad input to a function of this module (not a config error, which is returned as data)."""


# ---------------------------------------------------------------------------------------------
# small parsers
# ---------------------------------------------------------------------------------------------
def parse_kube_version(version):
    """'1.33.2' or 'v1.33.2' (or '1.33') -> (1, 33, 2). Raises ProxyConfigError."""
    if not isinstance(version, str):
        raise ProxyConfigError("kube_version must be a string such as 1.33.2, got %r" % (version,))
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$", version.strip())
    if not m:
        raise ProxyConfigError("kube_version must look like 1.33.2 or v1.33.2, got %r" % (version,))
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def parse_duration(value):
    """Go duration string -> seconds (float). Raises ValueError when it is not one."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    text = value.strip()
    if text in ("0", "+0", "-0"):
        return 0.0
    if not _DURATION_RE.match(text):
        raise ValueError("not a Go duration")
    sign = -1.0 if text.startswith("-") else 1.0
    total = 0.0
    for number, unit in _DURATION_PART_RE.findall(text):
        total += float(number) * _UNIT_SECONDS[unit]
    return sign * total


def plain(value):
    """Deep copy with plain Python types, safe for yaml.safe_dump and json.dumps.

    Ansible's tagged values (AnsibleUnsafeText/Bytes, AnsibleMapping, ...) are subclasses of
    str/bytes/dict/list; str(x) keeps AnsibleUnsafeText (it returns self), so the exact base type
    is built instead. Bytes become UTF-8 text; tuples and sets become lists.
    """
    if isinstance(value, Mapping):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str.__str__(value)  # a new exact str for a subclass
    if isinstance(value, (bytes, bytearray)):
        try:
            return str.__str__(bytes(value).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ProxyConfigError("a value is bytes that are not UTF-8 text: %r" % bytes(value[:40])) from exc
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    return value


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_cidr(text):
    if not isinstance(text, str) or "/" not in text:
        return False
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _host_port_error(text):
    """Error text when text is not IP:port with a port in 1..65535, else None."""
    pattern = r"^\[([^\]]+)\]:(\d+)$" if text.startswith("[") else r"^([^:]+):(\d+)$"
    m = re.match(pattern, text)
    if not m:
        return "must be IP:port (IPv6 as [addr]:port)"
    if not _is_ip(m.group(1)):
        return "must be IP:port, %r is not an IP address" % m.group(1)
    if not 1 <= int(m.group(2)) <= 65535:
        return "must be IP:port with a port in 1-65535"
    return None


def _port_range_ok(text):
    if text == "":
        return True
    m = re.match(r"^(\d+)(?:([-+])(\d+))?$", text.strip())
    if not m:
        return False
    base = int(m.group(1))
    if m.group(2) is None:
        return 0 <= base <= 65535
    other = int(m.group(3))
    end = base + other if m.group(2) == "+" else other
    return 0 <= base <= end <= 65535


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def _unwrap(spec, version):
    """-> (spec, since) with the ("since", ver, spec) wrapper removed."""
    if isinstance(spec, tuple) and spec and spec[0] == "since":
        return spec[2], spec[1]
    return spec, None


def _type_ok(tag, value):
    if tag == STR:
        return isinstance(value, str)
    if tag == BOOL:
        return isinstance(value, bool)
    if tag == INT:
        return _is_int(value)
    if tag == NUM:
        return _is_int(value) or isinstance(value, float)
    if tag == DUR:
        try:
            parse_duration(value)
        except ValueError:
            return False
        return True
    if tag == FLUSH:
        return _is_int(value) or _type_ok(DUR, value)
    if tag == "quantity":
        return (isinstance(value, str) and bool(_QUANTITY_RE.match(value))) or _is_int(value)
    raise AssertionError("unknown type tag %s" % tag)  # pragma: no cover


def _check_schema(value, spec, path, version, errors):
    spec, since = _unwrap(spec, version)
    if since is not None and version[:2] < since:
        errors.append(
            "%s: unknown field for Kubernetes %d.%d (kube-proxy knows it from %d.%d on)"
            % (path, version[0], version[1], since[0], since[1])
        )
        return
    if value is None:
        return  # JSON null decodes to the zero value / unset pointer
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            errors.append("%s: must be a mapping with the fields %s" % (path or "config", ", ".join(sorted(spec))))
            return
        for key in sorted(value, key=str):
            sub = "%s.%s" % (path, key) if path else str(key)
            if key not in spec:
                errors.append(
                    "%s: unknown field (kube-proxy would ignore it with a warning); allowed here: %s"
                    % (sub, ", ".join(_known_fields(spec, version)))
                )
                continue
            _check_schema(value[key], spec[key], sub, version, errors)
        return
    if isinstance(spec, tuple) and spec[0] == "list":
        if not isinstance(value, list):
            errors.append("%s: must be a list" % path)
            return
        for i, item in enumerate(value):
            _check_schema(item, spec[1], "%s[%d]" % (path, i), version, errors)
        return
    if isinstance(spec, tuple) and spec[0] == "map":
        if not isinstance(value, dict):
            errors.append("%s: must be a mapping" % path)
            return
        for key in sorted(value, key=str):
            _check_schema(value[key], spec[1], "%s.%s" % (path, key), version, errors)
        return
    if not _type_ok(spec, value):
        errors.append("%s: must be %s, got %r" % (path, _TYPE_HELP[spec], value))


def _known_fields(spec, version):
    out = []
    for key, sub in spec.items():
        _s, since = _unwrap(sub, version)
        if since is None or version[:2] >= since:
            out.append(key)
    return sorted(out)


def _get(cfg, dotted, tag=None):
    """Value at a dotted path if present, not null and (when tag given) of the right type."""
    cur = cfg
    for part in dotted.split("."):
        if not isinstance(cur, dict) or cur.get(part) is None:
            return None
        cur = cur[part]
    if tag is not None and not _type_ok(tag, cur):
        return None
    return cur


def _dur(cfg, dotted):
    value = _get(cfg, dotted, DUR)
    return None if value is None else parse_duration(value)


def _effective_gate(cfg, name, version):
    gates = _get(cfg, "featureGates")
    if isinstance(gates, dict) and isinstance(gates.get(name), bool):
        return gates[name]
    return None


def _gate_errors(cfg, version, errors):
    gates = _get(cfg, "featureGates")
    if not isinstance(gates, dict):
        return
    minor = version[:2]
    for name in sorted(gates, key=str):
        if not isinstance(name, str) or not _GATE_NAME_RE.match(name):
            errors.append("featureGates.%s: not a feature gate name (CamelCase, e.g. NFTablesProxyMode)" % (name,))
            continue
        value = gates[name]
        if name == "NFTablesProxyMode":
            if minor < (1, 29):
                errors.append(
                    "featureGates.NFTablesProxyMode: unknown feature gate before Kubernetes 1.29 "
                    "(nftables mode needs Kubernetes >= 1.29)"
                )
            elif minor >= (1, 33) and value is False:
                errors.append(
                    "featureGates.NFTablesProxyMode: the gate is GA and locked to true since Kubernetes 1.33; "
                    "remove it or set it to true"
                )
        elif name == "KubeProxyIPVS" and minor < (1, 37):
            errors.append("featureGates.KubeProxyIPVS: unknown feature gate before Kubernetes 1.37")


def _sync_errors(cfg, section, errors):
    sync_default, min_default = _SYNC_DEFAULTS[section]
    sync = _dur(cfg, section + ".syncPeriod")
    minsync = _dur(cfg, section + ".minSyncPeriod")
    if sync is not None and sync <= 0:
        errors.append("%s.syncPeriod: must be greater than 0, e.g. 30s" % section)
    if minsync is not None and minsync < 0:
        errors.append("%s.minSyncPeriod: must be 0 or greater, e.g. 1s" % section)
    eff_sync = parse_duration(sync_default) if sync is None else sync
    eff_min = parse_duration(min_default) if minsync is None else minsync
    if eff_sync > 0 and eff_min > eff_sync:
        errors.append(
            "%s.minSyncPeriod: must not be greater than %s.syncPeriod (%s > %s)"
            % (
                section,
                section,
                _get(cfg, section + ".minSyncPeriod", DUR) or min_default,
                _get(cfg, section + ".syncPeriod", DUR) or sync_default,
            )
        )


def config_errors(cfg, kube_version):
    """Every reason kube-proxy of kube_version would reject cfg or silently misbehave with it.

    Returns a list of strings ('<field path>: <what is wrong and what is allowed>'), empty when fine.
    Raises ProxyConfigError when kube_version cannot be parsed.
    """
    version = parse_kube_version(kube_version)
    minor = version[:2]
    if not isinstance(cfg, dict):
        return ["config: must be a KubeProxyConfiguration mapping, got %s" % type(cfg).__name__]
    errors = []
    if cfg.get("apiVersion") != API_VERSION:
        errors.append("apiVersion: must be %s, got %r" % (API_VERSION, cfg.get("apiVersion")))
    if cfg.get("kind") != KIND:
        errors.append("kind: must be %s, got %r" % (KIND, cfg.get("kind")))
    _check_schema(cfg, SCHEMA, "", version, errors)
    _gate_errors(cfg, version, errors)

    mode = _get(cfg, "mode", STR)
    if mode is None:
        mode = ""
    if mode not in ("",) + MODES:
        errors.append("mode: %r is not a proxy mode; allowed: iptables, ipvs, nftables (or empty = iptables)" % mode)
    elif mode == "nftables":
        gate = _effective_gate(cfg, "NFTablesProxyMode", version)
        if minor < (1, 29):
            errors.append("mode: nftables needs Kubernetes >= 1.29 (this is %d.%d); allowed: iptables, ipvs" % minor)
        elif minor < (1, 31) and gate is not True:
            errors.append(
                "mode: nftables on Kubernetes %d.%d needs featureGates: {NFTablesProxyMode: true} "
                "(alpha until 1.31)" % minor
            )
        elif minor < (1, 33) and gate is False:
            errors.append("mode: nftables is off because featureGates.NFTablesProxyMode is false; set it to true")
    elif mode == "ipvs":
        gate = _effective_gate(cfg, "KubeProxyIPVS", version)
        if minor >= (1, 43):
            errors.append("mode: ipvs was removed in Kubernetes 1.43; allowed: iptables, nftables")
        elif minor >= (1, 40) and gate is not True:
            errors.append("mode: ipvs is off by default from Kubernetes 1.40; set featureGates: {KubeProxyIPVS: true}")

    # masquerade bits, sync periods
    for section in ("iptables", "nftables"):
        bit = _get(cfg, section + ".masqueradeBit", INT)
        if bit is not None and not 0 <= bit <= 31:
            errors.append("%s.masqueradeBit: must be within [0, 31], got %d" % (section, bit))
    active = mode or "iptables"
    for section in ("iptables", "ipvs", "nftables"):
        if section == _SYNC_SECTION.get(active) or isinstance(cfg.get(section), dict):
            _sync_errors(cfg, section, errors)

    # ipvs
    for field in ("tcpTimeout", "tcpFinTimeout", "udpTimeout"):
        value = _dur(cfg, "ipvs." + field)
        if value is not None and value < 0:
            errors.append("ipvs.%s: must be 0 or greater (0 keeps the system's value)" % field)
    scheduler = _get(cfg, "ipvs.scheduler", STR)
    if scheduler is not None and scheduler not in ("",) + IPVS_SCHEDULERS:
        errors.append(
            "ipvs.scheduler: %r is not an ipvs scheduler kube-proxy knows; allowed: %s (empty = rr)"
            % (scheduler, ", ".join(IPVS_SCHEDULERS))
        )
    excludes = _get(cfg, "ipvs.excludeCIDRs")
    if isinstance(excludes, list):
        for i, item in enumerate(excludes):
            if isinstance(item, str) and not _is_cidr(item):
                errors.append("ipvs.excludeCIDRs[%d]: %r is not a CIDR such as 10.0.0.0/8" % (i, item))

    # conntrack
    for field in ("maxPerCore", "min"):
        value = _get(cfg, "conntrack." + field, INT)
        if value is not None and value < 0:
            errors.append("conntrack.%s: must be 0 or greater, got %d" % (field, value))
    for field in ("tcpEstablishedTimeout", "tcpCloseWaitTimeout", "udpTimeout", "udpStreamTimeout"):
        value = _dur(cfg, "conntrack." + field)
        if value is not None and value < 0:
            errors.append("conntrack.%s: must be 0 or greater" % field)

    # top level
    oom = _get(cfg, "oomScoreAdj", INT)
    if oom is not None and not -1000 <= oom <= 1000:
        errors.append("oomScoreAdj: must be within [-1000, 1000], got %d" % oom)
    csp = _dur(cfg, "configSyncPeriod")
    if csp is not None and csp <= 0:
        errors.append("configSyncPeriod: must be greater than 0, e.g. 15m0s")
    burst = _get(cfg, "clientConnection.burst", INT)
    if burst is not None and burst < 0:
        errors.append("clientConnection.burst: must be 0 or greater, got %d" % burst)
    qps = _get(cfg, "clientConnection.qps", NUM)
    if qps is not None and qps < 0:
        errors.append("clientConnection.qps: must be 0 or greater, got %s" % qps)
    bind = _get(cfg, "bindAddress", STR)
    if bind is not None and bind != "" and not _is_ip(bind):
        errors.append("bindAddress: %r is not an IP address (e.g. 0.0.0.0)" % bind)
    for field in ("healthzBindAddress", "metricsBindAddress"):
        value = _get(cfg, field, STR)
        if value:
            problem = _host_port_error(value)
            if problem:
                errors.append("%s: %s, got %r" % (field, problem, value))
    port_range = _get(cfg, "portRange", STR)
    if port_range is not None and not _port_range_ok(port_range):
        errors.append("portRange: %r is not a port range such as 30000-32767 (empty = unset)" % port_range)
    _cluster_cidr_errors(cfg, errors)
    _nodeport_errors(cfg, minor, errors)
    _detect_local_errors(cfg, errors)
    shown = _get(cfg, "showHiddenMetricsForVersion", STR)
    if shown:
        expected = "%d.%d" % (version[0], version[1] - 1)
        if shown != expected:
            errors.append(
                "showHiddenMetricsForVersion: only the previous minor version %s is allowed on Kubernetes "
                "%d.%d, got %r" % (expected, version[0], version[1], shown)
            )
    return errors


def _cluster_cidr_errors(cfg, errors):
    value = _get(cfg, "clusterCIDR", STR)
    if not value:
        return
    cidrs = [c.strip() for c in value.split(",")]
    if len(cidrs) > 2:
        errors.append("clusterCIDR: at most 2 comma-separated CIDRs (an IPv4/IPv6 pair), got %r" % value)
        return
    bad = [c for c in cidrs if not _is_cidr(c)]
    if bad:
        errors.append("clusterCIDR: %r is not a CIDR such as 10.233.64.0/18" % bad[0])
        return
    if len(cidrs) == 2:
        families = {ipaddress.ip_network(c, strict=False).version for c in cidrs}
        if families != {4, 6}:
            errors.append("clusterCIDR: two CIDRs must be one IPv4 and one IPv6 (dual-stack), got %r" % value)


def _nodeport_errors(cfg, minor, errors):
    value = _get(cfg, "nodePortAddresses")
    if not isinstance(value, list):
        return
    if "primary" in value:
        if minor < (1, 29):
            errors.append("nodePortAddresses: 'primary' needs Kubernetes >= 1.29; use CIDRs")
        elif len(value) > 1:
            errors.append("nodePortAddresses: can't use both 'primary' and CIDRs; use ['primary'] alone or only CIDRs")
    for i, item in enumerate(value):
        if isinstance(item, str) and item != "primary" and not _is_cidr(item):
            errors.append(
                "nodePortAddresses[%d]: %r is not a CIDR such as 192.168.0.0/16 (or the keyword primary)" % (i, item)
            )


def _detect_local_errors(cfg, errors):
    mode = _get(cfg, "detectLocalMode", STR)
    if mode is None or mode == "":
        return
    if mode not in DETECT_LOCAL_MODES:
        errors.append(
            "detectLocalMode: %r is not allowed; allowed: %s (or empty = ClusterCIDR)"
            % (mode, ", ".join(DETECT_LOCAL_MODES))
        )
    elif mode == "BridgeInterface" and not _get(cfg, "detectLocal.bridgeInterface", STR):
        errors.append("detectLocal.bridgeInterface: must be set (non-empty) when detectLocalMode is BridgeInterface")
    elif mode == "InterfaceNamePrefix" and not _get(cfg, "detectLocal.interfaceNamePrefix", STR):
        errors.append(
            "detectLocal.interfaceNamePrefix: must be set (non-empty) when detectLocalMode is InterfaceNamePrefix"
        )
    elif mode == "ClusterCIDR" and not _get(cfg, "clusterCIDR", STR):
        errors.append("clusterCIDR: must be set when detectLocalMode is ClusterCIDR (e.g. kube_pods_subnet)")


# ---------------------------------------------------------------------------------------------
# the current configuration as Kubespray describes it
# ---------------------------------------------------------------------------------------------
def _kv(variables, name):
    value = variables.get(name)
    return KUBESPRAY_DEFAULTS.get(name) if value is None else value


def _as_list(value):
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.strip("[]").split(",") if item.strip()]
    return list(value)


def _feature_gates(variables):
    """Kubespray's kube_proxy_feature_gates (or kube_feature_gates): a list of 'Name=bool'."""
    gates = _as_list(_kv(variables, "kube_proxy_feature_gates")) or _as_list(_kv(variables, "kube_feature_gates"))
    out = {}
    for item in gates:
        if isinstance(item, dict):
            out.update(item)
            continue
        name, _sep, value = str(item).partition("=")
        out[name.strip()] = value.strip().lower() == "true"
    return out


def kubespray_config(variables):
    """KubeProxyConfiguration that Kubespray renders from its variables (kubeadm-config template).

    variables: a host's vars (hostvars[host]); missing Kubespray variables take Kubespray's defaults
    (KUBESPRAY_DEFAULTS). hostnameOverride is left out: the DaemonSet passes
    --hostname-override=$(NODE_NAME), which wins over the file.
    """
    v = variables or {}
    cfg = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "bindAddress": _kv(v, "kube_proxy_bind_address"),
        "clientConnection": {
            "acceptContentTypes": _kv(v, "kube_proxy_client_accept_content_types"),
            "burst": _kv(v, "kube_proxy_client_burst"),
            "contentType": _kv(v, "kube_proxy_client_content_type"),
            # kubeadm fills in its kubeconfig path when Kubespray leaves this empty
            "kubeconfig": _kv(v, "kube_proxy_client_kubeconfig") or KUBEADM_KUBECONFIG,
            "qps": _kv(v, "kube_proxy_client_qps"),
        },
        "configSyncPeriod": _kv(v, "kube_proxy_config_sync_period"),
        "conntrack": {
            "maxPerCore": _kv(v, "kube_proxy_conntrack_max_per_core"),
            "min": _kv(v, "kube_proxy_conntrack_min"),
            "tcpCloseWaitTimeout": _kv(v, "kube_proxy_conntrack_tcp_close_wait_timeout"),
            "tcpEstablishedTimeout": _kv(v, "kube_proxy_conntrack_tcp_established_timeout"),
        },
        "enableProfiling": _kv(v, "kube_proxy_enable_profiling"),
        "healthzBindAddress": _kv(v, "kube_proxy_healthz_bind_address"),
        "iptables": {
            "masqueradeAll": _kv(v, "kube_proxy_masquerade_all"),
            "masqueradeBit": _kv(v, "kube_proxy_masquerade_bit"),
            "minSyncPeriod": _kv(v, "kube_proxy_min_sync_period"),
            "syncPeriod": _kv(v, "kube_proxy_sync_period"),
        },
        "ipvs": {
            "excludeCIDRs": _as_list(_kv(v, "kube_proxy_exclude_cidrs")),
            "minSyncPeriod": _kv(v, "kube_proxy_min_sync_period"),
            "scheduler": _kv(v, "kube_proxy_scheduler"),
            "syncPeriod": _kv(v, "kube_proxy_sync_period"),
            "strictARP": _kv(v, "kube_proxy_strict_arp"),
            "tcpTimeout": _kv(v, "kube_proxy_tcp_timeout"),
            "tcpFinTimeout": _kv(v, "kube_proxy_tcp_fin_timeout"),
            "udpTimeout": _kv(v, "kube_proxy_udp_timeout"),
        },
        "metricsBindAddress": _kv(v, "kube_proxy_metrics_bind_address"),
        "mode": _kv(v, "kube_proxy_mode"),
        "nodePortAddresses": _as_list(_kv(v, "kube_proxy_nodeport_addresses")),
        "oomScoreAdj": _kv(v, "kube_proxy_oom_score_adj"),
        "portRange": _kv(v, "kube_proxy_port_range"),
    }
    if _kv(v, "kube_network_plugin") != "kube-ovn":
        cidr = _kv(v, "kube_pods_subnet")
        if _kv(v, "enable_dual_stack_networks"):
            cidr = "%s,%s" % (cidr, _kv(v, "kube_pods_subnet_ipv6"))
        cfg["clusterCIDR"] = cidr
    gates = _feature_gates(v)
    if gates:
        cfg["featureGates"] = gates
    return cfg


def current_config(variables, live_config=None):
    """The cluster's current KubeProxyConfiguration: the live one when given, else Kubespray's."""
    if live_config:
        if isinstance(live_config, str):
            if not HAS_YAML:  # pragma: no cover
                raise ProxyConfigError("PyYAML is needed to read the live config.conf")
            live_config = yaml.safe_load(live_config)
        if not isinstance(live_config, dict):
            raise ProxyConfigError("the live config must be a KubeProxyConfiguration mapping")
        return plain(live_config)
    return kubespray_config(plain(variables or {}))


# ---------------------------------------------------------------------------------------------
# translation between modes
# ---------------------------------------------------------------------------------------------
def deep_merge(base, override):
    """Dicts merge recursively; anything else in override replaces base. Returns a new dict."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def effective_mode(cfg):
    mode = (cfg or {}).get("mode") or "iptables"
    return mode


def _warning(wid, message, field=None):
    return {"id": wid, "field": field, "message": message}


def _kernel_tuple(text):
    m = re.match(r"^(\d+)\.(\d+)", str(text or ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


def translate(current, target_mode, overrides=None, kernel_versions=None, kube_version=None):
    """Build the target mode's config from the current one, keeping behaviour.

    current: KubeProxyConfiguration in use (live or from Kubespray's variables).
    target_mode: iptables | ipvs | nftables. overrides: kube_proxy_target_config, merged last.
    kernel_versions: kernel releases of the group's nodes (e.g. ansible_kernel), for the
    tcpBeLiberal warning; None/empty = unknown.
    Returns (config, warnings) where warnings is a list of {id, field, message}.
    """
    if target_mode not in MODES:
        raise ProxyConfigError("target mode must be one of %s, got %r" % (", ".join(MODES), target_mode))
    if not isinstance(current, dict):
        raise ProxyConfigError("current config must be a mapping")
    if overrides is not None and not isinstance(overrides, dict):
        raise ProxyConfigError("kube_proxy_target_config must be a mapping of KubeProxyConfiguration fields")
    current = plain(current)
    overrides = plain(overrides)
    source = effective_mode(current)
    warnings = []
    cfg = copy.deepcopy(current)
    cfg["apiVersion"] = API_VERSION
    cfg["kind"] = KIND
    cfg["mode"] = target_mode

    # the values kube-proxy really uses now, or (when nftables ran from Kubespray's template that has
    # no nftables: block) the values the user asked for through kube_proxy_* variables
    masq_src = current.get(_MASQ_SECTION[source]) or {}
    sync_src = current.get(_SYNC_SECTION[source]) or {}
    if source == "nftables" and not isinstance(current.get("nftables"), dict):
        masq_src = current.get("iptables") or {}
        sync_src = current.get("iptables") or {}
        if masq_src:
            warnings.append(
                _warning(
                    "nftables-section-missing",
                    "The current config runs nftables mode without an nftables: section (Kubespray's template "
                    "has none), so kube_proxy_masquerade_all and the sync periods were ignored; they now go to "
                    "the %s section and take effect." % _SYNC_SECTION[target_mode],
                    "nftables",
                )
            )
    moved = {}
    for key in ("masqueradeAll", "masqueradeBit"):
        if masq_src.get(key) is not None:
            moved.setdefault(_MASQ_SECTION[target_mode], {})[key] = masq_src[key]
    for key in ("syncPeriod", "minSyncPeriod"):
        if sync_src.get(key) is not None:
            moved.setdefault(_SYNC_SECTION[target_mode], {})[key] = sync_src[key]

    old_ipvs = current.get("ipvs") or {}
    old_iptables = current.get("iptables") or {}
    # sections the target mode does not read are dropped, so nothing of ipvs leaks into other modes
    if target_mode != "ipvs":
        cfg.pop("ipvs", None)
    if target_mode != "nftables":
        cfg.pop("nftables", None)
    if target_mode == "nftables":
        cfg.pop("iptables", None)
    elif target_mode == "ipvs" and isinstance(cfg.get("iptables"), dict):
        # ipvs reads only masqueradeAll/masqueradeBit from iptables:
        cfg["iptables"] = {k: v for k, v in cfg["iptables"].items() if k in ("masqueradeAll", "masqueradeBit")}
    cfg = deep_merge(cfg, moved)
    if target_mode == "ipvs":
        cfg.setdefault("ipvs", {})
        if source != "ipvs" and not cfg["ipvs"].get("scheduler"):
            cfg["ipvs"]["scheduler"] = "rr"
    cfg = deep_merge(cfg, overrides or {})

    if source == "ipvs" and target_mode != "ipvs":
        if old_ipvs.get("strictARP"):
            warnings.append(
                _warning(
                    "ipvs-strict-arp",
                    "ipvs.strictARP was on (needed by MetalLB L2 / kube-vip ARP with ipvs); %s mode has no "
                    "kube-ipvs0 interface so it is not needed, but the sysctls arp_ignore=1/arp_announce=2 stay "
                    "set on the nodes until they are reset." % target_mode,
                    "ipvs.strictARP",
                )
            )
        if old_ipvs.get("excludeCIDRs"):
            warnings.append(
                _warning(
                    "ipvs-exclude-cidrs",
                    "ipvs.excludeCIDRs (%s) has no equivalent in %s mode and is dropped."
                    % (", ".join(old_ipvs["excludeCIDRs"]), target_mode),
                    "ipvs.excludeCIDRs",
                )
            )
        if old_ipvs.get("scheduler") not in (None, "", "rr"):
            warnings.append(
                _warning(
                    "ipvs-scheduler",
                    "ipvs.scheduler %s no longer applies: %s mode balances randomly between endpoints."
                    % (old_ipvs["scheduler"], target_mode),
                    "ipvs.scheduler",
                )
            )
    if source == "iptables" and target_mode != "iptables" and old_iptables.get("localhostNodePorts") is not False:
        warnings.append(
            _warning(
                "localhost-nodeports",
                "NodePorts on 127.0.0.1 work only in iptables mode and stop answering in %s mode. Check the "
                "metric kubeproxy_iptables_localhost_nodeports_accepted_packets_total on the nodes before moving."
                % target_mode,
                "iptables.localhostNodePorts",
            )
        )
    if target_mode == "nftables" and source != "nftables":
        if not cfg.get("nodePortAddresses"):
            warnings.append(
                _warning(
                    "nodeport-primary",
                    "nodePortAddresses is unset: in nftables mode NodePorts answer only on the node's primary IP "
                    "(iptables/ipvs answer on every local IP). To keep the old behaviour pin it in "
                    "kube_proxy_target_config, e.g. nodePortAddresses: [0.0.0.0/0] (IPv4) or your node CIDRs; "
                    "to accept the new one set nodePortAddresses: [primary].",
                    "nodePortAddresses",
                )
            )
        warnings.append(
            _warning(
                "nodeport-firewall",
                "nftables mode opens no firewall holes for NodePorts: a host firewall (firewalld, nftables "
                "rules with policy drop) must allow the NodePort range itself.",
                None,
            )
        )
        if not _get(cfg, "conntrack.tcpBeLiberal"):
            kernels = [k for k in (kernel_versions or []) if _kernel_tuple(k)]
            old = sorted({k for k in kernels if _kernel_tuple(k) < (6, 1)})
            if old or not kernels:
                which = "kernels %s are older than 6.1" % ", ".join(old) if old else "the kernel versions are unknown"
                warnings.append(
                    _warning(
                        "tcp-be-liberal",
                        "nftables mode has no 'ct state invalid drop' workaround and %s; if the metric "
                        "kubeproxy_iptables_ct_state_invalid_dropped_packets_total is non-zero today, set "
                        "conntrack: {tcpBeLiberal: true} in kube_proxy_target_config." % which,
                        "conntrack.tcpBeLiberal",
                    )
                )
    if target_mode == "ipvs" and kube_version:
        try:
            ver = parse_kube_version(kube_version)
        except ProxyConfigError:
            ver = None
        if ver and ver[:2] >= (1, 35):
            warnings.append(
                _warning(
                    "ipvs-deprecated",
                    "ipvs mode is deprecated since Kubernetes 1.35 (off by default 1.40, removed 1.43); "
                    "consider nftables.",
                    "mode",
                )
            )
    return cfg, warnings


# ---------------------------------------------------------------------------------------------
# node groups
# ---------------------------------------------------------------------------------------------
def group_name_errors(name):
    if not isinstance(name, str) or not _GROUP_NAME_RE.match(name) or len(name) > GROUP_NAME_MAX:
        return [
            "must be a lower-case DNS label of at most %d characters (a-z, 0-9, '-'), got %r" % (GROUP_NAME_MAX, name)
        ]
    return []


def _canonical(value):
    return json.dumps(value, sort_keys=True, default=str)


def _diff_paths(left, right, prefix=""):
    """Dotted paths where two configs differ."""
    if isinstance(left, dict) and isinstance(right, dict):
        out = []
        for key in sorted(set(left) | set(right), key=str):
            sub = "%s.%s" % (prefix, key) if prefix else str(key)
            if key not in left or key not in right:
                out.append(sub)
            else:
                out.extend(_diff_paths(left[key], right[key], sub))
        return out
    return [] if _canonical(left) == _canonical(right) else [prefix or "config"]


def build_group_configs(hostvars_by_host, hosts=None, live_config=None, defaults=None, kube_version=None):
    """Group hosts by kube_proxy_node_group and build each group's target config.

    hostvars_by_host: {host: vars}; hosts: the hosts to consider (default: all of them).
    live_config: the live config.conf of kube-system/kube-proxy (dict or YAML text), the base when given.
    defaults: Kubespray's defaults to use for variables a host does not set (default: KUBESPRAY_DEFAULTS).
    kube_version: Kubernetes version for hosts that do not set kube_version.
    Returns {group: {mode, current_mode, hosts, config, warnings, errors, kube_version}}. Problems
    with a host's variables are in its group's errors, naming host, variable and allowed values.
    """
    if not hasattr(hostvars_by_host, "get"):
        raise ProxyConfigError("hostvars must be a mapping of host name to variables")
    names = list(hosts) if hosts is not None else sorted(hostvars_by_host)
    per_host = {}
    for host in names:
        if hostvars_by_host.get(host) is None:
            raise ProxyConfigError("host %s has no hostvars" % host)
        v = dict(defaults or {})
        v.update((k, plain(val)) for k, val in hostvars_by_host[host].items() if val is not None)
        errors = []
        base = current_config(v, live_config)
        mode = v.get("kube_proxy_target_mode")
        if mode is None:
            mode = effective_mode(base)
        if mode not in MODES:
            errors.append("host %s: kube_proxy_target_mode is %r; allowed: %s" % (host, mode, ", ".join(MODES)))
        overrides = v.get("kube_proxy_target_config") or {}
        if not isinstance(overrides, dict):
            errors.append(
                "host %s: kube_proxy_target_config must be a mapping of KubeProxyConfiguration fields "
                "(upstream spelling), got %s" % (host, type(overrides).__name__)
            )
            overrides = {}
        group = v.get("kube_proxy_node_group") or (mode if mode in MODES else "invalid")
        for problem in group_name_errors(group):
            errors.append("host %s: kube_proxy_node_group %s" % (host, problem))
        host_version = v.get("kube_version") or kube_version
        config, warnings = (base, [])
        if mode in MODES:
            config, warnings = translate(
                base,
                mode,
                overrides,
                kernel_versions=[v["ansible_kernel"]] if v.get("ansible_kernel") else None,
                kube_version=host_version,
            )
        per_host[host] = {
            "group": str(group),
            "mode": mode,
            "current_mode": effective_mode(base),
            "config": config,
            "warnings": warnings,
            "errors": errors,
            "kube_version": host_version,
            "kernel": v.get("ansible_kernel"),
            "base": base,
            "overrides": overrides,
        }

    groups = {}
    for host in names:
        groups.setdefault(per_host[host]["group"], []).append(host)
    result = {}
    for group, members in sorted(groups.items()):
        first = per_host[members[0]]
        errors = []
        for host in members:
            errors.extend(per_host[host]["errors"])
        modes = {}
        for host in members:
            modes.setdefault(str(per_host[host]["mode"]), []).append(host)
        if len(modes) > 1:
            errors.append(
                "node group %s: hosts disagree on kube_proxy_target_mode (%s); hosts sharing kube_proxy_node_group "
                "must have the same mode" % (group, "; ".join("%s: %s" % (m, ", ".join(hs)) for m, hs in modes.items()))
            )
        else:
            for host in members[1:]:
                paths = _diff_paths(first["config"], per_host[host]["config"])
                if paths:
                    errors.append(
                        "node group %s: hosts %s and %s disagree on %s; hosts sharing kube_proxy_node_group must have "
                        "the same kube_proxy_target_config and kube_proxy_* variables"
                        % (group, members[0], host, ", ".join(paths))
                    )
        versions = sorted({str(per_host[h]["kube_version"]) for h in members if per_host[h]["kube_version"]})
        group_version = versions[0] if versions else None
        if not versions:
            errors.append("node group %s: kube_version is not set for hosts %s" % (group, ", ".join(members)))
        elif len(versions) > 1:
            errors.append("node group %s: hosts disagree on kube_version (%s)" % (group, ", ".join(versions)))
        config = first["config"]
        if group_version and first["mode"] in MODES:
            try:
                for problem in config_errors(config, group_version):
                    errors.append("node group %s (hosts %s): %s" % (group, ", ".join(members), problem))
            except ProxyConfigError as exc:
                errors.append("node group %s: %s" % (group, exc))
        warnings = first["warnings"]
        if first["mode"] in MODES and len(members) > 1:
            # kernel-dependent warnings consider every node of the group (unknown if any is unknown)
            kernels = [per_host[h]["kernel"] for h in members]
            _cfg, warnings = translate(
                first["base"],
                first["mode"],
                first["overrides"],
                kernel_versions=kernels if all(kernels) else None,
                kube_version=group_version,
            )
        result[group] = {
            "mode": first["mode"],
            "current_mode": first["current_mode"],
            "hosts": members,
            "config": config,
            "warnings": warnings,
            "errors": errors,
            "kube_version": group_version,
        }
    return result


# ---------------------------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------------------------
def config_text(config):
    """config.conf text: YAML dumped from data (block style, sorted keys)."""
    config = plain(config)
    if HAS_YAML:
        return yaml.safe_dump(config, default_flow_style=False, sort_keys=True)
    return json.dumps(config, sort_keys=True, indent=2) + "\n"  # pragma: no cover - JSON is YAML


def config_hash(config):
    return hashlib.sha256(_canonical(config).encode("utf-8")).hexdigest()[:16]


def image_for(variables):
    """kube-proxy image from Kubespray's variables (kube_proxy_image_repo/_tag, kube_image_repo, kube_version)."""
    v = variables or {}
    repo = v.get("kube_proxy_image_repo") or "%s/kube-proxy" % (
        v.get("kube_image_repo") or KUBESPRAY_DEFAULTS["kube_image_repo"]
    )
    tag = v.get("kube_proxy_image_tag")
    if not tag:
        version = v.get("kube_version")
        if not version:
            raise ProxyConfigError("kube_version is needed for the kube-proxy image tag")
        parse_kube_version(str(version))
        tag = "v" + str(version).strip().lstrip("v")
    return "%s:%s" % (repo, tag)


def group_resource_name(group):
    return "kube-proxy-%s" % group


def render_group_manifests(group, config, variables=None):
    """[ConfigMap, DaemonSet] named kube-system/kube-proxy-<group> for one node group.

    The DaemonSet is kubeadm's kube-proxy DaemonSet restricted by nodeSelector to nodes labelled
    kube-proxy.mode/group=<group>. variables: kube_version, kube_image_repo, kube_proxy_image_repo,
    kube_proxy_image_tag (Kubespray's), plus optional kubeconfig_configmap (default kube-proxy:
    kubeadm's ConfigMap whose kubeconfig.conf is projected next to config.conf).
    """
    problems = group_name_errors(group)
    if problems:
        raise ProxyConfigError("node group name %s" % problems[0])
    if not isinstance(config, dict):
        raise ProxyConfigError("config must be a KubeProxyConfiguration mapping")
    v = plain(variables or {})
    config = plain(config)
    name = group_resource_name(group)
    labels = {
        APP_LABEL: APP_VALUE,
        GROUP_LABEL: group,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    selector = {APP_LABEL: APP_VALUE, GROUP_LABEL: group}
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(labels)},
        "data": {"config.conf": config_text(config)},
    }
    kubeconfig_cm = v.get("kubeconfig_configmap") or "kube-proxy"
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {
                    "labels": dict(labels),
                    "annotations": {CONFIG_HASH_ANNOTATION: config_hash(config)},
                },
                "spec": {
                    "containers": [
                        {
                            "name": "kube-proxy",
                            "image": image_for(v),
                            "imagePullPolicy": "IfNotPresent",
                            "command": [
                                "/usr/local/bin/kube-proxy",
                                "--config=/var/lib/kube-proxy/config.conf",
                                "--hostname-override=$(NODE_NAME)",
                            ],
                            "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                            "securityContext": {"privileged": True},
                            "volumeMounts": [
                                {"name": "kube-proxy", "mountPath": "/var/lib/kube-proxy"},
                                {"name": "xtables-lock", "mountPath": "/run/xtables.lock", "readOnly": False},
                                {"name": "lib-modules", "mountPath": "/lib/modules", "readOnly": True},
                            ],
                        }
                    ],
                    "hostNetwork": True,
                    "dnsPolicy": "ClusterFirst",
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "kube-proxy",
                    "nodeSelector": {"kubernetes.io/os": "linux", GROUP_LABEL: group},
                    "tolerations": [{"operator": "Exists"}],
                    "volumes": [
                        {
                            "name": "kube-proxy",
                            "projected": {
                                "sources": [
                                    {
                                        "configMap": {
                                            "name": name,
                                            "items": [{"key": "config.conf", "path": "config.conf"}],
                                        }
                                    },
                                    {
                                        "configMap": {
                                            "name": kubeconfig_cm,
                                            "items": [{"key": "kubeconfig.conf", "path": "kubeconfig.conf"}],
                                        }
                                    },
                                ]
                            },
                        },
                        {"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}},
                        {"name": "lib-modules", "hostPath": {"path": "/lib/modules"}},
                    ],
                },
            },
        },
    }
    return [configmap, daemonset]


def render_kubeadm_configmap(config, live_configmap=None):
    """kubeadm's ConfigMap kube-system/kube-proxy with config.conf replaced (hand-back to kubeadm).

    live_configmap: the live ConfigMap (dict, e.g. from kubectl get -o json); its other data keys
    (kubeconfig.conf) and labels are kept so applying the result does not drop them.
    """
    if not isinstance(config, dict):
        raise ProxyConfigError("config must be a KubeProxyConfiguration mapping")
    live = plain(live_configmap or {})
    data = dict(live.get("data") or {})
    data["config.conf"] = config_text(config)
    labels = dict((live.get("metadata") or {}).get("labels") or {"app": "kube-proxy"})
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kube-proxy", "namespace": NAMESPACE, "labels": labels},
        "data": data,
    }
