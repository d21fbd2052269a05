"""Signed checkpoints made by the httpd parent (issue 7, items 2 and 7):
the parent (root) signs C2SP checkpoints of its own reading of the log
at start, about every VerifyCheckpointInterval while lines come (from the
monitor hook, about every ten seconds), and when a generation ends
(graceful restart, stop); each is kept as a file in VerifyCheckpointDir,
as a "checkpoint" line of the chain and in syslog, and checks out with
the independent verifier t/tlogref.py. No child ever holds the key. At a
full start, a log behind the newest checkpoint (an older backup
restored) or contradicting it (lines removed and the chain re-hashed, as
www-data can) is refused with the missing range named."""

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

import harness
import tlogref
from conftest import MPMS, household_server_fixture
from harness import fields_for
from harness.env import IS_ROOT, RUN_USER

HASH_TAIL = 9 + 64 + 2      # ,"hash":"<64 hex>"}


def checkpoint_files(s):
    d = s.checkpoint_dir
    return {int(n[len("checkpoint-"):]): open(os.path.join(d, n)).read()
            for n in sorted(os.listdir(d)) if n.startswith("checkpoint-")}


def public_key(s):
    return tlogref.parse_vkey(s.verifier)[2]


def check_checkpoint(s, note, raws):
    """The note verifies under the server's key and its root is the root
    of the first `size` lines: returns (size, extension lines)."""
    text = tlogref.open_note(note, s.origin, public_key(s))
    origin, size, root, ext = tlogref.parse_checkpoint(text)
    assert origin == s.origin
    assert size <= len(raws)
    assert tlogref.Tree(raws).root(size) == root, size
    assert len(ext) == 1 and re.fullmatch(
        r"time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", ext[0]), ext
    return size, ext


def raws(s):
    return [ln.raw for ln in harness.read_audit(s.audit)]


def wait_for(pred, timeout, step=0.5):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


@pytest.mark.parametrize("mpm", MPMS)
def test_parent_signs_checkpoints_that_verify_independently(mpm, request):
    request.param = mpm
    s = household_server_fixture(request, n=12, checkpoints=True)
    try:
        first = checkpoint_files(s)
        cp_line = [ln for ln in harness.read_audit(s.audit)
                   if ln.obj.get("op") == "checkpoint"]
        # at once: the start line, the import's event, the register
        assert len(cp_line) == 1 and cp_line[0].obj["reason"] == "start"
        assert list(first) == [cp_line[0].obj["seq"] - 1]
        for i, person in enumerate(s.people):
            assert s.post(fields_for(person, case="CP-%d" % i)).status == 200
        n_queries = len(raws(s))
        # the monitor hook signs the new lines within its ~10 s cadence
        grown = wait_for(lambda: max(checkpoint_files(s)) >= n_queries, 40)
        assert grown, checkpoint_files(s)
        s.graceful()
        s.stop()
        lines = raws(s)
        files = checkpoint_files(s)
        for size, note in files.items():
            assert check_checkpoint(s, note, lines)[0] == size
        cps = [ln for ln in harness.read_audit(s.audit)
               if ln.obj.get("op") == "checkpoint"]
        assert {c.obj["reason"] for c in cps} >= {"start", "interval",
                                                  "stop"}
        for c in cps:
            size = c.obj["size"]
            assert size < c.obj["seq"]
            assert files[size] == c.obj["note"], "the same note in both"
            assert base64.b64decode(c.obj["root"]) == \
                tlogref.Tree(lines).root(size)
        # the last checkpoint (at the stop) covers every line before it
        assert max(files) == len(lines) - 1
        assert len(cps) == len(files)
    finally:
        s.stop()
        s.cleanup()


