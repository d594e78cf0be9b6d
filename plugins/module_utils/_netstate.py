# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers and planners for kube-proxy's kernel state.

Nothing here runs a command or touches the system: every function takes text (the output of
iptables-save, nft -j, ipset, /proc/net/ip_vs, ip -j addr) and returns plain data, so the
logic is unit-tested without root. The modules node_facts and cleanup feed it (see _netnode.py).

Ownership of iptables chains (docs/node-state.md has the table with its upstream sources):
kube-proxy's chains are named exactly; KUBE-* chains of other owners (kubelet's
KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY, KUBE-FIREWALL in filter, KUBE-MARK-DROP; hostport
chains; kube-router's ipsets) are never matched by a bare ``KUBE-`` prefix.
"""

from __future__ import annotations

import json
import re

MODES = ('iptables', 'ipvs', 'nftables')

# Chains only the iptables proxier creates, per table.
IPTABLES_ONLY_CHAINS = {
    'nat': frozenset(('KUBE-NODEPORTS', 'KUBE-PROXY-CANARY')),
    'filter': frozenset(('KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-PROXY-CANARY')),
    'mangle': frozenset(('KUBE-PROXY-CANARY',)),
}
# Per-service chains of the iptables proxier (table nat); KUBE-XLB- is the pre-1.24 name of KUBE-SVL-/KUBE-EXT-.
IPTABLES_SERVICE_PREFIXES = ('KUBE-SVC-', 'KUBE-SVL-', 'KUBE-SEP-', 'KUBE-FW-', 'KUBE-EXT-', 'KUBE-XLB-')
# Chains both the iptables and the ipvs proxier create.
SHARED_CHAINS = {
    'nat': frozenset(('KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ')),
    'filter': frozenset(('KUBE-FORWARD', 'KUBE-PROXY-FIREWALL')),
}
# Chains only the ipvs proxier creates. nat KUBE-FIREWALL is the ipvs proxier's (before 1.25);
# filter KUBE-FIREWALL is kubelet's and is never listed here.
IPVS_ONLY_CHAINS = {
    'nat': frozenset(('KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-FIREWALL')),
    'filter': frozenset(('KUBE-NODE-PORT', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER')),
}
# Kubelet's chains (kept by every cleanup). KUBE-MARK-DROP (nat) was kubelet's until 1.27 and is
# left alone too. Listed for reporting.
KUBELET_CHAINS = {
    'mangle': frozenset(('KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY')),
    'nat': frozenset(('KUBE-KUBELET-CANARY', 'KUBE-MARK-DROP')),
    'filter': frozenset(('KUBE-KUBELET-CANARY', 'KUBE-FIREWALL')),
}
BUILTIN_CHAINS = frozenset(('PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'))

_IPVS_SET_BASES = (
    'LOOP-BACK',
    'CLUSTER-IP',
    'EXTERNAL-IP',
    'EXTERNAL-IP-LOCAL',
    'LOAD-BALANCER',
    'LOAD-BALANCER-LOCAL',
    'LOAD-BALANCER-FW',
    'LOAD-BALANCER-SOURCE-IP',
    'LOAD-BALANCER-SOURCE-CIDR',
    'NODE-PORT-TCP',
    'NODE-PORT-LOCAL-TCP',
    'NODE-PORT-UDP',
    'NODE-PORT-LOCAL-UDP',
    'NODE-PORT-SCTP-HASH',
    'NODE-PORT-LOCAL-SCTP-HASH',
    'HEALTH-CHECK-NODE-PORT',
    'IPVS-IPS',
)
# The ipvs proxier's ipsets, IPv4 (KUBE-) and IPv6 (KUBE-6-). Exact names: other software
# (kube-router: KUBE-SRC-*, KUBE-DST-*) also uses a KUBE- prefix.
IPVS_IPSETS = frozenset(['KUBE-' + b for b in _IPVS_SET_BASES] + ['KUBE-6-' + b for b in _IPVS_SET_BASES])
NODEPORT_IPSETS = frozenset(n for n in IPVS_IPSETS if '-NODE-PORT-' in n and '-LOCAL-' not in n and 'HEALTH' not in n)

KUBE_IPVS_DEVICE = 'kube-ipvs0'
NFT_TABLE = 'kube-proxy'
NFT_FAMILIES = ('ip', 'ip6')

# Kernel modules per mode (kube-proxy's own checks and Kubespray's kube_proxy_ipvs_modules).
KERNEL_MODULES = {
    'iptables': ('ip_tables', 'ip6_tables', 'iptable_nat', 'iptable_filter', 'iptable_mangle', 'nf_conntrack'),
    'ipvs': ('ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'ip_vs_wlc', 'ip_vs_lc', 'ip_set', 'xt_set', 'nf_conntrack'),
    'nftables': ('nf_tables', 'nft_fib_ipv4', 'nft_fib_ipv6', 'nft_ct', 'nf_conntrack'),
    'common': ('br_netfilter',),
}

_JUMP_RE = re.compile(r'(?:^|\s)-[jg]\s+(\S+)')
_QUOTED_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCH_SET_RE = re.compile(r'--match-set\s+(\S+)')


# ---------------------------------------------------------------------------------------------
# iptables-save
# ---------------------------------------------------------------------------------------------
def parse_iptables_save(text):
    """Parse iptables-save output.

    Returns ``{table: {'chains': [names in order], 'rules': [(chain, spec), ...]}}`` where spec
    is the rule text after ``-A CHAIN `` exactly as iptables-save printed it.
    """
    tables = {}
    current = None
    rules = chains = None
    for line in text.splitlines():
        if line.startswith('-A '):
            parts = line.split(' ', 2)
            rules.append((parts[1], parts[2] if len(parts) > 2 else ''))
        elif line.startswith(':'):
            chains.append(line[1:].split(' ', 1)[0])
        elif line.startswith('*'):
            current = tables.setdefault(line[1:].strip(), {'chains': [], 'rules': []})
            rules, chains = current['rules'], current['chains']
    return tables


def rule_target(spec):
    """The -j/-g target of a rule spec, or None."""
    if '"' in spec:
        spec = _QUOTED_RE.sub('""', spec)
    m = _JUMP_RE.search(spec)
    return m.group(1) if m else None


def rule_match_sets(spec):
    """ipset names a rule spec references with --match-set."""
    return _MATCH_SET_RE.findall(spec) if '--match-set' in spec else []


def classify_chain(table, name):
    """Owner of a chain: 'iptables', 'ipvs', 'shared' (iptables+ipvs proxiers), 'kubelet' or None."""
    if name in IPTABLES_ONLY_CHAINS.get(table, ()):
        return 'iptables'
    if table == 'nat' and name.startswith(IPTABLES_SERVICE_PREFIXES):
        return 'iptables'
    if name in SHARED_CHAINS.get(table, ()):
        return 'shared'
    if name in IPVS_ONLY_CHAINS.get(table, ()):
        return 'ipvs'
    if name in KUBELET_CHAINS.get(table, ()):
        return 'kubelet'
    return None


def summarize_iptables(tables, rules=True):
    """Counts for one backend/family.

    Returns dict with chains per owner class, rule counts in kube-proxy chains, jump rules into
    kube-proxy chains from other chains, whether kubelet's hint chain is there. rules=False skips
    going through the rules (their counts are then None): the chains alone tell the modes.
    """
    out = {
        'iptables_chains': 0,
        'ipvs_chains': 0,
        'shared_chains': 0,
        'service_chains': 0,
        'kube_proxy_chains': 0,
        'kube_proxy_rules': 0,
        'jump_rules': 0,
        'kubelet_chains': [],
        'hint': False,
    }
    for table, data in tables.items():
        owners = {}
        for name in data['chains']:
            owner = classify_chain(table, name)
            if owner is None:
                continue
            if owner == 'kubelet':
                out['kubelet_chains'].append('%s/%s' % (table, name))
                if table == 'mangle' and name == 'KUBE-IPTABLES-HINT':
                    out['hint'] = True
                continue
            owners[name] = owner
            out[owner + '_chains'] += 1
            if owner == 'iptables' and name.startswith(IPTABLES_SERVICE_PREFIXES):
                out['service_chains'] += 1
        out['kube_proxy_chains'] += len(owners)
        if not rules:
            continue
        for chain, spec in data['rules']:
            if chain in owners:
                out['kube_proxy_rules'] += 1
            elif rule_target(spec) in owners:
                out['jump_rules'] += 1
    out['kubelet_chains'].sort()
    if not rules:
        out['kube_proxy_rules'] = out['jump_rules'] = None
    return out


def plan_iptables_cleanup(tables, mode, keep_shared=False, ipsets=()):
    """Plan the removal of one mode's chains from one backend/family.

    tables: parse_iptables_save() output. mode: 'iptables' or 'ipvs'. keep_shared: keep the
    chains both proxiers use (the other mode is live on the node). ipsets: names of sets that
    will be destroyed, so rules in kept chains that reference them are deleted too.

    Returns ``{'restore': text or '', 'chains': n, 'rules': n, 'deleted_rules': n,
    'tables': {table: [chains]}, 'deletes': {table: [-D lines]}}``: text is iptables-restore
    --noflush input that first deletes the rules of other chains that jump to (or match a set of)
    what is removed, then flushes and deletes the chains, one COMMIT per table.
    """
    wanted = {mode} if keep_shared else {mode, 'shared'}
    ipsets = frozenset(ipsets)
    out = {'restore': '', 'chains': 0, 'rules': 0, 'deleted_rules': 0, 'tables': {}, 'deletes': {}}
    parts = []
    for table in sorted(tables):
        data = tables[table]
        remove = [n for n in data['chains'] if classify_chain(table, n) in wanted]
        removeset = frozenset(remove)
        deletes = []
        rules = 0
        for chain, spec in data['rules']:
            if chain in removeset:
                rules += 1
                continue
            if rule_target(spec) in removeset or (ipsets and any(s in ipsets for s in rule_match_sets(spec))):
                deletes.append('-D %s %s' % (chain, spec) if spec else '-D %s' % chain)
        if not remove and not deletes:
            continue
        lines = ['*' + table]
        lines.extend(':%s - [0:0]' % n for n in remove)
        lines.extend(deletes)
        lines.extend('-X ' + n for n in remove)
        lines.append('COMMIT')
        parts.append('\n'.join(lines))
        out['chains'] += len(remove)
        out['rules'] += rules + len(deletes)
        out['deleted_rules'] += len(deletes)
        out['tables'][table] = remove
        out['deletes'][table] = deletes
    if parts:
        out['restore'] = '\n'.join(parts) + '\n'
    return out


_NFT_SAFE_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]*$')


def split_for_nft_backend(plan, family):
    """The same plan for the iptables-nft backend, in two bulk steps.

    iptables-nft-restore needs seconds of CPU to flush and delete 20,000 chains (each ':CHAIN'
    line works on its full rule cache), native nft does it in a tenth of that. So: first
    iptables-nft-restore --noflush with only the -D lines (rules of kept chains pointing at what
    goes: unlink first), then one `nft -f` flushing and deleting the chains in one transaction.

    Returns (restore text or '', nft text), or None when a chain name is not a plain nft
    identifier (then the caller uses plan['restore']).
    """
    fam = 'ip6' if family == 'ipv6' else 'ip'
    restore, flush, delete = [], [], []
    for table in sorted(plan['tables']):
        if plan['deletes'].get(table):
            restore += ['*' + table] + plan['deletes'][table] + ['COMMIT']
        for name in plan['tables'][table]:
            if not _NFT_SAFE_NAME.match(name):
                return None
            flush.append('flush chain %s %s %s' % (fam, table, name))
            delete.append('delete chain %s %s %s' % (fam, table, name))
    return (
        '\n'.join(restore) + '\n' if restore else '',
        '\n'.join(flush + delete) + '\n' if flush else '',
    )


# ---------------------------------------------------------------------------------------------
# nft
# ---------------------------------------------------------------------------------------------
def _nft_items(text):
    if not text or not text.strip():
        return []
    data = json.loads(text)
    return data.get('nftables', []) if isinstance(data, dict) else []


def parse_nft_tables(text):
    """`nft -j list tables` -> sorted list of (family, name)."""
    return sorted(
        (o['table']['family'], o['table']['name']) for o in _nft_items(text) if isinstance(o, dict) and 'table' in o
    )


def summarize_nft_table(text):
    """`nft -j list table FAMILY NAME` -> counts of chains, rules, sets, maps and elements."""
    out = {'chains': 0, 'rules': 0, 'sets': 0, 'maps': 0, 'elements': 0}
    for o in _nft_items(text):
        if not isinstance(o, dict):
            continue
        if 'chain' in o:
            out['chains'] += 1
        elif 'rule' in o:
            out['rules'] += 1
        elif 'set' in o or 'map' in o:
            kind = 'set' if 'set' in o else 'map'
            out[kind + 's'] += 1
            out['elements'] += len(o[kind].get('elem', ()) or ())
    return out


_XT_TABLES = ('nat', 'filter', 'mangle', 'raw', 'security')


def parse_nft_chains(text):
    """`nft -j list chains` -> {'ipv4'|'ipv6': {table: {'chains': [...], 'rules': []}}} for the
    iptables-nft backend's tables (ip/ip6 nat, filter, mangle, raw, security). Rules are not
    listed (that is the point: listing chain names is cheap, listing rules is not)."""
    out = {}
    for o in _nft_items(text):
        c = o.get('chain') if isinstance(o, dict) else None
        if not c or c.get('family') not in NFT_FAMILIES or c.get('table') not in _XT_TABLES:
            continue
        fam = 'ipv6' if c['family'] == 'ip6' else 'ipv4'
        out.setdefault(fam, {}).setdefault(c['table'], {'chains': [], 'rules': []})['chains'].append(c['name'])
    return out


def kube_proxy_nft_tables(tables):
    """Which of (family, name) are kube-proxy's nftables-mode tables (ip/ip6 kube-proxy)."""
    return [t for t in tables if t[1] == NFT_TABLE and t[0] in NFT_FAMILIES]


