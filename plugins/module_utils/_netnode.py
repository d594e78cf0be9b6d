# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read kube-proxy's kernel state on the node with few processes (used by node_facts and cleanup).

One iptables-save per backend and family, one `nft -j list tables` (+ one `nft -j list table`
per kube-proxy table), one `ipset list -n`, a read of /proc/net/ip_vs, `ip -j addr` only when
kube-ipvs0 exists, /proc/modules and modules.dep/modules.builtin as files. A missing tool is
reported, never fatal.
"""

from __future__ import annotations

import os
import platform
import tempfile

from ansible_collections.kube_proxy.mode.plugins.module_utils import _netstate as ns

BACKENDS = ('legacy', 'nft')
FAMILIES = (('ipv4', 'iptables'), ('ipv6', 'ip6tables'))


def _read(path):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return f.read()
    except OSError:
        return None


class NodeReader:
    """Collects state through an AnsibleModule (run_command, get_bin_path)."""

    def __init__(self, module, proc_root='/proc', sys_root='/sys', modules_root='/lib/modules'):
        self.module = module
        self.proc_root = proc_root
        self.sys_root = sys_root
        self.modules_root = modules_root
        self.missing = set()
        self.errors = []
        self._bins = {}
        self._outputs = {}

    # -- helpers ------------------------------------------------------------------------------
    def bin(self, name, record=True):
        if name not in self._bins:
            self._bins[name] = self.module.get_bin_path(name, required=False, opt_dirs=['/usr/sbin', '/sbin'])
        if self._bins[name] is None and record:
            self.missing.add(name)
        return self._bins[name]

    def run(self, args, data=None, what=None):
        rc, out, err = self.module.run_command(args, data=data, binary_data=True, environ_update={'LC_ALL': 'C'})
        if rc != 0:
            self.errors.append('%s: rc=%d %s' % (what or ' '.join(args), rc, (err or out).strip()[:400]))
        return rc, out, err

    # -- iptables -----------------------------------------------------------------------------
    def iptables_commands(self):
        """[(backend, family, save_bin, restore_bin)] for the backends present on the node."""
        found = []
        for family, prog in FAMILIES:
            any_suffixed = False
            for backend in BACKENDS:
                save = self.bin('%s-%s-save' % (prog, backend), record=False)
                restore = self.bin('%s-%s-restore' % (prog, backend), record=False)
                if save and restore:
                    any_suffixed = True
                    found.append((backend, family, save, restore))
            if not any_suffixed:
                save = self.bin('%s-save' % prog)
                restore = self.bin('%s-restore' % prog)
                if save and restore:
                    backend = self.iptables_default_backend(prog) or 'unknown'
                    found.append((backend, family, save, restore))
        return found

    def iptables_default_backend(self, prog='iptables'):
        out = self.tool_output(prog, ['--version'])
        return ns.iptables_version_backend(out)

    def read_iptables(self, rules=True, only=None):
        """{(backend, family): (parsed tables, restore_bin, rules_read)}

        rules=False reads the iptables-nft backend's chain names with one `nft -j list chains`
        (0.1 s of CPU with 10,000 services) instead of iptables-nft-save (0.8 s); the legacy backend
        is always saved in full (cheap). only: read just these (backend, family) pairs.
        """
        state = {}
        nft_chains = None
        for backend, family, save, restore in self.iptables_commands():
            if only is not None and (backend, family) not in only:
                continue
            if backend == 'nft' and not rules and self.bin('nft', record=False):
                if nft_chains is None:
                    rc, out, _err = self.run([self.bin('nft'), '-j', 'list', 'chains'])
                    try:
                        nft_chains = ns.parse_nft_chains(out) if rc == 0 else None
                    except ValueError:
                        nft_chains = None
                if nft_chains is not None:
                    state[(backend, family)] = (nft_chains.get(family, {}), restore, False)
                    continue
            text = self.save_iptables(save, '%s (%s %s)' % (os.path.basename(save), backend, family))
            if text is not None:
                state[(backend, family)] = (text, restore, True)
        # parsed after all the saves ran: every command forked from this process once it holds the
        # parsed rules of 10,000 services costs milliseconds more (page tables, copy-on-write)
        for key, (data, restore, rules_read) in state.items():
            if rules_read:
                state[key] = (ns.parse_iptables_save(data), restore, rules_read)
        return state

    def save_iptables(self, save, what):
        """iptables-save output. Written to a file with -f (iptables >= 1.8): collecting megabytes of
        stdout through run_command costs seconds on a node with 10,000 services."""
        fd, path = tempfile.mkstemp(prefix='kube-proxy-mode-', suffix='.rules')
        os.close(fd)
        try:
            rc, _out, _err = self.module.run_command([save, '-f', path], environ_update={'LC_ALL': 'C'})
            if rc == 0:
                return _read(path)
        finally:
            os.unlink(path)
        rc, out, _err = self.run([save], what=what)
        return out if rc == 0 else None

    # -- nft ----------------------------------------------------------------------------------
    def read_nft_kube_proxy(self):
        """{(family, 'kube-proxy'): counts} of the kube-proxy tables present; None when nft is missing.

        Probes `nft -j list table FAMILY kube-proxy` per family: `nft list tables` is not used, as
        nft (1.0.x) then fetches the whole ruleset, which takes tens of seconds and hundreds of MB
        when the iptables-nft backend holds 10,000 services.
        """
        nft = self.bin('nft')
        if not nft:
            return None
        found = {}
        for family in ns.NFT_FAMILIES:
            rc, out, err = self.module.run_command(
                [nft, '-j', 'list', 'table', family, ns.NFT_TABLE], environ_update={'LC_ALL': 'C'}
            )
            if rc != 0:
                if 'No such file or directory' not in (err or ''):
                    self.errors.append('nft -j list table %s %s: rc=%d %s' % (family, ns.NFT_TABLE, rc, err.strip()))
                continue
            try:
                found[(family, ns.NFT_TABLE)] = ns.summarize_nft_table(out)
            except ValueError as e:
                self.errors.append('nft -j list table %s %s: %s' % (family, ns.NFT_TABLE, e))
        return found

    # -- ipset / ipvs / device ----------------------------------------------------------------
    def read_ipsets(self):
        ipset = self.bin('ipset')
        if not ipset:
            return None
        rc, out, _err = self.run([ipset, 'list', '-n'])
        return ns.parse_ipset_names(out) if rc == 0 else None

    def read_nodeports(self, names):
        """(proto, port) pairs in the ipvs proxier's NodePort sets (for NodePort virtual servers)."""
        members = {}
        for name in sorted(n for n in names if n in ns.NODEPORT_IPSETS):
            rc, out, _err = self.run([self.bin('ipset'), 'save', name])
            if rc == 0:
                members.update(ns.parse_ipset_save_members(out, frozenset([name])))
        return ns.nodeports_from_sets(members)

    def read_ipvs(self):
        """None when the ip_vs module is not loaded (no /proc/net/ip_vs)."""
        text = _read(os.path.join(self.proc_root, 'net', 'ip_vs'))
        return None if text is None else ns.parse_proc_ip_vs(text)

    def ipvs_loaded(self):
        """The ip_vs module is loaded (/proc/net/ip_vs exists). Checked before running ipvsadm,
        which loads ip_vs itself (modprobe) when it is not."""
        return os.path.exists(os.path.join(self.proc_root, 'net', 'ip_vs'))

    def read_ipvs_rules(self):
        """`ipvsadm -S -n` parsed (ns.parse_ipvsadm_save); None when ipvsadm is missing or failed."""
        ipvsadm = self.bin('ipvsadm')
        if not ipvsadm:
            return None
        rc, out, _err = self.run([ipvsadm, '-S', '-n'], what='ipvsadm -S -n')
        if rc != 0:
            return None
        try:
            return ns.parse_ipvsadm_save(out)
        except ValueError as e:
            self.errors.append('ipvsadm -S -n: %s' % e)
            return None

    def device_exists(self, name=ns.KUBE_IPVS_DEVICE):
        return os.path.exists(os.path.join(self.sys_root, 'class', 'net', name))

    def read_device_addresses(self, name=ns.KUBE_IPVS_DEVICE):
        ip = self.bin('ip')
        if not ip:
            return []
        rc, out, _err = self.run([ip, '-j', 'addr', 'show', 'dev', name])
        return ns.parse_ip_addr_json(out) if rc == 0 else []

    # -- kernel, tools --------------------------------------------------------------------------
    def kernel(self):
        release = (_read(os.path.join(self.proc_root, 'sys', 'kernel', 'osrelease')) or platform.release()).strip()
        proc_modules = _read(os.path.join(self.proc_root, 'modules'))
        loaded = ns.parse_proc_modules(proc_modules) if proc_modules is not None else []
        base = os.path.join(self.modules_root, release)
        dep = _read(os.path.join(base, 'modules.dep'))
        builtin = _read(os.path.join(base, 'modules.builtin'))
        available = ns.parse_modules_list(dep) if dep is not None else None
        builtin_set = ns.parse_modules_list(builtin) if builtin is not None else set()
        return {
            'release': release,
            'modules_info': 'complete' if dep is not None and proc_modules is not None else 'partial',
            'modules': ns.module_report(loaded, builtin_set, available),
        }

    def tool_output(self, name, args):
        key = (name, tuple(args))
        if key not in self._outputs:
            path = self.bin(name)
            out = None
            if path:
                rc, stdout, stderr = self.module.run_command([path] + args, environ_update={'LC_ALL': 'C'})
                out = (stdout or stderr) if rc == 0 else None
            self._outputs[key] = out
        return self._outputs[key]

    def tool_versions(self):
        versions = {}
        for name, args in (('nft', ['--version']), ('iptables', ['--version']), ('ipset', ['--version'])):
            versions[name] = ns.parse_tool_version(self.tool_output(name, args))
        # ipvsadm --version exits 0 on current releases but prints to stdout; older ones used stderr
        versions['ipvsadm'] = ns.parse_tool_version(self.tool_output('ipvsadm', ['--version']))
        return versions


