"""Proof by mutation (issue 7, item 9): more than 1,000 random changes of
logs with signed checkpoints, each of them something whoever can write
the audit directory can do (a changed byte; a line deleted, inserted,
duplicated or moved; a day file dropped; the log cut back before the
newest checkpoint; an older backup restored and written on; lines
removed or added and the whole chain renumbered and re-hashed; an old
checkpoint line copied forward), and `verify-audit verify --verifier KEY
--witnessed CHECKPOINT-DIR` refuses every one. A hundred untouched logs
pass. The checkpoint directory is root's: it is not mutated.

What no check can see is left out on purpose, and is the threat model's
unsigned tail: lines after the newest checkpoint rewritten, or the last
of them removed (t/test_335_tlog_verify.py shows the warning it gets).
Most logs are built by harness.tlog; 200 mutations are of a real log
written by httpd with Server(checkpoints=True)."""

import random
import re

import pytest

import harness
from conftest import household_server_fixture
from harness import fields_for
from harness.tlog import LogBuilder, renumber, reseal

DAY_RE = re.compile(rb'"ts":"(\d{4}-\d\d-\d\d)T')


def run(*args):
    return harness.run_audit_tool(*[str(a) for a in args])


class Log:
    """A log as lines (bytes), the signed sizes of its checkpoints, and
    a way to write it as day files (by each line's ts)."""

    def __init__(self, lines, sizes, verifier, builder=None):
        self.lines = list(lines)
        self.sizes = sorted(sizes)
        self.verifier = verifier
        self.builder = builder

    def write(self, directory, lines):
        directory.mkdir()
        by_day = {}
        for raw in lines:
            m = DAY_RE.search(raw)
            day = m.group(1).decode() if m else "2026-12-01"
            by_day.setdefault(day, []).append(raw)
        for day, raws in by_day.items():
            (directory / ("audit-%s.jsonl" % day)).write_bytes(
                b"".join(x + b"\n" for x in raws))
        return directory


def random_log(rng):
    """Two to four days, a checkpoint every few lines (every day holds
    one), one to three lines after the last."""
    b = LogBuilder()
    for day in range(rng.randrange(2, 5)):
        if day:
            b.next_day()
        for _ in range(rng.randrange(1, 4)):
            b.queries(rng.randrange(1, 7))
            if rng.random() < 0.2:
                b.query(status=403)
            b.checkpoint(reason=rng.choice(["interval", "day", "restart"]))
    b.queries(rng.randrange(1, 4))
    return b


# -- the mutations: each returns the new lines, or None when it does not
# apply to this log ---------------------------------------------------------

def flip_byte(rng, log):
    lines = list(log.lines)
    i = rng.randrange(len(lines))
    raw = bytearray(lines[i])
    at = rng.randrange(len(raw))
    raw[at] = rng.choice([c for c in b"0123456789abcdefXYZ{}\",: "
                          if c != raw[at]])
    lines[i] = bytes(raw)
    return lines


def delete_line(rng, log):
    i = rng.randrange(len(log.lines) - 1)      # not the tail's last line
    return log.lines[:i] + log.lines[i + 1:]


def insert_copy(rng, log):
    i = rng.randrange(len(log.lines) - 1)
    j = rng.randrange(len(log.lines))
    return log.lines[:i] + [log.lines[j]] + log.lines[i:]


def duplicate_line(rng, log):
    i = rng.randrange(len(log.lines))
    return log.lines[:i + 1] + log.lines[i:]


def swap_lines(rng, log):
    """Two neighbours of one day file change places."""
    same = [i for i in range(len(log.lines) - 1)
            if DAY_RE.search(log.lines[i]).group(1)
            == DAY_RE.search(log.lines[i + 1]).group(1)]
    i = rng.choice(same)
    lines = list(log.lines)
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    return lines


def drop_day_file(rng, log):
    days = sorted({DAY_RE.search(x).group(1) for x in log.lines})
    gone = rng.choice(days)
    return [x for x in log.lines if DAY_RE.search(x).group(1) != gone]


def cut_before_last_checkpoint(rng, log):
    return log.lines[:rng.randrange(1, log.sizes[-1])]


def backup_restored_and_written_on(rng, log):
    """An older copy of the directory put back, and the server writing
    on from it (sealed as it would)."""
    if not log.builder:
        return None
    b = log.builder
    keep = rng.randrange(1, log.sizes[-1])
    saved = (list(b.lines), list(b.days), b.prev, b.clock, b.tree,
             list(b.notes))
    b.rewrite(log.lines[:keep])
    b.queries(rng.randrange(1, len(log.lines) - keep + 3))
    lines = list(b.lines)
    b.lines, b.days, b.prev, b.clock, b.tree, b.notes = saved
    return lines


def covered_query(rng, log):
    """The index of a query line some checkpoint covers."""
    idx = [i for i in range(log.sizes[-1])
           if b'"op":"verify"' in log.lines[i]]
    return rng.choice(idx) if idx else None


def rewrite_and_reseal(rng, log):
    k = covered_query(rng, log)
    if k is None:
        return None
    edit = rng.choice([(b'"status":200', b'"status":403'),
                       (b'"case":"CASE-', b'"case":"CASF-'),
                       (b'"resident":true', b'"resident":false'),
                       (b'"client":"demo"', b'"client":"dem0"')])
    if edit[0] not in log.lines[k]:
        edit = (b'"op":"verify"', b'"op":"verifx"')
    changed = log.lines[k].replace(*edit, 1)
    return reseal(log.lines[:k] + [changed] + log.lines[k + 1:], k)


