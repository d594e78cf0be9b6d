# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Node preparation maps and plan (plugins/module_utils/_node_prepare.py).

Only Debian can be booted in the lab: the package maps of RHEL 8/9/10, Rocky, Alma, openSUSE, SLES
and the immutable hosts are tested here, from their /etc/os-release values.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.kube_proxy.mode.plugins.module_utils._node_prepare import (
    IPVS_SCHEDULERS,
    input_errors,
    os_family,
    parse_probe,
    plan,
    probe_request,
    version_tuple,
)

OS_RELEASE = {
    'debian12': {'os_id': 'debian', 'os_version_id': '12'},
    'ubuntu24': {'os_id': 'ubuntu', 'os_id_like': 'debian', 'os_version_id': '24.04'},
    'rhel8': {'os_id': 'rhel', 'os_id_like': 'fedora', 'os_version_id': '8.10'},
    'rhel9': {'os_id': 'rhel', 'os_id_like': 'fedora', 'os_version_id': '9.4'},
    'rhel10': {'os_id': 'rhel', 'os_id_like': 'centos fedora', 'os_version_id': '10.0'},
    'rocky9': {'os_id': 'rocky', 'os_id_like': 'rhel centos fedora', 'os_version_id': '9.5'},
    'alma10': {'os_id': 'almalinux', 'os_id_like': 'rhel centos fedora', 'os_version_id': '10.0'},
    'leap15': {'os_id': 'opensuse-leap', 'os_id_like': 'suse opensuse', 'os_version_id': '15.6'},
    'sles15': {'os_id': 'sles', 'os_id_like': 'suse', 'os_version_id': '15.6'},
    'flatcar': {'os_id': 'flatcar', 'os_version_id': '4152.2.0'},
    'fcos': {'os_id': 'fedora', 'os_variant_id': 'coreos', 'os_version_id': '41', 'ostree': '1'},
    'arch': {'os_id': 'arch'},
}
ALL_MODULES_AVAILABLE = [
    'br_netfilter',
    'ip_vs',
    'ip_vs_rr',
    'ip_vs_wrr',
    'ip_vs_sh',
    'nf_conntrack',
    'nf_tables',
    'nft_ct',
    'nft_chain_nat',
    'nft_nat',
    'nft_masq',
    'nft_numgen',
    'nft_fib_ipv4',
    'nft_fib_ipv6',
    'nft_reject_ipv4',
    'nft_reject_ipv6',
]


def probe(
    os='debian12',
    kernel='6.1.0-28-cloud-amd64',
    tools=None,
    modules=None,
    sysctls=None,
    record=None,
    files=None,
    kube_ipvs0=False,
):
    """Probe output as roles/node_prepare/files/probe.sh prints it."""
    lines = ['kernel=%s' % kernel]
    rel = dict(OS_RELEASE[os])
    lines.append('ostree=%s' % rel.pop('ostree', '0'))
    lines += ['%s=%s' % kv for kv in rel.items()]
    lines.append('kube_ipvs0=%s' % ('1' if kube_ipvs0 else '0'))
    for name, state in (modules if modules is not None else {m: 'available' for m in ALL_MODULES_AVAILABLE}).items():
        lines.append('module.%s=%s' % (name, state))
    lines += ['sysctl.%s=%s' % kv for kv in (sysctls or {}).items()]
    lines += ['tool.%s=%s' % kv for kv in (tools or {}).items()]
    lines += ['file.%s=%s' % kv for kv in (files or {}).items()]
    lines += ['record.%s=%s' % kv for kv in (record or {}).items()]
    return '\n'.join(lines) + '\n'


DEBIAN_TOOLS = {
    'iptables': 'iptables v1.8.9 (nf_tables)',
    'ipset': 'ipset v7.17, protocol version: 7',
    'ipvsadm': 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)',
    'nft': 'nftables v1.0.6 (Lester Gooch #5)',
    'conntrack': 'conntrack v1.4.7 (conntrack-tools)',
}


def run(mode='nftables', os='debian12', kube_version='1.33.5', **kw):
    opts = {k: kw.pop(k) for k in ('scheduler', 'strict_arp', 'immutable', 'feature_gates') if k in kw}
    return plan(probe(os=os, **kw), 'node1', mode, kube_version=kube_version, **opts)


# --- packages per OS family and mode -------------------------------------------------------------


