"""Batch questions (issue 9, item 3): a JSON body with `subjects` and
shared check, case, reason, operator is answered subject by subject, in
order, over HTTP and TLS; each subject is a query of its own (one audit
line with the request's request_id and "item"/"items", one receipt that
holds against the tree), through the single query's code (invalid IDs,
bad birth dates, identity matches, the mismatch limit per person). The
lines go in all or none: when the audit volume cannot take them the
batch is 503 and nothing is answered, the log as before. Faults of the
request as a whole (VerifyBatchMax, shape, shared fields, permission,
rate, client) are single refusals with one audit line."""

import hashlib
import hmac
import json
import os
import shutil
import tempfile

import pytest

import harness
from harness.volume import fill, small_volume
from conftest import MPMS, household_server_fixture, _stop_all
from harness import fields_for, run_audit_tool

SHARED = {"check": "resident,indigenous", "case": "BATCH-1",
          "reason": "eligibility check", "operator": "clerk01"}


@pytest.fixture(scope="module", params=MPMS)
def bserver(request):
    s = household_server_fixture(
        request, checkpoints=True,
        extra_conf="VerifyIdentityMismatchLimit 100\nVerifyBatchMax 1000")
    yield s
    errors = _stop_all([s])
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


def batch(s, subjects, shared=None, **kw):
    """POST a batch; every ID, name and date is a secret of the logs."""
    for sub in subjects:
        if isinstance(sub, dict):
            s.add_secret(sub.get("id"), sub.get("name"),
                         sub.get("birth_date"))
    body = dict(SHARED if shared is None else shared)
    body["subjects"] = subjects
    return s.post(None, raw=json.dumps(body, ensure_ascii=False).encode(),
                  content_type="application/json", **kw)


def subject(p, **more):
    d = {"id": p.id}
    d.update(more)
    return d


def verify_lines(s):
    return [ln for ln in s.audit_lines() if ln.get("op") == "verify"]


def lines_of(s, rid):
    return [ln for ln in s.audit_lines() if ln.get("request_id") == rid]


