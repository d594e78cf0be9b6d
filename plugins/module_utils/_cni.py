# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CNI compatibility of kube-proxy modes: verdicts from the matrix, detection from kubectl JSON.

Private module: the API may change without notice. The matrix (data/cni_matrix.yml) is passed in
as a parsed dict so that callers (filters, unit tests) decide where it comes from.
"""

from __future__ import annotations

import json
import re

VERDICTS = ('supported', 'needs_settings', 'unverified', 'unsupported', 'not_applicable')
# Strictness when joining a CNI row with cross-cutting rules (not_applicable short-circuits).
_SEVERITY = {'supported': 0, 'needs_settings': 1, 'unverified': 2, 'unsupported': 3}

CNI_ALIASES = {
    'calico': 'calico',
    'calico-node': 'calico',
    'cilium': 'cilium',
    'aws-vpc-cni': 'aws-vpc-cni',
    'aws-node': 'aws-vpc-cni',
    'aws': 'aws-vpc-cni',
    'amazon-vpc-cni': 'aws-vpc-cni',
    'flannel': 'flannel',
    'kube-flannel': 'flannel',
    'kube-router': 'kube-router',
    'kube_router': 'kube-router',
}

# DaemonSet name -> (CNI, container that carries version and env, image name fragment)
_DAEMONSETS = (
    ('cilium', 'cilium', 'cilium-agent', 'cilium/cilium'),
    ('calico-node', 'calico', 'calico-node', 'calico/node'),
    ('aws-node', 'aws-vpc-cni', 'aws-node', 'amazon-k8s-cni'),
    ('kube-flannel-ds', 'flannel', 'kube-flannel', 'flannel'),
    ('kube-router', 'kube-router', 'kube-router', 'kube-router'),
)
_UNKNOWN_TAGS = ('', 'latest', 'master', 'main', 'stable')

_TRUE = ('true', 'yes', 'on', '1', 'enabled')
_FALSE = ('false', 'no', 'off', '0', 'disabled')


class CniError(ValueError):
    """Bad input (unknown mode, malformed matrix, malformed kubectl JSON)."""


# --------------------------------------------------------------------------- versions
def parse_version(value):
    """'v3.31.5' / '3.31' / 'v1.8.0-rc3' -> comparable tuple, or None when there is no version.

    A pre-release sorts before its release: (1, 8, 0, -1) < (1, 8, 0, 0).
    """
    if value is None:
        return None
    text = str(value).strip()
    if text.lower().startswith('v'):
        text = text[1:]
    match = re.match(r'^(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+~].*)?$', text)
    if not match:
        return None
    major, minor, patch, suffix = match.groups()
    pre = -1 if suffix and suffix[0] in '-~' else 0
    return (int(major), int(minor or 0), int(patch or 0), pre)


def format_version(value):
    """Version as the user wrote it minus a leading 'v', or None."""
    if value is None or parse_version(value) is None:
        return None
    text = str(value).strip()
    return text[1:] if text.lower().startswith('v') else text


def in_bounds(version, bounds):
    """True when the parsed version lies in {min: inclusive, below: exclusive}."""
    if not bounds:
        return True
    if version is None:
        return False
    low = bounds.get('min')
    high = bounds.get('below')
    if low is not None and version < _bound(low):
        return False
    return not (high is not None and version >= _bound(high))


def _bound(value):
    parsed = parse_version(value)
    if parsed is None:
        raise CniError('matrix: bad version bound %r' % (value,))
    # a bound '3.31.0' means the release 3.31.0, so pre-releases of it fall below
    return parsed[:3] + (0,)


def describe_bounds(bounds):
    """Human spelling of a version range: '>= 3.29.0, < 3.31.0' or 'any'."""
    if not bounds:
        return 'any'
    parts = []
    if bounds.get('min') is not None:
        parts.append('>= %s' % bounds['min'])
    if bounds.get('below') is not None:
        parts.append('< %s' % bounds['below'])
    return ', '.join(parts)


# --------------------------------------------------------------------------- settings
def canonical_cni(name):
    """Known CNI spelling ('calico-node', 'aws-node', 'kube_router', ...) -> matrix key, else lower-cased name."""
    if name is None:
        return None
    key = str(name).strip().lower()
    return CNI_ALIASES.get(key, key)


def _boolish(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    text = str(value).strip().strip('"').lower()
    if text in _TRUE:
        return 'true'
    if text in _FALSE:
        return 'false'
    return text


def _feature_gate(settings):
    """NFTablesProxyMode from NFTablesProxyMode / featureGates dict / Kubespray kube_proxy_feature_gates list."""
    if 'NFTablesProxyMode' in settings:
        return _boolish(settings['NFTablesProxyMode'])
    gates = settings.get('featureGates')
    if isinstance(gates, dict) and 'NFTablesProxyMode' in gates:
        return _boolish(gates['NFTablesProxyMode'])
    gates = settings.get('kube_proxy_feature_gates')
    if isinstance(gates, dict) and 'NFTablesProxyMode' in gates:
        return _boolish(gates['NFTablesProxyMode'])
    if isinstance(gates, (list, tuple)):
        for gate in gates:
            name, _sep, value = str(gate).partition('=')
            if name.strip() == 'NFTablesProxyMode':
                return _boolish(value or 'true')
    return None


def normalize_settings(cni, settings):
    """Settings in any supported spelling -> the CNI's own spelling with canonical values.

    Calico: FELIX_NFTABLESMODE (Enabled/Disabled/Auto), FELIX_BPFENABLED, FELIX_IPTABLESBACKEND
    (Legacy/NFT/Auto), FELIX_KUBENODEPORTRANGES, from the calico-node env, the operator's
    linuxDataplane (Nftables, BPF, Iptables, VPP) or Kubespray's calico_nftable_mode /
    calico_bpf_enabled / calico_iptables_backend; the env wins over the others.
    Cilium: kubeProxyReplacement ('true', 'false', 'partial', 'probe') from kubeProxyReplacement,
    kube-proxy-replacement (cilium-config) or cilium_kube_proxy_replacement; strict -> 'true',
    disabled -> 'false'. AWS VPC CNI: ENABLE_NFTABLES. Flannel: EnableNFTables. kube-router:
    run-service-proxy (flag --run-service-proxy or Kubespray kube_router_run_service_proxy).
    Kubernetes: NFTablesProxyMode from NFTablesProxyMode, featureGates or kube_proxy_feature_gates.
    Unknown keys are kept as given.
    """
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise CniError('settings must be a dict, got %s' % type(settings).__name__)
    cni = canonical_cni(cni)
    out = {}
    consumed = set()

    def take(*keys):
        for key in keys:
            if key in settings and settings[key] is not None and str(settings[key]) != '':
                consumed.update(keys)
                return settings[key]
        consumed.update(keys)
        return None

    if cni == 'calico':
        dataplane = take('linuxDataplane', 'calico_linux_dataplane')
        if dataplane is not None:
            out['linuxDataplane'] = str(dataplane)
            plane = str(dataplane).lower()
            if plane == 'bpf':
                out['FELIX_BPFENABLED'] = 'true'
            elif plane == 'nftables':
                out['FELIX_NFTABLESMODE'] = 'Enabled'
                out['FELIX_BPFENABLED'] = 'false'
            elif plane == 'iptables':
                out['FELIX_BPFENABLED'] = 'false'
        bpf = take('calico_bpf_enabled')
        if bpf is not None and 'FELIX_BPFENABLED' not in out:
            out['FELIX_BPFENABLED'] = _boolish(bpf)
        nft = take('calico_nftable_mode')
        if nft is not None and 'FELIX_NFTABLESMODE' not in out:
            out['FELIX_NFTABLESMODE'] = 'Enabled' if _boolish(nft) == 'true' else 'Disabled'
        backend = take('calico_iptables_backend')
        if backend is not None:
            out['FELIX_IPTABLESBACKEND'] = _calico_backend(backend)
        # the calico-node env is what Felix reads: it wins
        value = take('FELIX_NFTABLESMODE', 'nftablesMode')
        if value is not None:
            text = _boolish(value)
            out['FELIX_NFTABLESMODE'] = {'true': 'Enabled', 'false': 'Disabled', 'auto': 'Auto'}.get(text, str(value))
        value = take('FELIX_BPFENABLED', 'bpfEnabled')
        if value is not None:
            out['FELIX_BPFENABLED'] = _boolish(value)
        value = take('FELIX_IPTABLESBACKEND', 'iptablesBackend')
        if value is not None:
            out['FELIX_IPTABLESBACKEND'] = _calico_backend(value)
        value = take('FELIX_KUBENODEPORTRANGES', 'kubeNodePortRanges')
        if value is not None:
            out['FELIX_KUBENODEPORTRANGES'] = str(value).strip()
    elif cni == 'cilium':
        value = take('kubeProxyReplacement', 'kube-proxy-replacement', 'cilium_kube_proxy_replacement')
        if value is not None:
            text = _boolish(value)
            out['kubeProxyReplacement'] = {'strict': 'true', 'disabled': 'false'}.get(text, text)
    elif cni == 'aws-vpc-cni':
        value = take('ENABLE_NFTABLES')
        if value is not None:
            out['ENABLE_NFTABLES'] = _boolish(value)
    elif cni == 'flannel':
        value = take('EnableNFTables', 'flannel_enable_nftables')
        if value is not None:
            out['EnableNFTables'] = _boolish(value)
    elif cni == 'kube-router':
        value = take('run-service-proxy', '--run-service-proxy', 'kube_router_run_service_proxy')
        if value is not None:
            out['run-service-proxy'] = _boolish(value)
    gate = _feature_gate(settings)
    consumed.update(('featureGates', 'kube_proxy_feature_gates', 'NFTablesProxyMode'))
    if gate is not None:
        out['NFTablesProxyMode'] = gate
    for key, value in settings.items():
        if key not in consumed:
            out[key] = value
    return out


def _calico_backend(value):
    text = str(value).strip().lower()
    return {'legacy': 'Legacy', 'nft': 'NFT', 'auto': 'Auto'}.get(text, str(value))


# --------------------------------------------------------------------------- verdicts
def _modes(matrix):
    return tuple(matrix.get('modes') or ('iptables', 'ipvs', 'nftables'))


def _settings_match(when, effective):
    return all(str(effective.get(key)) in [str(v) for v in accepted] for key, accepted in (when or {}).items())


def _effective(matrix, cni, row, settings):
    merged = dict(matrix['cnis'].get(cni, {}).get('defaults') or {})
    merged.update((row or {}).get('defaults') or {})
    merged.update(settings)
    return merged


def _missing(required, effective):
    missing = {}
    for key, accepted in (required or {}).items():
        accepted = [str(v) for v in accepted]
        if str(effective.get(key)) not in accepted:
            missing[key] = accepted[0]
    return missing


def _row_id(row):
    label = row.get('label') or describe_bounds(row.get('versions'))
    return '%s %s' % (row['cni'], label)


def _eval_entry(entry, effective, kube):
    verdict = entry['verdict']
    if verdict not in VERDICTS:
        raise CniError('matrix: unknown verdict %r' % (verdict,))
    reasons = []
    required = {}
    if verdict == 'needs_settings':
        required = _missing(entry.get('required_settings'), effective)
        if required:
            reasons.extend(entry.get('reasons') or [])
        else:
            verdict = 'supported'
            reasons.append(
                'Required settings are in place: %s.'
                % ', '.join('%s=%s' % (k, effective.get(k)) for k in sorted(entry.get('required_settings') or {}))
            )
    else:
        reasons.extend(entry.get('reasons') or [])
    reasons.extend(entry.get('notes') or [])
    minimum = entry.get('kube_version_min')
    if minimum and verdict in ('supported', 'needs_settings'):
        if kube is None:
            reasons.append('Kubernetes version unknown: could not check that it is %s or later.' % minimum)
        elif kube < _bound(minimum):
            verdict = entry.get('below_kube_version_min', 'unsupported')
            reasons.append('This CNI version needs Kubernetes %s or later for this mode.' % minimum)
    return verdict, reasons, required, list(entry.get('sources') or [])


def _cni_row_verdict(matrix, cni, mode, version, settings):
    """Verdict of the CNI's own rows: (verdict, reasons, required_settings, sources, row_ids)."""
    rows = [r for r in matrix.get('rows') or [] if r.get('cni') == cni]
    parsed = parse_version(version)
    # rows gated by settings (eBPF, kube-proxy replacement) apply to every version
    for row in rows:
        gated = row.get('when_settings') and not row.get('versions')
        if gated and _settings_match(row['when_settings'], _effective(matrix, cni, row, settings)):
            return row, None
    versioned = [r for r in rows if not r.get('when_settings')]
    if parsed is not None:
        for row in versioned:
            if in_bounds(parsed, row.get('versions')):
                return row, None
        return None, 'No matrix row covers %s %s.' % (cni, version)
    return None, versioned


