"""The month's sample through the real path (R5.1, R5.2; issue 8 items 1
and 2): a real httpd whose parent signs checkpoints, run under
libfaketime from a few seconds before midnight Taipei at the end of
November 2026, so that the "month" checkpoint of December exists; real
queries, answered and refused. The seed of November's sample is the root
of that checkpoint: nobody chooses it, and the sample drawn twice (and by
the documented Python recipe) is the same. A wrong key, a tampered
checkpoint line and an open month are refused; refusals are counted
apart and never drawn; each anomaly flag is raised when its threshold is
passed and absent when it is not."""

import base64
import hashlib
import hmac
import json
import math
import os
import re
import shutil
import time

import pytest

import harness
import harness.signed
from harness import fields_for

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
MARK = "PREVIEW, NOT an official draw | "
HASH_TAIL = 9 + 64 + 2
N_REFUSED = 300
NO_FLAGS = ("off_hours = off\nburst_queries = 0\nday_subjects = 0\n"
            "subject_clients = 0\nnot_found_run = 0\n"
            "identity_mismatch = off\nreason_share = 0\nnew_operator = off\n")
# low enough that the month's few queries pass each one
LOW_FLAGS = ("burst_queries = 5\nburst_seconds = 60\nday_subjects = 3\n"
             "subject_clients = 1\nnot_found_run = 2\nreason_share = 90\n"
             "reason_min = 5\n")

pytestmark = pytest.mark.skipif(not os.path.exists(FAKETIME_LIB),
                                reason="libfaketime is not installed")


def audit(*args):
    return harness.run_audit_tool(*args)


def wait_for(pred, timeout, step=0.5):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    """November 2026 of a real server, closed by its "month" checkpoint:
    s.log (a copy of the audit directory), s.cps (of the checkpoint
    directory), s.verifier, s.sent (what was asked)."""
    s = harness.Server(checkpoints=True)
    gen = harness.People("test_186")
    people = gen.batch(12)
    outsiders = [gen.person("citizen") for _ in range(3)]
    s.add_people(outsiders)
    s.import_household(people)
    s.env["LD_PRELOAD"] = FAKETIME_LIB
    s.env["FAKETIME"] = "@2026-11-30 15:59:35"      # 23:59:35 Taipei
    s.env["FAKETIME_DONT_RESET"] = "1"
    out = tmp_path_factory.mktemp("s186")
    try:
        s.start()
        for i, p in enumerate(people):      # 12 answered, 8 by clerk0
            op = "clerk0" if i < 8 else "clerk%d" % (i % 4)
            assert s.post(fields_for(p, case="N-%d" % i,
                                     operator=op)).status == 200
        for i in range(N_REFUSED):          # a scanner nobody registered
            r = s.post(fields_for(people[i % 12], operator="x"),
                       source_address=("127.0.0.9", 0))
            assert r.status == 403 and r.json["error"] == "unknown_client"
        for o in outsiders:                 # nobody found, one operator
            r = s.post(fields_for(o, operator="scan"))
            assert r.status == 200 and r.json["results"] == {
                "resident": False}, r
        p = people[0]
        for op in ("one", "two"):           # identity: one right, one not
            f = fields_for(p, operator=op, check="resident",
                           name=p.name if op == "one" else "Nobody Here",
                           birth_date=p.birth.isoformat())
            r = s.post(f)
            assert r.status == 200, r
        assert s.post(fields_for(p, operator="n1"),
                      source_address=("127.0.0.4", 0)).status == 200
        # December begins: the parent signs the month checkpoint
        got = wait_for(lambda: [ln.obj for ln in harness.read_audit(s.audit)
                                if ln.obj.get("reason") == "month"], 60)
        assert got, "no month checkpoint"
        assert s.post(fields_for(people[1], operator="dec")).status == 200
        s.stop()
        s.log = str(out / "audit")
        shutil.copytree(s.audit, s.log)
        s.cps = str(out / "checkpoints")
        shutil.copytree(s.checkpoint_dir, s.cps)
        s.month_cp = got[0]
        s.noflags = str(out / "noflags.conf")
        s.lowflags = str(out / "lowflags.conf")
        open(s.noflags, "w").write(NO_FLAGS)
        open(s.lowflags, "w").write(LOW_FLAGS)
        yield s
    finally:
        s.stop()
        s.cleanup()


def sample(s, *args):
    return audit("sample", "--month", "2026-11", "--verifier", s.verifier,
                 *args)


def sample_json(s, *args):
    res = sample(s, "--json", *args)
    assert res.returncode == 0, res.stderr
    out = [json.loads(x) for x in res.stdout.splitlines()]
    return out[0], out[1:]


def queries(s, month="2026-11"):
    return [ln.obj for ln in harness.read_audit(s.log)
            if ln.obj.get("op") == "verify" and ln.obj["ts"][:7] == month]


