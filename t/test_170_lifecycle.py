"""The life of the data: usage periods (R4.1.2), the eligibility sources,
import lines in the audit chain (R4.1.1), URL rules, and a store that
appears after httpd started (SPEC sections 3-5)."""

import datetime
import grp
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

import harness
from harness import People, fields_for, mask_id

DAY = datetime.timedelta(days=1)

ALL_CHECKS_CLIENT = ("testsys ip=127.0.0.1 "
                     "checks=resident,elderly_alone,disability "
                     "approval=APP-2026-010 valid=2020-01-01..2099-12-31")


# -- helpers ----------------------------------------------------------

def avoid_midnight():
    """Tests about "today" must not straddle a Taipei midnight."""
    now = datetime.datetime.now(harness.TAIPEI)
    left = 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
    if left < 20:
        time.sleep(left + 1)


_TMPDIRS = []


def tmpdir(prefix="mod_verify-csv-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _TMPDIRS.append(d)
    return d


@pytest.fixture(scope="module", autouse=True)
def _remove_tmpdirs():
    yield
    if not os.environ.get("MOD_VERIFY_T_KEEP"):
        while _TMPDIRS:
            shutil.rmtree(_TMPDIRS.pop(), ignore_errors=True)


def write_file(text, name="batch.csv"):
    d = tmpdir()
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def import_text(s, text, source="household", extra=(), check=True):
    """Import @text, signed and encrypted as the data provider sends it
    (harness.as_sent); returns (result, parsed stdout JSON or None,
    sha256 of the file as given, path)."""
    path, opts = harness.as_sent(write_file(text), extra)
    digest = sha256_file(path)
    res = harness.run_import(s.store, s.key, path, source=source,
                             extra=opts)
    ev = None
    if check:
        assert res.returncode == 0, res.stdout + res.stderr
        ev = json.loads(res.stdout.strip().splitlines()[-1])
        assert ev["sha256"] == digest
    return res, ev, digest, path


def import_people(s, people, extra=()):
    s.add_people(people)
    return import_text(s, harness.household_csv(people), extra=extra)


def status_csv(rows, chinese=False, level=False):
    """elderly_alone (id,valid_until) or disability (id,level,valid_until)
    text; rows: (person, valid_until date[, level])."""
    if level:
        head = "身分證字號,障礙等級,有效期限" if chinese \
            else "id,level,valid_until"
    else:
        head = "統一編號,有效期限" if chinese else "id,valid_until"
    out = [head]
    for row in rows:
        p, until = row[0], row[1]
        d = harness.roc_date(until, slash=True) if chinese \
            else until.isoformat()
        if level:
            out.append("%s,%s,%s" % (p.id, row[2], d))
        else:
            out.append("%s,%s" % (p.id, d))
    return "\n".join(out) + "\n"


def store_dump(store):
    res = subprocess.run(["mdb_dump", "-a", harness.store_env_copy(store)],
                         capture_output=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout


META_LEN = 110
APPROVED_AT = 17        # big-endian YYYYMMDD (docs: verify_store.c)


def set_approved_until(store, source, day):
    """Rewrite approved_until in the batch metadata of @source with the
    LMDB tools (mdb_dump / mdb_load): the only way to let a usage
    period end without waiting a day or touching the clock. Published
    snapshots are never written: the change is made in a copy, which is
    then published as the importer would."""
    env = harness.store_env_copy(store)
    res = subprocess.run(["mdb_dump", "-s", "meta", env],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines(keepends=True)
    head = lines.index("HEADER=END\n") + 1
    assert "format=bytevalue\n" in lines[:head], res.stdout
    want = source.encode().hex()
    changed = 0
    for i in range(head, len(lines) - 1, 2):
        if lines[i] == "DATA=END\n":
            break
        if lines[i].strip() == want:
            value = bytearray.fromhex(lines[i + 1].strip())
            assert len(value) == META_LEN, len(value)
            ymd = day.year * 10000 + day.month * 100 + day.day
            value[APPROVED_AT:APPROVED_AT + 4] = ymd.to_bytes(4, "big")
            lines[i + 1] = " " + value.hex() + "\n"
            changed += 1
    assert changed == 1, "no %s batch in %s" % (source, res.stdout)
    dump = os.path.join(tmpdir("mod_verify-meta-"), "meta.dump")
    with open(dump, "w") as f:
        f.write("".join(lines))
    res = subprocess.run(["mdb_load", "-f", dump, "-s", "meta", env],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr
    harness.publish_env(store, env)


def answer(s, p, check="resident", case="L-1"):
    r = s.post(fields_for(p, check=check, case=case))
    assert r.status == 200, r
    return r.json


def refused(s, r, status, code):
    """A JSON refusal and its one audit line (no results)."""
    assert r.status == status, r
    assert r.content_type.split(";")[0].strip() == "application/json", r
    body = r.json
    assert set(body) == {"request_id", "error", "message"}, body
    assert body["error"] == code, body
    assert body["message"]
    lines = s.audit_for(body["request_id"])
    assert len(lines) == 1, lines
    a = lines[0]
    assert a["op"] == "verify" and a["status"] == status, a
    assert a["error"] == code, a
    assert "results" not in a.obj
    return a


def check_chain(s):
    lines = s.audit_lines()
    problems = harness.chain_problems(lines) + \
        harness.line_format_problems(lines)
    assert problems == [], "\n".join(problems[:20])
    res = harness.run_audit_tool("verify", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    return lines


def line_before(s, request_id):
    """The audit line right before the line of @request_id."""
    lines = s.audit_lines()
    idx = [i for i, ln in enumerate(lines)
           if ln.get("request_id") == request_id]
    assert len(idx) == 1, idx
    assert idx[0] > 0
    return lines[idx[0] - 1]


def imports(s):
    return [ln for ln in s.audit_lines() if ln.get("op") == "import"]


def drained_imports(s):
    """The import lines once the spool is drained (a graceful restart)."""
    s.graceful()
    return imports(s)


def chain_body(line):
    """The members of a chain line from op to before prev, as bytes."""
    raw = line.raw.decode("utf-8")
    return raw[raw.index(',"op":'):raw.index(',"prev":')]


def printed(res):
    """The event line verify-import printed."""
    return res.stdout.strip().splitlines()[-1]


# -- R4.1.2: the approved usage period --------------------------------

def test_data_expired(make_server, mpm):
    avoid_midnight()
    today = harness.today_taipei()
    s = make_server(mpm=mpm)
    gen = People()
    first = gen.batch(6)
    _, ev, _, _ = import_people(
        s, first, extra=["--approved-until", (today + DAY).isoformat()])
    assert ev["approved_until"] == (today + DAY).isoformat()
    s.start()
    assert answer(s, first[0])["results"] == {"resident": True}
    assert imports(s)[-1]["approved_until"] == (today + DAY).isoformat()

    # the last day of the period still answers (inclusive)
    second = gen.batch(6)
    _, ev, _, _ = import_people(
        s, second, extra=["--approved-until", today.isoformat()])
    assert ev["approved_until"] == today.isoformat()
    assert answer(s, second[1])["results"] == {"resident": True}
    assert drained_imports(s)[-1]["approved_until"] == today.isoformat()
    assert imports(s)[-1]["batch_id"] == ev["batch_id"]

    # a period that has already ended is refused at the import
    before = store_dump(s.store)
    third = gen.batch(3)
    s.add_people(third)
    for bad in ((today - DAY).isoformat(), "2020-01-01", "tomorrow",
                (today + DAY).strftime("%Y/%m/%d")):
        res, _, _, path = import_text(s, harness.household_csv(third),
                                      extra=["--approved-until", bad],
                                      check=False)
        assert res.returncode == 2, (bad, res.stdout + res.stderr)
        assert "--approved-until" in res.stderr, res.stderr
        assert os.path.exists(path), "a refused batch must be kept"
    assert "past" in harness.run_import(
        s.store, s.key, path,
        extra=["--approved-until", (today - DAY).isoformat()]).stderr
    assert store_dump(s.store) == before

    # the period ends: yesterday's date written into the batch metadata
    # of the running store; httpd sees it at its next read transaction
    set_approved_until(s.store, "household", today - DAY)
    n_imports = len(imports(s))
    for i, p in enumerate((second[1], second[2], first[0])):
        r = s.post(fields_for(p, check="resident", case="L-EXP-%d" % i))
        a = refused(s, r, 503, "data_expired")
        assert "household" in r.json["message"]
        assert a["subject"] == mask_id(p.id)
        assert a["as_of"] is None
    # with identity fields, too: nothing about the person comes back
    p = second[3]
    r = s.post(fields_for(p, name=p.name, birth_date=p.birth.isoformat(),
                          case="L-EXP-match"))
    refused(s, r, 503, "data_expired")
    assert len(imports(s)) == n_imports

    # a new batch with a current period is the remedy, without a restart
    import_people(s, second, extra=["--approved-until",
                                    (today + DAY).isoformat()])
    assert answer(s, second[1])["results"] == {"resident": True}
    check_chain(s)


# -- elderly_alone and disability -------------------------------------

def test_elderly_and_disability_sources(make_server):
    avoid_midnight()
    today = harness.today_taipei()
    s = make_server(clients=[ALL_CHECKS_CLIENT])
    gen = People()
    future, lapsed, lastday, neither = (gen.person() for _ in range(4))
    people = [future, lapsed, lastday, neither]
    import_people(s, people)
    s.start()

    # a source never imported: 503 store_unavailable, for any check
    # that needs it, also together with checks that could be answered
    for i, check in enumerate(("elderly_alone", "disability",
                               "resident,elderly_alone")):
        r = s.post(fields_for(future, check=check, case="L-SRC-%d" % i))
        refused(s, r, 503, "store_unavailable")
        assert check.split(",")[-1] in r.json["message"]
    assert answer(s, future)["results"] == {"resident": True}

    # elderly_alone: valid until a future date, until yesterday, until
    # today (held through that day)
    _, ev, digest, _ = import_text(s, status_csv([
        (future, today + 30 * DAY), (lapsed, today - DAY),
        (lastday, today)]), source="elderly_alone")
    assert ev["source"] == "elderly_alone" and ev["records"] == 3
    expect = {future: True, lapsed: False, lastday: True, neither: False}
    for p, want in expect.items():
        ans = answer(s, p, check="resident,elderly_alone")
        assert ans["results"] == {"resident": True, "elderly_alone": want}, \
            (p, ans)
        assert set(ans["as_of"]) == {"household", "elderly_alone"}
    imp = [ln for ln in drained_imports(s)
           if ln["source"] == "elderly_alone"]
    assert len(imp) == 1 and imp[0]["sha256"] == digest
    # disability is still missing
    r = s.post(fields_for(future, check="elderly_alone,disability",
                          case="L-SRC-dis"))
    refused(s, r, 503, "store_unavailable")

    # disability (Chinese header, ROC dates, levels in words and digits)
    import_text(s, status_csv([
        (future, today + 400 * DAY, "重度"), (lapsed, today - DAY, "2"),
        (neither, today, "mild")], chinese=True, level=True),
        source="disability")
    expect = {future: True, lapsed: False, lastday: False, neither: True}
    for p, want in expect.items():
        ans = answer(s, p, check="disability")
        assert ans["results"] == {"disability": want}, (p, ans)
        assert set(ans["as_of"]) == {"disability"}
    ans = answer(s, future, check="resident,elderly_alone,disability")
    assert ans["results"] == {"resident": True, "elderly_alone": True,
                              "disability": True}
    ans = answer(s, lapsed, check="resident,elderly_alone,disability")
    assert ans["results"] == {"resident": True, "elderly_alone": False,
                              "disability": False}
    # someone in no batch at all
    outsider = gen.person()
    s.add_people([outsider])
    ans = answer(s, outsider, check="resident,elderly_alone,disability")
    assert ans["results"] == {"resident": False, "elderly_alone": False,
                              "disability": False}
    # one import line per source in the chain
    assert sorted(ln["source"] for ln in drained_imports(s)) == \
        ["disability", "elderly_alone", "household"]
    check_chain(s)


# -- R4.1.1: import lines in the audit chain --------------------------

def test_import_line_in_chain(make_server, mpm):
    """Each import is recorded once, when it happens, in the bytes the
    tool printed: a batch imported before the start by the start's
    drain, right after the start line; one imported while the server
    runs by the next drain. Answers cite a batch by its import time and
    write no import line of their own, from whichever child."""
    s = make_server(mpm=mpm)
    gen = People()
    first = gen.batch(7)
    res1, ev1, sha1, _ = import_people(s, first)
    s.start()
    lines = s.audit_lines()
    assert [ln["op"] for ln in lines[:3]] == ["start", "import", "register"]
    imp = lines[1]
    assert (imp["result"], imp["source"], imp["batch_id"], imp["records"],
            imp["sha256"], imp["imported_at"], imp["approved_until"],
            imp["input"]) == ("accepted", "household", ev1["batch_id"],
                              len(first), sha1, ev1["imported_at"],
                              ev1["approved_until"],
                              "destroyed")
    assert printed(res1) == "{" + chain_body(imp)[1:] + "}", \
        "the chain's import line is what the tool printed"
    assert harness.spooled_events(s.store) == [], "drained"

    r = answer(s, first[0], case="L-CHAIN-1")
    assert r["as_of"]["household"] == imp["imported_at"]
    for i, p in enumerate(first[1:] * 2):
        answer(s, p, case="L-CHAIN-more-%d" % i)
    r2 = s.post(fields_for(first[1], case="L-CHAIN-bad", check="nothing"))
    assert r2.status == 400, r2
    assert len(imports(s)) == 1, "answers write no import line"

    # a new batch while the server runs: answered from at once, recorded
    # by the next drain
    harness.time.sleep(1.05)      # imported_at has one-second resolution
    second = first[:2] + gen.batch(4)
    until = (harness.today_taipei() + 10 * DAY).isoformat()
    res2, ev2, sha2, _ = import_people(s, second,
                                       extra=["--approved-until", until])
    assert ev2["batch_id"] != ev1["batch_id"] and sha2 != sha1
    r = answer(s, second[-1], case="L-CHAIN-2")
    assert r["results"] == {"resident": True}
    assert r["as_of"]["household"] == ev2["imported_at"]
    imp2 = drained_imports(s)[-1]
    assert (imp2["batch_id"], imp2["records"], imp2["sha256"],
            imp2["approved_until"]) == (ev2["batch_id"], len(second), sha2,
                                        until)
    assert printed(res2) == "{" + chain_body(imp2)[1:] + "}"
    for i, p in enumerate(second):
        answer(s, p, case="L-CHAIN-after-%d" % i)
    assert [ln["batch_id"] for ln in imports(s)] == [ev1["batch_id"],
                                                     ev2["batch_id"]]
    lines = check_chain(s)
    assert lines[0]["seq"] == 1 and lines[0]["prev"] == harness.ZERO_HASH


# -- URL rules ---------------------------------------------------------

def test_query_string_refused(make_server):
    s = make_server()
    gen = People()
    people = gen.batch(4)
    import_people(s, people)
    s.start()
    in_url = gen.person()
    s.add_people([in_url])
    body, ctype = harness.encode_body(
        fields_for(people[0], case="L-QS"), "form")
    for url in ("/verify?id=%s&check=resident" % in_url.id,
                "/verify?id=%s" % in_url.id.lower(),
                "/verify?x=1"):
        r = harness.request(s.port, "POST", url, body=body,
                            headers={"Content-Type": ctype})
        a = refused(s, r, 400, "invalid_field")
        assert "results" not in r.json
        assert in_url.id.encode() not in r.body
        # the body is not read either: nothing was asked about anyone
        assert a["subject"] is None, a
    # neither the ID from the URL nor its masked form is in the audit
    for f in harness.audit_files(s.audit):
        text = open(os.path.join(s.audit, f), encoding="utf-8").read()
        for needle in (in_url.id, in_url.id.lower(), mask_id(in_url.id),
                       mask_id(in_url.id.lower())):
            assert needle not in text, (needle, f)
    # the same body without a query string is answered
    r = harness.request(s.port, "POST", "/verify", body=body,
                        headers={"Content-Type": ctype})
    assert r.status == 200 and r.json["results"] == {"resident": True}


def test_extra_path_not_found(make_server):
    s = make_server()
    people = People().batch(3)
    import_people(s, people)
    s.start()
    body, ctype = harness.encode_body(
        fields_for(people[0], case="L-404"), "form")
    for path in ("/verify/x", "/verify/check/%s" % people[1].id):
        r = harness.request(s.port, "POST", path, body=body,
                            headers={"Content-Type": ctype})
        a = refused(s, r, 404, "not_found")
        assert a["subject"] is None, a
        assert people[1].id.encode() not in r.body
    check_chain(s)


# -- a store created after httpd started ------------------------------

@pytest.mark.skipif(not harness.IS_ROOT, reason="needs root: httpd "
                    "switches to www-data and verify-import --group chowns")
def test_group_option(make_server):
    s = make_server()
    os.rmdir(s.store)             # httpd starts before the store exists
    s.expect_log(r"\[verify:warn\].*VFY10: store .* does not exist yet")
    s.start()
    gen = People()
    people = gen.batch(5)
    s.add_people(people)
    r = s.post(fields_for(people[0], case="L-GRP-0"))
    refused(s, r, 503, "store_unavailable")

    res, ev, _, path = import_text(
        s, harness.household_csv(people), extra=["--group", "www-data"])
    assert not os.path.exists(path)
    gid = grp.getgrnam("www-data").gr_gid
    # snapshots (docs/internals.md): the directory, the published
    # snapshot's directory and its data file; no lock file
    for name, mode in (("", 0o750), ("current", 0o750),
                       ("current/data.mdb", 0o640)):
        st = os.stat(os.path.join(s.store, name))
        assert st.st_gid == gid, name
        assert stat.S_IMODE(st.st_mode) == mode, (name, oct(st.st_mode))

    deadline = time.time() + 5
    n = 0
    while True:
        n += 1
        r = s.post(fields_for(people[0], case="L-GRP-%d" % n))
        if r.status == 200 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert r.status == 200, r
    assert r.json["results"] == {"resident": True}
    time.sleep(1.2)               # every child has retried by now
    for i, p in enumerate(people):
        assert answer(s, p, case="L-GRP-ok-%d" % i)["results"] == \
            {"resident": True}
    assert ev["records"] == len(people)


def test_store_of_another_key_refused(make_server):
    """A store imported with another key than VerifyKeyFile would find
    nobody: every answer a confident "no". The batch's key check makes
    the server refuse instead (503 store_unavailable, VFY27); and the
    importer refuses a batch with another key than the store's, so the
    remedy is a store made anew with the server's key."""
    s = make_server()
    gen = harness.People()
    people = gen.batch(5)
    other_key = os.path.join(tmpdir("mod_verify-key-"), "other.key")
    harness.make_key_file(other_key)
    s.add_people(people)
    path, opts = harness.as_sent(write_file(harness.household_csv(people)))
    res = harness.run_import(s.store, other_key, path, extra=opts)
    assert res.returncode == 0, res.stdout + res.stderr
    s.expect_log(r"\[verify:error\].*VFY27: the household batch was "
                 r"imported with another key")
    s.start()
    for p in people[:2]:
        r = s.post(fields_for(p))
        refused(s, r, 503, "store_unavailable")
        assert "another pseudonym key" in r.json["message"]
    # the server's key into that store: refused, naming both key checks
    res, _, _, path = import_text(s, harness.household_csv(people),
                                  check=False)
    assert res.returncode == 1 and "another key" in res.stderr, res.stderr
    assert os.path.exists(path)
    # made anew: its snapshots removed, every source imported again with
    # the server's key; answered again, no restart
    os.unlink(os.path.join(s.store, "current"))
    for n in os.listdir(s.store):
        if n.startswith("snap-"):
            shutil.rmtree(os.path.join(s.store, n))
    s.expect_log(r"\[verify:warn\].*store")
    import_people(s, people)
    assert answer(s, people[0])["results"] == {"resident": True}