def evaluate(matrix, cni, mode, version=None, settings=None, kube_version=None, kernel_version=None):
    """Verdict of running kube-proxy in `mode` next to `cni` at `version` with `settings`.

    kernel_version may be a list (the nodes of a group): the oldest kernel decides.

    Returns {cni, version, mode, verdict, reasons, required_settings, sources, rows, settings}.
    """
    if not isinstance(matrix, dict) or 'rows' not in matrix or 'cnis' not in matrix:
        raise CniError('matrix must be a dict with cnis and rows')
    if mode not in _modes(matrix):
        raise CniError('mode must be one of %s, got %r' % (', '.join(_modes(matrix)), mode))
    name = canonical_cni(cni)
    norm = normalize_settings(name, settings)
    kube = parse_version(kube_version)
    # a list of kernels (one per node of the group): the oldest one decides
    kernels = kernel_version if isinstance(kernel_version, (list, tuple)) else [kernel_version]
    parsed_kernels = [parse_version(k) for k in kernels if parse_version(k) is not None]
    kernel = min(parsed_kernels) if parsed_kernels else None
    result = {
        'cni': name,
        'version': format_version(version),
        'mode': mode,
        'verdict': 'unverified',
        'reasons': [],
        'required_settings': {},
        'sources': [],
        'rows': [],
        'settings': norm,
    }
    if name in (None, '', 'none'):
        result['reasons'].append(
            'No CNI was named or detected; the matrix cannot vouch for this mode. '
            'Check the CNI by hand and accept with kube_proxy_cni_override_reason.'
        )
        verdict = 'unverified'
    elif name not in matrix['cnis']:
        result['reasons'].append(
            'CNI %r is not in the compatibility matrix (known: %s); nothing upstream says whether it works '
            'with kube-proxy in %s mode. Test it and accept with kube_proxy_cni_override_reason.'
            % (cni, ', '.join(sorted(matrix['cnis'])), mode)
        )
        verdict = 'unverified'
    else:
        row, other = _cni_row_verdict(matrix, name, mode, version, norm)
        if row is not None:
            verdict, reasons, required, sources = _eval_entry(
                row['modes'][mode], _effective(matrix, name, row, norm), kube
            )
            result['rows'].append(_row_id(row))
            if parse_version(version) is None and row.get('versions') is None and not row.get('when_settings'):
                reasons.insert(0, 'CNI version unknown.')
        elif isinstance(other, str):
            verdict, reasons, required, sources = 'unverified', [other], {}, []
        else:
            # version unknown: the verdict holds only if every version row agrees
            outcomes = []
            for candidate in other:
                outcomes.append(
                    (candidate,)
                    + _eval_entry(candidate['modes'][mode], _effective(matrix, name, candidate, norm), kube)
                )
            verdicts = sorted({o[1] for o in outcomes})
            if len(verdicts) == 1:
                verdict, reasons, required, sources = outcomes[0][1:]
                reasons = [
                    'CNI version unknown (%s); every %s version gives the same verdict.' % (version or 'no tag', name)
                ] + reasons
                result['rows'].extend(_row_id(o[0]) for o in outcomes)
            else:
                verdict, required, sources = 'unverified', {}, []
                reasons = [
                    'CNI version unknown (%s) and the verdict for %s mode depends on it (%s): pin the %s image '
                    'to a release tag or set the version explicitly.'
                    % (version or 'no tag', mode, ', '.join(verdicts), name)
                ]
        result['reasons'].extend(reasons)
        result['required_settings'].update(required)
        result['sources'].extend(sources)
    if verdict != 'not_applicable':
        verdict = _cross_cutting(matrix, mode, kube, kernel, norm, verdict, result)
    result['verdict'] = verdict
    seen = []
    for source in result['sources']:
        if source not in seen:
            seen.append(source)
    result['sources'] = seen
    return result


