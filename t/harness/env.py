"""Where the tests find what they run, and how they run it: the build
outputs, the system's apache2, the run-time user, a clean environment
for child processes, and the Taipei clock the audit files are dated by."""

import datetime
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# `make asan` points the tests at build-asan/ (t/harness/sanitizer.py)
BUILD = os.environ.get("MOD_VERIFY_BUILD") or os.path.join(REPO, "build")
MODULE = os.path.join(BUILD, "mod_verify.so")
VERIFY_IMPORT = os.path.join(BUILD, "verify-import")
VERIFY_AUDIT = os.path.join(BUILD, "verify-audit")
APACHE_BIN = "/usr/sbin/apache2"
APACHE = APACHE_BIN     # under ASan, a script that preloads its runtime
MODDIR = "/usr/lib/apache2/modules"
RUN_USER = "www-data"
IS_ROOT = os.geteuid() == 0

CLEAN_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C",
}

TAIPEI = datetime.timezone(datetime.timedelta(hours=8))


def today_taipei():
    return datetime.datetime.now(TAIPEI).date()


# Under `make asan`: APACHE preloads the sanitizer runtimes, CLEAN_ENV
# carries their options (imported last: it reads the names above).
from . import sanitizer as _sanitizer  # noqa: E402

APACHE = _sanitizer.APACHE
