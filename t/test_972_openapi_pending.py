"""docs/openapi.yaml against the answers that landed beside it from
other branches of issue 9 and 10: batch answers (`subjects`), 403
`unknown_operator` (VerifyOperators), the `Verify-Request-Id` header on
every answer, and the health endpoint (`SetHandler verify-health`).
"""

import datetime
import json
import os
import subprocess

import pytest

import harness
from harness import fields_for, openapi
from test_170_lifecycle import (_remove_tmpdirs,  # noqa: F401 (fixture)
                                set_approved_until)
from test_975_clients import (docserver, pki,  # noqa: F401 (fixtures)
                              programs)

DAY = datetime.timedelta(days=1)
ALL = ("full ip=127.0.0.1 checks=resident,indigenous,identity,age "
       "approval=APP-PEND valid=2020-01-01..2099-12-31")


def test_nothing_pending_any_more():
    assert openapi.PENDING_HEADERS == set(), (
        "empty PENDING_HEADERS in t/harness/openapi.py")


def test_every_declared_code_is_in_api_md():
    """The document's codes are api.md's (unknown_operator included)."""
    import test_970_openapi as t970
    spec = openapi.load()
    codes = set(openapi.resolve(spec, {"$ref": "#/components/schemas/"
                                       "ErrorCode"})["enum"])
    assert codes == {c for _, c in t970.api_md_codes()}
    assert {c for _, c in t970.source_codes()} == codes


@pytest.fixture(scope="module")
def pserver():
    s = harness.Server(mpm="event", clients=[ALL], extra_conf="\n".join([
        "VerifyBatchMax 4",
        "<Location /health>",
        "    SetHandler verify-health",
        "    Require ip 127.0.0.0/8",
        "</Location>",
    ]))
    gen = harness.People()
    s.people = gen.batch(8)
    s.outsider = gen.person("citizen")
    s.add_people([s.outsider])
    try:
        s.import_household(s.people)
        s.start()
    except BaseException:
        s.cleanup()
        raise
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


def post(s, fields, kind="json"):
    r = s.post(fields, kind=kind)
    openapi.assert_response("POST", "/verify", r)
    return r


def test_verify_request_id_on_every_answer(pserver):
    s = pserver
    answers = [post(s, fields_for(s.people[0], case="P-RID-1")),
               post(s, {"id": s.people[0].id})]
    r = harness.request(s.port, "GET", "/verify")
    openapi.assert_response("GET", "/verify", r)
    for r in answers + [r]:
        assert r.headers["verify-request-id"] == r.json["request_id"], r


def batch_fields(subjects, **more):
    f = {"subjects": subjects, "check": ["resident", "indigenous"],
         "case": "P-BATCH", "reason": "annual review", "operator": "clerk07"}
    f.update(more)
    return f


def test_batch_answer(pserver):
    s = pserver
    a, b = s.people[0], s.people[1]
    subjects = [{"id": a.id},
                {"id": b.id, "birth_date": b.birth.isoformat()},
                {"id": "A123456788"},
                {"id": s.outsider.id, "name": "王小明"}]
    f = batch_fields(subjects)
    assert openapi.request_problems("application/json", f) == []
    r = post(s, f)
    assert r.status == 200, r
    answers = r.json["answers"]
    assert len(answers) == 4
    assert answers[0]["results"] == {"resident": True,
                                     "indigenous": bool(a.indigenous)}
    assert "identity_match" not in answers[0]
    assert answers[1]["identity_match"] is True
    assert answers[2]["error"] == "invalid_id"
    assert answers[3]["results"]["resident"] is False
    assert answers[3]["identity_match"] is False
    # one audit line per subject, each the line of its receipt
    lines = s.audit_for(r.json["request_id"])
    assert len(lines) == 4
    by_seq = {ln["seq"]: ln for ln in lines}
    for i, ans in enumerate(answers):
        line = by_seq[ans["receipt"]["seq"]]
        assert line["items"] == 4
        assert line["item"] in (i, i + 1)


