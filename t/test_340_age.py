"""Age questions without the birth date (issue 9, item 4): a check
`age_at_least:N` (N 0..120) answers whether the person is at least N
years old today (Taipei), from the stored birth date, only for a client
whose register line has the `age` permission. "Today" is pinned with
libfaketime so that leap days are asked about on the days that matter:
one born on 29 February is a year older on 29 February in a leap year
and on 1 March otherwise (Civil Code art. 124, art. 121 para. 2)."""

import datetime
import os

import pytest

import harness
from harness import fields_for

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
needs_faketime = pytest.mark.skipif(
    not os.path.exists(FAKETIME_LIB),
    reason="libfaketime is not installed (scripts/install-deps.sh)")

TAIL = "valid=2020-01-01..2099-12-31"
CLIENTS = [
    "aged ip=127.0.0.1 checks=resident,age approval=A-1 " + TAIL,
    "plain ip=127.0.0.4 checks=resident approval=A-2 " + TAIL,
    "ident ip=127.0.0.6 checks=resident,identity approval=A-3 " + TAIL,
]
FROM = {"aged": None, "plain": ("127.0.0.4", 0), "ident": ("127.0.0.6", 0)}

BIRTHS = {
    "leap1960": datetime.date(1960, 2, 29),
    "leap2000": datetime.date(2000, 2, 29),
    "mar1907": datetime.date(1907, 3, 1),
    "feb1960": datetime.date(1960, 2, 28),
}


def start(make_server, mpm, dates="iso", faketime=None):
    s = make_server(mpm=mpm, clients=CLIENTS)
    gen = harness.People("test_340")
    # ROC year 1 is 1912: an earlier birth has no ROC date to import
    s.who = {k: gen.person(birth=b) for k, b in BIRTHS.items()
             if dates == "iso" or b.year >= 1912}
    s.outsider = gen.person("citizen")
    s.add_people([s.outsider])
    # approved past the latest day a scene fakes (2028-03-01)
    s.import_household(list(s.who.values()), dates=dates,
                       extra=["--approved-until", "2030-12-31"])
    if faketime:
        s.env["LD_PRELOAD"] = FAKETIME_LIB
        s.env["FAKETIME"] = "@" + faketime
        s.env["FAKETIME_DONT_RESET"] = "1"
    s.start()
    return s


def ask(s, person, n, client="aged", kind="form", **kw):
    check = "age_at_least:%s" % n
    r = s.post(fields_for(person, check=check, **kw), kind=kind,
               source_address=FROM[client])
    return r


def answer(s, person, n, **kw):
    r = ask(s, person, n, **kw)
    assert r.status == 200, r
    res = r.json["results"]
    assert list(res) == ["age_at_least:%d" % n], res
    # never the date, in any form
    for v in (person.birth.isoformat(), harness.people.roc_date(
            person.birth, True), person.birth.strftime("%Y%m%d")):
        assert v.encode() not in r.body, r
    return res["age_at_least:%d" % n]


def one_line(s, r):
    lines = s.audit_for(r.json["request_id"])
    assert len(lines) == 1, lines
    return lines[0]


# -- leap days, ROC dates and the Taipei day --------------------------------
#
# (UTC time for libfaketime, the Taipei date it is, the import's date
# form, {(person, N): answer}).  Every "today" is after the run's real
# date, so the clock never goes back behind the import's audit line.

