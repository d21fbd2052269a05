"""docs/openapi.yaml is true (issue 9 item 5): the document lints as
OpenAPI 3.1 (an npm linter, t/openapi), its examples fit its own
schemas, it declares every error code the module's source can answer
and api.md's table names, and real answers of a real httpd over real
TLS, one of every kind this file can provoke (answers by form and JSON,
with identity_match and age_at_least, Verify-Warning, every error code
the service gives but unknown_operator, whose register lands beside
this), conform to it: status, headers (Cache-Control, Verify-Warning,
Retry-After, Allow) and body, validated by python3-jsonschema.

The batch answers, unknown_operator, Verify-Request-Id and the health
endpoint are in t/openapi_pending_batch_health.py until they land."""

import datetime
import glob
import json
import os
import re
import ssl
import subprocess

import pytest

import harness
from harness import fields_for, openapi
from test_120_errors import _fill, tiny_audit_dir  # noqa: F401 (fixture)
from test_170_lifecycle import (_remove_tmpdirs,  # noqa: F401 (fixture)
                                import_text, set_approved_until, status_csv)

REPO = harness.REPO
LINTER = os.path.join(REPO, "t", "openapi", "node_modules", ".bin",
                      "validate-api")

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
TAIL = "approval=APP-OAS valid=2020-01-01..2099-12-31"

# client name: (certificate, register line after "ip=127.0.0.1")
CLIENTS = {
    "full": "checks=resident,indigenous,elderly_alone,disability,"
            "identity,age " + TAIL,
    "warn": "checks=resident " + TAIL,          # certificate 80 days old
    "aged": "checks=resident " + TAIL,          # 91 days old
    "reuse": "checks=resident " + TAIL,         # a retired key again
    "narrow": "checks=resident " + TAIL,
    "lapsed": "checks=resident approval=APP-OLD valid=2019-01-01..2020-12-31",
    "slow": "checks=resident rate=1/min " + TAIL,
}


# -- the document itself ----------------------------------------------

def test_document_lints_as_openapi_3_1():
    """The npm linter checks the document against the OpenAPI 3.1
    schemas (and every $ref resolves); scripts/install-deps.sh installs
    it."""
    assert os.access(LINTER, os.X_OK), (
        "%s missing: run scripts/install-deps.sh" % LINTER)
    res = subprocess.run([LINTER, openapi.SPEC], capture_output=True,
                         text=True, env=harness.CLEAN_ENV, timeout=120)
    out = json.loads(res.stdout)
    assert out["valid"] is True, res.stdout + res.stderr
    assert openapi.load()["openapi"] == "3.1.0"


def test_linter_finds_faults(tmp_path):
    """The linter is not a rubber stamp: a reference to nothing and an
    undeclared status key are found."""
    text = open(openapi.SPEC, encoding="utf-8").read()
    for bad, good in (('"#/components/responses/Missing"',
                       '"#/components/responses/NotFound"'),
                      ('"4xx-bad":', '"413":')):
        assert good in text
        path = tmp_path / "bad.yaml"
        path.write_text(text.replace(good, bad, 1), encoding="utf-8")
        res = subprocess.run([LINTER, str(path)], capture_output=True,
                             text=True, env=harness.CLEAN_ENV, timeout=120)
        assert json.loads(res.stdout)["valid"] is False, (bad, res.stdout)


def examples(spec):
    """(where, schema, value) of every example in the document."""
    out = []

    def walk(node, where):
        if isinstance(node, dict):
            if "schema" in node and "examples" in node \
                    and isinstance(node["examples"], dict):
                for name, ex in node["examples"].items():
                    out.append(("%s/examples/%s" % (where, name),
                                node["schema"], ex["value"]))
            if "type" in node and isinstance(node.get("examples"), list):
                for i, ex in enumerate(node["examples"]):
                    out.append(("%s/examples/%d" % (where, i), node, ex))
            for k, v in node.items():
                walk(v, where + "/" + k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, "%s/%d" % (where, i))
    walk(spec, "#")
    return out


def test_examples_fit_their_schemas():
    spec = openapi.load()
    found = examples(spec)
    assert len(found) >= 12, [w for w, _, _ in found]
    bad = []
    for where, schema, value in found:
        bad += ["%s: %s" % (where, e)
                for e in openapi.schema_errors(spec, schema, value)]
    assert not bad, "\n".join(bad)


