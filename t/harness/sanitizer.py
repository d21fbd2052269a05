"""The tests under AddressSanitizer and UndefinedBehaviorSanitizer
(`make asan`, docs/memory-safety.md).

Environment-driven, so that every test that goes through the harness runs
under it unchanged:

  MOD_VERIFY_BUILD      the build directory the tests load (default
                        build/; `make asan` gives build-asan/)
  MOD_VERIFY_SANITIZER  "asan": the module and the tools in it are built
                        with -fsanitize=address,undefined (gcc)
  MOD_VERIFY_ASAN_OPTIONS  more ASAN_OPTIONS, after (and over) ours
  MOD_VERIFY_HTTPD_LEAKS  1: LeakSanitizer in httpd too (slow; see below)
  MOD_VERIFY_SAN_LOG    where the sanitizers write their reports (default:
                        a fresh directory under /tmp); kept when a report
                        was written

Debian's httpd is not built with ASan, and a module that is cannot be
dlopen()ed into it: the ASan runtime must be the first library of the
process. APACHE is then a small script that starts /usr/sbin/apache2
with LD_PRELOAD of the module's own libasan and libubsan (found with
ldd), in front of whatever LD_PRELOAD a test gives (libfaketime). The
tools are linked with the runtime themselves.

ASAN_OPTIONS and UBSAN_OPTIONS go into CLEAN_ENV, the environment the
harness gives httpd and the tools: every report goes to LOG_DIR/asan.PID
(LOG_DIR belongs to the run-time user: httpd's children write there
after they drop root) instead of stderr, which httpd would send to a log
nobody reads. conftest.py fails the test during which a report appeared,
and the session at its end for one written later (a child of a
module-scoped server exits at the end of the module).

Leaks: LeakSanitizer is on in the tools and the unit tests. In httpd it
is off unless MOD_VERIFY_HTTPD_LEAKS=1: Debian's APR takes pool memory
with mmap(), which LeakSanitizer does not scan, so every malloc()ed
object a pool points to (OpenSSL's, jansson's) looks leaked when a child
exits with pconf alive, as children do by design; matching those against
t/harness/lsan.supp (the configuration hooks, httpd's process allocator)
costs each child about a CPU-second at exit, and on a loaded machine
httpd then SIGKILLs children before they finish (AH00046), losing their
reports. docs/memory-safety.md tells what a run with it on found.
"""

import os
import re
import shutil
import subprocess
import tempfile

from .env import APACHE_BIN, CLEAN_ENV, IS_ROOT, MODULE, RUN_USER

SANITIZER = os.environ.get("MOD_VERIFY_SANITIZER", "")
ENABLED = SANITIZER == "asan"
HTTPD_LEAKS = int(os.environ.get("MOD_VERIFY_HTTPD_LEAKS", "0") == "1")
HERE = os.path.dirname(os.path.abspath(__file__))
LSAN_SUPP = os.path.join(HERE, "lsan.supp")
REPORT_RE = re.compile(r"^(asan|ubsan|lsan)\.\d+")
# A report printed instead of written to LOG_DIR: gcc's UBSan, linked
# with ASan, ignores log_path and prints to stderr (httpd's error log,
# a tool's stderr). Checked in both (server.py, test_000).
REPORT_LINE_RE = re.compile(r"runtime error: |ERROR: AddressSanitizer|"
                            r"ERROR: LeakSanitizer|"
                            r"SUMMARY: UndefinedBehaviorSanitizer")

LOG_DIR = None
APACHE = APACHE_BIN


