"""A child killed while it holds the audit chain step: made to happen
for certain, not by chance. strace holds every child's audit write()
at its entry (the answer goes out with writev, so only the audit line
waits), the test kills the child that is inside the chain step, and the
next request must take the lock over from the dead owner, record the
death in the chain and answer."""

import glob
import re
import os
import signal
import subprocess
import threading
import time

import pytest

import harness
from harness import fields_for


def wait_attached(pids, timeout=10.0):
    """Wait until every pid in @pids is traced (strace attached): a fixed
    sleep was not enough on a loaded machine."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        traced = 0
        for pid in pids:
            try:
                with open("/proc/%d/status" % pid) as f:
                    st = f.read()
            except OSError:
                traced += 1             # gone: nothing to wait for
                continue
            m = re.search(r"^TracerPid:\s+(\d+)", st, re.M)
            traced += bool(m and m.group(1) != "0")
        if traced == len(pids):
            return
        time.sleep(0.05)
    raise AssertionError("strace did not attach to %s" % (pids,))


@pytest.mark.skipif(not harness.IS_ROOT, reason="ptrace of www-data "
                    "children needs root (CI runs as root)")
@pytest.mark.parametrize("lock", ["futex", "mutex"])
def test_child_killed_inside_chain_step(make_server, tmp_path, lock):
    s = make_server(mpm="prefork", extra_conf="VerifyAuditLock %s\n" % lock)
    s.expect_log(r"\[verify:error\].*VFY3: audit writer pid \d+ died "
                 r"inside the chain step")
    gen = harness.People()
    people = gen.batch(4)
    s.import_household(people)
    s.start()
    assert s.post(fields_for(people[0], case="BEFORE")).status == 200

    kids = s.child_pids()
    assert kids
    out = str(tmp_path / "trace")
    cmd = ["strace", "-qq", "-ff", "-o", out, "-e", "trace=write",
           "-e", "inject=write:delay_enter=4000000"]
    for k in kids:
        cmd += ["-p", str(k)]
    tracer = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_attached(kids)
        held = {}

        def ask():
            try:
                held["r"] = s.post(fields_for(people[1], case="KILLED"))
            except OSError as e:        # the connection dies with it
                held["e"] = e

        t = threading.Thread(target=ask)
        t.start()
        victim = None
        deadline = time.time() + 10
        while victim is None and time.time() < deadline:
            time.sleep(0.1)
            for f in glob.glob(out + ".*"):
                if "write(" in open(f, errors="replace").read():
                    victim = int(f.rsplit(".", 1)[1])
        assert victim, "no child entered the audit write"
        os.kill(victim, signal.SIGKILL)
    finally:
        tracer.terminate()
        tracer.wait(timeout=10)
    t.join(timeout=15)
    assert "r" not in held or held["r"].status != 200, \
        "the killed request must not have been answered"

    # the next writer finds the lock's owner dead, takes it over,
    # recovers the chain from the file and answers
    r = s.post(fields_for(people[2], case="AFTER"))
    assert r.status == 200, r
    lines = harness.read_audit(s.audit)
    assert not harness.chain_problems(lines), harness.chain_problems(lines)
    cases = [l.get("case") for l in lines if l.get("op") == "verify"]
    assert "BEFORE" in cases and "AFTER" in cases
    assert "KILLED" not in cases        # its write never began
    notes = [l for l in lines if l.get("op") == "audit_recover"]
    assert len(notes) == 1, [l.raw for l in lines]
    assert "died inside the chain step" in notes[0]["detail"]
    assert str(victim) in notes[0]["detail"]
    res = harness.run_audit_tool("verify", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "died inside the chain step" in res.stdout


def test_partial_line_cut_at_start(make_server):
    """A crash of the whole server in the middle of a write leaves a
    half line at the end of the newest file. The next start cuts it
    (its request was never answered), says so in the chain, and
    numbering goes on from the last complete line."""
    s = make_server()
    s.expect_log(r"\[verify:error\].*VFY16: .* ended in a partial line")
    gen = harness.People()
    people = gen.batch(3)
    s.import_household(people)
    s.start()
    assert s.post(fields_for(people[0], case="ONE")).status == 200
    s.stop()
    lines = harness.read_audit(s.audit)
    last = lines[-1]
    path = os.path.join(s.audit, last.file)
    with open(path, "ab") as f:
        f.write(b'{"seq":%d,"ts":"2026-01-01T00:00:00.000000+08:00","req'
                % (last["seq"] + 1))
    s.expect_log()
    s.start()
    assert s.post(fields_for(people[1], case="TWO")).status == 200
    lines = harness.read_audit(s.audit)
    assert not harness.chain_problems(lines), harness.chain_problems(lines)
    after = [l for l in lines if l["seq"] > last["seq"]]
    assert after[0]["op"] == "audit_recover"
    assert "partial last line" in after[0]["detail"]
    assert after[0]["seq"] == last["seq"] + 1 and after[0]["prev"] == \
        last["hash"]
    assert [l.get("case") for l in after if l.get("op") == "verify"] == \
        ["TWO"]
    res = harness.run_audit_tool("verify", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.skipif(not harness.IS_ROOT, reason="ptrace of www-data "
                    "children needs root (CI runs as root)")
def test_failed_sync_withdraws_and_stops_answering(make_server, tmp_path):
    """VerifyAuditSync On and the disk refuses the sync (EIO, injected by
    strace into the children's fdatasync): the answer is 503
    audit_unavailable, a `withdrawn` line says its line was not
    answered, and nothing more is answered until a restart."""
    s = make_server(mpm="prefork", extra_conf="VerifyAuditSync On\n")
    s.expect_log(r"\[verify:error\].*VFY7: cannot sync the audit file",
                 r"\[verify:crit\].*VFY29: audit sync failed")
    gen = harness.People()
    people = gen.batch(3)
    s.import_household(people)
    s.start()
    assert s.post(fields_for(people[0], case="SYNCED")).status == 200

    cmd = ["strace", "-qq", "-o", "/dev/null", "-e", "trace=fdatasync",
           "-e", "inject=fdatasync:error=EIO"]
    kids = s.child_pids()
    for k in kids:
        cmd += ["-p", str(k)]
    tracer = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_attached(kids)
        r = s.post(fields_for(people[1], case="EIO"))
    finally:
        tracer.terminate()
        tracer.wait(timeout=10)
    assert r.status == 503 and r.json["error"] == "audit_unavailable", r
    assert "results" not in r.json

    lines = harness.read_audit(s.audit)
    assert not harness.chain_problems(lines)
    line = [l for l in lines if l.get("case") == "EIO"][0]
    withdrawn = [l for l in lines if l.get("op") == "withdrawn"]
    assert len(withdrawn) == 1
    assert withdrawn[0]["withdrawn_seq"] == line["seq"]
    assert withdrawn[0]["request_id"] == r.json["request_id"]

    # the disk works again, but a failed sync may have lost other lines:
    # nothing is answered (and nothing written) until a restart
    n = len(lines)
    r = s.post(fields_for(people[2], case="AFTER-EIO"))
    assert r.status == 503 and r.json["error"] == "audit_unavailable"
    assert len(harness.read_audit(s.audit)) == n
    s.graceful()
    r = s.post(fields_for(people[2], case="RESTARTED"))
    assert r.status == 200, r
    lines = harness.read_audit(s.audit)
    assert not harness.chain_problems(lines)
    res = harness.run_audit_tool("verify", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
