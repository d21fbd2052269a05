"""More than one node with existing software (issue 11, item 4): three
httpd nodes, each with its own VerifyNodeId, audit log, checkpoint key and
checkpoint directory, behind Debian's HAProxy in TCP mode (TLS, where
used, passes through to the nodes, which check client certificates
themselves), which checks each node at the health endpoint (`option httpchk GET /health`). A batch imported once is shipped
to every node's store as the published snapshot (scripts/ship-snapshot.sh)
and each node switches atomically; killing one node (all its processes,
by pid) under load fails no request beyond those in flight. Each node's
log carries its node id in every line and verifies, against its own
checkpoints, with `verify-audit verify`. docs/scaling.md."""

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

import harness
from harness.client import encode_body
from harness.env import CLEAN_ENV
from harness.server import free_port, wait_port
from harness.tools import import_people, verifier_key

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIP = os.path.join(ROOT, "scripts", "ship-snapshot.sh")
NODES = ("node-a", "node-b", "node-c")
# HAProxy connects to the nodes from this address: the nodes' register
# names it (mod_verify checks the TCP peer, never an address a proxy
# says; docs/scaling.md), and the client certificate, in TLS passed
# through, still names the client.
LB_SOURCE = "127.0.0.2"
LB_CLIENTS = [
    "testsys ip=%s checks=resident,indigenous,identity "
    "approval=APP-2026-001 valid=2020-01-01..2099-12-31" % LB_SOURCE,
]

NODE_CONF = """
VerifyNodeId %(node)s
<Location /health>
    SetHandler verify-health
    Require ip 127.0.0.0/8
</Location>
"""

HAPROXY_CONF = """
global
    maxconn 512
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # a refused connection (a node just killed, not yet marked down) is
    # tried again, on another node: nothing was sent to the dead one
    retries 3
    option redispatch 1
frontend verify
    bind 127.0.0.1:%(port)d
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server check inter 200ms fall 2 rise 2 source %(source)s
%(servers)s
"""


def proxy_post(port, fields, source=None, timeout=30):
    body, ctype = encode_body(fields, "form")
    return harness.request(port, "POST", "/verify", body=body,
                           headers={"Content-Type": ctype},
                           source_address=(source, 0) if source else None,
                           timeout=timeout)


def ship(staging, nodes):
    res = subprocess.run(["sh", SHIP, staging] + [s.store for s in nodes],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    return os.readlink(os.path.join(staging, "current"))


class HAProxy:
    def __init__(self, nodes):
        self.dir = tempfile.mkdtemp(prefix="mod_verify-lb-")
        self.port = free_port()
        servers = "\n".join("    server %s 127.0.0.1:%d" % (s.node, s.port)
                            for s in nodes)
        self.conf = os.path.join(self.dir, "haproxy.cfg")
        with open(self.conf, "w") as f:
            f.write(HAPROXY_CONF % {"port": self.port, "source": LB_SOURCE,
                                    "servers": servers})
        self.log = open(os.path.join(self.dir, "haproxy.out"), "wb")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.conf],
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=CLEAN_ENV,
                                     start_new_session=True)
        assert wait_port(self.port, 10, self.proc), self.output()

    def output(self):
        self.log.flush()
        return open(os.path.join(self.dir, "haproxy.out"),
                    errors="replace").read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster(make_server):
    """Three nodes sharing the pseudonym key and a staging store where
    verify-import runs; HAProxy in front."""
    work = tempfile.mkdtemp(prefix="mod_verify-cluster-")
    os.chmod(work, 0o755)
    key = harness.make_key_file(os.path.join(work, "pseudonym.key"))
    staging = harness.Server.make_store_dir(os.path.join(work, "staging"))
    gen = harness.People("test_985")
    c = type("Cluster", (), {})()
    c.key, c.staging, c.gen = key, staging, gen
    c.old = gen.batch(4)
    import_people(staging, key, c.old)
    c.nodes = []
    for node in NODES:
        s = make_server(key=key, checkpoints=True, clients=LB_CLIENTS,
                        extra_conf=NODE_CONF % {"node": node})
        s.node = node
        # the default origin with a node id: SERVERNAME/verify-audit/NODE
        s.origin = "127.0.0.1/verify-audit/" + node
        s.verifier = verifier_key(s.checkpoint_key, s.origin)
        c.nodes.append(s)
    c.snap = ship(staging, c.nodes)
    for s in c.nodes:
        s.start()
    c.lb = HAProxy(c.nodes)
    wait_all_up(c)
    yield c
    c.lb.stop()
    shutil.rmtree(work, ignore_errors=True)


def wait_all_up(c, timeout=20):
    """HAProxy answers: three health checks in a row through it pass (a
    server starts in rotation; one failing its checks would leave it)."""
    good, end = 0, time.time() + timeout
    while good < len(c.nodes) and time.time() < end:
        try:
            r = harness.request(c.lb.port, "GET", "/health", timeout=5)
            good = good + 1 if r.status == 200 else 0
        except OSError:
            good = 0
        time.sleep(0.1)
    assert good >= len(c.nodes), c.lb.output()


