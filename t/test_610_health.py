"""SetHandler verify-health (issue 10, item 3): a load balancer's check.
GET (or HEAD) answers 200 when /verify can answer and 503 when it
cannot, with one fixed JSON shape: a real read of the store's snapshot,
a real write of a block to the audit volume as the run-time user (an
unnamed file: no audit line, no name left in the directory), the
volume's free space, and each source's age against VerifyMaxDataAge.
It looks nobody up, writes no audit line (it is never a query of the
R5.1 population) and says nothing personal. Stale data also answers 503
data_expired at /verify, audited."""

import os
import re
import time

import pytest

import harness
from harness import fields_for

HEALTH_CONF = """
<Location /health>
    SetHandler verify-health
    Require ip 127.0.0.0/8
</Location>
"""
CHECKED_AT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
VFY137_RE = r"VFY137: the household batch was imported .*VerifyMaxDataAge " \
    r"household 10s"


def health(s, method="GET"):
    return harness.request(s.port, method, "/health")


def checked(r, status):
    """The fixed shape (docs/api.md); returns the parsed body."""
    assert r.status == status, r
    assert r.content_type == "application/json", r.headers
    assert r.headers.get("cache-control") == "no-store", r.headers
    h = r.json
    assert list(h) == ["status", "checked_at", "store", "audit", "sources",
                       "problems"], h
    assert h["status"] == ("ok" if status == 200 else "fail"), h
    assert CHECKED_AT_RE.match(h["checked_at"]), h
    assert list(h["store"]) == ["ok", "snapshot"], h
    assert list(h["audit"]) == ["ok", "writable", "free_bytes",
                                "used_percent"], h
    assert isinstance(h["audit"]["free_bytes"], int), h
    assert isinstance(h["audit"]["used_percent"], (int, float)), h
    for name, src in h["sources"].items():
        assert name in ("household", "elderly_alone", "disability"), h
        assert list(src) == ["ok", "age_seconds", "max_age_seconds",
                             "approved_until"], h
        assert isinstance(src["age_seconds"], int) and \
            src["age_seconds"] >= 0, h
    assert all(isinstance(p, str) for p in h["problems"]), h
    return h


def current_snapshot(s):
    return os.readlink(os.path.join(s.store, "current"))


def start(make_server, mpm, extra="", people=3):
    s = make_server(mpm=mpm, extra_conf=HEALTH_CONF + extra)
    s.gen = harness.People("test_610")
    s.people = s.gen.batch(people)
    s.import_household(s.people)
    s.start()
    return s


def test_healthy(make_server, mpm):
    s = start(make_server, mpm)
    r = s.post(fields_for(s.people[0]))
    assert r.status == 200, r
    lines = len(s.audit_lines())
    h = checked(health(s), 200)
    assert h["store"] == {"ok": True, "snapshot": current_snapshot(s)}, h
    assert h["audit"]["ok"] is True and h["audit"]["writable"] is True, h
    assert h["audit"]["free_bytes"] > 0, h
    assert 0 <= h["audit"]["used_percent"] <= 100, h
    hh = h["sources"]["household"]
    assert hh["ok"] is True and hh["max_age_seconds"] is None, h
    assert hh["approved_until"] == harness.approved_until(), h
    assert hh["age_seconds"] < 600, h
    assert list(h["sources"]) == ["household"], h
    assert h["problems"] == [], h
    # HEAD: the same status, no body
    r = health(s, "HEAD")
    assert r.status == 200 and r.body == b"", r
    # other methods: 405, GET (and HEAD) allowed
    r = health(s, "POST")
    assert r.status == 405, r
    assert "GET" in r.headers.get("allow", ""), r.headers
    # many checks, as a load balancer makes them: no audit line, nothing
    # left in the audit directory but its day files, no personal data
    for _ in range(20):
        checked(health(s), 200)
    assert len(s.audit_lines()) == lines
    names = os.listdir(s.audit)
    assert all(harness.AUDIT_NAME_RE.match(n) or n.startswith(".writer")
               for n in names), names
    body = health(s).body.decode()
    for p in s.people:
        assert p.id not in body and p.name not in body


def test_no_store_yet(make_server):
    s = make_server(mpm="event", extra_conf=HEALTH_CONF)
    s.start()
    h = checked(health(s), 503)
    assert h["store"] == {"ok": False, "snapshot": None}, h
    assert h["audit"]["writable"] is True, h
    assert h["sources"] == {}, h
    assert h["problems"] == ["the verification store is not available"], h
    # the start and register lines only: no query
    assert [ln.get("op") for ln in s.audit_lines()] == ["start",
                                                         "register"]


def test_audit_not_writable(make_server):
    """The run-time user cannot create a file in the audit directory:
    503, audit.writable false; fixed, 200 again without a restart."""
    s = start(make_server, "event")
    mode = os.stat(s.audit).st_mode & 0o7777
    os.chmod(s.audit, 0o550)
    try:
        h = checked(health(s), 503)
    finally:
        os.chmod(s.audit, mode)
    assert h["audit"]["ok"] is False and h["audit"]["writable"] is False, h
    assert h["store"]["ok"] is True, h
    assert len(h["problems"]) == 1 and "audit directory" in \
        h["problems"][0], h
    checked(health(s), 200)