STATUS = {"HTTP_BAD_REQUEST": 400, "HTTP_FORBIDDEN": 403,
          "HTTP_NOT_FOUND": 404, "HTTP_METHOD_NOT_ALLOWED": 405,
          "HTTP_REQUEST_ENTITY_TOO_LARGE": 413,
          "HTTP_UNSUPPORTED_MEDIA_TYPE": 415,
          "HTTP_TOO_MANY_REQUESTS": 429, "HTTP_SERVICE_UNAVAILABLE": 503}
REFUSAL_RE = re.compile(r"\b(?:refuse|overrule|verify_request_refuse)"
                        r"\(\s*q,\s*(HTTP_\w+),\s*\"(\w+)\"")


def source_codes():
    """{(status, error)} the module's source can answer."""
    found = set()
    for path in glob.glob(os.path.join(REPO, "mod_verify", "*.c")):
        for name, code in REFUSAL_RE.findall(open(path).read()):
            assert name in STATUS, (path, name)
            found.add((STATUS[name], code))
    return found


def declared(status, method="POST", path="/verify"):
    """The error codes the document allows for @status of @method @path."""
    spec = openapi.load()
    resp = openapi.resolve(
        spec, openapi.operation(spec, method, path)["responses"][str(status)])
    schema = resp["content"]["application/json"]["schema"]
    codes = set(openapi.resolve(spec, {"$ref": "#/components/schemas/"
                                       "ErrorCode"})["enum"])
    return {c for c in codes if not openapi.schema_errors(
        spec, schema, {"request_id": "0" * 24, "error": c, "message": "m"})}


def test_every_error_the_source_answers_is_declared():
    codes = source_codes()
    assert len(codes) >= 16, codes
    missing = sorted("%d %s" % sc for sc in codes
                     if sc[1] not in declared(sc[0]))
    assert not missing, "answered by the module, not in the document: " \
        + ", ".join(missing)


def test_every_error_the_source_answers_is_provoked():
    """Each code the module can answer is asked for by a test that holds
    the real answer to the document (this file, or test_972 once the
    pending features land)."""
    text = "".join(open(f, encoding="utf-8").read() for f in glob.glob(
        os.path.join(REPO, "t", "test_97[0-4]_*.py")))
    missing = sorted(c for _, c in source_codes()
                     if not re.search(r"\b\d{3},\s+\"%s\"" % c, text))
    assert not missing, "no answer validated for: " + ", ".join(missing)


def api_md_codes():
    text = open(os.path.join(REPO, "docs", "api.md"), encoding="utf-8").read()
    return set((int(s), c) for s, c in
               re.findall(r"^\| (\d{3}) \| `(\w+)` \|", text, re.M))


def test_api_md_error_table_is_declared():
    codes = api_md_codes()
    assert len(codes) >= 16, codes
    missing = sorted("%d %s" % sc for sc in codes
                     if sc[1] not in declared(sc[0]))
    assert not missing, "in api.md's table, not in the document: " \
        + ", ".join(missing)


def test_contract_refuses_what_the_server_refuses():
    """The request schemas hold the rules a generated client can check
    before sending (the server is asked the same below)."""
    ok = fields_for("A123456789", check="resident,age_at_least:65")
    assert openapi.request_problems("application/x-www-form-urlencoded",
                                    ok) == []
    assert openapi.request_problems("application/json", dict(
        ok, check=["resident", "age_at_least:120"], name="王小明",
        birth_date="1950-03-04")) == []
    # (a check listed twice in a comma list is a rule of the text only)
    for bad in ({"check": "age_at_least:065"},
                {"check": "age_at_least:121"},
                {"check": "resident,"},
                {"case": "x" * 65}, {"reason": "a\tb"}, {"operator": ""},
                {"birth_date": "1950/03/04"}, {"id": "A12345678"},
                {"foo": "bar"}):
        f = dict(ok, **bad)
        assert openapi.request_problems(
            "application/x-www-form-urlencoded", f), bad
    f = dict(ok)
    del f["case"]
    assert openapi.request_problems("application/json", f)
    assert openapi.request_problems("application/json",
                                    dict(ok, check=["resident", "resident"]))
    assert openapi.request_problems("text/plain", ok)


