"""`verify-audit verify` with its lines checked by several threads
(issue 8, item 8; mod_verify/verify_chain_par.c) says exactly what the
one-thread scan says: for every mutation of t/test_350's corpus, and for
the faults a line can have by itself (bytes, length, JSON, a missing
newline, a file that cannot be opened) and the notes sound lines carry,
the exit status, stdout and stderr are the same byte for byte with
VERIFY_AUDIT_THREADS=1 and with 2 or 3 threads, over windows of 1 to
2,048 lines (VERIFY_AUDIT_WINDOW), so that a fault falls at every place
in a window. A bad VERIFY_AUDIT_THREADS or VERIFY_AUDIT_WINDOW is a
usage error that reads nothing."""

import os
import random
import re
import subprocess
import sys

import harness
from harness.env import CLEAN_ENV, VERIFY_AUDIT
from harness.tlog import reseal, renumber

import test_350_tlog_mutations as m350

WINDOWS = ["1", "2", "3", "7", "64", "2048"]


def verify(args, threads, window=None):
    env = dict(CLEAN_ENV, VERIFY_AUDIT_THREADS=str(threads))
    if window:
        env["VERIFY_AUDIT_WINDOW"] = window
    res = subprocess.run([VERIFY_AUDIT, "verify"] + [str(a) for a in args],
                         capture_output=True, env=env, timeout=300)
    return res.returncode, res.stdout, res.stderr


def same_with_threads(rng, args, what):
    """The answer with one thread, then with 2 or 3 over a random window
    and the default one: all the same. The one-thread answer."""
    one = verify(args, 1)
    for threads, window in ((rng.choice([2, 3]), rng.choice(WINDOWS)),
                            (2, None)):
        got = verify(args, threads, window)
        assert got == one, "%s: threads=%d window=%s differs:\n%r\n%r" % (
            what, threads, window, one, got)
    return one


# -- faults of a line by itself, and lines with notes: beyond test_350 ---

def pick(rng, log):
    return rng.randrange(len(log.lines))


def nul_byte(rng, log):
    lines = list(log.lines)
    i = pick(rng, log)
    at = rng.randrange(10, len(lines[i]) - 10)
    lines[i] = lines[i][:at] + b"\x00" + lines[i][at + 1:]
    return lines


def bad_utf8(rng, log):
    lines = list(log.lines)
    i = pick(rng, log)
    at = rng.randrange(10, len(lines[i]) - 10)
    lines[i] = lines[i][:at] + rng.choice([b"\xff", b"\xc3", b"\x01"]) \
        + lines[i][at:]
    return lines


def too_long(rng, log):
    lines = list(log.lines)
    i = pick(rng, log)
    lines[i] = lines[i].replace(b'"ts":"', b'"pad":"%s","ts":"'
                                % (b"x" * rng.choice([4000, 9000])), 1)
    return reseal(lines, i)


def empty_line(rng, log):
    i = pick(rng, log)
    return log.lines[:i] + [b""] + log.lines[i:]


def not_json_resealed(rng, log):
    lines = list(log.lines)
    i = pick(rng, log)
    lines[i] = lines[i].replace(b'"ts":"', rng.choice(
        [b'"ts":"x","ts":"', b'"ts" "', b'"t\\q":1,"ts":"']), 1)
    return reseal(lines, i)


def escaped_op_resealed(rng, log):
    lines = list(log.lines)
    i = pick(rng, log)
    lines[i] = lines[i].replace(b'"op":"', b'"op":"\\u0063', 1) \
        if b'"op":"checkpoint"' not in lines[i] else \
        lines[i].replace(b'"op":"checkpoint"', b'"op":"\\u0063heckpoint"')
    return reseal(lines, i)


def noted_line_renumbered(rng, log):
    """A clock, unconfirmed or audit_recover line put in (each has a note
    of the scan's own), and the chain written anew."""
    i = pick(rng, log)
    ts = m350.DAY_RE.search(log.lines[i]).group(0)
    body = rng.choice([
        b',"op":"clock","observed":"2026-12-01T08:00:00.000000+08:00"',
        b',"op":"unconfirmed","pid":4242,"seqs":[3,4]',
        b',"op":"audit_recover","detail":"writer died"'])
    raw = (b'{"seq":1,' + ts + b'09:00:00.000000+08:00"' + body
           + b',"prev":"' + b"0" * 64 + b'","hash":"' + b"0" * 64 + b'"}')
    return renumber(log.lines[:i] + [raw] + log.lines[i:])


def ts_back_resealed(rng, log):
    lines = list(log.lines)
    i = rng.randrange(1, len(lines))
    lines[i] = re.sub(rb'("ts":"\d{4}-\d\d-\d\dT)\d\d', rb"\g<1>00",
                      lines[i], count=1)
    return reseal(lines, i)


EXTRA = [nul_byte, bad_utf8, too_long, empty_line, not_json_resealed,
         escaped_op_resealed, noted_line_renumbered, ts_back_resealed]


