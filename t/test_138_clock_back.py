"""The clock behind the chain: a full restart (and a restart after that)
while the clock reads two days before the last line, made real with
libfaketime preloaded into httpd. The chain must not fork: every line
follows the true head into the newest file, with a ts that never goes
back, and a "clock" line records what the clock read. `verify-audit
verify` warns about a ts that goes back in a log written otherwise."""

import datetime
import os
import re

import pytest

import harness
from harness import fields_for

# Debian's libfaketime (package faketime); the MT build serves the
# threads of the event MPM too
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
BEHIND = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "-2d"}

needs_faketime = pytest.mark.skipif(
    not os.path.exists(FAKETIME_LIB),
    reason="libfaketime is not installed (scripts/install-deps.sh)")


def ts_time(ts):
    return datetime.datetime.fromisoformat(ts)


@needs_faketime
@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_full_restarts_with_the_clock_behind(make_server, mpm):
    s = make_server(mpm=mpm)
    s.expect_log(r"\[verify:warn\].*VFY90: the clock \(\S+\) is behind "
                 r"the audit log's last line")
    gen = harness.People()
    people = gen.batch(3)
    s.import_household(people)
    s.start()
    assert s.post(fields_for(people[0], case="BEFORE")).status == 200
    s.stop()
    files_before = harness.audit_files(s.audit)
    head = harness.read_audit(s.audit)[-1]

    # two days back: the clock's day is one no line was written on
    s.env = dict(harness.CLEAN_ENV, **BEHIND)
    for i in range(2):          # the second start finds the first's lines
        s.start()
        r = s.post(fields_for(people[1], case="BEHIND-%d" % i))
        assert r.status == 200, r.text
        s.stop()
    s.env = dict(harness.CLEAN_ENV)
    s.start()
    assert s.post(fields_for(people[2], case="AFTER")).status == 200

    lines = harness.read_audit(s.audit)
    assert not harness.chain_problems(lines), harness.chain_problems(lines)
    assert not harness.line_format_problems(lines)
    # no earlier day's file: the newest file took every line
    assert all(f >= files_before[-1] for f in harness.audit_files(s.audit))
    later = [l for l in lines if l["seq"] > head["seq"]]
    clocks = [l for l in later if l.get("op") == "clock"]
    # the first start behind, and the second (after a stop: the head is
    # read again from the files) both record the clock
    assert len(clocks) == 2, clocks
    for c in clocks:
        assert ts_time(c["observed"]) < ts_time(c["last"])
        assert c["ts"] == c["last"]
        assert ts_time(c["last"]) - ts_time(c["observed"]) > \
            datetime.timedelta(days=1, hours=23)
    behind = [l for l in later if str(l.get("case", "")).startswith("BEHIND")]
    assert len(behind) == 2
    for l in behind:
        assert l["ts"] == head["ts"]    # held at the last line's time
        assert l.file == head.file
    # each start line follows its clock line at once
    for c in clocks:
        nxt = [l for l in lines if l["seq"] == c["seq"] + 1][0]
        assert nxt.get("op") == "start"
    res = harness.run_audit_tool("verify", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    assert ": warning:" not in res.stdout, res.stdout
    assert res.stdout.count("the server's clock read") == 2, res.stdout


def test_verify_warns_about_a_ts_that_goes_back(tmp_path):
    """A log whose chain holds but whose ts goes back (a writer without
    the clamp, or lines rewritten): verify says so at the line, and the
    verdict says there are warnings."""
    d = tmp_path / "audit"
    d.mkdir()
    stamps = ["2026-11-27T10:00:00.000001+08:00",
              "2026-11-27T10:00:05.000000+08:00",
              "2026-11-27T09:59:59.999999+08:00",     # back 5 s
              "2026-11-27T10:00:06.000000+08:00"]
    prev, out = harness.ZERO_HASH, b""
    for i, ts in enumerate(stamps, 1):
        line, prev = harness.seal_line(i, ts, ',"op":"x"', prev)
        out += line + b"\n"
    (d / "audit-2026-11-27.jsonl").write_bytes(out)
    res = harness.run_audit_tool("verify", str(d))
    assert res.returncode == 0, res.stdout + res.stderr
    warn = [l for l in res.stdout.splitlines() if ": warning:" in l]
    assert len(warn) == 1, res.stdout
    assert re.search(r"audit-2026-11-27\.jsonl:3: warning: seq 3: ts "
                     r"2026-11-27T09:59:59\.999999\+08:00 goes back before "
                     r"the previous line's 2026-11-27T10:00:05\.000000\+08:00",
                     warn[0]), warn[0]
    assert res.stdout.splitlines()[-1].startswith("OK: 4 lines")
    assert res.stdout.splitlines()[-1].endswith("(with warnings above)")
    # equal times are not a step back
    prev, out = harness.ZERO_HASH, b""
    for i, ts in enumerate([stamps[0], stamps[0], stamps[1]], 1):
        line, prev = harness.seal_line(i, ts, ',"op":"x"', prev)
        out += line + b"\n"
    (d / "audit-2026-11-27.jsonl").write_bytes(out)
    res = harness.run_audit_tool("verify", str(d))
    assert res.returncode == 0 and ": warning:" not in res.stdout, \
        res.stdout