def private_seed(s):
    from cryptography.hazmat.primitives import serialization
    key = serialization.load_pem_private_key(
        open(s.checkpoint_key, "rb").read(), None)
    return key.private_bytes(serialization.Encoding.Raw,
                             serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def memory_holds(pid, needle):
    """True if the process's readable, writable private memory holds
    @needle (its heap, stacks and data: where a loaded key would be)."""
    found = False
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith("rw"):
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            try:
                mem.seek(lo)
                if needle in mem.read(hi - lo):
                    found = True
            except (OSError, ValueError, OverflowError):
                continue
    return found


@pytest.mark.skipif(not IS_ROOT, reason="reads other processes' memory")
def test_no_child_holds_the_signing_key(make_server):
    s = make_server(checkpoints=True)
    s.start()
    seed = private_seed(s)
    # sanity of the probe: this test process holds the seed it read
    assert memory_holds(os.getpid(), seed)
    s.post(fields_for(harness.People().person("citizen")))
    s.graceful()            # signs at the end and at the start again
    kids = s.child_pids()
    assert kids
    for pid in kids:
        assert not memory_holds(pid, seed), "child %d holds the key" % pid
    assert not memory_holds(s.parent_pid(), seed), \
        "the key stays in the parent between signatures"


def drop_line_and_reseal(lines, k):
    """What www-data can do: remove line k, renumber and re-hash every
    later line so the chain is intact again."""
    out = list(lines[:k])
    prev = lines[k - 1][-HASH_TAIL + 9:-2].decode() if k else "0" * 64
    for j, raw in enumerate(lines[k + 1:], start=k + 1):
        covered = raw[:-HASH_TAIL]
        covered = re.sub(rb'^\{"seq":\d+,', b'{"seq":%d,' % j, covered)
        covered = covered[:-65] + prev.encode() + b'"'
        h = hashlib.sha256(covered).hexdigest()
        out.append(covered + (',"hash":"%s"}' % h).encode())
        prev = h
    return out


def day_file(s):
    names = [n for n in os.listdir(s.audit) if n.startswith("audit-")]
    assert len(names) == 1, names
    return names[0]


def write_audit(s, by_file):
    for name, lines in by_file.items():
        path = os.path.join(s.audit, name)
        with open(path, "wb") as f:
            f.write(b"".join(ln + b"\n" for ln in lines))
        if IS_ROOT:
            shutil.chown(path, RUN_USER, RUN_USER)


def test_start_refuses_a_log_behind_its_checkpoint(make_server, tmp_path):
    s = make_server(checkpoints=True)
    people = harness.People().batch(6)
    s.import_household(people)
    s.start()
    for p in people[:3]:
        s.post(fields_for(p))
    s.stop()
    backup = tmp_path / "backup"
    shutil.copytree(s.audit, backup, symlinks=True)
    s.start()
    for p in people[3:]:
        s.post(fields_for(p))
    s.stop()
    newest = max(checkpoint_files(s))
    name = day_file(s)
    old_end = len([ln for ln in open(os.path.join(backup, name), "rb")])
    current = os.path.join(s.audit, name)
    saved = open(current, "rb").read()
    shutil.copyfile(os.path.join(backup, name), current)
    res = subprocess.run([harness.APACHE, "-f", s.conf, "-k", "start",
                          "-DFOREGROUND"], env=harness.CLEAN_ENV,
                         capture_output=True, timeout=60)
    assert res.returncode != 0
    log = s.error_log_text()
    assert re.search(r"VFY115: the audit log in \S+ ends at seq %d but the "
                     r"newest checkpoint .* covers lines up to seq %d: "
                     r"lines %d-%d are missing" % (old_end, newest,
                                                   old_end + 1, newest),
                     log), log[-2000:]
    assert len(raws(s)) == old_end, "nothing appended"
    s.expect_log(r"VFY115", r"AH00020")
    # the real log back: it starts again
    with open(current, "wb") as f:
        f.write(saved)
    s.start()
    assert s.post(fields_for(people[0])).status == 200


def test_start_refuses_a_rewritten_log(make_server):
    s = make_server(checkpoints=True)
    people = harness.People().batch(4)
    s.import_household(people)
    s.start()
    for p in people:
        s.post(fields_for(p))
    s.stop()
    lines = raws(s)
    k = next(i for i, ln in enumerate(lines) if b'"op":"verify"' in ln)
    rewritten = drop_line_and_reseal(lines, k)
    assert not harness.chain_problems(
        [harness.AuditLine("x", i, r, json.loads(r)) for i, r in
         enumerate(rewritten, 1)]), "the chain alone no longer shows it"
    write_audit(s, {day_file(s): rewritten})
    res = subprocess.run([harness.APACHE, "-f", s.conf, "-k", "start",
                          "-DFOREGROUND"], env=harness.CLEAN_ENV,
                         capture_output=True, timeout=60)
    assert res.returncode != 0
    log = s.error_log_text()
    # the stop's checkpoint covers all but its own line: as many lines
    # as the rewritten log has, with another root
    assert re.search(r"VFY116: the audit log in \S+ contradicts the newest "
                     r"checkpoint \(\S+checkpoint-0*%d\): its lines 1-%d "
                     r"have root \S+, the checkpoint says \S+"
                     % (len(lines) - 1, len(lines) - 1), log), log[-2000:]
    assert raws(s) == rewritten, "nothing appended"
    s.expect_log(r"VFY116", r"AH00020")


@pytest.mark.skipif(not IS_ROOT, reason="ownership checks need root")
def test_configtest_refuses_unsafe_key_and_directory(make_server):
    s = make_server(checkpoints=True)
    s.write_conf()
    assert s.configtest().returncode == 0
    os.chmod(s.checkpoint_key, 0o440)
    out = s.configtest()
    assert out.returncode != 0
    assert "VFY87" in out.stdout + out.stderr
    os.chmod(s.checkpoint_key, 0o400)
    os.mkdir(s.checkpoint_dir)
    shutil.chown(s.checkpoint_dir, RUN_USER, RUN_USER)
    out = s.configtest()
    assert out.returncode != 0
    assert re.search(r"VFY84: VerifyCheckpointDir \S+: it is owned by uid "
                     r"\d+ with mode", out.stdout + out.stderr)
    shutil.chown(s.checkpoint_dir, "root", "root")
    assert s.configtest().returncode == 0
    s.extra_conf = "VerifyCheckpointInterval 0"
    s.write_conf()
    out = s.configtest()
    assert out.returncode != 0 and "VerifyCheckpointInterval" in \
        out.stdout + out.stderr
    s.extra_conf = ""
    s.checkpoint_dir = None
    out = s.configtest()
    assert out.returncode != 0 and "VFY85" in out.stdout + out.stderr


@pytest.mark.skipif(not IS_ROOT, reason="needs a private mount namespace")
def test_checkpoints_reach_syslog(make_server, tmp_path):
    """Through syslog(3) to /dev/log: in a private mount namespace, httpd's
    /dev/log is a socket of this test (the machine's is untouched)."""
    sock_path = str(tmp_path / "devlog")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(sock_path)
    os.chmod(sock_path, 0o666)
    rx.settimeout(0.2)
    s = make_server(checkpoints=True)
    s.syslog = "local3"
    up, work = tmp_path / "up", tmp_path / "work"
    up.mkdir()
    work.mkdir()
    s.wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              "mount -t overlay overlay -o lowerdir=/dev,upperdir=%s,"
              "workdir=%s /dev && touch /dev/log && mount --bind %s "
              "/dev/log && exec \"$@\"" % (up, work, sock_path), "sh"]
    s.start()
    s.post(fields_for(harness.People().person("citizen")))
    s.stop()
    got = []
    while True:
        try:
            got.append(rx.recv(65536).decode())
        except socket.timeout:
            break
    files = checkpoint_files(s)
    notes = {}
    for msg in got:
        m = re.match(r"<(\d+)>.*mod_verify: checkpoint origin=(\S+) "
                     r"size=(\d+) root=(\S+) note=(\S+)$", msg)
        assert m, msg
        assert int(m.group(1)) == (19 << 3) | 5, "local3.notice"
        notes[int(m.group(3))] = base64.b64decode(m.group(5)).decode()
    assert notes == files


FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def test_month_end_checkpoint_without_traffic(make_server):
    """Under libfaketime, 25 s before midnight Taipei at a month's end: with
    no query at all, the parent signs a "month" checkpoint in the first
    seconds of the new month (the seed of the month's sample)."""
    s = make_server(checkpoints=True)
    s.env["LD_PRELOAD"] = FAKETIME_LIB
    s.env["FAKETIME"] = "@2026-11-30 15:59:35"      # UTC: 23:59:35 Taipei
    s.env["FAKETIME_DONT_RESET"] = "1"
    s.start()
    assert len(checkpoint_files(s)) == 1

    def month_line():
        return [ln.obj for ln in harness.read_audit(s.audit)
                if ln.obj.get("reason") == "month"]
    got = wait_for(month_line, 60)
    assert got, [ln.obj for ln in harness.read_audit(s.audit)]
    note = checkpoint_files(s)[got[0]["size"]]
    size, ext = check_checkpoint(s, note, raws(s))
    stamp = ext[0][len("time "):]
    assert "2026-12-01T00:00:00+08:00" <= stamp < "2026-12-01T00:01:00+08:00"
    s.stop()


def test_monitor_drains_events_and_signs_them(make_server):
    """An import while httpd runs: its event reaches the chain from the
    parent's monitor tick, without a restart, and a checkpoint covers it."""
    s = make_server(checkpoints=True)
    s.start()
    before = len(raws(s))
    s.import_household(harness.People().batch(3))

    def import_line():
        for ln in harness.read_audit(s.audit):
            if ln.obj.get("op") == "import" and \
                    ln.obj.get("result") == "accepted":
                return ln.obj["seq"]
        return None
    seq = wait_for(import_line, 40)
    assert seq and seq > before, "the import's line, written by the monitor"
    covered = wait_for(lambda: max(checkpoint_files(s)) >= seq, 40)
    assert covered, "a checkpoint covers the import's line"
    lines = raws(s)
    size = max(checkpoint_files(s))
    check_checkpoint(s, checkpoint_files(s)[size], lines)


