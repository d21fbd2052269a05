"""Strict parsing (hardening issue 6, item 7): a request body is read as
exactly what it says or refused, naming the field; the audit line stays
one line for any JSON Lines reader, whatever text it carries."""

import json
import urllib.parse

import pytest

import harness
from harness import fields_for

FORM = "application/x-www-form-urlencoded"


def form(pairs):
    """Encode (name, value) pairs; a value of bytes is put in raw."""
    out = []
    for k, v in pairs:
        if isinstance(v, bytes):
            out.append(k.encode() + b"=" + v)
        else:
            out.append(urllib.parse.urlencode([(k, v)]).encode())
    return b"&".join(out)


def refused_400(s, r, *words):
    """400 invalid_field whose message holds every word; one audit
    line with the same status and error."""
    assert r.status == 400, r
    body = r.json
    assert body["error"] == "invalid_field", body
    for w in words:
        assert w in body["message"], (w, body)
    lines = s.audit_for(body["request_id"])
    assert len(lines) == 1, lines
    assert lines[0]["status"] == 400
    assert lines[0]["error"] == "invalid_field"
    assert "results" not in lines[0].obj
    return lines[0]


def pairs_for(p, **more):
    return list(fields_for(p, **more).items())


# -- NUL bytes ---------------------------------------------------------

@pytest.mark.parametrize("field", ["id", "check", "case", "reason",
                                   "operator"])
def test_nul_byte_names_its_field(hserver, field):
    """A raw NUL byte anywhere in a value is refused naming that field,
    and what follows it is not silently dropped."""
    s = hserver
    p = s.people[0]
    pairs = [(k, (v.encode() + b"\x00tail") if k == field else v)
             for k, v in pairs_for(p, case="S-nul-" + field)]
    r = s.post(None, raw=form(pairs), content_type=FORM)
    refused_400(s, r, field, "NUL")


def test_nul_byte_does_not_hide_a_second_id(hserver):
    """The issue's case: a NUL ended the C string, so a second id after
    it was never seen and the first was answered."""
    s = hserver
    p, q = s.people[0], s.people[1]
    body = form(pairs_for(p, reason="x", case="S-nul-hide"))
    body = body.replace(b"reason=x", b"reason=x\x00") + \
        b"&id=" + q.id.encode()
    r = s.post(None, raw=body, content_type=FORM)
    refused_400(s, r, "reason", "NUL")


def test_percent_encoded_nul(hserver):
    s = hserver
    pairs = pairs_for(s.people[0], case="S-pct00")
    body = form(pairs).replace(b"operator=clerk01", b"operator=clerk%0001")
    r = s.post(None, raw=body, content_type=FORM)
    refused_400(s, r, "operator", "NUL")


def test_nul_in_json_value_names_its_field(hserver):
    s = hserver
    f = fields_for(s.people[0], case="S-json-nul", reason="why\x00not")
    r = s.post(f, kind="json")
    refused_400(s, r, "reason", "NUL")
    f = fields_for(s.people[0], case="S-json-nul2",
                   check=["resident", "indigenous\x00"])
    refused_400(s, s.post(f, kind="json"), "check")


# -- escapes, items without '=', repeated fields ----------------------

@pytest.mark.parametrize("bad", [b"%zz", b"%4", b"%", b"%g0"])
def test_bad_percent_escape_names_its_field(hserver, bad):
    s = hserver
    pairs = pairs_for(s.people[0], case="S-esc")
    pairs = [(k, bad if k == "reason" else v) for k, v in pairs]
    r = s.post(None, raw=form(pairs), content_type=FORM)
    refused_400(s, r, "reason", "escape")


def test_item_without_equals_names_it(hserver):
    s = hserver
    body = form(pairs_for(s.people[0], case="S-noeq")) + b"&operator"
    r = s.post(None, raw=body, content_type=FORM)
    refused_400(s, r, "operator", "=")


def test_empty_item_is_refused(hserver):
    s = hserver
    body = form(pairs_for(s.people[0], case="S-empty")).replace(
        b"&", b"&&", 1)
    r = s.post(None, raw=body, content_type=FORM)
    refused_400(s, r, "empty")


