# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/compatibility.md is the rendering of data/cni_matrix.yml by docs/gen/gen_compat.py."""

from __future__ import annotations

import importlib.util
import os

import yaml

TOP = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')


def _generator():
    spec = importlib.util.spec_from_file_location('gen_compat', os.path.join(TOP, 'docs', 'gen', 'gen_compat.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_page_equals_generated_page():
    gen = _generator()
    with open(os.path.join(TOP, 'data', 'cni_matrix.yml'), encoding='utf-8') as handle:
        expected = gen.render(yaml.safe_load(handle))
    with open(os.path.join(TOP, 'docs', 'compatibility.md'), encoding='utf-8') as handle:
        committed = handle.read()
    assert committed == expected, 'docs/compatibility.md is stale: run python docs/gen/gen_compat.py'


def test_page_shows_every_row_and_rule():
    gen = _generator()
    with open(os.path.join(TOP, 'data', 'cni_matrix.yml'), encoding='utf-8') as handle:
        matrix = yaml.safe_load(handle)
    page = gen.render(matrix)
    table_rows = [line for line in page.splitlines() if line.startswith(('| any |', '| < ', '| ≥ '))]
    assert len(table_rows) == len(matrix['rows'])
    for rule in matrix['cross_cutting']:
        assert '`%s`' % rule['id'] in page
    for cni in matrix['cnis'].values():
        assert '## %s\n' % cni['title'] in page
    # a data change shows on the page
    matrix['rows'][1]['modes']['nftables']['verdict'] = 'supported'
    assert gen.render(matrix) != page