def test_seed_is_the_month_checkpoint_and_the_sample_replays(month):
    s = month
    h1, a = sample_json(s, s.log)
    h2, b = sample_json(s, s.log)
    assert h1 == h2 and a == b, "the same files and key draw the same"
    assert h1["official"] is True and h1["preview"] is None
    cp = h1["checkpoint"]
    assert cp["line_seq"] == s.month_cp["seq"] and cp["reason"] == "month"
    assert cp["size"] == s.month_cp["size"]
    assert cp["root"] == s.month_cp["root"]
    assert cp["time"] >= "2026-12-01T00:00:00+08:00"
    assert h1["seed"] == base64.b64decode(cp["root"]).hex()
    assert cp["size"] >= h1["month_end"]["seq"], "it covers the month"
    # anyone re-derives it: the documented recipe in Python
    mine = [q for q in queries(s) if q["status"] == 200]
    seed = bytes.fromhex(h1["seed"])
    ranked = sorted(mine, key=lambda q: (hmac.new(
        seed, q["request_id"].encode(), hashlib.sha256).digest(), q["seq"]))
    k = len(mine) if len(mine) < 10 else max(10, math.ceil(0.03 * len(mine)))
    assert h1["population"] == len(mine) and h1["sample_size"] == k
    drawn = sorted(q["seq"] for q in ranked[:k])
    assert [x["seq"] for x in a if x["drawn"]] == drawn
    for x in a:
        assert x["official"] is True
        assert json.loads(x["line"])["seq"] == x["seq"]
    # the same from the checkpoint directory too
    h3, c = sample_json(s, "--checkpoints", s.cps, s.log)
    assert h3["seed"] == h1["seed"] and c == a


def test_text_prints_the_checkpoint_and_the_seed(month):
    s = month
    res = sample(s, "--flags", s.noflags, s.log)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "PREVIEW" not in out
    assert "line seq %d of the log (reason month)" % s.month_cp["seq"] in out
    assert s.month_cp["root"] in out
    assert "signed by:  %s+" % s.origin in out
    note = s.month_cp["note"].splitlines()
    for ln in note:
        assert ln.strip() in out
    seed = re.search(r"^seed:\s+([0-9a-f]{64})$", out, re.M).group(1)
    assert seed == base64.b64decode(s.month_cp["root"]).hex()


def test_refusals_are_counted_apart_and_never_drawn(month):
    s = month
    h, lines = sample_json(s, "--flags", s.noflags, s.log)
    qs = queries(s)
    ok = [q for q in qs if q["status"] == 200]
    assert h["population"] == len(ok) == 12 + 3 + 2 + 1
    assert h["refusals"]["count"] == len(qs) - len(ok) == N_REFUSED
    by = {(r["status"], r["error"]): r["count"]
          for r in h["refusals"]["by_error"]}
    assert by == {(403, "unknown_client"): N_REFUSED}
    assert h["sample_size"] == 10 == len(lines)
    assert all(json.loads(x["line"])["status"] == 200 for x in lines)
    res = sample(s, "--flags", s.noflags, s.log)
    assert re.search(r"^refusals:\s+%d, not in the population and never "
                     r"drawn:$" % N_REFUSED, res.stdout, re.M)
    assert re.search(r"^\s+%d  403 unknown_client$" % N_REFUSED, res.stdout,
                     re.M), res.stdout


def test_wrong_key_is_refused(month):
    s = month
    res = audit("sample", "--month", "2026-11", "--verifier",
                harness.signed.OTHER_VERIFIER, s.log)
    assert res.returncode == 1 and res.stdout == ""
    assert "does not verify" in res.stderr, res.stderr
    # the old and the new key of a rotation: one of them verifies
    keys = os.path.join(os.path.dirname(s.log), "keys")
    open(keys, "w").write(harness.signed.OTHER_VERIFIER + "\n" + s.verifier
                          + "\n")
    res = audit("sample", "--month", "2026-11", "--verifier", keys, s.log)
    assert res.returncode == 0, res.stderr


def reseal(raws, k, new_k):
    """Line k replaced by new_k and every later line re-hashed: an
    insider's rewrite the chain alone does not show."""
    out = list(raws[:k]) + [new_k]
    out += raws[k + 1:]
    prev = raws[k - 1][-HASH_TAIL + 9:-2].decode()
    for j in range(k, len(out)):
        covered = out[j][:-HASH_TAIL]
        covered = covered[:-65] + prev.encode() + b'"'
        h = hashlib.sha256(covered).hexdigest()
        out[j] = covered + (',"hash":"%s"}' % h).encode()
        prev = h
    return out


