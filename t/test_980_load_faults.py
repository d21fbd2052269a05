"""Faults under load (issue 11 item 2): small sizes here, in `make test`;
the full sizes in `make soak` (scripts/soak.sh sets MOD_VERIFY_SOAK=1).

While t/harness/load.py keeps /verify busy (keep-alive and fresh
connections, every request id of every answer recorded):
  - graceful restarts every second: no failed request on a fresh
    connection; the request ids answered are the ids audited, both ways;
    the log verifies;
  - kill -9 of random children: every answer a client received has its
    audit line, and each audited line whose answer did not arrive is
    named by an `unconfirmed` line (or the request was cut by the kill);
  - the importer killed at 20+ points (random syscalls, and the commit):
    the store always opens and holds exactly the old or the new batch,
    and the input is kept unless the batch was committed;
  - the audit volume full: 503 only while it is full, recovery without
    a restart, every refused line counted in the error log, no gap;
  - the day boundary (libfaketime, just before midnight Taipei): the file
    switches, seq goes on, checkpoints cover both days.
Each prints its figures (also under pytest -q).
"""

import os
import re
import subprocess

import pytest

import harness
from harness.volume import fill, small_volume
from harness.load import FRESH, Load

SOAK = os.environ.get("MOD_VERIFY_SOAK") == "1"
MPM = os.environ.get("MOD_VERIFY_LOAD_MPM", "event")


def size(small, full):
    return full if SOAK else small


@pytest.fixture
def say(capsys, request):
    """Print a test's figures to the terminal, past pytest's capture (and
    append them to $MOD_VERIFY_FIGURES, for scripts/soak.sh)."""
    def out(**figures):
        line = "[%s %s] %s" % (request.node.name, MPM, " ".join(
            "%s=%s" % (k, str(v).replace(" ", ""))
            for k, v in figures.items()))
        with capsys.disabled():
            print("\n" + line)
        if os.environ.get("MOD_VERIFY_FIGURES"):
            with open(os.environ["MOD_VERIFY_FIGURES"], "a") as f:
                f.write(line + "\n")
    return out


def verify_ids(s):
    """request id -> audit line, of every verify line."""
    return {ln["request_id"]: ln for ln in s.audit_lines()
            if ln.get("op") == "verify"}


