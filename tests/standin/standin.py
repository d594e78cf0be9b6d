#!/usr/bin/env python
# Copyright: (c) 2026, kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster stand-in for the kube_proxy.mode tests (stdlib only, Python >= 3.9).

Roles (first argument, or the name the program is called by):

  apiserver   keeps the cluster objects in a JSON file, runs a DaemonSet controller and answers
              the stand-in kubectl and the node agents over plain HTTP (TCP and/or a unix socket)
  kubectl     the client: the subset of kubectl the collection uses (see docs/standin.md);
              anything else fails with "stand-in: unsupported kubectl call: ..."
  agent       the kube-proxy stand-in of one node: follows the kube-proxy DaemonSet selecting the
              node, does kube-proxy's start-up cleanup, programs the real kernel state of the mode
              and answers /healthz on :10256
  seed        writes a cluster seed (nodes, kube-proxy DaemonSet + ConfigMap, Services, CNI objects)
  render      prints the rules the agent would program for a mode (debugging)
"""

from __future__ import annotations

import importlib
import json
import os
import re
import socket
import sys
import time


class _Lazy:
    """Imported on first use: the kubectl client starts in seconds even in a slow TCG guest."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)


argparse = _Lazy("argparse")
base64 = _Lazy("base64")
copy = _Lazy("copy")
hashlib = _Lazy("hashlib")
ipaddress = _Lazy("ipaddress")
random = _Lazy("random")
shutil = _Lazy("shutil")
subprocess = _Lazy("subprocess")
threading = _Lazy("threading")
traceback = _Lazy("traceback")
urllib_parse = _Lazy("urllib.parse")


def _yaml():
    """PyYAML when installed (python3-yaml), else None; JSON is always accepted."""
    try:
        import yaml  # type: ignore
    except ImportError:  # pragma: no cover - depends on the machine
        return None
    return yaml


DEFAULT_K8S_VERSION = "v1.33.4"
FAIL_ANNOTATION = "standin.kube-proxy.mode/fail"
FAIL_FILE = "/etc/standin/fail"
HEALTH_STALE_SECONDS = 10.0


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def rand_suffix(n: int = 5) -> str:
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _i in range(n))


class UsageError(Exception):
    """Unsupported or malformed call: exit 1 with the message."""


# --------------------------------------------------------------------------------------------
# resources
# --------------------------------------------------------------------------------------------
# resource -> (apiVersion, kind, namespaced, group-qualified name used in messages, short name for -o name)
RESOURCES = {
    "nodes": ("v1", "Node", False, "nodes", "node"),
    "namespaces": ("v1", "Namespace", False, "namespaces", "namespace"),
    "pods": ("v1", "Pod", True, "pods", "pod"),
    "configmaps": ("v1", "ConfigMap", True, "configmaps", "configmap"),
    "services": ("v1", "Service", True, "services", "service"),
    "daemonsets": ("apps/v1", "DaemonSet", True, "daemonsets.apps", "daemonset.apps"),
    "installations.operator.tigera.io": (
        "operator.tigera.io/v1",
        "Installation",
        False,
        "installations.operator.tigera.io",
        "installation.operator.tigera.io",
    ),
    "felixconfigurations.crd.projectcalico.org": (
        "crd.projectcalico.org/v1",
        "FelixConfiguration",
        False,
        "felixconfigurations.crd.projectcalico.org",
        "felixconfiguration.crd.projectcalico.org",
    ),
}
ALIASES = {
    "node": "nodes",
    "no": "nodes",
    "namespace": "namespaces",
    "ns": "namespaces",
    "pod": "pods",
    "po": "pods",
    "configmap": "configmaps",
    "cm": "configmaps",
    "service": "services",
    "svc": "services",
    "daemonset": "daemonsets",
    "ds": "daemonsets",
    "daemonsets.apps": "daemonsets",
    "daemonset.apps": "daemonsets",
    "installation": "installations.operator.tigera.io",
    "installations": "installations.operator.tigera.io",
    "installation.operator.tigera.io": "installations.operator.tigera.io",
    "felixconfiguration": "felixconfigurations.crd.projectcalico.org",
    "felixconfigurations": "felixconfigurations.crd.projectcalico.org",
    "felixconfiguration.crd.projectcalico.org": "felixconfigurations.crd.projectcalico.org",
}
KIND_TO_RESOURCE = {v[1]: k for k, v in RESOURCES.items()}
CRD_RESOURCES = ("installations.operator.tigera.io", "felixconfigurations.crd.projectcalico.org")


def resolve_resource(word: str) -> str:
    w = word.lower()
    if w in RESOURCES:
        return w
    if w in ALIASES:
        return ALIASES[w]
    raise UsageError(f"resource type {word!r}")


def split_type_name(word: str) -> tuple[str, str | None]:
    if "/" in word:
        t, n = word.split("/", 1)
        return resolve_resource(t), n
    return resolve_resource(word), None


