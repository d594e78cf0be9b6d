# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E501 (the page text is Markdown tables: one row per line)
"""Render docs/compatibility.md from data/cni_matrix.yml.

Usage: python docs/gen/gen_compat.py          (rewrites docs/compatibility.md)
       python docs/gen/gen_compat.py --check  (exit 1 when the committed page is stale)
"""

from __future__ import annotations

import os
import sys

import yaml

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
MATRIX = os.path.join(TOP, 'data', 'cni_matrix.yml')
PAGE = os.path.join(TOP, 'docs', 'compatibility.md')

ICONS = {
    'supported': '✅ supported',
    'needs_settings': '⚙️ needs settings',
    'unverified': '⚠️ unverified',
    'unsupported': '❌ unsupported',
    'not_applicable': '➖ not applicable',
}

INTRO = """\
# CNI compatibility of kube-proxy modes

<!-- Generated from data/cni_matrix.yml by docs/gen/gen_compat.py: edit the data, then re-run
     `python docs/gen/gen_compat.py`. A unit test fails when this page and the data disagree. -->

The filter `kube_proxy.mode.cni_compat` and the role `kube_proxy.mode.cni` give one of these verdicts
for a CNI, its version and settings, and a kube-proxy mode:

| verdict | meaning | may the migration go ahead? |
|---|---|---|
| ✅ `supported` | works; a required setting the CNI already has turns `needs_settings` into this | yes |
| ⚙️ `needs_settings` | works once the named settings are set (they are listed in `required_settings`) | after setting them |
| ⚠️ `unverified` | no upstream statement either way | only with `kube_proxy_cni_override_reason` (a sentence) |
| ❌ `unsupported` | known broken | never; the override does not apply |
| ➖ `not_applicable` | kube-proxy is not used by this set-up (Calico eBPF, Cilium kube-proxy replacement, kube-router service proxy) | nothing to migrate |

Versions are compared with or without a leading `v`; a pre-release (`1.8.0-rc3`) sorts before its
release. When the image carries no release tag (`:latest`, untagged), the verdict holds only if all
versions agree; otherwise it is `unverified` and says so. Any CNI not listed here is `unverified`.
"""

DETECTION = """\
## How the CNI is found

The role `kube_proxy.mode.cni` runs ONE shell task on the first control-plane host with
`{{ bin_dir }}/kubectl --kubeconfig /etc/kubernetes/admin.conf` (read-only, also in check mode):

| read | what is taken from it |
|---|---|
| `kubectl get daemonsets -A -o json` | the node agent (`calico-node`, `cilium`, `aws-node`, `kube-flannel-ds`, `kube-router`), its namespace, the version from the image tag, the env `FELIX_NFTABLESMODE`, `FELIX_BPFENABLED`, `FELIX_IPTABLESBACKEND`, `FELIX_KUBENODEPORTRANGES` (calico-node), `ENABLE_NFTABLES` (aws-node), the flag `--run-service-proxy` (kube-router) |
| `kubectl get configmaps -A -o json --field-selector metadata.name=cilium-config` | `kube-proxy-replacement` |
| `kubectl get configmaps -A -o json --field-selector metadata.name=kube-flannel-cfg` | `EnableNFTables` inside `net-conf.json` |
| `kubectl get installations.operator.tigera.io default -o json` | `spec.calicoNetwork.linuxDataplane` of an operator install (calico-node then lives in `calico-system`; absent means `Iptables`) |

When kubectl fails (or `cni_detect_from_cluster: false`), Kubespray's variables are used instead
(`kube_network_plugin`, `calico_version`, `calico_nftable_mode`, `calico_iptables_backend`,
`calico_bpf_enabled`, `cilium_version`, `cilium_kube_proxy_replacement`, `flannel_version`,
`kube_router_version`, `kube_router_run_service_proxy`) and the result says so
(`cni_result.cni.source: inventory` and a note with kubectl's error). Calico's FelixConfiguration
resource is not read: a `spec.nftablesMode` set there overrides the env.

Settings are accepted as the CNI spells them or as Kubespray names them:

| CNI | setting | also read from |
|---|---|---|
| Calico | `FELIX_NFTABLESMODE` (`Enabled`/`Disabled`/`Auto`) | operator `linuxDataplane: Nftables` (= `Enabled`), Kubespray `calico_nftable_mode` (true = `Enabled`) |
| Calico | `FELIX_BPFENABLED` | operator `linuxDataplane: BPF`, Kubespray `calico_bpf_enabled` |
| Cilium | `kubeProxyReplacement` (`true`/`false`, old `strict`/`partial`/`probe`/`disabled`) | cilium-config `kube-proxy-replacement`, Kubespray `cilium_kube_proxy_replacement` |
| AWS VPC CNI | `ENABLE_NFTABLES` | |
| Flannel | `EnableNFTables` | `net-conf.json` of `kube-flannel-cfg` |
| kube-router | `run-service-proxy` (kube-router's default: true) | `--run-service-proxy`, Kubespray `kube_router_run_service_proxy` (Kubespray's default: false) |
| Kubernetes | `NFTablesProxyMode` | `featureGates`, Kubespray `kube_proxy_feature_gates` |
"""


