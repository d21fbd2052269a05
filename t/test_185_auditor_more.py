"""The rest of the auditor's commands (SPEC section 5): `verify-audit
subject` (every line about one person, R4.2.5 / R5.5), `roster` (the
register of everyone who queried, R4.3), `ip-review` (the six-monthly
whitelist review, R3.8) and `purge` (never younger than 5 years, R4.1.5 /
R4.2.5, with a checkpoint `verify` resumes from)."""

import datetime
import json
import os
import re
import shutil

import pytest

import harness
from harness import fields_for

CLIENTS = [
    "testsys ip=127.0.0.1,127.0.0.2 checks=resident,indigenous "
    "approval=APP-2026-001 valid=2020-01-01..2099-12-31",
]

# (person index, operator, source address, check, expected status)
QUERIES = [
    (0, "clerkA", "127.0.0.1", "resident", 200),
    (1, "clerkA", "127.0.0.1", "resident", 200),
    (0, "clerkB", "127.0.0.2", "resident", 200),
    (2, "clerkB", "127.0.0.2", "resident", 200),
    (0, "clerkA", "127.0.0.1", "disability", 403),
    (1, "clerkB", "127.0.0.2", "indigenous", 200),
]


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    s = harness.Server(mpm="event", clients=CLIENTS)
    gen = harness.People("test_185")
    s.people = gen.batch(4)
    s.import_household(s.people)
    try:
        s.start()
        s.rids = {}             # person index -> [request_id]
        for who, op, ip, check, status in QUERIES:
            r = s.post(fields_for(s.people[who], check=check, operator=op,
                                  case="C185-%d" % who),
                       source_address=(ip, 0))
            assert r.status == status, r
            s.rids.setdefault(who, []).append(r.json["request_id"])
        s.copy = str(tmp_path_factory.mktemp("auditor185") / "audit")
        shutil.copytree(s.audit, s.copy)
        yield s
        s.stop()
    finally:
        s.cleanup()


def rows(out, first):
    """Table rows (split on 2+ spaces) whose first cell is @first."""
    return [re.split(r"\s{2,}", ln.strip()) for ln in out.splitlines()
            if ln.startswith(first + " ")]


# -- subject ------------------------------------------------------------

def test_subject_finds_exactly_one_person(logs):
    s = logs
    for i in range(3):
        pid = s.people[i].id
        for given in (pid, pid.lower()):
            res = harness.run_audit_tool("subject", "--id", given, "--key",
                                         s.key, s.copy)
            out = res.stdout + res.stderr
            assert res.returncode == 0, out
            assert pid not in out and pid.lower() not in out
            assert harness.mask_id(pid) in res.stdout
            found = set(re.findall(r"\b[0-9a-f]{24}\b", res.stdout))
            assert found == set(s.rids[i]), (i, res.stdout)
            assert "lines:        %d" % len(s.rids[i]) in res.stdout
            assert harness.subject_tag(s.key, pid) in res.stdout
    # the refused query is listed with its error, both operators appear
    res = harness.run_audit_tool("subject", "--id", s.people[0].id,
                                 "--key", s.key, s.copy)
    assert "403 check_not_permitted" in res.stdout
    assert "clerkA" in res.stdout and "clerkB" in res.stdout