def _cross_cutting(matrix, mode, kube, kernel, settings, verdict, result):
    checked_kube = False
    for rule in matrix.get('cross_cutting') or []:
        if mode not in rule.get('modes', ()):
            continue
        value = None
        if 'kube_version' in rule:
            checked_kube = True
            value = kube
            bounds = rule['kube_version']
        elif 'kernel_version' in rule:
            value = kernel
            bounds = rule['kernel_version']
        else:
            raise CniError('matrix: cross_cutting rule %s has no bound' % rule.get('id'))
        if value is None or not in_bounds(value, bounds):
            continue
        rule_verdict = rule['verdict']
        effective = {'NFTablesProxyMode': 'false'}
        effective.update(settings)
        missing = {}
        if rule_verdict == 'needs_settings':
            missing = _missing(rule.get('required_settings'), effective)
            if not missing:
                rule_verdict = 'supported'
                result['reasons'].append(
                    'Kubernetes feature gate in place: %s.'
                    % ', '.join('%s=%s' % (k, effective[k]) for k in sorted(rule['required_settings']))
                )
        if rule_verdict != 'supported' or rule.get('verdict') == 'supported':
            result['reasons'].extend(rule.get('reasons') or [])
        result['required_settings'].update(missing)
        result['sources'].extend(rule.get('sources') or [])
        result['rows'].append(rule['id'])
        if _SEVERITY[rule_verdict] > _SEVERITY[verdict]:
            verdict = rule_verdict
    if mode == 'nftables' and kube is None and checked_kube:
        result['reasons'].append(
            'Kubernetes version unknown: the Kubernetes version rules for nftables (>= 1.29, gate until 1.31) '
            'were not checked.'
        )
    return verdict


