"""The R5.2 records log (issue 8, items 3 and 6): who audits whom, what
each auditor found, the joint investigations with the Ethics Office and
the whitelist reviews, in a chained log of their own whose heads the
audit chain attests (the event spool, drained by httpd) and so the
signed checkpoints cover.

One real httpd whose parent signs checkpoints lives through the ends of
October and November 2026 under libfaketime (two official months, each
closed by its "month" checkpoint), then runs on at the real time so that
the records events are drained into its audit chain. The same four
operators query in both months, so the second round must rotate every
auditor; one auditor alone cannot, and is told why."""

import csv
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

import harness
from harness import fields_for
from harness.env import CLEAN_ENV, VERIFY_AUDIT, today_taipei
from harness.tlog import reseal

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
MONTHS = {"2026-10": "@2026-10-31 15:59:30",     # 23:59:30 Taipei
          "2026-11": "@2026-11-30 15:59:30"}
# (operator, queries) of every month: all answered, fewer than 10 a month,
# so every line is in the sample
OPS = [("clerk0", 2), ("clerk1", 2), ("clerk2", 1), ("clerk3", 1)]

pytestmark = pytest.mark.skipif(not os.path.exists(FAKETIME_LIB),
                                reason="libfaketime is not installed")


def audit(*args, env=None, prefix=()):
    return subprocess.run(list(prefix) + [VERIFY_AUDIT] + [str(a) for a in args],
                          capture_output=True, env=env or CLEAN_ENV,
                          timeout=180, text=True, errors="replace")