def plan_nft_cleanup(tables):
    """nft -f input deleting kube-proxy's tables, or ''."""
    mine = kube_proxy_nft_tables(tables)
    return ''.join('delete table %s %s\n' % t for t in mine)


# ---------------------------------------------------------------------------------------------
# ipset
# ---------------------------------------------------------------------------------------------
def parse_ipset_names(text):
    """`ipset list -n` -> sorted names."""
    return sorted(line.strip() for line in text.splitlines() if line.strip())


def kube_proxy_ipsets(names):
    return sorted(n for n in names if n in IPVS_IPSETS)


def parse_ipset_save_members(text, wanted):
    """`ipset save` -> {set: [members]} for the sets in wanted."""
    out = {}
    for line in text.splitlines():
        if line.startswith('add '):
            parts = line.split()
            if len(parts) >= 3 and parts[1] in wanted:
                out.setdefault(parts[1], []).append(parts[2])
    return out


def nodeports_from_sets(members):
    """{(proto, port)} from the ipvs proxier's NodePort sets (bitmap:port / hash:port members)."""
    out = set()
    for name, values in members.items():
        proto = 'tcp' if name.endswith('-TCP') else 'udp' if name.endswith('-UDP') else 'sctp'
        for v in values:
            v = v.split(':')[-1] if ':' in v else v
            if v.isdigit():
                out.add((proto, int(v)))
    return out


