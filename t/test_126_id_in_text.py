"""A national ID typed into `case`, `reason` or `operator` (issue 8 item
4, R5.1; an account named by its holder's ID number is personal data):
the module refuses the request 400 `invalid_field` with a JSON error, and
neither its answer, its audit line nor the error log holds the number in
clear: the audit line keeps the field with the number masked as the
subject is (A12*****89). Every form verify_id.c accepts counts (lower
case, resident numbers old and new, full-width as a Chinese input method
types it); a wrong check digit, a phone number or a longer run of digits
is not an ID and is answered."""

import json
import re

import pytest

import harness
from harness import fields_for, mask_id
from test_120_errors import refused

FULL_WIDTH = {c: chr(ord(c) + 0xfee0) for c in
              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"}


def old_resident(letter, second, seven):
    """An old-style resident certificate number (two letters)."""
    codes = harness.LETTER_CODES
    t, u = divmod(codes[letter], 10)
    s = t + u * 9 + (codes[second] % 10) * 8 + sum(
        int(d) * w for d, w in zip(seven, range(7, 0, -1)))
    return letter + second + seven + str((10 - s % 10) % 10)


def planted_ids(s):
    gen = harness.People("test_126")
    return {
        "citizen": gen.person("citizen").id,
        "resident": gen.person("resident").id,
        "old_resident": old_resident("F", "C", "1234567"),
        "lower": gen.person("citizen").id.lower(),
        "outsider": s.outsiders[0].id,
    }


def clear_forms(pid):
    """How the number could appear in a file: as sent, upper case,
    full-width."""
    return {pid, pid.upper(), pid.lower(),
            "".join(FULL_WIDTH[c] for c in pid)}


def no_clear_id(s, pid, *texts):
    for where, text in [("error log", s.error_log_text())] + list(texts):
        for form in clear_forms(pid):
            assert form not in text, "%s holds %s in clear" % (
                where, mask_id(pid.upper()))


@pytest.mark.parametrize("kind", ["form", "json"])
@pytest.mark.parametrize("field", ["reason", "case", "operator"])
@pytest.mark.parametrize("which", ["citizen", "resident", "old_resident",
                                   "lower", "outsider", "full_width"])
def test_id_in_text_is_refused_and_masked(hserver, kind, field, which):
    s = hserver
    ids = planted_ids(s)
    pid = ids.get(which) or ids["citizen"]
    shown = pid if which != "full_width" else \
        "".join(FULL_WIDTH[c] for c in pid)
    s.add_secret(pid, pid.upper(), shown)
    case = "C126-%s-%s-%s" % (kind, field, which)
    f = fields_for(s.people[0], case=case)
    text = {"reason": "查詢身分證 %s 的資格" % shown,
            "case": "%s-%s" % (case[:20], shown),
            "operator": "op-%s" % shown}[field]
    f[field] = text
    r = s.post(f, kind=kind)
    a = refused(s, r, 400, "invalid_field")
    assert field in r.json["message"] and "ID" in r.json["message"]
    no_clear_id(s, pid, ("answer", r.body.decode()),
                ("audit line", a.raw.decode()))
    # the audit line keeps the field, the number masked
    masked = mask_id(pid.upper())
    assert a[field] == text.replace(shown, masked), a[field]
    assert a["subject"] == mask_id(s.people[0].id)
    assert a["client"] == "testsys"
    # the error log says which field of which request, nothing of it
    log = s.error_log_text()
    assert re.search(r"\[verify:info\].*VFY130: request %s: %s holds what "
                     r"looks like a national ID number" % (
                         r.json["request_id"], field), log), log[-2000:]


def test_id_in_both_fields_and_refused_client(hserver):
    """Both fields masked; and an unknown client, refused for that
    first, still gets its line masked."""
    s = hserver
    pid = planted_ids(s)["citizen"]
    s.add_secret(pid)
    f = fields_for(s.people[1], case="C126 " + pid, reason=pid + " x")
    a = refused(s, s.post(f), 400, "invalid_field")
    assert a["case"] == "C126 " + mask_id(pid)
    assert a["reason"] == mask_id(pid) + " x"
    r = s.post(f, kind="json", source_address=("127.0.0.2", 0))
    a = refused(s, r, 403, "unknown_client")
    assert a["case"] == "C126 " + mask_id(pid)
    assert a["reason"] == mask_id(pid) + " x"
    no_clear_id(s, pid, ("audit line", a.raw.decode()))


@pytest.mark.parametrize("text", [
    "phone 0912-345-678",             # not refused: the sheet masks it
    "case 112-0001234567",
    "A123456788",                     # wrong check digit
    "A1234567890",                    # a digit after it
    "eligibility check",
])
def test_text_without_id_is_answered(hserver, text):
    s = hserver
    f = fields_for(s.people[2], case="C126-ok", reason=text)
    r = s.post(f)
    assert r.status == 200, r
    a = s.audit_for(r.json["request_id"])[0]
    assert a["reason"] == text


def test_every_audit_line_is_free_of_planted_ids(hserver):
    """After all of the above: no clear planted number in any file."""
    s = hserver
    for pid in planted_ids(s).values():
        for f in harness.audit_files(s.audit):
            with open("%s/%s" % (s.audit, f), encoding="utf-8") as fh:
                no_clear_id(s, pid, (f, fh.read()))
    s.check_no_secrets()
    # every refusal of this file is valid JSON with no ID-looking text
    for ln in s.audit_lines():
        if ln.get("case", "") and str(ln.get("case")).startswith("C126"):
            assert json.loads(ln.raw)