def wait_for(pred, timeout, step=0.5):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def month_checkpoints(s):
    return [ln.obj for ln in harness.read_audit(s.audit)
            if ln.obj.get("op") == "checkpoint"
            and ln.obj.get("reason") == "month"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A server with two closed months (s.people, s.spool), running at the
    real time from then on."""
    s = harness.Server(checkpoints=True)
    gen = harness.People("test_191")
    s.people = gen.batch(8)
    s.import_household(s.people)
    s.spool = os.path.join(s.store, "events")
    try:
        for n, (month, fake) in enumerate(sorted(MONTHS.items()), 1):
            s.env["LD_PRELOAD"] = FAKETIME_LIB
            s.env["FAKETIME"] = fake
            s.env["FAKETIME_DONT_RESET"] = "1"
            s.start()
            k = 0
            for op, count in OPS:
                for _ in range(count):
                    r = s.post(fields_for(s.people[k], case="C-%s-%d"
                                          % (month, k), operator=op))
                    assert r.status == 200, r
                    k += 1
            if month == "2026-11":      # a refusal: never in the sample
                r = s.post(fields_for(s.people[0], operator="x"),
                           source_address=("127.0.0.9", 0))
                assert r.status == 403
            assert wait_for(lambda: len(month_checkpoints(s)) >= n, 90), \
                "no month checkpoint after %s" % month
            s.stop()
        for k in ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_RESET"):
            del s.env[k]
        s.start()
        yield s
    finally:
        s.stop()
        s.cleanup()


def persons_of(s, month):
    """(client, operator) of the month's answered queries, from the log."""
    return {(ln.obj["client"], ln.obj["operator"])
            for ln in harness.read_audit(s.audit)
            if ln.obj.get("op") == "verify" and ln.obj.get("status") == 200
            and ln.obj["ts"].startswith(month)}


def records(d):
    path = os.path.join(str(d), "records.jsonl")
    if not os.path.exists(path):
        return []
    return [json.loads(x) for x in open(path, encoding="utf-8")]


def raw_records(d):
    return open(os.path.join(str(d), "records.jsonl"), "rb").read()


def assign(s, d, month, auditors, *more):
    return audit("assign", "--month", month, "--auditors", auditors,
                 "--verifier", s.verifier, "--records", d, "--events",
                 s.spool, *more, s.audit)


def assigned(d, month):
    return {(r["client"], r["operator"]): r["auditor"] for r in records(d)
            if r["op"] == "assign" and r["month"] == month}


@pytest.fixture(scope="module")
def rounds(world, tmp_path_factory):
    """A records directory with October and November assigned to alice and
    bob."""
    d = tmp_path_factory.mktemp("r191") / "records"
    for month in ("2026-10", "2026-11"):
        res = assign(world, d, month, "alice,bob")
        assert res.returncode == 0, res.stdout + res.stderr
    return d


def test_assignment_rotates_balances_and_is_recorded(world, rounds):
    s = world
    octo, nov = assigned(rounds, "2026-10"), assigned(rounds, "2026-11")
    # every person of the sample (here: of the month) is assigned
    assert set(octo) == persons_of(s, "2026-10") and len(octo) == 4
    assert set(nov) == persons_of(s, "2026-11")
    # never the auditor of the previous round
    for person, who in nov.items():
        assert who in ("alice", "bob") and who != octo[person], person
    # balanced by lines: 3 and 3 of the 6
    lines = dict((("testsys", op), n) for op, n in OPS)
    for m in (octo, nov):
        load = {a: sum(lines[p] for p, w in m.items() if w == a)
                for a in ("alice", "bob")}
        assert load == {"alice": 3, "bob": 3}, m
    rnd = [r for r in records(rounds) if r["op"] == "assign_round"]
    assert [r["month"] for r in rnd] == ["2026-10", "2026-11"]
    assert rnd[1]["sample_lines"] == 6 and rnd[1]["unassigned"] == 0
    assert all(r["user"] for r in records(rounds))
    nov_rec = [r for r in records(rounds)
               if r["op"] == "assign" and r["month"] == "2026-11"]
    assert all(r["previous_month"] == "2026-10" for r in nov_rec)


def test_assignment_it_cannot_make_is_explained(world, tmp_path):
    s, d = world, tmp_path / "records"
    assert assign(s, d, "2026-10", "alice").returncode == 0
    before = raw_records(d)
    res = assign(s, d, "2026-11", "alice")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "cannot assign 4 persons" in res.stdout
    for op, _ in OPS:
        assert ("testsys / %s: the only auditor given, alice, audited this "
                "person in their previous round (2026-10)" % op) in res.stdout
    nov = [r for r in records(d) if r["op"] == "assign"
           and r["month"] == "2026-11"]
    assert len(nov) == 4 and all(r["auditor"] is None and "alice" in r["why"]
                                 for r in nov)
    assert raw_records(d).startswith(before)
    # another auditor: only those left open are assigned, to carol
    res = assign(s, d, "2026-11", "alice,carol")
    assert res.returncode == 0, res.stdout + res.stderr
    assert set(assigned(d, "2026-11").values()) == {"carol"}
    # nothing left: nothing recorded
    n = len(records(d))
    res = assign(s, d, "2026-11", "dave")
    assert res.returncode == 0 and "assigned already" in res.stdout
    assert len(records(d)) == n


def test_bad_assign_input_changes_nothing(world, tmp_path):
    s, d = world, tmp_path / "records"
    for bad in ("alice,,bob", "alice,alice", "a\tb"):
        res = assign(s, d, "2026-11", bad)
        assert res.returncode == 2, (bad, res.stderr)
    # an open month has no official sample: nothing assigned
    res = assign(s, d, "2026-12", "alice,bob")
    assert res.returncode == 1 and "no official sample" in res.stderr
    res = audit("assign", "--month", "2026-11", "--auditors", "a,b",
                "--records", d, s.audit)
    assert res.returncode == 2 and "--verifier" in res.stderr
    assert records(d) == []


def sample_line(s, month, op):
    return [ln.obj for ln in harness.read_audit(s.audit)
            if ln.obj.get("op") == "verify" and ln.obj.get("status") == 200
            and ln.obj["ts"].startswith(month)
            and ln.obj["operator"] == op]


def finding(s, d, *args):
    return audit("finding", "--month", "2026-11", "--verifier", s.verifier,
                 "--records", d, "--events", s.spool, *args, s.audit)


def test_findings_auditor_checked_pii_masked_open_anomalies(world, rounds,
                                                            tmp_path):
    s, d = world, rounds
    nov = assigned(d, "2026-11")
    l0, l1 = sample_line(s, "2026-11", "clerk0")
    right = nov[("testsys", "clerk0")]
    wrong = "bob" if right == "alice" else "alice"
    n = len(records(d))
    res = finding(s, d, "--seq", l0["seq"], "--auditor", wrong,
                  "--result", "in-order")
    assert res.returncode == 1
    assert "assigned to %s, not to %s" % (right, wrong) in res.stderr
    assert len(records(d)) == n
    # by the auditor assigned, by request_id: recorded
    res = finding(s, d, "--request-id", l0["request_id"], "--auditor", right,
                  "--result", "in-order")
    assert res.returncode == 0, res.stderr
    # a second finding of the same line is refused
    res = finding(s, d, "--seq", l0["seq"], "--auditor", right,
                  "--result", "anomaly", "--note", "x")
    assert res.returncode == 1 and "recorded already" in res.stderr
    # an anomaly: an ID and a phone number in the note are masked
    pid = s.people[5].id
    res = finding(s, d, "--seq", l1["seq"], "--auditor", right,
                  "--result", "anomaly", "--note",
                  "queried %s for a friend, called 0912-345-678" % pid)
    assert res.returncode == 0, res.stderr
    assert "masked" in res.stderr and "OPEN" in res.stdout
    raw = raw_records(d).decode()
    assert pid not in raw and "0912-345-678" not in raw
    assert pid[:3] + "*****" + pid[8:] in raw
    # another auditor only when told so, and the record says so
    l2 = sample_line(s, "2026-11", "clerk2")[0]
    res = finding(s, d, "--seq", l2["seq"], "--auditor", "zoe",
                  "--result", "in-order")
    assert res.returncode == 1
    res = finding(s, d, "--seq", l2["seq"], "--auditor", "zoe",
                  "--result", "in-order", "--any-auditor")
    assert res.returncode == 0, res.stderr
    assert records(d)[-1]["not_assigned"] is True
    # a line not in the sample (the refusal), usage faults
    refusal = [ln.obj for ln in harness.read_audit(s.audit)
               if ln.obj.get("error") == "unknown_client"][0]
    n = len(records(d))
    res = finding(s, d, "--seq", refusal["seq"], "--auditor", right,
                  "--result", "in-order")
    assert res.returncode == 1 and "not in the official sample" in res.stderr
    for bad in (["--seq", l1["seq"], "--auditor", right, "--result",
                 "anomaly"],
                ["--seq", l1["seq"], "--auditor", right, "--result", "odd"],
                ["--auditor", right, "--result", "in-order"],
                ["--seq", l1["seq"], "--auditor", right, "--result",
                 "in-order", "--ethics", "Lin"]):
        res = finding(s, d, *bad)
        assert res.returncode == 2, (bad, res.stderr)
    # a note too long for a line of the records log
    l3 = sample_line(s, "2026-11", "clerk3")[0]
    res = finding(s, d, "--seq", l3["seq"], "--auditor",
                  nov[("testsys", "clerk3")], "--result", "anomaly",
                  "--note", "x" * 5000)
    assert res.returncode == 1 and "shorten the note" in res.stderr
    assert len(records(d)) == n
    # the year's list: the anomaly is OPEN until its investigation
    out = tmp_path / "f.csv"
    res = audit("findings", "--year", "2026", "--records", d, "--csv", out)
    assert res.returncode == 0, res.stderr
    assert "1 anomalies, 1 OPEN" in res.stdout
    assert "OPEN: no joint investigation with the Ethics Office" in res.stdout
    rows = list(csv.DictReader(open(out, encoding="utf-8-sig")))
    assert [r["status"] for r in rows if r["kind"] == "finding"
            and r["result"] == "anomaly"] == ["OPEN"]
    assert len([r for r in rows if r["kind"] == "assignment"]) == 8
    res = audit("investigation", "--month", "2026-11", "--seq", l0["seq"],
                "--ethics", "Lin", "--ethics-date", "2026-12-01",
                "--conclusion", "x", "--records", d, "--events", s.spool)
    assert res.returncode == 1 and "no anomaly" in res.stderr
    res = audit("investigation", "--month", "2026-11", "--seq", l1["seq"],
                "--ethics", "Lin Mei", "--ethics-date", "2026-12-01",
                "--conclusion", "operator warned; no data left the office",
                "--records", d, "--events", s.spool)
    assert res.returncode == 0, res.stderr
    res = audit("findings", "--year", "2026", "--records", d)
    assert "1 anomalies, 0 OPEN" in res.stdout, res.stdout
    assert "Lin Mei, 2026-12-01: operator warned" in res.stdout


def verify_records(s, d):
    return audit("verify", "--verifier", s.verifier, "--records", d, s.audit)


def test_records_heads_attested_and_tampering_caught(world, rounds,
                                                     tmp_path):
    s, d = world, rounds
    recs = records(d)
    last = recs[-1]
    # the event naming the head is drained into the audit chain
    ev = wait_for(lambda: [ln.obj for ln in harness.read_audit(s.audit)
                           if ln.obj.get("op") == "records"
                           and ln.obj.get("head_seq") == last["seq"]], 60)
    assert ev and ev[-1]["head_hash"] == last["hash"]
    assert ev[-1]["records_first"] == recs[0]["hash"]
    res = wait_for(lambda: (lambda r: r if "intact and attested" in r.stdout
                            else None)(verify_records(s, d)), 30)
    assert res and res.returncode == 0, res
    assert "not covered:  none" in res.stdout
    # one byte changed: the records chain is broken
    bad = tmp_path / "bad"
    shutil.copytree(d, bad)
    orig = raw_records(d).split(b"\n")[:-1]
    lines = list(orig)
    lines[1] = lines[1].replace(b'"auditor":"', b'"auditor":"X', 1)
    open(bad / "records.jsonl", "wb").write(b"\n".join(lines) + b"\n")
    res = verify_records(s, bad)
    assert res.returncode == 1 and "NOT INTACT" in res.stdout
    assert "chain is broken" in res.stdout
    res = audit("investigation", "--month", "2026-11", "--seq", "1",
                "--ethics", "A", "--ethics-date", "2026-12-01",
                "--conclusion", "x", "--records", bad, "--events", s.spool)
    assert res.returncode == 1 and "chain is broken" in res.stderr
    res = audit("findings", "--year", "2026", "--records", bad)
    assert res.returncode == 1 and "chain is broken" in res.stderr
    assert res.stdout == ""
    # re-hashed so that its own chain holds: the audit chain disagrees
    open(bad / "records.jsonl", "wb").write(
        b"\n".join(reseal(lines, 1)) + b"\n")
    res = verify_records(s, bad)
    assert res.returncode == 1, res.stdout
    assert "the records log was rewritten" in res.stdout
    # cut short: records removed after their head was attested
    open(bad / "records.jsonl", "wb").write(b"\n".join(orig[:2]) + b"\n")
    res = verify_records(s, bad)
    assert res.returncode == 1 and "records were removed" in res.stdout


def test_records_not_yet_attested_are_named(world, tmp_path):
    s, d = world, tmp_path / "records"
    spool = tmp_path / "spool"          # a spool nobody drains
    os.mkdir(spool, 0o700)
    reg = tmp_path / "clients.conf"
    reg.write_text("VerifyClient testsys ip=127.0.0.1 checks=resident "
                   "approval=A valid=2020-01-01..2099-12-31\n")
    res = audit("ip-review", "--config", reg, "--record", "--reviewer",
                "Chen", "--records", d, "--events", spool, s.audit)
    assert res.returncode == 0, res.stderr
    res = verify_records(s, d)
    assert res.returncode == 0, res.stdout
    assert "not covered:  records seq 1..1" in res.stdout
    assert "ip_review" in res.stdout
    # no spool at all: refused, nothing recorded
    d2 = tmp_path / "records2"
    res = audit("ip-review", "--config", reg, "--record", "--reviewer",
                "Chen", "--records", d2, "--events", tmp_path / "nospool",
                s.audit)
    assert res.returncode == 1 and "event spool" in res.stderr
    assert records(d2) == []


def test_only_root_appends(world, tmp_path):
    s = world
    pub = tempfile.mkdtemp(prefix="t191-")     # a place nobody can read
    try:
        os.chmod(pub, 0o755)
        reg = os.path.join(pub, "clients.conf")
        with open(reg, "w") as f:
            f.write("VerifyClient testsys ip=127.0.0.1 checks=resident "
                    "approval=A valid=2020-01-01..2099-12-31\n")
        os.chmod(reg, 0o644)
        log = os.path.join(pub, "audit")
        shutil.copytree(s.audit, log)
        for n in [log] + [os.path.join(log, x) for x in os.listdir(log)]:
            os.chmod(n, 0o755 if os.path.isdir(n) else 0o644)
        d = os.path.join(pub, "records")
        nobody = ("setpriv", "--reuid=65534", "--regid=65534",
                  "--clear-groups")
        res = audit("ip-review", "--config", reg, "--record", "--reviewer",
                    "C", "--records", d, "--events", s.spool, log,
                    prefix=nobody)
        assert res.returncode == 1, res.stdout + res.stderr
        assert "only root can append" in res.stderr
        res = audit("investigation", "--month", "2026-11", "--seq", "1",
                    "--ethics", "A", "--ethics-date", "2026-12-01",
                    "--conclusion", "x", "--records", d, "--events",
                    s.spool, prefix=nobody)
        assert res.returncode == 1 and "only root can append" in res.stderr
        assert not os.path.exists(d)
    finally:
        shutil.rmtree(pub)
    reg = tmp_path / "clients.conf"
    reg.write_text("VerifyClient testsys ip=127.0.0.1 checks=resident "
                   "approval=A valid=2020-01-01..2099-12-31\n")
    d = tmp_path / "records"
    # a records directory others can write is refused
    os.mkdir(d, 0o770)
    os.chmod(d, 0o770)
    res = audit("ip-review", "--config", reg, "--record", "--reviewer", "C",
                "--records", d, "--events", s.spool, s.audit)
    assert res.returncode == 1 and "written by others" in res.stderr
    assert records(d) == []


def client_line(name, until):
    return ("VerifyClient %s ip=127.0.0.%d checks=resident approval=AP-%s "
            "valid=2020-01-01..%s\n" % (name, 20 + len(name), name, until))


def test_ip_review_flags_approvals_and_records_the_review(world, tmp_path):
    s, d = world, tmp_path / "records"
    today = today_taipei()
    day = datetime.timedelta(days=1)
    reg = tmp_path / "clients.conf"
    reg.write_text(client_line("ended", (today - day).isoformat())
                   + client_line("soon", (today + 10 * day).isoformat())
                   + client_line("edge", (today + 30 * day).isoformat())
                   + client_line("later", (today + 31 * day).isoformat()))
    res = audit("ip-review", "--config", reg, s.audit)
    assert res.returncode == 0, res.stderr
    rows = {ln.split()[1]: ln for ln in res.stdout.splitlines()
            if ln.startswith("AP-")}
    assert set(rows) == {"ended", "soon", "edge", "later"}, res.stdout
    assert "ENDED 1 day ago" in rows["ended"]
    assert "ENDS in 10 days" in rows["soon"]
    assert "ENDS in 30 days" in rows["edge"]
    assert "in force" in rows["later"]
    assert "approvals: 1 ended, 2 ending within 30 days" in res.stdout
    for bad in (("--record",), ("--reviewer", "x"),
                ("--record", "--reviewer", "a,b")):
        r = audit("ip-review", "--config", reg, "--records", d, *bad,
                  s.audit)
        assert r.returncode == 2, (bad, r.stderr)
    assert records(d) == []
    res = audit("ip-review", "--config", reg, "--record", "--reviewer",
                "Chen Yi", "--records", d, "--events", s.spool, s.audit)
    assert res.returncode == 0, res.stderr
    [rec] = records(d)
    assert rec["op"] == "ip_review" and rec["reviewer"] == "Chen Yi"
    assert rec["approvals_ended"] == 1 and rec["approvals_ending"] == 2
    assert rec["audit_head"]["seq"] > 0


def test_review_older_than_six_months_is_warned(world, tmp_path):
    s, d = world, tmp_path / "records"
    reg = tmp_path / "clients.conf"
    reg.write_text(client_line("testsys", "2099-12-31"))
    warn = "verify-audit: warning:"
    res = audit("findings", "--year", "2026", "--records", d)
    assert res.returncode == 0
    assert warn + " no whitelist review (R3.8) is recorded" in res.stderr
    # a review 200 days ago (the tool's clock set back by libfaketime)
    old = dict(CLEAN_ENV, LD_PRELOAD=FAKETIME_LIB, FAKETIME="-200d")
    res = audit("ip-review", "--config", reg, "--record", "--reviewer", "Wu",
                "--records", d, "--events", s.spool, s.audit, env=old)
    assert res.returncode == 0, res.stderr
    then = (today_taipei() - datetime.timedelta(days=200)).isoformat()
    assert records(d)[0]["ts"].startswith(then)
    for cmd in (["findings", "--year", "2026"], ["roster", s.audit],
                ["verify", s.audit]):
        res = audit(*cmd, "--records", d)
        assert res.returncode == 0, (cmd, res.stderr)
        assert ("%s the last whitelist review (R3.8) recorded in %s is of %s "
                "by Wu, more than 6 months ago" % (warn, d, then)) \
            in res.stderr, (cmd, res.stderr)
    # usage errors are not commands run: no warning
    res = audit("findings", "--records", d)
    assert res.returncode == 2 and warn not in res.stderr
    res = audit("ip-review", "--config", reg, "--record", "--reviewer", "Wu",
                "--records", d, "--events", s.spool, s.audit)
    assert res.returncode == 0
    res = audit("findings", "--year", "2026", "--records", d)
    assert warn not in res.stderr, res.stderr


# -- the jq recipes of docs/audit-guide.md §17 --------------------------------

GUIDE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "docs", "audit-guide.md")
RECIPE_RE = re.compile(r"<!-- jq-recipe: ([\w-]+) -->\n```sh\n(.*?)\n```",
                       re.S)