def fake(status, body, **headers):
    h = {"content-type": "application/json", "cache-control": "no-store",
         "verify-request-id": body.get("request_id")}
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return harness.Response(status, "", {k: v for k, v in h.items()
                                         if v is not None},
                            json.dumps(body).encode())


def test_validator_finds_faults():
    """The checks below are not a rubber stamp: each fault of an answer
    the document excludes is found."""
    ok = {"request_id": "0123456789abcdef01234567",
          "results": {"resident": True}, "as_of": {},
          "receipt": {"seq": 1, "leaf": "ab" * 32}}
    err = {"request_id": "0123456789abcdef01234567", "error":
           "method_not_allowed", "message": "use POST"}
    assert openapi.response_problems("POST", "/verify", fake(200, ok)) == []
    assert openapi.response_problems("GET", "/verify",
                                     fake(405, err, allow="POST")) == []
    for method, r, why in (
            ("POST", fake(200, dict(ok, name="x")), "additional"),
            ("POST", fake(200, dict(ok, results={})), "enough properties"),
            ("POST", fake(200, dict(ok, request_id="x")), "does not match"),
            ("POST", fake(200, ok, cache_control=None), "cache-control"),
            ("POST", fake(200, ok, verify_warning="soon"), "verify-warning"),
            ("POST", fake(200, ok, retry_after="1"), "not declared"),
            ("POST", fake(201, ok), "status 201"),
            ("POST", fake(400, dict(err, error="rate_limited")), "error"),
            ("POST", fake(429, dict(err, error="rate_limited")),
             "retry-after missing"),
            ("GET", fake(405, err), "allow missing"),
            ("GET", fake(405, err, allow="GET"), "allow"),
            ("POST", fake(200, ok, content_type="text/html"), "media type")):
        problems = openapi.response_problems(method, "/verify", r)
        assert problems and why in "\n".join(problems).lower(), (
            why, problems)


# -- real answers -------------------------------------------------------

@pytest.fixture(scope="module")
def pki():
    with harness.tls_pki("openapi test CA") as out:
        d = out["dir"]
        ages = {"warn": 80, "aged": 91, "retired": 60}
        for name in list(CLIENTS) + ["retired", "stranger"]:
            if name == "reuse":
                continue
            out[name] = harness.sign_cert(
                d, name, name + " client", NOW - ages.get(name, 1) * DAY,
                NOW + 200 * DAY)
        # the retired certificate's key certified again
        out["reuse"] = harness.sign_cert(d, "reuse", "reuse client",
                                         NOW - DAY, NOW + 200 * DAY,
                                         key=out["retired"][1])
        yield out


def context(pki, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki["ca"])
    ctx.load_cert_chain(*pki[name])
    return ctx


@pytest.fixture(scope="module")
def oas(pki):
    """One TLS server, a client per kind of refusal; household imported,
    elderly_alone never, disability imported with its usage period
    ended yesterday."""
    clients = ["%s ip=127.0.0.1 %s cert-sha256=%s"
               % (name, line, harness.cert_sha256(pki[name][0]))
               for name, line in CLIENTS.items()]
    retired = "VerifyClientRetired reuse cert-sha256=%s spki-sha256=%s" % (
        harness.cert_sha256(pki["retired"][0]),
        harness.spki_sha256(pki["retired"][0]))
    s = harness.Server(mpm="event", clients=clients, extra_conf=retired,
                       tls={"cert": pki["server"][0],
                            "key": pki["server"][1], "ca": pki["ca"],
                            "probe_cert": pki["full"][0],
                            "probe_key": pki["full"][1]})
    s.expect_log(r"VFY143: client reuse \(")
    gen = harness.People()
    s.people = gen.batch(12)
    s.outsider = gen.person("citizen")
    s.add_people([s.outsider])
    try:
        s.import_household(s.people)
        import_text(s, status_csv([(p, harness.today_taipei() + 30 * DAY, "2")
                                   for p in s.people[:3]], level=True),
                    source="disability")
        set_approved_until(s.store, "disability",
                           harness.today_taipei() - DAY)
        s.start()
    except BaseException:
        s.cleanup()
        raise
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