def bounds(spec):
    if not spec:
        return 'any'
    parts = []
    if spec.get('min') is not None:
        parts.append('≥ %s' % spec['min'])
    if spec.get('below') is not None:
        parts.append('< %s' % spec['below'])
    return ', '.join(parts)


def cell(entry, defaults=None):
    text = ICONS[entry['verdict']]
    required = entry.get('required_settings') or {}
    if required:
        text += ': ' + ', '.join('`%s=%s`' % (k, ' or '.join(str(v) for v in vals)) for k, vals in required.items())
        if all(str((defaults or {}).get(k)) in [str(v) for v in vals] for k, vals in required.items()):
            text += ' (met by default: supported unless changed)'
    if entry.get('kube_version_min'):
        text += ' (Kubernetes ≥ %s, else %s)' % (entry['kube_version_min'], entry.get('below_kube_version_min'))
    return text


def link(source):
    if source.startswith('http'):
        label = source.split('://', 1)[1]
        for prefix in ('github.com/', 'docs.tigera.io/', 'docs.cilium.io/'):
            if label.startswith(prefix):
                label = label[len(prefix) :]
        return '[%s](%s)' % (label.rstrip('/'), source)
    return source


def render(matrix):
    modes = matrix['modes']
    out = [INTRO]
    for key, cni in matrix['cnis'].items():
        out.append('## %s\n' % cni['title'])
        defaults = cni.get('defaults') or {}
        if defaults:
            out.append(
                'Defaults assumed when a setting is absent: %s.\n'
                % ', '.join('`%s=%s`' % (k, v) for k, v in defaults.items())
            )
        out.append('| versions | when | %s |' % ' | '.join(modes))
        out.append('|---|---|%s' % ('---|' * len(modes)))
        notes = []
        for row in (r for r in matrix['rows'] if r['cni'] == key):
            when = ', '.join(
                '`%s` ∈ {%s}' % (k, ', '.join(str(v) for v in vals))
                for k, vals in (row.get('when_settings') or {}).items()
            )
            if row.get('defaults'):
                when = (
                    (when + '; ' if when else '')
                    + 'default '
                    + ', '.join('`%s=%s`' % (k, v) for k, v in row['defaults'].items())
                )
            out.append(
                '| %s | %s | %s |'
                % (
                    bounds(row.get('versions')),
                    when or '',
                    ' | '.join(cell(row['modes'][m], {**defaults, **(row.get('defaults') or {})}) for m in modes),
                )
            )
            groups = {}
            for mode in modes:
                entry = row['modes'][mode]
                text = ' '.join(' '.join((entry.get('reasons') or []) + (entry.get('notes') or [])).split())
                sources = ', '.join(link(s) for s in entry.get('sources') or []) or 'no upstream statement'
                groups.setdefault((text + ' ' if text else '') + 'Source: %s.' % sources, []).append(mode)
            for text, group in groups.items():
                label = row.get('label') or bounds(row.get('versions'))
                notes.append(
                    '- **%s, %s**: %s' % (label, 'all modes' if len(group) == len(modes) else ', '.join(group), text)
                )
        out.append('')
        out.extend(notes)
        out.append('')
    out.append('## Rules for every CNI\n')
    out.append('| rule | modes | applies when | verdict | why | source |')
    out.append('|---|---|---|---|---|---|')
    for rule in matrix['cross_cutting']:
        if 'kube_version' in rule:
            when = 'Kubernetes %s' % bounds(rule['kube_version'])
        else:
            when = 'kernel %s' % bounds(rule['kernel_version'])
        out.append(
            '| `%s` | %s | %s | %s | %s | %s |'
            % (
                rule['id'],
                ', '.join(rule['modes']),
                when,
                cell(rule) + (' (with a warning)' if rule['verdict'] == 'supported' else ''),
                ' '.join(' '.join(rule.get('reasons') or []).split()),
                ', '.join(link(s) for s in rule.get('sources') or []),
            )
        )
    out.append('')
    out.append(
        'The strictest verdict wins: a CNI row and the rules above are joined in the order supported < '
        'needs settings < unverified < unsupported; `not_applicable` rows skip the rules.\n'
    )
    out.append(DETECTION)
    return '\n'.join(out).rstrip('\n') + '\n'


def main(argv):
    with open(MATRIX, encoding='utf-8') as handle:
        page = render(yaml.safe_load(handle))
    if '--check' in argv:
        with open(PAGE, encoding='utf-8') as handle:
            if handle.read() != page:
                sys.stderr.write('docs/compatibility.md is stale: run python docs/gen/gen_compat.py\n')
                return 1
        return 0
    with open(PAGE, 'w', encoding='utf-8') as handle:
        handle.write(page)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
