"""The audit volume (issue 10, item 5), on a real small filesystem: a
tmpfs mounted by the test as VerifyAuditLog and filled to the
thresholds. The error log warns once as the volume passes 75 % (VFY131)
and once as it passes 90 % (VFY132), whichever process sees it first,
however many children look; health and server-status show it; a full
volume fails the health check (the run-time user cannot write a block);
once room is made the error log says so (VFY133) and the next crossing
warns again, found by the parent's monitor without any request."""

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

CONF = """
LoadModule status_module %s/mod_status.so
<Location /server-status>
    SetHandler server-status
    Require ip 127.0.0.0/8
</Location>
<Location /health>
    SetHandler verify-health
    Require ip 127.0.0.0/8
</Location>
""" % harness.MODDIR
VFY131 = r"VFY131: the audit volume of \S+ is 7\d\.\d% full \(past 75%\)"
VFY132 = r"VFY132: the audit volume of \S+ is 9\d\.\d% full \(past 90%\)"




def fill_to(mnt, percent, name):
    """Add a file so that the volume is just past @percent used."""
    st = os.statvfs(mnt)
    used = st.f_blocks - st.f_bfree
    want = int(st.f_blocks * (percent + 0.5) / 100) + 1 - used
    assert want > 0, (percent, used, st.f_blocks)
    with open(os.path.join(mnt, name), "wb") as f:
        f.write(b"\0" * (want * st.f_frsize))
    st = os.statvfs(mnt)
    pct = 100.0 * (st.f_blocks - st.f_bfree) / st.f_blocks
    assert percent <= pct < percent + 2, pct
    return pct


def health(s):
    r = harness.request(s.port, "GET", "/health")
    return r.status, r.json


def level(s):
    r = harness.request(s.port, "GET", "/server-status?auto")
    m = re.search(r"^VerifyAuditVolumeLevel: (\d+)$", r.body.decode(), re.M)
    return int(m.group(1))


def many_health(s, n=24):
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        return list(ex.map(lambda _: health(s), range(n)))


def count(s, rx):
    return len(re.findall(rx, s.error_log_text()))


def wait_for(cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.5)
    return False


def test_thresholds(make_server):
    with small_volume("2m") as mnt:
        s = make_server(mpm="prefork", audit=mnt, extra_conf=CONF)
        s.expect_log(VFY131, VFY132)
        people = harness.People("test_630").batch(2)
        s.import_household(people)
        s.start()
        assert s.post(fields_for(people[0])).status == 200
        code, h = health(s)
        assert code == 200 and h["problems"] == [], h
        assert level(s) == 0

        # past 75 %: one warning, however many children look
        pct = fill_to(mnt, 75, "a")
        answers = many_health(s)
        assert all(c == 200 for c, _ in answers), answers
        code, h = answers[-1]
        assert h["status"] == "ok" and h["audit"]["ok"], h
        assert abs(h["audit"]["used_percent"] - pct) < 1.5, (h, pct)
        assert re.match(r"the audit volume is 7\d\.\d% full \(past 75%\)$",
                        h["problems"][0]), h
        st = os.statvfs(mnt)
        assert abs(h["audit"]["free_bytes"]
                   - st.f_bavail * st.f_frsize) <= 16 * 4096, h
        assert level(s) == 75
        assert count(s, "VFY131") == 1, s.error_log_text()
        assert s.post(fields_for(people[1])).status == 200

        # past 90 %: the second warning, once
        fill_to(mnt, 90, "b")
        answers = many_health(s)
        assert all(c == 200 for c, _ in answers), answers
        assert "past 90%" in answers[-1][1]["problems"][0]
        assert level(s) == 90
        assert count(s, "VFY131") == 1 and count(s, "VFY132") == 1

        # full: the run-time user cannot write a block
        fill(mnt)
        code, h = health(s)
        assert code == 503 and h["status"] == "fail", h
        assert h["audit"]["writable"] is False and not h["audit"]["ok"], h
        assert h["audit"]["free_bytes"] == 0, h
        assert any("No space left on device" in p for p in h["problems"]), h
        assert count(s, "VFY132") == 1

        # room again: said once, and the check passes
        for name in ("a", "b", "filler"):
            os.unlink(os.path.join(mnt, name))
        code, h = health(s)
        assert code == 200 and h["problems"] == [], h
        many_health(s, 8)
        assert count(s, "VFY133: the audit volume of") == 1
        assert level(s) == 0

        # passing 75 % again warns again, found by the parent's monitor
        # (about every ten seconds) with no request at all
        fill_to(mnt, 75, "c")
        assert wait_for(lambda: count(s, "VFY131") == 2, 40), \
            s.error_log_text()
        s.stop()
