"""mod_verify's section of server-status (issue 10, item 2): answers and
refusals by code, audit lines and syncs, checkpoints, the store snapshot
in use, each source's batch age and approved-until, and the audit
volume, in the HTML page and as `?auto` lines. The counts are shared by
every child (prefork answers from several processes) and kept across a
graceful restart; reading the page is not a query."""

import concurrent.futures
import os
import re

import harness
from harness import fields_for

STATUS_CONF = """
LoadModule status_module %s/mod_status.so
<Location /server-status>
    SetHandler server-status
    Require ip 127.0.0.0/8
</Location>
VerifyAuditSync On
""" % harness.MODDIR

CODES = ["not_found", "method_not_allowed", "invalid_field",
         "missing_field", "invalid_id", "invalid_check", "body_too_large",
         "unsupported_media_type", "unknown_client", "credential_reused",
         "credential_expired", "approval_expired", "check_not_permitted",
         "rate_limited", "store_unavailable", "data_expired",
         "audit_unavailable", "other"]


def auto(s):
    r = harness.request(s.port, "GET", "/server-status?auto")
    assert r.status == 200, r
    out = {}
    for ln in r.body.decode().splitlines():
        k, _, v = ln.partition(": ")
        out[k] = v
    return out


def start(make_server, mpm):
    s = make_server(mpm=mpm, extra_conf=STATUS_CONF, checkpoints=True)
    s.gen = harness.People("test_600")
    s.people = s.gen.batch(4)
    s.import_household(s.people)
    s.start()
    return s


def test_counts_and_state(make_server, mpm):
    s = start(make_server, mpm)
    before = auto(s)
    assert before["VerifyAnswered"] == "0" and before["VerifyRefused"] == "0"
    for code in CODES:
        assert before["VerifyRefused_" + code] == "0", code
    # 8 answers and 6 refusals, each on its own connection: prefork
    # spreads them over its children
    for i in range(8):
        r = s.post(fields_for(s.people[i % 4]))
        assert r.status == 200, r
    refusals = {"invalid_id": 2, "unknown_client": 1,
                "method_not_allowed": 2, "check_not_permitted": 1}
    for _ in range(2):
        assert s.post(fields_for("A123456788")).status == 400
        assert harness.request(s.port, "GET", "/verify").status == 405
    assert s.post(fields_for(s.people[0]),
                  source_address=("127.0.0.9", 0)).status == 403
    assert s.post(fields_for(s.people[0], check="disability")).status == 403
    if mpm == "prefork":
        assert len(s.child_pids()) > 1
    st = auto(s)
    lines = s.audit_lines()
    assert st["VerifyAnswered"] == "8", st
    assert st["VerifyRefused"] == "6", st
    for code in CODES:
        assert int(st["VerifyRefused_" + code]) == refusals.get(code, 0), code
    # the chain's size: the checkpoint signer may have added lines since
    n = int(st["VerifyAuditLines"])
    assert lines[n - 1]["seq"] == n
    assert all(ln["op"] == "checkpoint" for ln in lines[n:]), lines[n:]
    verify_lines = [ln for ln in lines if ln["op"] == "verify"]
    assert len(verify_lines) == 14
    # VerifyAuditSync On: group commits, at most one per line
    assert 1 <= int(st["VerifyAuditSyncs"]) <= n
    # checkpoints signed by the parent: each also a line of the chain
    cps = [ln for ln in lines if ln["op"] == "checkpoint"]
    assert 1 <= int(st["VerifyCheckpoints"]) <= len(cps), (st, cps)
    assert int(st["VerifyCheckpointSize"]) in [c["size"] for c in cps]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$",
                    st["VerifyCheckpointAt"])
    # the store and its sources
    assert st["VerifySnapshot"] == os.readlink(os.path.join(s.store,
                                                            "current"))
    assert 0 <= int(st["VerifySourceAge_household"]) < 600
    assert st["VerifySourceApprovedUntil_household"] == \
        harness.approved_until()
    assert "VerifySourceAge_disability" not in st
    # the audit volume
    assert 0 <= float(st["VerifyAuditVolumeUsedPercent"]) <= 100
    assert int(st["VerifyAuditVolumeFreeBytes"]) > 0
    assert st["VerifyAuditVolumeLevel"] in ("0", "75", "90")
    # reading the page is no query: no line was added for it
    auto(s)
    assert len([ln for ln in s.audit_lines() if ln["op"] == "verify"]) == 14

    # the HTML page has the section, codes with a count only
    r = harness.request(s.port, "GET", "/server-status")
    page = r.body.decode()
    assert "<h2>mod_verify</h2>" in page
    assert re.search(r"<td>answered</td><td>8</td>", page)
    assert re.search(r"<td>&nbsp;&nbsp;invalid_id</td><td>2</td>", page)
    assert "data_expired" not in page
    assert st["VerifySnapshot"] in page
    for p in s.people:
        assert p.id not in page

    # a graceful restart keeps the counts
    s.graceful()
    assert s.post(fields_for(s.people[1])).status == 200
    after = auto(s)
    assert after["VerifyAnswered"] == "9", after
    assert after["VerifyRefused"] == "6", after
    assert after["VerifyCountsSince"] == st["VerifyCountsSince"]


def test_no_store_yet(make_server):
    s = make_server(mpm="event", extra_conf=STATUS_CONF)
    s.start()
    r = s.post(fields_for(harness.People("test_600b").person("citizen")))
    assert r.status == 503 and r.json["error"] == "store_unavailable"
    st = auto(s)
    assert st["VerifySnapshot"] == "none"
    assert st["VerifyRefused_store_unavailable"] == "1"
    assert not [k for k in st if k.startswith("VerifySource")]


def test_concurrent_counts_are_exact(make_server, mpm):
    """Answers from many threads and processes at once: no count lost
    (each is an atomic add on the shared word)."""
    s = start(make_server, mpm)
    with concurrent.futures.ThreadPoolExecutor(12) as ex:
        codes = list(ex.map(
            lambda i: s.post(fields_for(s.people[i % 4]) if i % 5
                             else fields_for("A123456788")).status,
            range(120)))
    assert codes.count(200) == 96 and codes.count(400) == 24, codes
    st = auto(s)
    assert st["VerifyAnswered"] == "96", st
    assert st["VerifyRefused_invalid_id"] == "24", st
    verify_lines = [ln for ln in s.audit_lines() if ln["op"] == "verify"]
    assert len(verify_lines) == 120