def send(s, pki, client, fields=None, kind="form", method="POST",
         path="/verify", raw=None, content_type=None):
    """One request as @client; the answer, checked against the document
    (and, for a body of fields, the request too when it was answered)."""
    headers = {}
    if raw is None and fields is not None:
        if isinstance(fields, dict):
            s.add_secret(fields.get("id"), fields.get("name"),
                         fields.get("birth_date"))
        raw, ctype = harness.encode_body(fields, kind)
        headers["Content-Type"] = ctype
    if content_type:
        headers["Content-Type"] = content_type
    r = harness.request(s.port, method, path, body=raw, headers=headers,
                        context=context(pki, client))
    openapi.assert_response(method, path, r)
    if r.status == 200 and isinstance(fields, dict):
        assert openapi.request_problems(headers["Content-Type"],
                                        fields) == [], fields
    return r


def person(s, indigenous=None):
    return next(p for p in s.people
                if indigenous is None or bool(p.indigenous) == indigenous)


def test_answer_by_form_with_identity_match(oas, pki):
    p = person(oas, indigenous=True)
    r = send(oas, pki, "full", fields_for(
        p, check="resident,indigenous", case="OAS-FORM",
        name=p.name, birth_date=p.birth.isoformat()))
    assert r.status == 200, r
    assert r.json["results"] == {"resident": True, "indigenous": True}
    assert r.json["identity_match"] is True
    assert "verify-warning" not in r.headers
    line = oas.audit_for(r.json["request_id"])[0]
    assert line["seq"] == r.json["receipt"]["seq"]


def test_answer_by_json_with_age(oas, pki):
    p = person(oas)
    r = send(oas, pki, "full", fields_for(
        p, check=["resident", "age_at_least:0"], case="OAS-JSON"),
        kind="json")
    assert r.status == 200, r
    assert r.json["results"] == {"resident": True, "age_at_least:0": True}
    assert "identity_match" not in r.json


def test_answer_about_someone_not_registered(oas, pki):
    r = send(oas, pki, "full", fields_for(
        oas.outsider, check="resident,indigenous", case="OAS-NO",
        birth_date="1950-01-01"), kind="json")
    assert r.status == 200, r
    assert r.json["results"] == {"resident": False, "indigenous": False}
    assert r.json["identity_match"] is False


def test_answer_with_verify_warning(oas, pki):
    r = send(oas, pki, "warn", fields_for(person(oas), case="OAS-WARN"))
    assert r.status == 200, r
    assert r.headers["verify-warning"].startswith("credential-age "), r
    # a refusal carries it too, and the document says so
    r = send(oas, pki, "warn", {"id": person(oas).id, "check": "resident"})
    assert r.status == 400 and r.json["error"] == "missing_field", r
    assert "verify-warning" in r.headers


BAD = [
    # (name, fields changes, kind, status, error)
    ("missing", {"case": None}, "form", 400, "missing_field"),
    ("bad-id", {"id": "A123456788"}, "form", 400, "invalid_id"),
    ("unknown-field", {"foo": "bar"}, "json", 400, "invalid_field"),
    ("bad-check", {"check": "resident,nonsense"}, "form", 400,
     "invalid_field"),
    ("age-zero", {"check": "age_at_least:065"}, "form", 400,
     "invalid_check"),
    ("text", {"reason": "a\tb"}, "json", 400, "invalid_field"),
    ("birth", {"birth_date": "1950/01/01"}, "json", 400, "invalid_field"),
    ("not-yet", {"check": "elderly_alone"}, "form", 503,
     "store_unavailable"),
    ("expired", {"check": "resident,disability"}, "form", 503,
     "data_expired"),
]


@pytest.mark.parametrize("name,change,kind,status,error", BAD,
                         ids=[b[0] for b in BAD])
def test_refusals_of_the_request(oas, pki, name, change, kind, status,
                                 error):
    f = fields_for(person(oas), case="OAS-" + name)
    for k, v in change.items():
        if v is None:
            del f[k]
        else:
            f[k] = v
    r = send(oas, pki, "full", f, kind=kind)
    assert (r.status, r.json["error"]) == (status, error), r
    if status == 400 and name != "bad-id":
        # what the server refuses, the contract refuses too (but a
        # check digit, which no schema can compute)
        assert openapi.request_problems(
            harness.encode_body(f, kind)[1], f), f
    line = oas.audit_for(r.json["request_id"])[0]
    assert line["status"] == status and line["error"] == error