@pytest.mark.parametrize(
    'os, mode, packages',
    [
        ('debian12', 'iptables', ['conntrack', 'iptables']),
        ('debian12', 'ipvs', ['conntrack', 'ipset', 'iptables', 'ipvsadm']),
        ('debian12', 'nftables', ['conntrack', 'nftables']),
        ('ubuntu24', 'nftables', ['conntrack', 'nftables']),
        ('rhel8', 'iptables', ['conntrack-tools', 'iptables']),
        ('rhel8', 'nftables', ['conntrack-tools', 'nftables']),
        ('rhel9', 'iptables', ['conntrack-tools', 'iptables-nft']),
        ('rocky9', 'ipvs', ['conntrack-tools', 'ipset', 'iptables-nft', 'ipvsadm']),
        ('rhel10', 'nftables', ['conntrack-tools', 'nftables']),
        ('rhel10', 'iptables', ['conntrack-tools', 'iptables-nft']),
        ('alma10', 'ipvs', ['conntrack-tools', 'ipset', 'iptables-nft', 'ipvsadm']),
        ('leap15', 'ipvs', ['conntrack-tools', 'ipset', 'iptables', 'ipvsadm']),
        ('sles15', 'nftables', ['conntrack-tools', 'nftables']),
    ],
)
def test_packages_for_a_bare_host(os, mode, packages):
    result = run(mode=mode, os=os, tools={})
    assert result['packages'] == packages
    assert result['preflight']['ok'], result['preflight']['errors']


@pytest.mark.parametrize(
    'os, manager',
    [
        ('debian12', 'apt'),
        ('ubuntu24', 'apt'),
        ('rhel8', 'dnf'),
        ('rocky9', 'dnf'),
        ('alma10', 'dnf'),
        ('leap15', 'zypper'),
        ('sles15', 'zypper'),
    ],
)
def test_package_manager_per_family(os, manager):
    assert run(os=os, tools={})['package_manager'] == manager


def test_rhel10_nftables_installs_no_iptables():
    assert not any('iptables' in p for p in run(mode='nftables', os='rhel10', tools={})['packages'])


def test_only_missing_tools_are_installed_and_none_when_all_present():
    assert run(mode='ipvs', tools={'iptables': DEBIAN_TOOLS['iptables']})['packages'] == [
        'conntrack',
        'ipset',
        'ipvsadm',
    ]
    full = run(mode='ipvs', tools=DEBIAN_TOOLS)
    assert full['packages'] == [] and full['package_manager'] == ''


@pytest.mark.parametrize(
    'fields, family',
    [
        (OS_RELEASE['debian12'], 'Debian'),
        (OS_RELEASE['ubuntu24'], 'Debian'),
        (OS_RELEASE['rhel8'], 'RedHat8'),
        (OS_RELEASE['rocky9'], 'RedHat9'),
        (OS_RELEASE['alma10'], 'RedHat10'),
        (OS_RELEASE['leap15'], 'Suse'),
        (OS_RELEASE['sles15'], 'Suse'),
        (OS_RELEASE['arch'], 'unknown'),
    ],
)
def test_os_family_from_os_release(fields, family):
    assert os_family(fields) == family


def test_unknown_os_with_missing_tools_fails_with_what_to_do():
    result = run(os='arch', tools={})
    assert not result['preflight']['ok']
    (msg,) = result['preflight']['errors']
    assert msg.startswith('node1: ') and 'nft' in msg and 'node_prepare_immutable: true' in msg


def test_unknown_os_with_all_tools_present_is_fine():
    assert run(os='arch', tools=DEBIAN_TOOLS)['preflight']['ok']


# --- immutable hosts ------------------------------------------------------------------------------


@pytest.mark.parametrize('os', ['flatcar', 'fcos'])
def test_immutable_host_detected_installs_nothing_and_fails_on_missing_nft(os):
    result = run(os=os, tools={'conntrack': DEBIAN_TOOLS['conntrack']})
    assert result['immutable'] is True and result['packages'] == []
    (msg,) = result['preflight']['errors']
    assert msg.startswith('node1: nftables mode needs nft, not found on this immutable host')


def test_immutable_forced_on_debian_and_ipvsadm_only_warns():
    tools = {k: v for k, v in DEBIAN_TOOLS.items() if k != 'ipvsadm'}
    result = run(mode='ipvs', immutable=True, tools=tools)
    assert result['preflight']['ok'] and result['packages'] == []
    assert any('ipvsadm not found' in w for w in result['preflight']['warnings'])


def test_immutable_forced_off_on_flatcar_installs_nothing_without_package_map():
    result = run(os='flatcar', immutable='false', tools={})
    assert result['immutable'] is False and not result['preflight']['ok']


