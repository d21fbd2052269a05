"""Root never follows what the run-time user controls (issue 6, item 1),
paths are checked and never silently adopted (item 3), and configtest
refuses what start would refuse, so a graceful restart with a broken
configuration leaves the running server answering (item 4).

The audit directory belongs to www-data. A symbolic link or a hard link
that www-data plants at a name root opens there (the day's file, the
writer lock, the file whose partial line start cuts, purge's checkpoint
and its temporary) must leave the root-only file it points at exactly as
it was, and the module or the tool must say what it refused. CI runs as
root, so the root-only behaviour is what these tests exercise."""

import os
import pwd
import re
import stat
import subprocess

import pytest

import harness
from harness import fields_for

pytestmark = pytest.mark.skipif(not harness.IS_ROOT,
                                reason="root's behaviour (CI runs as root)")

RUN_UID = pwd.getpwnam(harness.RUN_USER).pw_uid
LINKS = ["symlink", "hardlink"]
WHY = {"symlink": "symbolic link", "hardlink": "hard links"}


def root_only_file(d, content=b"root's secret, never www-data's\n"):
    """A root:root 0600 file on the audit directory's file system (a hard
    link needs the same one)."""
    path = os.path.join(d, "root-only")
    with open(path, "wb") as f:
        f.write(content)
    os.chown(path, 0, 0)
    os.chmod(path, 0o600)
    return path


def snapshot(path):
    st = os.stat(path)
    return (open(path, "rb").read(), stat.S_IMODE(st.st_mode), st.st_uid,
            st.st_gid)


def plant(kind, target, at):
    """What www-data can do in its own directory."""
    if kind == "symlink":
        os.symlink(target, at)
    else:
        os.link(target, at)


def today_file(s):
    return os.path.join(s.audit, "audit-%s.jsonl"
                        % harness.today_taipei().isoformat())


def served_server(make_server):
    s = make_server()
    s.people = harness.People().batch(3)
    s.import_household(s.people)
    return s


def start_refused(s):
    with pytest.raises(AssertionError):
        s.start(timeout=15)


# -- item 1: the day's file, the lock, the partial line --------------------

@pytest.mark.parametrize("kind", LINKS)
def test_link_at_days_file_before_start(make_server, kind):
    s = served_server(make_server)
    target = root_only_file(s.root)
    before = snapshot(target)
    plant(kind, target, today_file(s))
    s.expect_log(r"\[verify:error\].*VFY70: refusing .*%s" % WHY[kind],
                 r"VFY4: cannot open audit file", r"VFY14|VFY21",
                 r"AH00016|AH00020")
    start_refused(s)
    assert snapshot(target) == before
    log = s.error_log_text()
    assert "VFY70" in log and os.path.basename(today_file(s)) in log, log
    assert WHY[kind] in log, log


@pytest.mark.parametrize("kind", LINKS)
def test_link_at_days_file_before_graceful(make_server, kind):
    """The day's file replaced by a link while the server runs: the
    graceful restart's "start" line is not written through it, and the
    target is untouched. A restart never takes a running server down:
    it completes (VFY96), /verify answers 503 until a line can be
    written, and the start line goes first once the day's file is back."""
    s = served_server(make_server)
    s.start()
    assert s.post(fields_for(s.people[0])).status == 200
    target = root_only_file(s.root)
    before = snapshot(target)
    day = today_file(s)
    os.rename(day, day + ".moved")
    plant(kind, target, day)
    s.expect_log(r"\[verify:error\].*VFY70: refusing .*%s" % WHY[kind],
                 r"VFY4: cannot open audit file", r"VFY96")
    s.graceful()
    r = s.post(fields_for(s.people[1]))
    assert r.status == 503 and r.json["error"] == "audit_unavailable", r
    assert snapshot(target) == before
    log = s.error_log_text()
    assert re.search(r"VFY70: refusing %s: it %s" % (re.escape(day),
                                                      "is a symbolic link"
                                                      if kind == "symlink"
                                                      else "has 2 hard"),
                     log), log
    assert "VFY96: cannot write the start line" in log
    os.unlink(day)
    os.rename(day + ".moved", day)
    assert s.post(fields_for(s.people[2], case="BACK")).status == 200
    lines = harness.read_audit(s.audit)
    assert not harness.chain_problems(lines)
    assert [l["generation"] for l in lines if l.get("op") == "start"] == \
        [1, 2]
    assert lines[-1]["case"] == "BACK"
    assert snapshot(target) == before