def taipei_epoch(ts):
    return int(datetime.datetime.fromisoformat(ts).timestamp())


def expected_recipes(lines, recs):
    """What each recipe must print, computed here from the parsed lines."""
    q = [o for o in lines if o.get("op") == "verify"]
    tz = datetime.timezone(datetime.timedelta(hours=8))

    def off(o):
        t = datetime.datetime.fromisoformat(o["ts"]).astimezone(tz)
        return t.weekday() >= 5 or t.hour < 8 or t.hour >= 18

    per_op = {}
    for o in q:
        if o["status"] == 200 and o["ts"].startswith("2026-11"):
            k = (o["client"], o["operator"])
            per_op[k] = per_op.get(k, 0) + 1
    refusals = {}
    for o in q:
        if o["status"] != 200:
            k = (o["status"], o.get("error"))
            refusals[k] = refusals.get(k, 0) + 1
    done = {(r["month"], r["line_seq"]) for r in recs
            if r["op"] == "investigation"}
    return {
        "epoch": ["%d\t%d" % (o["seq"], taipei_epoch(o["ts"])) for o in q],
        "off-hours": [str(o["seq"]) for o in q if off(o)],
        "between": [str(o["seq"]) for o in lines
                    if "2026-11-30T23:00:00" <= o["ts"][:19]
                    < "2026-12-01T00:00:00"],
        "per-operator": [json.dumps(
            [{"client": c, "operator": op, "queries": n}
             for (c, op), n in sorted(per_op.items())],
            separators=(",", ":"))],
        "refusals": [json.dumps(
            [{"status": s, "error": e, "n": n}
             for (s, e), n in sorted(refusals.items(),
                                     key=lambda kv: (kv[0][0],
                                                     kv[0][1] or ""))],
            separators=(",", ":"))],
        "service": [json.dumps([o["seq"], o["op"]], separators=(",", ":"))
                    for o in lines if o.get("op") != "verify"],
        "attested-heads": [json.dumps({"seq": o["seq"],
                                       "head_seq": o["head_seq"],
                                       "head_hash": o["head_hash"]},
                                      separators=(",", ":"))
                           for o in lines if o.get("op") == "records"],
        "open-anomalies": [json.dumps({"month": r["month"],
                                       "line_seq": r["line_seq"],
                                       "auditor": r["auditor"]},
                                      separators=(",", ":"))
                           for r in recs if r["op"] == "finding"
                           and r["result"] == "anomaly"
                           and r["investigation"] is None
                           and (r["month"], r["line_seq"]) not in done],
        "assignments": [json.dumps([r["month"], r["client"], r["operator"],
                                    r["auditor"]], separators=(",", ":"))
                        for r in recs if r["op"] == "assign"],
    }