# --- kernel, nft, modules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    'kernel, ok',
    [
        ('5.10.0-32-amd64', False),
        ('5.13.0', True),
        ('6.1.0-28-cloud-amd64', True),
        ('5.14.0-427.13.1.el9_4.x86_64', True),
        ('4.18.0-553.el8.x86_64', False),
    ],
)
def test_kernel_gate_for_nftables(kernel, ok):
    result = run(kernel=kernel, tools=DEBIAN_TOOLS)
    assert result['preflight']['ok'] is ok
    if not ok:
        assert 'older than 5.13' in result['preflight']['errors'][0] and kernel in result['preflight']['errors'][0]


def test_old_kernel_is_fine_for_iptables_and_ipvs():
    assert run(mode='ipvs', kernel='4.18.0-553.el8.x86_64', tools=DEBIAN_TOOLS)['preflight']['ok']


def test_nft_too_old_fails_and_1_1_3_warns():
    old = run(tools=dict(DEBIAN_TOOLS, nft='nftables v0.9.8 (E.D.S.)'))
    assert 'nft 0.9.8 is older than 1.0.1' in old['preflight']['errors'][0]
    new = run(tools=dict(DEBIAN_TOOLS, nft='nftables v1.1.3 (Commodore Bullmoose #4)'))
    assert new['preflight']['ok'] and any('#137501' in w for w in new['preflight']['warnings'])


def test_missing_fib_modules_mean_no_fib_matches():
    mods = {m: 'available' for m in ALL_MODULES_AVAILABLE}
    mods['nft_fib_ipv6'] = 'missing'
    result = run(tools=DEBIAN_TOOLS, modules=mods)
    (msg,) = result['preflight']['errors']
    assert 'cannot do nftables fib matches' in msg and 'nft_fib_ipv6' in msg


def test_missing_module_names_module_and_kernel():
    mods = {m: 'available' for m in ALL_MODULES_AVAILABLE}
    mods['ip_vs_wrr'] = 'missing'
    result = run(mode='ipvs', scheduler='wrr', tools=DEBIAN_TOOLS, modules=mods)
    (msg,) = result['preflight']['errors']
    assert 'ip_vs_wrr not found for the running kernel 6.1.0-28-cloud-amd64' in msg


@pytest.mark.parametrize('scheduler', ['rr', 'wrr', 'sh', 'mh'])
def test_ipvs_modules_follow_the_scheduler(scheduler):
    result = run(mode='ipvs', scheduler=scheduler, tools=DEBIAN_TOOLS, modules={})
    assert result['modules'] == ['br_netfilter', 'ip_vs', 'nf_conntrack', 'ip_vs_' + scheduler]


def test_nf_conntrack_ipv4_only_where_the_kernel_has_it():
    mods = {m: 'loaded' for m in ALL_MODULES_AVAILABLE}
    assert 'nf_conntrack_ipv4' not in run(mode='ipvs', tools=DEBIAN_TOOLS, modules=mods)['modules']
    mods['nf_conntrack_ipv4'] = 'available'
    result = run(mode='ipvs', kernel='4.14.0', tools=DEBIAN_TOOLS, modules=mods)
    assert 'nf_conntrack_ipv4' in result['modules'] and result['modules_to_load'] == ['nf_conntrack_ipv4']


def test_nftables_modules_and_only_unloaded_ones_are_loaded():
    mods = {m: 'available' for m in ALL_MODULES_AVAILABLE}
    mods.update(nf_tables='loaded', br_netfilter='builtin')
    result = run(tools=DEBIAN_TOOLS, modules=mods)
    assert {
        'nf_tables',
        'nft_ct',
        'nft_nat',
        'nft_masq',
        'nft_numgen',
        'nft_fib_ipv4',
        'nft_fib_ipv6',
        'nft_reject_ipv4',
        'br_netfilter',
    } <= set(result['modules'])
    assert not any(m.startswith('ip_vs') for m in result['modules'])
    assert 'nf_tables' not in result['modules_to_load'] and 'br_netfilter' not in result['modules_to_load']
    assert 'nft_fib_ipv4' in result['modules_to_load']


def test_iptables_mode_needs_only_br_netfilter():
    assert run(mode='iptables', tools=DEBIAN_TOOLS)['modules'] == ['br_netfilter']


# --- Kubernetes version gate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    'version, gates, ok',
    [
        ('v1.28.9', {}, False),
        ('1.29.3', {}, False),
        ('1.30.0', {'NFTablesProxyMode': True}, True),
        ('1.30.0', {'NFTablesProxyMode': 'true'}, True),
        ('1.30.0', {'NFTablesProxyMode': False}, False),
        ('v1.31.0', {}, True),
    ],
)
def test_nftables_kubernetes_gate(version, gates, ok):
    result = run(kube_version=version, feature_gates=gates, tools=DEBIAN_TOOLS)
    assert result['preflight']['ok'] is ok, result['preflight']['errors']