@pytest.mark.parametrize("kind", LINKS)
def test_link_at_writer_lock(make_server, kind):
    s = served_server(make_server)
    target = root_only_file(s.root)
    before = snapshot(target)
    plant(kind, target, os.path.join(s.audit, ".writer.lock"))
    s.expect_log(r"\[verify:emerg\].*VFY72: refusing the writer lock .*%s"
                 % WHY[kind], r"AH00016|AH00020")
    start_refused(s)
    assert snapshot(target) == before
    assert "VFY72" in s.error_log_text()


def test_hard_link_as_partial_line_to_cut(make_server):
    """Start cuts a half-written last line off the newest audit file. A
    hard link there to a root-only file that does not end in a newline
    must not be cut (it used to be: truncate() by path, once the line
    before the fragment read as a sealed line)."""
    s = served_server(make_server)
    # e.g. root's own copy of an audit file: a sealed line, then a part
    line, _ = harness.seal_line(1, "2026-01-01T00:00:00.000000+08:00",
                                ',"op":"x"', harness.ZERO_HASH)
    target = root_only_file(s.root, line + b'\n{"seq":2,"ts"')
    before = snapshot(target)
    plant("hardlink", target, today_file(s))
    s.expect_log(r"\[verify:error\].*VFY70: refusing .*hard links",
                 r"VFY14", r"AH00016|AH00020")
    start_refused(s)
    assert snapshot(target) == before


def test_symlink_with_an_audit_name_is_never_opened(make_server):
    """A link under another day's name is not an audit file: start
    neither reads nor writes through it."""
    s = served_server(make_server)
    target = root_only_file(s.root, b"no newline")
    before = snapshot(target)
    plant("symlink", target, os.path.join(s.audit, "audit-2099-12-31.jsonl"))
    s.start()
    assert s.post(fields_for(s.people[0])).status == 200
    s.stop()
    assert snapshot(target) == before


# -- item 1: purge's checkpoint and its temporary --------------------------

OLD_DAYS = ["2015-01-01", "2015-01-02", "2015-01-03"]


def old_log(d):
    from test_185_auditor_more import synthetic_log
    synthetic_log(d, OLD_DAYS)
    harness.chown_run_user(d, 0o750)
    for f in os.listdir(d):
        harness.chown_run_user(os.path.join(d, f), 0o640)


@pytest.mark.parametrize("kind", LINKS)
@pytest.mark.parametrize("name", ["purged-through-2015-01-02.json",
                                  "purged-through-2015-01-02.json.tmp"])
def test_link_at_purge_checkpoint(tmp_path, kind, name):
    d = str(tmp_path / "audit")
    old_log(d)
    target = root_only_file(str(tmp_path))
    before = snapshot(target)
    files = sorted(os.listdir(d))
    plant(kind, target, os.path.join(d, name))
    spool = harness.make_spool(str(tmp_path))
    res = harness.run_audit_tool("purge", "--before", "2015-01-03",
                                 "--events", spool, d)
    assert res.returncode == 1, res.stdout + res.stderr
    if kind == "hardlink" and not name.endswith(".tmp"):
        # a regular file under a checkpoint's name: the chain scan reads
        # it first (read only) and refuses it as no checkpoint
        assert "%s/%s is not a purge checkpoint" % (d, name) in res.stderr
    else:
        assert "refusing %s/%s" % (d, name) in res.stderr, res.stderr
        assert WHY[kind] in res.stderr or "exists already" in res.stderr, \
            res.stderr
    assert "nothing was deleted" in res.stderr
    assert snapshot(target) == before
    assert sorted(os.listdir(d)) == sorted(files + [name])
    # the refusal is recorded for the chain
    [(_, _, ev)] = harness.spooled(spool)
    assert (ev["result"], ev["files"]) == ("refused", 0), ev


def test_purge_checkpoint_is_roots_and_0640(tmp_path):
    d = str(tmp_path / "audit")
    old_log(d)
    res = harness.run_audit_tool("purge", "--before", "2015-01-03",
                                 "--events", harness.make_spool(str(tmp_path)),
                                 d)
    assert res.returncode == 0, res.stdout + res.stderr
    st = os.lstat(os.path.join(d, "purged-through-2015-01-02.json"))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_uid == 0
    assert not os.path.exists(os.path.join(
        d, "purged-through-2015-01-02.json.tmp"))
    res = harness.run_audit_tool("verify", d)
    assert res.returncode == 0, res.stdout + res.stderr


