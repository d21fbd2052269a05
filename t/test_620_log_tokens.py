"""Access-log notes (issue 10, item 4): mod_log_config's
%{verify-request-id}n, %{verify-client}n, %{verify-operator}n,
%{verify-case}n and %{verify-error}n, with the format shipped in
conf/verify-log.conf and a real CustomLog; the request id in the
Verify-Request-Id header of every /verify answer, answers and refusals
alike, so that an access-log line, an error-log line and an audit line
join. Never the ID asked about, a name or a birth date; an ID number
typed into the operator or the case is masked."""

import os
import re
import time

import harness
from harness import fields_for

LINE_RE = re.compile(
    r'^(?P<host>\S+) \[[^\]]+\] "(?P<method>\S+) (?P<path>\S+) HTTP/1\.1" '
    r'(?P<status>\d{3}) \S+ \d+ rid=(?P<rid>\S+) client=(?P<client>\S+) '
    r'operator="(?P<operator>[^"]*)" case="(?P<case>[^"]*)" '
    r'error=(?P<error>\S+)$')


def start(make_server, mpm):
    conf = os.path.join(harness.REPO, "conf", "verify-log.conf")
    s = make_server(mpm=mpm, extra_conf='Include "%s"\n' % conf)
    s.access_log = os.path.join(s.root, "logs", "verify-access.log")
    s.extra_conf += 'CustomLog "%s" verify\n' % s.access_log
    s.gen = harness.People("test_620")
    s.people = s.gen.batch(3)
    s.import_household(s.people)
    s.start()
    return s


def access_lines(s, rids):
    """The access log's lines, once it has one for each of @rids and
    for the static file asked last (written after each answer left;
    the harness's own probes of the static file come before)."""
    end = time.time() + 10
    while True:
        with open(s.access_log, encoding="utf-8") as f:
            lines = f.read().splitlines()
        parsed = []
        for ln in lines:
            m = LINE_RE.match(ln)
            assert m, ln
            parsed.append(m.groupdict())
        seen = {ln["rid"] for ln in parsed}
        statics = [ln for ln in parsed if ln["path"] == "/static/small.txt"]
        if (set(rids) <= seen and len(statics) > s.probes) \
                or time.time() > end:
            return lines, parsed
        time.sleep(0.05)


def test_notes_join_the_logs(make_server, mpm):
    s = start(make_server, mpm)
    p, stranger = s.people[0], s.gen.person("citizen")
    s.add_people([stranger])
    answered = s.post(fields_for(p, operator="clerk 07", case="C-2026/11"))
    assert answered.status == 200, answered
    # an ID number in the case: refused, masked in every log
    in_case = s.post(fields_for(p, case="about " + stranger.id))
    assert in_case.status == 400, in_case
    bad_id = s.post(fields_for("A123456788"))
    assert bad_id.status == 400 and bad_id.json["error"] == "invalid_id"
    unknown = s.post(fields_for(p), source_address=("127.0.0.9", 0))
    assert unknown.status == 403, unknown
    get = harness.request(s.port, "GET", "/verify")
    assert get.status == 405, get
    extra = harness.request(s.port, "POST", "/verify/more", body=b"")
    assert extra.status == 404, extra
    answers = [answered, in_case, bad_id, unknown, get, extra]
    # every answer carries its request id in the header and the body
    for r in answers:
        assert r.headers["verify-request-id"] == r.json["request_id"], r
    # a static file has neither the header nor the notes
    with open(s.access_log, encoding="utf-8") as f:
        s.probes = f.read().count("/static/small.txt")
    static = harness.request(s.port, "GET", "/static/small.txt")
    assert "verify-request-id" not in static.headers

    raw, lines = access_lines(s, [r.json["request_id"] for r in answers])
    by_rid = {ln["rid"]: ln for ln in lines}
    for r in answers:
        rid = r.json["request_id"]
        ln = by_rid[rid]
        assert int(ln["status"]) == r.status, (ln, r)
        audit, = s.audit_for(rid)
        assert audit["status"] == r.status
        assert ln["error"] == (r.json.get("error") or "-"), ln
        assert ln["client"] == (audit["client"] or "-"), (ln, audit)

    ok = by_rid[answered.json["request_id"]]
    assert ok["client"] == "testsys" and ok["operator"] == "clerk 07"
    assert ok["case"] == "C-2026/11" and ok["error"] == "-"
    masked = by_rid[in_case.json["request_id"]]
    assert masked["case"] == "about " + harness.mask_id(stranger.id), masked
    assert masked["error"] == "invalid_field"
    assert by_rid[unknown.json["request_id"]]["client"] == "-"
    assert by_rid[unknown.json["request_id"]]["error"] == "unknown_client"
    static_line = [ln for ln in lines if ln["path"] == "/static/small.txt"]
    assert static_line and static_line[0]["rid"] == "-"

    # the error-log line of the refused case names the same request
    rid = in_case.json["request_id"]
    assert re.search(r"VFY130: request %s: case holds" % rid,
                     s.error_log_text())
    # nothing personal in the access log
    text = "\n".join(raw)
    for person in s.people + [stranger]:
        assert person.id not in text and person.name not in text
        assert person.birth.isoformat() not in text
    assert "A123456788" not in text