SCENES = [
    ("2027-02-28 04:00:00", "2027-02-28", "iso", {
        ("leap1960", 66): True, ("leap1960", 67): False,
        ("leap2000", 26): True, ("leap2000", 27): False,
        ("mar1907", 119): True, ("mar1907", 120): False,
        ("feb1960", 67): True, ("feb1960", 68): False,
    }),
    # 00:30 on 1 March in Taipei, still 28 February in UTC: the Taipei
    # day decides
    ("2027-02-28 16:30:00", "2027-03-01", "iso", {
        ("leap1960", 67): True, ("leap1960", 68): False,
        ("leap2000", 27): True, ("leap2000", 28): False,
        ("mar1907", 120): True,
        ("feb1960", 67): True,
    }),
    ("2027-03-01 04:00:00", "2027-03-01", "roc", {
        ("leap1960", 67): True, ("leap1960", 68): False,
        ("leap2000", 27): True, ("leap2000", 28): False,
        ("feb1960", 67): True,
    }),
    ("2028-02-28 04:00:00", "2028-02-28", "roc_slash", {
        ("leap1960", 67): True, ("leap1960", 68): False,
        ("leap2000", 27): True, ("leap2000", 28): False,
        ("feb1960", 68): True, ("feb1960", 69): False,
    }),
    ("2028-02-29 04:00:00", "2028-02-29", "roc", {
        ("leap1960", 68): True, ("leap1960", 69): False,
        ("leap2000", 28): True, ("leap2000", 29): False,
    }),
    ("2028-03-01 04:00:00", "2028-03-01", "iso", {
        ("leap1960", 68): True, ("leap1960", 69): False,
        ("mar1907", 120): True, ("mar1907", 121): None,
    }),
]


@needs_faketime
@pytest.mark.parametrize("scene", SCENES,
                         ids=["%s-%s" % (s[1], s[2]) for s in SCENES])
def test_age_on_the_days_that_matter(make_server, mpm, scene):
    utc, taipei, dates, want = scene
    s = start(make_server, mpm, dates=dates, faketime=utc)
    got = {}
    for (who, n) in want:
        if want[(who, n)] is None:      # past 120: a fault, not "no"
            r = ask(s, s.who[who], n)
            assert r.status == 400 and r.json["error"] == "invalid_check"
            got[(who, n)] = None
            continue
        got[(who, n)] = answer(s, s.who[who], n)
    assert got == want, (taipei, dates)
    # N = 0: everyone on record, from the day of birth; nobody unknown
    for p in s.who.values():
        assert answer(s, p, 0) is True
    for n in (0, 18, 120):
        assert answer(s, s.outsider, n) is False
    # the audit line's as_of is that Taipei day: the clock was pinned
    r = ask(s, s.who["leap1960"], 67)
    assert r.json["as_of"]["household"][:10] <= taipei
    a = one_line(s, r)
    assert a["ts"][:10] == taipei, a


# -- the check, its answer and its audit line ---------------------------------

@pytest.fixture
def srv(make_server, mpm):
    return start(make_server, mpm)


def test_answer_with_other_checks(srv):
    s = srv
    p = s.who["leap1960"]
    for kind, check in (("form", "age_at_least:18,resident"),
                        ("json", ["age_at_least:18", "resident"]),
                        ("json", "resident,age_at_least:18")):
        r = s.post(fields_for(p, check=check), kind=kind)
        assert r.status == 200, r
        # the fixed order: the other checks, then the age
        assert list(r.json["results"].items()) == [
            ("resident", True), ("age_at_least:18", True)], r
        assert r.json["as_of"].keys() == {"household"}
    r = s.post(fields_for(p, check="age_at_least:65"))
    a = one_line(s, r)
    assert a["checks"] == ["age_at_least:65"], a
    assert a["results"] == {"age_at_least:65": True}, a
    assert a["status"] == 200 and a["match_fields"] == []
    # a young one is not 65; the answer is all that is told
    r = s.post(fields_for(s.who["leap2000"], check="age_at_least:65"))
    assert r.json["results"] == {"age_at_least:65": False}, r
    assert one_line(s, r)["results"] == {"age_at_least:65": False}


