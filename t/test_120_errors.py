"""Refusals (SPEC section 3): status, JSON error body, and the audit line."""

import json
import os
import pwd
import subprocess

import pytest

import harness
from harness import fields_for, mask_id


def refused(s, r, status, code):
    """Check a refusal and its one audit line; returns the line."""
    assert r.status == status, r
    assert r.content_type.split(";")[0].strip() == "application/json", r
    body = r.json
    assert set(body) == {"request_id", "error", "message"}, body
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    lines = s.audit_for(body["request_id"])
    assert len(lines) == 1, lines
    a = lines[0]
    assert a["op"] == "verify"
    assert a["status"] == status
    assert a["error"] == code
    assert "results" not in a.obj
    assert harness.TS_RE.match(a["ts"])
    return a


def audit_by_case(s, case):
    return [ln for ln in s.audit_lines()
            if ln.get("op") == "verify" and ln.get("case") == case]


# -- 400 --------------------------------------------------------------

def test_invalid_id_checksum(hserver):
    s = hserver
    p = s.people[0]
    bad = harness.bad_checksum(p.id)
    r = s.post(fields_for(bad, case="E-checksum"))
    a = refused(s, r, 400, "invalid_id")
    assert bad not in a.raw.decode()
    assert a["subject"] in (mask_id(bad), "*", None)
    assert a["client"] == "testsys"


@pytest.mark.parametrize("bad", [
    "A12345678",          # 9 characters
    "A1234567890",        # 11 characters
    "1123456789",         # no letter
    "A3234567890"[:10],   # second character fits no kind of number
    "A12345678X",         # not all digits
    "A１２３４５６７８９",   # full-width digits
    "",
])
def test_invalid_id_shapes(hserver, bad):
    s = hserver
    r = s.post(fields_for(bad, case="E-shape"))
    if bad == "":
        assert r.status == 400 and r.json["error"] in ("invalid_id",
                                                       "missing_field"), r
        refused(s, r, 400, r.json["error"])
        return
    a = refused(s, r, 400, "invalid_id")
    if len(bad) >= 6:
        assert bad not in a.raw.decode()


@pytest.mark.parametrize("missing", ["id", "check", "case", "reason",
                                     "operator"])
@pytest.mark.parametrize("kind", ["form", "json"])
def test_missing_field(hserver, missing, kind):
    s = hserver
    f = fields_for(s.people[1], case="E-missing-" + missing)
    del f[missing]
    a = refused(s, s.post(f, kind=kind), 400, "missing_field")
    if missing == "id":
        assert a["subject"] is None and a["subject_tag"] is None
    else:
        assert a["subject"] == mask_id(s.people[1].id) or \
            a["subject"] is None


@pytest.mark.parametrize("change", [
    {"check": "income"},
    {"check": "resident,income"},
    {"check": ""},
    {"case": "C" * 65},
    {"case": "案" * 65},
    {"reason": "r" * 201},
    {"reason": "審" * 201},
    {"birth_date": "1980-02-30"},
    {"birth_date": "19800101"},
    {"birth_date": "069/01/01"},
    {"favourite_colour": "blue"},
], ids=lambda c: "-".join("%s%d" % (k, len(v)) for k, v in c.items()))
@pytest.mark.parametrize("kind", ["form", "json"])
def test_invalid_field(hserver, change, kind):
    s = hserver
    f = fields_for(s.people[2])
    f.update(change)
    r = s.post(f, kind=kind)
    if change.get("check") == "":
        assert r.json["error"] in ("invalid_field", "missing_field"), r
        refused(s, r, 400, r.json["error"])
        return
    refused(s, r, 400, "invalid_field")


@pytest.mark.parametrize("kind", ["form", "json"])
def test_length_limits_count_characters(hserver, kind):
    """case 1-64 and reason 1-200 characters: the maxima are accepted,
    in ASCII and in CJK (3 bytes each in UTF-8)."""
    s = hserver
    for case, reason in (("C" * 64, "r" * 200), ("案" * 64, "審" * 200)):
        f = fields_for(s.people[2], case=case, reason=reason)
        r = s.post(f, kind=kind)
        assert r.status == 200, r
        a = s.audit_for(r.json["request_id"])[0]
        assert a["case"] == case and a["reason"] == reason


@pytest.mark.parametrize("field", ["case", "reason", "operator"])
def test_empty_required_field(hserver, field):
    s = hserver
    f = fields_for(s.people[2])
    f[field] = ""
    r = s.post(f)
    assert r.status == 400, r
    assert r.json["error"] in ("missing_field", "invalid_field"), r
    refused(s, r, 400, r.json["error"])


