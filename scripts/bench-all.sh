#!/bin/bash
# bench-all.sh -- every figure of docs/performance.md in one run
# (`make bench` runs it after building).
#
#   make bench                     (installs, builds, runs this)
#   BENCH_QUICK=1 make bench       (a short run: checks the tooling only)
#   bash scripts/bench-all.sh      (after `make all build/bench-load`)
#
# Runs, one after the other: bench-http.sh and bench-tls.sh (POST /verify
# against a static file, VerifyAuditSync Off and On), bench-tools.sh
# (verify-audit over 10 M lines), bench-rss.sh (child memory over a
# million requests); then, when they exist, the figures other parts of
# the project add: scripts/bench.sh (wrk, with batch questions:
# subjects/s) and scripts/bench-import.sh (import against mdb_load), and
# bench-sample.sh (issue 8: the sample of a million lines under 5 s).
# Each script writes its Markdown to BENCH_OUT_DIR (default build/bench);
# this one puts them together, under the date, the machine and how to
# rerun, in $BENCH_OUT_DIR/performance-run.md, ready to paste into
# docs/performance.md ("Results of make bench"). The outputs of the
# scripts that write no Markdown of their own go in as their printed
# summary.
#
# BENCH_ONLY="http tls ...": run only these (http tls tools rss wrk
# import sample). A failed script is reported and the others still run;
# the exit status is 1 if any failed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib-bench.sh
. "$HERE/scripts/lib-bench.sh"

ONLY=${BENCH_ONLY:-http tls tools rss wrk import sample}
OUT=$BENCH_OUT_DIR/performance-run.md
# (only what the parts write: BENCH_OUT_DIR may hold other files)
for f in http tls tools rss wrk import sample; do
    rm -f "$BENCH_OUT_DIR/$f.md" "$BENCH_OUT_DIR/$f.log" \
        "$BENCH_OUT_DIR/perf-$f-static.txt" "$BENCH_OUT_DIR/perf-$f-off.txt" \
        "$BENCH_OUT_DIR/perf-$f-on.txt"
done
rm -f "$OUT"
START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
FAILED=()

wanted() { [[ " $ONLY " == *" $1 "* ]]; }

# part NAME SCRIPT [ENV=VALUE...]: run one script, its output also to
# NAME.log.
part() {
    local name=$1 script=$2
    shift 2
    wanted "$name" || return 0
    if [ ! -f "$HERE/scripts/$script" ]; then
        say "($script is not in this tree: skipped)"
        return 0
    fi
    step "bench: $name ($script)"
    if ! env "$@" bash "$HERE/scripts/$script" 2>&1 | tee "$BENCH_OUT_DIR/$name.log"; then
        bad "$script failed"
        FAILED+=("$script")
    fi
}

part http bench-http.sh
part tls bench-tls.sh
part tools bench-tools.sh
part rss bench-rss.sh
# Hooks: figures other parts of the project measure. scripts/bench.sh is
# wrk's own run of static against verify over HTTP (the figures of the
# earlier rounds) and, where batch questions exist, batches (subjects/s).
part wrk bench.sh BENCH_DURATION="$(quick 2s 8s)" BENCH_ROUNDS="$ROUNDS"
part import bench-import.sh IMPORT_COUNT="$(quick 100000 "${IMPORT_COUNT:-23500000}")" \
    IMPORT_ROUNDS="$ROUNDS"
part sample bench-sample.sh BENCH_LINES="$(quick 20000 1000000)" BENCH_RUNS="$ROUNDS"

# The report.
{
    echo "## Results of make bench ($START)"
    echo
    if [ "$BENCH_QUICK" = 1 ]; then
        echo "**BENCH_QUICK=1: a short run that checks the tooling; these are not results.**"
        echo
    fi
    echo "- machine: $(bench_machine), $(free -g | awk '/^Mem:/ { print $2 }') GiB;" \
        "httpd $("$HTTPD_BIN" -v | sed -n 's/^Server version: //p'), OpenSSL $(openssl version | cut -d' ' -f2)"
    echo "- tree: $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(git -C "$HERE" status --porcelain 2>/dev/null | grep -q . && echo '(with local changes)')"
    echo "- load average: $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
        "(the load generator shares the CPUs with httpd)"
    echo "- rerun: \`make bench\` (or \`BENCH_ONLY=\"http tls\" bash scripts/bench-all.sh\`" \
        "after \`make all build/bench-load\`); $ROUNDS rounds, medians"
    echo
    for name in http tls tools rss; do
        [ -s "$BENCH_OUT_DIR/$name.md" ] && cat "$BENCH_OUT_DIR/$name.md"
    done
    if [ -s "$BENCH_OUT_DIR/wrk.log" ]; then
        echo "### scripts/bench.sh (wrk over HTTP; batch questions where present)"
        echo
        echo '```'
        sed -n '/==> Results/,/==> Memory/p' "$BENCH_OUT_DIR/wrk.log" \
            | sed -e '/==> /d' -e 's/\x1b\[[0-9;]*m//g'
        echo '```'
        echo
    fi
    if [ -s "$BENCH_OUT_DIR/import.log" ]; then
        echo "### scripts/bench-import.sh (import against mdb_load)"
        echo
        echo '```'
        sed -e 's/\x1b\[[0-9;]*m//g' "$BENCH_OUT_DIR/import.log" | tail -n 25
        echo '```'
        echo
    fi
    if [ -s "$BENCH_OUT_DIR/sample.log" ]; then
        echo "### scripts/bench-sample.sh (issue 8: the official sample of a month)"
        echo
        echo '```'
        sed -e 's/\x1b\[[0-9;]*m//g' "$BENCH_OUT_DIR/sample.log" \
            | grep -E 'run [0-9]|flags off|Result|ok |FAIL'
        echo '```'
        echo
    fi
    if [ ${#FAILED[@]} -gt 0 ]; then
        echo "**Failed: ${FAILED[*]}** (see $BENCH_OUT_DIR/*.log)."
        echo
    fi
} > "$OUT"

step "bench: the report ($OUT)"
cat "$OUT"
if [ ${#FAILED[@]} -gt 0 ]; then
    die "failed: ${FAILED[*]}"
fi
ok "every part ran"
