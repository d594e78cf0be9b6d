# Copyright (c) kube_proxy.mode contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster stand-in (tests/standin/standin.py) on the host kernel.

The apiserver runs on 127.0.0.1 and a unix socket; the stand-in kubectl talks to it like the
collection does (`kubectl --kubeconfig FILE ...`); each node agent runs in its own network namespace
and programs real kernel state there. ip_vs is not available on the host: ipvs programming is
covered by the VM scenario; here only its start-up cleanup rules are checked.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STANDIN = os.path.join(ROOT, 'tests', 'standin', 'standin.py')
CNI_DATA = os.path.join(ROOT, 'tests', 'standin-data', 'cni')
sys.path.insert(0, os.path.dirname(STANDIN))

import standin  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root for network namespaces')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for(fn, timeout=20.0, what='condition'):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError('timed out waiting for %s (last: %r)' % (what, last))


class Cluster:
    def __init__(self, tmp, includes=(), mode='iptables'):
        self.tmp = str(tmp)
        self.procs = []
        self.netns = []
        seed = os.path.join(self.tmp, 'seed.json')
        args = [
            sys.executable,
            STANDIN,
            'seed',
            '--node',
            'n1=10.99.0.11:control-plane',
            '--node',
            'n2=10.99.0.12',
            '--mode',
            mode,
            '-o',
            seed,
        ]
        for inc in includes:
            args += ['--include', inc]
        subprocess.run(args, check=True)
        self.port = free_port()
        self.sock = os.path.join(self.tmp, 'api.sock')
        log = os.open(os.path.join(self.tmp, 'apiserver.log'), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        self.procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    STANDIN,
                    'apiserver',
                    '--seed',
                    seed,
                    '--state',
                    os.path.join(self.tmp, 'state.json'),
                    '--listen',
                    '127.0.0.1:%d' % self.port,
                    '--socket',
                    self.sock,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        os.close(log)
        self.kubeconfig = os.path.join(self.tmp, 'admin.conf')
        with open(self.kubeconfig, 'w') as f:
            f.write(
                'apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server:'
                ' http://127.0.0.1:%d\n  name: standin\n' % self.port
            )
        wait_for(
            lambda: os.path.exists(self.sock) and self.kubectl('version', '-o', 'json').returncode == 0,
            what='apiserver',
        )

    def kubectl(self, *args, stdin=None):
        return subprocess.run(
            [sys.executable, STANDIN, 'kubectl', '--kubeconfig', self.kubeconfig, *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )

    def ok(self, *args, stdin=None):
        p = self.kubectl(*args, stdin=stdin)
        assert p.returncode == 0, p.stderr
        return p.stdout

    def json(self, *args):
        return json.loads(self.ok(*args, '-o', 'json'))

    def apply(self, obj):
        return self.ok('apply', '-f', '-', stdin=json.dumps(obj))

    def agent(self, node, extra=()):
        ns = 'standin-%s' % uuid.uuid4().hex[:8]
        subprocess.run(['ip', 'netns', 'add', ns], check=True)
        self.netns.append(ns)
        subprocess.run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'], check=True)
        log = os.open(os.path.join(self.tmp, 'agent-%s.log' % node), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        self.procs.append(
            subprocess.Popen(
                [
                    'ip',
                    'netns',
                    'exec',
                    ns,
                    sys.executable,
                    STANDIN,
                    'agent',
                    '--node',
                    node,
                    '--server',
                    'unix:' + self.sock,
                    '--interval',
                    '0.3',
                    '--fail-file',
                    os.path.join(self.tmp, 'fail-' + node),
                    *extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        os.close(log)
        return Node(ns)

    def close(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        for ns in self.netns:
            subprocess.run(['ip', 'netns', 'del', ns], check=False)

    def pods(self, node, selector):
        return self.json('get', 'pods', '-A', '-l', selector, '--field-selector', 'spec.nodeName=' + node)['items']

    def set_mode(self, mode, name='kube-proxy'):
        cm = self.json('get', 'configmap', name, '-n', 'kube-system')
        text = cm['data']['config.conf']
        cm['data']['config.conf'] = (
            '\n'.join('mode: ' + mode if line.startswith('mode:') else line for line in text.splitlines()) + '\n'
        )
        self.apply(cm)


class Node:
    def __init__(self, ns):
        self.ns = ns

    def sh(self, *args, check=True):
        p = subprocess.run(['ip', 'netns', 'exec', self.ns, *args], capture_output=True, text=True, check=False)
        if check:
            assert p.returncode == 0, p.stderr
        return p

    def iptables(self, table='nat', family='iptables'):
        return self.sh('%s-nft-save' % family, '-t', table).stdout

    def nft_tables(self):
        return self.sh('nft', 'list', 'tables').stdout

    def healthz(self):
        code = (
            "import urllib.request, urllib.error\n"
            "try:\n    r = urllib.request.urlopen('http://127.0.0.1:10256/healthz', timeout=2);"
            " print(r.status, r.read().decode())\n"
            "except urllib.error.HTTPError as e:\n    print(e.code, e.read().decode())\n"
            "except OSError as e:\n    print(0, e)\n"
        )
        out = self.sh(sys.executable, '-c', code).stdout.strip()
        status, _sep, body = out.partition(' ')
        return int(status), body


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.close()


def group_objects(group, mode):
    """What the collection applies for a node group: ConfigMap + DaemonSet selecting the group label."""
    name = 'kube-proxy-' + group
    cm = {
        'apiVersion': 'v1',
        'kind': 'ConfigMap',
        'metadata': {'name': name, 'namespace': 'kube-system'},
        'data': {'config.conf': standin.kube_proxy_config_text(mode, '10.233.64.0/18')},
    }
    ds = standin.kube_proxy_daemonset(
        name, name, 'registry.k8s.io/kube-proxy:v1.33.4', {'kube-proxy.mode/group': group}
    )
    ds['metadata']['labels'] = ds['spec']['selector']['matchLabels'] = {'k8s-app': name}
    ds['spec']['template']['metadata']['labels'] = {'k8s-app': name}
    return cm, ds


# ---------------------------------------------------------------------------------------------
# kubectl and the object store
# ---------------------------------------------------------------------------------------------
def test_get_not_found_and_unsupported_calls(cluster):
    nodes = cluster.json('get', 'nodes')
    assert [n['metadata']['name'] for n in nodes['items']] == ['n1', 'n2']
    assert 'node-role.kubernetes.io/control-plane' in nodes['items'][0]['metadata']['labels']
    p = cluster.kubectl('get', 'daemonset', 'nope', '-n', 'kube-system', '-o', 'json')
    assert p.returncode == 1
    assert p.stderr.strip() == 'Error from server (NotFound): daemonsets.apps "nope" not found'
    assert cluster.kubectl('get', 'ds', 'nope', '-n', 'kube-system', '--ignore-not-found').returncode == 0
    for call in (
        ['exec', 'x', '--', 'true'],
        ['get', 'pods', '-o', 'jsonpath={.items}'],
        ['get', 'secrets'],
        ['get', 'pods', '--sort-by', 'x'],
    ):
        p = cluster.kubectl(*call)
        assert p.returncode == 1, call
        assert 'stand-in: unsupported kubectl call' in p.stderr, call
    version = cluster.json('version')
    assert version['serverVersion']['gitVersion'] == 'v1.33.4'
    # the CNI CRDs are absent unless the seed carries one of their objects
    p = cluster.kubectl('get', 'installations.operator.tigera.io', 'default', '-o', 'json')
    assert p.returncode == 1 and "doesn't have a resource type" in p.stderr


def test_group_daemonset_follows_node_label(cluster):
    cm, ds = group_objects('nft', 'nftables')
    assert 'configmap/kube-proxy-nft created' in cluster.apply(cm)
    assert 'daemonset.apps/kube-proxy-nft created' in cluster.apply(ds)
    assert 'unchanged' in cluster.apply(ds)
    assert cluster.pods('n2', 'k8s-app=kube-proxy-nft') == []
    assert cluster.ok('label', 'node', 'n2', 'kube-proxy.mode/group=nft').strip() == 'node/n2 labeled'
    pods = cluster.pods('n2', 'k8s-app=kube-proxy-nft')
    assert len(pods) == 1 and pods[0]['metadata']['name'].startswith('kube-proxy-nft-')
    assert pods[0]['metadata']['ownerReferences'][0]['kind'] == 'DaemonSet'
    status = cluster.json('get', 'ds', 'kube-proxy-nft', '-n', 'kube-system')['status']
    assert status['desiredNumberScheduled'] == 1 and status['numberReady'] == 0  # no agent runs on n2
    p = cluster.kubectl('label', 'node', 'n2', 'kube-proxy.mode/group=ipvs')
    assert p.returncode == 1 and "already has a value (nft), and --overwrite is false" in p.stderr
    cluster.ok('label', 'node', 'n2', 'kube-proxy.mode/group-')
    assert cluster.pods('n2', 'k8s-app=kube-proxy-nft') == []
    assert 'daemonset.apps "kube-proxy-nft" deleted' in cluster.ok(
        'delete', 'ds', 'kube-proxy-nft', '-n', 'kube-system'
    )
    p = cluster.kubectl('delete', 'ds', 'kube-proxy-nft', '-n', 'kube-system')
    assert p.returncode == 1 and 'NotFound' in p.stderr
    assert cluster.kubectl('delete', 'ds', 'kube-proxy-nft', '-n', 'kube-system', '--ignore-not-found').returncode == 0


def test_apply_rejects_what_the_apiserver_rejects(cluster):
    cm, ds = group_objects('a', 'iptables')
    bad = json.loads(json.dumps(ds))
    bad['spec']['template']['metadata']['labels'] = {'k8s-app': 'other'}
    p = cluster.kubectl('apply', '-f', '-', stdin=json.dumps(bad))
    assert p.returncode == 1 and '`selector` does not match template `labels`' in p.stderr
    cluster.apply(ds)
    moved = json.loads(json.dumps(ds))
    moved['spec']['selector']['matchLabels']['tier'] = 'x'
    moved['spec']['template']['metadata']['labels']['tier'] = 'x'
    p = cluster.kubectl('apply', '-f', '-', stdin=json.dumps(moved))
    assert p.returncode == 1 and 'field is immutable' in p.stderr
    cm['data']['x'] = 1
    p = cluster.kubectl('apply', '-f', '-', stdin=json.dumps(cm))
    assert p.returncode == 1 and 'must be a string' in p.stderr
    cm['metadata']['namespace'] = 'nowhere'
    cm['data'] = {}
    p = cluster.kubectl('apply', '-f', '-', stdin=json.dumps(cm))
    assert p.returncode == 1 and 'namespaces "nowhere" not found' in p.stderr


def test_cordon_drain_uncordon(cluster):
    before = [p for p in cluster.json('get', 'pods', '-A')['items'] if p['spec']['nodeName'] == 'n2']
    movable = [p for p in before if p['metadata']['ownerReferences'][0]['kind'] == 'ReplicaSet']
    assert movable, 'the seed puts demo pods on the worker'
    p = cluster.kubectl('drain', 'n2', '--delete-emptydir-data', '--timeout', '30s')
    assert p.returncode == 1 and 'cannot delete DaemonSet-managed Pods' in p.stderr
    out = cluster.ok(
        'drain', 'n2', '--ignore-daemonsets', '--delete-emptydir-data', '--grace-period', '5', '--timeout', '30s'
    )
    assert 'node/n2 drained' in out
    node = cluster.json('get', 'node', 'n2')
    assert node['spec']['unschedulable'] is True
    after = cluster.json('get', 'pods', '-A', '--field-selector', 'spec.nodeName=n2')['items']
    assert all(p['metadata']['ownerReferences'][0]['kind'] == 'DaemonSet' for p in after)
    # evicted ReplicaSet pods come back elsewhere, so the Services keep endpoints
    web = cluster.json('get', 'pods', '-n', 'default', '-l', 'app=demo-web')['items']
    assert len(web) == 2 and all(p['spec']['nodeName'] == 'n1' for p in web)
    assert cluster.ok('cordon', 'n2').strip() == 'node/n2 already cordoned'
    assert cluster.ok('uncordon', 'n2').strip() == 'node/n2 uncordoned'
    assert 'unschedulable' not in cluster.json('get', 'node', 'n2')['spec']


def test_patch_and_annotate(cluster):
    out = cluster.ok(
        'patch',
        'ds',
        'kube-proxy',
        '-n',
        'kube-system',
        '--type',
        'merge',
        '-p',
        json.dumps({'spec': {'template': {'spec': {'nodeSelector': {'kubernetes.io/os': 'linux', 'x': 'y'}}}}}),
    )
    assert 'daemonset.apps/kube-proxy patched' in out
    assert cluster.json('get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-proxy')['items'] == []
    assert 'annotated' in cluster.ok('annotate', 'node', 'n1', 'a.b/c=d')
    assert cluster.json('get', 'node', 'n1')['metadata']['annotations']['a.b/c'] == 'd'


def test_cni_seed_answers_detection_calls(tmp_path):
    if not os.path.isdir(os.path.join(CNI_DATA, 'calico-operator-nftables')):
        pytest.fail('tests/standin-data/cni/calico-operator-nftables is missing')
    c = Cluster(tmp_path, includes=[os.path.join(CNI_DATA, 'calico-operator-nftables')])
    try:
        inst = c.json('get', 'installations.operator.tigera.io', 'default')
        assert inst['spec']['calicoNetwork']['linuxDataplane'] == 'Nftables'
        names = [d['metadata']['name'] for d in c.json('get', 'daemonsets', '-A')['items']]
        assert 'calico-node' in names and 'kube-proxy' in names
        calico = c.json('get', 'pods', '-n', 'calico-system')['items']
        assert len(calico) == 2  # one per node (tolerates the control-plane taint like upstream)
        cms = c.json('get', 'configmaps', '-A', '--field-selector', 'metadata.name=cilium-config')
        assert cms['items'] == []
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# node agent: real kernel state in network namespaces
# ---------------------------------------------------------------------------------------------
def test_agent_programs_mode_and_does_kube_proxy_startup_cleanup(cluster):
    node = cluster.agent('n2')
    wait_for(lambda: node.healthz()[0] == 200, what='healthz 200')
    status, body = node.healthz()
    assert json.loads(body)['nodeName'] == 'n2'
    nat = node.iptables('nat')
    for chain in ('KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'):
        assert ':%s ' % chain in nat
    assert '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' in nat
    assert '--comment "default/kubernetes:https cluster IP"' in nat and ':KUBE-SVC-' in nat and ':KUBE-SEP-' in nat
    assert ':KUBE-FORWARD ' in node.iptables('filter')

    def pod_ready():
        kp = cluster.pods('n2', 'k8s-app=kube-proxy')[0]
        return [c['status'] for c in kp['status']['conditions'] if c['type'] == 'Ready'] == ['True']

    # the agent reports its health to the apiserver after /healthz turns 200: the pod follows
    wait_for(pod_ready, what='kube-proxy pod on n2 Ready')
    assert 'kube-proxy' not in node.nft_tables()

    cluster.set_mode('nftables')  # kube-proxy restarts on a config change; nftables start cleans iptables
    wait_for(lambda: 'table ip kube-proxy' in node.nft_tables(), what='nft table')
    wait_for(lambda: 'KUBE-SERVICES' not in node.iptables('nat'), what='iptables chains gone')
    ruleset = node.sh('nft', 'list', 'table', 'ip', 'kube-proxy').stdout
    assert 'map service-ips' in ruleset and 'chain services' in ruleset and 'default/demo-web/tcp/http' in ruleset
    assert 'KUBE-PROXY-FIREWALL' not in node.iptables('filter')
    wait_for(lambda: node.healthz()[0] == 200, what='healthy again')

    cluster.set_mode('iptables')  # iptables start removes the nftables tables
    wait_for(lambda: 'kube-proxy' not in node.nft_tables(), what='nft table gone')
    wait_for(lambda: ':KUBE-SERVICES ' in node.iptables('nat'), what='iptables chains back')
    rollout = cluster.kubectl('rollout', 'status', 'ds/kube-proxy', '-n', 'kube-system', '--timeout', '2s')
    assert rollout.returncode == 1 and 'timed out' in rollout.stderr  # n1 has no agent


def test_rollout_status_follows_agent_health_and_fault_flag(cluster):
    cm, ds = group_objects('g1', 'iptables')
    cluster.apply(cm)
    cluster.apply(ds)
    cluster.ok('label', 'node', 'n2', 'kube-proxy.mode/group=g1')
    p = cluster.kubectl('rollout', 'status', 'daemonset/kube-proxy-g1', '-n', 'kube-system', '--timeout', '1s')
    assert p.returncode == 1 and 'error: timed out waiting for the condition' in p.stderr
    node = cluster.agent('n2')
    # n2 is also selected by the kubeadm DaemonSet (it has no group exclusion here): the agent follows the first
    # kube-proxy DaemonSet selecting it; take the kubeadm one off n2 like the collection does
    cluster.ok(
        'patch',
        'ds',
        'kube-proxy',
        '-n',
        'kube-system',
        '--type',
        'merge',
        '-p',
        json.dumps(
            {
                'spec': {
                    'template': {
                        'spec': {
                            'affinity': {
                                'nodeAffinity': {
                                    'requiredDuringSchedulingIgnoredDuringExecution': {
                                        'nodeSelectorTerms': [
                                            {
                                                'matchExpressions': [
                                                    {'key': 'kube-proxy.mode/group', 'operator': 'DoesNotExist'}
                                                ]
                                            }
                                        ]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        ),
    )
    out = cluster.ok('rollout', 'status', 'ds/kube-proxy-g1', '-n', 'kube-system', '--timeout', '20s')
    assert 'daemon set "kube-proxy-g1" successfully rolled out' in out
    assert node.healthz()[0] == 200

    cluster.ok('annotate', 'node', 'n2', standin.FAIL_ANNOTATION + '=true')
    wait_for(lambda: node.healthz()[0] == 503, what='healthz 503')
    wait_for(
        lambda: cluster.json('get', 'ds', 'kube-proxy-g1', '-n', 'kube-system')['status']['numberReady'] == 0,
        what='pod not ready',
    )
    assert ':KUBE-SERVICES ' in node.iptables('nat'), '"true" keeps programming rules, only health fails'
    cluster.ok('rollout', 'restart', 'ds/kube-proxy-g1', '-n', 'kube-system')
    p = cluster.kubectl('rollout', 'status', 'ds/kube-proxy-g1', '-n', 'kube-system', '--timeout', '3s')
    assert p.returncode == 1
    cluster.ok('annotate', 'node', 'n2', standin.FAIL_ANNOTATION + '-')
    cluster.ok('rollout', 'status', 'ds/kube-proxy-g1', '-n', 'kube-system', '--timeout', '20s')

    # crash: kube-proxy exits at start, so neither cleanup nor programming happens
    cluster.ok('annotate', 'node', 'n2', standin.FAIL_ANNOTATION + '=crash')
    cluster.set_mode('nftables', 'kube-proxy-g1')
    wait_for(
        lambda: cluster.pods('n2', 'k8s-app=kube-proxy-g1')[0]['status']['containerStatuses'][0]['state'].get(
            'waiting'
        ),
        what='CrashLoopBackOff',
    )
    assert node.healthz()[0] == 503
    assert ':KUBE-SERVICES ' in node.iptables('nat') and 'kube-proxy' not in node.nft_tables()

    # a node no kube-proxy DaemonSet selects: agent idle, rules stay
    cluster.ok('annotate', 'node', 'n2', standin.FAIL_ANNOTATION + '-')
    cluster.ok('label', 'node', 'n2', 'kube-proxy.mode/group=none', '--overwrite')
    wait_for(lambda: not cluster.pods('n2', 'k8s-app in (kube-proxy, kube-proxy-g1)'), what='no kube-proxy pod')
    wait_for(lambda: node.healthz()[0] == 503, what='idle 503')
    assert ':KUBE-SERVICES ' in node.iptables('nat')


def test_agent_fault_file(cluster):
    open(os.path.join(cluster.tmp, 'fail-n2'), 'w').close()
    node = cluster.agent('n2')
    wait_for(lambda: ':KUBE-SERVICES ' in node.iptables('nat'), what='rules')
    time.sleep(1)
    assert node.healthz()[0] == 503
    assert cluster.pods('n2', 'k8s-app=kube-proxy')[0]['status']['conditions'][1]['status'] == 'False'
    os.unlink(os.path.join(cluster.tmp, 'fail-n2'))
    wait_for(lambda: node.healthz()[0] == 200, what='healthy once the file is gone')


def run_in_ns(ns, code):
    p = subprocess.run(
        [
            'ip',
            'netns',
            'exec',
            ns,
            sys.executable,
            '-c',
            'import sys; sys.path.insert(0, %r); import standin as s\n' % os.path.dirname(STANDIN) + code,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture
def netns():
    ns = 'standin-%s' % uuid.uuid4().hex[:8]
    subprocess.run(['ip', 'netns', 'add', ns], check=True)
    yield Node(ns)
    subprocess.run(['ip', 'netns', 'del', ns], check=False)


PORTS = (
    "[{'ns': 'default', 'name': 'web', 'portName': 'http', 'spn': 'default/web:http', 'proto': 'tcp', "
    "'clusterIP': '10.233.0.50', 'port': 80, 'nodePort': 30080, 'targetPort': 8080, 'endpoints': ['10.233.65.9']}]"
)


def test_ipvs_start_leaves_iptables_mode_state(netns):
    """iptables -> ipvs: kube-proxy cleans nothing of iptables mode (KEP-2448), only nftables tables."""
    run_in_ns(
        netns.ns,
        "c = s.Cmd(); s.Iptables(c, 'nft').program('iptables',"
        " s.render_iptables(%s, '10.233.64.0/18'))\n"
        "c(['nft', '-f', '-'], data=s.render_nftables(%s, None, None))" % (PORTS, PORTS),
    )
    before = netns.iptables('nat')
    assert ':KUBE-SVC-' in before and 'table ip kube-proxy' in netns.nft_tables()

    removed = run_in_ns(
        netns.ns,
        "a = s.Agent.__new__(s.Agent); a.cmd = s.Cmd()\n"
        "class A: ipv6 = True\n"
        "a.args = A(); print(a.startup_cleanup('ipvs', s.Iptables(a.cmd,"
        " 'nft')))",
    )
    assert removed.strip() == "['nft:ip kube-proxy']"
    rules = [ln for ln in netns.iptables('nat').splitlines() if not ln.startswith('#')]
    assert rules == [ln for ln in before.splitlines() if not ln.startswith('#')]
    assert 'kube-proxy' not in netns.nft_tables()


def test_nftables_start_removes_ipvs_and_iptables_state(netns):
    run_in_ns(
        netns.ns,
        "c = s.Cmd(); c(['ipset', 'restore'], data=s.render_ipsets(%s, []))\n"
        "s.Iptables(c, 'nft').program('ipvs',"
        " s.render_ipvs_iptables('10.233.64.0/18'))" % PORTS,
    )
    assert 'KUBE-CLUSTER-IP' in netns.sh('ipset', 'list', '-n').stdout
    netns.sh('iptables-nft', '-t', 'filter', '-N', 'cali-FORWARD')  # not kube-proxy's: must stay
    netns.sh('iptables-nft', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT')  # kubelet's: must stay
    run_in_ns(
        netns.ns,
        "a = s.Agent.__new__(s.Agent); a.cmd = s.Cmd()\n"
        "class A: ipv6 = True\n"
        "a.args = A(); a.startup_cleanup('nftables', s.Iptables(a.cmd, 'nft'))",
    )
    assert netns.sh('ipset', 'list', '-n').stdout.split() == []
    assert 'KUBE-SERVICES' not in netns.iptables('nat') and 'KUBE-IPVS-FILTER' not in netns.iptables('filter')
    assert ':cali-FORWARD ' in netns.iptables('filter') and 'KUBE-IPTABLES-HINT' in netns.iptables('mangle')


def test_render_is_kube_proxy_format():
    ports = eval(PORTS)  # noqa: S307 - test constant
    nat = standin.render_iptables(ports, '10.233.64.0/18')['nat']
    assert nat[-1].endswith('-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    svc = 'KUBE-SVC-' + standin.hash_name('default/web:httptcp')
    assert any(
        r.startswith('-A KUBE-NODEPORTS -p tcp') and r.endswith('--dport 30080 -j KUBE-EXT-' + svc[9:]) for r in nat
    )
    ipset = standin.render_ipsets(ports, ['10.99.0.12'])
    assert 'add KUBE-CLUSTER-IP 10.233.0.50,tcp:80 -exist' in ipset and 'add KUBE-NODE-PORT-TCP 30080 -exist' in ipset
    # the node's own address must not be in KUBE-IPVS-IPS: KUBE-IPVS-FILTER would reject e.g. the apiserver port
    assert 'add KUBE-IPVS-IPS 10.233.0.50 -exist' in ipset and '10.99.0.12' not in ipset
    assert standin.ipvs_services(ports, ['10.99.0.12'], 'rr') == {
        '-t 10.233.0.50:80': ['10.233.65.9:8080'],
        '-t 10.99.0.12:30080': ['10.233.65.9:8080'],
    }
    assert standin.validate_start({'mode': 'nftables'}, 'registry.k8s.io/kube-proxy:v1.28.0', '6.1.0')
    assert standin.validate_start({'mode': 'nftables'}, 'registry.k8s.io/kube-proxy:v1.30.0', '6.1.0')
    assert (
        standin.validate_start(
            {'mode': 'nftables', 'featureGates': {'NFTablesProxyMode': True}},
            'registry.k8s.io/kube-proxy:v1.30.0',
            '6.1.0',
        )
        is None
    )
    assert standin.validate_start({'mode': 'nftables'}, 'registry.k8s.io/kube-proxy:v1.33.0', '5.10.0-35-amd64')
    assert standin.validate_start({'mode': ''}, 'registry.k8s.io/kube-proxy:v1.33.0', '5.10.0') is None


def test_agent_reads_config_of_rendered_group_daemonset(collections):
    """The DaemonSet the collection renders mounts config.conf through a projected volume (the group's
    ConfigMap + kubeadm's kubeconfig.conf); the node agent must read the group's config.conf from it."""
    sys.path.insert(0, collections)
    try:
        from ansible_collections.kube_proxy.mode.plugins.module_utils._proxy_config import render_group_manifests
    finally:
        sys.path.remove(collections)
    config = {'apiVersion': 'kubeproxy.config.k8s.io/v1alpha1', 'kind': 'KubeProxyConfiguration', 'mode': 'nftables'}
    cm, ds = render_group_manifests('nft', config, {'kube_version': 'v1.33.4'})
    assert 'projected' in ds['spec']['template']['spec']['volumes'][0]  # what this test is about
    store = standin.Store(None)
    kubeadm_cm = {
        'apiVersion': 'v1',
        'kind': 'ConfigMap',
        'metadata': {'name': 'kube-proxy', 'namespace': 'kube-system'},
        'data': {
            'config.conf': standin.kube_proxy_config_text('iptables', '10.233.64.0/18'),
            'kubeconfig.conf': 'apiVersion: v1\nkind: Config\n',
        },
    }
    node = {
        'apiVersion': 'v1',
        'kind': 'Node',
        'metadata': {'name': 'n2', 'labels': {'kubernetes.io/os': 'linux', 'kube-proxy.mode/group': 'nft'}},
    }
    namespace = {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'kube-system'}}
    for obj in (namespace, kubeadm_cm, node, cm, ds):
        store.put(obj)
    store.reconcile()
    view = store.node_view('n2')
    assert view['daemonset'] == 'kube-system/kube-proxy-nft'
    got = view['config']
    assert (got['configMap'], got['key'], got['path']) == (
        'kube-system/kube-proxy-nft',
        'config.conf',
        '/var/lib/kube-proxy/config.conf',
    )
    assert got['text'] == cm['data']['config.conf']
    assert standin.parse_proxy_config(got['text'])['mode'] == 'nftables'
    # kubelet layout of a projected volume: a source without items projects every key at its own name
    vol = {'projected': {'sources': [{'configMap': {'name': 'kube-proxy-nft'}}, {'configMap': {'name': 'kube-proxy'}}]}}
    assert store.volume_configmap_file('kube-system', vol, 'kubeconfig.conf') == ('kube-proxy', 'kubeconfig.conf')
    assert store.volume_configmap_file('kube-system', vol, 'config.conf') == ('kube-proxy', 'config.conf')
    items = {'configMap': {'name': 'kube-proxy', 'items': [{'key': 'config.conf', 'path': 'sub/kp.yaml'}]}}
    assert store.volume_configmap_file('kube-system', items, 'sub/kp.yaml') == ('kube-proxy', 'config.conf')
    assert store.volume_configmap_file('kube-system', items, 'config.conf') is None


CONNECT = (
    "import socket\n"
    "try:\n"
    "    with socket.create_connection(('10.233.0.1', 443), timeout=2) as c:\n"
    "        print('connected', c.recv(16).decode())\n"
    "except OSError as e:\n"
    "    print('failed', e)\n"
)

LISTEN = (
    "import socket\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('10.99.0.11', 6443))\n"
    "s.listen()\n"
    "while True:\n"
    "    c = s.accept()[0]\n"
    "    c.sendall(b'apiserver')\n"
    "    c.close()\n"
)


def test_kubernetes_service_answers_from_the_control_plane_node(tmp_path):
    """What migrate's "kubernetes Service answers from the node" check does on cp1: a TCP connect from the
    node itself to the ClusterIP 10.233.0.1:443, DNATed by the mode's rules (nat OUTPUT / nat-output hook)
    to the apiserver's 10.99.0.11:6443; in iptables mode, then after the switch to nftables mode."""
    c = Cluster(tmp_path, mode='iptables')
    try:
        node = c.agent('n1')
        # the node's address on a link with a default route (the VM's NIC), the apiserver listening on it:
        # 10.233.0.1 is no local address, only the DNAT can bring the connect to the listener
        node.sh('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p')
        node.sh('ip', 'addr', 'add', '10.99.0.11/24', 'dev', 'eth0')
        node.sh('ip', 'link', 'set', 'eth0', 'up')
        node.sh('ip', 'link', 'set', 'eth0p', 'up')
        node.sh('ip', 'route', 'add', 'default', 'via', '10.99.0.1', 'dev', 'eth0', 'onlink')
        c.procs.append(subprocess.Popen(['ip', 'netns', 'exec', node.ns, sys.executable, '-c', LISTEN]))

        def connect():
            out = node.sh(sys.executable, '-c', CONNECT).stdout.strip()
            return out if out.startswith('connected') else None

        wait_for(lambda: 'default/kubernetes:https cluster IP' in node.iptables('nat'), what='iptables rules')
        assert 'kube-proxy' not in node.nft_tables()
        assert wait_for(connect, timeout=10, what='iptables mode: connect to 10.233.0.1:443') == 'connected apiserver'

        c.set_mode('nftables')
        wait_for(lambda: 'KUBE-SERVICES' not in node.iptables('nat'), what='iptables rules gone')
        wait_for(
            lambda: (
                'default/kubernetes/tcp/https'
                in node.sh('nft', 'list', 'table', 'ip', 'kube-proxy', check=False).stdout
            ),
            what='nftables rules',
        )
        assert wait_for(connect, timeout=10, what='nftables mode: connect to 10.233.0.1:443') == 'connected apiserver'
    finally:
        c.close()