# --------------------------------------------------------------------------------------------
# label selectors and node selection
# --------------------------------------------------------------------------------------------
_SEL_SET = re.compile(r"^\s*(!?)([A-Za-z0-9._/-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


def parse_selector(text: str) -> list[tuple[str, str, list[str]]]:
    """'a=b,c!=d,e,!f,g in (x,y)' -> [(key, op, values)]."""
    reqs: list[tuple[str, str, list[str]]] = []
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    for p in parts:
        m = re.match(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$", p)
        if m:
            reqs.append((m.group(1), "NotIn" if m.group(2) == "!=" else "In", [m.group(3)]))
            continue
        m = _SEL_SET.match(p)
        if not m:
            raise UsageError(f"unable to parse selector {text!r}")
        neg, key, op, vals = m.groups()
        if op:
            reqs.append((key, "In" if op == "in" else "NotIn", [v.strip() for v in vals.split(",") if v.strip()]))
        else:
            reqs.append((key, "DoesNotExist" if neg else "Exists", []))
    return reqs


def match_requirements(labels: dict, reqs) -> bool:
    labels = labels or {}
    for key, op, vals in reqs:
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def label_selector_reqs(sel: dict | None) -> list:
    """metav1.LabelSelector -> requirements."""
    reqs = []
    for k, v in ((sel or {}).get("matchLabels") or {}).items():
        reqs.append((k, "In", [v]))
    for e in (sel or {}).get("matchExpressions") or []:
        reqs.append((e["key"], e["operator"], e.get("values") or []))
    return reqs


def node_matches_pod_spec(node: dict, spec: dict) -> bool:
    """nodeSelector + requiredDuringScheduling node affinity (matchExpressions and matchFields on metadata.name).

    Taints and tolerations are not evaluated: every DaemonSet the collection deals with tolerates all.
    """
    labels = node["metadata"].get("labels") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    req = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    ) or {}
    terms = req.get("nodeSelectorTerms") or []
    if not terms:
        return True
    for term in terms:
        ok = match_requirements(
            labels, [(e["key"], e["operator"], e.get("values") or []) for e in term.get("matchExpressions") or []]
        )
        for f in term.get("matchFields") or []:
            fl = {"metadata.name": node["metadata"]["name"]}
            ok = ok and match_requirements(fl, [(f["key"], f["operator"], f.get("values") or [])])
        if ok:
            return True
    return False


# --------------------------------------------------------------------------------------------
# object store + controllers (apiserver side)
# --------------------------------------------------------------------------------------------
def obj_key(res: str, ns: str | None, name: str) -> str:
    return f"{ns}/{name}" if RESOURCES[res][2] else name


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = copy.deepcopy(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def json_pointer_parts(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def json_patch(doc, ops):
    """RFC 6902 subset: add, remove, replace, test."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = json_pointer_parts(op["path"])
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        kind = op["op"]
        if isinstance(parent, list):
            idx = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(idx, op["value"])
            elif kind == "remove":
                parent.pop(idx)
            elif kind == "replace":
                parent[idx] = op["value"]
            elif kind == "test" and parent[idx] != op["value"]:
                raise UsageError("json patch test failed")
        else:
            if kind in ("add", "replace"):
                if kind == "replace" and last not in parent:
                    raise UsageError(f"json patch: path {op['path']} does not exist")
                parent[last] = op["value"]
            elif kind == "remove":
                if last not in parent:
                    raise UsageError(f"json patch: path {op['path']} does not exist")
                del parent[last]
            elif kind == "test" and parent.get(last) != op["value"]:
                raise UsageError("json patch test failed")
            elif kind not in ("add", "replace", "remove", "test"):
                raise UsageError(f"json patch op {kind!r}")
    return doc


class ApiError(Exception):
    def __init__(self, message: str, rc: int = 1):
        super().__init__(message)
        self.message = message
        self.rc = rc


def not_found(res: str, name: str) -> ApiError:
    return ApiError(f'Error from server (NotFound): {RESOURCES[res][3]} "{name}" not found')


def is_kube_proxy_container(c: dict) -> bool:
    image = c.get("image") or ""
    return c.get("name") == "kube-proxy" or bool(re.search(r"(^|/)kube-proxy(:|@|$)", image))


def is_kube_proxy_ds(ds: dict) -> bool:
    return any(is_kube_proxy_container(c) for c in ds["spec"]["template"]["spec"].get("containers") or [])


def template_hash(template: dict) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


class Store:
    def __init__(self, path: str | None):
        self.path = path
        self.lock = WaitableLock()
        self.objects: dict[str, dict[str, dict]] = {r: {} for r in RESOURCES}
        self.rv = 1
        self.meta: dict = {"kubernetesVersion": DEFAULT_K8S_VERSION}
        self.health: dict[str, dict] = {}  # node -> last agent report (+ "at")
        self.rr = 0

    # persistence -------------------------------------------------------------------------
    def load(self, data: dict) -> None:
        self.meta = data.get("standin") or self.meta
        self.rv = int(data.get("resourceVersion", 1))
        for res in RESOURCES:
            self.objects[res] = {}
        for obj in data.get("items") or []:
            self.put(obj, create_only=False, quiet=True)
        self.health = data.get("health") or {}

    def dump(self) -> dict:
        items = [o for res in RESOURCES for o in self.objects[res].values()]
        return {
            "apiVersion": "v1",
            "kind": "List",
            "standin": self.meta,
            "resourceVersion": self.rv,
            "health": self.health,
            "items": items,
        }

    def save(self) -> None:
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.dump(), f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    # basic access ------------------------------------------------------------------------
    def get(self, res: str, ns: str | None, name: str) -> dict | None:
        return self.objects[res].get(obj_key(res, ns, name))

    def list(self, res: str, ns: str | None = None) -> list[dict]:
        out = [o for o in self.objects[res].values() if ns is None or o["metadata"].get("namespace") == ns]
        return sorted(out, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def bump(self, obj: dict) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    def validate(self, res: str, obj: dict, old: dict | None) -> None:
        kind, name = RESOURCES[res][1], obj["metadata"].get("name") or ""
        if not re.match(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", name) or len(name) > 253:
            raise ApiError(f'The {kind} "{name}" is invalid: metadata.name: Invalid value: "{name}"')
        for k, v in (obj["metadata"].get("labels") or {}).items():
            if (
                not isinstance(v, str)
                or not re.match(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", v)
                or len(v) > 63
            ):
                raise ApiError(f'The {kind} "{name}" is invalid: metadata.labels: Invalid value: "{v}" (label {k})')
        if res == "configmaps":
            for k, v in (obj.get("data") or {}).items():
                if not isinstance(v, str):
                    raise ApiError(f'The ConfigMap "{name}" is invalid: data[{k}]: must be a string')
        if res == "daemonsets":
            spec = obj.get("spec") or {}
            tmpl = spec.get("template") or {}
            sel = spec.get("selector")
            if not sel:
                raise ApiError(f'The DaemonSet "{name}" is invalid: spec.selector: Required value')
            if not match_requirements((tmpl.get("metadata") or {}).get("labels") or {}, label_selector_reqs(sel)):
                raise ApiError(
                    f'The DaemonSet "{name}" is invalid: spec.template.metadata.labels: Invalid value: '
                    f"{json.dumps((tmpl.get('metadata') or {}).get('labels'))}: `selector` does not"
                    f" match template `labels`"
                )
            if not (tmpl.get("spec") or {}).get("containers"):
                raise ApiError(f'The DaemonSet "{name}" is invalid: spec.template.spec.containers: Required value')
            if old is not None and old["spec"].get("selector") != sel:
                raise ApiError(
                    f'The DaemonSet "{name}" is invalid: spec.selector: Invalid value:'
                    f' {json.dumps(sel)}: field is immutable'
                )
        old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
        if res == "services" and old_ip and (obj.get("spec") or {}).get("clusterIP") not in (None, "", old_ip):
            raise ApiError(f'The Service "{name}" is invalid: spec.clusterIP: Invalid value: field is immutable')

    def put(self, obj: dict, create_only: bool = False, quiet: bool = False) -> tuple[dict, str]:
        """Create or replace an object (apply semantics: status and server fields kept). Returns (obj, verb)."""
        kind = obj.get("kind")
        res = KIND_TO_RESOURCE.get(kind or "")
        if res is None:
            raise ApiError(
                f'error: resource mapping not found for kind "{kind}": stand-in knows {sorted(KIND_TO_RESOURCE)}'
            )
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = obj.get("apiVersion") or RESOURCES[res][0]
        md = obj.setdefault("metadata", {})
        namespaced = RESOURCES[res][2]
        if namespaced:
            md["namespace"] = md.get("namespace") or "default"
            if not quiet and md["namespace"] not in self.objects["namespaces"]:
                raise ApiError(f'Error from server (NotFound): namespaces "{md["namespace"]}" not found')
        else:
            md.pop("namespace", None)
        key = obj_key(res, md.get("namespace"), md.get("name", ""))
        old = self.objects[res].get(key)
        if old is not None and create_only:
            raise ApiError(f'Error from server (AlreadyExists): {RESOURCES[res][3]} "{md["name"]}" already exists')
        if not quiet:
            self.validate(res, obj, old)
        if old is not None:
            new = copy.deepcopy(obj)
            for f in ("uid", "creationTimestamp", "generation", "resourceVersion"):
                if f in old["metadata"]:
                    new["metadata"][f] = old["metadata"][f]
            if "status" in old and not quiet:
                new["status"] = old["status"]
            if res == "services" and old.get("spec", {}).get("clusterIP") and not new.get("spec", {}).get("clusterIP"):
                new.setdefault("spec", {})["clusterIP"] = old["spec"]["clusterIP"]
            strip = ("resourceVersion", "managedFields")
            a = {k: v for k, v in old["metadata"].items() if k not in strip}
            b = {k: v for k, v in new["metadata"].items() if k not in strip}
            same = a == b and {k: v for k, v in old.items() if k not in ("metadata", "status")} == {
                k: v for k, v in new.items() if k not in ("metadata", "status")
            }
            if same:
                return old, "unchanged"
            if old.get("spec") != new.get("spec"):
                new["metadata"]["generation"] = int(old["metadata"].get("generation", 1)) + 1
            self.bump(new)
            self.objects[res][key] = new
            return new, "configured"
        md.setdefault("uid", hashlib.md5(f"{key}{time.time()}{random.random()}".encode()).hexdigest())
        md.setdefault("creationTimestamp", now_iso())
        md.setdefault("generation", 1)
        if res == "services":
            self._default_service(obj)
        if res == "nodes":
            self._default_node(obj)
        self.bump(obj)
        self.objects[res][key] = obj
        return obj, "created"

    def delete(self, res: str, ns: str | None, name: str) -> dict:
        key = obj_key(res, ns, name)
        obj = self.objects[res].pop(key, None)
        if obj is None:
            raise not_found(res, name)
        if res == "daemonsets":
            for p in self.pods_of(obj):
                self.objects["pods"].pop(obj_key("pods", p["metadata"]["namespace"], p["metadata"]["name"]), None)
        if res == "namespaces":
            for r, spec in RESOURCES.items():
                if spec[2]:
                    for k in [k for k, o in self.objects[r].items() if o["metadata"].get("namespace") == name]:
                        del self.objects[r][k]
        self.rv += 1
        return obj

    # defaults ----------------------------------------------------------------------------
    def _default_service(self, svc: dict) -> None:
        spec = svc.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if not spec.get("clusterIP"):
            used = {o["spec"].get("clusterIP") for o in self.objects["services"].values()}
            net = ipaddress.ip_network(self.meta.get("serviceCIDR", "10.233.0.0/18"))
            for ip in list(net.hosts())[9:]:
                if str(ip) not in used:
                    spec["clusterIP"] = str(ip)
                    break
        spec["clusterIPs"] = [spec["clusterIP"]]
        used_np = {p.get("nodePort") for o in self.objects["services"].values() for p in o["spec"].get("ports") or []}
        for i, p in enumerate(spec.get("ports") or []):
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p.get("port"))
            if spec["type"] in ("NodePort", "LoadBalancer") and not p.get("nodePort"):
                port = 30000 + (int(hashlib.md5(f"{svc['metadata']['name']}{i}".encode()).hexdigest(), 16) % 2700)
                while port in used_np:
                    port += 1
                p["nodePort"] = port
                used_np.add(port)

    def _default_node(self, node: dict) -> None:
        st = node.setdefault("status", {})
        st.setdefault(
            "conditions",
            [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastTransitionTime": now_iso(),
                }
            ],
        )
        info = st.setdefault("nodeInfo", {})
        info.setdefault("kubeletVersion", self.meta.get("kubernetesVersion", DEFAULT_K8S_VERSION))
        info.setdefault("kubeProxyVersion", "")
        info.setdefault("operatingSystem", "linux")
        info.setdefault("architecture", "amd64")
        info.setdefault("containerRuntimeVersion", "containerd://1.7.24")
        info.setdefault("kernelVersion", "")
        info.setdefault("osImage", "")

    # controllers -------------------------------------------------------------------------
    def pods_of(self, ds: dict) -> list[dict]:
        uid = ds["metadata"]["uid"]
        return [
            p
            for p in self.objects["pods"].values()
            if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])
        ]

    def node_ip(self, node: dict) -> str:
        for a in (node.get("status") or {}).get("addresses") or []:
            if a.get("type") == "InternalIP":
                return a["address"]
        return ""

    def _pod_ready_from_health(self, pod: dict, ds: dict) -> tuple[bool, dict]:
        if not is_kube_proxy_ds(ds):
            return True, {}
        rep = self.health.get(pod["spec"]["nodeName"]) or {}
        fresh = time.time() - float(rep.get("at", 0)) < HEALTH_STALE_SECONDS
        ok = fresh and rep.get("podUID") == pod["metadata"]["uid"] and bool(rep.get("healthy"))
        return ok, rep if fresh and rep.get("podUID") == pod["metadata"]["uid"] else {}

    def new_ds_pod(self, ds: dict, node: dict, thash: str) -> dict:
        tmpl = copy.deepcopy(ds["spec"]["template"])
        labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
        labels["controller-revision-hash"] = thash
        labels["pod-template-generation"] = str(ds["metadata"].get("generation", 1))
        host_network = bool(tmpl["spec"].get("hostNetwork"))
        spec = tmpl["spec"]
        spec["nodeName"] = node["metadata"]["name"]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{ds['metadata']['name']}-{rand_suffix()}",
                "namespace": ds["metadata"]["namespace"],
                "labels": labels,
                "annotations": dict((tmpl.get("metadata") or {}).get("annotations") or {}),
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "DaemonSet",
                        "name": ds["metadata"]["name"],
                        "uid": ds["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": spec,
            "status": {
                "phase": "Running",
                "hostIP": self.node_ip(node),
                "startTime": now_iso(),
                "podIP": self.node_ip(node) if host_network else self.alloc_pod_ip(node),
            },
        }
        self.put(pod, quiet=True)
        return self.get("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])

    def alloc_pod_ip(self, node: dict) -> str:
        cidr = (node.get("spec") or {}).get("podCIDR")
        if not cidr:
            return ""
        used = {p["status"].get("podIP") for p in self.objects["pods"].values()}
        for ip in list(ipaddress.ip_network(cidr).hosts())[1:]:
            if str(ip) not in used:
                return str(ip)
        return ""

    def set_pod_status(self, pod: dict, ready: bool, rep: dict) -> None:
        st = pod.setdefault("status", {})
        old = json.dumps(st, sort_keys=True)
        cond = "True" if ready else "False"
        prev = {c["type"]: c for c in st.get("conditions") or []}
        conds = []
        for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled"):
            s = "True" if t in ("Initialized", "PodScheduled") else cond
            c = prev.get(t) or {}
            ltt = c.get("lastTransitionTime") if c.get("status") == s else now_iso()
            conds.append({"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": ltt})
        st["conditions"] = conds
        cstats = []
        for c in pod["spec"].get("containers") or []:
            state = {"running": {"startedAt": st.get("startTime")}}
            if rep.get("state") == "CrashLoopBackOff" and is_kube_proxy_container(c):
                state = {"waiting": {"reason": "CrashLoopBackOff", "message": rep.get("message", "")}}
            cstats.append(
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "ready": ready,
                    "started": ready,
                    "restartCount": int(rep.get("restarts", 0)),
                    "state": state,
                }
            )
        st["containerStatuses"] = cstats
        if json.dumps(st, sort_keys=True) != old:
            self.bump(pod)

    def reconcile(self) -> None:
        """DaemonSet controller (RollingUpdate maxUnavailable, OnDelete), pod readiness, node info."""
        nodes = self.list("nodes")
        for ds in self.list("daemonsets"):
            spec = ds["spec"]
            thash = template_hash(spec["template"])
            strategy = spec.get("updateStrategy") or {"type": "RollingUpdate"}
            max_unavail = str(((strategy.get("rollingUpdate") or {}).get("maxUnavailable")) or 1)
            wanted = {n["metadata"]["name"]: n for n in nodes if node_matches_pod_spec(n, spec["template"]["spec"])}
            if max_unavail.endswith("%"):
                max_unavail = max(1, len(wanted) * int(max_unavail[:-1]) // 100)
            max_unavail = int(max_unavail)
            pods = self.pods_of(ds)
            by_node: dict[str, list] = {}
            for p in pods:
                by_node.setdefault(p["spec"]["nodeName"], []).append(p)
            for node_name, plist in by_node.items():  # misscheduled or duplicated
                if node_name not in wanted:
                    for p in plist:
                        self.objects["pods"].pop(obj_key("pods", p["metadata"]["namespace"], p["metadata"]["name"]))
                        self.rv += 1
            for node_name, node in wanted.items():
                if node_name not in by_node:
                    self.new_ds_pod(ds, node, thash)
            pods = [p for p in self.pods_of(ds) if p["spec"]["nodeName"] in wanted]
            for p in pods:
                ready, rep = self._pod_ready_from_health(p, ds)
                self.set_pod_status(p, ready, rep)
            if strategy.get("type", "RollingUpdate") == "RollingUpdate":
                unavailable = sum(1 for p in pods if not self._pod_ready_from_health(p, ds)[0])
                old_pods = sorted(
                    (p for p in pods if p["metadata"]["labels"].get("controller-revision-hash") != thash),
                    key=lambda p: (self._pod_ready_from_health(p, ds)[0], p["spec"]["nodeName"]),
                )
                for p in old_pods:
                    was_ready = self._pod_ready_from_health(p, ds)[0]
                    if was_ready and unavailable >= max_unavail:
                        break
                    self.objects["pods"].pop(obj_key("pods", p["metadata"]["namespace"], p["metadata"]["name"]))
                    newp = self.new_ds_pod(ds, wanted[p["spec"]["nodeName"]], thash)
                    self.set_pod_status(newp, False, {})
                    if was_ready:
                        unavailable += 1
            pods = [p for p in self.pods_of(ds) if p["spec"]["nodeName"] in wanted]
            ready_n = sum(1 for p in pods if self._pod_ready_from_health(p, ds)[0])
            updated = [p for p in pods if p["metadata"]["labels"].get("controller-revision-hash") == thash]
            status = {
                "currentNumberScheduled": len(pods),
                "desiredNumberScheduled": len(wanted),
                "numberMisscheduled": 0,
                "numberReady": ready_n,
                "numberAvailable": ready_n,
                "numberUnavailable": len(wanted) - ready_n,
                "updatedNumberScheduled": len(updated),
                "observedGeneration": ds["metadata"].get("generation", 1),
            }
            if ds.get("status") != status:
                ds["status"] = status
                self.bump(ds)
        for n in nodes:  # node info as kubelet would report it (from the node agent)
            rep = self.health.get(n["metadata"]["name"]) or {}
            info = n.setdefault("status", {}).setdefault("nodeInfo", {})
            for k in ("kernelVersion", "osImage"):
                if rep.get(k) and info.get(k) != rep[k]:
                    info[k] = rep[k]
                    self.bump(n)

    def node_view(self, node_name: str) -> dict:
        """Everything a node agent needs in one answer."""
        node = self.get("nodes", None, node_name)
        if node is None:
            return {"node": None}
        view: dict = {
            "node": node,
            "pod": None,
            "services": [],
            "kubernetesVersion": self.meta.get("kubernetesVersion"),
        }
        for ds in self.list("daemonsets"):
            if not is_kube_proxy_ds(ds):
                continue
            for p in self.pods_of(ds):
                if p["spec"]["nodeName"] == node_name:
                    view["pod"] = p
                    view["daemonset"] = ds["metadata"]["namespace"] + "/" + ds["metadata"]["name"]
                    view["config"] = self.pod_proxy_config(p)
                    break
            if view["pod"]:
                break
        for svc in self.list("services"):
            view["services"].append({"service": svc, "endpoints": self.endpoints(svc)})
        view["serviceCIDR"] = self.meta.get("serviceCIDR", "10.233.0.0/18")
        return view

    def pod_proxy_config(self, pod: dict) -> dict:
        """Find the kube-proxy config file of the pod: --config=PATH -> volume mount -> ConfigMap key."""
        ns = pod["metadata"]["namespace"]
        for c in pod["spec"].get("containers") or []:
            if not is_kube_proxy_container(c):
                continue
            argv = list(c.get("command") or []) + list(c.get("args") or [])
            path = None
            for i, a in enumerate(argv):
                if a.startswith("--config="):
                    path = a.split("=", 1)[1]
                elif a == "--config" and i + 1 < len(argv):
                    path = argv[i + 1]
            result = {
                "container": c["name"],
                "image": c.get("image", ""),
                "path": path,
                "configMap": None,
                "key": None,
                "text": None,
            }
            if not path:
                return result
            for m in c.get("volumeMounts") or []:
                mp = m["mountPath"].rstrip("/")
                if path.startswith(mp + "/"):
                    rel = path[len(mp) + 1 :]
                    vol = next((v for v in pod["spec"].get("volumes") or [] if v["name"] == m["name"]), None)
                    found = self.volume_configmap_file(ns, vol or {}, rel)
                    if found is None:
                        continue
                    cmname, key = found
                    result.update(configMap=f"{ns}/{cmname}", key=key)
                    cm = self.get("configmaps", ns, cmname)
                    if cm is not None and key in (cm.get("data") or {}):
                        result["text"] = cm["data"][key]
                    return result
            return result
        return {"container": None}

    def volume_configmap_file(self, ns: str, vol: dict, rel: str) -> tuple[str, str] | None:
        """(ConfigMap name, key) of the file REL of a pod volume, as the kubelet lays it out.

        A configMap volume, or a projected volume's configMap sources (in order, a later source
        wins a path as in the kubelet's payload map): with items, each item's key is written at its
        path; without items, every key of the ConfigMap is written at a path equal to the key.
        """
        if "configMap" in vol:
            sources = [vol["configMap"]]
        elif "projected" in vol:
            sources = [s["configMap"] for s in (vol["projected"] or {}).get("sources") or [] if s.get("configMap")]
        else:
            return None
        found = None
        for src in sources:
            name = src.get("name")
            if not name:
                continue
            items = src.get("items")
            if items:
                for it in items:
                    if it.get("path") == rel:
                        found = (name, it["key"])
            else:
                cm = self.get("configmaps", ns, name)
                if cm is not None and rel in (cm.get("data") or {}):
                    found = (name, rel)
                elif cm is None and found is None:
                    found = (name, rel)  # not there yet: the pod would wait for it
        return found

    def endpoints(self, svc: dict) -> list[dict]:
        sel = (svc.get("spec") or {}).get("selector")
        if sel is None:
            return list(
                ((svc.get("metadata") or {}).get("annotations") or {}).get("standin/endpoints", "").split()
            ) and [
                {"ip": e.split(":")[0], "node": "", "ready": True}
                for e in svc["metadata"]["annotations"]["standin/endpoints"].split()
            ]
        eps = []
        for p in self.list("pods", svc["metadata"]["namespace"]):
            if not match_requirements(p["metadata"].get("labels") or {}, [(k, "In", [v]) for k, v in sel.items()]):
                continue
            st = p.get("status") or {}
            if not st.get("podIP"):
                continue
            ready = any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or [])
            eps.append({"ip": st["podIP"], "node": p["spec"].get("nodeName", ""), "ready": ready})
        return eps

    def replace_evicted(self, pod: dict) -> None:
        """A ReplicaSet-owned pod that is evicted comes back on another schedulable node."""
        owners = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("kind") == "ReplicaSet"]
        if not owners:
            return
        nodes = [n for n in self.list("nodes") if not (n.get("spec") or {}).get("unschedulable")]
        if not nodes:
            return
        self.rr += 1
        node = nodes[self.rr % len(nodes)]
        new = copy.deepcopy(pod)
        base = pod["metadata"]["name"].rsplit("-", 1)[0]
        new["metadata"] = {
            k: v for k, v in pod["metadata"].items() if k in ("namespace", "labels", "annotations", "ownerReferences")
        }
        new["metadata"]["name"] = f"{base}-{rand_suffix()}"
        new["spec"]["nodeName"] = node["metadata"]["name"]
        new["status"] = {
            "phase": "Running",
            "hostIP": self.node_ip(node),
            "podIP": self.alloc_pod_ip(node),
            "startTime": now_iso(),
        }
        self.put(new, quiet=True)
        self.set_pod_status(self.get("pods", new["metadata"]["namespace"], new["metadata"]["name"]), True, {})


# --------------------------------------------------------------------------------------------
# kubectl (executed by the apiserver so that every call is atomic against the store)
# --------------------------------------------------------------------------------------------
VALUE_FLAGS = {
    "--kubeconfig",
    "-n",
    "--namespace",
    "-l",
    "--selector",
    "--field-selector",
    "-o",
    "--output",
    "-f",
    "--filename",
    "--timeout",
    "--grace-period",
    "--type",
    "-p",
    "--patch",
    "--for",
    "--dry-run",
    "--field-manager",
    "--request-timeout",
    "--cascade",
    "--context",
    "--skip-wait-for-delete-timeout",
}
BOOL_FLAGS = {
    "-A",
    "--all-namespaces",
    "--ignore-not-found",
    "--overwrite",
    "--ignore-daemonsets",
    "--delete-emptydir-data",
    "--delete-local-data",
    "--force",
    "--server-side",
    "--force-conflicts",
    "--watch",
    "-w",
    "--wait",
    "--all",
    "--disable-eviction",
    "--client",
    "--no-headers",
    "--show-labels",
    "--validate",
}
SHORT = {
    "-n": "--namespace",
    "-l": "--selector",
    "-o": "--output",
    "-f": "--filename",
    "-p": "--patch",
    "-A": "--all-namespaces",
    "-w": "--watch",
}


def unsupported(argv: list[str], why: str = "") -> ApiError:
    return ApiError("stand-in: unsupported kubectl call: kubectl " + " ".join(argv) + (f" ({why})" if why else ""))


def parse_argv(argv: list[str]) -> tuple[list[str], dict]:
    pos, opts, i = [], {}, 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            pos.extend(argv[i + 1 :])
            break
        if a.startswith("-") and a != "-":
            name, eq, val = a.partition("=")
            if name in VALUE_FLAGS:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise unsupported(argv, f"flag {name} needs a value")
                    val = argv[i]
                key = SHORT.get(name, name)
                if key == "--filename":
                    opts.setdefault(key, []).append(val)
                else:
                    opts[key] = val
            elif name in BOOL_FLAGS:
                opts[SHORT.get(name, name)] = (val or "true").lower() != "false"
            else:
                raise unsupported(argv, f"flag {name}")
        else:
            pos.append(a)
        i += 1
    return pos, opts


def parse_duration(text: str | None, default: float) -> float:
    if text is None or text == "":
        return default
    total, any_unit = 0.0, False
    for num, unit in re.findall(r"([0-9.]+)(h|ms|m|s)?", text):
        any_unit = True
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "": 1}[unit]
    return total if any_unit else default


def short_ref(res: str, name: str) -> str:
    return f"{RESOURCES[res][4]}/{name}"


class Result:
    def __init__(self):
        self.out: list[str] = []
        self.err: list[str] = []
        self.rc = 0


class Kubectl:
    def __init__(self, store: Store):
        self.s = store

    def run(self, argv: list[str], stdin: str) -> Result:
        r = Result()
        try:
            pos, opts = parse_argv(argv)
            if not pos:
                raise unsupported(argv)
            verb = pos[0]
            fn = getattr(self, "cmd_" + verb.replace("-", "_"), None)
            if fn is None:
                raise unsupported(argv)
            fn(argv, pos[1:], opts, stdin, r)
        except ApiError as e:
            r.err.append(e.message)
            r.rc = e.rc
        except UsageError as e:
            r.err.append(unsupported(argv, str(e)).message)
            r.rc = 1
        return r

    # helpers -----------------------------------------------------------------------------
    def ns(self, opts) -> str:
        return opts.get("--namespace") or "default"

    def select(self, argv, res, names, opts) -> list[dict]:
        namespaced = RESOURCES[res][2]
        ns = None if (opts.get("--all-namespaces") or not namespaced) else self.ns(opts)
        if names:
            out = []
            for n in names:
                o = self.s.get(res, ns if namespaced else None, n)
                if o is None:
                    if opts.get("--ignore-not-found"):
                        continue
                    raise not_found(res, n)
                out.append(o)
        else:
            out = self.s.list(res, ns)
        if opts.get("--selector"):
            reqs = parse_selector(opts["--selector"])
            out = [o for o in out if match_requirements(o["metadata"].get("labels") or {}, reqs)]
        if opts.get("--field-selector"):
            for term in opts["--field-selector"].split(","):
                m = re.match(r"^([a-zA-Z.]+)(==|=|!=)(.*)$", term)
                if not m or m.group(1) not in ("spec.nodeName", "metadata.name", "metadata.namespace", "status.phase"):
                    raise unsupported(argv, f"field selector {term}")
                path = m.group(1).split(".")

                def val(o, path=path):
                    return str((o.get(path[0]) or {}).get(path[1], ""))

                want, neg = m.group(3), m.group(2) == "!="
                out = [o for o in out if (val(o) == want) != neg]
        return out

    def output(self, argv, res, objs, opts, single, r: Result) -> None:
        fmt = opts.get("--output")
        if fmt == "json" or fmt == "yaml":
            data = (
                objs[0]
                if single
                else {"apiVersion": "v1", "kind": "List", "items": objs, "metadata": {"resourceVersion": ""}}
            )
            yaml = _yaml() if fmt == "yaml" else None
            if fmt == "yaml":
                if yaml is None:
                    raise unsupported(argv, "-o yaml needs python3-yaml on the control plane")
                r.out.append(yaml.safe_dump(data, default_flow_style=False).rstrip("\n"))
            else:
                r.out.append(json.dumps(data, indent=4))
        elif fmt == "name":
            r.out.extend(short_ref(res, o["metadata"]["name"]) for o in objs)
        elif fmt is None:
            if not objs:
                ns = self.ns(opts)
                r.err.append(f"No resources found in {ns} namespace." if RESOURCES[res][2] else "No resources found")
                return
            if not opts.get("--no-headers"):
                r.out.append("NAMESPACE".ljust(16) * RESOURCES[res][2] + "NAME")
            for o in objs:
                r.out.append(o["metadata"].get("namespace", "").ljust(16) * RESOURCES[res][2] + o["metadata"]["name"])
        else:
            raise unsupported(argv, f"output format {fmt}")

    def read_manifests(self, argv, opts, stdin) -> list[tuple[dict, str]]:
        docs: list[tuple[dict, str]] = []
        for fname in opts.get("--filename") or []:
            text = stdin if fname == "-" else None
            if text is None:
                raise unsupported(argv, "-f FILE is read by the client; use -f - on the apiserver side")
            src = "STDIN" if fname == "-" else fname
            text = text.strip()
            if not text:
                raise ApiError("error: no objects passed to apply")
            try:
                parsed = [json.loads(text)]
            except ValueError as exc:
                yaml = _yaml()
                if yaml is None:
                    raise unsupported(argv, "YAML input needs python3-yaml; the stand-in reads JSON") from exc
                try:
                    parsed = [d for d in yaml.safe_load_all(text) if d is not None]
                except yaml.YAMLError as e2:
                    raise ApiError(f"error: error parsing {src}: {e2}") from e2
            for d in parsed:
                items = d.get("items") if isinstance(d, dict) and d.get("kind", "").endswith("List") else [d]
                for it in items:
                    if not isinstance(it, dict) or "kind" not in it:
                        raise ApiError(f"error: error validating \"{src}\": error validating data: kind not set")
                    docs.append((it, src))
        if not docs:
            raise ApiError("error: must specify one of -f and -k")
        return docs

    # verbs -------------------------------------------------------------------------------
    def cmd_version(self, argv, pos, opts, stdin, r):
        if pos:
            raise unsupported(argv)
        v = self.s.meta.get("kubernetesVersion", DEFAULT_K8S_VERSION)
        m = re.match(r"v(\d+)\.(\d+)", v)
        info = {
            "major": m.group(1),
            "minor": m.group(2),
            "gitVersion": v,
            "platform": "linux/amd64",
            "goVersion": "go1.24",
            "compiler": "gc",
        }
        data = {"clientVersion": info, "kustomizeVersion": "v5.6.0"}
        if not opts.get("--client"):
            data["serverVersion"] = info
        if opts.get("--output") == "json":
            r.out.append(json.dumps(data, indent=2))
        elif opts.get("--output") is None:
            r.out.append(f"Client Version: {v}")
            if not opts.get("--client"):
                r.out.append(f"Server Version: {v}")
        else:
            raise unsupported(argv)

    def check_crd(self, res: str, word: str) -> None:
        if res in CRD_RESOURCES and res not in (self.s.meta.get("crds") or []):
            raise ApiError(f'error: the server doesn\'t have a resource type "{word.split("/")[0]}"')

    def cmd_get(self, argv, pos, opts, stdin, r):
        if not pos or "," in pos[0]:
            raise unsupported(argv, "one resource type per call")
        res, name = split_type_name(pos[0])
        self.check_crd(res, pos[0])
        names = ([name] if name else []) + [p.split("/", 1)[-1] for p in pos[1:]]
        objs = self.select(argv, res, names, opts)
        if names and not objs and opts.get("--ignore-not-found"):
            return
        self.output(argv, res, objs, opts, single=len(names) == 1, r=r)

    def cmd_apply(self, argv, pos, opts, stdin, r):
        if pos:
            raise unsupported(argv)
        dry = opts.get("--dry-run")
        if dry not in (None, "none", "client", "server"):
            raise unsupported(argv, f"--dry-run={dry}")
        results = []
        for doc, _src in self.read_manifests(argv, opts, stdin):
            res = KIND_TO_RESOURCE.get(doc.get("kind", ""))
            if res in CRD_RESOURCES and res not in (self.s.meta.get("crds") or []):
                res = None
            if res is None:
                raise ApiError(
                    f'error: resource mapping not found for name: "{doc.get("metadata", {}).get("name")}" '
                    f'kind: "{doc.get("kind")}": stand-in does not serve this kind'
                )
            doc = copy.deepcopy(doc)
            doc.setdefault("metadata", {})
            if RESOURCES[res][2]:
                doc["metadata"]["namespace"] = doc["metadata"].get("namespace") or self.ns(opts)
            if dry in ("client", "server"):
                shadow = Store(None)
                shadow.objects, shadow.meta = copy.deepcopy(self.s.objects), self.s.meta
                obj, verb = shadow.put(doc)
            else:
                obj, verb = self.s.put(doc)
            if opts.get("--server-side") and verb != "unchanged":
                verb = "serverside-applied"
            suffix = f" ({dry} dry run)" if dry in ("client", "server") else ""
            results.append(obj)
            if opts.get("--output") not in ("json", "yaml", "name"):
                r.out.append(f"{short_ref(res, obj['metadata']['name'])} {verb}{suffix}")
            elif opts.get("--output") == "name":
                r.out.append(short_ref(res, obj["metadata"]["name"]))
        if opts.get("--output") in ("json", "yaml"):
            data = results[0] if len(results) == 1 else {"apiVersion": "v1", "kind": "List", "items": results}
            r.out.append(json.dumps(data, indent=4))
        if not dry or dry == "none":
            self.s.reconcile()

    def cmd_delete(self, argv, pos, opts, stdin, r):
        if not pos:
            raise unsupported(argv)
        res, name = split_type_name(pos[0])
        names = ([name] if name else []) + pos[1:]
        if not names and not opts.get("--selector") and not opts.get("--all"):
            raise ApiError("error: resource(s) were provided, but no name was specified")
        if res == "nodes":
            raise unsupported(argv, "deleting nodes")
        objs = self.select(argv, res, names, opts)
        if not objs and not names and not opts.get("--ignore-not-found"):
            r.out.append("No resources found")
        for o in objs:
            self.s.delete(res, o["metadata"].get("namespace"), o["metadata"]["name"])
            r.out.append(f"{RESOURCES[res][4]} \"{o['metadata']['name']}\" deleted")
        self.s.reconcile()

    def _kv_changes(self, argv, pos, opts, field, r, verb):
        if len(pos) < 2:
            raise unsupported(argv)
        res, name = split_type_name(pos[0])
        rest = pos[1:]
        names = [name] if name else []
        if not name:
            names.append(rest.pop(0))
        sets, removes = {}, []
        for t in rest:
            if t.endswith("-") and "=" not in t:
                removes.append(t[:-1])
            elif "=" in t:
                k, v = t.split("=", 1)
                sets[k] = v
            else:
                names.append(t)
        if not sets and not removes:
            raise ApiError(f"error: at least one {field[:-1]} update is required")
        for o in self.select(argv, res, names, {**opts, "--ignore-not-found": False}):
            md = o["metadata"]
            cur = dict(md.get(field) or {})
            for k, v in sets.items():
                if k in cur and cur[k] != v and not opts.get("--overwrite"):
                    raise ApiError(f"error: '{k}' already has a value ({cur[k]}), and --overwrite is false")
                cur[k] = v
            for k in removes:
                cur.pop(k, None)
            ref = short_ref(res, md["name"])
            if cur == (md.get(field) or {}):
                r.out.append(f"{ref} not {verb}" if field == "labels" else f"{ref} {verb}")
                continue
            new = copy.deepcopy(o)
            new["metadata"][field] = cur
            if field == "labels":
                self.s.validate(res, new, o)
            md[field] = cur
            self.s.bump(o)
            r.out.append(f"{ref} {verb}")
        self.s.reconcile()

    def cmd_label(self, argv, pos, opts, stdin, r):
        self._kv_changes(argv, pos, opts, "labels", r, "labeled")

    def cmd_annotate(self, argv, pos, opts, stdin, r):
        self._kv_changes(argv, pos, opts, "annotations", r, "annotated")

    def _set_unschedulable(self, argv, pos, flag: bool, r) -> None:
        if not pos:
            raise ApiError("error: resource(s) were provided, but no name was specified")
        for n in pos:
            n = n.split("/", 1)[-1]
            node = self.s.get("nodes", None, n)
            if node is None:
                raise not_found("nodes", n)
            word = "cordoned" if flag else "uncordoned"
            if bool((node.get("spec") or {}).get("unschedulable")) == flag:
                r.out.append(f"node/{n} already {word}")
                continue
            if flag:
                node.setdefault("spec", {})["unschedulable"] = True
                node["spec"]["taints"] = [
                    t for t in node["spec"].get("taints") or [] if t["key"] != "node.kubernetes.io/unschedulable"
                ] + [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": now_iso()}]
            else:
                node.setdefault("spec", {}).pop("unschedulable", None)
                taints = [t for t in node["spec"].get("taints") or [] if t["key"] != "node.kubernetes.io/unschedulable"]
                if taints:
                    node["spec"]["taints"] = taints
                else:
                    node["spec"].pop("taints", None)
            self.s.bump(node)
            r.out.append(f"node/{n} {word}")

    def cmd_cordon(self, argv, pos, opts, stdin, r):
        self._set_unschedulable(argv, pos, True, r)

    def cmd_uncordon(self, argv, pos, opts, stdin, r):
        self._set_unschedulable(argv, pos, False, r)

    def cmd_drain(self, argv, pos, opts, stdin, r):
        if len(pos) != 1:
            raise unsupported(argv)
        n = pos[0].split("/", 1)[-1]
        if self.s.get("nodes", None, n) is None:
            raise not_found("nodes", n)
        if opts.get("--dry-run") not in (None, "none"):
            raise unsupported(argv, "--dry-run on drain")
        self._set_unschedulable(argv, [n], True, r)
        pods = [p for p in self.s.list("pods") if p["spec"].get("nodeName") == n]
        ds_pods, evict, errors = [], [], []
        for p in pods:
            ref = f"{p['metadata']['namespace']}/{p['metadata']['name']}"
            owners = p["metadata"].get("ownerReferences") or []
            if "kubernetes.io/config.mirror" in (p["metadata"].get("annotations") or {}):
                continue
            if any(o.get("kind") == "DaemonSet" for o in owners):
                ds_pods.append(ref)
                continue
            if not owners and not opts.get("--force"):
                errors.append(f"cannot delete Pods that declare no controller (use --force to override): {ref}")
                continue
            if any("emptyDir" in v for v in p["spec"].get("volumes") or []) and not (
                opts.get("--delete-emptydir-data") or opts.get("--delete-local-data")
            ):
                errors.append(f"cannot delete Pods with local storage (use --delete-emptydir-data to override): {ref}")
                continue
            evict.append(p)
        if ds_pods and not opts.get("--ignore-daemonsets"):
            errors.append(
                "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): " + ", ".join(ds_pods)
            )
        if errors:
            raise ApiError(
                f'error: unable to drain node "{n}" due to error:'
                f' ' + ", ".join(errors) + ", continuing command...\n"
                "There are pending nodes to be drained:\n " + n
            )
        if ds_pods:
            r.err.append("Warning: ignoring DaemonSet-managed Pods: " + ", ".join(ds_pods))
        for p in evict:
            r.out.append(f"evicting pod {p['metadata']['namespace']}/{p['metadata']['name']}")
        for p in evict:
            self.s.objects["pods"].pop(obj_key("pods", p["metadata"]["namespace"], p["metadata"]["name"]), None)
            self.s.rv += 1
            self.s.replace_evicted(p)
            r.out.append(f"pod/{p['metadata']['name']} evicted")
        r.out.append(f"node/{n} drained")
        self.s.reconcile()

    def _wait_loop(self, timeout: float, check) -> bool:
        """check() under the store lock -> True when done. The lock is released while sleeping."""
        deadline = time.time() + timeout
        while True:
            with self.s.lock:
                self.s.reconcile()
                if check():
                    return True
            if time.time() >= deadline:
                return False
            self.s.lock.release_all_for_sleep(0.5)

    def cmd_rollout(self, argv, pos, opts, stdin, r):
        if len(pos) < 2 or pos[0] not in ("status", "restart"):
            raise unsupported(argv)
        res, name = split_type_name(pos[1])
        if name is None and len(pos) > 2:
            name = pos[2]
        if res != "daemonsets" or not name:
            raise unsupported(argv, "rollout is served for DaemonSets only")
        ns = self.ns(opts)
        ds = self.s.get(res, ns, name)
        if ds is None:
            raise not_found(res, name)
        if pos[0] == "restart":
            tm = ds["spec"]["template"].setdefault("metadata", {}).setdefault("annotations", {})
            tm["kubectl.kubernetes.io/restartedAt"] = now_iso()
            ds["metadata"]["generation"] = int(ds["metadata"].get("generation", 1)) + 1
            self.s.bump(ds)
            self.s.reconcile()
            r.out.append(f"daemonset.apps/{name} restarted")
            return
        if (ds["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
            raise ApiError("error: rollout status is only available for RollingUpdate strategy type")
        msgs: list[str] = []

        def check():
            d = self.s.get(res, ns, name)
            if d is None:
                raise not_found(res, name)
            st = d.get("status") or {}
            desired, updated = st.get("desiredNumberScheduled", 0), st.get("updatedNumberScheduled", 0)
            avail = st.get("numberAvailable", 0)
            if updated < desired:
                m = (
                    f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired}'
                    f' new pods have been updated...'
                )
            elif avail < desired:
                m = (
                    f'Waiting for daemon set "{name}" rollout to finish: {avail} of {desired}'
                    f' updated pods are available...'
                )
            else:
                msgs.append(f'daemon set "{name}" successfully rolled out')
                return True
            if not msgs or msgs[-1] != m:
                msgs.append(m)
            return False

        watch = opts.get("--watch", True)
        done = self._wait_loop(parse_duration(opts.get("--timeout"), 3600.0) if watch else 0, check)
        r.out.extend(msgs)
        if not done and watch:
            raise ApiError("error: timed out waiting for the condition")

    def cmd_wait(self, argv, pos, opts, stdin, r):
        cond = opts.get("--for") or ""
        if not pos:
            raise ApiError("error: you must specify at least one resource")
        res, name = split_type_name(pos[0])
        names = ([name] if name else []) + [p.split("/", 1)[-1] for p in pos[1:]]
        m = re.match(r"^condition=([A-Za-z]+)(?:=(\w+))?$", cond)
        if cond != "delete" and not m:
            raise unsupported(argv, f"--for={cond}")
        namespaced = RESOURCES[res][2]
        ns = self.ns(opts) if namespaced else None
        targets = [
            o["metadata"]["name"]
            for o in self.select(argv, res, names, {**opts, "--ignore-not-found": cond == "delete"})
        ]
        if not targets:
            if cond == "delete":
                return
            raise ApiError("error: no matching resources found")
        pending = set(targets)
        met: list[str] = []

        def check():
            for t in sorted(pending):
                o = self.s.get(res, ns, t)
                if cond == "delete":
                    ok = o is None
                else:
                    want = (m.group(2) or "True").lower()
                    conds = ((o or {}).get("status") or {}).get("conditions") or []
                    ok = o is not None and any(
                        c["type"].lower() == m.group(1).lower() and str(c["status"]).lower() == want for c in conds
                    )
                if ok:
                    pending.discard(t)
                    met.append(f"{short_ref(res, t)} {'deleted' if cond == 'delete' else 'condition met'}")
            return not pending

        done = self._wait_loop(parse_duration(opts.get("--timeout"), 30.0), check)
        r.out.extend(met)
        if not done:
            t = sorted(pending)[0]
            raise ApiError(f"error: timed out waiting for the condition on {res.split('.')[0]}/{t}")

    def cmd_patch(self, argv, pos, opts, stdin, r):
        if not pos or "--patch" not in opts:
            raise unsupported(argv)
        res, name = split_type_name(pos[0])
        if name is None:
            if len(pos) < 2:
                raise unsupported(argv)
            name = pos[1]
        ptype = opts.get("--type", "strategic")
        o = self.select(argv, res, [name], {**opts, "--ignore-not-found": False})[0]
        try:
            patch = json.loads(opts["--patch"])
        except ValueError as exc:
            raise unsupported(argv, "patch must be JSON") from exc
        if ptype in ("merge", "strategic"):
            new = merge_patch(o, patch)
        elif ptype == "json":
            new = json_patch(o, patch)
        else:
            raise unsupported(argv, f"--type={ptype}")
        new["metadata"]["name"], new["kind"] = o["metadata"]["name"], o["kind"]
        if RESOURCES[res][2]:
            new["metadata"]["namespace"] = o["metadata"]["namespace"]
        if opts.get("--dry-run") not in (None, "none"):
            r.out.append(f"{short_ref(res, name)} patched ({opts['--dry-run']} dry run)")
            return
        # spec.unschedulable etc. on nodes: keep status as patched (a real patch can touch status only via subresource)
        new_obj, verb = self.s.put(new)
        r.out.append(f"{short_ref(res, name)} {'patched (no change)' if verb == 'unchanged' else 'patched'}")
        self.s.reconcile()


class WaitableLock:
    """RLock whose holder can release it completely while sleeping (for kubectl waits)."""

    def __init__(self):
        self._lock = threading.RLock()
        self._local = threading.local()

    def __enter__(self):
        self._lock.acquire()
        self._local.depth = getattr(self._local, "depth", 0) + 1
        return self

    def __exit__(self, *exc):
        self._local.depth -= 1
        self._lock.release()

    def release_all_for_sleep(self, seconds: float) -> None:
        depth = getattr(self._local, "depth", 0)
        for _i in range(depth):
            self._lock.release()
        self._local.depth = 0
        try:
            time.sleep(seconds)
        finally:
            for _i in range(depth):
                self._lock.acquire()
            self._local.depth = depth


# --------------------------------------------------------------------------------------------
# HTTP plumbing (TCP and unix sockets; the unix socket lets agents in other network namespaces in)
# --------------------------------------------------------------------------------------------
def http_call(server: str, method: str, path: str, body: dict | None = None, timeout: float | None = 10.0):
    """server: http://host:port or unix:/path. Returns parsed JSON. Plain HTTP/1.0 over a socket
    (http.client alone costs seconds to import in a TCG guest)."""
    if server.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        addr: object = server[5:]
    else:
        m = re.match(r"^https?://\[?([^\]/]+?)\]?(?::(\d+))?/?$", server)
        if not m:
            raise OSError(f"bad server address {server!r}")
        sock = socket.socket(socket.AF_INET6 if ":" in m.group(1) else socket.AF_INET, socket.SOCK_STREAM)
        addr = (m.group(1), int(m.group(2) or 80))
    data = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.0\r\nHost: standin\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    sock.settimeout(timeout)
    try:
        sock.connect(addr)
        sock.sendall(head + data)
        chunks = []
        while True:
            c = sock.recv(65536)
            if not c:
                break
            chunks.append(c)
    finally:
        sock.close()
    raw = b"".join(chunks)
    header, _sep, payload = raw.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1]) if header.startswith(b"HTTP/") else 0
    if status == 0 or status >= 400:
        raise OSError(f"stand-in apiserver answered {status}: {payload[:200]!r}")
    return json.loads(payload or b"null")


def server_classes():
    """HTTP server classes, built on first use (http.server is slow to import)."""
    import http.server
    import socketserver

    class ApiHandler(http.server.BaseHTTPRequestHandler):
        server_version = "standin-apiserver"
        store: Store = None  # type: ignore[assignment]

        def log_message(self, fmt, *args):  # quiet; errors are logged explicitly
            pass

        def _send(self, code: int, data) -> None:
            body = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> dict:
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}")

        def do_GET(self):
            u = urllib_parse.urlsplit(self.path)
            q = urllib_parse.parse_qs(u.query)
            s = self.store
            if u.path in ("/healthz", "/readyz", "/livez"):
                return self._send(200, "ok")
            if u.path == "/standin/v1/nodeview":
                with s.lock:
                    return self._send(200, s.node_view(q.get("node", [""])[0]))
            if u.path == "/standin/v1/state":
                with s.lock:
                    return self._send(200, s.dump())
            return self._send(404, {"error": "not found"})

        def do_POST(self):
            s = self.store
            try:
                body = self._body()
                if self.path == "/standin/v1/kubectl":
                    with s.lock:
                        res = Kubectl(s).run(list(body.get("argv") or []), body.get("stdin") or "")
                        s.save()
                    return self._send(200, {"rc": res.rc, "stdout": "\n".join(res.out), "stderr": "\n".join(res.err)})
                if self.path == "/standin/v1/health":
                    with s.lock:
                        body["at"] = time.time()
                        s.health[body["node"]] = body
                    return self._send(200, {"ok": True})
            except Exception:  # report, never kill the server
                traceback.print_exc()
                return self._send(500, {"error": traceback.format_exc(limit=3)})
            return self._send(404, {"error": "not found"})

    class ThreadingUnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

        def get_request(self):
            req, _addr = super().get_request()
            return req, ("unix", 0)

    return ApiHandler, ThreadingUnixHTTPServer, http.server.ThreadingHTTPServer


def cmd_apiserver(args) -> int:
    store = Store(args.state)
    if args.state and os.path.exists(args.state):
        with open(args.state) as f:
            store.load(json.load(f))
    elif args.seed:
        with open(args.seed) as f:
            store.load(json.load(f))
    else:
        store.load(build_seed(["node1=127.0.0.1:control-plane"], "iptables", []))
    with store.lock:
        store.reconcile()
        store.save()
    api_handler, unix_server, tcp_server = server_classes()
    handler = type("Handler", (api_handler,), {"store": store})
    servers = []
    for addr in args.listen or []:
        host, port = addr.rsplit(":", 1)
        srv = tcp_server((host, int(port)), handler)
        srv.daemon_threads = True
        servers.append(srv)
    if args.socket:
        if os.path.exists(args.socket):
            os.unlink(args.socket)
        os.makedirs(os.path.dirname(os.path.abspath(args.socket)), exist_ok=True)
        servers.append(unix_server(args.socket, handler))
        os.chmod(args.socket, 0o666)
    if not servers:
        print("standin-apiserver: nothing to listen on (--listen or --socket)", file=sys.stderr)
        return 2
    for srv in servers[1:]:
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    def controller():
        while True:
            time.sleep(1.0)
            try:
                with store.lock:
                    rv = store.rv
                    store.reconcile()
                    if store.rv != rv:
                        store.save()
            except Exception:
                traceback.print_exc()

    threading.Thread(target=controller, daemon=True).start()
    print(f"standin-apiserver: serving {args.listen or []} {args.socket or ''}", flush=True)
    servers[0].serve_forever()
    return 0


# --------------------------------------------------------------------------------------------
# kubectl client
# --------------------------------------------------------------------------------------------
def kubeconfig_server(argv: list[str]) -> str:
    if os.environ.get("STANDIN_SERVER"):
        return os.environ["STANDIN_SERVER"]
    path = None
    for i, a in enumerate(argv):
        if a == "--kubeconfig" and i + 1 < len(argv):
            path = argv[i + 1]
        elif a.startswith("--kubeconfig="):
            path = a.split("=", 1)[1]
    path = path or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    try:
        with open(path) as f:
            m = re.search(r"^\s*server:\s*['\"]?([^'\"\s]+)", f.read(), re.M)
    except OSError as exc:
        raise ApiError(f"error: stat {path}: no such file or directory") from exc
    if not m:
        raise ApiError(f"error: no server found in kubeconfig {path}")
    return m.group(1)


def client_files(argv: list[str], stdin_text: str | None) -> tuple[list[str], str]:
    """Read -f FILE|DIR locally; send everything to the apiserver as -f - (JSON List when possible)."""
    out, texts, i = [], [], 0
    while i < len(argv):
        a = argv[i]
        val = None
        if a in ("-f", "--filename") and i + 1 < len(argv):
            val = argv[i + 1]
            i += 1
        elif a.startswith("--filename=") or a.startswith("-f="):
            val = a.split("=", 1)[1]
        else:
            out.append(a)
        if val is not None:
            if val == "-":
                texts.append(stdin_text if stdin_text is not None else sys.stdin.read())
            elif os.path.isdir(val):
                for fn in sorted(os.listdir(val)):
                    if fn.endswith((".json", ".yaml", ".yml")):
                        with open(os.path.join(val, fn)) as f:
                            texts.append(f.read())
            else:
                try:
                    with open(val) as f:
                        texts.append(f.read())
                except OSError as exc:
                    raise ApiError(f'error: the path "{val}" does not exist') from exc
        i += 1
    if not texts:
        return out, ""
    out += ["-f", "-"]
    if len(texts) == 1:
        return out, texts[0]
    items = []
    for t in texts:
        try:
            d = json.loads(t)
        except ValueError:
            return out, "\n---\n".join(texts)
        items.extend(d["items"] if d.get("kind", "").endswith("List") else [d])
    return out, json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def cmd_kubectl(argv: list[str]) -> int:
    try:
        server = kubeconfig_server(argv)
        send_argv, stdin = client_files(argv, None)
    except ApiError as e:
        print(e.message, file=sys.stderr)
        return 1
    try:
        res = http_call(server, "POST", "/standin/v1/kubectl", {"argv": send_argv, "stdin": stdin}, timeout=None)
    except OSError as e:
        hostport = server.split("//", 1)[-1]
        print(
            f"The connection to the server {hostport} was refused - did you specify the right host or port? ({e})",
            file=sys.stderr,
        )
        return 1
    if res["stdout"]:
        print(res["stdout"])
    if res["stderr"]:
        print(res["stderr"], file=sys.stderr)
    return int(res["rc"])


# --------------------------------------------------------------------------------------------
# seed
# --------------------------------------------------------------------------------------------
def kube_proxy_config_text(mode: str, cluster_cidr: str, extra: dict | None = None) -> str:
    """KubeProxyConfiguration as kubeadm writes it into config.conf (YAML, flat enough for the mini parser)."""
    lines = [
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1",
        "bindAddress: 0.0.0.0",
        "clientConnection:",
        "  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf",
        f"clusterCIDR: {cluster_cidr}",
        "configSyncPeriod: 15m0s",
        "healthzBindAddress: 0.0.0.0:10256",
        "iptables:",
        "  masqueradeAll: false",
        "  masqueradeBit: 14",
        "  minSyncPeriod: 0s",
        "  syncPeriod: 30s",
        "ipvs:",
        "  excludeCIDRs: []",
        "  scheduler: rr",
        "  strictARP: false",
        "  syncPeriod: 30s",
        "kind: KubeProxyConfiguration",
        "metricsBindAddress: 127.0.0.1:10249",
        f"mode: {mode}",
        "nodePortAddresses: []",
    ]
    text = "\n".join(lines) + "\n"
    if extra:
        data = {**mini_yaml(text), **extra}
        text = json.dumps(data, indent=2) + "\n"
    return text


def kube_proxy_daemonset(name: str, cm_name: str, image: str, node_selector: dict | None = None) -> dict:
    labels = {"k8s-app": "kube-proxy"}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "kube-proxy",
                    "nodeSelector": node_selector or {"kubernetes.io/os": "linux"},
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [
                        {
                            "name": "kube-proxy",
                            "image": image,
                            "command": [
                                "/usr/local/bin/kube-proxy",
                                "--config=/var/lib/kube-proxy/config.conf",
                                "--hostname-override=$(NODE_NAME)",
                            ],
                            "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                            "securityContext": {"privileged": True},
                            "volumeMounts": [
                                {"name": "kube-proxy", "mountPath": "/var/lib/kube-proxy"},
                                {"name": "xtables-lock", "mountPath": "/run/xtables.lock"},
                                {"name": "lib-modules", "mountPath": "/lib/modules", "readOnly": True},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "kube-proxy", "configMap": {"name": cm_name}},
                        {"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}},
                        {"name": "lib-modules", "hostPath": {"path": "/lib/modules"}},
                    ],
                },
            },
        },
    }


def load_objects(path: str) -> list[dict]:
    with open(path) as f:
        text = f.read()
    try:
        data = json.loads(text)
    except ValueError:
        yaml = _yaml()
        if yaml is None:
            raise
        data = [d for d in yaml.safe_load_all(text) if d]
    if isinstance(data, dict):
        data = data["items"] if data.get("kind", "").endswith("List") or "items" in data else [data]
    return data


def build_seed(
    node_specs: list[str],
    mode: str,
    extra_files: list[str],
    version: str = DEFAULT_K8S_VERSION,
    pod_cidr: str = "10.233.64.0/18",
    service_cidr: str = "10.233.0.0/18",
) -> dict:
    """node_specs: NAME=IP[:control-plane]. Returns a List seed for the apiserver."""
    items: list[dict] = []
    namespaces = {"default", "kube-system", "kube-public", "kube-node-lease"}
    extra: list[dict] = []
    for p in extra_files:
        if os.path.isdir(p):
            for fn in sorted(os.listdir(p)):
                if fn.endswith(".json"):
                    extra.extend(load_objects(os.path.join(p, fn)))
        else:
            extra.extend(load_objects(p))
    crds = sorted(
        {KIND_TO_RESOURCE[o["kind"]] for o in extra if o.get("kind") in KIND_TO_RESOURCE}
        & {"installations.operator.tigera.io", "felixconfigurations.crd.projectcalico.org"}
    )
    for o in extra:
        ns = (o.get("metadata") or {}).get("namespace")
        if ns:
            namespaces.add(ns)
    for ns in sorted(namespaces):
        items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}, "status": {"phase": "Active"}})
    pod_net = ipaddress.ip_network(pod_cidr)
    node_cidrs = list(pod_net.subnets(new_prefix=24))
    svc_net = ipaddress.ip_network(service_cidr)
    cp_ip, workers = "", []
    for i, spec in enumerate(node_specs):
        name, _sep, rest = spec.partition("=")
        ip, _sep, role = rest.partition(":")
        labels = {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64",
        }
        taints = []
        if role == "control-plane":
            labels["node-role.kubernetes.io/control-plane"] = ""
            labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
            taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
            cp_ip = cp_ip or ip
        else:
            workers.append((name, node_cidrs[i]))
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": {"podCIDR": str(node_cidrs[i]), "podCIDRs": [str(node_cidrs[i])]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]},
        }
        if taints:
            node["spec"]["taints"] = taints
        items.append(node)
    image = f"registry.k8s.io/kube-proxy:{version}"
    items.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"app": "kube-proxy"}},
            "data": {
                "config.conf": kube_proxy_config_text(mode, pod_cidr),
                "kubeconfig.conf": "apiVersion: v1\nkind: Config\n",
            },
        }
    )
    items.append(kube_proxy_daemonset("kube-proxy", "kube-proxy", image))
    hosts = list(svc_net.hosts())
    items.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver"},
                "annotations": {"standin/endpoints": f"{cp_ip or '127.0.0.1'}:6443"},
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": str(hosts[0]),
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
            },
        }
    )
    items.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": str(hosts[2]),
                "selector": {"k8s-app": "kube-dns"},
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                ],
            },
        }
    )
    items.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "demo-web", "namespace": "default", "labels": {"app": "demo-web"}},
            "spec": {
                "type": "NodePort",
                "clusterIP": str(hosts[99]),
                "selector": {"app": "demo-web"},
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 30080}],
            },
        }
    )
    targets = workers or [(node_specs[0].split("=", 1)[0], node_cidrs[0])]
    for app, ns, rs, count in (
        ("demo-web", "default", "demo-web-6d9f7b8c5", 2),
        ("kube-dns", "kube-system", "coredns-5d78c9869d", 2),
    ):
        for j in range(count):
            node_name, cidr = targets[j % len(targets)]
            ip = str(list(cidr.hosts())[10 + j + (20 if app == "kube-dns" else 0)])
            items.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{rs}-{'abcde'[j]}{rand_suffix(4)}",
                        "namespace": ns,
                        "labels": {"app" if app == "demo-web" else "k8s-app": app},
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "kind": "ReplicaSet",
                                "name": rs,
                                "uid": hashlib.md5(rs.encode()).hexdigest(),
                                "controller": True,
                            }
                        ],
                    },
                    "spec": {
                        "nodeName": node_name,
                        "containers": [{"name": app, "image": "registry.k8s.io/pause:3.10"}],
                        "volumes": [{"name": "tmp", "emptyDir": {}}] if app == "demo-web" else [],
                    },
                    "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": "True"}]},
                }
            )
    items.extend(extra)
    return {
        "apiVersion": "v1",
        "kind": "List",
        "resourceVersion": 1,
        "standin": {"kubernetesVersion": version, "serviceCIDR": service_cidr, "podCIDR": pod_cidr, "crds": crds},
        "items": items,
    }


def cmd_seed(args) -> int:
    seed = build_seed(
        args.node, args.mode, args.include or [], args.kubernetes_version, args.pod_cidr, args.service_cidr
    )
    text = json.dumps(seed, indent=1, sort_keys=True)
    if args.output and args.output != "-":
        with open(args.output, "w") as f:
            f.write(text)
    else:
        print(text)
    return 0


# --------------------------------------------------------------------------------------------
# a very small YAML reader for KubeProxyConfiguration (block maps, scalars, [] / {} / flow lists)
# --------------------------------------------------------------------------------------------
def _scalar(v: str):
    v = v.strip()
    if v.startswith(("'", '"')) and v.endswith(v[0]) and len(v) >= 2:
        return v[1:-1]
    if v in ("true", "True"):
        return True
    if v in ("false", "False"):
        return False
    if v in ("null", "~", ""):
        return None
    if v == "[]":
        return []
    if v == "{}":
        return {}
    if v.startswith("[") and v.endswith("]"):
        return [_scalar(x) for x in v[1:-1].split(",") if x.strip()]
    if re.match(r"^-?\d+$", v):
        return int(v)
    return v


def mini_yaml(text: str):
    lines = [
        ln.rstrip()
        for ln in text.splitlines()
        if ln.strip() and not ln.lstrip().startswith("#") and ln.strip() != "---"
    ]

    def block(i: int, indent: int):
        if i < len(lines) and lines[i].lstrip().startswith("- "):
            out_l = []
            while (
                i < len(lines)
                and len(lines[i]) - len(lines[i].lstrip()) == indent
                and lines[i].lstrip().startswith("- ")
            ):
                out_l.append(_scalar(lines[i].lstrip()[2:]))
                i += 1
            return out_l, i
        out: dict = {}
        while i < len(lines):
            ind = len(lines[i]) - len(lines[i].lstrip())
            if ind < indent:
                break
            key, _sep, val = lines[i].strip().partition(":")
            i += 1
            if val.strip():
                out[key.strip()] = _scalar(val)
            elif i < len(lines) and (
                len(lines[i]) - len(lines[i].lstrip()) > ind or lines[i].lstrip().startswith("- ")
            ):
                nind = len(lines[i]) - len(lines[i].lstrip())
                out[key.strip()], i = block(i, nind)
            else:
                out[key.strip()] = None
        return out, i

    return block(0, 0)[0]


def parse_proxy_config(text: str) -> dict:
    try:
        return json.loads(text)
    except ValueError:
        pass
    yaml = _yaml()
    if yaml is not None:
        return yaml.safe_load(text) or {}
    return mini_yaml(text) or {}


# --------------------------------------------------------------------------------------------
# node agent: kube-proxy's kernel state
# --------------------------------------------------------------------------------------------
MARK = "0x4000"
IPT_STATIC = {  # chains kube-proxy owns per mode and table (iptables mode / ipvs mode)
    "iptables": {
        "nat": ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"],
        "filter": ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"],
    },
    "ipvs": {
        "nat": ["KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-NODE-PORT", "KUBE-LOAD-BALANCER", "KUBE-MARK-MASQ"],
        "filter": [
            "KUBE-FORWARD",
            "KUBE-NODE-PORT",
            "KUBE-PROXY-FIREWALL",
            "KUBE-SOURCE-RANGES-FIREWALL",
            "KUBE-IPVS-FILTER",
            "KUBE-IPVS-OUT-FILTER",
        ],
    },
}
IPT_DYNAMIC_PREFIXES = ("KUBE-SVC-", "KUBE-SVL-", "KUBE-SEP-", "KUBE-FW-", "KUBE-EXT-", "KUBE-XLB-")
CANARY = "KUBE-PROXY-CANARY"
C_SERVICES = "kubernetes service portals"
C_EXTERNAL = "kubernetes externally-visible service portals"
C_FIREWALL = "kubernetes load balancer firewall"
JUMPS = {  # (table, builtin chain, target, match args) in kube-proxy's order
    "iptables": [
        (
            "filter",
            "INPUT",
            "KUBE-EXTERNAL-SERVICES",
            ["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", C_EXTERNAL],
        ),
        (
            "filter",
            "FORWARD",
            "KUBE-EXTERNAL-SERVICES",
            ["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", C_EXTERNAL],
        ),
        ("filter", "INPUT", "KUBE-NODEPORTS", ["-m", "comment", "--comment", "kubernetes health check service ports"]),
        (
            "filter",
            "FORWARD",
            "KUBE-SERVICES",
            ["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", C_SERVICES],
        ),
        (
            "filter",
            "OUTPUT",
            "KUBE-SERVICES",
            ["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", C_SERVICES],
        ),
        ("filter", "FORWARD", "KUBE-FORWARD", ["-m", "comment", "--comment", "kubernetes forwarding rules"]),
        (
            "filter",
            "INPUT",
            "KUBE-PROXY-FIREWALL",
            ["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", C_FIREWALL],
        ),
        (
            "filter",
            "OUTPUT",
            "KUBE-PROXY-FIREWALL",
            ["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", C_FIREWALL],
        ),
        (
            "filter",
            "FORWARD",
            "KUBE-PROXY-FIREWALL",
            ["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", C_FIREWALL],
        ),
        ("nat", "OUTPUT", "KUBE-SERVICES", ["-m", "comment", "--comment", C_SERVICES]),
        ("nat", "PREROUTING", "KUBE-SERVICES", ["-m", "comment", "--comment", C_SERVICES]),
        ("nat", "POSTROUTING", "KUBE-POSTROUTING", ["-m", "comment", "--comment", "kubernetes postrouting rules"]),
    ],
    "ipvs": [
        ("nat", "OUTPUT", "KUBE-SERVICES", ["-m", "comment", "--comment", C_SERVICES]),
        ("nat", "PREROUTING", "KUBE-SERVICES", ["-m", "comment", "--comment", C_SERVICES]),
        ("nat", "POSTROUTING", "KUBE-POSTROUTING", ["-m", "comment", "--comment", "kubernetes postrouting rules"]),
        ("filter", "FORWARD", "KUBE-FORWARD", ["-m", "comment", "--comment", "kubernetes forwarding rules"]),
        ("filter", "INPUT", "KUBE-NODE-PORT", ["-m", "comment", "--comment", "kubernetes health check rules"]),
        ("filter", "INPUT", "KUBE-PROXY-FIREWALL", ["-m", "comment", "--comment", C_FIREWALL]),
        ("filter", "FORWARD", "KUBE-PROXY-FIREWALL", ["-m", "comment", "--comment", C_FIREWALL]),
        ("filter", "OUTPUT", "KUBE-PROXY-FIREWALL", ["-m", "comment", "--comment", C_FIREWALL]),
        ("filter", "INPUT", "KUBE-IPVS-FILTER", ["-m", "comment", "--comment", "kubernetes ipvs access filter"]),
        ("filter", "OUTPUT", "KUBE-IPVS-OUT-FILTER", ["-m", "comment", "--comment", "kubernetes ipvs access filter"]),
    ],
}
IPSETS = [  # name, type, comment (kube-proxy ipvs proxier); IPv6 sets are prefixed KUBE-6-
    ("KUBE-LOOP-BACK", "hash:ip,port,ip", "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"),
    ("KUBE-CLUSTER-IP", "hash:ip,port", "Kubernetes service cluster ip + port for masquerade purpose"),
    ("KUBE-EXTERNAL-IP", "hash:ip,port", "Kubernetes service external ip + port for masquerade and filter purpose"),
    (
        "KUBE-EXTERNAL-IP-LOCAL",
        "hash:ip,port",
        "Kubernetes service external ip + port with externalTrafficPolicy=local",
    ),
    ("KUBE-LOAD-BALANCER", "hash:ip,port", "Kubernetes service lb portal"),
    (
        "KUBE-LOAD-BALANCER-LOCAL",
        "hash:ip,port",
        "Kubernetes service load balancer ip + port with externalTrafficPolicy=local",
    ),
    (
        "KUBE-LOAD-BALANCER-FW",
        "hash:ip,port",
        "Kubernetes service load balancer ip + port for load balancer with sourceRange",
    ),
    (
        "KUBE-LOAD-BALANCER-SOURCE-IP",
        "hash:ip,port,ip",
        "Kubernetes service load balancer ip + port + source IP for packet filter purpose",
    ),
    (
        "KUBE-LOAD-BALANCER-SOURCE-CIDR",
        "hash:ip,port,net",
        "Kubernetes service load balancer ip + port + source cidr for packet filter purpose",
    ),
    ("KUBE-NODE-PORT-TCP", "bitmap:port", "Kubernetes nodeport TCP port for masquerade purpose"),
    ("KUBE-NODE-PORT-LOCAL-TCP", "bitmap:port", "Kubernetes nodeport TCP port with externalTrafficPolicy=local"),
    ("KUBE-NODE-PORT-UDP", "bitmap:port", "Kubernetes nodeport UDP port for masquerade purpose"),
    ("KUBE-NODE-PORT-LOCAL-UDP", "bitmap:port", "Kubernetes nodeport UDP port with externalTrafficPolicy=local"),
    (
        "KUBE-NODE-PORT-SCTP-HASH",
        "hash:ip,port",
        "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'",
    ),
    (
        "KUBE-NODE-PORT-LOCAL-SCTP-HASH",
        "hash:ip,port",
        "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'",
    ),
    ("KUBE-HEALTH-CHECK-NODE-PORT", "bitmap:port", "Kubernetes health check node port"),
    ("KUBE-IPVS-IPS", "hash:ip", "IPVS service ip"),
]
IPVS_DUMMY = "kube-ipvs0"


class ToolMissing(Exception):
    pass


class Cmd:
    """Runs the node's tools; records every call (tests and docs read the log)."""

    def __init__(self, log=None):
        self.log = log or (lambda m: print(m, file=sys.stderr, flush=True))

    def __call__(self, argv: list[str], data: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        if shutil.which(argv[0]) is None:
            raise ToolMissing(argv[0])
        p = subprocess.run(argv, input=data, capture_output=True, text=True, check=False)
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:4])} failed rc={p.returncode}: {p.stderr.strip()[:500]}")
        return p


def hash_name(text: str, n: int = 16) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:n]