def node_lines(s):
    return [ln for ln in s.audit_lines() if ln.get("request_id")]


def test_nodes_behind_haproxy(cluster):
    c = cluster
    # round robin: six queries reach all three nodes
    for i in range(6):
        r = proxy_post(c.lb.port, harness.fields_for(c.old[i % 4]))
        assert r.status == 200 and r.json["results"] == {"resident": True}, r
    for s in c.nodes:
        lines = s.audit_lines()
        assert lines, s.node
        # every line of a node's log, query or service, names the node
        assert all(ln.get("node") == s.node for ln in lines), s.node
        queries = [ln for ln in lines if ln.get("request_id")]
        assert queries, "%s answered nothing" % s.node
        assert all(ln.get("client") == "testsys" for ln in queries)
    for s in c.nodes:
        s.stop()
        res = harness.run_audit_tool("verify", "--verifier", s.verifier,
                                     s.audit)
        assert res.returncode == 0, res.stdout + res.stderr
        # another node's key does not verify this node's checkpoints
        other = next(o for o in c.nodes if o is not s)
        res = harness.run_audit_tool("verify", "--verifier", other.verifier,
                                     s.audit)
        assert res.returncode != 0, res.stdout
    # the nodes' logs are separate chains: read as one log, they break
    res = harness.run_audit_tool("verify", *[s.audit for s in c.nodes])
    assert res.returncode == 1, res.stdout + res.stderr


def test_ship_switches_atomically(cluster):
    """While a load client queries a person only in the old batch and one
    only in the new, the new batch is imported once and shipped to every
    node: each answer is wholly from one batch (the old person found and
    the new not, or the reverse); on each node, by its own audit order,
    no answer from the old batch follows one from the new; afterwards
    every node holds and answers from the importer's snapshot."""
    c = cluster
    new = c.gen.batch(4)
    people = (c.old[0], new[0])
    stop = threading.Event()
    answers, errors = {}, []

    def load():
        i = 0
        while not stop.is_set():
            who = i % 2
            i += 1
            try:
                r = proxy_post(c.lb.port, harness.fields_for(people[who]))
                assert r.status == 200, r
                # batch of this answer: 0 old, 1 new
                found = r.json["results"]["resident"]
                answers[r.json["request_id"]] = who if found else 1 - who
            except Exception as e:          # counted, not retried
                errors.append(repr(e))

    t = threading.Thread(target=load)
    t.start()
    try:
        time.sleep(1.5)
        import_people(c.staging, c.key, new)
        snap = ship(c.staging, c.nodes)
        time.sleep(1.5)
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors[:3]
    assert snap != c.snap
    assert set(answers.values()) == {0, 1}, answers
    for s in c.nodes:
        order = [answers[ln["request_id"]] for ln in node_lines(s)
                 if ln["request_id"] in answers]
        assert order and order == sorted(order), (s.node, order)
        assert order[-1] == 1, (s.node, order)
        assert os.readlink(os.path.join(s.store, "current")) == snap
        h = harness.request(s.port, "GET", "/health")
        assert h.status == 200 and h.json["store"]["snapshot"] == snap, h
        # the shipped store is the importer's, byte for byte
        with open(os.path.join(s.store, snap, "data.mdb"), "rb") as f1, \
                open(os.path.join(c.staging, snap, "data.mdb"), "rb") as f2:
            assert f1.read() == f2.read()
        assert not [n for n in os.listdir(s.store) if n.startswith(".ship")]
    print("cluster ship: %d answers, %d from the old batch, %d from the new"
          % (len(answers), list(answers.values()).count(0),
             list(answers.values()).count(1)))


def kill_node(s):
    """Every process of node @s, by pid: the parent and its children."""
    pids = [s.parent_pid()] + s.child_pids()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    s.proc.wait(10)
    s.stopped = True
    return pids


def test_kill_one_node_under_load(cluster):
    """Four load clients, one request in flight each, no retries: node b
    is killed by pid; at most one failure per client (its request in
    flight), none after HAProxy's check marks b down, and the two others
    answer everything."""
    c = cluster
    clients = 4
    stop = threading.Event()
    ok, failed, after = [0] * clients, [0] * clients, [0] * clients
    killed_at = []

    def load(i):
        while not stop.is_set():
            t0 = time.time()
            try:
                r = proxy_post(c.lb.port, harness.fields_for(c.old[i]),
                               timeout=10)
                good = r.status == 200
            except (OSError, Exception):
                good = False
            if good:
                ok[i] += 1
            else:
                failed[i] += 1
                if killed_at and t0 > killed_at[0] + 2:
                    after[i] += 1

    threads = [threading.Thread(target=load, args=(i,))
               for i in range(clients)]
    for t in threads:
        t.start()
    try:
        time.sleep(2)
        before = sum(ok)
        victim = c.nodes[1]
        kill_node(victim)
        killed_at.append(time.time())
        time.sleep(4)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    total = sum(ok) + sum(failed)
    print("cluster kill: %d requests, %d failed (in flight), %d before the "
          "kill" % (total, sum(failed), before))
    assert before > 0 and sum(ok) > before
    assert all(f <= 1 for f in failed), failed      # only those in flight
    assert sum(after) == 0, after
    # the survivors' logs verify
    for s in c.nodes:
        if s is victim:
            continue
        assert node_lines(s)
        s.stop()
        res = harness.run_audit_tool("verify", "--verifier", s.verifier,
                                     s.audit)
        assert res.returncode == 0, res.stdout + res.stderr


