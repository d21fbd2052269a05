"""The audit volume full, on a real small filesystem: a size-limited
tmpfs mounted by the test as VerifyAuditLog. A graceful restart must not
take the server down: static content goes on, /verify answers 503
audit_unavailable until there is room again, then recovers without a
restart, with the restart's start line first. And the error log says a
failing volume at most once a second, with a count, not once per
refused request."""

import concurrent.futures
import os
import re
import time

import pytest

import harness
from harness.volume import fill, small_volume
from harness import fields_for

pytestmark = pytest.mark.skipif(
    not harness.IS_ROOT, reason="mounting a tmpfs needs root (CI runs as "
    "root)")

VFY6_RE = re.compile(r"VFY6: cannot write audit line to \S+; (\d+) line\(s\) "
                     r"refused since the last message")
VFY91_RE = re.compile(r"VFY91: audit lines are written again; (\d+) more "
                      r"line\(s\) were refused")






def align_page(s, person):
    """Make the day file end on a page boundary, with lines whose
    reason is as long as it takes: tmpfs allocates whole pages, so once
    it is full a file whose last page has room still takes small lines
    (a start line), which would hide the fault."""
    reason = "r"
    for _ in range(60):
        newest = os.path.join(s.audit, harness.audit_files(s.audit)[-1])
        rem = -os.path.getsize(newest) % 4096
        if rem == 0:
            return
        last = harness.read_audit(s.audit)[-1]
        base = len(last.raw) + 1 - len(last.get("reason") or "") \
            if last.get("op") == "verify" else 700
        n = rem - base
        if n < 1:
            n = 200             # too little room: on to the next page
        r = s.post(fields_for(person, case="ALIGN",
                              reason="r" * min(n, 200)))
        assert r.status == 200, r
    raise AssertionError("cannot align the audit file on a page")


def refused_now(s, person, case):
    r = s.post(fields_for(person, case=case))
    assert r.status == 503, r
    assert r.json["error"] == "audit_unavailable"
    return 1


def refusals_logged(s):
    text = s.error_log_text()
    return ([int(n) for n in VFY6_RE.findall(text)],
            [int(n) for n in VFY91_RE.findall(text)])


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_graceful_restart_with_the_volume_full(make_server, mpm):
    with small_volume() as mnt:
        s = make_server(mpm=mpm, audit=mnt)
        s.expect_log(r"\[verify:error\].*VFY6: cannot write audit line",
                     r"\[verify:error\].*VFY96: cannot write the start line "
                     r"to the audit log")
        gen = harness.People()
        people = gen.batch(3)
        s.import_household(people)
        s.start()
        assert s.post(fields_for(people[0], case="ROOM")).status == 200
        align_page(s, people[0])
        filler = fill(mnt)
        refused = refused_now(s, people[1], "FULL")

        s.graceful()            # must not take the server down
        assert s.proc.poll() is None
        r = harness.request(s.port, "GET", "/static/small.txt")
        assert r.status == 200 and r.body.startswith(b"small static file")
        for i in range(5):
            r = s.post(fields_for(people[1], case="STILL-FULL-%d" % i))
            assert r.status == 503, r
            assert r.json["error"] == "audit_unavailable"
            assert "results" not in r.json and "receipt" not in r.json
            refused += 1
        assert "VFY96" in s.error_log_text()

        os.unlink(filler)       # room again: no restart needed
        r = s.post(fields_for(people[2], case="ROOM-AGAIN"))
        assert r.status == 200, r
        assert r.json["results"]["resident"] is True

        lines = harness.read_audit(s.audit)
        assert not harness.chain_problems(lines)
        cases = [l["case"] for l in lines if l.get("op") == "verify"]
        assert cases[-1] == "ROOM-AGAIN"
        assert not [c for c in cases if c.startswith("STILL-FULL")]
        starts = [l for l in lines if l.get("op") == "start"]
        assert [l["generation"] for l in starts] == [1, 2]
        # the restart's start line went in first, ahead of the answer
        again = [l for l in lines if l.get("case") == "ROOM-AGAIN"][0]
        assert starts[1]["seq"] < again["seq"]
        assert all(l.get("op") in ("start", "import") for l in lines
                   if starts[1]["seq"] < l["seq"] < again["seq"])
        res = harness.run_audit_tool("verify", s.audit)
        assert res.returncode == 0, res.stdout + res.stderr
        # every refusal is counted once: the start line's, and each
        # request's; the notice of the recovery carries the rest
        said, over = refusals_logged(s)
        assert len(over) == 1
        assert sum(said) + over[0] == refused + 1, (said, over, refused)
        s.stop()


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_full_volume_logged_once_a_second(make_server, mpm):
    with small_volume() as mnt:
        s = make_server(mpm=mpm, audit=mnt)
        s.expect_log(r"\[verify:error\].*VFY6: cannot write audit line")
        gen = harness.People()
        people = gen.batch(2)
        s.import_household(people)
        s.start()
        assert s.post(fields_for(people[0], case="ROOM")).status == 200
        align_page(s, people[0])
        filler = fill(mnt)
        refused = refused_now(s, people[0], "FULL")

        def ask(i):
            return s.post(fields_for(people[i % 2], case="BURST-%d" % i))

        t0 = time.time()
        statuses = []
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            while time.time() - t0 < 2.5:     # over more than 2 seconds
                statuses += [r.status for r in
                             ex.map(ask, range(len(statuses),
                                               len(statuses) + 100))]
        elapsed = time.time() - t0
        assert set(statuses) == {503}
        refused += len(statuses)
        # once a second (and the first at once), not once a request
        said = s.error_log_text().count("VFY6:")
        assert 2 <= said <= elapsed + 2, (said, len(statuses), elapsed)
        assert len(statuses) > 10 * said

        os.unlink(filler)
        assert s.post(fields_for(people[1], case="ROOM")).status == 200
        said, over = refusals_logged(s)
        assert sum(said) + sum(over) == refused, (said, over, refused)
        s.stop()


def test_register_change_at_a_full_restart_waits(make_server):
    """A graceful restart that also changes the client register while the
    volume is full: the server stays up, and the change reaches the chain
    from the parent's monitor once there is room (not at the next
    restart)."""
    with small_volume() as mnt:
        s = make_server(audit=mnt)
        s.expect_log(r"\[verify:error\].*VFY6: cannot write audit line",
                     r"\[verify:error\].*VFY96: cannot write the start line",
                     r"\[verify:error\].*VFY107: the change of the client "
                     r"register .* cannot be written to the audit log now")
        people = harness.People().batch(2)
        s.import_household(people)
        s.start()
        align_page(s, people[0])
        filler = fill(mnt)
        refused_now(s, people[1], "FULL")
        s.clients = list(s.clients) + [
            "latecomer ip=127.0.0.9 checks=resident approval=APP-2026-099 "
            "valid=2020-01-01..2099-12-31"]
        s.write_conf()
        s.graceful()
        assert s.proc.poll() is None
        assert "VFY107" in s.error_log_text(), s.error_log_text()[-3000:]
        os.unlink(filler)

        def register_line():
            for ln in harness.read_audit(s.audit):
                if ln.get("op") == "register" and \
                        "latecomer" in ln.raw.decode():
                    return ln
            return None
        end = time.time() + 40
        while time.time() < end and not register_line():
            time.sleep(1)
        assert register_line(), "the register change, written once room"
        assert not harness.chain_problems(harness.read_audit(s.audit))
        s.stop()
