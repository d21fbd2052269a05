"""POST /verify answers (SPEC section 3), under the event and prefork MPMs."""

import json

import pytest

import harness
from conftest import MPMS, _stop_all, household_server_fixture
from harness import fields_for, mask_id


@pytest.fixture(scope="module", params=MPMS)
def hserver(request):
    """The shared household server, with room for the identity
    mismatches these tests ask about one person on purpose (the matching
    rules; the limit itself is test_231_permissions.py's)."""
    s = household_server_fixture(
        request, extra_conf="VerifyIdentityMismatchLimit 100")
    yield s
    errors = _stop_all([s])
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


def by_indigenous(s, kind):
    return [p for p in s.people if p.indigenous == kind]


def ok(s, fields, kind="form", **kw):
    r = s.post(fields, kind=kind, **kw)
    assert r.status == 200, r
    assert r.content_type.split(";")[0].strip() == "application/json", r
    return r.json


def test_resident(hserver):
    s = hserver
    for p in s.people[:10]:
        assert ok(s, fields_for(p))["results"] == {"resident": True}
    for p in s.outsiders:
        # a valid number not in the household batch: a result, not an error
        assert ok(s, fields_for(p))["results"] == {"resident": False}


def test_new_resident_numbers(hserver):
    s = hserver
    residents = [p for p in s.people if p.id[1] in "89"]
    assert residents
    for p in residents[:4]:
        assert ok(s, fields_for(p))["results"]["resident"] is True


def test_indigenous(hserver):
    s = hserver
    for kind, want in (("mountain", True), ("plain", True), ("", False)):
        people = by_indigenous(s, kind)
        assert people
        for p in people[:3]:
            res = ok(s, fields_for(p, check="indigenous"))["results"]
            assert res == {"indigenous": want}, (kind, res)
    res = ok(s, fields_for(s.outsiders[0], check="indigenous"))["results"]
    assert res == {"indigenous": False}


@pytest.mark.parametrize("kind,check", [
    ("form", "resident,indigenous"),
    ("form", "indigenous,resident"),
    ("json", ["resident", "indigenous"]),
    ("json", "resident,indigenous"),
])
def test_several_checks(hserver, kind, check):
    s = hserver
    p = by_indigenous(s, "mountain")[0]
    ans = ok(s, fields_for(p, check=check), kind=kind)
    assert ans["results"] == {"resident": True, "indigenous": True}
    q = by_indigenous(s, "")[0]
    ans = ok(s, fields_for(q, check=check), kind=kind)
    assert ans["results"] == {"resident": True, "indigenous": False}


def test_answer_shape(hserver):
    s = hserver
    p = s.people[3]
    r = s.post(fields_for(p, check="resident"))
    assert r.status == 200
    ans = r.json
    assert set(ans) == {"request_id", "results", "as_of"}, ans
    assert isinstance(ans["request_id"], str) and ans["request_id"]
    assert harness.AS_OF_RE.match(ans["as_of"]["household"]), ans
    # as_of is the import time: not in the future, and today or earlier
    assert ans["as_of"]["household"][:10] <= \
        harness.today_taipei().isoformat()
    # nothing about the person is returned
    for v in (p.name, p.birth.isoformat(), p.id):
        assert v.encode() not in r.body


def test_request_ids_unique(hserver):
    s = hserver
    ids = {ok(s, fields_for(s.people[0]))["request_id"] for _ in range(20)}
    assert len(ids) == 20


def test_id_letter_case(hserver):
    s = hserver
    p = s.people[5]
    a = ok(s, fields_for(p.id.lower(), case="CASE-lower"))
    assert a["results"] == {"resident": True}
    ln = s.audit_for(a["request_id"])
    assert len(ln) == 1
    assert ln[0]["subject"].upper() == mask_id(p.id)
    assert ln[0]["subject_tag"] == harness.subject_tag(s.key, p.id)


@pytest.mark.parametrize("kind", ["form", "json"])
def test_identity_match(hserver, kind):
    s = hserver
    p = next(q for q in s.people if q.name.isascii())
    bd = p.birth.isoformat()
    wrong_bd = p.birth.replace(year=p.birth.year - 1).isoformat()
    cases = [
        ({"name": p.name}, True),
        ({"name": "  " + p.name.upper() + " "}, True),
        ({"name": p.name.lower()}, True),
        ({"birth_date": bd}, True),
        ({"name": p.name, "birth_date": bd}, True),
        ({"name": p.name + "x"}, False),
        ({"name": p.name[:-1]}, False),
        ({"birth_date": wrong_bd}, False),
        ({"name": p.name, "birth_date": wrong_bd}, False),
        ({"name": "Someone Else", "birth_date": bd}, False),
    ]
    s.add_secret(wrong_bd)
    for extra, want in cases:
        ans = ok(s, fields_for(p, **extra), kind=kind)
        assert ans["identity_match"] is want, (extra, ans)
        assert ans["results"] == {"resident": True}
    ans = ok(s, fields_for(p), kind=kind)
    assert "identity_match" not in ans


