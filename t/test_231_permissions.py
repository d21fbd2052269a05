"""Every answer is a permission (hardening issue 6, item 6):
`identity_match` only for a client whose register line has `identity`;
a refusal names what was refused; repeated identity mismatches by one
client about one person are refused, so a birth-date search is not
possible."""

import datetime
import threading

import pytest

import harness
from harness import fields_for

TAIL = "valid=2020-01-01..2099-12-31"
CLIENTS = [
    "ident ip=127.0.0.1 checks=resident,identity approval=A-1 " + TAIL,
    "plain ip=127.0.0.4 checks=resident approval=A-2 " + TAIL,
    "elderly ip=127.0.0.6 checks=elderly_alone approval=A-3 " + TAIL,
    "ident2 ip=127.0.0.5 checks=resident,identity approval=A-4 " + TAIL,
]
FROM = {"ident": None, "plain": ("127.0.0.4", 0),
        "elderly": ("127.0.0.6", 0), "ident2": ("127.0.0.5", 0)}


def start(make_server, mpm, extra_conf="", n=6):
    s = make_server(mpm=mpm, clients=CLIENTS, extra_conf=extra_conf)
    s.people = harness.People("test_231").batch(n)
    s.import_household(s.people)
    s.start()
    return s


def post(s, client, fields, kind="form"):
    return s.post(fields, kind=kind, source_address=FROM[client])


def one_line(s, r):
    lines = s.audit_for(r.json["request_id"])
    assert len(lines) == 1, lines
    return lines[0]


def wrong_dates(p, n):
    """n birth dates that are not p's."""
    out, d = [], p.birth
    while len(out) < n:
        d += datetime.timedelta(days=1)
        out.append(d.isoformat())
    return out


# -- identity is a permission ---------------------------------------------

@pytest.mark.parametrize("kind", ["form", "json"])
@pytest.mark.parametrize("extra", [
    {"name": "x"}, {"birth_date": "1950-01-01"},
    {"name": "x", "birth_date": "1950-01-01"},
], ids=["name", "birth_date", "both"])
def test_identity_needs_the_permission(make_server, mpm, kind, extra):
    s = start(make_server, mpm)
    p = s.people[0]
    r = post(s, "plain", fields_for(p, case="P-noid", **extra), kind)
    assert r.status == 403, r
    assert r.json["error"] == "check_not_permitted", r
    assert "identity" in r.json["message"], r
    assert "results" not in r.json and "identity_match" not in r.json
    a = one_line(s, r)
    assert a["client"] == "plain" and a["status"] == 403
    assert a["error"] == "check_not_permitted"
    assert "identity_match" not in a.obj
    # the same fields from a client with the permission are answered
    r = post(s, "ident", fields_for(p, case="P-id", **extra), kind)
    assert r.status == 200, r
    assert "identity_match" in r.json


def test_elderly_alone_client_learns_no_residency(make_server, mpm):
    """The issue's bypass: a client approved only for elderly_alone
    learned residency (and birth dates) from identity_match."""
    s = start(make_server, mpm)
    p = s.people[1]
    r = post(s, "elderly", fields_for(p, check="elderly_alone",
                                      birth_date=p.birth.isoformat(),
                                      case="P-elderly"))
    assert r.status == 403, r
    assert r.json["error"] == "check_not_permitted"
    assert "identity" in r.json["message"]
    assert b"identity_match" not in r.body
    assert one_line(s, r)["error"] == "check_not_permitted"


def test_refusal_names_every_refused_check(make_server, mpm):
    s = start(make_server, mpm)
    p = s.people[2]
    r = post(s, "plain", fields_for(p, check="resident,indigenous",
                                    case="P-names"))
    assert r.status == 403 and "indigenous" in r.json["message"], r
    assert "resident" not in r.json["message"], r
    r = post(s, "elderly", fields_for(p, check="resident,disability",
                                      name=p.name, case="P-names2"))
    assert r.status == 403, r
    for w in ("resident", "disability", "identity"):
        assert w in r.json["message"], (w, r)
    assert "elderly_alone" not in r.json["message"], r


# -- the mismatch limit ------------------------------------------------------

def test_mismatch_limit_default_five(make_server, mpm):
    s = start(make_server, mpm)
    p, q = s.people[0], s.people[1]
    dates = wrong_dates(p, 6)
    s.add_secret(*dates)
    for i, d in enumerate(dates[:5]):
        r = post(s, "ident", fields_for(p, birth_date=d, case="M-%d" % i))
        assert r.status == 200 and r.json["identity_match"] is False, r
    # the sixth, and even the right date, are refused
    for case, d in (("M-6", dates[5]), ("M-right", p.birth.isoformat())):
        r = post(s, "ident", fields_for(p, birth_date=d, case=case))
        assert r.status == 429, r
        assert r.json["error"] == "rate_limited", r
        assert "identity" in r.json["message"], r
        retry = int(r.headers["retry-after"])
        assert 1 <= retry <= 86400, r.headers
        a = one_line(s, r)
        assert a["status"] == 429 and a["error"] == "rate_limited"
        assert a["flag"] == "identity_mismatch_limit"
        assert a["client"] == "ident"
        assert a["subject_tag"] == harness.subject_tag(s.key, p.id)
    # what is not an identity question is still answered
    r = post(s, "ident", fields_for(p, case="M-plain"))
    assert r.status == 200 and r.json["results"] == {"resident": True}, r
    assert "flag" not in one_line(s, r).obj
    # another person, and another client about the same person
    r = post(s, "ident", fields_for(q, birth_date=q.birth.isoformat()))
    assert r.status == 200 and r.json["identity_match"] is True, r
    r = post(s, "ident2", fields_for(p, birth_date=p.birth.isoformat()))
    assert r.status == 200 and r.json["identity_match"] is True, r