# -- item 3: paths checked, never silently adopted --------------------------

def refused_audit_dir(make_server, tmp_path, mode, www_data):
    """configtest on an existing audit directory of @mode, root's or the
    run-time user's: it must fail with VFY71; returns (server, dir, out)."""
    d = str(tmp_path / "audit")
    os.mkdir(d)
    os.chmod(str(tmp_path), 0o755)
    if www_data:
        harness.chown_run_user(d, mode)
    os.chmod(d, mode)
    s = make_server(audit=d)
    res = s.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "VFY71" in out, out
    assert "%04o" % mode in out, out
    return s, d, out


def test_existing_root_audit_dir_is_not_reowned(make_server, tmp_path):
    s, d, out = refused_audit_dir(make_server, tmp_path, 0o755, False)
    assert "chown www-data %s" % d in out, out
    assert "chmod 0750 %s" % d in out and "root:root" in out, out
    s.import_household(harness.People().batch(1))
    s.expect_log(r"VFY71", r"AH00016|AH00020")
    start_refused(s)
    st = os.stat(d)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o755)
    assert os.listdir(d) == []


def test_group_writable_audit_dir_refused(make_server, tmp_path):
    refused_audit_dir(make_server, tmp_path, 0o770, True)


def test_missing_audit_dir_is_created_for_the_run_time_user(make_server):
    s = make_server()
    d = os.path.join(s.root, "new", "audit")
    s.audit = d
    s.people = harness.People().batch(1)
    s.import_household(s.people)
    assert s.configtest().returncode == 0
    s.start()
    assert s.post(fields_for(s.people[0])).status == 200
    st = os.stat(d)
    assert st.st_uid == RUN_UID
    assert stat.S_IMODE(st.st_mode) == 0o750
    parent = os.stat(os.path.dirname(d))
    assert parent.st_uid == 0 and stat.S_IMODE(parent.st_mode) == 0o755


def overlap_cases(root):
    audit = os.path.join(root, "audit")
    return {
        "store_is_audit": dict(store=audit, audit=audit),
        "store_in_audit": dict(store=os.path.join(audit, "store")),
        "audit_in_store": dict(audit=os.path.join(root, "store", "audit")),
        "key_in_audit": dict(key=os.path.join(audit, "pseudonym.key")),
        "key_in_store": dict(key=os.path.join(root, "store", "k.key")),
    }


@pytest.mark.parametrize("case", sorted(overlap_cases("/x")))
def test_overlapping_paths_refused_by_configtest(make_server, case):
    s = make_server()
    given = overlap_cases(s.root)[case]
    if "key" in given:
        harness.make_key_file(given["key"])
    s.store = given.get("store", s.store)
    s.key = given.get("key", s.key)
    s.audit = given.get("audit", s.audit)
    res = s.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "VFY73" in out, out
    names = [n for n, k in (("VerifyStore", "store"), ("VerifyKeyFile", "key"),
                            ("VerifyAuditLog", "audit")) if k in given
             or (case == "audit_in_store" and k == "store")
             or (case == "key_in_audit" and k == "audit")
             or (case == "store_in_audit" and k == "audit")]
    for n in names:
        assert n in out, (n, out)


def test_overlap_through_a_symbolic_link(make_server):
    s = make_server()
    alias = os.path.join(s.root, "alias")
    os.symlink(s.audit, alias)
    s.store = os.path.join(alias, "store")
    res = s.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "VFY73" in out, out


# -- item 4: configtest catches what start would refuse --------------------

def key_faults(d):
    """name -> (prepare the key file at path, words of the message)."""
    def missing(p):
        os.unlink(p)

    def short(p):
        os.chmod(p, 0o600)
        with open(p, "w") as f:
            f.write("ab" * 31 + "\n")

    def unreadable_dir(p):
        os.unlink(p)
        os.mkdir(p)

    return {
        "missing": (missing, "cannot open key file"),
        "short": (short, "fewer than 32 bytes"),
        "directory": (unreadable_dir, "not a regular file"),
        "group_readable": (lambda p: os.chmod(p, 0o440), "group or others"),
        "world_readable": (lambda p: os.chmod(p, 0o444), "group or others"),
        "world_writable": (lambda p: os.chmod(p, 0o402), "group or others"),
        "not_roots": (lambda p: os.chown(p, RUN_UID, -1),
                      "chown root:root"),
    }