def chain_ok(s):
    lines = s.audit_lines()
    assert not harness.chain_problems(lines), \
        harness.chain_problems(lines)[:5]
    res = harness.run_audit_tool("verify", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    return lines


def serving(make_server, n=40, **kw):
    s = make_server(mpm=MPM, **kw)
    s.people = harness.People().batch(n)
    s.import_household(s.people)
    return s


# -- graceful restarts every second ----------------------------------------

def test_graceful_restarts_under_load(make_server, say):
    restarts = size(5, 60)
    s = serving(make_server)
    s.start()
    gens = s.generations()
    with Load(s.port, s.people, threads=size(6, 8)) as load:
        for _ in range(restarts):
            harness.time.sleep(1)
            s.graceful()
        harness.time.sleep(1)
    fig = load.figures()
    answered = load.answered()
    audited = verify_ids(s)
    lines = chain_ok(s)
    say(restarts=s.generations() - gens, lines=len(lines), **fig)
    assert s.generations() - gens == restarts
    assert not load.failed(FRESH), load.failed(FRESH)[:5]
    assert not load.failed(), load.failed()[:5]     # nor on keep-alive
    assert set(load.answered(200)) and not [r for r in load.results
                                           if r.status not in (None, 200)]
    assert len(set(answered)) == len(answered)
    assert set(answered) == set(audited), (
        "answered, not audited: %s; audited, not answered: %s" % (
            sorted(set(answered) - set(audited))[:5],
            sorted(set(audited) - set(answered))[:5]))


# -- kill -9 of random children --------------------------------------------

@pytest.mark.parametrize("sync", ["Off", "On"])
def test_children_killed_under_load(make_server, say, sync):
    """With VerifyAuditSync On, an answer waits for the group commit after
    its line is written: a kill is then more likely to leave lines whose
    answers never left."""
    kills = size(6, 60)
    s = serving(make_server, extra_conf="VerifyAuditSync %s\n" % sync)
    s.expect_log(r"AH00052: child pid \d+ exit signal Killed",
                 # event MPM, when kills come close together
                 r"\[mpm_event:warn\].*AH10392: children are killed "
                 r"successively",
                 r"\[verify:warn\].*VFY92: process \d+ ended with \d+ "
                 r"answer\(s\) in flight",
                 r"\[verify:error\].*VFY3: audit writer pid \d+ died")
    s.start()
    rnd = harness.random.Random()
    killed = []
    with Load(s.port, s.people, threads=size(6, 8)) as load:
        while len(killed) < kills:
            harness.time.sleep(rnd.uniform(0.3, 1.2))
            victim = rnd.choice(s.child_pids())
            try:
                os.kill(victim, harness.signal.SIGKILL)
            except ProcessLookupError:
                continue    # it ended by itself (prefork's spare ones)
            killed.append(victim)
        harness.time.sleep(1.5)
    fig = load.figures()
    lines = chain_ok(s)
    audited = verify_ids(s)
    answered = set(load.answered())
    # every answer received has its audit line
    assert answered <= set(audited), sorted(answered - set(audited))[:5]
    unconfirmed = [ln for ln in lines if ln.get("op") == "unconfirmed"]
    recovered = [ln for ln in lines if ln.get("op") == "audit_recover"]
    named = {seq for ln in unconfirmed for seq in ln["seqs"]}
    # an audited line whose answer did not arrive: its request failed
    # (cut by a kill) and an `unconfirmed` line names its seq
    sent = load.by_case()
    lost = [ln for rid, ln in audited.items() if rid not in answered]
    for ln in lost:
        assert sent[ln["case"]].status is None, (ln, sent[ln["case"]])
        assert ln["seq"] in named, ("an audited line whose answer did not "
                                    "arrive is not named", ln)
    assert {ln["pid"] for ln in unconfirmed} <= set(killed)
    say(sync=sync, kills=len(killed), lines=len(lines), unanswered_lines=len(lost),
        unconfirmed_lines=len(unconfirmed), unconfirmed_seqs=len(named),
        audit_recover=len(recovered), **fig)
    # a killed child's unconfirmed seqs are lines it wrote: each is a
    # verify line whose answer the client did not get
    for seq in named:
        ln = lines[seq - 1]
        assert ln["seq"] == seq and ln.get("op") == "verify"
    assert len(killed) == kills


# -- the importer killed at random points ----------------------------------

def current(s):
    return os.readlink(os.path.join(s.store, "current"))


def new_batch(s, gen, n=3):
    people = gen.batch(n)
    s.add_people(people)
    path = os.path.join(s.workdir(), "household.csv")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(harness.household_csv(people))
    path, opts = harness.as_sent(path)
    return people, path, opts


def import_cmd(s, path, opts):
    return [harness.VERIFY_IMPORT, "--store", s.store, "--key", s.key,
            "--source", "household"] + opts + [path]


def syscalls(trace):
    """[(name, nth call of that name, the rest of the line)] of a trace
    of one process (strace -o)."""
    out, seen = [], {}
    for line in open(trace, errors="replace"):
        m = re.match(r"^(\w+)\((.*)", line)
        if m and not line.startswith("+++") and not line.startswith("---"):
            seen[m.group(1)] = seen.get(m.group(1), 0) + 1
            out.append((m.group(1), seen[m.group(1)], m.group(2)))
    return out


def kill_points(calls, n_random, rnd):
    """The commit's points by name, then @n_random syscalls at random:
    {label: (syscall, nth)}."""
    at = {}
    pub = [i for i, (name, _, rest) in enumerate(calls)
           if name.startswith("rename") and '"current"' in rest]
    assert len(pub) == 1, "no rename onto current in the trace"
    pub = pub[0]
    syncs = [i for i in range(pub) if calls[i][0] == "fdatasync"]
    assert syncs, "no LMDB commit (fdatasync) before the publication"
    meta = syncs[-1] + 1            # LMDB's meta page, after the data sync
    for label, i in (("lmdb-data-sync", syncs[-1]),
                     ("lmdb-meta-write", meta),
                     ("publish-rename", pub), ("after-publish", pub + 1)):
        at[label] = calls[i][:2]
    for i in sorted(rnd.sample(range(len(calls)), n_random)):
        at["random-%d-%s" % (i, calls[i][0])] = calls[i][:2]
    return at


def resident(s, person):
    r = s.post(harness.fields_for(person, case="IMPORT-CHECK"))
    assert r.status == 200, r
    return r.json["results"]["resident"]


def store_opens(s):
    env = harness.store_env_copy(s.store)
    res = subprocess.run(["mdb_stat", "-a", env],
                                 capture_output=True, text=True,
                                 env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr


def test_importer_killed_under_load(make_server, say, tmp_path):
    n_random = size(20, 60)
    s = serving(make_server, n=20)
    s.start()
    gen = harness.People()
    rnd = harness.random.Random()
    old = s.people
    outcome = {"committed": 0, "not_committed": 0, "finished": 0}
    with Load(s.port, s.people, threads=size(4, 8)) as load:
        # a reference run, traced, for the syscalls a run makes
        people, path, opts = new_batch(s, gen)
        trace = str(tmp_path / "trace")
        res = subprocess.run(
            ["strace", "-qq", "-o", trace] + import_cmd(s, path, opts),
            capture_output=True, text=True, env=harness.CLEAN_ENV,
            timeout=120)
        assert res.returncode == 0, res.stderr
        old = people
        points = kill_points(syscalls(trace), n_random, rnd)
        for label, (call, nth) in points.items():
            people, path, opts = new_batch(s, gen)
            with open(path, "rb") as f:
                original = f.read()
            before = current(s)
            res = subprocess.run(
                ["strace", "-qq", "-o", "/dev/null", "-e", "trace=" + call,
                 "-e", "inject=%s:signal=SIGKILL:when=%d" % (call, nth)]
                + import_cmd(s, path, opts), capture_output=True,
                text=True, env=harness.CLEAN_ENV, timeout=120)
            killed = res.returncode == -harness.signal.SIGKILL
            assert killed or res.returncode == 0, (label, res.stderr)
            committed = current(s) != before
            # the store opens, and holds exactly the old or the new batch
            store_opens(s)
            assert resident(s, people[0]) is committed, label
            assert resident(s, old[0]) is not committed, label
            if not committed:
                with open(path, "rb") as f:
                    assert f.read() == original, (label, "input touched")
            if label == "publish-rename":
                assert killed and not committed, label
            if label == "after-publish":
                assert killed and committed, label
            # what the next run finds left, it finishes; an input not
            # committed stays as it was
            fin = subprocess.run(
                [harness.VERIFY_IMPORT, "--store", s.store,
                 "--require-signed", "off"], capture_output=True,
                text=True, env=harness.CLEAN_ENV, timeout=60)
            assert fin.returncode == 0, fin.stderr
            assert os.listdir(os.path.join(s.store, "pending")) == []
            if committed:
                assert not os.path.exists(path), (label, "input left")
                old = people
            else:
                with open(path, "rb") as f:
                    assert f.read() == original, (label, "input touched")
                os.unlink(path)
            outcome["finished" if not killed else
                    "committed" if committed else "not_committed"] += 1
    fig = load.figures()
    s.graceful()            # the spooled events reach the chain
    lines = chain_ok(s)
    loaded = {rid for rid, ln in verify_ids(s).items()
              if ln["case"].startswith("LOAD-")}
    assert set(load.answered()) == loaded
    recoveries = [ln for ln in lines if ln.get("op") == "import_recovery"]
    say(kill_points=len(points), **outcome,
        import_recovery_lines=len(recoveries), **fig)
    assert not load.failed(), load.failed()[:5]
    assert len(points) >= 24 and outcome["committed"] and \
        outcome["not_committed"]


# -- the audit volume full -------------------------------------------------

VFY6_RE = re.compile(r"VFY6: cannot write audit line to \S+; (\d+) line\(s\) "
                     r"refused since the last message")
VFY91_RE = re.compile(r"VFY91: audit lines are written again; (\d+) more "
                      r"line\(s\) were refused")






@pytest.mark.skipif(not harness.IS_ROOT, reason="mounting a tmpfs needs "
                    "root (CI runs as root)")
def test_audit_volume_full_under_load(make_server, say):
    cycles, hold = size(2, 10), size(2.0, 5.0)
    with small_volume("64m") as mnt:
        s = serving(make_server, audit=mnt)
        s.expect_log(r"\[verify:error\].*VFY6: cannot write audit line",
                     r"\[verify:error\].*VFY3: audit writer pid \d+ "
                     r"(died|left a partial line)",
                     # the parent's watch of the volume, should it look
                     # while the volume is full
                     r"\[verify:(warn|error)\].*: the audit volume of "
                     r"\S+ is [\d.]+% full")
        s.start()
        gens = s.generations()
        full = []           # (filling from, freed at)
        with Load(s.port, s.people, threads=size(6, 8)) as load:
            for _ in range(cycles):
                harness.time.sleep(1.5)
                t0 = harness.time.time()
                filler = fill(mnt)
                harness.time.sleep(hold)
                os.unlink(filler)
                full.append((t0, harness.time.time()))
            harness.time.sleep(1.5)
        fig = load.figures()
        lines = chain_ok(s)
        audited = verify_ids(s)
        refused = [r for r in load.results if r.status == 503]
        said = [int(n) for n in VFY6_RE.findall(s.error_log_text())]
        again = [int(n) for n in VFY91_RE.findall(s.error_log_text())]
        say(cycles=cycles, full_seconds=hold, lines=len(lines),
            refused=len(refused), vfy6=len(said), vfy91=len(again), **fig)
        # 503 only while full, and nothing else fails
        for r in refused:
            assert any(a <= r.t1 and r.t0 <= b for a, b in full), r
        assert not [r for r in load.results if r.status not in
                    (None, 200, 503)]
        assert not load.failed(), load.failed()[:5]
        # recovered without a restart, after each full spell
        assert s.generations() == gens
        for _, b in full:
            assert [r for r in load.results if r.status == 200 and
                    r.t0 > b], "no answer after the volume had room"
        # answered == audited; a refused request has no line; every
        # refused line is counted in the error log (no silent gap)
        answered = set(load.answered())
        assert answered == set(audited)
        assert not {r.request_id for r in refused} & set(audited)
        assert refused, "the volume never filled"
        assert sum(said) + sum(again) == len(refused), (said, again,
                                                        len(refused))
        assert len(again) == cycles
        s.stop()


# -- the day boundary ------------------------------------------------------

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def test_day_boundary_under_load(make_server, say):
    """Under libfaketime, @before seconds before midnight Taipei at a
    month's end (so the day and the month change): the load runs across
    midnight and on for a while."""
    before, after = size(15, 40), size(6, 40)
    s = serving(make_server, checkpoints=True)
    s.env["LD_PRELOAD"] = FAKETIME_LIB
    s.env["FAKETIME"] = "@2026-11-30 %s" % (
        harness.datetime.datetime(2026, 11, 30, 16, 0, 0)
        - harness.datetime.timedelta(seconds=before)).strftime("%H:%M:%S")
    s.env["FAKETIME_DONT_RESET"] = "1"
    old_day, new_day = "audit-2026-11-30.jsonl", "audit-2026-12-01.jsonl"
    launched = harness.time.time()
    s.start()
    with Load(s.port, s.people, threads=size(6, 8)) as load:
        # past midnight on the server's clock, and on
        while harness.time.time() < launched + before + after:
            harness.time.sleep(0.5)
        assert new_day in harness.audit_files(s.audit), \
            harness.audit_files(s.audit)
    fig = load.figures()
    s.stop()
    lines = s.audit_lines()
    assert not harness.chain_problems(lines), \
        harness.chain_problems(lines)[:5]
    assert not harness.line_format_problems(lines), \
        harness.line_format_problems(lines)[:5]
    assert harness.audit_files(s.audit) == [old_day, new_day]
    by_file = {}
    for ln in lines:
        by_file.setdefault(ln.file, []).append(ln)
    # the switch: seq and prev go on from the last line of the old day
    last, first = by_file[old_day][-1], by_file[new_day][0]
    assert first["seq"] == last["seq"] + 1 and first["prev"] == last["hash"]
    verifies = [ln for ln in lines if ln.get("op") == "verify"]
    per_day = {f: sum(1 for ln in ls if ln.get("op") == "verify")
               for f, ls in by_file.items()}
    assert all(per_day.values()), per_day
    # answered == audited, nothing failed
    assert not load.failed(), load.failed()[:5]
    assert set(load.answered()) == {ln["request_id"] for ln in verifies}
    # checkpoints: every one verifies against the log (the tool checks
    # each checkpoint line, and the notes kept in VerifyCheckpointDir);
    # the old day's file signed whole (a "day" checkpoint, the first of
    # the new day, of exactly the old day's lines), and the one at the
    # stop covers all
    cps = [ln for ln in lines if ln.get("op") == "checkpoint"]
    res = harness.run_audit_tool("verify", "--verifier", s.verifier,
                                 "--witnessed", s.checkpoint_dir, s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    reasons = {}
    for c in cps:
        reasons.setdefault(c.file, []).append(c["reason"])
    day_cp = [c for c in cps if c["reason"] == "day"]
    assert day_cp and day_cp[0].file == new_day, reasons
    assert day_cp[0]["size"] == last["seq"], (day_cp[0], last["seq"])
    assert cps[-1]["reason"] == "stop" and cps[-1]["size"] == len(lines) - 1
    say(lines=len(lines), **{"verify_" + f[6:16]: n
                             for f, n in per_day.items()},
        checkpoints=len(cps), reasons="/".join(c["reason"] for c in cps),
        switch_seq=first["seq"], **fig)