@pytest.mark.parametrize("client,status,error", [
    ("stranger", 403, "unknown_client"),
    ("reuse", 403, "credential_reused"),
    ("aged", 403, "credential_expired"),
    ("lapsed", 403, "approval_expired"),
    ("narrow", 403, "check_not_permitted"),
])
def test_refusals_of_the_client(oas, pki, client, status, error):
    r = send(oas, pki, client, fields_for(person(oas), case="OAS-" + client,
                                          check="resident,indigenous"))
    assert (r.status, r.json["error"]) == (status, error), r
    assert "results" not in r.json


def test_rate_limited(oas, pki):
    r = send(oas, pki, "slow", fields_for(person(oas), case="OAS-RATE-1"))
    assert r.status == 200, r
    r = send(oas, pki, "slow", fields_for(person(oas), case="OAS-RATE-2"))
    assert (r.status, r.json["error"]) == (429, "rate_limited"), r
    assert r.headers["retry-after"] == "1"


def test_identity_mismatch_limit(oas, pki):
    p = next(q for q in reversed(oas.people)
             if q not in (person(oas), person(oas, indigenous=True)))
    for i in range(5):
        r = send(oas, pki, "full", fields_for(p, case="OAS-MM-%d" % i,
                                              birth_date="1901-01-0%d"
                                              % (i + 1)))
        assert r.status == 200 and r.json["identity_match"] is False, r
    r = send(oas, pki, "full", fields_for(p, case="OAS-MM-5",
                                          birth_date="1901-01-09"))
    assert (r.status, r.json["error"]) == (429, "rate_limited"), r
    assert 1 <= int(r.headers["retry-after"]) <= 86400


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH",
                                    "OPTIONS"])
def test_method_not_allowed(oas, pki, method):
    r = send(oas, pki, "full", method=method)
    assert (r.status, r.json["error"]) == (405, "method_not_allowed"), r
    assert r.headers["allow"] == "POST"


def test_head(oas, pki):
    r = send(oas, pki, "full", method="HEAD")
    assert r.status == 405 and r.body == b"", r
    assert r.headers["allow"] == "POST"


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_not_found(oas, pki, method):
    r = send(oas, pki, "full", fields_for(person(oas), case="OAS-404"),
             method=method, path="/verify/x")
    assert (r.status, r.json["error"]) == (404, "not_found"), r


def test_query_string(oas, pki):
    r = send(oas, pki, "full", fields_for(person(oas), case="OAS-Q"),
             path="/verify?id=x")
    assert (r.status, r.json["error"]) == (400, "invalid_field"), r


def test_media_type_and_size(oas, pki):
    f = fields_for(person(oas), case="OAS-MT")
    body = harness.encode_body(f, "form")[0]
    r = send(oas, pki, "full", raw=body, content_type="text/plain")
    assert (r.status, r.json["error"]) == (415, "unsupported_media_type"), r
    r = send(oas, pki, "full", raw=body, content_type=(
        "application/x-www-form-urlencoded; charset=iso-8859-1"))
    assert (r.status, r.json["error"]) == (415, "unsupported_media_type"), r
    r = send(oas, pki, "full", raw=body + b"&x=" + b"y" * 9000,
             content_type="application/x-www-form-urlencoded")
    assert (r.status, r.json["error"]) == (413, "body_too_large"), r
    r = send(oas, pki, "full", raw=b'{"id": "A1', content_type=(
        "application/json"))
    assert (r.status, r.json["error"]) == (400, "invalid_field"), r


def test_audit_unavailable(tiny_audit_dir, make_server):  # noqa: F811
    """The 503 that replaces an answer whose line cannot be written."""
    s = make_server(audit=tiny_audit_dir)
    s.expect_log(r"\[verify:error\].*No space left on device.*audit")
    people = harness.People().batch(2)
    s.import_household(people)
    s.start()
    _fill(tiny_audit_dir)
    for i in range(60):
        r = s.post(fields_for(people[0], case="OAS-DISK-%d" % i))
        openapi.assert_response("POST", "/verify", r)
        if r.status != 200:
            break
    assert (r.status, r.json["error"]) == (503, "audit_unavailable"), r
