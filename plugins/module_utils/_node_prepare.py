# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Node preparation per kube-proxy mode: maps (tools, packages, modules, sysctls) and the plan.

Private module: the API may change without notice. Used by the filter node_prepare_plan, which the
role node_prepare calls twice: once without a probe (input validation, what to probe) and once
with the output of its single read-only probe (preflight verdict and the changes to make).
Facts: docs/domain.md §1 (kernel, nft, gates), §3 (tools, kubeadm #3132), §4 (Kubespray modules).
"""

from __future__ import annotations

import re

MODES = ('iptables', 'ipvs', 'nftables')
# Schedulers kube-proxy's ipvs mode documents; each needs the kernel module ip_vs_<name>.
IPVS_SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq', 'mh')

# Tools each mode needs on the host (kubeadm #3132). ipvsadm is for operators only.
MODE_TOOLS = {
    'iptables': ('iptables', 'conntrack'),
    'ipvs': ('iptables', 'ipset', 'ipvsadm', 'conntrack'),
    'nftables': ('nft', 'conntrack'),
}
OPERATOR_TOOLS = ('ipvsadm',)
ALL_TOOLS = ('iptables', 'ipset', 'ipvsadm', 'nft', 'conntrack')

# Package bringing each tool, per OS family (RedHat per major release).
_RHEL_NFT = {
    'iptables': 'iptables-nft',
    'ipset': 'ipset',
    'ipvsadm': 'ipvsadm',
    'nft': 'nftables',
    'conntrack': 'conntrack-tools',
}
TOOL_PACKAGES = {
    'Debian': {
        'iptables': 'iptables',
        'ipset': 'ipset',
        'ipvsadm': 'ipvsadm',
        'nft': 'nftables',
        'conntrack': 'conntrack',
    },
    'RedHat8': {
        'iptables': 'iptables',
        'ipset': 'ipset',
        'ipvsadm': 'ipvsadm',
        'nft': 'nftables',
        'conntrack': 'conntrack-tools',
    },
    'RedHat9': dict(_RHEL_NFT),
    # RHEL 10 ships no iptables: iptables and ipvs modes need iptables-nft, nftables mode needs none.
    'RedHat10': dict(_RHEL_NFT),
    'Suse': {
        'iptables': 'iptables',
        'ipset': 'ipset',
        'ipvsadm': 'ipvsadm',
        'nft': 'nftables',
        'conntrack': 'conntrack-tools',
    },
}
PACKAGE_MANAGER = {'Debian': 'apt', 'RedHat8': 'dnf', 'RedHat9': 'dnf', 'RedHat10': 'dnf', 'Suse': 'zypper'}

# Kernel modules per mode, loaded now and persisted in one modules-load.d file. ipvs adds
# ip_vs_<scheduler> (and nf_conntrack_ipv4 where the kernel still has it, < 4.19). nftables:
# nf_tables, the nat chain type and the expression modules kube-proxy's ruleset uses.
MODE_MODULES = {
    'iptables': ('br_netfilter',),
    'ipvs': ('br_netfilter', 'ip_vs', 'nf_conntrack'),
    'nftables': (
        'br_netfilter',
        'nf_tables',
        'nf_conntrack',
        'nft_ct',
        'nft_chain_nat',
        'nft_nat',
        'nft_masq',
        'nft_numgen',
        'nft_fib_ipv4',
        'nft_fib_ipv6',
        'nft_reject_ipv4',
        'nft_reject_ipv6',
    ),
}
FIB_MODULES = ('nft_fib_ipv4', 'nft_fib_ipv6')
OPTIONAL_MODULES = ('nf_conntrack_ipv4',)

SYSCTL_BASE = {
    'net.ipv4.ip_forward': '1',
    'net.bridge.bridge-nf-call-iptables': '1',
    'net.bridge.bridge-nf-call-ip6tables': '1',
}
# What kube-proxy's ipvs proxier relies on; strictARP adds the ARP pair.
SYSCTL_IPVS = {
    'net.ipv4.vs.conntrack': '1',
    'net.ipv4.vs.expire_nodest_conn': '1',
    'net.ipv4.vs.expire_quiescent_template': '1',
}
SYSCTL_STRICT_ARP = {
    'net.ipv4.conf.all.arp_ignore': '1',
    'net.ipv4.conf.all.arp_announce': '2',
}
IPVS_SYSCTL_KEYS = tuple(SYSCTL_IPVS) + tuple(SYSCTL_STRICT_ARP)
# A net.ipv4.vs.* key does not exist before ip_vs is loaded: the value it had is the kernel default.
SYSCTL_KERNEL_DEFAULTS = {
    'net.ipv4.vs.conntrack': '0',
    'net.ipv4.vs.expire_nodest_conn': '0',
    'net.ipv4.vs.expire_quiescent_template': '0',
    'net.ipv4.conf.all.arp_ignore': '0',
    'net.ipv4.conf.all.arp_announce': '0',
}

NFTABLES_MIN_KERNEL = (5, 13)
NFT_MIN_VERSION = (1, 0, 1)
NFT_NEEDS_KUBE_PROXY_FIX = (1, 1, 3)
NFTABLES_GATE = 'NFTablesProxyMode'
IPVS_DEPRECATED = (1, 35)

_IMMUTABLE_WORDS = ('true', 'yes', 'on', '1')
_MUTABLE_WORDS = ('false', 'no', 'off', '0')


def version_tuple(text):
    """Leading dotted number of text as a tuple of ints ('v1.31.4' -> (1, 31, 4)); () if none."""
    m = re.search(r'(\d+(?:\.\d+)*)', str(text or ''))
    return tuple(int(p) for p in m.group(1).split('.')) if m else ()


def _vstr(v):
    return '.'.join(str(p) for p in v)


def immutable_setting(value):
    """'auto', True or False from node_prepare_immutable; None when the value is not allowed."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == 'auto':
        return 'auto'
    if text in _IMMUTABLE_WORDS:
        return True
    if text in _MUTABLE_WORDS:
        return False
    return None


def input_errors(host, mode, scheduler, immutable='auto'):
    """Messages for inventory values that must stop the play before anything runs."""
    errors = []
    if mode not in MODES:
        errors.append(
            '%s: kube_proxy_target_mode (node_prepare_target_mode) is %r; allowed: %s. Set it in the group_vars '
            'of the host\'s group.' % (host, mode, ', '.join(MODES))
        )
    if mode == 'ipvs' and (scheduler or 'rr') not in IPVS_SCHEDULERS:
        errors.append(
            '%s: ipvs scheduler (kube_proxy_target_config.ipvs.scheduler, else kube_proxy_scheduler) is %r; '
            'allowed: %s.' % (host, scheduler, ', '.join(IPVS_SCHEDULERS))
        )
    if immutable_setting(immutable) is None:
        errors.append('%s: node_prepare_immutable is %r; allowed: auto, true, false.' % (host, immutable))
    return errors


def wanted_modules(mode, scheduler):
    """Modules the mode needs (without the optional nf_conntrack_ipv4)."""
    mods = list(MODE_MODULES.get(mode, ()))
    if mode == 'ipvs':
        mods.append('ip_vs_' + (scheduler or 'rr'))
    return mods


def target_sysctls(mode, strict_arp):
    """Sysctl key -> value (strings) the node gets for its mode."""
    values = dict(SYSCTL_BASE)
    if mode == 'ipvs':
        values.update(SYSCTL_IPVS)
        if strict_arp:
            values.update(SYSCTL_STRICT_ARP)
    return values


def probe_request(mode, scheduler):
    """What the probe must look at: module names and sysctl keys (space-separated for the shell)."""
    mods = wanted_modules(mode, scheduler)
    if mode == 'ipvs':
        mods += list(OPTIONAL_MODULES)
    return {
        'modules': ' '.join(mods),
        'sysctls': ' '.join(list(SYSCTL_BASE) + list(IPVS_SYSCTL_KEYS)),
    }


def parse_probe(stdout):
    """Probe output (key=value lines) as a structured dict."""
    facts = {'modules': {}, 'sysctls': {}, 'tools': {}, 'files': {}, 'record': {}}
    for line in (stdout or '').splitlines():
        if '=' not in line:
            continue
        key, value = line.split('=', 1)
        key = key.strip()
        value = value.strip()
        for prefix, section in (
            ('module.', 'modules'),
            ('sysctl.', 'sysctls'),
            ('tool.', 'tools'),
            ('file.', 'files'),
            ('record.', 'record'),
        ):
            if key.startswith(prefix):
                facts[section][key[len(prefix) :]] = value
                break
        else:
            facts[key] = value
    return facts


def os_family(facts):
    """Debian, RedHat<major>, Suse or unknown, from os-release ID and ID_LIKE."""
    ids = [facts.get('os_id', '').lower()] + facts.get('os_id_like', '').lower().split()
    if {'debian', 'ubuntu'} & set(ids):
        return 'Debian'
    if {'rhel', 'centos', 'rocky', 'almalinux'} & set(ids):
        major = facts.get('os_version_id', '').split('.')[0]
        return 'RedHat' + major
    if {'suse', 'sles', 'opensuse', 'opensuse-leap', 'opensuse-tumbleweed'} & set(ids):
        return 'Suse'
    return 'unknown'


def is_immutable(facts, setting='auto'):
    """Immutable host: forced by the setting, else /run/ostree-booted, Flatcar or a CoreOS variant."""
    setting = immutable_setting(setting)
    if setting is not None and setting != 'auto':
        return setting
    return (
        facts.get('ostree') == '1'
        or facts.get('os_id', '').lower() == 'flatcar'
        or facts.get('os_variant_id', '').lower() == 'coreos'
    )


def _gate_on(feature_gates):
    value = (feature_gates or {}).get(NFTABLES_GATE, False)
    if isinstance(value, str):
        return value.strip().lower() in ('true', 'yes', '1')
    return bool(value)


def kube_version_findings(mode, kube_version, feature_gates):
    """(errors, warnings) of the Kubernetes version gate for the mode (domain.md §1)."""
    errors, warnings = [], []
    kv = version_tuple(kube_version)[:2]
    if not kv:
        warnings.append('kube_version is not set: the Kubernetes version gate of %s mode was not checked' % mode)
        return errors, warnings
    if mode == 'nftables':
        if kv < (1, 29):
            errors.append(
                'Kubernetes %s has no nftables mode (it needs >= 1.29, and 1.31 for it to be on by default); '
                'upgrade the cluster first or choose iptables/ipvs' % kube_version
            )
        elif kv < (1, 31) and not _gate_on(feature_gates):
            errors.append(
                'Kubernetes %s accepts mode nftables only with the feature gate %s=true; set '
                'kube_proxy_target_config.featureGates.%s: true (or upgrade to >= 1.31)'
                % (kube_version, NFTABLES_GATE, NFTABLES_GATE)
            )
    if mode == 'ipvs' and kv >= IPVS_DEPRECATED:
        warnings.append(
            'ipvs mode is deprecated from Kubernetes 1.35 (this cluster: %s; off by default in 1.40, removed '
            'in 1.43): consider nftables' % kube_version
        )
    return errors, warnings


def plan(
    probe_stdout,
    host,
    mode,
    scheduler='rr',
    strict_arp=False,
    immutable='auto',
    kube_version='',
    feature_gates=None,
):
    """Everything the role does on one host, worked out from the probe; nothing is changed here.

    Returns a dict: preflight {ok, errors, warnings}, os_family, immutable, kernel, tools, packages,
    package_manager, modules (persisted), modules_to_load, sysctls (persisted), sysctl_set,
    sysctl_restore, record_add, record_after, restore_deferred.
    """
    scheduler = scheduler or 'rr'
    errors = list(input_errors(host, mode, scheduler, immutable))
    warnings = []
    facts = parse_probe(probe_stdout)
    family = os_family(facts)
    immutable_host = is_immutable(facts, immutable)
    kernel = facts.get('kernel', '')
    mods_state = facts['modules']
    live = facts['sysctls']
    record = dict(facts['record'])

    def err(problem, fix):
        errors.append('%s: %s; %s' % (host, problem, fix))

    def warn(text):
        warnings.append('%s: %s' % (host, text))

    # Tools
    tools = list(MODE_TOOLS.get(mode, ()))
    missing_tools = [t for t in tools if not facts['tools'].get(t)]
    packages = []
    pkg_map = TOOL_PACKAGES.get(family, {})
    if immutable_host:
        needed = [t for t in missing_tools if t not in OPERATOR_TOOLS]
        optional = [t for t in missing_tools if t in OPERATOR_TOOLS]
        if needed:
            err(
                '%s mode needs %s, not found on this immutable host (PATH and /opt/bin searched)'
                % (mode, ', '.join(needed)),
                'add them to the host image (e.g. a systemd-sysext or the OS image), or set '
                'node_prepare_immutable: false if packages can be installed',
            )
        if optional:
            warn('%s not found (operators use it to inspect ipvs; kube-proxy does not need it)' % ', '.join(optional))
    elif missing_tools:
        if not pkg_map:
            err(
                'OS %r (family %s) has no package map in node_prepare and %s is missing'
                % (facts.get('os_name') or facts.get('os_id', '?'), family, ', '.join(missing_tools)),
                'install the tools yourself and set node_prepare_immutable: true to have them only checked',
            )
        else:
            packages = sorted({pkg_map[t] for t in missing_tools})

    # nft version (only if present; a missing nft is installed and checked after installation)
    nft_version = version_tuple(facts['tools'].get('nft', '').split('v', 1)[-1]) if facts['tools'].get('nft') else ()
    if mode == 'nftables' and nft_version:
        if nft_version < NFT_MIN_VERSION:
            err(
                'nft %s is older than %s, which kube-proxy\'s nftables mode needs'
                % (_vstr(nft_version), _vstr(NFT_MIN_VERSION)),
                'upgrade the nftables package (or the host image) to >= 1.0.1',
            )
        elif nft_version >= NFT_NEEDS_KUBE_PROXY_FIX:
            warn(
                'nft %s on the host: kube-proxy needs the fix of kubernetes PR #137501 (1.33.x/1.34.x/1.35.x '
                'patch releases)' % _vstr(nft_version)
            )

    # Kernel
    if mode == 'nftables':
        kv = version_tuple(kernel)
        if kv and kv[:2] < NFTABLES_MIN_KERNEL:
            err(
                'kernel %s is older than 5.13, which kube-proxy\'s nftables mode needs' % kernel,
                'upgrade the kernel or keep this node group in iptables/ipvs mode',
            )
        elif not kv:
            err('the kernel release could not be read (uname -r)', 'check the host')

    # Modules
    modules = wanted_modules(mode, scheduler)
    if mode == 'ipvs':
        modules += [m for m in OPTIONAL_MODULES if mods_state.get(m, 'missing') != 'missing']
    fib_missing = [m for m in modules if m in FIB_MODULES and mods_state.get(m, 'missing') == 'missing']
    other_missing = [m for m in modules if m not in FIB_MODULES and mods_state.get(m, 'missing') == 'missing']
    if fib_missing:
        err(
            'the kernel cannot do nftables fib matches (%s not found for kernel %s; kube-proxy uses '
            '"fib saddr type local")' % (', '.join(fib_missing), kernel),
            'use a kernel built with CONFIG_NFT_FIB_IPV4 and CONFIG_NFT_FIB_IPV6',
        )
    if other_missing:
        err(
            'kernel modules %s not found for the running kernel %s (modinfo, /lib/modules/%s)'
            % (', '.join(other_missing), kernel, kernel),
            'install the kernel\'s extra modules package (e.g. linux-modules-extra-%s, kernel-modules-extra) '
            'or boot a kernel that has them' % kernel,
        )
    modules_to_load = [m for m in modules if mods_state.get(m) == 'available']

    # Kubernetes version gate
    kerr, kwarn = kube_version_findings(mode, kube_version, feature_gates)
    for e in kerr:
        errors.append('%s: %s' % (host, e))
    for w in kwarn:
        warn(w)

    # Sysctls: live values to set, record of what ipvs mode changed, restore when leaving ipvs
    sysctls = target_sysctls(mode, strict_arp)
    sysctl_set = {k: v for k, v in sysctls.items() if live.get(k) != v}
    record_add = {
        k: live.get(k, SYSCTL_KERNEL_DEFAULTS.get(k, ''))
        for k in sysctl_set
        if k in IPVS_SYSCTL_KEYS and k not in record
    }
    leaving = {k: v for k, v in record.items() if k not in sysctls}
    restore_deferred = bool(leaving) and facts.get('kube_ipvs0') == '1'
    sysctl_restore = {}
    record_after = dict(record)
    record_after.update(record_add)
    if restore_deferred:
        warn(
            'ipvs sysctls (%s) are not restored yet: kube-ipvs0 exists, kube-proxy may still run in ipvs mode '
            'here; run prepare again after the migration' % ', '.join(sorted(leaving))
        )
    else:
        for k, v in leaving.items():
            if k in live and live[k] != v:
                sysctl_restore[k] = v
            record_after.pop(k, None)

    return {
        'host': host,
        'mode': mode,
        'kernel': kernel,
        'os_family': family,
        'os_name': facts.get('os_name', ''),
        'immutable': immutable_host,
        'tools': tools,
        'tools_missing': missing_tools,
        'packages': packages,
        'package_manager': PACKAGE_MANAGER.get(family, '') if packages else '',
        'nft_version': _vstr(nft_version),
        'modules': modules,
        'modules_to_load': modules_to_load,
        'sysctls': sysctls,
        'sysctl_set': sysctl_set,
        'sysctl_restore': sysctl_restore,
        'record': record,
        'record_add': record_add,
        'record_after': record_after,
        'restore_deferred': restore_deferred,
        'files': facts['files'],
        'preflight': {
            'ok': not errors,
            'errors': errors,
            'warnings': warnings,
            'mode': mode,
            'kernel': kernel,
            'os_family': family,
            'immutable': immutable_host,
        },
    }