def decide(result, override_reason=None):
    """Add `ok` (may proceed) and the override outcome to an evaluate() result (returns a new dict).

    supported / not_applicable -> ok. unverified -> ok only with a non-empty override reason.
    needs_settings -> not ok until required_settings are in place. unsupported -> never ok.
    """
    out = dict(result)
    out['reasons'] = list(result.get('reasons') or [])
    reason = (override_reason or '').strip() if isinstance(override_reason, str) else ''
    if override_reason is not None and not isinstance(override_reason, str):
        raise CniError('override reason must be a string')
    verdict = result['verdict']
    out['override_reason'] = reason or None
    out['overridden'] = False
    if verdict in ('supported', 'not_applicable'):
        out['ok'] = True
    elif verdict == 'unverified':
        out['ok'] = bool(reason)
        out['overridden'] = bool(reason)
        if reason:
            out['reasons'].append('Accepted by kube_proxy_cni_override_reason: %s' % reason)
        else:
            out['reasons'].append('Set kube_proxy_cni_override_reason to a sentence to accept this risk.')
    elif verdict == 'unsupported':
        out['ok'] = False
        if reason:
            out['reasons'].append('kube_proxy_cni_override_reason cannot accept an unsupported combination.')
    else:
        out['ok'] = False
    return out