def test_max_data_age(make_server, mpm):
    """VerifyMaxDataAge household 10s: a batch older than that fails the
    check and answers 503 data_expired at /verify (audited, said once
    in the error log); a newer batch mends both, without a restart."""
    s = start(make_server, mpm, extra="VerifyMaxDataAge household 10s\n"
              "LoadModule status_module %s/mod_status.so\n"
              "<Location /server-status>\nSetHandler server-status\n"
              "</Location>\n" % harness.MODDIR)
    s.expect_log(VFY137_RE)
    h = checked(health(s), 200)
    assert h["sources"]["household"]["max_age_seconds"] == 10, h
    # server-status shows the limit beside the age
    st = harness.request(s.port, "GET", "/server-status?auto")
    assert "\nVerifySourceMaxAge_household: 10\n" in st.body.decode()
    assert s.post(fields_for(s.people[0])).status == 200
    # until the batch is older than that (its age counts from the import)
    time.sleep(max(0, 11.2 - h["sources"]["household"]["age_seconds"]))
    h = checked(health(s), 503)
    hh = h["sources"]["household"]
    assert hh["ok"] is False and hh["age_seconds"] >= 11, h
    assert h["store"]["ok"] and h["audit"]["ok"], h
    assert len(h["problems"]) == 1, h
    assert re.match(r"the household data is \d+ s old, more than "
                    r"VerifyMaxDataAge household \(10s\)$",
                    h["problems"][0]), h
    ids = []
    for p in s.people:
        r = s.post(fields_for(p))
        assert r.status == 503, r
        assert r.json["error"] == "data_expired", r
        assert "older than the service allows (10s)" in r.json["message"]
        ids.append(r.json["request_id"])
    for rid in ids:
        line, = s.audit_for(rid)
        assert line["status"] == 503 and line["error"] == "data_expired"
    log = s.error_log_text()
    # once per child at most, never per request
    assert 1 <= len(re.findall("VFY137", log)) <= len(s.child_pids()) + 2
    # a newer batch
    s.people.append(s.gen.person("citizen"))
    s.import_household(s.people)
    checked(health(s), 200)
    assert s.post(fields_for(s.people[-1])).status == 200


def test_max_age_of_a_source_never_imported(make_server):
    s = start(make_server, "event",
              extra="VerifyMaxDataAge elderly_alone 1d\n"
                    "VerifyMaxDataAge household 30d\n")
    h = checked(health(s), 503)
    assert h["sources"]["household"]["max_age_seconds"] == 30 * 86400, h
    assert h["sources"]["household"]["ok"] is True, h
    assert "elderly_alone" not in h["sources"], h
    assert h["problems"] == ["no elderly_alone data has been imported, and "
                             "VerifyMaxDataAge elderly_alone is set"], h
    # /verify's resident checks need the household data only
    assert s.post(fields_for(s.people[0])).status == 200


def refused(s, line, why):
    """configtest refuses @line, naming its line number and @why."""
    res = s.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, "accepted: " + line
    lineno = open(s.conf).read().splitlines().index(line) + 1
    assert re.search(r"\bline %d\b" % lineno, out), out
    assert why in out, out


@pytest.mark.parametrize("line,why", [
    ("VerifyMaxDataAge household", "takes two arguments"),
    ("VerifyMaxDataAge pets 1d", "unknown source pets (household, "
     "elderly_alone, disability)"),
    ("VerifyMaxDataAge household 90", "VerifyMaxDataAge household 90: "),
    ("VerifyMaxDataAge household 0s", "VerifyMaxDataAge household 0s: "),
    ("VerifyMaxDataAge household 1d 2d", "takes two arguments"),
])
def test_max_data_age_refused(make_server, line, why):
    refused(make_server(extra_conf=line), line, why)


def test_max_data_age_twice(make_server):
    s = make_server(extra_conf="VerifyMaxDataAge household 1d\n"
                               "VerifyMaxDataAge household 2d")
    refused(s, "VerifyMaxDataAge household 2d",
            "VerifyMaxDataAge household given twice")


def test_not_configured(make_server):
    """verify-health in a server without mod_verify's three paths: 503,
    and it says why."""
    s = make_server(extra_conf=HEALTH_CONF, location=False)
    conf_write = s.write_conf

    def write_conf():
        conf_write()
        lines = [ln for ln in open(s.conf).read().splitlines()
                 if not ln.startswith(("VerifyStore", "VerifyKeyFile",
                                       "VerifyAuditLog", "VerifyClient"))]
        open(s.conf, "w").write("\n".join(lines) + "\n")
    s.write_conf = write_conf
    s.start()
    h = checked(health(s), 503)
    assert h["store"] == {"ok": False, "snapshot": None}, h
    assert h["audit"]["writable"] is False, h
    assert h["problems"] == ["mod_verify is not configured (VerifyStore, "
                             "VerifyKeyFile, VerifyAuditLog)"], h


def test_batch_of_another_key(make_server):
    """A batch imported with another pseudonym key: /verify refuses to
    answer from it (store_unavailable, VFY27), and the health check
    fails with it rather than send traffic there."""
    s = make_server(mpm="event", extra_conf=HEALTH_CONF)
    s.expect_log(r"VFY27: the household batch was imported with another "
                 r"key")
    other = harness.make_key_file(os.path.join(s.root, "other.key"))
    people = harness.People("test_610k").batch(2)
    s.add_people(people)
    harness.import_people(s.store, other, people, workdir=s.workdir())
    s.start()
    r = s.post(fields_for(people[0]))
    assert r.status == 503 and r.json["error"] == "store_unavailable", r
    h = checked(health(s), 503)
    assert h["store"]["ok"] is True, h
    assert h["sources"]["household"]["ok"] is False, h
    assert h["problems"] == ["the household data was imported with another "
                             "pseudonym key than VerifyKeyFile"], h