def test_documented_jq_recipes_on_a_real_log(world, tmp_path):
    s = world
    d = tmp_path / "records"
    assert assign(s, d, "2026-11", "alice,bob").returncode == 0
    nov = assigned(d, "2026-11")
    l0, l1 = sample_line(s, "2026-11", "clerk1")
    for line, result in ((l0, "in-order"), (l1, "anomaly")):
        res = finding(s, d, "--seq", line["seq"], "--auditor",
                      nov[("testsys", "clerk1")], "--result", result,
                      "--note", "seen")
        assert res.returncode == 0, res.stderr
    head = records(d)[-1]
    assert wait_for(lambda: [ln for ln in harness.read_audit(s.audit)
                             if ln.obj.get("head_hash") == head["hash"]], 60)
    work = tmp_path / "work"
    os.mkdir(work)
    shutil.copytree(s.audit, work / "audit")
    shutil.copytree(d, work / "records")
    lines = [ln.obj for ln in harness.read_audit(str(work / "audit"))]
    want = expected_recipes(lines, records(work / "records"))
    recipes = RECIPE_RE.findall(open(GUIDE, encoding="utf-8").read())
    assert len(recipes) >= 9, "the recipes of audit-guide.md §17"
    assert sorted(n for n, _ in recipes) == sorted(want), \
        "a recipe without a check here, or a check without its recipe"
    for name, cmd in recipes:
        res = subprocess.run(["bash", "-c", cmd], cwd=str(work),
                             capture_output=True, text=True, timeout=60,
                             env=CLEAN_ENV)
        assert res.returncode == 0, (name, res.stderr)
        got = res.stdout.splitlines()
        assert got == want[name], (name, cmd, got, want[name])
    # the recipes are not trivially empty on this log
    for name in ("off-hours", "between", "attested-heads", "open-anomalies",
                 "assignments", "service", "refusals"):
        assert want[name] and want[name] != ["[]"], name
