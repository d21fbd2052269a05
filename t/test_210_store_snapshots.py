"""The store as immutable published snapshots (docs/internals.md): the
run-time user can change nothing httpd answers from, imports switch the
answers atomically without a restart, old snapshots are removed once no
child holds them, the importer never opens what the run-time user could
have written, and a killed import leaves the published snapshot
serving."""

import os
import pwd
import shutil
import signal
import stat
import subprocess
import threading
import time

import pytest

import harness
from harness import fields_for

needs_root = pytest.mark.skipif(not harness.IS_ROOT, reason="needs root: "
                                "httpd switches to the run-time user")

# one event-MPM child with a few threads: which snapshot it holds is
# then the server's
ONE_CHILD = """
StartServers 1
ServerLimit 1
MaxRequestWorkers 4
MinSpareThreads 1
MaxSpareThreads 8
"""


def snapshots(store):
    return sorted(n for n in os.listdir(store) if n.startswith("snap-"))


def current(store):
    return os.readlink(os.path.join(store, "current"))


def resident(s, person, case="S-1"):
    r = s.post(fields_for(person, case=case))
    assert r.status == 200, r
    return r.json["results"]["resident"], r.json["as_of"]["household"]


def batch_csv(s, people):
    """A household CSV of @people in a fresh directory; its path."""
    s.add_people(people)
    path = os.path.join(s.workdir(), "household.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(harness.household_csv(people))
    return path


def batch_sent(s, people, extra=()):
    """The household batch of @people as the data provider sends it:
    (path of the .p7m, verify-import's options)."""
    return harness.as_sent(batch_csv(s, people), extra)


def import_ok(s, people, extra=()):
    """Import @people as the household batch."""
    path, opts = batch_sent(s, people, extra)
    res = harness.run_import(s.store, s.key, path, extra=opts)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def serving(make_server, n, **kw):
    """A started server answering from one imported batch of @n people;
    returns (server, People generator, the people)."""
    s = make_server(**kw)
    gen = harness.People()
    people = gen.batch(n)
    import_ok(s, people)
    s.start()
    assert resident(s, people[0])[0] is True
    return s, gen, people


def held_by(pid, store):
    """The snapshot directories process @pid has open."""
    out = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if os.path.dirname(target) == store and \
                os.path.basename(target).startswith("snap-"):
            out.add(os.path.basename(target))
    return out


def as_run_user(script):
    """Run the Python @script as the run-time user; its stdout."""
    res = subprocess.run(["setpriv", "--reuid", harness.RUN_USER, "--regid",
                          harness.RUN_USER, "--init-groups", "/usr/bin/python3",
                          "-c", script], capture_output=True, text=True,
                         timeout=60, env=harness.CLEAN_ENV, cwd="/")
    assert res.returncode == 0, res.stderr
    return res.stdout


@needs_root
def test_nothing_writable_by_run_user(make_server):
    """After imports (with httpd reading), no file or directory under
    VerifyStore is the run-time user's or writable by it: it tries every
    one of them."""
    s, gen, first = serving(make_server, 5)
    import_ok(s, gen.batch(5))
    assert resident(s, first[0])[0] is False
    uid = pwd.getpwnam(harness.RUN_USER).pw_uid
    paths = []
    for root, dirs, files in os.walk(s.store):
        for n in [""] + dirs + files:
            p = os.path.join(root, n) if n else root
            st = os.lstat(p)
            assert st.st_uid != uid, p
            if not stat.S_ISLNK(st.st_mode):
                assert st.st_mode & 0o022 == 0, (p, oct(st.st_mode))
            paths.append(p)
    assert not any(n in ("lock.mdb", "data.mdb") for n in
                   os.listdir(s.store)), os.listdir(s.store)
    assert len(paths) >= 5, paths
    out = as_run_user("""
import os, sys
for p in %r:
    try:
        if os.path.isdir(p) and not os.path.islink(p):
            fd = os.open(os.path.join(p, "planted"), os.O_CREAT | os.O_WRONLY)
        else:
            fd = os.open(p, os.O_WRONLY | os.O_NOFOLLOW)
        print("WROTE", p)
        os.close(fd)
    except OSError:
        pass
    try:
        os.rename(os.path.join(%r, "current"), os.path.join(%r, "x"))
        print("RENAMED current")
    except OSError:
        pass
""" % (paths, s.store, s.store))
    assert out == "", out


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_import_switches_answers_atomically(make_server, mpm):
    """Threads ask about one person without pause while an import that
    drops them publishes: every answer is 200, each thread sees the old
    batch and then only the new one, and a request sent after any new
    answer was received gets the new one. No restart."""
    s = make_server(mpm=mpm)
    gen = harness.People()
    old = gen.batch(20)
    import_ok(s, old)
    s.start()
    parent = s.parent_pid()
    old_as_of = resident(s, old[0])[1]
    time.sleep(1.1)                       # as_of has one-second steps
    new = gen.batch(20)
    stop = threading.Event()
    seen = []                             # (thread, start, end, answer)
    lock = threading.Lock()

    def hammer(k):
        n = 0
        while not stop.is_set():
            n += 1
            t0 = time.monotonic()
            r = s.post(fields_for(old[0], case="AT-%d-%d" % (k, n)))
            t1 = time.monotonic()
            ans = (r.status, r.json.get("results", {}).get("resident"),
                   r.json.get("as_of", {}).get("household"))
            with lock:
                seen.append((k, t0, t1, ans))

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    import_ok(s, new)
    imported = time.monotonic()
    time.sleep(0.7)
    stop.set()
    for t in threads:
        t.join()
    assert all(a[0] == 200 for _, _, _, a in seen), \
        [a for _, _, _, a in seen if a[0] != 200][:5]
    olds = [x for x in seen if x[3][1] is True]
    news = [x for x in seen if x[3][1] is False]
    assert olds and news, (len(olds), len(news))
    assert all(x[3][2] == old_as_of for x in olds)
    new_as_of = {x[3][2] for x in news}
    assert len(new_as_of) == 1 and old_as_of not in new_as_of
    for k in range(3):
        mine = [x[3][1] for x in sorted(seen) if x[0] == k]
        assert mine == sorted(mine, reverse=True), mine  # True.., False..
    first_new = min(x[2] for x in news)
    late_old = [x for x in olds if x[1] > first_new]
    assert not late_old, "an old answer after a new one: %r" % late_old[:3]
    assert all(x[3][1] is False for x in seen if x[1] > imported)
    assert s.parent_pid() == parent and s.generations() == 1


@needs_root
def test_old_snapshot_held_until_the_child_switches(make_server):
    """A child keeps the snapshot it answered from open (with a shared
    lock) until a request after an import makes it switch; the import
    keeps what a child holds and removes it at the next import once
    released."""
    s = make_server(extra_conf=ONE_CHILD)
    gen = harness.People()
    a = gen.batch(3)
    import_ok(s, a)
    snap_a = current(s.store)
    s.start()
    [child] = s.child_pids()
    assert held_by(child, s.store) == set(), "opened before any lookup"
    assert resident(s, a[0])[0] is True
    assert held_by(child, s.store) == {snap_a}

    b = gen.batch(3)
    import_ok(s, b)
    snap_b = current(s.store)
    assert snap_b != snap_a
    assert snapshots(s.store) == sorted([snap_a, snap_b]), \
        "a held snapshot was removed"
    assert held_by(child, s.store) == {snap_a}
    assert resident(s, b[0])[0] is True
    assert held_by(child, s.store) == {snap_b}, "the old one not released"

    c = gen.batch(3)
    import_ok(s, c)
    snap_c = current(s.store)
    assert snapshots(s.store) == sorted([snap_b, snap_c])
    assert resident(s, c[0])[0] is True and resident(s, a[0])[0] is False
    assert s.child_pids() == [child], "the child was replaced"


# the call of each syscall that is the point: the first fdatasync is
# LMDB's commit; the first renameat puts the record of the input's
# pending destruction in place (pending.c), the second publishes
WHEN = {"fdatasync": 1, "renameat": 2}


def killed_import(s, people, syscall):
    """verify-import of @people, killed (SIGKILL, injected by strace) as
    it enters the WHEN[@syscall]th @syscall; the syscall never runs."""
    path, opts = batch_sent(s, people)
    res = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e",
                          "trace=" + syscall, "-e",
                          "inject=%s:signal=SIGKILL:when=%d"
                          % (syscall, WHEN[syscall]),
                          harness.VERIFY_IMPORT, "--store", s.store, "--key",
                          s.key, "--source", "household"] + opts + [path],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=120)
    # strace ends as its tracee did
    assert res.returncode == -signal.SIGKILL, (res.returncode, res.stderr)
    assert os.path.exists(path), "the input of a killed import is kept"