def test_subject_id_from_stdin(logs):
    """--id - reads the ID from stdin (out of the process list)."""
    import subprocess
    s = logs
    pid = s.people[1].id
    res = subprocess.run([harness.VERIFY_AUDIT, "subject", "--id", "-",
                          "--key", s.key, s.copy], input=pid + "\n",
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr
    assert set(re.findall(r"\b[0-9a-f]{24}\b", res.stdout)) == \
        set(s.rids[1])
    assert pid not in res.stdout + res.stderr
    res = subprocess.run([harness.VERIFY_AUDIT, "subject", "--id", "-",
                          "--key", s.key, s.copy], input="",
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 2 and "--id" in res.stderr


def test_subject_json(logs):
    s = logs
    pid = s.people[0].id
    res = harness.run_audit_tool("subject", "--json", "--id", pid, "--key",
                                 s.key, s.copy)
    assert res.returncode == 0, res.stderr
    assert pid not in res.stdout
    out = res.stdout.splitlines()
    head = json.loads(out[0])
    assert head["subject"] == harness.mask_id(pid)
    assert head["lines"] == 3 and head["chain"]["intact"] is True
    lines = [json.loads(x) for x in out[1:]]
    assert [ln["request_id"] for ln in lines] == s.rids[0]
    raws = {ln.raw.decode() for ln in harness.read_audit(s.copy)}
    assert all(x in raws for x in out[1:])


def test_subject_nobody(logs):
    s = logs
    res = harness.run_audit_tool("subject", "--id", s.people[3].id, "--key",
                                 s.key, s.copy)
    assert res.returncode == 0, res.stderr
    assert "lines:        0" in res.stdout
    assert s.people[3].id not in res.stdout


def test_subject_invalid_id_not_echoed(logs):
    s = logs
    bad = harness.bad_checksum(s.people[0].id)
    for given in (bad, "A12345", "1234567890"):
        res = harness.run_audit_tool("subject", "--id", given, "--key",
                                     s.key, s.copy)
        assert res.returncode == 2, res.stderr
        assert "--id is not a valid ID number" in res.stderr
        assert given not in res.stdout + res.stderr


def test_subject_usage_and_broken_chain(logs, tmp_path):
    s = logs
    pid = s.people[0].id
    for args, why in [
        (["subject", "--id", pid, s.copy], "--key"),
        (["subject", "--key", s.key, s.copy], "--id"),
        (["subject", "--id", pid, "--key", s.key], "no audit files"),
        (["subject", "--id", pid, "--key", s.key, "--month", "2026-11",
          s.copy], "does not belong"),
    ]:
        res = harness.run_audit_tool(*args)
        assert res.returncode == 2, (args, res.stderr)
        assert why in res.stderr, (args, res.stderr)
        assert pid not in res.stdout + res.stderr
    res = harness.run_audit_tool("subject", "--id", pid, "--key",
                                 str(tmp_path / "nokey"), s.copy)
    assert res.returncode == 1 and "--key" in res.stderr
    d = str(tmp_path / "broken")
    shutil.copytree(s.copy, d)
    f = os.path.join(d, harness.audit_files(d)[-1])
    data = open(f, "rb").read().replace(b"clerkB", b"clerkX", 1)
    open(f, "wb").write(data)
    for cmd in (["subject", "--id", pid, "--key", s.key], ["roster"],
                ["ip-review"]):
        res = harness.run_audit_tool(*(cmd + [d]))
        assert res.returncode == 1, (cmd, res.stdout, res.stderr)
        assert "BROKEN" in res.stderr and "refused" in res.stderr
        assert res.stdout == ""


# -- roster -------------------------------------------------------------

def test_roster(logs):
    s = logs
    res = harness.run_audit_tool("roster", s.copy)
    assert res.returncode == 0, res.stderr
    r = rows(res.stdout, "testsys")
    people = [x for x in r if x[1].startswith("clerk")]
    assert [x[1] for x in people] == ["clerkA", "clerkB"], res.stdout
    a, b = people
    # queries, answered, refused
    assert a[4:] == ["3", "2", "1"], a
    assert b[4:] == ["3", "3", "0"], b
    assert a[2] <= a[3] and re.match(r"\d{4}-\d\d-\d\d \d\d:", a[2])
    addrs = {x[1]: x[2] for x in r if x[1].startswith("127.")}
    assert addrs == {"127.0.0.1": "3", "127.0.0.2": "3"}, res.stdout
    assert "queries:      6 by 2 client/operator pair(s)" in res.stdout
    for p in s.people:
        assert p.id not in res.stdout


def test_roster_since(logs):
    s = logs
    today = harness.today_taipei()
    res = harness.run_audit_tool("roster", "--since", today.isoformat(),
                                 s.copy)
    assert res.returncode == 0, res.stderr
    assert len(rows(res.stdout, "testsys")) == 4
    later = (today + datetime.timedelta(days=2)).isoformat()
    res = harness.run_audit_tool("roster", "--since", later, s.copy)
    assert res.returncode == 0 and "No queries in the period" in res.stdout
    for bad in ("2026-13-01", "yesterday", "2026-11"):
        res = harness.run_audit_tool("roster", "--since", bad, s.copy)
        assert res.returncode == 2 and "--since" in res.stderr
    res = harness.run_audit_tool("roster", s.copy, "--months", "3")
    assert res.returncode == 2 and "does not belong" in res.stderr


# -- ip-review ----------------------------------------------------------

def test_ip_review_without_config(logs):
    s = logs
    res = harness.run_audit_tool("ip-review", s.copy)
    assert res.returncode == 0, res.stderr
    assert "the last 6 months" in res.stdout
    r = rows(res.stdout, "testsys")
    assert {x[1]: x[2] for x in r} == {"127.0.0.1": "3", "127.0.0.2": "3"}
    assert "idle" not in res.stdout.split("config:")[1].split("\n", 1)[1]


def test_ip_review_idle_and_duplicate(logs, tmp_path):
    s = logs
    conf = tmp_path / "clients.conf"
    conf.write_text(
        "# register\n"
        "VerifyClient testsys ip=127.0.0.1,127.0.0.2,127.0.0.9 \\\n"
        "    checks=resident,indigenous approval=APP-2026-001 \\\n"
        "    valid=2020-01-01..2099-12-31\n"
        "VerifyClient other ip=127.0.0.2 checks=resident approval=X "
        "valid=2020-01-01..2099-12-31\n"
        "# VerifyClient commented ip=127.0.0.1\n")
    res = harness.run_audit_tool("ip-review", "--months", "6", "--config",
                                 str(conf), s.copy)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "2 client(s), 4 address(es) registered" in out
    t = {(x[0], x[1]): x for x in rows(out, "testsys") + rows(out, "other")}
    assert set(t) == {("testsys", "127.0.0.1"), ("testsys", "127.0.0.2"),
                      ("testsys", "127.0.0.9"), ("other", "127.0.0.2")}, out
    assert t["testsys", "127.0.0.1"][2] == "3"
    assert t["testsys", "127.0.0.1"][-1] == "in use"
    assert t["testsys", "127.0.0.9"][2] == "0"
    assert "idle: consider removing" in t["testsys", "127.0.0.9"][-1]
    assert "duplicate: also registered for other" in \
        t["testsys", "127.0.0.2"][-1]
    assert "idle: consider removing" in t["other", "127.0.0.2"][-1]
    assert "duplicate: also registered for testsys" in \
        t["other", "127.0.0.2"][-1]
    assert "findings:     2 idle, 2 duplicate, 0 not registered" in out
    # the sample register of the repository parses too
    example = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "conf", "clients.conf.example")
    res = harness.run_audit_tool("ip-review", "--config", example, s.copy)
    assert res.returncode == 0, res.stderr
    assert "not in the register given" in res.stdout


def test_ip_review_usage(logs, tmp_path):
    s = logs
    for args, why in [
        (["--months", "0"], "--months"),
        (["--months", "x"], "--months"),
        (["--months", "121"], "--months"),
        (["--since", "2026-01-01"], "does not belong"),
    ]:
        res = harness.run_audit_tool("ip-review", *(args + [s.copy]))
        assert res.returncode == 2 and why in res.stderr, (args, res.stderr)
    res = harness.run_audit_tool("ip-review", "--config",
                                 str(tmp_path / "none"), s.copy)
    assert res.returncode == 1 and "--config" in res.stderr


# -- purge ----------------------------------------------------------------

def synthetic_log(d, days):
    """audit files for @days (date strings), 2 lines each, one chain;
    returns [(seq, hash)] of every line."""
    os.makedirs(d, exist_ok=True)
    prev, seq, out = harness.ZERO_HASH, 0, []
    for day in days:
        with open(os.path.join(d, "audit-%s.jsonl" % day), "wb") as f:
            for k in range(2):
                seq += 1
                body = (',"request_id":"%024x","client":"testsys",'
                        '"operator":"old%d","ip":"127.0.0.1","op":"verify",'
                        '"method":"POST","checks":["resident"],'
                        '"subject":"A12*****89","subject_tag":null,'
                        '"case":"c","reason":"r","match_fields":[],'
                        '"status":200,"results":{"resident":true},'
                        '"as_of":null' % (seq, k))
                line, prev = harness.seal_line(
                    seq, "%sT10:00:0%d.000000+08:00" % (day, k), body, prev)
                f.write(line + b"\n")
                out.append((seq, prev))
    return out


def test_purge_refuses_recent_dates(logs, tmp_path):
    d = str(tmp_path / "audit")
    shutil.copytree(logs.copy, d)
    before = sorted(os.listdir(d))
    today = harness.today_taipei()
    for when in (today, today.replace(year=today.year - 4),
                 today - datetime.timedelta(days=5 * 365)):
        res = harness.run_audit_tool("purge", "--before", when.isoformat(),
                                     d)
        assert res.returncode == 1, res.stdout + res.stderr
        assert "5 years" in res.stderr and "Nothing was deleted" in \
            res.stderr
        assert sorted(os.listdir(d)) == before


def test_purge_usage(tmp_path):
    d = str(tmp_path / "audit")
    synthetic_log(d, ["2015-01-01"])
    f = os.path.join(d, "audit-2015-01-01.jsonl")
    for args, why in [
        (["purge", d], "--before"),
        (["purge", "--before", "2019-02-30", d], "--before"),
        (["purge", "--before", "2019-01-01"], "one audit directory"),
        (["purge", "--before", "2019-01-01", d, d], "one audit directory"),
        (["purge", "--before", "2019-01-01", f], "not one"),
        (["purge", "--before", "2019-01-01", "--month", "2019-01", d],
         "does not belong"),
    ]:
        res = harness.run_audit_tool(*args)
        assert res.returncode == 2 and why in res.stderr, (args, res.stderr)
    assert os.path.exists(f)


def test_purge_and_verify_from_checkpoint(tmp_path):
    d = str(tmp_path / "audit")
    today = harness.today_taipei().isoformat()
    days = ["2018-03-01", "2019-06-30", "2020-01-01", today]
    chain = synthetic_log(d, days)
    assert harness.run_audit_tool("verify", d).returncode == 0

    res = harness.run_audit_tool("purge", "--before", "2020-01-01",
                                 "--dry-run", d)
    assert res.returncode == 0, res.stderr
    assert "would delete %s/audit-2018-03-01.jsonl" % d in res.stdout
    assert "would delete %s/audit-2019-06-30.jsonl" % d in res.stdout
    assert "2020-01-01.jsonl" not in res.stdout
    assert "dry run: nothing was changed" in res.stdout
    assert len(os.listdir(d)) == 4

    spool = harness.make_spool(str(tmp_path))
    if not os.path.exists("/var/lib/verify/store/events"):
        # the default spool (no server installed here): no purge
        res = harness.run_audit_tool("purge", "--before", "2020-01-01", d)
        assert res.returncode == 1 and "could not be recorded" in \
            res.stderr and len(os.listdir(d)) == 4, res.stderr
    res = harness.run_audit_tool("purge", "--before", "2020-01-01",
                                 "--events", spool, d)
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(d)) == [
        "audit-2020-01-01.jsonl", "audit-%s.jsonl" % today,
        "purged-through-2019-06-30.json"]
    cp = json.load(open(os.path.join(d, "purged-through-2019-06-30.json")))
    assert (cp["last_seq"], cp["last_hash"]) == chain[3]

    res = harness.run_audit_tool("verify", d)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "chain resumes after the purge checkpoint" in res.stdout
    assert "seq 5..8, chain intact" in res.stdout
    # the other commands read it too
    res = harness.run_audit_tool("roster", d)
    assert res.returncode == 0 and "after the purge checkpoint" in res.stdout

    # the checkpoint is checked: a wrong hash breaks the chain
    bad = str(tmp_path / "bad")
    shutil.copytree(d, bad)
    p = os.path.join(bad, "purged-through-2019-06-30.json")
    cp["last_hash"] = "0" * 64
    json.dump(cp, open(p, "w"))
    res = harness.run_audit_tool("verify", bad)
    assert res.returncode == 1 and "BROKEN at seq 5" in res.stdout
    # without it, the chain simply starts at seq 5
    os.unlink(p)
    res = harness.run_audit_tool("verify", bad)
    assert res.returncode == 0 and "chain starts at seq 5" in res.stdout

    # a second purge resumes from the first checkpoint
    res = harness.run_audit_tool("purge", "--before", "2020-01-02",
                                 "--events", spool, d)
    assert res.returncode == 0, res.stderr
    assert "purged-through-2020-01-01.json" in os.listdir(d)
    res = harness.run_audit_tool("verify", d)
    assert res.returncode == 0 and "seq 7..8" in res.stdout, res.stdout

    # the newest file is never purged (nor anything when all are old)
    res = harness.run_audit_tool("purge", "--before", "2020-01-02",
                                 "--events", spool, d)
    assert res.returncode == 0 and "nothing to purge" in res.stdout
    # each purge is an event for the chain; nothing done is none
    events = [e for _, _, e in harness.spooled(spool)]
    assert [(e["op"], e["result"], e["purged_through"], e["files"],
             e["last_seq"]) for e in events] == [
        ("purge", "purged", "2019-06-30", 2, 4),
        ("purge", "purged", "2020-01-01", 1, 6)], events


def test_purge_refuses_broken_chain(tmp_path):
    d = str(tmp_path / "audit")
    synthetic_log(d, ["2017-01-01", "2018-01-01", "2026-01-01"])
    f = os.path.join(d, "audit-2018-01-01.jsonl")
    data = open(f, "rb").read().replace(b"old1", b"oldX", 1)
    open(f, "wb").write(data)
    res = harness.run_audit_tool("purge", "--before", "2019-01-01", d)
    assert res.returncode == 1
    assert "BROKEN" in res.stderr and "nothing was deleted" in res.stderr
    assert len(os.listdir(d)) == 3