def test_matches_do_not_count(make_server, mpm):
    s = start(make_server, mpm, extra_conf="VerifyIdentityMismatchLimit 2")
    p = s.people[3]
    for i in range(6):
        r = post(s, "ident", fields_for(p, name=p.name, case="T-%d" % i))
        assert r.status == 200 and r.json["identity_match"] is True, r
    bad = wrong_dates(p, 3)
    s.add_secret(*bad)
    statuses = [post(s, "ident", fields_for(p, birth_date=d)).status
                for d in bad]
    assert statuses == [200, 200, 429], statuses


def test_birth_date_search_is_not_possible(make_server, mpm):
    """366 tries at a resident's birth date: five wrong answers, then
    nothing, however the tries are spread over children."""
    s = start(make_server, mpm)
    p = s.people[4]
    year = [datetime.date(p.birth.year, 1, 1) + datetime.timedelta(days=i)
            for i in range(366)]
    tries = [d.isoformat() for d in year
             if d.year == p.birth.year and d != p.birth]
    tries.append(p.birth.isoformat())           # the right one comes last
    s.add_secret(*tries)
    answers = []
    for d in tries:
        r = post(s, "ident", fields_for(p, birth_date=d, case="S"))
        answers.append((r.status, r.json.get("identity_match")))
    assert answers.count((200, False)) == 5, answers[:10]
    assert (200, True) not in answers
    assert answers.count((429, None)) == len(tries) - 5
    flagged = [ln for ln in s.audit_lines()
               if ln.get("flag") == "identity_mismatch_limit"]
    assert len(flagged) == len(tries) - 5


def test_concurrent_tries_do_not_pass_the_limit(make_server, mpm):
    s = start(make_server, mpm)
    p = s.people[5]
    dates = wrong_dates(p, 24)
    s.add_secret(*dates)
    out = []

    def one(d):
        out.append(post(s, "ident", fields_for(p, birth_date=d)).status)

    threads = [threading.Thread(target=one, args=(d,)) for d in dates]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(out) == [200] * 5 + [429] * 19, out


def test_a_restart_does_not_reset_the_count(make_server):
    s = start(make_server, "event")
    p = s.people[0]
    dates = wrong_dates(p, 6)
    s.add_secret(*dates)
    for d in dates[:5]:
        assert post(s, "ident", fields_for(p, birth_date=d)).status == 200
    s.graceful()
    r = post(s, "ident", fields_for(p, birth_date=dates[5]))
    assert r.status == 429, r


@pytest.mark.parametrize("value", ["0", "101", "five", "-1", ""])
def test_limit_directive_is_checked(make_server, value):
    s = make_server(extra_conf='VerifyIdentityMismatchLimit "%s"' % value)
    res = s.configtest()
    assert res.returncode != 0, res.stdout + res.stderr
    assert "VerifyIdentityMismatchLimit" in res.stdout + res.stderr


def test_limit_directive_is_server_wide(make_server):
    s = make_server(vhost_conf="", extra_conf="<VirtualHost 127.0.0.1:1>\n"
                    "VerifyIdentityMismatchLimit 3\n</VirtualHost>")
    res = s.configtest()
    assert res.returncode != 0, res.stdout + res.stderr
    assert "VirtualHost" in res.stdout + res.stderr


def test_one_client_cannot_fill_the_mismatch_table(make_server):
    """The mismatch counters are one table for every client: one client
    searching many people must use up only its own share of it (half the
    table divided among the clients allowed `identity`), never the room
    another client needs for its own identity checks."""
    import http.client
    import random
    import urllib.parse
    s = start(make_server, "event")
    share = 16384 // 2 // 2             # two clients allowed identity
    rng = random.Random(231)
    ids = set()
    while len(ids) < share + 50:
        ids.add(harness.make_id(rng))
    statuses = {}
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    try:
        for pid in sorted(ids):
            body = urllib.parse.urlencode({
                "id": pid, "check": "resident", "case": "FILL",
                "reason": "search", "operator": "o",
                "birth_date": "1950-01-01"}).encode()
            conn.request("POST", "/verify", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded"})
            r = conn.getresponse()
            r.read()
            statuses[r.status] = statuses.get(r.status, 0) + 1
    finally:
        conn.close()
    # every one of them was a new person: the share, then refusals
    assert statuses.get(429, 0) == 50, statuses
    # the other client's identity checks still have room
    for p in s.people[:3]:
        r = post(s, "ident2", fields_for(p, birth_date=p.birth.isoformat(),
                                         case="OTHER"))
        assert r.status == 200 and r.json["identity_match"] is True, r