@pytest.mark.parametrize("point", ["fdatasync", "renameat"])
def test_killed_import_leaves_current_serving(make_server, point):
    """kill -9 of the importer inside LMDB's first commit (fdatasync) or
    just before publication (renameat, with current.tmp made): `current`
    still names the old snapshot, httpd answers from it, and the next
    import publishes and removes the leftover."""
    s, gen, old = serving(make_server, 4)
    before = current(s.store)
    killed_import(s, gen.batch(4), point)
    assert current(s.store) == before
    assert len(snapshots(s.store)) == 2, snapshots(s.store)
    assert os.path.lexists(os.path.join(s.store, "current.tmp")) \
        == (point == "renameat")
    for i in range(3):
        assert resident(s, old[i], case="K-%d" % i)[0] is True

    again = gen.batch(4)
    import_ok(s, again)
    assert resident(s, again[0])[0] is True
    assert resident(s, old[0])[0] is False
    assert not os.path.lexists(os.path.join(s.store, "current.tmp"))
    left = snapshots(s.store)
    assert current(s.store) in left and len(left) <= 2, left


def old_layout_store(s, people):
    """Make s.store an old single-environment store holding @people
    (data.mdb and a lock.mdb the run-time user could write)."""
    scratch = os.path.join(s.workdir(), "scratch-store")
    harness.import_people(scratch, s.key, people)
    s.add_people(people)
    env = harness.store_env_copy(scratch)
    with open(os.path.join(env, "data.mdb"), "rb") as f:
        data = f.read()
    with open(os.path.join(s.store, "data.mdb"), "wb") as f:
        f.write(data)
    os.chmod(os.path.join(s.store, "data.mdb"), 0o640)
    if harness.IS_ROOT:                 # as httpd's start left it
        shutil.chown(os.path.join(s.store, "data.mdb"), "root",
                     harness.RUN_USER)
    lock = os.path.join(s.store, "lock.mdb")
    with open(lock, "wb") as f:
        f.write(os.urandom(8192))               # a corrupted reader table
    os.chmod(lock, 0o666)
    if harness.IS_ROOT:
        harness.chown_run_user(lock, 0o666)