def test_ipvs_deprecated_from_1_35_is_a_warning():
    assert not any(
        'deprecated' in w for w in run(mode='ipvs', kube_version='1.34.2', tools=DEBIAN_TOOLS)['preflight']['warnings']
    )
    result = run(mode='ipvs', kube_version='v1.35.0', tools=DEBIAN_TOOLS)
    assert result['preflight']['ok'] and any('deprecated' in w for w in result['preflight']['warnings'])


def test_unknown_kube_version_is_a_warning():
    result = run(kube_version='', tools=DEBIAN_TOOLS)
    assert result['preflight']['ok'] and any('kube_version is not set' in w for w in result['preflight']['warnings'])


# --- input validation -----------------------------------------------------------------------------


def test_bad_mode_names_host_variable_and_allowed_values():
    (msg,) = input_errors('w7', 'nftable', 'rr')
    assert msg.startswith('w7: kube_proxy_target_mode') and "'nftable'" in msg and 'iptables, ipvs, nftables' in msg


def test_bad_scheduler_names_host_variable_and_allowed_values():
    (msg,) = input_errors('w7', 'ipvs', 'roundrobin')
    assert msg.startswith('w7: ipvs scheduler (kube_proxy_target_config.ipvs.scheduler')
    assert ', '.join(IPVS_SCHEDULERS) in msg


def test_scheduler_not_checked_outside_ipvs_and_bad_immutable_rejected():
    assert input_errors('w7', 'nftables', 'whatever') == []
    assert 'node_prepare_immutable' in input_errors('w7', 'iptables', 'rr', 'maybe')[0]


def test_probe_request_lists_modules_and_sysctls():
    req = probe_request('ipvs', 'sh')
    assert req['modules'].split() == ['br_netfilter', 'ip_vs', 'nf_conntrack', 'ip_vs_sh', 'nf_conntrack_ipv4']
    assert 'net.ipv4.vs.conntrack' in req['sysctls'].split()


# --- sysctls, record and restore ------------------------------------------------------------------

BASE_LIVE = {
    'net.ipv4.ip_forward': '1',
    'net.bridge.bridge-nf-call-iptables': '1',
    'net.bridge.bridge-nf-call-ip6tables': '1',
}


def test_only_differing_sysctls_are_set():
    result = run(tools=DEBIAN_TOOLS, sysctls=dict(BASE_LIVE, **{'net.ipv4.ip_forward': '0'}))
    assert result['sysctl_set'] == {'net.ipv4.ip_forward': '1'}
    assert run(tools=DEBIAN_TOOLS, sysctls=BASE_LIVE)['sysctl_set'] == {}


def test_entering_ipvs_records_previous_values_with_kernel_defaults_for_absent_keys():
    live = dict(BASE_LIVE, **{'net.ipv4.conf.all.arp_ignore': '0', 'net.ipv4.conf.all.arp_announce': '1'})
    result = run(mode='ipvs', strict_arp=True, tools=DEBIAN_TOOLS, sysctls=live)
    assert result['sysctl_set'] == {
        'net.ipv4.vs.conntrack': '1',
        'net.ipv4.vs.expire_nodest_conn': '1',
        'net.ipv4.vs.expire_quiescent_template': '1',
        'net.ipv4.conf.all.arp_ignore': '1',
        'net.ipv4.conf.all.arp_announce': '2',
    }
    assert result['record_add'] == {
        'net.ipv4.vs.conntrack': '0',
        'net.ipv4.vs.expire_nodest_conn': '0',
        'net.ipv4.vs.expire_quiescent_template': '0',
        'net.ipv4.conf.all.arp_ignore': '0',
        'net.ipv4.conf.all.arp_announce': '1',
    }
    assert result['sysctl_restore'] == {}


def test_rerun_in_ipvs_records_nothing_new():
    live = dict(
        BASE_LIVE,
        **{
            'net.ipv4.vs.conntrack': '1',
            'net.ipv4.vs.expire_nodest_conn': '1',
            'net.ipv4.vs.expire_quiescent_template': '1',
        },
    )
    rec = {
        'net.ipv4.vs.conntrack': '0',
        'net.ipv4.vs.expire_nodest_conn': '0',
        'net.ipv4.vs.expire_quiescent_template': '0',
    }
    result = run(mode='ipvs', tools=DEBIAN_TOOLS, sysctls=live, record=rec)
    assert result['sysctl_set'] == {} and result['record_add'] == {} and result['record_after'] == rec