def test_mutations_say_the_same_with_threads(tmp_path):
    rng = random.Random(352)
    kinds = {}
    for i, log, cpdir in m350.random_logs(rng, tmp_path, 12):
        d = log.write(tmp_path / ("ok-%d" % i), log.lines)
        rc, out, _ = same_with_threads(rng, ["--verifier", log.verifier,
                                             "--witnessed", cpdir, d],
                                       "untouched log %d" % i)
        assert rc == 0 and out.splitlines()[-1].startswith(b"OK: ")
        for k, mut in enumerate(m350.MUTATIONS + EXTRA):
            lines = mut(rng, log)
            if lines is None or lines == log.lines:
                continue
            d = log.write(tmp_path / ("m%d-%d-%s" % (i, k, mut.__name__)),
                          lines)
            args = ["--verifier", log.verifier, "--witnessed", cpdir, d]
            if k % 3 == 0:
                args = [d]          # also without the keys
            rc, out, _ = same_with_threads(rng, args, "%s of log %d"
                                           % (mut.__name__, i))
            if mut in m350.MUTATIONS or mut in (nul_byte, bad_utf8,
                                                too_long, empty_line,
                                                not_json_resealed):
                assert rc == 1 or (mut in m350.MUTATIONS and len(args) == 1)
            kinds[mut.__name__] = kinds.get(mut.__name__, 0) + 1
    assert set(kinds) == {m.__name__ for m in m350.MUTATIONS + EXTRA}, kinds
    assert sum(kinds.values()) >= 200


def test_file_faults_say_the_same_with_threads(tmp_path):
    """A last line without its newline, a file that cannot be opened, a
    FIFO, an empty file, given between sound ones."""
    rng = random.Random(3521)
    b = m350.random_log(rng)
    d = b.write(tmp_path / "log")
    files = sorted(os.path.join(d, f) for f in os.listdir(d))
    assert len(files) >= 2
    last = files[-1]
    with open(last, "rb") as f:
        data = f.read()
    cut = tmp_path / "cut"
    os.makedirs(cut)
    for f in files:
        with open(cut / os.path.basename(f), "wb") as g:
            with open(f, "rb") as h:
                g.write(h.read() if f != last else data[:-1])
    # the second day file a FIFO (not read: said when the walk gets
    # there), after a sound first file and after a broken one
    fifo = tmp_path / "fifo"
    os.makedirs(fifo)
    os.mkfifo(fifo / os.path.basename(files[1]))
    with open(files[0], "rb") as f:
        first = f.read()
    broken = tmp_path / "broken"
    os.makedirs(broken)
    (broken / os.path.basename(files[0])).write_bytes(
        first.replace(b'"status":', b'"statuz":', 1))
    cases = {
        "no newline": [cut],
        "a FIFO": files[:1] + [fifo / os.path.basename(files[1])]
        + files[2:],
        "broken, then a FIFO": [broken / os.path.basename(files[0]),
                                fifo / os.path.basename(files[1])]
        + files[2:],
        "empty file": files[:1] + [tmp_path / "audit-2026-12-01.jsonl"]
        + files[1:],
    }
    (tmp_path / "audit-2026-12-01.jsonl").write_bytes(b"")
    for what, args in cases.items():
        rc, out, err = same_with_threads(rng, ["--verifier", b.key.verifier]
                                         + args, what)
        if what != "empty file":
            assert rc == 1, (what, out, err)
        if what == "a FIFO":
            assert b"not a regular file" in err
        if what == "broken, then a FIFO":
            assert b"BROKEN" in out and b"regular" not in err


def test_a_month_says_the_same_with_threads(tmp_path):
    """A generated month of a few thousand lines (scripts/gen-audit.py),
    whole and with a fault deep inside: many windows and tasks."""
    subprocess.run([sys.executable, os.path.join(harness.env.REPO, "scripts",
                                                 "gen-audit.py"),
                    "--month", "2026-10", "--lines", "3000", "--out",
                    str(tmp_path / "month")], check=True,
                   capture_output=True, timeout=300)
    key = (tmp_path / "month" / "verifier").read_text().strip()
    os.unlink(tmp_path / "month" / "verifier")
    rng = random.Random(3522)
    rc, out, _ = same_with_threads(rng, ["--verifier", key,
                                         tmp_path / "month"], "the month")
    assert rc == 0 and b"chain intact" in out.splitlines()[-1]
    files = sorted((tmp_path / "month").iterdir())
    victim = files[len(files) // 2]
    raw = victim.read_bytes().split(b"\n")
    raw[len(raw) // 2] = raw[len(raw) // 2].replace(b'"status":', b'"statuz":',
                                                    1)
    victim.write_bytes(b"\n".join(raw))
    for window in ("1", "5", "100", None):
        one = verify(["--verifier", key, tmp_path / "month"], 1)
        assert one[0] == 1 and b"BROKEN" in one[1]
        assert verify(["--verifier", key, tmp_path / "month"], 2,
                      window) == one


def test_bad_thread_settings_are_refused(tmp_path):
    b = m350.random_log(random.Random(3523))
    d = b.write(tmp_path / "log")
    for name, value in (("VERIFY_AUDIT_THREADS", "0"),
                        ("VERIFY_AUDIT_THREADS", "65"),
                        ("VERIFY_AUDIT_THREADS", "two"),
                        ("VERIFY_AUDIT_THREADS", "2x"),
                        ("VERIFY_AUDIT_THREADS", "-1"),
                        ("VERIFY_AUDIT_WINDOW", "0"),
                        ("VERIFY_AUDIT_WINDOW", "4096")):
        env = dict(CLEAN_ENV, **{name: value})
        res = subprocess.run([VERIFY_AUDIT, "verify", d], capture_output=True,
                             env=env, timeout=60, text=True)
        assert res.returncode == 2, (name, value, res.stdout, res.stderr)
        assert res.stdout == ""
        assert "%s must be a whole number" % name in res.stderr