def test_batch_refusals(pserver):
    s = pserver
    too_many = batch_fields([{"id": p.id} for p in s.people[:5]])
    assert openapi.request_problems("application/json", too_many) == [], \
        "the document allows 1,000; this server VerifyBatchMax 4"
    r = post(s, too_many)
    assert (r.status, r.json["error"]) == (413, "too_many_subjects"), r
    openapi.assert_response("POST", "/verify", r)
    r = post(s, batch_fields([]))
    assert (r.status, r.json["error"]) == (400, "invalid_field"), r
    assert openapi.request_problems("application/json", batch_fields([]))
    both = batch_fields([{"id": s.people[0].id}], id=s.people[0].id)
    r = post(s, both)
    assert (r.status, r.json["error"]) == (400, "invalid_field"), r
    assert openapi.request_problems("application/json", both)


def test_unknown_operator(make_server):
    s = make_server(clients=[ALL])
    reg = os.path.join(s.root, "operators.txt")
    with open(reg, "w") as f:
        f.write("clerk07 clerk 2020-01-01..2099-12-31\n")
    os.chmod(reg, 0o644)
    s.extra_conf = "VerifyOperators full %s" % reg
    people = harness.People().batch(2)
    s.import_household(people)
    s.start()
    r = post(s, fields_for(people[0], operator="clerk07", case="P-OP-1"))
    assert r.status == 200, r
    r = post(s, fields_for(people[0], operator="intruder", case="P-OP-2"))
    assert (r.status, r.json["error"]) == (403, "unknown_operator"), r
    line = s.audit_for(r.json["request_id"])[0]
    assert line["error"] == "unknown_operator"


def test_health(pserver):
    s = pserver
    r = harness.request(s.port, "GET", "/health")
    body = openapi.assert_response("GET", "/health", r)
    assert r.status == 200 and body["status"] == "ok", r
    assert body["problems"] == [] and body["sources"]["household"]["ok"]
    # no audit line, nothing about anyone
    assert not [ln for ln in s.audit_lines() if ln.get("op") == "health"]


def test_health_head_and_other_methods(pserver):
    s = pserver
    r = harness.request(s.port, "HEAD", "/health")
    openapi.assert_response("HEAD", "/health", r)
    assert r.status == 200 and r.body == b"", r
    r = harness.request(s.port, "POST", "/health", body=b"x=1", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    body = openapi.assert_response("POST", "/health", r)
    assert r.status == 405 and body["error"] == "method_not_allowed", r
    assert r.headers["allow"] == "GET, HEAD"


def test_health_fails(make_server):
    """A source whose approved period has ended: 503, status fail, the
    problem named."""
    s = make_server(clients=[ALL], extra_conf="\n".join([
        "<Location /health>", "    SetHandler verify-health",
        "    Require ip 127.0.0.0/8", "</Location>"]))
    s.import_household(harness.People().batch(2))
    s.start()
    set_approved_until(s.store, "household",
                       harness.today_taipei() - DAY)
    r = harness.request(s.port, "GET", "/health")
    body = openapi.assert_response("GET", "/health", r)
    assert r.status == 503 and body["status"] == "fail", r
    assert body["sources"]["household"]["ok"] is False
    assert any("household" in p for p in body["problems"]), body


def test_batch_client_from_clients_md(docserver, pki, programs):  # noqa: F811
    """docs/clients.md's verify_batch.py, as written, over TLS: one line
    per ID in order, two requests of at most VERIFY_BATCH subjects."""
    s = docserver
    people = s.people[:4]
    ids = [p.id for p in people] + ["A123456788", s.outsider.id]
    env = dict(harness.CLEAN_ENV,
               VERIFY_URL="https://127.0.0.1:%d/verify" % s.port,
               VERIFY_CERT=pki["fresh"][0], VERIFY_KEY=pki["fresh"][1],
               VERIFY_CA=pki["ca"], VERIFY_BATCH="4")
    res = subprocess.run(
        ["/usr/bin/python3", os.path.join(programs, "verify_batch.py"),
         "resident,indigenous", "DOC-BATCH", "review", "clerk07"],
        input="\n".join(ids) + "\n", capture_output=True, text=True,
        env=env, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    items = [json.loads(ln) for ln in res.stdout.splitlines()]
    assert len(items) == 6
    for p, item in zip(people, items):
        assert item["results"] == {"resident": True,
                                   "indigenous": bool(p.indigenous)}
    assert items[4]["error"] == "invalid_id"
    assert items[5]["results"] == {"resident": False, "indigenous": False}
    assert len({item["request_id"] for item in items}) == 2