def gather(reader, with_versions=True, rules=True, nft_tables=True, counts=True, ipvs_rules=False):
    """Full picture of kube-proxy state. Returns (facts, raw) where raw keeps what cleanup needs.

    nft_tables=False skips probing the nftables-mode tables (cleanup of the iptables or ipvs mode
    does not need them): then the nftables mode is never reported. counts=False does not count the
    iptables rules (cleanup counts what it removes itself): the rule counts in the facts are None.
    ipvs_rules=True adds ipvs.other_rules: the `ipvsadm -S -n` lines of the IPVS services that are
    not kube-proxy's (same split as the counts), [] when ip_vs is not loaded, None when ipvsadm is
    missing or failed.
    """
    ipt = reader.read_iptables(rules=rules)
    summaries = {}
    for (backend, family), (tables, _restore, rules_read) in sorted(ipt.items()):
        summary = ns.summarize_iptables(tables, rules=counts)
        if not rules_read and summary['kube_proxy_chains']:
            # chain names only: with kube-proxy chains present their rules are unknown (no chains, no rules)
            summary['kube_proxy_rules'] = summary['jump_rules'] = None
        summaries.setdefault(backend, {})[family] = summary
    flat = [s for fam in summaries.values() for s in fam.values()]

    hint_backends = sorted({b for b, fams in summaries.items() if any(s['hint'] for s in fams.values())})

    nft_found = reader.read_nft_kube_proxy() if nft_tables else {}
    kp_tables = sorted(nft_found or {})
    nft_counts = {'chains': 0, 'rules': 0, 'sets': 0, 'maps': 0, 'elements': 0}
    for counts in (nft_found or {}).values():
        for k, v in counts.items():
            nft_counts[k] += v

    ipset_names = reader.read_ipsets()
    kp_sets = ns.kube_proxy_ipsets(ipset_names or [])

    ipvs_services = reader.read_ipvs()
    dev = reader.device_exists()
    dev_addrs = reader.read_device_addresses() if dev else []
    nodeports = reader.read_nodeports(kp_sets) if ipvs_services else set()
    mine, other = ns.kube_proxy_ipvs_services(ipvs_services or [], dev_addrs, nodeports)

    other_rules = None
    if ipvs_rules:
        # looked up first so that a missing ipvsadm is always in missing_tools
        has_ipvsadm = reader.bin('ipvsadm') is not None
        if ipvs_services is None:
            other_rules = []
        elif has_ipvsadm:
            saved = reader.read_ipvs_rules()
            if saved is not None:
                other_rules = ns.ipvsadm_rules(ns.kube_proxy_ipvs_services(saved, dev_addrs, nodeports)[1])

    ipvs_present = bool(dev or mine or kp_sets)
    modes = ns.detect_modes(flat, ipvs_present, kp_tables)

    facts = {
        'modes': modes,
        'kubelet_iptables_backend': hint_backends[0] if len(hint_backends) == 1 else (hint_backends or None),
        'iptables': summaries,
        'ipvs': {
            'loaded': ipvs_services is not None,
            'services': len(ipvs_services or []),
            'kube_proxy_services': len(mine),
            'other_services': len(other),
            'kube_ipvs0': dev,
            'kube_ipvs0_addresses': len(dev_addrs),
        },
        'ipsets': kp_sets,
        'nftables': {
            'readable': nft_found is not None,
            'kube_proxy_tables': ['%s %s' % t for t in kp_tables],
            'counts': nft_counts,
        },
        'counts': {
            'iptables_chains': sum(s['kube_proxy_chains'] for s in flat),
            'iptables_rules': None
            if any(s['kube_proxy_rules'] is None for s in flat)
            else sum(s['kube_proxy_rules'] + s['jump_rules'] for s in flat),
            'ipvs_services': len(mine),
            'ipsets': len(kp_sets),
            'nft_tables': len(kp_tables),
            'nft_elements': nft_counts['elements'],
        },
    }
    if ipvs_rules:
        facts['ipvs']['other_rules'] = other_rules
    if with_versions:
        facts['kernel'] = reader.kernel()
        facts['tools'] = reader.tool_versions()
        facts['iptables_default_backend'] = reader.iptables_default_backend()
    facts['missing_tools'] = sorted(reader.missing)
    facts['errors'] = list(reader.errors)
    raw = {
        'iptables': {k: (v[0], v[1]) for k, v in ipt.items()},
        'nft_tables': kp_tables,
        'ipset_names': ipset_names or [],
        'ipvs_mine': mine,
        'kube_ipvs0': dev,
    }
    return facts, raw