def service_ports(view: dict, family: int = 4) -> list[dict]:
    """Flatten the node view into kube-proxy's service ports."""
    out = []
    for entry in view.get("services") or []:
        svc, eps = entry["service"], entry["endpoints"]
        spec = svc.get("spec") or {}
        cip = spec.get("clusterIP")
        if not cip or cip == "None" or ipaddress.ip_address(cip).version != family:
            continue
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        for p in spec.get("ports") or []:
            proto = (p.get("protocol") or "TCP").lower()
            tp = p.get("targetPort", p["port"])
            tp = int(tp) if str(tp).isdigit() else int(p["port"])
            spn = f"{ns}/{name}" + (f":{p['name']}" if p.get("name") else "")
            ready = sorted({e["ip"] for e in eps if e.get("ready") and e.get("ip")})
            out.append(
                {
                    "ns": ns,
                    "name": name,
                    "portName": p.get("name") or "",
                    "spn": spn,
                    "proto": proto,
                    "clusterIP": cip,
                    "port": int(p["port"]),
                    "nodePort": p.get("nodePort") if spec.get("type") in ("NodePort", "LoadBalancer") else None,
                    "targetPort": tp,
                    "endpoints": ready,
                }
            )
    return out


# ---- iptables -------------------------------------------------------------------------------
def render_iptables(ports: list[dict], cluster_cidr: str | None) -> dict[str, list[str]]:
    """kube-proxy iptables mode: rules per table (without chain declarations)."""
    nat: list[str] = [
        f"-A KUBE-MARK-MASQ -j MARK --or-mark {MARK}",
        f"-A KUBE-POSTROUTING -m mark ! --mark {MARK}/{MARK} -j RETURN",
        f"-A KUBE-POSTROUTING -j MARK --xor-mark {MARK}",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j'
        ' MASQUERADE --random-fully',
    ]
    flt: list[str] = [
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
        f'-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark {MARK}/{MARK} -j ACCEPT',
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack'
        ' --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ]
    chains: dict[str, list[str]] = {"nat": [], "filter": []}
    for sp in ports:
        svc_chain = "KUBE-SVC-" + hash_name(sp["spn"] + sp["proto"])
        ext_chain = "KUBE-EXT-" + hash_name(sp["spn"] + sp["proto"])
        p, cip, spn = sp["proto"], sp["clusterIP"], sp["spn"]
        if not sp["endpoints"]:
            flt.append(
                f'-A KUBE-SERVICES -d {cip}/32 -p {p} -m comment --comment "{spn} has no endpoints"'
                f' -m {p} --dport {sp["port"]} -j REJECT --reject-with icmp-port-unreachable'
            )
            if sp["nodePort"]:
                flt.append(
                    f'-A KUBE-EXTERNAL-SERVICES -p {p} -m comment --comment "{spn} has no'
                    f' endpoints" -m addrtype --dst-type LOCAL -m {p} --dport {sp["nodePort"]} -j'
                    f' REJECT --reject-with icmp-port-unreachable'
                )
            continue
        chains["nat"].append(svc_chain)
        nat.append(
            f'-A KUBE-SERVICES -d {cip}/32 -p {p} -m comment --comment "{spn} cluster IP" -m {p}'
            f' --dport {sp["port"]} -j {svc_chain}'
        )
        if cluster_cidr:
            nat.append(
                f'-A {svc_chain} ! -s {cluster_cidr} -d {cip}/32 -p {p} -m comment --comment "{spn}'
                f' cluster IP" -m {p} --dport {sp["port"]} -j KUBE-MARK-MASQ'
            )
        if sp["nodePort"]:
            chains["nat"].append(ext_chain)
            nat.append(
                f'-A KUBE-NODEPORTS -p {p} -m comment --comment "{spn}" -m {p} --dport {sp["nodePort"]} -j {ext_chain}'
            )
            nat.append(
                f'-A {ext_chain} -m comment --comment "masquerade traffic for {spn} external'
                f' destinations" -j KUBE-MARK-MASQ'
            )
            nat.append(f"-A {ext_chain} -j {svc_chain}")
        n = len(sp["endpoints"])
        for i, ep in enumerate(sp["endpoints"]):
            dest = f"{ep}:{sp['targetPort']}"
            sep = "KUBE-SEP-" + hash_name(sp["spn"] + sp["proto"] + dest)
            chains["nat"].append(sep)
            prob = "" if i == n - 1 else f" -m statistic --mode random --probability {1.0 / (n - i):.10f}"
            nat.append(f'-A {svc_chain} -m comment --comment "{spn} -> {dest}"{prob} -j {sep}')
            nat.append(f'-A {sep} -s {ep}/32 -m comment --comment "{spn}" -j KUBE-MARK-MASQ')
            nat.append(f'-A {sep} -p {p} -m comment --comment "{spn}" -m {p} -j DNAT --to-destination {dest}')
    nat.append(
        '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be'
        ' the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS'
    )
    return {"nat": nat, "filter": flt, "_chains_nat": chains["nat"]}  # type: ignore[dict-item]


def render_ipvs_iptables(cluster_cidr: str | None) -> dict[str, list[str]]:
    nat = []
    if cluster_cidr:
        nat.append(
            f'-A KUBE-SERVICES ! -s {cluster_cidr} -m comment --comment "Kubernetes service cluster'
            f' ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ'
        )
    nat += [
        "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT",
        "-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT",
        '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade'
        ' purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ',
        '-A KUBE-NODE-PORT -p udp -m comment --comment "Kubernetes nodeport UDP port for masquerade'
        ' purpose" -m set --match-set KUBE-NODE-PORT-UDP dst -j KUBE-MARK-MASQ',
        '-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for'
        ' solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE',
        f"-A KUBE-POSTROUTING -m mark ! --mark {MARK}/{MARK} -j RETURN",
        f"-A KUBE-POSTROUTING -j MARK --xor-mark {MARK}",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j'
        ' MASQUERADE --random-fully',
        f"-A KUBE-MARK-MASQ -j MARK --or-mark {MARK}",
    ]
    flt = [
        f'-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark {MARK}/{MARK} -j ACCEPT',
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack'
        ' --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set'
        ' --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT',
        '-A KUBE-PROXY-FIREWALL -m comment --comment "Kubernetes service load balancer ip + port'
        ' for load balancer with sourceRange" -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst'
        ' -j KUBE-SOURCE-RANGES-FIREWALL',
        "-A KUBE-SOURCE-RANGES-FIREWALL -j DROP",
        "-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN",
        "-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN",
        "-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN",
        "-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN",
        "-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN",
        "-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j"
        " REJECT --reject-with icmp-port-unreachable",
    ]
    return {"nat": nat, "filter": flt, "_chains_nat": []}  # type: ignore[dict-item]


class Iptables:
    def __init__(self, cmd: Cmd, backend: str, family: int = 4):
        self.cmd, self.backend, self.family = cmd, backend, family
        base = "iptables" if family == 4 else "ip6tables"
        self.bin = f"{base}-{backend}"

    def save(self, table: str) -> str:
        return self.cmd([self.bin + "-save", "-t", table], check=False).stdout

    def chains(self, table: str) -> set[str]:
        return {ln[1:].split()[0] for ln in self.save(table).splitlines() if ln.startswith(":")}

    def restore(self, text: str) -> None:
        self.cmd([self.bin + "-restore", "-w", "5", "--noflush"], data=text)

    def ensure_jumps(self, jumps) -> None:
        for table, chain, target, match in reversed(jumps):
            spec = [*match, "-j", target]
            if self.cmd([self.bin, "-w", "5", "-t", table, "-C", chain, *spec], check=False).returncode != 0:
                self.cmd([self.bin, "-w", "5", "-t", table, "-I", chain, "1", *spec])

    def program(self, mode: str, rules: dict) -> None:
        """Flush and rewrite the mode's static chains + current dynamic chains; delete stale dynamic chains."""
        text = []
        for table in ("filter", "nat"):
            existing = self.chains(table)
            mine = list(IPT_STATIC[mode][table])
            dynamic = list(rules.get("_chains_" + table) or [])
            text.append(f"*{table}")
            for c in mine + dynamic:
                text.append(f":{c} - [0:0]")
            stale = []
            if mode == "iptables":
                stale = [c for c in existing if c.startswith(IPT_DYNAMIC_PREFIXES) and c not in dynamic]
                for c in stale:
                    text.append(f":{c} - [0:0]")
            text.extend(rules[table])
            for c in stale:
                text.append(f"-X {c}")
            text.append("COMMIT")
        if mode == "iptables":  # the iptables proxier's ipt.Monitor; the ipvs proxier has no canary
            for table in ("mangle", "nat", "filter"):
                if CANARY not in self.chains(table):
                    text += [f"*{table}", f":{CANARY} - [0:0]", "COMMIT"]
        self.restore("\n".join(text) + "\n")
        self.ensure_jumps(JUMPS[mode])

    def cleanup(self) -> list[str]:
        """kube-proxy's iptables/ipvs CleanupLeftovers: jumps from built-in chains, then the chains."""
        removed = []
        owned = set()
        for m in IPT_STATIC.values():
            for cs in m.values():
                owned.update(cs)
        for table in ("nat", "filter"):
            dump = self.save(table)
            chains = {ln[1:].split()[0] for ln in dump.splitlines() if ln.startswith(":")}
            ours = sorted(c for c in chains if c in owned or c.startswith(IPT_DYNAMIC_PREFIXES))
            if not ours:
                continue
            for ln in dump.splitlines():
                m = re.match(r"^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) (.*) -j (\S+)(.*)$", ln)
                if m and m.group(3) in ours:
                    import shlex

                    self.cmd([self.bin, "-w", "5", "-t", table, "-D", *shlex.split(ln[3:])], check=False)
            text = [f"*{table}"] + [f":{c} - [0:0]" for c in ours] + [f"-X {c}" for c in ours] + ["COMMIT"]
            self.restore("\n".join(text) + "\n")
            removed += [f"{self.bin}:{table}:{c}" for c in ours]
        return removed


def detect_iptables_backend(cmd: Cmd, wanted: str) -> str:
    """Like kube-proxy: the backend holding kubelet's KUBE-IPTABLES-HINT/KUBE-KUBELET-CANARY, else nft."""
    if wanted in ("nft", "legacy"):
        return wanted
    # no legacy table loaded means no legacy rules; do not load the legacy modules just by looking
    try:
        with open("/proc/net/ip_tables_names") as f:
            if not f.read().strip():
                return "nft"
    except OSError:
        return "nft"
    try:
        for table in ("mangle", "nat"):
            out = cmd(["iptables-legacy-save", "-t", table], check=False).stdout
            if "KUBE-IPTABLES-HINT" in out or "KUBE-KUBELET-CANARY" in out:
                return "legacy"
    except ToolMissing:
        pass
    return "nft"


# ---- nftables -------------------------------------------------------------------------------
def nft_chain_suffix(sp: dict) -> str:
    return f"{sp['ns']}/{sp['name']}/{sp['proto']}/{sp['portName']}"


def render_nftables(
    ports: list[dict],
    cluster_cidr: str | None,
    service_cidr: str | None,
    family: int = 4,
    node_ips: list[str] | None = None,
) -> str:
    fam = "ip" if family == 4 else "ip6"
    addr_t = "ipv4_addr" if family == 4 else "ipv6_addr"
    loop = "127.0.0.0/8" if family == 4 else "::1"
    L = [
        f"table {fam} kube-proxy {{ comment \"rules for kube-proxy\" ; }}",
        f"delete table {fam} kube-proxy",
        f"table {fam} kube-proxy {{",
        "  comment \"rules for kube-proxy\"",
        f"  set cluster-ips {{ type {addr_t} ; comment \"Active ClusterIPs\" ; }}",
        f"  set nodeport-ips {{ type {addr_t} ; comment \"IPs that accept NodePort traffic\" ; }}",
        f"  map no-endpoint-services {{ type {addr_t} . inet_proto . inet_service : verdict ;"
        " comment \"vmap to drop or reject packets to services with no endpoints\" ; }",
        "  map no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment \"vmap to"
        " drop or reject packets to service nodeports with no endpoints\" ; }",
        f"  map firewall-ips {{ type {addr_t} . inet_proto . inet_service : verdict ;"
        " comment \"destinations that are subject to LoadBalancerSourceRanges\" ; }",
        f"  map service-ips {{ type {addr_t} . inet_proto . inet_service : verdict ;"
        " comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }",
        "  map service-nodeports { type inet_proto . inet_service : verdict ; comment \"NodePort traffic\" ; }",
        "  chain filter-prerouting { type filter hook prerouting priority -110 ; policy accept ; ct"
        " state new jump firewall-check ; }",
        "  chain filter-input { type filter hook input priority -110 ; policy accept ; ct state new"
        " jump nodeport-endpoints-check ; ct state new jump service-endpoints-check ; }",
        "  chain filter-forward { type filter hook forward priority -110 ; policy accept ; ct state"
        " new jump service-endpoints-check ; ct state new jump cluster-ips-check ; }",
        "  chain filter-output { type filter hook output priority -110 ; policy accept ; ct state"
        " new jump service-endpoints-check ; ct state new jump firewall-check ; }",
        "  chain filter-output-post-dnat { type filter hook output priority -90 ; policy accept ;"
        " ct state new jump cluster-ips-check ; }",
        "  chain nat-prerouting { type nat hook prerouting priority -100 ; policy accept ; jump services ; }",
        "  chain nat-output { type nat hook output priority -100 ; policy accept ; jump services ; }",
        "  chain nat-postrouting { type nat hook postrouting priority 100 ; policy accept ; jump masquerading ; }",
        f"  chain masquerading {{ meta mark & {MARK} == 0 return ;"
        f" meta mark set meta mark ^ {MARK} ; masquerade fully-random ; }}",
        f"  chain mark-for-masquerade {{ meta mark set meta mark | {MARK} ; }}",
        "  chain reject-chain { comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ; reject ; }",
        f"  chain firewall-check {{ {fam} daddr . meta l4proto . th dport vmap @firewall-ips ; }}",
        f"  chain service-endpoints-check {{ {fam} daddr . meta l4proto . th dport vmap @no-endpoint-services ; }}",
        f"  chain nodeport-endpoints-check {{ {fam} daddr @nodeport-ips"
        " meta l4proto . th dport vmap @no-endpoint-nodeports ; }",
        f"  chain services {{ {fam} daddr . meta l4proto . th dport vmap @service-ips ;"
        f" fib daddr type local {fam} daddr != {loop} meta l4proto . th dport vmap @service-nodeports ; }}",
    ]
    cips_check = [f"{fam} daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\""]
    if service_cidr and ipaddress.ip_network(service_cidr).version == family:
        cips_check.append(f"{fam} daddr {{ {service_cidr} }} drop comment \"Drop traffic to unallocated ClusterIPs\"")
    L.append("  chain cluster-ips-check { " + " ; ".join(cips_check) + " ; }")
    elems: dict[str, list[str]] = {
        k: []
        for k in ("cluster-ips", "service-ips", "service-nodeports", "no-endpoint-services", "no-endpoint-nodeports")
    }
    for sp in ports:
        suffix = nft_chain_suffix(sp)
        svc_chain = f"service-{hash_name(suffix + sp['spn'], 8)}-{suffix}"
        ext_chain = f"external-{hash_name(suffix + sp['spn'], 8)}-{suffix}"
        p = sp["proto"]
        if sp["clusterIP"] not in elems["cluster-ips"]:
            elems["cluster-ips"].append(sp["clusterIP"])
        if not sp["endpoints"]:
            elems["no-endpoint-services"].append(f"{sp['clusterIP']} . {p} . {sp['port']} : goto reject-chain")
            if sp["nodePort"]:
                elems["no-endpoint-nodeports"].append(f"{p} . {sp['nodePort']} : goto reject-chain")
            continue
        elems["service-ips"].append(f"{sp['clusterIP']} . {p} . {sp['port']} : goto {svc_chain}")
        body = []
        if cluster_cidr:
            body.append(
                f"{fam} daddr {sp['clusterIP']} {p} dport {sp['port']} {fam} saddr !="
                f" {cluster_cidr} jump mark-for-masquerade"
            )
        eps = []
        for i, ep in enumerate(sp["endpoints"]):
            epc = f"endpoint-{hash_name(suffix + ep, 8)}-{suffix}__{ep}/{sp['targetPort']}"
            eps.append(f"{i} : goto {epc}")
            L.append(
                f"  chain {epc} {{ {fam} saddr {ep} jump mark-for-masquerade ;"
                f" meta l4proto {p} dnat to {ep}:{sp['targetPort']} ; }}"
            )
        body.append(f"numgen random mod {len(sp['endpoints'])} vmap {{ {', '.join(eps)} }}")
        L.append(f"  chain {svc_chain} {{ " + " ; ".join(body) + " ; }")
        if sp["nodePort"]:
            elems["service-nodeports"].append(f"{p} . {sp['nodePort']} : goto {ext_chain}")
            L.append(f"  chain {ext_chain} {{ jump mark-for-masquerade ; goto {svc_chain} ; }}")
    L.append("}")
    elems["nodeport-ips"] = list(node_ips or [])
    for set_name, vals in elems.items():
        if vals:
            L.append(f"add element {fam} kube-proxy {set_name} {{ {', '.join(vals)} }}")
    return "\n".join(L) + "\n"


def nft_cleanup(cmd: Cmd) -> list[str]:
    removed = []
    for fam in ("ip", "ip6"):
        if cmd(["nft", "list", "table", fam, "kube-proxy"], check=False).returncode == 0:
            cmd(["nft", "delete", "table", fam, "kube-proxy"])
            removed.append(f"nft:{fam} kube-proxy")
    return removed


# ---- ipvs -----------------------------------------------------------------------------------
def render_ipsets(ports: list[dict], node_ips: list[str]) -> str:
    """ipset restore input. KUBE-IPVS-IPS holds the addresses on kube-ipvs0 only, never node_ips:
    KUBE-IPVS-FILTER rejects new connections to its members on any port that is no Service."""
    del node_ips  # NodePorts live in the KUBE-NODE-PORT-* bitmaps
    lines = []
    entries: dict[str, list[str]] = {entry[0]: [] for entry in IPSETS}
    for sp in ports:
        entries["KUBE-CLUSTER-IP"].append(f"{sp['clusterIP']},{sp['proto']}:{sp['port']}")
        entries["KUBE-IPVS-IPS"].append(sp["clusterIP"])
        for ep in sp["endpoints"]:
            entries["KUBE-LOOP-BACK"].append(f"{ep},{sp['proto']}:{sp['targetPort']},{ep}")
        if sp["nodePort"] and sp["proto"] in ("tcp", "udp"):
            entries[f"KUBE-NODE-PORT-{sp['proto'].upper()}"].append(str(sp["nodePort"]))
    for name, typ, _comment in IPSETS:
        opts = "range 0-65535" if typ.startswith("bitmap") else "family inet hashsize 1024 maxelem 65536"
        lines.append(f"create {name} {typ} {opts} -exist")
        lines.append(f"flush {name}")
        for e in sorted(set(entries[name])):
            lines.append(f"add {name} {e} -exist")
    return "\n".join(lines) + "\n"


def ipvs_services(ports: list[dict], node_ips: list[str], scheduler: str) -> dict[str, list[str]]:
    """'-t VIP:PORT' -> ['EP:PORT', ...] (ClusterIPs and, for NodePorts, every node IP)."""
    out: dict[str, list[str]] = {}
    for sp in ports:
        flag = {"tcp": "-t", "udp": "-u", "sctp": "--sctp-service"}[sp["proto"]]
        reals = [f"{ep}:{sp['targetPort']}" for ep in sp["endpoints"]]
        out[f"{flag} {sp['clusterIP']}:{sp['port']}"] = reals
        if sp["nodePort"]:
            for ip in node_ips:
                out[f"{flag} {ip}:{sp['nodePort']}"] = reals
    return out


def ipvs_cleanup(cmd: Cmd, ipt: Iptables) -> list[str]:
    """kube-proxy ipvs CleanupLeftovers: ALL virtual servers, kube-ipvs0, ipvs chains, then the ipsets."""
    removed = []
    try:
        if cmd(["ipvsadm", "-Ln"], check=False).returncode == 0:
            cmd(["ipvsadm", "-C"], check=False)
            removed.append("ipvs:virtual-servers")
    except ToolMissing:
        pass
    if cmd(["ip", "link", "show", IPVS_DUMMY], check=False).returncode == 0:
        cmd(["ip", "link", "del", IPVS_DUMMY])
        removed.append(f"link:{IPVS_DUMMY}")
    removed += ipt.cleanup()
    try:
        existing = set(cmd(["ipset", "list", "-n"], check=False).stdout.split())
        for name, *_rest in IPSETS:
            for n in (name, name.replace("KUBE-", "KUBE-6-", 1)):
                if n in existing:
                    cmd(["ipset", "destroy", n], check=False)
                    removed.append(f"ipset:{n}")
    except ToolMissing:
        pass
    return removed


def set_sysctl(name: str, value: str) -> None:
    path = "/proc/sys/" + name.replace(".", "/")
    if os.path.exists(path):
        with open(path, "w") as f:
            f.write(value)


# ---- health ---------------------------------------------------------------------------------
class Health:
    def __init__(self, node: str):
        self.node = node
        self.last_updated: float | None = None
        self.healthy = False
        self.lock = threading.Lock()

    def body(self) -> tuple[int, dict]:
        with self.lock:
            ok = self.healthy and self.last_updated is not None
            lu = self.last_updated
        fmt = "%Y-%m-%d %H:%M:%S.000000000 +0000 UTC"
        data = {
            "lastUpdated": time.strftime(fmt, time.gmtime(lu)) if lu else "",
            "currentTime": time.strftime(fmt, time.gmtime()),
            "nodeEligible": True,
            "nodeName": self.node,
        }
        return (200 if ok else 503), data


def serve_healthz(health: Health, addr: str):
    import http.server

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def do_GET(self):
            if self.path.split("?")[0] not in ("/healthz", "/livez"):
                self.send_response(404)
                self.end_headers()
                return
            code, data = health.body()
            body = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    host, port = addr.rsplit(":", 1)
    srv = http.server.ThreadingHTTPServer((host, int(port)), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


# ---- the agent loop -------------------------------------------------------------------------
def version_tuple(image: str) -> tuple[int, int] | None:
    m = re.search(r":v(\d+)\.(\d+)", image or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def kernel_tuple(release: str) -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", release)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def validate_start(cfg: dict, image: str, kernel: str) -> str | None:
    """What makes the real kube-proxy exit at start-up (domain.md §1, §2). None when it starts."""
    mode = cfg.get("mode") or "iptables"
    if mode not in ("iptables", "ipvs", "nftables"):
        return f'KubeProxyConfiguration.mode: Invalid value: "{mode}": must be iptables, ipvs or nftables'
    ver = version_tuple(image)
    gates = cfg.get("featureGates") or {}
    if mode == "nftables":
        if ver and ver < (1, 29):
            return (
                f'KubeProxyConfiguration.mode: Invalid value: "nftables" (kube-proxy'
                f' {ver[0]}.{ver[1]} has no nftables mode)'
            )
        if ver and ver < (1, 31) and not gates.get("NFTablesProxyMode"):
            return 'KubeProxyConfiguration.mode: Invalid value: "nftables": feature gate NFTablesProxyMode is off'
        if kernel_tuple(kernel) < (5, 13) and not os.environ.get("KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK"):
            return f"kernel {kernel} is older than 5.13, the minimum for nftables mode"
    for k, v in (
        (cfg.get(mode if mode != "nftables" else "nftables") or {}).items() if isinstance(cfg.get(mode), dict) else []
    ):
        if k == "masqueradeBit" and not (0 <= int(v) <= 31):
            return f"KubeProxyConfiguration.{mode}.masqueradeBit: Invalid value: {v}: must be within the range [0, 31]"
    return None


class Agent:
    def __init__(self, args):
        self.args = args
        self.node = args.node
        self.cmd = Cmd(self.log)
        self.health = Health(self.node)
        self.running: tuple | None = None  # (pod uid, config text, image)
        self.mode: str | None = None
        self.state = "Idle"
        self.message = ""
        self.restarts = 0
        self.last_applied: str | None = None
        self.last_apply_at = 0.0
        self.backend: str | None = None
        self.events: list[str] = []

    def log(self, msg: str) -> None:
        print(f"standin-agent[{self.node}]: {msg}", file=sys.stderr, flush=True)

    def fail_mode(self, view: dict) -> str | None:
        ann = ((view.get("node") or {}).get("metadata") or {}).get("annotations") or {}
        val = ann.get(FAIL_ANNOTATION)
        if val is None and os.path.exists(self.args.fail_file):
            with open(self.args.fail_file) as f:
                val = f.read().strip() or "unhealthy"
        if val in (None, "", "false"):
            return None
        return "crash" if val == "crash" else "unhealthy"

    def report(self, server: str) -> None:
        body = {
            "node": self.node,
            "podUID": (self.running or (None,))[0],
            "healthy": self.health.healthy,
            "state": self.state,
            "message": self.message,
            "restarts": self.restarts,
            "mode": self.mode,
            "kernelVersion": os.uname().release,
            "osImage": os_image(),
        }
        try:
            http_call(server, "POST", "/standin/v1/health", body, timeout=5)
        except OSError as e:
            self.log(f"cannot report health: {e}")

    def startup_cleanup(self, mode: str, ipt: Iptables) -> list[str]:
        """kube-proxy's own start-up cleanup (cmd/kube-proxy platform cleanup)."""
        if mode == "nftables":
            removed = ipvs_cleanup(self.cmd, ipt)
            if self.args.ipv6:
                removed += Iptables(self.cmd, ipt.backend, 6).cleanup()
            return removed
        return nft_cleanup(self.cmd)  # iptables or ipvs: only nftables state; nothing between iptables and ipvs

    def sync(self, view: dict) -> None:
        pod = view.get("pod")
        if pod is None:
            if self.running is not None:
                self.log("no kube-proxy DaemonSet selects this node any more: idle, kernel state left as is")
            self.running, self.state, self.message = None, "Idle", "no kube-proxy pod on this node"
            with self.health.lock:
                self.health.healthy = False
            return
        conf = view.get("config") or {}
        key = (pod["metadata"]["uid"], conf.get("text"), conf.get("image"))
        fail = self.fail_mode(view)
        if key != self.running:
            if self.running is not None and self.running[0] == pod["metadata"]["uid"]:
                self.restarts += 1  # config file changed: kube-proxy exits, the container restarts
            else:
                self.restarts = 0
            self.running = key
            self.last_applied = None
            with self.health.lock:
                self.health.healthy, self.health.last_updated = False, None
            if conf.get("text") is None:
                self.state, self.message, self.mode = (
                    "CrashLoopBackOff",
                    f"config file {conf.get('path')} not found",
                    None,
                )
                self.log(self.message)
                return
            cfg = parse_proxy_config(conf["text"])
            self.cfg = cfg
            err = validate_start(cfg, conf.get("image", ""), os.uname().release)
            if fail == "crash":
                err = err or f"fault injected ({FAIL_ANNOTATION}=crash)"
            if err:
                self.state, self.message, self.mode = "CrashLoopBackOff", err, None
                self.log(f"kube-proxy would exit: {err}")
                return
            self.mode = cfg.get("mode") or "iptables"
            self.backend = detect_iptables_backend(self.cmd, self.args.iptables_backend)
            self.log(f"start pod {pod['metadata']['name']} mode={self.mode} iptables-backend={self.backend}")
            removed = self.startup_cleanup(self.mode, Iptables(self.cmd, self.backend))
            self.events.append(f"start {self.mode}: removed {removed}")
            self.log(f"start-up cleanup for {self.mode}: removed {removed or 'nothing'}")
            self.state = "Running"
        if self.state == "CrashLoopBackOff":
            return
        self.program(view)
        healthy = fail is None
        self.message = "" if healthy else f"fault injected ({FAIL_ANNOTATION}/{self.args.fail_file}): never healthy"
        with self.health.lock:
            self.health.healthy = healthy
            if healthy:
                self.health.last_updated = time.time()

    def program(self, view: dict) -> None:
        cfg = self.cfg
        cluster_cidr = (cfg.get("clusterCIDR") or "").split(",")[0] or None
        service_cidr = view.get("serviceCIDR")
        ports = service_ports(view, 4)
        node_ip = Store(None).node_ip(view["node"]) if view.get("node") else ""
        desired = json.dumps([self.mode, ports, cluster_cidr, node_ip], sort_keys=True)
        if desired == self.last_applied and time.time() - self.last_apply_at < self.args.resync:
            return
        ipt = Iptables(self.cmd, self.backend or "nft")
        if self.mode == "iptables":
            ipt.program("iptables", render_iptables(ports, cluster_cidr))
            if self.args.ipv6:
                Iptables(self.cmd, ipt.backend, 6).program("iptables", render_iptables([], None))
        elif self.mode == "nftables":
            self.cmd(
                ["nft", "-f", "-"],
                data=render_nftables(ports, cluster_cidr, service_cidr, 4, [node_ip] if node_ip else []),
            )
            if self.args.ipv6:
                self.cmd(["nft", "-f", "-"], data=render_nftables([], None, None, 6))
        elif self.mode == "ipvs":
            self.program_ipvs(ports, node_ip, cluster_cidr, ipt)
        self.last_applied, self.last_apply_at = desired, time.time()

    def program_ipvs(self, ports, node_ip, cluster_cidr, ipt: Iptables) -> None:
        ipvs_cfg = self.cfg.get("ipvs") or {}
        scheduler = ipvs_cfg.get("scheduler") or "rr"
        node_ips = [node_ip] if node_ip else []
        # sysctls the ipvs proxier sets (and nobody resets)
        for name, val in (
            ("net.ipv4.vs.conntrack", "1"),
            ("net.ipv4.vs.conn_reuse_mode", "0"),
            ("net.ipv4.vs.expire_nodest_conn", "1"),
            ("net.ipv4.vs.expire_quiescent_template", "1"),
            ("net.ipv4.ip_forward", "1"),
        ):
            set_sysctl(name, val)
        if ipvs_cfg.get("strictARP"):
            set_sysctl("net.ipv4.conf.all.arp_ignore", "1")
            set_sysctl("net.ipv4.conf.all.arp_announce", "2")
        # dummy interface with every ClusterIP
        if self.cmd(["ip", "link", "show", IPVS_DUMMY], check=False).returncode != 0:
            self.cmd(["ip", "link", "add", IPVS_DUMMY, "type", "dummy"])
        have = set(re.findall(r"inet (\S+)/32", self.cmd(["ip", "-4", "addr", "show", "dev", IPVS_DUMMY]).stdout))
        want = {sp["clusterIP"] for sp in ports}
        for ip in sorted(want - have):
            self.cmd(["ip", "addr", "add", f"{ip}/32", "dev", IPVS_DUMMY])
        for ip in sorted(have - want):
            self.cmd(["ip", "addr", "del", f"{ip}/32", "dev", IPVS_DUMMY], check=False)
        # virtual servers: ours are those on kube-ipvs0 addresses or node IP:nodePort
        services = ipvs_services(ports, node_ips, scheduler)
        current: dict[str, dict[str, str]] = {}
        vs = None
        for ln in self.cmd(["ipvsadm", "-Sn"]).stdout.splitlines():
            parts = ln.split()
            if parts[:1] == ["-A"]:
                vs = f"{parts[1]} {parts[2]}"
                current[vs] = {}
            elif parts[:1] == ["-a"] and vs:
                current[vs][parts[parts.index("-r") + 1]] = ln
        owned_ips = have | want | set(node_ips)
        restore = []
        for v in current:
            vip = v.split()[1].rsplit(":", 1)[0]
            if v not in services and vip in owned_ips:
                restore.append(f"-D {v}")
        for v, reals in services.items():
            if v not in current:
                restore.append(f"-A {v} -s {scheduler}")
            for r in reals:
                if r not in current.get(v, {}):
                    restore.append(f"-a {v} -r {r} -m -w 1")
            for r in current.get(v, {}):
                if r not in reals:
                    restore.append(f"-d {v} -r {r}")
        if restore:
            self.cmd(["ipvsadm", "-R"], data="\n".join(restore) + "\n")
        self.cmd(["ipset", "restore"], data=render_ipsets(ports, node_ips))
        ipt.program("ipvs", render_ipvs_iptables(cluster_cidr))

    def run(self) -> int:
        serve_healthz(self.health, self.args.healthz)
        self.log(f"healthz on {self.args.healthz}, apiserver {self.args.server}")
        while True:
            try:
                view = http_call(
                    self.args.server, "GET", "/standin/v1/nodeview?node=" + urllib_parse.quote(self.node), timeout=5
                )
                if view.get("node") is None:
                    self.state, self.message = "Idle", f"node {self.node} is not in the stand-in cluster"
                else:
                    self.sync(view)
                self.report(self.args.server)
            except ToolMissing as e:
                self.state, self.message = "Waiting", f"tool {e} not installed yet"
                self.log(self.message)
                self.running, self.last_applied = None, None  # start again (with cleanup) once it is there
                with self.health.lock:
                    self.health.healthy = False
                self.report(self.args.server)
            except (OSError, RuntimeError, ValueError) as e:
                self.log(f"sync failed: {e}")
                self.last_applied = None
                with self.health.lock:
                    self.health.healthy = False
                try:
                    self.report(self.args.server)
                except Exception:
                    pass
            if self.args.once:
                return 0
            time.sleep(self.args.interval)


def os_image() -> str:
    try:
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]*)', f.read(), re.M)
        return m.group(1) if m else ""
    except OSError:
        return ""


def cmd_render(args) -> int:
    with open(args.view) as f:
        view = json.load(f)
    ports = service_ports(view, 4)
    if args.mode == "iptables":
        r = render_iptables(ports, args.cluster_cidr)
        print("\n".join(["*nat", *r["nat"], "*filter", *r["filter"]]))
    elif args.mode == "nftables":
        print(render_nftables(ports, args.cluster_cidr, view.get("serviceCIDR"), 4))
    else:
        print(render_ipsets(ports, []))
        print(json.dumps(ipvs_services(ports, [], "rr"), indent=1))
        r = render_ipvs_iptables(args.cluster_cidr)
        print("\n".join(["*nat", *r["nat"], "*filter", *r["filter"]]))
    return 0


# --------------------------------------------------------------------------------------------
# install (on a lab VM; called once per host by tests/standin/install.yml)
# --------------------------------------------------------------------------------------------
UNIT_DIR = "/etc/systemd/system"
STATE_DIR = "/var/lib/standin"
MANAGED = "# managed by the kube_proxy.mode cluster stand-in (tests/standin)"


def write_if_changed(path: str, text: str, mode: int = 0o644) -> bool:
    try:
        with open(path) as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".standin-tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


def unit(description: str, exec_start: str) -> str:
    return (
        f"{MANAGED}\n[Unit]\nDescription={description}\nAfter=network-online.target\n\n"
        f"[Service]\nExecStart={exec_start}\nRestart=always\nRestartSec=1\n\n[Install]\nWantedBy=multi-user.target\n"
    )


def cmd_install(args) -> int:
    """Idempotent: prints one line per change and 'standin: changed' / 'standin: unchanged' last."""
    module = os.path.abspath(__file__)
    py = sys.executable or "/usr/bin/python3"
    changes: list[str] = []
    restart: list[str] = []
    # a small entry point importing the module, so that its byte code is cached (TCG guests are slow)
    prog = os.path.join(args.sbin_dir, "standin")
    wrapper = (
        f"#!{py}\n{MANAGED}\nimport sys\n\nsys.path.insert(0, {os.path.dirname(module)!r})\n"
        "import standin  # noqa: E402\n\nsys.exit(standin.main())\n"
    )
    if write_if_changed(prog, wrapper, 0o755):
        changes.append(f"{prog} written")
        restart += ["standin-apiserver.service", "standin-kube-proxy.service"]
    import py_compile

    py_compile.compile(module, doraise=True)
    with open(module, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest() + "\n"
    if write_if_changed(os.path.join(STATE_DIR, "program.sha256"), digest):
        changes.append("program updated")
        restart += ["standin-apiserver.service", "standin-kube-proxy.service"]
    if args.apiserver:
        seed = sys.stdin.read() if args.seed == "-" else open(args.seed).read()  # noqa: SIM115
        seed = "\n".join(ln for ln in seed.splitlines() if not ln.startswith("#")) + "\n"
        json.loads(seed)
        if write_if_changed(os.path.join(STATE_DIR, "seed.json"), seed, 0o600):
            changes.append("seed written")
        state = os.path.join(STATE_DIR, "state.json")
        if args.reset and os.path.exists(state):
            os.unlink(state)
            changes.append("state reset")
            restart.append("standin-apiserver.service")
        listen = " ".join(f"--listen {a}" for a in args.listen)
        text = unit("Kubernetes API stand-in (kube_proxy.mode tests)",
                    f"{py} {prog} apiserver --seed {STATE_DIR}/seed.json --state {state} {listen}")  # fmt: skip
        if write_if_changed(os.path.join(UNIT_DIR, "standin-apiserver.service"), text):
            changes.append("standin-apiserver.service written")
            restart.append("standin-apiserver.service")
        kubectl = os.path.join(args.bin_dir, "kubectl")
        if not (os.path.islink(kubectl) and os.readlink(kubectl) == prog):
            if os.path.lexists(kubectl):
                os.unlink(kubectl)
            os.makedirs(args.bin_dir, exist_ok=True)
            os.symlink(prog, kubectl)
            changes.append(f"{kubectl} -> {prog}")
        local = next((a for a in args.listen if a.startswith("127.")), args.listen[0])
        kubeconfig = (
            f"{MANAGED}\napiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: http://{local}\n"
            "  name: standin\ncontexts:\n- context:\n    cluster: standin\n    user: admin\n  name: admin@standin\n"
            "current-context: admin@standin\nusers:\n- name: admin\n  user: {}\n"
        )
        if write_if_changed(args.kubeconfig, kubeconfig, 0o600):
            changes.append(f"{args.kubeconfig} written")
    agent_cmd = f"{py} {prog} agent --node {args.node} --server {args.server}"
    if write_if_changed(os.path.join(UNIT_DIR, "standin-kube-proxy.service"), unit("kube-proxy stand-in", agent_cmd)):
        changes.append("standin-kube-proxy.service written")
        restart.append("standin-kube-proxy.service")
    os.makedirs("/etc/standin", exist_ok=True)
    units = ["standin-kube-proxy.service"] + (["standin-apiserver.service"] if args.apiserver else [])
    if changes:
        subprocess.run(["systemctl", "daemon-reload"], check=True)
    for u in units:
        active = subprocess.run(["systemctl", "is-active", "--quiet", u], check=False).returncode == 0
        enabled = subprocess.run(["systemctl", "is-enabled", "--quiet", u], check=False).returncode == 0
        if not enabled:
            subprocess.run(["systemctl", "enable", "--quiet", u], check=True)
            changes.append(f"{u} enabled")
        if not active:
            subprocess.run(["systemctl", "start", u], check=True)
            changes.append(f"{u} started")
        elif u in restart:
            subprocess.run(["systemctl", "restart", u], check=True)
            changes.append(f"{u} restarted")
    if args.apiserver:
        local = next((a for a in args.listen if a.startswith("127.")), args.listen[0])
        deadline = time.time() + 120
        while True:
            try:
                http_call("http://" + local, "GET", "/healthz", timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    print(f"standin: apiserver on {local} did not come up", file=sys.stderr)
                    return 1
                time.sleep(0.3)
    for c in changes:
        print(f"standin: {c}")
    print("standin: changed" if changes else "standin: unchanged")
    return 0


def inventory_nodes(text: str) -> list[str]:
    """{"control_plane": [...], "hosts": [...], "ips": {host: ip}} -> NAME=IP[:control-plane], control plane first."""
    inv = json.loads(text)
    cps = list(inv["control_plane"])
    order = cps + [h for h in inv["hosts"] if h not in cps]
    return [f"{h}={inv['ips'][h]}" + (":control-plane" if h in cps else "") for h in order]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    prog = os.path.basename(argv[0])
    if prog == "kubectl" or (len(argv) > 1 and argv[1] == "kubectl"):
        return cmd_kubectl(argv[1:] if prog == "kubectl" else argv[2:])
    p = argparse.ArgumentParser(
        prog="standin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="role", required=True)
    a = sub.add_parser("apiserver", help="object store, DaemonSet controller, HTTP API")
    a.add_argument("--state", help="JSON file holding the objects (created from --seed when missing)")
    a.add_argument("--seed", help="cluster seed (JSON List, see the seed role)")
    a.add_argument("--listen", action="append", help="HOST:PORT (repeatable)")
    a.add_argument("--socket", help="unix socket path")
    g = sub.add_parser("agent", help="kube-proxy stand-in of one node")
    g.add_argument("--node", required=True)
    g.add_argument("--server", required=True, help="http://HOST:PORT or unix:/PATH")
    g.add_argument("--healthz", default="0.0.0.0:10256")
    g.add_argument("--fail-file", default=FAIL_FILE)
    g.add_argument("--iptables-backend", choices=["auto", "nft", "legacy"], default="auto")
    g.add_argument("--ipv6", action=argparse.BooleanOptionalAction, default=os.path.exists("/proc/sys/net/ipv6"))
    g.add_argument("--interval", type=float, default=2.0)
    g.add_argument("--resync", type=float, default=30.0, help="re-program even without changes every N s")
    g.add_argument("--once", action="store_true")
    s = sub.add_parser("seed", help="write a cluster seed")
    s.add_argument("--node", action="append", default=[], help="NAME=IP[:control-plane] (repeatable, in order)")
    s.add_argument("--inventory-json", help='{"control_plane": [..], "hosts": [..], "ips": {host: ip}}')
    s.add_argument("--mode", default="iptables", help="kube_proxy_mode of the kubeadm ConfigMap")
    s.add_argument("--include", action="append", help="JSON/YAML file of extra objects (CNI DaemonSets, ...)")
    s.add_argument("--kubernetes-version", default=DEFAULT_K8S_VERSION)
    s.add_argument("--pod-cidr", default="10.233.64.0/18")
    s.add_argument("--service-cidr", default="10.233.0.0/18")
    s.add_argument("--output", "-o", default="-")
    i = sub.add_parser("install", help="install units, kubectl and admin.conf on a lab VM (root)")
    i.add_argument("--node", required=True)
    i.add_argument("--server", required=True, help="apiserver URL the agent uses")
    i.add_argument("--apiserver", action="store_true", help="this host runs the apiserver")
    i.add_argument("--seed", default="-", help="seed file, - for stdin (with --apiserver)")
    i.add_argument("--listen", action="append", default=[], help="HOST:PORT for the apiserver (repeatable)")
    i.add_argument("--bin-dir", default="/usr/local/bin")
    i.add_argument("--sbin-dir", default="/usr/local/sbin")
    i.add_argument("--kubeconfig", default="/etc/kubernetes/admin.conf")
    i.add_argument("--reset", action="store_true", help="start again from the seed (drops the stored state)")
    r = sub.add_parser("render", help="print the rules the agent programs for a node view")
    r.add_argument("--view", required=True)
    r.add_argument("--mode", required=True, choices=["iptables", "ipvs", "nftables"])
    r.add_argument("--cluster-cidr")
    args = p.parse_args(argv[1:])
    if args.role == "apiserver":
        return cmd_apiserver(args)
    if args.role == "agent":
        return Agent(args).run()
    if args.role == "seed":
        if args.inventory_json:
            args.node = args.node + inventory_nodes(args.inventory_json)
        if not args.node:
            p.error("seed needs --node or --inventory-json")
        return cmd_seed(args)
    if args.role == "install":
        return cmd_install(args)
    return cmd_render(args)


if __name__ == "__main__":
    sys.exit(main())