@pytest.mark.parametrize("field", ["id", "check", "case", "reason",
                                   "operator"])
def test_repeated_field_names_it(hserver, field):
    s = hserver
    pairs = pairs_for(s.people[0], case="S-rep")
    pairs += [(k, v) for k, v in pairs if k == field]
    r = s.post(None, raw=form(pairs), content_type=FORM)
    refused_400(s, r, field, "twice")


@pytest.mark.parametrize("field", ["id", "case", "operator"])
def test_repeated_json_member_names_it(hserver, field):
    s = hserver
    f = fields_for(s.people[3], case="S-dup-json")
    members = [json.dumps(k) + ":" + json.dumps(v) for k, v in f.items()]
    members.append(json.dumps(field) + ":" + json.dumps(f[field]))
    r = s.post(None, raw=("{%s}" % ",".join(members)).encode(),
               content_type="application/json")
    refused_400(s, r, field, "twice")


# -- charset ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["form", "json"])
@pytest.mark.parametrize("param", [
    "; charset=utf-8", ";charset=UTF-8", '; charset="utf-8"',
    "; Charset=Utf-8", " ; charset=utf-8 ", "; foo=bar; charset=utf-8", "",
])
def test_utf8_charset_is_accepted(hserver, kind, param):
    s = hserver
    body, ctype = harness.encode_body(fields_for(s.people[5]), kind)
    r = s.post(None, raw=body, content_type=ctype + param)
    assert r.status == 200, r
    assert r.json["results"] == {"resident": True}


@pytest.mark.parametrize("kind", ["form", "json"])
@pytest.mark.parametrize("param", [
    "; charset=iso-8859-1", "; charset=big5", '; charset="latin1"',
    "; charset=utf8", "; charset=utf-16", "; charset=utf-8; charset=big5",
    "; charset=", '; charset="utf-8', "; charset utf-8", "; =utf-8",
])
def test_other_charset_is_415(hserver, kind, param):
    s = hserver
    body, ctype = harness.encode_body(
        fields_for(s.people[5], case="S-cs"), kind)
    r = s.post(None, raw=body, content_type=ctype + param)
    assert r.status == 415, r
    assert r.json["error"] == "unsupported_media_type", r
    lines = s.audit_for(r.json["request_id"])
    assert len(lines) == 1 and lines[0]["status"] == 415, lines
    assert lines[0]["error"] == "unsupported_media_type"


# -- one audit line, for every reader ------------------------------------

LINE_BREAKERS = {
    "nel": "\u0085", "c1": "\u009b31m", "ls": "\u2028", "ps": "\u2029",
    "rlo": "\u202e", "lri": "\u2066", "lrm": "\u200e", "alm": "\u061c",
}


@pytest.mark.parametrize("name", sorted(LINE_BREAKERS))
@pytest.mark.parametrize("kind", ["form", "json"])
def test_audit_line_is_one_line_for_splitlines(hserver, name, kind):
    """C1 controls, U+2028/U+2029 and bidi controls in accepted text are
    written escaped: each audit file is exactly its lines for Python's
    str.splitlines(), and the text reads back exactly."""
    s = hserver
    ch = LINE_BREAKERS[name]
    reason = "before %s after" % ch
    r = s.post(fields_for(s.people[6], case="S-ls-" + name, reason=reason,
                          operator="op" + ch), kind=kind)
    assert r.status == 200, r
    lines = s.audit_for(r.json["request_id"])
    assert len(lines) == 1, lines
    raw = lines[0].raw.decode("utf-8")
    assert ch not in raw
    assert "\\u%04x" % ord(ch[0]) in raw
    assert raw.splitlines() == [raw]
    assert lines[0]["reason"] == reason
    assert lines[0]["operator"] == "op" + ch
    for f in harness.audit_files(s.audit):
        with open("%s/%s" % (s.audit, f), "rb") as fh:
            text = fh.read().decode("utf-8")
        assert text.splitlines() == text.split("\n")[:-1], f
    assert harness.chain_problems(s.audit_lines()) == []
