#!/bin/bash
# bench-sample.sh -- how long `verify-audit sample` takes for a month of
# a million lines (issue 8 item 8: under 5 s).
#
#   bash scripts/bench-sample.sh          (after `make all`)
#
# scripts/gen-audit.py writes one Taipei month (October 2026) of
# BENCH_LINES query lines (default 1,000,000) in office hours, with
# signed checkpoints about every minute and the "month" checkpoint after
# it, as a server would have; then the official sample is drawn
# BENCH_RUNS times (default 3) with the built-in thresholds, and once
# with every flag off. Prints wall, user and system seconds of each run
# and the best wall time; exits 1 if the best is 5 s or more.
#
# Environment: BENCH_LINES, BENCH_RUNS, BENCH_KEEP=1 (keep the scratch
# directory).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib-httpd.sh
. "$HERE/scripts/lib-httpd.sh"

LINES=${BENCH_LINES:-1000000}
RUNS=${BENCH_RUNS:-3}
[[ $LINES =~ ^[1-9][0-9]*$ ]] || die "BENCH_LINES must be a positive number"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number"
need_cmd "$PYTHON"
need_file "$AUDIT"

D=$(mktemp -d /tmp/verify-bench-sample.XXXXXX)
cleanup() {
    local rc=$?
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "scratch directory kept: $D"
    else
        rm -rf "$D"
    fi
    exit $rc
}
trap cleanup EXIT

step "A month of $LINES query lines with signed checkpoints"
"$PYTHON" "$HERE/scripts/gen-audit.py" --month 2026-10 --lines "$LINES" \
    --out "$D/audit" | indent
mv "$D/audit/verifier" "$D/verifier"
say "$(du -sh "$D/audit" | cut -f1) in $(ls "$D/audit" | wc -l) day files"

printf 'off_hours = off\nburst_queries = 0\nday_subjects = 0\nsubject_clients = 0\nnot_found_run = 0\nidentity_mismatch = off\nreason_share = 0\nnew_operator = off\n' \
    > "$D/noflags.conf"

# run LABEL ARGS...: one timed sample; "wall user sys" on stdout
run() {
    local label=$1 t
    shift
    t=$( { /usr/bin/time -f "%e %U %S" "$AUDIT" sample --month 2026-10 \
             --verifier "$D/verifier" "$@" "$D/audit" > "$D/out.txt"; } \
         2>&1 >/dev/null | tail -1)
    say "$(printf '%-22s wall %6ss  user %6ss  sys %6ss' "$label" $t)" >&2
    echo "$t"
}

step "verify-audit sample --month 2026-10 (the official draw)"
best=
for i in $(seq "$RUNS"); do
    t=$(run "run $i" )
    wall=${t%% *}
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then
        best=$wall
    fi
done
grep -E '^(population|sample size|flags|sample):' "$D/out.txt" | indent
run "flags off" --flags "$D/noflags.conf" > /dev/null
say "load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows wall time)"

step "Result"
if awk "BEGIN{exit !($best < 5)}"; then
    ok "sample of $LINES lines: best ${best}s (under 5 s)"
else
    bad "sample of $LINES lines: best ${best}s (5 s or more)"
    exit 1
fi