def test_duplicate_form_field(hserver):
    s = hserver
    p, q = s.people[3], s.people[4]
    pairs = list(fields_for(p, case="E-dup-form").items()) + [("id", q.id)]
    refused(s, s.post(pairs), 400, "invalid_field")


def test_duplicate_json_member(hserver):
    s = hserver
    p, q = s.people[3], s.people[4]
    body = json.dumps(fields_for(p, case="E-dup-json"))[:-1] + \
        ', "id": "%s"}' % q.id
    r = s.post(None, raw=body.encode(), content_type="application/json")
    refused(s, r, 400, "invalid_field")


@pytest.mark.parametrize("raw", [
    b'{"id": "A123456789", "check": "resident"',     # truncated
    b'["resident"]',                                 # not an object
    b'{"id": 123, "check": "resident", "case": "c", "reason": "r", '
    b'"operator": "o"}',                             # id not a string
    b'',
])
def test_malformed_json(hserver, raw):
    s = hserver
    r = s.post(None, raw=raw, content_type="application/json")
    assert r.status == 400, r
    assert r.json["error"] in ("invalid_field", "missing_field"), r
    refused(s, r, 400, r.json["error"])


# -- 403 --------------------------------------------------------------

def test_unknown_client(hserver):
    s = hserver
    p = s.people[0]
    r = s.post(fields_for(p, case="E-unknown"),
               source_address=("127.0.0.2", 0))
    a = refused(s, r, 403, "unknown_client")
    assert a["client"] is None
    assert a["ip"] == "127.0.0.2"
    assert p.id not in a.raw.decode()


def test_check_not_permitted(hserver):
    s = hserver
    p = next(q for q in s.people if q.indigenous)
    r = s.post(fields_for(p, check="indigenous", case="E-narrow"),
               source_address=("127.0.0.4", 0))
    a = refused(s, r, 403, "check_not_permitted")
    assert a["client"] == "narrow" and a["ip"] == "127.0.0.4"
    assert a["checks"] == ["indigenous"]
    # also when a permitted check comes along: nothing is answered
    r = s.post(fields_for(p, check="resident,indigenous", case="E-narrow2"),
               source_address=("127.0.0.4", 0))
    refused(s, r, 403, "check_not_permitted")


def test_approval_expired(hserver):
    s = hserver
    r = s.post(fields_for(s.people[0], case="E-old"),
               source_address=("127.0.0.3", 0))
    a = refused(s, r, 403, "approval_expired")
    assert a["client"] == "oldsys"


# -- 405, 413, 415 ----------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_method_not_allowed(hserver, method):
    s = hserver
    before = len(s.audit_lines())
    r = harness.request(s.port, method, "/verify",
                        body=b"" if method != "GET" else None)
    assert r.status == 405, r
    assert "POST" in r.headers.get("allow", ""), r.headers
    new = s.audit_lines()[before:]
    # the request reached the handler: it leaves one audit line
    mine = [ln for ln in new if ln.get("status") == 405]
    assert len(mine) == 1, new


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_personal_data_in_url_is_refused(hserver, method):
    """Fields in the URL are refused (400 or, for GET, 405), and the ID
    is neither echoed nor logged (secrets are checked at server stop)."""
    s = hserver
    p = s.people[6]
    body, ctype = harness.encode_body(fields_for(p), "form")
    r = harness.request(s.port, method, "/verify?id=%s&check=resident"
                        % p.id, body=body if method == "POST" else None,
                        headers={"Content-Type": ctype})
    assert r.status in ((400, 405) if method == "GET" else (400,)), r
    assert p.id.encode() not in r.body
    assert b'"results"' not in r.body


@pytest.mark.parametrize("chunked", [False, True])
def test_body_too_large(hserver, chunked):
    s = hserver
    before = len(s.audit_lines())
    f = fields_for(s.people[0], case="E-413")
    f["reason"] = "x" * 9000
    body, ctype = harness.encode_body(f, "form")
    assert len(body) > 8192
    r = s.post(None, raw=body, content_type=ctype, chunked=chunked)
    assert r.status == 413, r
    new = s.audit_lines()[before:]
    mine = [ln for ln in new if ln.get("status") == 413]
    assert len(mine) == 1, new
    assert "results" not in mine[0].obj


@pytest.mark.parametrize("ctype", ["text/plain", "multipart/form-data; "
                                   "boundary=xyz", None])