@pytest.mark.parametrize("kind", ["form", "json"])
def test_identity_match_chinese_name(hserver, kind):
    s = hserver
    p = next(q for q in s.people if not q.name.isascii())
    ans = ok(s, fields_for(p, name=p.name), kind=kind)
    assert ans["identity_match"] is True
    ans = ok(s, fields_for(p, name=p.name[:2]), kind=kind)
    assert ans["identity_match"] is False


def test_identity_match_outsider(hserver):
    s = hserver
    o = s.outsiders[0]
    ans = ok(s, fields_for(o, name=o.name, birth_date=o.birth.isoformat()))
    assert ans["results"] == {"resident": False}
    assert ans["identity_match"] is False


def test_json_charset_parameter(hserver):
    s = hserver
    p = s.people[7]
    body = json.dumps(fields_for(p), ensure_ascii=False).encode()
    r = s.post(None, raw=body,
               content_type="application/json; charset=utf-8")
    assert r.status == 200, r
    assert r.json["results"] == {"resident": True}


def test_audit_line_of_an_answer(hserver):
    s = hserver
    p = by_indigenous(s, "plain")[0]
    f = fields_for(p, check="resident,indigenous", case="114-社-000123",
                   reason="低收入戶審核 \"urgent\"", operator="clerk-7",
                   name=p.name, birth_date=p.birth.isoformat())
    ans = ok(s, f)
    lines = s.audit_for(ans["request_id"])
    assert len(lines) == 1, lines
    a = lines[0]
    assert a["op"] == "verify"
    assert a["client"] == "testsys"
    assert a["operator"] == "clerk-7"
    assert a["ip"] == "127.0.0.1"
    assert a["checks"] == ["resident", "indigenous"]
    assert a["subject"] == mask_id(p.id)
    assert harness.HEX64_RE.match(a["subject_tag"])
    assert a["subject_tag"] == harness.subject_tag(s.key, p.id)
    assert a["case"] == "114-社-000123"
    assert a["reason"] == "低收入戶審核 \"urgent\""
    assert a["status"] == 200
    assert "error" not in a.obj
    assert a["results"] == ans["results"]
    assert a["as_of"] == ans["as_of"]
    assert harness.TS_RE.match(a["ts"])
    raw = a.raw.decode()
    for v in (p.id, p.id.lower(), p.name, p.birth.isoformat()):
        assert v not in raw


def test_subject_tag_links_queries(hserver):
    s = hserver
    p, q = s.people[10], s.people[11]
    t1 = s.audit_for(ok(s, fields_for(p))["request_id"])[0]["subject_tag"]
    t2 = s.audit_for(ok(s, fields_for(p.id.lower()))["request_id"])[0][
        "subject_tag"]
    t3 = s.audit_for(ok(s, fields_for(q))["request_id"])[0]["subject_tag"]
    assert t1 == t2 != t3


def test_narrow_client_may_ask_resident(hserver):
    s = hserver
    p = s.people[0]
    ans = ok(s, fields_for(p), source_address=("127.0.0.4", 0))
    assert ans["results"] == {"resident": True}
    a = s.audit_for(ans["request_id"])[0]
    assert a["client"] == "narrow" and a["ip"] == "127.0.0.4"


def test_keepalive_connection(hserver):
    """Several requests on one connection each get their own answer."""
    s = hserver
    conn = harness.http.client.HTTPConnection("127.0.0.1", s.port,
                                              timeout=10)
    try:
        seen = set()
        for p in s.people[:5]:
            body, ctype = harness.encode_body(fields_for(p), "form")
            conn.request("POST", "/verify", body=body,
                         headers={"Content-Type": ctype})
            r = conn.getresponse()
            ans = json.loads(r.read())
            assert r.status == 200 and ans["results"]["resident"] is True
            seen.add(ans["request_id"])
        assert len(seen) == 5
    finally:
        conn.close()