def refuses(s, line, message):
    """`apache2 -t` refuses the configuration at the line that is exactly
    @line, with @message."""
    res = s.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, "accepted: " + line
    lineno = open(s.conf).read().splitlines().index(line) + 1
    assert "Syntax error on line %d of %s" % (lineno, s.conf) in out, out
    assert message in out, out


@pytest.mark.parametrize("line,message", [
    ("VerifyNodeId", "VerifyNodeId takes one argument"),
    ("VerifyNodeId node a", "VerifyNodeId takes one argument"),
    ("VerifyNodeId -a", "VerifyNodeId: a name of 1 to 32"),
    ("VerifyNodeId node/a", "VerifyNodeId: a name of 1 to 32"),
    ('VerifyNodeId "node\\"a"', "VerifyNodeId: a name of 1 to 32"),
    ("VerifyNodeId " + "n" * 33, "VerifyNodeId: a name of 1 to 32"),
])
def test_node_id_syntax(make_server, line, message):
    refuses(make_server(extra_conf=line), line, message)


def test_node_id_twice_and_in_a_location(make_server):
    s = make_server(extra_conf="VerifyNodeId node-a\nVerifyNodeId node-b")
    refuses(s, "VerifyNodeId node-b", "VerifyNodeId given twice")
    s = make_server(extra_conf="<Location /x>\nVerifyNodeId node-a\n"
                    "</Location>")
    refuses(s, "VerifyNodeId node-a", "not allowed in <Location>")
    s = make_server(extra_conf="VerifyNodeId node-a")
    res = s.configtest()
    assert res.returncode == 0, res.stdout + res.stderr


def test_ship_refuses_bad_input(tmp_path):
    """A source without a published snapshot, or a node directory that
    does not exist: an error, and no node is touched."""
    src, node = tmp_path / "src", tmp_path / "node"
    src.mkdir()
    node.mkdir()
    res = subprocess.run(["sh", SHIP, str(src), str(node)],
                         capture_output=True, text=True)
    assert res.returncode == 1 and "no published snapshot" in res.stderr
    (src / "snap-x").mkdir()
    (src / "snap-x" / "data.mdb").write_bytes(b"x")
    os.symlink("../etc", src / "current")
    res = subprocess.run(["sh", SHIP, str(src), str(node)],
                         capture_output=True, text=True)
    assert res.returncode == 1 and "not a snapshot name" in res.stderr
    os.unlink(src / "current")
    os.symlink("snap-x", src / "current")
    res = subprocess.run(["sh", SHIP, str(src), str(node),
                          str(tmp_path / "missing")],
                         capture_output=True, text=True)
    assert res.returncode == 1 and "no such store directory" in res.stderr
    assert os.listdir(node) == []
    res = subprocess.run(["sh", SHIP, str(src), str(node)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert os.readlink(node / "current") == "snap-x"
    assert (node / "snap-x" / "data.mdb").read_bytes() == b"x"


def test_node_id_added_and_removed_by_restart(make_server):
    """A log with lines before VerifyNodeId, with it, and after it was
    removed (graceful restarts): the lines carry node exactly while the
    directive is set, and verify-audit verify, report and sample read
    the one chain, the checkpoints of both origins checked."""
    s = make_server(checkpoints=True)
    gen = harness.People("test_985b")
    people = gen.batch(2)
    s.import_household(people)
    s.start()
    plain_origin = s.origin

    def ask():
        r = s.post(harness.fields_for(people[0]))
        assert r.status == 200, r
        return r.json["request_id"]

    before = ask()
    s.extra_conf = "VerifyNodeId node-x"
    s.write_conf()
    s.graceful()
    during = ask()
    s.extra_conf = ""
    s.write_conf()
    s.graceful()
    after = ask()
    time.sleep(2.5)     # a checkpoint (interval 1 s) covers the last line
    s.stop()
    by_id = {ln.get("request_id"): ln for ln in s.audit_lines()}
    assert by_id[before].get("node") is None
    assert by_id[after].get("node") is None
    assert by_id[during]["node"] == "node-x"
    cps = [ln for ln in s.audit_lines() if ln.get("op") == "checkpoint"]
    origins = {ln.get("origin") for ln in cps}
    assert origins == {plain_origin, plain_origin + "/node-x"}, origins
    keys = [verifier_key(s.checkpoint_key, o) for o in sorted(origins)]
    vargs = [x for k in keys for x in ("--verifier", k)]
    res = harness.run_audit_tool("verify", *vargs, s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    month = by_id[during]["ts"][:7]
    for cmd in (["report", "--month", month],
                ["sample", "--month", month, "--preview"] + vargs):
        res = harness.run_audit_tool(*cmd, s.audit)
        assert res.returncode == 0, res.stdout + res.stderr
        assert during in res.stdout, (cmd, res.stdout)
