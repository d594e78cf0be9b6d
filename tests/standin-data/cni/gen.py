# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn the upstream CNI manifests into the JSON kubectl would return for them (see README.md).

Usage: python tests/standin-data/cni/gen.py [FIXTURES_DIR]   (default ../shared/fixtures/cni beside the checkout)
Re-running it on the same manifests rewrites byte-identical files.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
NODES = 3
CREATED = '2026-08-01T10:00:00Z'

# scenario -> (manifest file, namespace override for DaemonSets (operator installs), Installation file)
SCENARIOS = {
    'calico-manifest': ('calico.yaml', None, None),
    'calico-operator-iptables': ('calico.yaml', 'calico-system', 'calico-operator-installation-default.yaml'),
    'calico-operator-bpf': ('calico.yaml', 'calico-system', 'calico-operator-installation-bpf.yaml'),
    'calico-operator-nftables': ('calico.yaml', 'calico-system', 'calico-operator-installation-nftables.yaml'),
    'cilium-latest': ('cilium.yaml', None, None),
    'cilium-v1.8.0-rc3': ('cilium-v1.8.0-rc3.yaml', None, None),
    'aws-vpc-cni': ('aws-vpc-cni.yaml', None, None),
    'flannel': ('flannel.yaml', None, None),
    'kube-router': ('kube-router.yaml', None, None),
    'kube-router-all-features': ('kube-router-all-features.yaml', None, None),
}


def _uid(*parts):
    digest = hashlib.sha256('/'.join(parts).encode()).hexdigest()
    return '%s-%s-%s-%s-%s' % (digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:32])


def _live_meta(obj, scenario, namespaced=True):
    meta = obj.setdefault('metadata', {})
    if namespaced:
        meta.setdefault('namespace', 'default')
    meta['uid'] = _uid(scenario, obj['kind'], meta.get('namespace', ''), meta['name'])
    meta['resourceVersion'] = str(1000 + int(meta['uid'][:4], 16) % 9000)
    meta['creationTimestamp'] = CREATED
    return meta


def live_daemonset(doc, scenario, namespace):
    ds = copy.deepcopy(doc)
    if namespace:
        ds['metadata']['namespace'] = namespace
    meta = _live_meta(ds, scenario)
    meta['generation'] = 1
    meta.setdefault('annotations', {})['deprecated.daemonset.template.generation'] = '1'
    spec = ds['spec']
    spec.setdefault('revisionHistoryLimit', 10)
    spec.setdefault('updateStrategy', {'type': 'RollingUpdate'})
    if spec['updateStrategy'].get('type') == 'RollingUpdate':
        spec['updateStrategy'].setdefault('rollingUpdate', {}).setdefault('maxUnavailable', 1)
        spec['updateStrategy']['rollingUpdate'].setdefault('maxSurge', 0)
    pod = spec['template']['spec']
    pod.setdefault('dnsPolicy', 'ClusterFirst')
    pod.setdefault('restartPolicy', 'Always')
    pod.setdefault('schedulerName', 'default-scheduler')
    pod.setdefault('securityContext', {})
    for container in pod.get('initContainers', []) + pod.get('containers', []):
        container.setdefault('imagePullPolicy', 'IfNotPresent')
        container.setdefault('terminationMessagePath', '/dev/termination-log')
        container.setdefault('terminationMessagePolicy', 'File')
        container.setdefault('resources', {})
    ds['status'] = {
        'currentNumberScheduled': NODES,
        'desiredNumberScheduled': NODES,
        'numberAvailable': NODES,
        'numberMisscheduled': 0,
        'numberReady': NODES,
        'observedGeneration': 1,
        'updatedNumberScheduled': NODES,
    }
    return ds


def live_configmap(doc, scenario):
    cm = copy.deepcopy(doc)
    _live_meta(cm, scenario)
    return cm


def live_installation(doc, scenario):
    inst = copy.deepcopy(doc)
    meta = _live_meta(inst, scenario, namespaced=False)
    meta['generation'] = 1
    # what the operator reports once it reconciled (operator.tigera.io/v1 InstallationStatus)
    inst['status'] = {'variant': 'Calico', 'calicoVersion': 'v3.32.1', 'mtu': 1450}
    return inst


def as_list(items):
    return {'apiVersion': 'v1', 'items': items, 'kind': 'List', 'metadata': {'resourceVersion': ''}}


def write(path, data):
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write('\n')


def main(fixtures):
    for scenario, (manifest, namespace, installation) in sorted(SCENARIOS.items()):
        with open(os.path.join(fixtures, manifest), encoding='utf-8') as handle:
            docs = [d for d in yaml.safe_load_all(handle) if d]
        out = os.path.join(HERE, scenario)
        os.makedirs(out, exist_ok=True)
        daemonsets = [live_daemonset(d, scenario, namespace) for d in docs if d['kind'] == 'DaemonSet']
        configmaps = [live_configmap(d, scenario) for d in docs if d['kind'] == 'ConfigMap']
        if namespace:  # operator installs keep no manifest ConfigMap
            configmaps = []
        write(os.path.join(out, 'daemonsets.json'), as_list(daemonsets))
        write(os.path.join(out, 'configmaps.json'), as_list(configmaps))
        inst_path = os.path.join(out, 'installation.json')
        if installation:
            with open(os.path.join(fixtures, installation), encoding='utf-8') as handle:
                write(inst_path, live_installation(yaml.safe_load(handle), scenario))
        elif os.path.exists(inst_path):
            os.unlink(inst_path)


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', '..', '..', '..', 'shared', 'fixtures', 'cni'))