def plan_ipset_cleanup(names):
    """`ipset restore` input destroying kube-proxy's sets, or ''."""
    return ''.join('destroy %s\n' % n for n in kube_proxy_ipsets(names))


# ---------------------------------------------------------------------------------------------
# IPVS
# ---------------------------------------------------------------------------------------------
def _hex_ipv4(h):
    n = int(h, 16)
    return '%d.%d.%d.%d' % ((n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)


def _ipv6_compress(addr):
    import ipaddress

    return str(ipaddress.IPv6Address(addr))


def _parse_ipvs_endpoint(text):
    """'0A600001:0050' or '[2001:0db8:...:0001]:0050' -> (address, port)."""
    if text.startswith('['):
        end = text.index(']')
        return _ipv6_compress(text[1:end]), int(text[end + 2 :], 16)
    h, p = text.split(':')
    return _hex_ipv4(h), int(p, 16)


def parse_proc_ip_vs(text):
    """/proc/net/ip_vs -> list of services.

    Each service: {'protocol': 'tcp'|'udp'|'sctp'|'fwm', 'address', 'port', 'fwmark',
    'scheduler', 'family': 'ipv4'|'ipv6', 'destinations': n}.
    """
    services = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(('IP Virtual Server', 'Prot ', '  -> RemoteAddress')):
            continue
        if line.lstrip().startswith('->'):
            if services:
                services[-1]['destinations'] += 1
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        proto = parts[0].lower()
        sched = parts[2] if len(parts) > 2 else ''
        if proto == 'fwm':
            services.append(
                {
                    'protocol': 'fwm',
                    'address': None,
                    'port': None,
                    'fwmark': int(parts[1], 16),
                    'scheduler': sched,
                    'family': 'ipv4',
                    'destinations': 0,
                }
            )
            continue
        if proto not in ('tcp', 'udp', 'sctp'):
            continue
        addr, port = _parse_ipvs_endpoint(parts[1])
        services.append(
            {
                'protocol': proto,
                'address': addr,
                'port': port,
                'fwmark': None,
                'scheduler': sched,
                'family': 'ipv6' if ':' in addr else 'ipv4',
                'destinations': 0,
            }
        )
    return services


def parse_ip_addr_json(text):
    """`ip -j addr show dev DEV` -> list of addresses (strings, IPv6 compressed)."""
    if not text or not text.strip():
        return []
    out = []
    for link in json.loads(text):
        for a in link.get('addr_info', ()):
            local = a.get('local')
            if local:
                out.append(_ipv6_compress(local) if ':' in local else local)
    return out


def kube_proxy_ipvs_services(services, device_addresses, nodeports=()):
    """Split IPVS services into (kube-proxy's, others).

    kube-proxy's: the address sits on kube-ipvs0 (ClusterIP, external IP, LB ingress), or the
    (protocol, port) is in the proxier's NodePort ipsets (NodePort virtual servers on node IPs).
    Others (kube-vip, keepalived, fwmark services) stay.
    """
    addrs = frozenset(device_addresses)
    nodeports = frozenset(nodeports)
    mine, other = [], []
    for s in services:
        if s['address'] is not None and (s['address'] in addrs or (s['protocol'], s['port']) in nodeports):
            mine.append(s)
        else:
            other.append(s)
    return mine, other


_IPVSADM_PROTO = {'tcp': '-t', 'udp': '-u', 'sctp': '--sctp-service'}


def plan_ipvs_cleanup(services):
    """`ipvsadm -R` input deleting the given services (one -D line each), or ''."""
    lines = []
    for s in services:
        addr = '[%s]' % s['address'] if s['family'] == 'ipv6' else s['address']
        lines.append('-D %s %s:%d\n' % (_IPVSADM_PROTO[s['protocol']], addr, s['port']))
    return ''.join(lines)


# ipvsadm -S -n / ipvsadm -R: the service options, their canonical spelling in a service key
_IPVSADM_SERVICE_OPTS = {
    '-t': '-t',
    '--tcp-service': '-t',
    '-u': '-u',
    '--udp-service': '-u',
    '--sctp-service': '--sctp-service',
    '-f': '-f',
    '--fwmark-service': '-f',
}
_IPVSADM_KEY_PROTO = {'-t': 'tcp', '-u': 'udp', '--sctp-service': 'sctp', '-f': 'fwm'}


def _ipvsadm_addrport(text):
    """'10.0.0.1:80' / '[fd00::0001]:80' / '10.0.0.1' -> (address, port or None, family), IPv6 compressed."""
    if text.startswith('['):
        end = text.index(']')
        rest = text[end + 1 :]
        return _ipv6_compress(text[1:end]), int(rest[1:]) if rest.startswith(':') else None, 'ipv6'
    if text.count(':') > 1:  # bare IPv6 without a port
        return _ipv6_compress(text), None, 'ipv6'
    addr, _sep, port = text.partition(':')
    return addr, int(port) if port else None, 'ipv4'


def _ipvsadm_endpoint_str(addr, port, family):
    a = '[%s]' % addr if family == 'ipv6' else addr
    return a if port is None else '%s:%d' % (a, port)


def parse_ipvsadm_rule(line):
    """One `ipvsadm -S` line ('-A ...' service or '-a ...' destination) -> dict.

    {'kind': '-A'|'-a', 'key': service key ('-t 10.0.0.1:80', '--sctp-service [fd00::1]:80', '-f 1',
    '-f 1 -6'), 'protocol': tcp|udp|sctp|fwm, 'address', 'port', 'fwmark', 'family',
    'destination': real server ('10.0.0.2:80', None for '-A')}. Addresses are normalised (IPv6
    compressed), so keys compare whatever spelling the line used. Raises ValueError for a line that
    is not a service or destination rule.
    """
    if '\n' in line or '\r' in line:
        raise ValueError('more than one line: %r' % line)
    tokens = line.split()
    if not tokens or tokens[0] not in ('-A', '-a', '--add-service', '--add-server'):
        raise ValueError('not an ipvsadm -A (service) or -a (destination) rule: %r' % line)
    kind = '-A' if tokens[0] in ('-A', '--add-service') else '-a'
    opt = svc = real = None
    ipv6_mark = False
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        if tok in _IPVSADM_SERVICE_OPTS and i + 1 < len(tokens):
            if opt is not None:
                raise ValueError('more than one service in %r' % line)
            opt, svc = _IPVSADM_SERVICE_OPTS[tok], tokens[i + 1]
            i += 2
            continue
        if tok in ('-r', '--real-server') and i + 1 < len(tokens):
            real = tokens[i + 1]
            i += 2
            continue
        if tok == '-6' or tok == '--ipv6':
            ipv6_mark = True
        i += 1
    if opt is None:
        raise ValueError('no service (-t, -u, --sctp-service, -f) in %r' % line)
    if kind == '-a' and real is None:
        raise ValueError('destination rule without -r in %r' % line)
    out = {'kind': kind, 'protocol': _IPVSADM_KEY_PROTO[opt], 'fwmark': None, 'address': None, 'port': None}
    try:
        if opt == '-f':
            mark = int(svc, 0)
            out['fwmark'] = mark
            out['family'] = 'ipv6' if ipv6_mark else 'ipv4'
            out['key'] = '-f %d%s' % (mark, ' -6' if ipv6_mark else '')
        else:
            out['address'], out['port'], out['family'] = _ipvsadm_addrport(svc)
            out['key'] = '%s %s' % (opt, _ipvsadm_endpoint_str(out['address'], out['port'], out['family']))
        out['destination'] = _ipvsadm_endpoint_str(*_ipvsadm_addrport(real)) if real is not None else None
    except ValueError as e:
        raise ValueError('bad address in %r: %s' % (line, e)) from None
    return out


def parse_ipvsadm_save(text):
    """`ipvsadm -S -n` -> list of services in the order printed.

    Each: parse_ipvsadm_rule() of its '-A' line plus 'service' (the line as printed),
    'destinations' (its '-a' lines as printed) and 'destination_keys' (their real servers).
    """
    services = []
    by_key = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith(('-A ', '-a ')):
            continue
        rule = parse_ipvsadm_rule(line)
        if rule['kind'] == '-A':
            svc = dict(rule, service=line, destinations=[], destination_keys=[])
            del svc['kind'], svc['destination']
            services.append(svc)
            by_key[rule['key']] = svc
        elif rule['key'] in by_key:
            by_key[rule['key']]['destinations'].append(line)
            by_key[rule['key']]['destination_keys'].append(rule['destination'])
    return services


def ipvsadm_rules(services):
    """Services of parse_ipvsadm_save() -> [{'service': line, 'destinations': [lines]}]."""
    return [{'service': s['service'], 'destinations': list(s['destinations'])} for s in services]


def plan_ipvs_restore(wanted, current):
    """Lines to feed `ipvsadm -R` so every wanted service and destination exists. Adds only.

    wanted: [{'service': '-A ...', 'destinations': ['-a ...']}] (node_facts' ipvs.other_rules).
    current: parse_ipvsadm_save() of the node. A wanted service whose key exists keeps its
    settings (scheduler, persistence: never edited); only its missing destinations are added.
    Returns (lines, keys) where keys are the wanted service keys in order (duplicates merged).
    Raises ValueError for a malformed entry (a destination of another service, a '-a' as service).
    """
    have = {s['key']: set(s['destination_keys']) for s in current}
    lines, keys = [], []
    planned = {}
    for entry in wanted:
        svc = parse_ipvsadm_rule(entry['service'].strip())
        if svc['kind'] != '-A':
            raise ValueError('service %r is not an -A rule' % entry['service'])
        key = svc['key']
        if key not in planned:
            keys.append(key)
            if key in have:
                planned[key] = have[key]
            else:
                planned[key] = set()
                lines.append(entry['service'].strip())
        for dest_line in entry.get('destinations') or ():
            dest = parse_ipvsadm_rule(dest_line.strip())
            if dest['kind'] != '-a' or dest['key'] != key:
                raise ValueError('destination %r does not belong to service %r' % (dest_line, entry['service']))
            if dest['destination'] not in planned[key]:
                planned[key].add(dest['destination'])
                lines.append(dest_line.strip())
    return lines, keys


def ipvs_present_keys(keys, current):
    """The given service keys that exist on the node, and their destinations that exist, as
    sorted-by-given-order strings ('-t 10.0.0.1:80', '-t 10.0.0.1:80 -r 10.0.0.2:80')."""
    by_key = {s['key']: s for s in current}
    out = []
    for key in keys:
        if key in by_key:
            out.append(key)
            out.extend('%s -r %s' % (key, d) for d in by_key[key]['destination_keys'])
    return out


# ---------------------------------------------------------------------------------------------
# kernel modules, versions
# ---------------------------------------------------------------------------------------------
def _modname(path):
    base = path.rsplit('/', 1)[-1]
    base = base.split('.ko', 1)[0]
    return base.replace('-', '_')


def parse_proc_modules(text):
    return sorted({line.split(' ', 1)[0] for line in text.splitlines() if line.strip()})


def parse_modules_list(text):
    """modules.dep or modules.builtin -> set of module names."""
    out = set()
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        out.add(_modname(line.split(':', 1)[0]))
    return out


def module_report(loaded, builtin, available):
    """Per mode: loaded, builtin, available (loadable), missing. available None = unknown."""
    loaded = frozenset(loaded)
    builtin = frozenset(builtin or ())
    report = {}
    for mode, mods in KERNEL_MODULES.items():
        entry = {'loaded': [], 'builtin': [], 'available': [], 'missing': []}
        for m in mods:
            if m in loaded:
                entry['loaded'].append(m)
            elif m in builtin:
                entry['builtin'].append(m)
            elif available is not None and m in available:
                entry['available'].append(m)
            elif available is not None:
                entry['missing'].append(m)
        report[mode] = entry
    return report


_VERSION_RE = re.compile(r'v?(\d+\.\d+(?:\.\d+)?)')


def parse_tool_version(text):
    """'nftables v1.0.6 (Lester Gooch #5)', 'iptables v1.8.9 (nf_tables)', 'ipset v7.17, ...',
    'ipvsadm v1.31 2019/12/24 ...' -> '1.0.6' etc., or None."""
    m = _VERSION_RE.search(text or '')
    return m.group(1) if m else None


def iptables_version_backend(text):
    """`iptables --version` -> 'nft', 'legacy' or None."""
    if '(nf_tables)' in (text or ''):
        return 'nft'
    if '(legacy)' in (text or ''):
        return 'legacy'
    return None


# ---------------------------------------------------------------------------------------------
# modes
# ---------------------------------------------------------------------------------------------
def detect_modes(iptables_summaries, ipvs_present, nft_kube_tables):
    """Sorted list of the modes whose state is on the node.

    iptables: iptables-only chains in any backend/family, or shared chains with no ipvs state.
    ipvs: kube-ipvs0, kube-proxy IPVS services, kube-proxy ipsets or ipvs-only chains.
    nftables: the ip/ip6 kube-proxy tables.
    """
    ipt_only = any(s['iptables_chains'] for s in iptables_summaries)
    ipvs_chains = any(s['ipvs_chains'] for s in iptables_summaries)
    shared = any(s['shared_chains'] for s in iptables_summaries)
    modes = set()
    ipvs = bool(ipvs_present or ipvs_chains)
    if ipvs:
        modes.add('ipvs')
    if ipt_only or (shared and not ipvs):
        modes.add('iptables')
    if nft_kube_tables:
        modes.add('nftables')
    return sorted(modes)