def check_receipts(s, r):
    """Each item's receipt is its own line's: seq, the leaf hash of the
    line's bytes, request_id and item; the seqs consecutive."""
    by_seq = {ln["seq"]: ln for ln in s.audit_lines()}
    answers = r.json["answers"]
    first = answers[0]["receipt"]["seq"]
    for i, a in enumerate(answers):
        rc = a["receipt"]
        assert set(rc) == {"seq", "leaf"}
        assert rc["seq"] == first + i
        line = by_seq[rc["seq"]]
        assert line["request_id"] == r.json["request_id"]
        assert line["item"] == i and line["items"] == len(answers)
        assert rc["leaf"] == hashlib.sha256(b"\x00" + line.raw).hexdigest()
    # the tree the receipts are leaves of: verify-audit's root is the
    # independent verifier's, and check-receipt confirms one of them
    res = run_audit_tool("verify", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    rc = answers[len(answers) // 2]["receipt"]
    res = run_audit_tool("check-receipt", "--seq", str(rc["seq"]),
                         "--leaf", rc["leaf"], s.audit)
    assert res.returncode == 0 and "receipt confirmed" in res.stdout, \
        res.stdout + res.stderr


def mixed_subjects(s):
    """Seven subjects, one of each kind, and what each must get."""
    p = s.people
    ind = next(q for q in p if q.indigenous)
    non = next(q for q in p if not q.indigenous)
    subs = [
        subject(ind),
        subject(s.outsiders[0]),
        {"id": "A123456780"},                               # check digit
        subject(non, name=non.name, birth_date=non.birth.isoformat()),
        subject(p[5], birth_date="1901-01-01"),              # mismatch
        subject(p[6], birth_date="1990-13-01"),              # not a date
        {"name": "nobody"},                                  # no id
    ]
    want = [
        {"results": {"resident": True, "indigenous": True}},
        {"results": {"resident": False, "indigenous": False}},
        {"error": "invalid_id"},
        {"results": {"resident": True, "indigenous": False},
         "identity_match": True},
        {"results": {"resident": True,
                     "indigenous": bool(p[5].indigenous)},
         "identity_match": False},
        {"error": "invalid_field"},
        {"error": "missing_field"},
    ]
    return subs, want


def check_mixed(s, r, want):
    assert r.status == 200, r
    assert r.content_type.split(";")[0] == "application/json"
    assert r.headers.get("cache-control") == "no-store"
    j = r.json
    assert set(j) == {"request_id", "as_of", "answers"}
    assert set(j["as_of"]) == {"household"}
    assert len(j["answers"]) == len(want)
    for a, w in zip(j["answers"], want):
        got = {k: v for k, v in a.items() if k not in ("receipt", "message")}
        assert got == w, (a, w)
        if "error" in a:
            assert a["message"]
    check_receipts(s, r)
    lines = lines_of(s, j["request_id"])
    assert [ln["item"] for ln in lines] == list(range(len(want)))
    statuses = [ln["status"] for ln in lines]
    assert statuses == [200, 200, 400, 200, 200, 400, 400]
    for ln in lines:
        # each line a query of its own, as a single query's
        assert ln["case"] == SHARED["case"] and ln["client"] == "testsys"
        assert ln["checks"] == ["resident", "indigenous"]
        assert "name" not in ln.obj and "birth_date" not in ln.obj
    assert lines[2]["error"] == "invalid_id"
    assert lines[2]["subject"] == "A12*****80"
    assert lines[2]["subject_tag"] is None
    assert lines[3]["match_fields"] == ["name", "birth_date"]
    assert lines[4]["match_fields"] == ["birth_date"]
    assert lines[6]["subject"] is None
    assert lines[0]["as_of"] == j["as_of"]


def test_order_and_mixed_results(bserver):
    s = bserver
    subs, want = mixed_subjects(s)
    check_mixed(s, batch(s, subs), want)


def test_same_answers_as_single_queries(bserver):
    """Each item is what the single query about that person answers."""
    s = bserver
    people = s.people[:12] + s.outsiders
    r = batch(s, [subject(p) for p in people])
    assert r.status == 200, r
    for p, a in zip(people, r.json["answers"]):
        one = s.post(fields_for(p, check=SHARED["check"]))
        assert one.status == 200, one
        assert a["results"] == one.json["results"], p


def test_thousand_subjects(bserver):
    """VerifyBatchMax subjects (the default, 1000) in a body far over
    VerifyMaxBody: all answered, in order; one more is 413."""
    s = bserver
    people = [s.people[i % len(s.people)] for i in range(1000)]
    r = batch(s, [subject(p) for p in people], shared=dict(
        SHARED, check="resident"))
    assert r.status == 200, r
    answers = r.json["answers"]
    assert len(answers) == 1000
    assert all(a["results"] == {"resident": True} for a in answers)
    seqs = [a["receipt"]["seq"] for a in answers]
    assert seqs == list(range(seqs[0], seqs[0] + 1000))
    lines = lines_of(s, r.json["request_id"])
    assert len(lines) == 1000 and lines[-1]["item"] == 999
    assert {ln["items"] for ln in lines} == {1000}

    before = len(s.audit_lines())
    r = batch(s, [subject(p) for p in people + people[:1]])
    assert r.status == 413, r
    assert r.json["error"] == "too_many_subjects"
    assert "at most 1000" in r.json["message"]
    new = s.audit_lines()[before:]
    assert len(new) == 1, new
    assert new[0]["status"] == 413 and new[0]["error"] == "too_many_subjects"
    assert new[0]["items"] == 1001 and "item" not in new[0].obj
    assert new[0]["request_id"] == r.json["request_id"]


def test_chunked_batch_body(bserver):
    """A batch sent chunked (no Content-Length): the body is read as it
    comes, far past VerifyMaxBody, and answered whole."""
    s = bserver
    people = [s.people[i % len(s.people)] for i in range(600)]
    r = batch(s, [subject(p) for p in people], chunked=True)
    assert r.status == 200, r
    assert len(r.json["answers"]) == 600
    assert all(a["results"]["resident"] for a in r.json["answers"])


def test_a_single_body_stays_within_verify_max_body(bserver):
    s = bserver
    f = fields_for(s.people[0], reason="x" * 180, operator="o" * 60,
                   case="c" * 60)
    f["check"] = ["resident"] * 800       # JSON over 8192 bytes
    r = s.post(f, kind="json")
    assert r.status == 413 and r.json["error"] == "body_too_large", r


REFUSALS = [
    # (what, body change, status, error, message part)
    ("missing case", lambda b: b.pop("case"), 400, "missing_field", "case"),
    ("id beside subjects", lambda b: b.update(id="A123456789"), 400,
     "invalid_field", "each subject"),
    ("name beside subjects", lambda b: b.update(name="x"), 400,
     "invalid_field", "each subject"),
    ("empty subjects", lambda b: b.update(subjects=[]), 400,
     "invalid_field", "empty"),
    ("subjects not an array", lambda b: b.update(subjects="A123456789"),
     400, "invalid_field", "array"),
    ("a subject not an object", lambda b: b["subjects"].append("x"), 400,
     "invalid_field", "subjects[2]"),
    ("an unknown member", lambda b: b["subjects"][1].update(phone="1"), 400,
     "invalid_field", "subjects[1]"),
    ("a member not a string", lambda b: b["subjects"][0].update(id=5), 400,
     "invalid_field", "subjects[0].id"),
    ("unknown check", lambda b: b.update(check="wealth"), 400,
     "invalid_field", "unknown check"),
    ("an ID in the reason", lambda b: b.update(reason="for A123456789"),
     400, "invalid_field", "national ID"),
]


@pytest.mark.parametrize("what,change,status,error,part", REFUSALS,
                         ids=[r[0] for r in REFUSALS])
def test_refusals_of_the_whole_request(bserver, what, change, status, error,
                                       part):
    s = bserver
    body = dict(SHARED, subjects=[subject(s.people[0]),
                                  subject(s.people[1])])
    change(body)
    before = len(s.audit_lines())
    r = s.post(None, raw=json.dumps(body).encode(),
               content_type="application/json")
    assert r.status == status, r
    assert r.json["error"] == error and part in r.json["message"], r
    assert "answers" not in r.json and "receipt" not in r.json
    new = s.audit_lines()[before:]
    assert len(new) == 1, new
    assert new[0]["request_id"] == r.json["request_id"]
    assert new[0]["status"] == status and new[0]["error"] == error
    assert "item" not in new[0].obj
    assert "A123456789" not in new[0].raw.decode()
    if part == "national ID":
        # masked in the line, said once in the error log (VFY130)
        assert new[0]["reason"] == "for A12*****89"
        said = [ln for ln in s.error_log_text().splitlines()
                if r.json["request_id"] in ln]
        assert len(said) == 1 and "VFY130" in said[0], said


def test_permission_and_client_refusals(bserver):
    """Every subject needs the client's permission: identity fields of a
    client without `identity`, a check not approved; an unknown address
    learns nothing else."""
    s = bserver
    p = s.people[0]
    for addr, subs, shared, status, error in (
            ("127.0.0.4", [subject(p, name=p.name)], dict(
                SHARED, check="resident"), 403, "check_not_permitted"),
            ("127.0.0.4", [subject(p)], SHARED, 403, "check_not_permitted"),
            ("127.0.0.9", [subject(p)], SHARED, 403, "unknown_client"),
            ("127.0.0.3", [subject(p)], dict(SHARED, check="resident"), 403,
             "approval_expired")):
        before = len(s.audit_lines())
        r = batch(s, subs, shared=shared, source_address=(addr, 0))
        assert r.status == status and r.json["error"] == error, (addr, r)
        new = s.audit_lines()[before:]
        assert len(new) == 1 and new[0]["error"] == error
        assert new[0]["items"] == 1


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="mod_verify-pki-")
    os.chmod(d, 0o755)
    harness.make_ca(d, "ca", "mod_verify test CA")
    out = {"dir": d, "ca": os.path.join(d, "ca.crt")}
    for name, cn, server in (("server", "127.0.0.1", True),
                             ("client", "batch client", False)):
        out[name] = harness.make_cert(d, name, cn, ca="ca", server=server)
    yield out
    shutil.rmtree(d, ignore_errors=True)


def test_over_tls(make_server, pki):
    """The same batch over mutual TLS, the client known by its
    certificate; the answer is the same as over HTTP."""
    fp = harness.cert_sha256(pki["client"][0])
    s = make_server(clients=[
        "testsys ip=127.0.0.1 checks=resident,indigenous,identity "
        "approval=APP-2026-001 valid=2020-01-01..2099-12-31 "
        "cert-sha256=" + fp], tls={
        "cert": pki["server"][0], "key": pki["server"][1], "ca": pki["ca"],
        "probe_cert": pki["client"][0], "probe_key": pki["client"][1]})
    gen = harness.People()
    s.people = gen.batch(12)
    s.outsiders = [gen.person("citizen")]
    s.add_people(s.outsiders)
    s.import_household(s.people)
    s.start()
    subs, want = mixed_subjects(s)
    r = batch(s, subs)
    check_mixed(s, r, want)


def test_rate_counts_each_subject(make_server):
    """rate=5/min: a batch of three takes three of the five, a second
    batch of three is refused (429) as a whole, and a batch larger than
    the bucket says how many subjects the rate allows."""
    s = make_server(clients=[
        "testsys ip=127.0.0.1 checks=resident,indigenous,identity "
        "approval=APP-2026-001 valid=2020-01-01..2099-12-31 rate=5/min"])
    gen = harness.People()
    people = gen.batch(6)
    s.import_household(people)
    s.start()
    r = batch(s, [subject(p) for p in people[:6]])
    assert r.status == 429 and r.json["error"] == "rate_limited", r
    assert "at most 5 subjects" in r.json["message"]
    # the refused request took one token (as a refused single one does)
    r = batch(s, [subject(p) for p in people[:3]])
    assert r.status == 200 and len(r.json["answers"]) == 3, r
    r = batch(s, [subject(p) for p in people[:3]])
    assert r.status == 429 and r.json["error"] == "rate_limited", r
    assert r.headers.get("retry-after")
    lines = verify_lines(s)
    assert [ln["status"] for ln in lines] == [429, 200, 200, 200, 429]
    assert [ln.get("items") for ln in lines] == [6, 3, 3, 3, 3]


def test_identity_mismatch_limit_counts_each_subject(make_server):
    """VerifyIdentityMismatchLimit 2: the third wrong birth date about one
    person in one batch is that subject's rate_limited, flagged in its
    line; the others are answered, and a later single query about the
    person is refused too. A match costs nothing."""
    s = make_server(extra_conf="VerifyIdentityMismatchLimit 2")
    gen = harness.People()
    people = gen.batch(3)
    s.import_household(people)
    s.start()
    p, q = people[0], people[1]
    subs = [subject(p, birth_date="1901-01-0%d" % d) for d in (1, 2, 3)]
    subs.insert(1, subject(q, birth_date=q.birth.isoformat()))
    r = batch(s, subs, shared=dict(SHARED, check="resident"))
    assert r.status == 200, r
    a = r.json["answers"]
    assert a[0]["identity_match"] is False
    assert a[1]["identity_match"] is True
    assert a[2]["identity_match"] is False
    assert a[3]["error"] == "rate_limited" and "results" not in a[3]
    lines = lines_of(s, r.json["request_id"])
    assert lines[3]["status"] == 429
    assert lines[3]["flag"] == "identity_mismatch_limit"
    r = s.post(fields_for(p, birth_date="1901-02-01"))
    assert r.status == 429, r
    # the match was given back: q can still be asked about twice
    r = batch(s, [subject(q, birth_date="1901-01-01")] * 2,
              shared=dict(SHARED, check="resident"))
    assert [x["identity_match"] for x in r.json["answers"]] == [False,
                                                                False]


NO_FLAGS = ("off_hours = off\nburst_queries = 0\nday_subjects = 0\n"
            "subject_clients = 0\nnot_found_run = 0\n"
            "identity_mismatch = off\nreason_share = 0\n"
            "new_operator = off\n")


def test_audit_tool_counts_each_subject(bserver, tmp_path):
    """verify-audit verify accepts the lines; `sample` counts each
    answered subject as one query of the population and ranks it by
    request_id/item, so that a batch is drawn subject by subject, not
    all or nothing: the draw is the one recomputed here."""
    s = bserver
    people = [s.people[i % len(s.people)] for i in range(1000)]
    assert batch(s, [subject(p) for p in people]).status == 200
    for p in s.people[:20]:
        assert s.post(fields_for(p)).status == 200
    res = run_audit_tool("verify", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    month = verify_lines(s)[-1]["ts"][:7]
    lines = [ln for ln in verify_lines(s) if ln["ts"][:7] == month]
    answered = [ln for ln in lines if ln["status"] == 200]
    flags = tmp_path / "noflags.conf"
    flags.write_text(NO_FLAGS)
    res = run_audit_tool("sample", "--month", month, "--verifier",
                         s.verifier, "--preview", "--json", "--flags",
                         str(flags), s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout.splitlines()
    header = json.loads(out[0])
    assert header["population"] == len(answered), header
    assert sum(1 for ln in answered if "item" in ln.obj) >= 1000
    seed = bytes.fromhex(header["seed"])

    def key(ln):
        rid = ln["request_id"]
        return rid + ("/%d" % ln["item"] if "item" in ln.obj else "")
    ranked = sorted(answered, key=lambda ln: (
        hmac.new(seed, key(ln).encode(), hashlib.sha256).digest(),
        ln["seq"]))
    k = header["sample_size"]
    want = sorted(ln["seq"] for ln in ranked[:k])
    drawn = sorted(json.loads(json.loads(x)["line"])["seq"]
                   for x in out[1:])
    assert drawn == want
    # drawn one by one: ranked by request_id alone, a batch's lines would
    # tie and be drawn from its start (items 0, 1, 2 ...) or not at all
    rid = [ln for ln in answered if ln.obj.get("items") == 1000][-1][
        "request_id"]
    items = sorted(ln["item"] for ln in ranked[:k]
                   if ln["request_id"] == rid)
    assert items and items != list(range(len(items))), items


def test_flags_count_each_subject(make_server):
    """The anomaly flags (R5.2) see each subject of a batch as a query:
    a batch of 40 by one operator is a burst (more than 30 queries in 60
    seconds, the built-in threshold): every line of the burst is flagged
    and joins the sample (audit-guide.md: batch clients and --flags)."""
    s = make_server(checkpoints=True)
    gen = harness.People()
    people = gen.batch(40)
    s.import_household(people)
    s.start()
    r = batch(s, [subject(p) for p in people],
              shared=dict(SHARED, check="resident"))
    assert r.status == 200, r
    month = verify_lines(s)[-1]["ts"][:7]
    res = run_audit_tool("sample", "--month", month, "--verifier",
                         s.verifier, "--preview", "--json", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    header = json.loads(res.stdout.splitlines()[0])
    assert header["population"] == 40
    assert header["flags"]["counts"]["burst"] == 40, header["flags"]
    assert header["flags"]["lines"] == 40


# -- the audit volume cannot take the lines ---------------------------





def newest_file(s):
    return os.path.join(s.audit, harness.audit_files(s.audit)[-1])


@pytest.mark.skipif(not harness.IS_ROOT, reason="mounting a tmpfs needs "
                    "root (CI runs as root)")
@pytest.mark.parametrize("mpm", MPMS)
def test_volume_cannot_take_the_lines(make_server, mpm):
    """Room in the volume for a line or two, not for a batch: the batch
    is 503 audit_unavailable, nothing of it answered, the day file byte
    for byte as before; a single query still fits, and its seq follows
    the last line before the batch."""
    with small_volume() as mnt:
        s = make_server(mpm=mpm, audit=mnt)
        s.expect_log(r"\[verify:error\].*VFY6: cannot write audit line",
                     r"\[verify:error\].*VFY125: request \w+: the 200 "
                     r"audit lines of a batch could not be written")
        gen = harness.People()
        people = gen.batch(4)
        s.import_household(people)
        s.start()
        # the file's last page with room for two lines or so (tmpfs
        # allocates whole pages: that room stays once the volume is full)
        for i in range(40):
            r = s.post(fields_for(people[0], case="ROOM-%d" % i))
            assert r.status == 200, r
            if -os.path.getsize(newest_file(s)) % 4096 >= 1800:
                break
        filler = fill(mnt)
        before = open(newest_file(s), "rb").read()
        last = harness.read_audit(s.audit)[-1]
        r = batch(s, [subject(people[i % 4]) for i in range(200)])
        assert r.status == 503, r
        assert r.json["error"] == "audit_unavailable"
        assert set(r.json) == {"request_id", "error", "message"}
        assert open(newest_file(s), "rb").read() == before
        r = s.post(fields_for(people[1], case="STILL-ROOM"))
        assert r.status == 200, r
        assert r.json["receipt"]["seq"] == last["seq"] + 1
        os.unlink(filler)
        r = batch(s, [subject(people[i % 4]) for i in range(200)])
        assert r.status == 200, r
        lines = harness.read_audit(s.audit)
        assert not harness.chain_problems(lines)
        res = run_audit_tool("verify", s.audit)
        assert res.returncode == 0, res.stdout + res.stderr
        s.stop()


def test_batch_with_audit_sync(make_server):
    """VerifyAuditSync On: the batch is answered once its last line is on
    disk (one group commit for all of its lines); the lines interleave
    with nobody else's."""
    s = make_server(extra_conf="VerifyAuditSync On")
    gen = harness.People()
    people = gen.batch(20)
    s.import_household(people)
    s.start()
    r = batch(s, [subject(p) for p in people] * 3,
              shared=dict(SHARED, check="resident"))
    assert r.status == 200, r
    assert len(r.json["answers"]) == 60
    check_receipts(s, r)
