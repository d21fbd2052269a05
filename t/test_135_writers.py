"""One writer per audit directory, check names in audit lines, and the
handler's <Location> under other <Location> blocks."""

import time

import pytest

import harness
from harness import fields_for


def test_second_server_on_same_audit_dir_refused(make_server):
    """Two parents on one audit directory would fork the chain (each
    keeps its head in its own shared memory): the second refuses to
    start (VFY34), and the first keeps a whole chain."""
    s1 = make_server()
    gen = harness.People()
    people = gen.batch(5)
    s1.import_household(people)
    s1.start()
    assert s1.post(fields_for(people[0])).status == 200

    s2 = make_server(store=s1.store, key=s1.key, audit=s1.audit)
    s2.expect_log(r"\[verify:emerg\].*VFY34: another httpd",
                  r"AH00020: Configuration Failed")
    with pytest.raises(AssertionError):
        s2.start(timeout=15)
    assert "VFY34" in s2.error_log_text()

    assert s1.post(fields_for(people[1])).status == 200
    lines = harness.read_audit(s1.audit)
    assert not harness.chain_problems(lines)
    assert [l["op"] for l in lines].count("start") == 1
    s1.stop()

    # once the first has stopped, its successor takes over the chain
    s2.expect_log()
    s2.start()
    assert s2.post(fields_for(people[2])).status == 200
    lines = harness.read_audit(s1.audit)
    assert not harness.chain_problems(lines)
    assert [l["op"] for l in lines].count("start") == 2


def test_unknown_check_names_not_logged(make_server):
    """An unknown check is refused, and its text (it may be anything,
    even an ID) is not copied into the audit line."""
    s = make_server()
    gen = harness.People()
    people = gen.batch(3)
    other = gen.person()
    s.add_people([other])
    s.import_household(people)
    s.start()
    r = s.post(fields_for(people[0], check="resident," + other.id))
    assert r.status == 400 and r.json["error"] == "invalid_field"
    line = [l for l in harness.read_audit(s.audit)
            if l.get("request_id") == r.json["request_id"]][0]
    assert line["checks"] == ["resident", "?"]
    assert other.id not in line.raw.decode()


def test_location_blocks_after_the_handler(make_server):
    """A later <Location /> (common in admins' configs) must not turn
    every /verify request into 404; extra path still is 404."""
    s = make_server(extra_conf='<Location />\n    AddDefaultCharset Off\n'
                    '</Location>\n<Location /verify>\n'
                    '    LimitRequestBody 9000\n</Location>\n')
    gen = harness.People()
    people = gen.batch(3)
    s.import_household(people)
    s.start()
    r = s.post(fields_for(people[0]))
    assert r.status == 200, r
    r = harness.request(s.port, "POST", "/verify/x",
                        body=harness.encode_body(fields_for(people[0]),
                                                 "form")[0],
                        headers={"Content-Type":
                                 "application/x-www-form-urlencoded"})
    assert r.status == 404 and r.json["error"] == "not_found"


def test_oversized_body_closes_even_when_outranked(make_server):
    """An unknown client's oversized body is answered 403 unknown_client
    (who asks comes first), and the connection is closed all the same:
    the rest of the body was never read."""
    s = make_server()
    gen = harness.People()
    s.import_household(gen.batch(2))
    s.start()
    body = b"id=A123456789&reason=" + b"x" * 20000
    r = harness.request(s.port, body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Connection": "keep-alive"}, source_address=("127.0.0.2", 0))
    assert r.status == 403 and r.json["error"] == "unknown_client"
    assert r.headers.get("connection", "").lower() == "close"
    r = harness.request(s.port, body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Connection": "keep-alive"})
    assert r.status == 413 and r.json["error"] == "body_too_large"
    assert r.headers.get("connection", "").lower() == "close"


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_rate_limited_client(make_server, mpm):
    """VerifyClient … rate=N/s: a bucket of N requests per client, shared
    by every child; beyond it 429 rate_limited with Retry-After, audited;
    the bucket refills with time. Other clients are not affected."""
    clients = harness.DEFAULT_CLIENTS + [
        "limited ip=127.0.0.5 checks=resident approval=APP-R-1 "
        "valid=2020-01-01..2099-12-31 rate=5/s"]
    s = make_server(mpm=mpm, clients=clients)
    gen = harness.People()
    people = gen.batch(3)
    s.import_household(people)
    s.start()
    src = ("127.0.0.5", 0)
    got = [s.post(fields_for(people[0], case="R-%d" % i),
                  source_address=src) for i in range(12)]
    ok = [r for r in got if r.status == 200]
    limited = [r for r in got if r.status == 429]
    assert len(ok) + len(limited) == 12
    assert 5 <= len(ok) <= 7, [r.status for r in got]   # burst + refill
    for r in limited:
        assert r.json["error"] == "rate_limited"
        assert r.headers.get("retry-after") == "1"
        assert "results" not in r.json
    # an unlimited client meanwhile
    assert s.post(fields_for(people[1])).status == 200
    time.sleep(1.2)
    assert s.post(fields_for(people[0], case="R-LATER"),
                  source_address=src).status == 200
    lines = {l.get("request_id"): l for l in harness.read_audit(s.audit)}
    for r in limited:
        line = lines[r.json["request_id"]]
        assert line["status"] == 429 and line["error"] == "rate_limited"
        assert line["client"] == "limited"