def runtime_libs(binary):
    """The sanitizer runtimes @binary is linked with, ASan first."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True,
                         env=dict(CLEAN_ENV), timeout=60).stdout
    libs = {}
    for line in out.splitlines():
        m = re.match(r"\s*(lib(asan|ubsan)\.so[.\d]*)\s+=>\s+(\S+)", line)
        if m:
            libs[m.group(2)] = m.group(3)
    if "asan" not in libs:
        raise RuntimeError("MOD_VERIFY_SANITIZER=asan but %s is not built "
                           "with ASan (run `make asan-build`)" % binary)
    return [libs[k] for k in ("asan", "ubsan") if k in libs]


_LOG_DIR_OURS = False


def _setup():
    global LOG_DIR, APACHE, _LOG_DIR_OURS
    LOG_DIR = os.environ.get("MOD_VERIFY_SAN_LOG")
    if not LOG_DIR:
        LOG_DIR = tempfile.mkdtemp(prefix="mod_verify-san-")
        _LOG_DIR_OURS = True
    os.makedirs(LOG_DIR, exist_ok=True)
    if IS_ROOT:
        shutil.chown(LOG_DIR, RUN_USER, RUN_USER)
    os.chmod(LOG_DIR, 0o700)
    log = os.path.join(LOG_DIR, "asan")
    CLEAN_ENV["ASAN_OPTIONS"] = ":".join([
        "log_path=" + log,
        "detect_leaks=1",
        # libfaketime may come first in LD_PRELOAD (tests of the clock)
        "verify_asan_link_order=0",
        "detect_stack_use_after_return=0",
        "allocator_may_return_null=1",
        "handle_segv=1",
        # httpd's children install their own SIGSEGV handler (a core
        # dump): ASan's stays, so that a crash leaves a report with
        # its stack
        "allow_user_segv_handler=0",
        "symbolize=1",
        # full stacks at malloc: APR and OpenSSL have no frame pointers,
        # and the suppressions name the hooks that allocated
        "fast_unwind_on_malloc=0",
    ] + ([os.environ["MOD_VERIFY_ASAN_OPTIONS"]]
         if os.environ.get("MOD_VERIFY_ASAN_OPTIONS") else []))
    CLEAN_ENV["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" \
        % LSAN_SUPP
    CLEAN_ENV["UBSAN_OPTIONS"] = ("log_path=%s:print_stacktrace=1:"
                                  "halt_on_error=0" % log)
    preload = " ".join(runtime_libs(MODULE))
    # readable and executable by root only is enough: httpd starts as root;
    # as another user, the user's own
    wrapper = os.path.join(LOG_DIR, "apache2")
    with open(wrapper + ".tmp", "w") as f:
        f.write("#!/bin/sh\n"
                "# apache2 with the sanitizer runtimes of %s\n"
                "LD_PRELOAD=\"%s${LD_PRELOAD:+ $LD_PRELOAD}\"\n"
                "ASAN_OPTIONS=\"$ASAN_OPTIONS:detect_leaks=%d\"\n"
                "export LD_PRELOAD ASAN_OPTIONS\n"
                "exec %s \"$@\"\n" % (MODULE, preload, HTTPD_LEAKS,
                                       APACHE_BIN))
    os.chmod(wrapper + ".tmp", 0o755)
    os.rename(wrapper + ".tmp", wrapper)
    # the run-time user writes reports but need not list the wrapper
    APACHE = wrapper


if ENABLED:
    _setup()


def cleanup():
    """At the end of the session: the directory made here goes, unless a
    report is in it (then its path was told)."""
    if ENABLED and _LOG_DIR_OURS and not reports():
        shutil.rmtree(LOG_DIR, ignore_errors=True)


def options():
    """The sanitizer options of CLEAN_ENV ({} when off): for a test that
    runs a sanitized program with an environment of its own."""
    return {k: v for k, v in CLEAN_ENV.items() if k.endswith("SAN_OPTIONS")}


def reports():
    """Names of the sanitizer reports written so far (sorted)."""
    if not ENABLED:
        return []
    return sorted(f for f in os.listdir(LOG_DIR) if REPORT_RE.match(f))


def read_reports(names, limit=6000):
    """The text of the reports @names, each cut to @limit characters."""
    out = []
    for n in names:
        try:
            with open(os.path.join(LOG_DIR, n), errors="replace") as f:
                text = f.read()
        except OSError as e:
            text = str(e)
        out.append("--- %s/%s ---\n%s" % (LOG_DIR, n, text[:limit]))
    return "\n".join(out)
