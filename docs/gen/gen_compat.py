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


def _template(name):
    """Prose of the page, kept in Markdown next to this script (one table row per line)."""
    with open(os.path.join(os.path.dirname(__file__), 'templates', name), encoding='utf-8') as f:
        return f.read()


ICONS = {
    'supported': '✅ supported',
    'needs_settings': '⚙️ needs settings',
    'unverified': '⚠️ unverified',
    'unsupported': '❌ unsupported',
    'not_applicable': '➖ not applicable',
}

INTRO = _template('compat-intro.md')

DETECTION = _template('compat-detection.md')


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