def test_unsupported_media_type(hserver, ctype):
    s = hserver
    before = len(s.audit_lines())
    body, _ = harness.encode_body(fields_for(s.people[0]), "form")
    hdrs = {}
    if ctype:
        hdrs["Content-Type"] = ctype
    r = harness.request(s.port, "POST", "/verify", body=body, headers=hdrs)
    assert r.status == 415, r
    new = s.audit_lines()[before:]
    mine = [ln for ln in new if ln.get("status") == 415]
    assert len(mine) == 1, new
    assert "results" not in mine[0].obj


# -- 503 --------------------------------------------------------------

def test_store_unavailable_until_first_import(make_server):
    """503 store_unavailable before any import; the first import (plain
    `verify-import`, as SPEC section 5 shows it) is then served without a
    restart. The harness prepares the store directory the usual admin
    way, root:www-data with the setgid bit, so the files the importer
    creates belong to the run-time group."""
    s = make_server()
    # an empty store may deserve a warning, nothing worse
    s.expect_log(r"\[verify:warn\].*store")
    s.start()
    people = harness.People().batch(4)
    s.add_people(people)
    r = s.post(fields_for(people[0], case="E-nostore"))
    a = refused(s, r, 503, "store_unavailable")
    assert a["subject"] == mask_id(people[0].id)
    # the first import makes the store available without a restart
    s.import_household(people)
    # (a child may wait a moment before it tries the store again)
    deadline = harness.time.time() + 5
    while True:
        r = s.post(fields_for(people[0], case="E-nostore-2"))
        if r.status == 200 or harness.time.time() > deadline:
            break
        harness.time.sleep(0.2)
    assert r.status == 200, r
    assert r.json["results"] == {"resident": True}


def _mount_tmpfs(path, size="16k"):
    # the run-time user's, writable by no one else: an audit directory
    # the module did not create is used only as such (never re-owned)
    pw = pwd.getpwnam(harness.RUN_USER)
    subprocess.run(["mount", "-t", "tmpfs", "-o",
                    "size=%s,mode=0750,uid=%d,gid=%d"
                    % (size, pw.pw_uid, pw.pw_gid), "tmpfs", path],
                   check=True, capture_output=True)


def _umount(path):
    subprocess.run(["umount", path], capture_output=True)


def _fill(path):
    """Fill the file system of @path; returns the filler's path."""
    filler = os.path.join(path, "filler")
    with open(filler, "wb", buffering=0) as f:
        chunk = b"\0" * 1024
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
        try:
            while True:
                f.write(b"\0")
        except OSError:
            pass
    return filler


@pytest.fixture
def tiny_audit_dir():
    if not harness.IS_ROOT:
        pytest.skip("mounting a tmpfs needs root")
    d = harness.tempfile.mkdtemp(prefix="mod_verify-tmpfs-")
    os.chmod(d, 0o755)
    _mount_tmpfs(d)
    yield d
    _umount(d)
    os.rmdir(d)


def test_audit_unavailable(tiny_audit_dir, make_server):
    # (fixture order: the server is stopped before the tmpfs is unmounted)
    s = make_server(audit=tiny_audit_dir)
    s.expect_log(r"\[verify:error\].*No space left on device.*audit")
    people = harness.People().batch(4)
    s.import_household(people)
    s.start()
    r = s.post(fields_for(people[0], case="E-disk-0"))
    assert r.status == 200, r
    filler = _fill(tiny_audit_dir)
    failed = None
    answered_after_fill = []
    for i in range(60):
        r = s.post(fields_for(people[0], case="E-disk-%d" % (i + 1)))
        if r.status != 200:
            failed = r
            break
        answered_after_fill.append(r.json["request_id"])
    assert failed is not None, "never refused although the disk is full"
    assert failed.status == 503, failed
    body = failed.json
    assert body["error"] == "audit_unavailable", body
    assert "results" not in body and "identity_match" not in body
    # every answer given before the failure has its line on disk
    lines = s.audit_lines()
    got = {ln.get("request_id") for ln in lines}
    for rid in answered_after_fill:
        assert rid in got
    # the refused request left no complete line claiming an answer
    assert not [ln for ln in lines
                if ln.get("request_id") == body["request_id"]
                and ln.get("status") == 200]

    # with space again, the server recovers and the chain is intact
    os.unlink(filler)
    r = s.post(fields_for(people[1], case="E-disk-recovered"))
    assert r.status == 200, r
    lines = s.audit_lines()
    assert harness.chain_problems(lines) == []
    res = harness.run_audit_tool("verify", tiny_audit_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    s.stop()
