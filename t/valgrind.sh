#!/bin/bash
# `make valgrind`: every C unit test (build/t/test_*) under valgrind's
# memcheck, leaks included. A test fails on any memcheck error (invalid
# read or write, use of uninitialised memory, bad free), on a definite or
# indirect leak, on a TAP "not ok", or on a non-zero exit.
# Suppressions (t/valgrind.supp) name other projects' code only.
#
# Environment: BUILD (default build), VALGRIND_JOBS (default: the number
# of processors), VALGRIND_LOG (default: a fresh directory; each test's
# log is kept there).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
JOBS=${VALGRIND_JOBS:-$(nproc)}
LOG=${VALGRIND_LOG:-$(mktemp -d /tmp/mod_verify-valgrind-XXXXXX)}
mkdir -p "$LOG"

command -v valgrind >/dev/null || {
    echo "valgrind.sh: valgrind is not installed (scripts/install-deps.sh)" >&2
    exit 2
}
tests=$(ls "$BUILD"/t/test_* 2>/dev/null)
[ -n "$tests" ] || { echo "valgrind.sh: no $BUILD/t/test_* (make unit)" >&2; exit 2; }

# one test: its log in $LOG/NAME.log, its TAP output in $LOG/NAME.tap
run_one() {
    local bin=$1 name rc
    name=$(basename "$bin")
    valgrind -q --tool=memcheck --error-exitcode=99 \
        --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect \
        --child-silent-after-fork=no --track-origins=yes \
        --suppressions="$ROOT/t/valgrind.supp" \
        --log-file="$LOG/$name.%p.log" \
        "$bin" >"$LOG/$name.tap" 2>&1
    rc=$?
    if [ $rc -ne 0 ] || grep -q '^not ok' "$LOG/$name.tap" \
        || ! grep -q '^ok ' "$LOG/$name.tap" \
        || [ -n "$(cat "$LOG/$name".*.log 2>/dev/null)" ]; then
        echo "FAIL $name (exit $rc)"
        grep '^not ok' "$LOG/$name.tap" | head -5
        cat "$LOG/$name".*.log 2>/dev/null | head -60
        return 1
    fi
    echo "ok   $name"
}
export -f run_one
export LOG ROOT

start=$(date +%s)
# shellcheck disable=SC2086
printf '%s\n' $tests | xargs -P "$JOBS" -I{} bash -c 'run_one {}' \
    | tee "$LOG/summary"
good=$(grep -c '^ok ' "$LOG/summary")
bad=$(grep -c '^FAIL' "$LOG/summary")
echo "valgrind: $good/$((good + bad)) unit tests clean in $(( $(date +%s) - start ))s" \
     "(logs in $LOG)"
[ "$bad" -eq 0 ]
