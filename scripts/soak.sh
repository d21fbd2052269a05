#!/bin/bash
# soak.sh -- faults under load at full size (issue 11 item 2).
#
#   make soak             (installs what is missing, builds, runs this)
#   bash scripts/soak.sh  (after `make all`; as root, as CI runs)
#
# Runs t/test_980_load_faults.py with MOD_VERIFY_SOAK=1: the same tests
# `make test` runs small, at full size, once per MPM, while the load
# client (t/harness/load.py) keeps /verify busy:
#   - 60 graceful restarts, one a second;
#   - 60 children killed with SIGKILL, with VerifyAuditSync Off and On;
#   - the importer killed at its commit points and 60 random syscalls;
#   - the audit volume (a tmpfs) filled 10 times for 5 s;
#   - 40 s before and after midnight Taipei (libfaketime), at a month end.
# Each test prints one line of figures; they are gathered at the end (and
# kept in SOAK_FIGURES). Exit status: pytest's (any failed check fails).
#
# Environment:
#   SOAK_MPMS      the MPMs to run (default "event prefork")
#   SOAK_FIGURES   where the figures go (default build/soak-figures.txt)
#   SOAK_TESTS     a pytest -k expression to run some tests only
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib-httpd.sh
. "$HERE/scripts/lib-httpd.sh"

MPMS=${SOAK_MPMS:-event prefork}
FIGURES=${SOAK_FIGURES:-$BUILD/soak-figures.txt}
need_cmd "$PYTHON" strace mdb_stat
need_file "$BUILD/mod_verify.so"
need_file "$BUILD/verify-import"
need_file "$AUDIT"
is_root || say "not root: the full-volume test is skipped (it mounts a tmpfs)"

: >"$FIGURES"
rc=0
for mpm in $MPMS; do
    case $mpm in event|prefork|worker) ;; *) die "unknown MPM: $mpm" ;; esac
    step "faults under load, full size, $mpm MPM"
    K=()
    if [ -n "${SOAK_TESTS:-}" ]; then K=(-k "$SOAK_TESTS"); fi
    (cd "$HERE" && MOD_VERIFY_SOAK=1 MOD_VERIFY_LOAD_MPM=$mpm \
        MOD_VERIFY_FIGURES=$FIGURES "$PYTHON" -m pytest -q -p no:cacheprovider \
        ${K[@]+"${K[@]}"} t/test_980_load_faults.py) || rc=1
done

step "figures ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r))"
indent <"$FIGURES"
if [ "$rc" -eq 0 ]; then ok "every check passed"; else bad "some checks failed"; fi
exit "$rc"