def test_purge_keeps_the_tree_for_the_parent(make_server):
    """After a purge the parent goes on signing from the tree edge the
    purge checkpoint keeps: httpd starts, and its new checkpoint's root is
    the root over every line, the purged ones included (tlogref)."""
    s = make_server(checkpoints=True)
    old = []
    prev = harness.ZERO_HASH
    for seq in range(1, 8):             # seven lines of 2020
        line, prev = harness.seal_line(
            seq, "2020-01-01T10:00:%02d.000000+08:00" % seq,
            ',"op":"verify","request_id":"old%d","status":200' % seq, prev)
        old.append(line)
    path = os.path.join(s.audit, "audit-2020-01-01.jsonl")
    with open(path, "wb") as f:
        f.write(b"".join(ln + b"\n" for ln in old))
    if IS_ROOT:
        shutil.chown(path, RUN_USER, RUN_USER)
    s.start()
    s.post(fields_for(harness.People().person("citizen")))
    s.stop()
    before = raws(s)
    spool = os.path.join(s.store, "events")
    res = harness.run_audit_tool("purge", "--before", "2021-01-01",
                                 "--events", spool, s.audit)
    assert res.returncode == 0, res.stderr
    cp = json.load(open(os.path.join(s.audit,
                                     "purged-through-2020-01-01.json")))
    assert cp["tree_size"] == 7 and len(cp["edge"]) == bin(7).count("1")
    s.start()                           # refused (VFY86/117) without it
    s.stop()
    after = raws(s)
    assert after[:len(before) - 7] == before[7:]
    everything = old + after
    files = checkpoint_files(s)
    newest = max(files)
    assert newest > len(before)
    check_checkpoint(s, files[newest], everything)