# --------------------------------------------------------------------------- detection
def _items(doc):
    """A kubectl List (or a list of Lists, or a single object, or None) -> list of objects."""
    if doc is None or doc == '':
        return []
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError as exc:
            raise CniError('kubectl output is not JSON: %s' % exc) from exc
    if isinstance(doc, list):
        out = []
        for item in doc:
            out.extend(_items(item))
        return out
    if not isinstance(doc, dict):
        raise CniError('kubectl output must be a JSON object or list')
    if 'items' in doc:
        return list(doc.get('items') or [])
    if doc.get('kind'):
        return [doc]
    return []


def image_version(image):
    """'quay.io/calico/node:v3.32.1' -> 'v3.32.1'; untagged, 'latest' or digest-only -> None."""
    if not image:
        return None
    ref = str(image).split('@', 1)[0]
    last = ref.rsplit('/', 1)[-1]
    if ':' not in last:
        return None
    tag = last.rsplit(':', 1)[1]
    if tag.lower() in _UNKNOWN_TAGS or parse_version(tag) is None:
        return None
    return tag


def _container(ds, wanted, image_hint):
    containers = ((ds.get('spec') or {}).get('template') or {}).get('spec', {}).get('containers') or []
    for container in containers:
        if container.get('name') == wanted:
            return container
    for container in containers:
        if image_hint in str(container.get('image', '')):
            return container
    return containers[0] if containers else {}