def traced_import(s, people):
    """Import @people under strace; the importer's open calls."""
    path, opts = batch_sent(s, people)
    trace = os.path.join(s.workdir(), "trace")
    res = subprocess.run(["strace", "-f", "-qq", "-o", trace, "-e",
                          "trace=open,openat,creat", harness.VERIFY_IMPORT,
                          "--store", s.store, "--key", s.key, "--source",
                          "household"] + opts + [path],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=120)
    assert res.returncode == 0, res.stderr
    with open(trace) as f:
        return [ln for ln in f if "open" in ln]


def test_old_layout_served_then_migrated(make_server):
    """An old-layout store whose lock.mdb holds garbage: httpd answers
    from it read-only (VFY36) without opening lock.mdb; the next import
    never opens it either, converts the store to snapshots, removes
    data.mdb and lock.mdb, and httpd switches without a restart."""
    s = make_server()
    gen = harness.People()
    old = gen.batch(4)
    old_layout_store(s, old)
    s.expect_log(r"\[verify:warn\].*VFY36: store .* has the old "
                 r"single-environment layout")
    s.start()
    assert resident(s, old[0])[0] is True
    for pid in s.child_pids():
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            assert not t.endswith("lock.mdb"), "a child opened " + t

    new = gen.batch(4)
    assert not [ln for ln in traced_import(s, new) if "lock.mdb" in ln]
    assert sorted(n for n in os.listdir(s.store)
                  if not n.startswith("snap-")) == [".import.lock",
                                                   "current",
                                                   harness.SPOOL,
                                                   "pending"]
    assert resident(s, new[0])[0] is True
    assert resident(s, old[0])[0] is False


@needs_root
def test_planted_junk_never_opened(make_server):
    """Run-time-user junk planted (by root, as a misconfiguration or an
    earlier layout would leave it) at every name in the store: a
    lock.mdb of garbage at the top and in the snapshot, a current.tmp
    link to a root-only file. The importer opens none of it, the root
    file is unchanged, and answers switch."""
    s, gen, _ = serving(make_server, 3)
    victim = os.path.join(s.workdir(), "root-only")
    with open(victim, "wb") as f:
        f.write(b"root's\n")
    os.chmod(victim, 0o600)
    snap = os.path.join(s.store, current(s.store))
    for d in (s.store, snap):
        junk = os.path.join(d, "lock.mdb")
        with open(junk, "wb") as f:
            f.write(os.urandom(4096))
        harness.chown_run_user(junk, 0o666)
    os.symlink(victim, os.path.join(s.store, "current.tmp"))
    b = gen.batch(3)
    assert not [ln for ln in traced_import(s, b)
                if "lock.mdb" in ln or "current.tmp" in ln]
    with open(victim, "rb") as f:
        assert f.read() == b"root's\n"
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o600
    assert resident(s, b[0])[0] is True
    assert not os.path.lexists(os.path.join(s.store, "lock.mdb"))


def test_store_writable_by_others_refused(make_server):
    """A store directory others may write (VerifyStore set to a shared
    or the audit directory) is refused: nothing is imported into it."""
    s = make_server()
    os.chmod(s.store, 0o770)
    people = harness.People().batch(2)
    path, opts = batch_sent(s, people)
    res = harness.run_import(s.store, s.key, path, extra=opts)
    assert res.returncode != 0
    assert "writable by group or others" in res.stderr, res.stderr
    assert os.listdir(s.store) == [] and os.path.exists(path)
