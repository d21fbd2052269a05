"""VerifyAuditSync On, and children killed while their requests wait for
the sync: made to happen for certain, not by chance. strace holds every
fdatasync() at its entry, so each request's line is written and its
answer waits; the test kills every child (SIGKILL). Those lines' answers
never left, and a later line must say so: an "unconfirmed" line naming
the dead process and the seq of each such line, written by the next
chain step after the parent has reaped the child, or by the parent
itself when the server stops first."""

import glob
import os
import re
import signal
import subprocess
import threading
import time

import pytest

import harness
from harness import fields_for

pytestmark = pytest.mark.skipif(
    not harness.IS_ROOT, reason="ptrace of www-data children needs root "
    "(CI runs as root)")

IN_FLIGHT = 3       # fewer than the children (prefork) / threads (event)


def wait_attached(pids, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        traced = 0
        for pid in pids:
            try:
                with open("/proc/%d/status" % pid) as f:
                    st = f.read()
            except OSError:
                traced += 1
                continue
            m = re.search(r"^TracerPid:\s+(\d+)", st, re.M)
            traced += bool(m and m.group(1) != "0")
        if traced == len(pids):
            return
        time.sleep(0.05)
    raise AssertionError("strace did not attach to %s" % (pids,))


def kill_in_sync(s, people):
    """Send IN_FLIGHT requests whose syncs strace holds, wait until
    their lines are in the file, kill every child. Returns the killed
    children's pids and the request ids that were answered anyway (none
    expected)."""
    kids = s.child_pids()
    assert kids
    tracer = subprocess.Popen(
        ["strace", "-qq", "-f", "-o", "/dev/null", "-e", "trace=fdatasync",
         "-e", "inject=fdatasync:delay_enter=8000000"]
        + [a for k in kids for a in ("-p", str(k))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    answered = []
    threads = []
    written = []
    try:
        wait_attached(kids)

        def ask(i):
            try:
                r = s.post(fields_for(people[i % len(people)],
                                      case="KILLED-%d" % i))
                if r.status == 200:
                    answered.append(r.json["request_id"])
            except OSError:
                pass            # the connection dies with the child

        threads = [threading.Thread(target=ask, args=(i,))
                   for i in range(IN_FLIGHT)]
        for t in threads:
            t.start()
        deadline = time.time() + 30
        while time.time() < deadline:
            written = [l for l in harness.read_audit(s.audit)
                       if str(l.get("case", "")).startswith("KILLED")]
            if len(written) == IN_FLIGHT:
                break
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        # the children go first: strace cannot always detach from a
        # thread it holds in an injected delay
        for k in s.child_pids():
            os.kill(k, signal.SIGKILL)
        tracer.terminate()
        try:
            tracer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            tracer.kill()
            tracer.wait(timeout=10)
    for t in threads:
        t.join(timeout=20)
    assert len(written) == IN_FLIGHT, written
    return kids, answered


def wait_reaped(pids, timeout=15.0):
    """Until the parent has reaped every one of @pids (a zombie still
    has its /proc entry)."""
    deadline = time.time() + timeout
    while any(os.path.exists("/proc/%d" % p) for p in pids):
        assert time.time() < deadline, "children not reaped"
        time.sleep(0.05)


def check_marked(s, kids, answered):
    lines = harness.read_audit(s.audit)
    assert not harness.chain_problems(lines), harness.chain_problems(lines)
    killed = {l["seq"]: l for l in lines
              if str(l.get("case", "")).startswith("KILLED")
              and l["request_id"] not in answered}
    assert killed and len(killed) + len(answered) == IN_FLIGHT
    marks = [l for l in lines if l.get("op") == "unconfirmed"]
    assert marks, "no line marks the answers that never left"
    named = [q for m in marks for q in m["seqs"]]
    assert sorted(named) == sorted(killed), (named, sorted(killed))
    for m in marks:
        assert m["pid"] in kids
        assert all(q < m["seq"] for q in m["seqs"])
        assert killed[m["seqs"][0]]["status"] == 200  # results, never sent
        assert "may not have reached the client" in m["detail"]
    res = harness.run_audit_tool("verify", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "(with recovery notes above)" in res.stdout
    for m in marks:
        assert re.search(r": note: seq %d: process %d ended before the "
                         r"answers of seq %s had left it" %
                         (m["seq"], m["pid"],
                          re.escape(", ".join(map(str, m["seqs"])))),
                         res.stdout), res.stdout
    return marks


def make(make_server, mpm):
    s = make_server(mpm=mpm, extra_conf="VerifyAuditSync On\n")
    # the parent notes each killed child at notice level
    s.expect_log(r"AH00052: child pid \d+ exit signal Killed",
                 r"\[verify:warn\].*VFY92: process \d+ ended with \d+ "
                 r"answer\(s\) in flight")
    gen = harness.People()
    people = gen.batch(4)
    s.import_household(people)
    s.start()
    assert s.post(fields_for(people[0], case="BEFORE")).status == 200
    return s, people


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_killed_waiting_for_sync_marked_by_next_line(make_server, mpm):
    s, people = make(make_server, mpm)
    kids, answered = kill_in_sync(s, people)
    # the parent reaps the children and starts new ones; the next
    # chain step writes the mark before its own line
    wait_reaped(kids)
    s.wait_answering()
    r = s.post(fields_for(people[1], case="AFTER"))
    assert r.status == 200, r
    marks = check_marked(s, kids, answered)
    after = [l for l in harness.read_audit(s.audit)
             if l.get("case") == "AFTER"]
    assert marks[0]["seq"] < after[-1]["seq"]
    # an answered request is not marked, and nothing is marked twice
    r = s.post(fields_for(people[2], case="LAST"))
    assert r.status == 200
    assert len([l for l in harness.read_audit(s.audit)
                if l.get("op") == "unconfirmed"]) == len(marks)


def test_killed_waiting_for_sync_marked_at_stop(make_server):
    """No request after the kill: the parent writes the mark as the
    server stops, before the chain head is gone."""
    s, people = make(make_server, "prefork")
    kids, answered = kill_in_sync(s, people)
    wait_reaped(kids)
    s.stop()
    check_marked(s, kids, answered)
