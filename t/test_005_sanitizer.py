"""The harness under AddressSanitizer (`make asan`, t/harness/sanitizer.py):
httpd really runs the sanitized module with the ASan runtime preloaded,
its children (the run-time user) write their reports where the harness
looks, and a report fails the test. In a plain run (build/), nothing of
it is in the way: httpd is Debian's binary, the environment carries no
sanitizer options, and the module is not instrumented."""

import os
import pwd
import signal
import subprocess
import time

import harness

san = harness.sanitizer


def linked_runtimes(path):
    out = subprocess.run(["ldd", path], capture_output=True, text=True,
                         timeout=60).stdout
    return [lib for lib in ("libasan", "libubsan") if lib in out]


def test_plain_run_has_no_sanitizer():
    if san.ENABLED:
        # the other way round: everything is instrumented, and httpd
        # goes through the preloading script
        for path in (harness.MODULE, harness.VERIFY_IMPORT,
                     harness.VERIFY_AUDIT):
            assert linked_runtimes(path) == ["libasan", "libubsan"], path
        assert harness.APACHE != harness.APACHE_BIN
        assert "log_path=" in harness.CLEAN_ENV["ASAN_OPTIONS"]
        return
    assert harness.APACHE == harness.APACHE_BIN
    assert not [k for k in harness.CLEAN_ENV if k.endswith("SAN_OPTIONS")]
    assert linked_runtimes(harness.MODULE) == []
    assert san.reports() == []


def wait_report(pid, timeout=60.0):
    end = time.time() + timeout
    name = "asan.%d" % pid
    while time.time() < end:
        if name in san.reports():
            # written in pieces: wait until the summary is there
            text = open(os.path.join(san.LOG_DIR, name),
                        errors="replace").read()
            if "ABORTING" in text or "SUMMARY" in text:
                return name, text
        time.sleep(0.2)
    raise AssertionError("no report %s in %s: %s" % (name, san.LOG_DIR,
                                                     san.reports()))


def test_child_report_is_seen(make_server):
    """A child that dies in ASan's signal handler leaves its report in
    LOG_DIR as the run-time user, and reports() finds it (the conftest
    check would fail the test with it; this test takes it away)."""
    if not san.ENABLED:
        assert san.LOG_DIR is None
        return
    s = make_server(mpm="prefork")
    s.allowed.append(harness.CRASH_RE)     # the child killed below
    s.start()
    # the process mapped the runtime, preloaded into Debian's binary
    child = s.child_pids()[0]
    maps = open("/proc/%d/maps" % child).read()
    assert "libasan.so" in maps and "mod_verify.so" in maps
    assert os.readlink("/proc/%d/exe" % child) == harness.APACHE_BIN
    os.kill(child, signal.SIGSEGV)
    name, text = wait_report(child)
    try:
        assert "ERROR: AddressSanitizer" in text and "SEGV" in text, text
        st = os.stat(os.path.join(san.LOG_DIR, name))
        if harness.IS_ROOT:
            assert st.st_uid == pwd.getpwnam(harness.RUN_USER).pw_uid
        assert name in san.reports()
    finally:
        os.unlink(os.path.join(san.LOG_DIR, name))