def test_tampered_checkpoint_line_is_refused(month, tmp_path):
    s = month
    for what in ("root", "note"):
        d = str(tmp_path / what)
        shutil.copytree(s.log, d)
        lines = harness.read_audit(d)
        k = next(i for i, ln in enumerate(lines)
                 if ln.obj.get("reason") == "month")
        obj = lines[k].obj
        raw = lines[k].raw
        root, other = obj["root"].encode(), base64.b64encode(b"\x01" * 32)
        if what == "root":      # another root beside the note
            raw = raw.replace(b'"root":"%s"' % root, b'"root":"%s"' % other)
        else:                   # the note's own root: its signature fails
            raw = raw.replace(b"\\u000a%s\\u000a" % root,
                              b"\\u000a%s\\u000a" % other)
        assert raw != lines[k].raw
        new = reseal([ln.raw for ln in lines], k, raw)
        files = {}
        for ln, r in zip(lines, new):
            files.setdefault(ln.file, []).append(r)
        for name, rs in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(b"".join(r + b"\n" for r in rs))
        assert audit("verify", d).returncode == 0, "the chain looks intact"
        res = sample(s, d)
        assert res.returncode == 1 and res.stdout == "", res.stdout
        assert "does not verify" in res.stderr, res.stderr


def test_open_month_needs_preview(month):
    s = month
    res = audit("sample", "--month", "2026-12", "--verifier", s.verifier,
                s.log)
    assert res.returncode == 1 and res.stdout == ""
    assert "2026-12 has no seed yet" in res.stderr
    assert "--preview" in res.stderr
    res = audit("sample", "--month", "2026-12", "--verifier", s.verifier,
                "--preview", s.log)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines and all(ln.startswith(MARK) for ln in lines), res.stdout
    res = audit("sample", "--month", "2026-12", "--verifier", s.verifier,
                "--preview", "--json", s.log)
    out = [json.loads(x) for x in res.stdout.splitlines()]
    assert out and all(o["official"] is False
                       and "NOT an official draw" in o["preview"]
                       for o in out)


def flags_of(lines):
    return {f["flag"] for x in lines for f in x["flags"]}


def test_flags_raised_and_absent(month):
    s = month
    # off: nothing flagged, the sample is the draw alone
    h, lines = sample_json(s, "--flags", s.noflags, s.log)
    assert flags_of(lines) == set() and h["flags"]["lines"] == 0
    assert all(x["drawn"] for x in lines)
    # the built-in thresholds: a minute before midnight is off hours, a
    # first month makes every operator new, one name did not match; no
    # burst, nobody scanning two IDs in a row past 5, ...
    h, lines = sample_json(s, s.log)
    assert flags_of(lines) == {"off_hours", "new_operator",
                               "identity_mismatch"}, flags_of(lines)
    # low thresholds: every rule is passed by the month's queries
    h, lines = sample_json(s, "--flags", s.lowflags, s.log)
    assert flags_of(lines) == {"off_hours", "burst", "many_subjects",
                               "many_clients", "not_found_run",
                               "identity_mismatch", "reason_reuse",
                               "new_operator"}, flags_of(lines)
    qs = {q["seq"]: q for q in queries(s)}
    for x in lines:
        for f in x["flags"]:
            assert f["why"].startswith(f["flag"] + ": ")
            assert "the rule" in f["why"] or f["flag"] in (
                "identity_mismatch", "new_operator")
        q = qs[x["seq"]]
        if not x["drawn"]:
            assert x["flags"], "a line not drawn is there for a flag"
    flagged = {x["seq"] for x in lines if x["flags"]}
    assert {q["seq"] for q in qs.values()
            if q.get("results") == {"resident": False}} <= flagged
    mism = [q["seq"] for q in qs.values() if q.get("identity_match") is False]
    assert mism and set(mism) <= flagged
    assert h["lines"]["shown"] == len(lines) == \
        h["lines"]["drawn"] + h["lines"]["flagged_only"]
    # the refused scanner (no client) is never flagged nor drawn
    assert all(json.loads(x["line"])["client"] for x in lines)


def test_flag_defaults_and_the_conf_file(tmp_path):
    res = audit("sample", "--print-flag-defaults")
    assert res.returncode == 0, res.stderr
    conf = os.path.join(harness.REPO, "conf", "verify-flags.conf")
    assert open(conf).read() == res.stdout, \
        "conf/verify-flags.conf is the built-in thresholds"
    (tmp_path / "audit-2026-11-01.jsonl").write_text("")
    bad = tmp_path / "bad.conf"
    bad.write_text("burst_queries = 3\nbursts = 4\n")
    for flags, why in (("/nonexistent", "cannot open"),
                       (str(bad), "line 2: no setting is named")):
        res = audit("sample", "--month", "2026-11", "--verifier",
                    harness.signed.VERIFIER, "--flags", flags,
                    str(tmp_path))
        assert res.returncode == 2 and why in res.stderr, res.stderr