def delete_and_renumber(rng, log):
    k = rng.randrange(log.sizes[-1])
    return renumber(log.lines[:k] + log.lines[k + 1:])


def insert_and_renumber(rng, log):
    k = rng.randrange(log.sizes[-1])
    return renumber(log.lines[:k] + [log.lines[rng.randrange(k + 1)]]
                    + log.lines[k:])


def fresh_chain_without_checkpoints(rng, log):
    """The whole log rewritten as www-data: a covered line changed, the
    checkpoint lines (which would give it away) left out, every seq and
    hash written anew."""
    lines = rewrite_and_reseal(rng, log)
    if lines is None:
        return None
    return renumber([x for x in lines if b'"op":"checkpoint"' not in x])


def old_checkpoint_copied_forward(rng, log):
    cps = [x for x in log.lines if b'"op":"checkpoint"' in x]
    if len(cps) < 2:
        return None
    old = rng.choice(cps[:-1])
    return renumber(log.lines + [old])


MUTATIONS = [flip_byte, delete_line, insert_copy, duplicate_line,
             swap_lines, drop_day_file, cut_before_last_checkpoint,
             backup_restored_and_written_on, rewrite_and_reseal,
             delete_and_renumber, insert_and_renumber,
             fresh_chain_without_checkpoints, old_checkpoint_copied_forward]


def random_logs(rng, tmp_path, n):
    """@n random logs as Log objects, each with its checkpoint directory
    written: (i, log, cpdir)."""
    for i in range(n):
        b = random_log(rng)
        log = Log(b.lines, [s for s, _ in b.notes], b.key.verifier, b)
        yield i, log, b.checkpoint_dir(tmp_path / ("cp-%d" % i))


def mutate_and_check(tmp_path, rng, log, cpdir, n, tag):
    """@n mutations of @log, each must be refused. Returns how many of
    each kind were made."""
    made = {}
    missed = []
    k = 0
    while k < n:
        mut = MUTATIONS[k % len(MUTATIONS)]
        lines = mut(rng, log)
        if lines is None or lines == log.lines:
            mut = flip_byte
            lines = mut(rng, log)
        d = log.write(tmp_path / ("%s-%d-%s" % (tag, k, mut.__name__)),
                      lines)
        res = run("verify", "--verifier", log.verifier, "--witnessed",
                  cpdir, d)
        if res.returncode != 1 or re.search(r"^OK: ", res.stdout, re.M):
            missed.append("%s: %s" % (d, res.stdout[-600:]))
        made[mut.__name__] = made.get(mut.__name__, 0) + 1
        k += 1
    assert not missed, "mutations not detected:\n" + "\n".join(missed[:5])
    return made


def test_untouched_logs_pass(tmp_path):
    rng = random.Random(350)
    for i in range(100):
        b = random_log(rng)
        log = b.write(tmp_path / ("log-%d" % i))
        cpdir = b.checkpoint_dir(tmp_path / ("cp-%d" % i))
        res = run("verify", "--verifier", b.key.verifier, "--witnessed",
                  cpdir, log)
        assert res.returncode == 0, res.stdout + res.stderr
        assert res.stdout.splitlines()[-1].startswith("OK: ")


def test_mutations_of_built_logs_are_all_detected(tmp_path):
    rng = random.Random(3501)
    made = {}
    for i, log, cpdir in random_logs(rng, tmp_path, 20):
        for kind, count in mutate_and_check(tmp_path, rng, log, cpdir, 45,
                                            "m%d" % i).items():
            made[kind] = made.get(kind, 0) + count
    assert sum(made.values()) == 900
    assert set(made) == {m.__name__ for m in MUTATIONS}, made


class Request:
    param = "prefork"


def test_mutations_of_a_real_log_are_all_detected(tmp_path):
    s = household_server_fixture(Request, n=8, checkpoints=True)
    try:
        for i, person in enumerate(s.people):
            assert s.post(fields_for(person, case="MU-%d" % i)).status == 200
        s.graceful()
        for person in s.people[:4]:
            s.post(fields_for(person, kind="json"))
        s.stop()
        lines = [ln.raw for ln in harness.read_audit(s.audit)]
        cps = [ln for ln in harness.read_audit(s.audit)
               if ln.get("op") == "checkpoint"]
        assert len(cps) >= 3
        log = Log(lines, [c["size"] for c in cps], s.verifier)
        res = run("verify", "--verifier", s.verifier, "--witnessed",
                  s.checkpoint_dir, s.audit)
        assert res.returncode == 0, res.stdout + res.stderr
        made = mutate_and_check(tmp_path, random.Random(3502), log,
                                s.checkpoint_dir, 200, "real")
        assert sum(made.values()) == 200
    finally:
        s.stop()
        s.cleanup()


@pytest.mark.parametrize("mut", MUTATIONS, ids=lambda m: m.__name__)
def test_each_mutation_changes_the_log(mut):
    rng = random.Random(7)
    b = random_log(rng)
    log = Log(b.lines, [s for s, _ in b.notes], b.key.verifier, b)
    got = mut(rng, log)
    assert got is not None and got != log.lines