@pytest.mark.parametrize("client", ["plain", "ident"])
def test_age_needs_the_permission(srv, client):
    s = srv
    p = s.who["leap1960"]
    r = ask(s, p, 65, client=client)
    assert r.status == 403, r
    assert r.json["error"] == "check_not_permitted", r
    assert r.json["message"] == ("the client is not approved for: "
                                 "age (age_at_least:65)"), r
    assert "results" not in r.json
    a = one_line(s, r)
    assert a["client"] == client and a["status"] == 403
    assert a["error"] == "check_not_permitted"
    assert a["checks"] == ["age_at_least:65"], a
    # with resident, which it may ask: still refused, naming only age
    r = s.post(fields_for(p, check="resident,age_at_least:65"),
               source_address=FROM[client])
    assert r.status == 403 and r.json["message"].endswith(
        ": age (age_at_least:65)"), r
    # the same from the client with `age` is answered
    assert answer(s, p, 65) is True


@pytest.mark.parametrize("kind", ["form", "json"])
@pytest.mark.parametrize("n", [
    "121", "999", "1000", "00", "07", "065", "", "-1", "+5", " 5", "5 ",
    "1e2", "6.5", "x", "\uff16\uff15", "65:1",
])
def test_bad_n_is_refused(srv, kind, n):
    s = srv
    r = ask(s, s.who["leap1960"], n, kind=kind)
    assert r.status == 400, r
    assert r.json["error"] == "invalid_check", r
    assert "0 to 120" in r.json["message"], r
    a = one_line(s, r)
    assert a["status"] == 400 and a["error"] == "invalid_check"
    # what the client wrote after the check's name is not logged
    assert a["checks"] == ["?"], a


def test_bad_check_names(srv):
    s = srv
    p = s.who["leap1960"]
    for check in ("age_at_least", "age_at_least=65", "age_at_leastx:5"):
        r = s.post(fields_for(p, check=check))
        assert r.status == 400 and r.json["error"] == "invalid_check", r
        assert one_line(s, r)["checks"] == ["?"]
    # "age" is the register's permission, not a check
    for check in ("age", "AGE_AT_LEAST:65", "age_at_most:65"):
        r = s.post(fields_for(p, check=check))
        assert r.status == 400 and r.json["error"] == "invalid_field", r
        assert "age_at_least:N" in r.json["message"], r


def test_one_age_per_request(srv):
    s = srv
    p = s.who["leap1960"]
    for check in ("age_at_least:18,age_at_least:65",
                  "age_at_least:65,age_at_least:65"):
        r = s.post(fields_for(p, check=check))
        assert r.status == 400, r
        assert r.json["error"] == "invalid_check", r
        assert r.json["message"] == \
            "only one age_at_least check per request", r
        a = one_line(s, r)
        assert a["error"] == "invalid_check"
        assert a["checks"] == check.split(","), a


def test_precedence(srv):
    s = srv
    p = s.who["leap1960"]
    # a field fault (bad N) before the permission: from a client
    # without `age`, a bad N is still 400
    r = ask(s, p, "121", client="plain")
    assert r.status == 400 and r.json["error"] == "invalid_check", r
    # the ID before the check
    r = s.post(fields_for("A123456788", check="age_at_least:121"))
    assert r.status == 400 and r.json["error"] == "invalid_id", r
    # an unregistered address learns nothing
    r = s.post(fields_for(p, check="age_at_least:121"),
               source_address=("127.0.0.9", 0))
    assert r.status == 403 and r.json["error"] == "unknown_client", r


def test_relative_to_today(srv):
    """Without a pinned clock: the birthday of N years ago is N today,
    its day after is not yet."""
    s = srv
    today = harness.today_taipei()
    if (today.month, today.day) == (2, 29):
        pytest.skip("29 February: test_age_on_the_days_that_matter's")
    gen = harness.People("test_340b")
    born = today.replace(year=today.year - 40)
    later = born + datetime.timedelta(days=1)
    a, b = gen.person(birth=born), gen.person(birth=later)
    s.add_people([a, b])
    s.import_household([a, b] + list(s.who.values()))
    n = today.year - born.year
    assert answer(s, a, n) is True
    assert answer(s, b, n) is False
    assert answer(s, b, n - 1) is True