_ENV_KEYS = (
    'FELIX_NFTABLESMODE',
    'FELIX_BPFENABLED',
    'FELIX_IPTABLESBACKEND',
    'FELIX_KUBENODEPORTRANGES',
    'ENABLE_NFTABLES',
)


def _env(container, notes):
    env = {}
    for item in container.get('env') or []:
        if item.get('name') not in _ENV_KEYS:
            continue
        if 'value' in item:
            env[item['name']] = item['value']
        elif 'valueFrom' in item:
            notes.append('%s comes from %s and was not resolved.' % (item['name'], list(item['valueFrom'])[0]))
    return env


def _args(container):
    flags = {}
    for arg in list(container.get('command') or []) + list(container.get('args') or []):
        arg = str(arg)
        if arg.startswith('--'):
            key, sep, value = arg[2:].partition('=')
            flags[key] = value if sep else 'true'
    return flags


def _find_cm(configmaps, name, namespaces):
    for cm in configmaps:
        meta = cm.get('metadata') or {}
        if meta.get('name') == name and (not namespaces or meta.get('namespace') in namespaces):
            return cm
    return None


def _ready(ds):
    status = ds.get('status') or {}
    if 'desiredNumberScheduled' not in status:
        return None
    return '%s/%s' % (status.get('numberReady', 0), status['desiredNumberScheduled'])


def detect_from_cluster(daemonsets, configmaps=None, installation=None):
    """Which CNI runs, from `kubectl get ds -A -o json`, ConfigMaps and the tigera Installation.

    daemonsets: the List of `kubectl get daemonsets -A -o json`.
    configmaps: List(s) holding cilium-config and/or kube-flannel-cfg (others are ignored).
    installation: `kubectl get installations.operator.tigera.io default -o json`, or None.
    Returns {name, version, settings, namespace, daemonset, image, ready, source: 'cluster', notes, others}.
    """
    objects = _items(daemonsets)
    cms = _items(configmaps)
    inst = _items(installation)
    found = []
    for ds_name, cni, container_name, hint in _DAEMONSETS:
        for ds in objects:
            meta = ds.get('metadata') or {}
            name = meta.get('name', '')
            if ds.get('kind', 'DaemonSet') != 'DaemonSet':
                continue
            if name == ds_name or (ds_name == 'kube-flannel-ds' and name.startswith('kube-flannel-ds-')):
                found.append(_describe(ds, cni, container_name, hint, cms, inst))
    if not found:
        return {
            'name': None,
            'version': None,
            'settings': {},
            'namespace': None,
            'daemonset': None,
            'image': None,
            'ready': None,
            'source': 'cluster',
            'notes': [
                'No DaemonSet of a known CNI (calico-node, cilium, aws-node, kube-flannel-ds, kube-router) '
                'was found in the cluster.'
            ],
            'others': [],
        }
    primary = dict(found[0])
    primary['others'] = found[1:]
    if found[1:]:
        primary['notes'] = list(primary['notes']) + [
            'Also found: %s (in %s); the verdict is given for %s.'
            % (', '.join(o['name'] for o in found[1:]), ', '.join(o['namespace'] for o in found[1:]), primary['name'])
        ]
    return primary