@pytest.mark.parametrize("fault", sorted(key_faults(None)))
def test_configtest_refuses_key_fault(make_server, fault):
    s = make_server()
    prepare, words = key_faults(s.root)[fault]
    prepare(s.key)
    res = s.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "VFY75" in out and words in out and s.key in out, out


def strip_paths(conf):
    text = open(conf).read()
    text = re.sub(r"(?m)^Verify(Store|KeyFile|AuditLog)\b.*\n", "", text)
    with open(conf, "w") as f:
        f.write(text)


def test_configtest_refuses_sethandler_without_paths(make_server):
    s = make_server()
    s.write_conf()
    strip_paths(s.conf)
    res = subprocess.run([harness.APACHE, "-f", s.conf, "-t"],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "VFY74" in out and "SetHandler verify" in out, out
    # without the handler, a module loaded but idle is fine
    s.location = False
    s.write_conf()
    strip_paths(s.conf)
    res = subprocess.run([harness.APACHE, "-f", s.conf, "-t"],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_configtest_refuses_partial_paths(make_server):
    s = make_server()
    s.write_conf()
    text = open(s.conf).read()
    with open(s.conf, "w") as f:
        f.write(re.sub(r"(?m)^VerifyAuditLog\b.*\n", "", text))
    res = subprocess.run([harness.APACHE, "-f", s.conf, "-t"],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "VFY18" in out, out


GRACEFUL_FAULTS = ["key_world_readable", "key_missing", "no_store",
                   "store_is_audit"]


@pytest.mark.parametrize("fault", GRACEFUL_FAULTS)
def test_graceful_with_broken_config_keeps_serving(make_server, fault):
    """`apache2 -k graceful` reads the configuration and runs the
    check_config hooks before it signals the running server: with the
    fault found there, the server is never told to restart and goes on
    answering /verify. (A fault found only in post_config would make the
    restarting parent exit: AH00020, and the server is gone.)"""
    s = served_server(make_server)
    s.start()
    assert s.post(fields_for(s.people[0], case="BEFORE")).status == 200
    gens = s.generations()
    if fault == "key_world_readable":
        os.chmod(s.key, 0o644)
    elif fault == "key_missing":
        os.rename(s.key, s.key + ".gone")
    elif fault == "store_is_audit":
        s.store = s.audit
    s.write_conf()
    if fault == "no_store":
        text = open(s.conf).read()
        with open(s.conf, "w") as f:
            f.write(re.sub(r"(?m)^VerifyStore\b.*\n", "", text))
    res = subprocess.run([harness.APACHE, "-f", s.conf, "-k", "graceful"],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert re.search(r"VFY(18|73|75)", out), out
    assert s.proc.poll() is None, "the running server is gone"
    r = s.post(fields_for(s.people[1], case="AFTER"))
    assert r.status == 200, r
    assert s.generations() == gens
    assert "SIGUSR1" not in s.error_log_text()
    # `-k stop` still works with the broken configuration
    s.stop()


def _poke_shared(pid, old, new):
    """What a compromised child can do: rewrite its own shared mappings
    (here through /proc/PID/mem), replacing every NUL-terminated @old
    with @new. Returns how many it replaced."""
    hits = 0
    maps = open("/proc/%d/maps" % pid).read().splitlines()
    with open("/proc/%d/mem" % pid, "r+b", buffering=0) as mem:
        for m in maps:
            f = m.split()
            if len(f) < 2 or f[1][3] != "s" or "w" not in f[1]:
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except OSError:
                continue
            i = data.find(old + b"\0")
            while i >= 0:
                mem.seek(lo + i)
                mem.write(new + b"\0")
                hits += 1
                i = data.find(old + b"\0", i + 1)
    return hits


def test_altered_shared_head_does_not_steer_root(make_server):
    """The chain head is shared memory the children can write. A child
    that writes another directory into it must not make root (the parent,
    at a graceful restart) create files there: root keeps its own copy."""
    s = make_server()
    s.people = harness.People().batch(3)
    s.import_household(s.people)
    s.start()
    victim = os.path.join(s.root, "root-only-dir")
    os.mkdir(victim, 0o700)
    assert _poke_shared(s.child_pids()[0], s.audit.encode(),
                        victim.encode()) >= 1
    s.expect_log(r"VFY76: the shared audit chain head was altered")
    s.graceful()
    assert os.listdir(victim) == []
    r = s.post(harness.fields_for(s.people[0], case="AFTER-POKE"))
    assert r.status == 200, r
    assert any(l.get("case") == "AFTER-POKE"
               for l in harness.read_audit(s.audit))