def test_leaving_ipvs_restores_recorded_values_and_empties_the_record():
    live = dict(
        BASE_LIVE,
        **{'net.ipv4.vs.conntrack': '1', 'net.ipv4.vs.expire_nodest_conn': '1', 'net.ipv4.conf.all.arp_ignore': '1'},
    )
    rec = {
        'net.ipv4.vs.conntrack': '0',
        'net.ipv4.vs.expire_nodest_conn': '0',
        'net.ipv4.conf.all.arp_ignore': '0',
        'net.ipv4.vs.expire_quiescent_template': '0',
    }
    result = run(mode='nftables', tools=DEBIAN_TOOLS, sysctls=live, record=rec)
    assert result['sysctl_restore'] == {
        'net.ipv4.vs.conntrack': '0',
        'net.ipv4.vs.expire_nodest_conn': '0',
        'net.ipv4.conf.all.arp_ignore': '0',
    }
    assert result['record_after'] == {} and 'net.ipv4.vs.conntrack' not in result['sysctls']


def test_leaving_ipvs_while_kube_ipvs0_exists_defers_the_restore():
    rec = {'net.ipv4.vs.conntrack': '0'}
    result = run(
        mode='iptables',
        tools=DEBIAN_TOOLS,
        sysctls=dict(BASE_LIVE, **{'net.ipv4.vs.conntrack': '1'}),
        record=rec,
        kube_ipvs0=True,
    )
    assert result['sysctl_restore'] == {} and result['record_after'] == rec and result['restore_deferred']
    assert any('kube-ipvs0' in w for w in result['preflight']['warnings'])


def test_strict_arp_off_puts_the_arp_pair_back():
    live = dict(
        BASE_LIVE,
        **{
            'net.ipv4.vs.conntrack': '1',
            'net.ipv4.vs.expire_nodest_conn': '1',
            'net.ipv4.vs.expire_quiescent_template': '1',
            'net.ipv4.conf.all.arp_ignore': '1',
        },
    )
    rec = {'net.ipv4.conf.all.arp_ignore': '0'}
    result = run(mode='ipvs', strict_arp=False, tools=DEBIAN_TOOLS, sysctls=live, record=rec)
    assert result['sysctl_restore'] == {'net.ipv4.conf.all.arp_ignore': '0'} and result['record_after'] == {}


# --- probe ----------------------------------------------------------------------------------------


def test_version_tuple():
    assert version_tuple('v1.31.4') == (1, 31, 4) and version_tuple('6.1.0-28-cloud-amd64') == (6, 1, 0)
    assert version_tuple('') == ()


def test_parse_probe_sections():
    facts = parse_probe(
        probe(
            tools={'nft': 'nftables v1.0.6 (Lester Gooch #5)'},
            files={'sysctl': 'abc'},
            record={'net.ipv4.vs.conntrack': '0'},
        )
    )
    assert facts['kernel'] == '6.1.0-28-cloud-amd64' and facts['os_id'] == 'debian'
    assert facts['tools']['nft'].startswith('nftables v1.0.6') and facts['files'] == {'sysctl': 'abc'}
    assert facts['record'] == {'net.ipv4.vs.conntrack': '0'} and facts['modules']['nf_tables'] == 'available'


PROBE_SH = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'node_prepare', 'files', 'probe.sh')


def test_probe_script_output_parses_on_this_host(tmp_path):
    record = tmp_path / 'record.conf'
    record.write_text('# header\nnet.ipv4.vs.conntrack=0\n')
    env = dict(
        os.environ,
        NP_MODULES='nf_tables no_such_module_xyz',
        NP_SYSCTLS='net.ipv4.ip_forward',
        NP_MODULES_FILE=str(tmp_path / 'absent.conf'),
        NP_SYSCTL_FILE=str(record),
        NP_RECORD_FILE=str(record),
    )
    out = subprocess.run(['/bin/sh', PROBE_SH], env=env, capture_output=True, text=True, check=True).stdout
    facts = parse_probe(out)
    assert facts['kernel'] == os.uname().release
    with open('/proc/sys/net/ipv4/ip_forward') as f:
        assert facts['sysctls']['net.ipv4.ip_forward'] == f.read().strip()
    assert facts['modules']['no_such_module_xyz'] == 'missing'
    assert facts['record'] == {'net.ipv4.vs.conntrack': '0'}
    assert 'modules_load' not in facts['files'] and len(facts['files']['sysctl']) == 40