def _describe(ds, cni, container_name, hint, cms, inst):
    meta = ds.get('metadata') or {}
    namespace = meta.get('namespace')
    notes = []
    container = _container(ds, container_name, hint)
    image = container.get('image')
    version = image_version(image)
    if version is None:
        notes.append('Image %s carries no release tag, so the %s version is unknown.' % (image or '(none)', cni))
    settings = {}
    if cni == 'calico':
        env = _env(container, notes)
        settings.update((k, v) for k, v in env.items() if k.startswith('FELIX_'))
        if inst:
            network = ((inst[0].get('spec') or {}).get('calicoNetwork')) or {}
            dataplane = network.get('linuxDataplane') or 'Iptables'
            settings['linuxDataplane'] = dataplane
            notes.append(
                'Calico is managed by the tigera-operator (Installation default, linuxDataplane %s%s).'
                % (dataplane, '' if network.get('linuxDataplane') else ' by default')
            )
        notes.append(
            'FelixConfiguration default (spec.nftablesMode, spec.bpfEnabled) was not read; it can override the env.'
        )
    elif cni == 'cilium':
        cm = _find_cm(cms, 'cilium-config', (namespace,))
        if cm is None:
            notes.append('ConfigMap %s/cilium-config not found; kube-proxy-replacement unknown.' % namespace)
        else:
            value = (cm.get('data') or {}).get('kube-proxy-replacement')
            if value is not None:
                settings['kube-proxy-replacement'] = value.strip()
            else:
                notes.append('cilium-config has no kube-proxy-replacement key; Cilium\'s default (false) applies.')
    elif cni == 'aws-vpc-cni':
        env = _env(container, notes)
        if 'ENABLE_NFTABLES' in env:
            settings['ENABLE_NFTABLES'] = env['ENABLE_NFTABLES']
    elif cni == 'flannel':
        cm = _find_cm(cms, 'kube-flannel-cfg', (namespace,))
        if cm is None:
            notes.append('ConfigMap %s/kube-flannel-cfg not found; EnableNFTables unknown.' % namespace)
        else:
            raw = (cm.get('data') or {}).get('net-conf.json')
            try:
                conf = json.loads(raw) if raw else {}
            except ValueError:
                conf = {}
                notes.append('net-conf.json of kube-flannel-cfg is not valid JSON.')
            if 'EnableNFTables' in conf:
                settings['EnableNFTables'] = conf['EnableNFTables']
    elif cni == 'kube-router':
        flags = _args(container)
        if 'run-service-proxy' in flags:
            settings['run-service-proxy'] = flags['run-service-proxy']
        else:
            notes.append('--run-service-proxy is not set: kube-router\'s default (true) applies.')
    return {
        'name': cni,
        'version': version,
        'settings': settings,
        'namespace': namespace,
        'daemonset': meta.get('name'),
        'image': image,
        'ready': _ready(ds),
        'source': 'cluster',
        'notes': notes,
    }


# Kubespray variables -> settings, per kube_network_plugin
_INVENTORY = {
    'calico': ('calico_version', ('calico_nftable_mode', 'calico_iptables_backend', 'calico_bpf_enabled')),
    'cilium': ('cilium_version', ('cilium_kube_proxy_replacement',)),
    'flannel': ('flannel_version', ()),
    'kube-router': ('kube_router_version', ('kube_router_run_service_proxy',)),
    'aws-vpc-cni': ('aws_vpc_cni_version', ()),
}
# Kubespray's defaults for the settings above where its default differs from the CNI's own
_INVENTORY_DEFAULTS = {'kube_router_run_service_proxy': False}


def detect_from_inventory(variables, reason=None):
    """CNI from Kubespray variables (kube_network_plugin, calico_version, ...), source 'inventory'."""
    variables = variables or {}
    plugin = variables.get('kube_network_plugin')
    name = canonical_cni(plugin)
    notes = ['The CNI was read from Kubespray variables, not from the cluster%s.' % (': %s' % reason if reason else '')]
    settings = {}
    version = None
    if name in _INVENTORY:
        version_var, setting_vars = _INVENTORY[name]
        version = format_version(variables.get(version_var))
        if version is None:
            notes.append('%s is not set; the %s version is unknown.' % (version_var, name))
        for var in setting_vars:
            if variables.get(var) is not None:
                settings[var] = variables[var]
            elif var in _INVENTORY_DEFAULTS:
                settings[var] = _INVENTORY_DEFAULTS[var]
                notes.append('%s is not set; Kubespray\'s default (%s) assumed.' % (var, _INVENTORY_DEFAULTS[var]))
    elif not plugin:
        notes.append('kube_network_plugin is not set.')
    return {
        'name': name,
        'version': version,
        'settings': settings,
        'namespace': 'kube-system' if name in _INVENTORY else None,
        'daemonset': None,
        'image': None,
        'ready': None,
        'source': 'inventory',
        'notes': notes,
        'others': [],
    }
