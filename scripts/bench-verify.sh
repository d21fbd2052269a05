#!/bin/bash
# bench-verify.sh TRANSPORT -- audited POST /verify against a small static
# file of the same httpd, with VerifyAuditSync Off and On; TRANSPORT http
# (keep-alive) or tls (TLS 1.3, client certificate). Run by bench-http.sh
# and bench-tls.sh (and `make bench`).
#
# Two private httpds (event MPM, the same configuration but for
# VerifyAuditSync) over one store of 100,000 residents. Every round runs,
# one after the other at the same concurrency: the static file (from the
# Off server), /verify on the Off server, /verify on the On server
# (build/bench-load: every connection opened before the clock starts,
# one request in flight each), then, with BENCH_BASELINE, /verify on the
# baseline's two servers. Each /verify request is a real audited
# query rotating over 300 IDs of the batch. The medians over the rounds
# give req/s, p50 and p99, the ratios to the static file and the targets
# of issue 11 (2 cores: req/s ratio >= 1.0 with sync off, >= 0.7 with it
# on; p99 <= 1.5 x the static file's). Then: audit lines >= answers and
# `verify-audit verify` on every log.
#
# Environment (besides lib-bench.sh's BENCH_QUICK, BENCH_ROUNDS ...):
#   BENCH_CONNS     connections (default 32)
#   BENCH_DURATION  seconds of each run (default 10; quick 2)
#   BENCH_COUNT     residents in the store (default 100000; quick 10000)
#   BENCH_PERF=1    profile the httpd children during the last round
#                   (perf, cpu-clock sampling): perf-TRANSPORT-KIND.txt
#                   in BENCH_OUT_DIR, KIND static, off or on
#   BENCH_BASELINE  a directory holding another build's mod_verify.so
#                   (e.g. main's build/): two more httpds, the same in all
#                   else, serve /verify with it (sync off and on), and
#                   every round runs them too, right after this tree's,
#                   so that a change is judged against the old code in
#                   one run (rows "baseline ..." and the ratios to them)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib-bench.sh
. "$HERE/scripts/lib-bench.sh"

TRANSPORT=${1:-}
case $TRANSPORT in http|tls) ;; *) die "usage: bench-verify.sh http|tls" ;; esac
CONNS=${BENCH_CONNS:-32}
DURATION=${BENCH_DURATION:-$(quick 2 10)}
COUNT=${BENCH_COUNT:-$(quick 10000 100000)}
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNS must be a positive number"
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "BENCH_DURATION: seconds, e.g. 10"
[[ $COUNT =~ ^[1-9][0-9]*$ ]] || die "BENCH_COUNT must be a positive number"
BENCH_PERF=${BENCH_PERF:-0}
case $BENCH_PERF in 0|1) ;; *) die "BENCH_PERF must be 0 or 1" ;; esac
[ "$BENCH_PERF" = 0 ] || need_cmd perf
BASELINE=${BENCH_BASELINE:-}
if [ -n "$BASELINE" ]; then
    BASELINE=$(cd "$BASELINE" && pwd) || die "BENCH_BASELINE: no such directory"
    need_file "$BASELINE/mod_verify.so"
    SERVERS="Off On bOff bOn"
else
    SERVERS="Off On"
fi
need_cmd curl openssl "$PYTHON" "$HTTPD_BIN"
need_file "$MODULE" "$IMPORT" "$AUDIT" "$LOADGEN"

bench_scratch "bench-$TRANSPORT"
step "$TRANSPORT: setting up in $D"
bench_store "$COUNT"
if [ "$TRANSPORT" = tls ]; then
    bench_certs
    SCHEME=https
else
    SCHEME=http
fi
declare -A PORT
OWN_MODULE=$MODULE
for srv in $SERVERS; do
    # bOff, bOn: the baseline's module, VerifyAuditSync Off and On
    MODULE=$OWN_MODULE
    if [ "${srv#b}" != "$srv" ]; then
        MODULE=$BASELINE/mod_verify.so
    fi
    mkdir -p "$D/$srv"
    chmod 0755 "$D/$srv"
    PORT[$srv]=$(free_port)
    bench_conf "$D/$srv" "${PORT[$srv]}" "${srv#b}" "$TRANSPORT" > "$srv.conf"
    httpd_start "$D/$srv.conf"
    bench_check_page "$SCHEME://127.0.0.1:${PORT[$srv]}" "$TRANSPORT"
done
MODULE=$OWN_MODULE
say "httpd $("$HTTPD_BIN" -v | sed -n 's/^Server version: //p'), event MPM," \
    "VerifyAuditSync Off on :${PORT[Off]}, On on :${PORT[On]}"
if [ -n "$BASELINE" ]; then
    say "baseline $BASELINE/mod_verify.so: Off on :${PORT[bOff]}, On on :${PORT[bOn]}"
fi
say "bench-load -c $CONNS, ${DURATION}s a run; $(bench_machine)"

# The disk's flush latency where the audit logs are (sync on waits for it):
# 500 synchronous 600-byte writes.
FLUSH_MS=$(LC_ALL=C dd if=/dev/zero of="$D/flush.test" bs=600 count=500 oflag=dsync 2>&1 \
    | awk '/copied/ { for (i = 1; i <= NF; i++) if ($i ~ /^s,?$/) { printf "%.2f", $(i - 1) * 1000 / 500; exit } }')
rm -f "$D/flush.test"
say "a synchronous 600-byte write on the audit logs' file system: ${FLUSH_MS:-?} ms"

# cpu_ticks SYNC: CPU ticks (user + system) used so far by that httpd's
# parent and children (/proc/PID/stat; with the parent's children's
# ticks, so that a child that ended in between is still counted).
cpu_ticks() {
    local parent pids
    parent=$(cat "$D/$1/run/httpd.pid")
    pids="$parent $(ps -o pid= --ppid "$parent" | tr '\n' ' ')"
    # shellcheck disable=SC2046,SC2086
    (cd /proc && cat $(printf '%s/stat ' $pids) 2>/dev/null) \
        | sed 's/^.*) //' | awk '{ t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}

# switches SYNC: context switches (voluntary and not) of that httpd's
# threads so far (/proc/PID/task/*/status; the event MPM keeps its
# threads, so few are lost with a thread that ends).
switches() {
    local parent
    parent=$(cat "$D/$1/run/httpd.pid")
    # shellcheck disable=SC2002,SC2046
    cat $(for p in $parent $(ps -o pid= --ppid "$parent"); do
              printf '%s ' /proc/"$p"/task/*/status; done) 2>/dev/null \
        | awk '/ctxt_switches:/ { t += $2 } END { print t + 0 }'
}

# measured OUT PORT PAGE SECS SYNC: one run; httpd's CPU per request
# (microseconds) and context switches per request added to OUT as cpu_us
# and switches.
measured() {
    local out=$1 port=$2 page=$3 secs=$4 sync=$5 t0 t1 c0 c1 cpu
    t0=$(cpu_ticks "$sync")
    c0=$(switches "$sync")
    bench_load "$out" "$port" "$TRANSPORT" "$page" "$CONNS" -d "$secs"
    t1=$(cpu_ticks "$sync")
    c1=$(switches "$sync")
    cpu=$(awk -v a="$t0" -v b="$t1" -v c="$c0" -v d="$c1" -v hz="$(getconf CLK_TCK)" '
        $1 == "requests" { n = $2 > 0 ? $2 : 1
            printf "cpu_us %.1f\nswitches %.2f\n", (b - a) * 1e6 / hz / n, (d - c) / n }' "$out")
    echo "$cpu" >> "$out"
}

# profiled OUT PORT PAGE SECS KIND: one run; with BENCH_PERF=1 in the last
# round, under `perf record -e cpu-clock -g` of that httpd's children
# (cpu-clock: no PMU counters in a VM), the top of the profile to
# $BENCH_OUT_DIR/perf-TRANSPORT-KIND.txt.
profiled() {
    local out=$1 port=$2 page=$3 secs=$4 kind=$5 sync=Off pids perf_pid
    case $kind in on) sync=On ;; boff) sync=bOff ;; bon) sync=bOn ;; esac
    if [ "$BENCH_PERF" != 1 ] || [ "$out" != "round-$ROUNDS-$kind" ]; then
        measured "$out" "$port" "$page" "$secs" "$sync"
        return
    fi
    pids=$(ps -o pid= --ppid "$(cat "$D/$sync/run/httpd.pid")" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
    perf record -q -e cpu-clock -g -p "$pids" -o "perf-$kind.data" > /dev/null 2>&1 &
    perf_pid=$!
    sleep 0.5
    measured "$out" "$port" "$page" "$secs" "$sync"
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    perf report -i "perf-$kind.data" --no-children --sort dso,symbol --stdio -g none \
        > "perf-$kind.txt" 2>/dev/null || true
    {
        echo "# by library"
        perf report -i "perf-$kind.data" --no-children --sort dso --stdio -g none \
            2>/dev/null | grep '%' || true
        echo "# by function (top 40)"
        grep '%' "perf-$kind.txt" | head -n 40 || true
    } > "$BENCH_OUT_DIR/perf-$TRANSPORT-$kind.txt"
    say "profile of the httpd children ($kind): $BENCH_OUT_DIR/perf-$TRANSPORT-$kind.txt"
}

# The three runs of a round (and the warm-up, not counted).
runs() {
    local prefix=$1 secs=$2
    profiled "$prefix-static" "${PORT[Off]}" static "$secs" static
    profiled "$prefix-off" "${PORT[Off]}" verify "$secs" off
    profiled "$prefix-on" "${PORT[On]}" verify "$secs" on
    if [ -n "$BASELINE" ]; then
        profiled "$prefix-boff" "${PORT[bOff]}" verify "$secs" boff
        profiled "$prefix-bon" "${PORT[bOn]}" verify "$secs" bon
    fi
}
runs warm 1
step "$TRANSPORT: $ROUNDS rounds of ${DURATION}s (static, verify sync off, verify sync on)"
for r in $(seq 1 "$ROUNDS"); do
    runs "round-$r" "$DURATION"
    say "round $r: $(for k in static off on ${BASELINE:+boff bon}; do
        printf '%s %s req/s  ' "$k" "$(awk '$1 == "rps" { printf "%.0f", $2 }' "round-$r-$k")"
    done)"
done

lines() {
    local f n=0
    for f in "$1"/audit-*.jsonl; do
        [ -e "$f" ] && n=$((n + $(wc -l < "$f")))
    done
    echo "$n"
}
for sync in $SERVERS; do
    show "$AUDIT" verify "$D/$sync/audit" > "verify-$sync.out" 2>&1 \
        || { cat "verify-$sync.out" >&2; die "the chain is broken after the load (sync $sync)"; }
done
ok "every audit chain intact"

step "$TRANSPORT: results"
"$PYTHON" - "$TRANSPORT" "$ROUNDS" "$CONNS" "$DURATION" \
    "$(lines "$D/Off/audit")" "$(lines "$D/On/audit")" \
    "$BENCH_OUT_DIR/$TRANSPORT.md" "$BENCH_QUICK" "${FLUSH_MS:-?}" \
    "$BASELINE" "$(lines "$D/bOff/audit")" "$(lines "$D/bOn/audit")" <<'EOF'
import statistics, sys

transport, rounds, conns, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lines = {"off": int(sys.argv[5]), "on": int(sys.argv[6]),
         "boff": int(sys.argv[11]), "bon": int(sys.argv[12])}
out, quick, flush_ms = sys.argv[7], sys.argv[8] == "1", sys.argv[9]
baseline = sys.argv[10]

def parse(path):
    d = {}
    for l in open(path):
        k, v = l.split()
        d[k] = float(v)
    return d

kinds = ("static", "off", "on") + (("boff", "bon") if baseline else ())
res = {k: [parse("round-%d-%s" % (r, k)) for r in range(1, rounds + 1)]
       for k in kinds}
med = {k: {f: statistics.median(x[f] for x in res[k])
           for f in ("rps", "p50_ms", "p99_ms", "cpu_us", "switches")} for k in kinds}
fail = []
for k in kinds:
    n = sum(x["requests"] for x in res[k])
    bad = sum(x["non2xx"] + x["errors"] for x in res[k])
    if bad:
        fail.append("%s: %d failed requests of %d" % (k, bad, n))
    if k != "static":
        warm = parse("warm-%s" % k)["requests"]
        if lines[k] < n + warm:
            fail.append("sync %s: %d audit lines for %d answers"
                        % (k, lines[k], n + warm))

title = {"http": "HTTP keep-alive", "tls": "TLS 1.3, client certificate"}[transport]
label = {"static": "static file (100 bytes)", "off": "`POST /verify`, VerifyAuditSync Off",
         "on": "`POST /verify`, VerifyAuditSync On",
         "boff": "baseline `POST /verify`, VerifyAuditSync Off",
         "bon": "baseline `POST /verify`, VerifyAuditSync On"}
target = {"off": 1.0, "on": 0.7, "boff": 1.0, "bon": 0.7}
s = med["static"]
md = ["### %s" % title, "",
      "%d rounds x %s s, %s connections, medians%s." % (
          rounds, secs, conns, " (BENCH_QUICK: a check of the tooling, not a result)" if quick else ""),
      "",
      "| page | req/s | p50 | p99 | httpd CPU/request | context switches/request | req/s ratio (target) | p99 ratio (target <= 1.5) |",
      "|---|---|---|---|---|---|---|---|"]
for k in kinds:
    m = med[k]
    if k == "static":
        ratios = "— | —"
    else:
        rr, pr = m["rps"] / s["rps"], m["p99_ms"] / s["p99_ms"]
        ratios = "%.2f (>= %.1f%s) | %.2f (%s)" % (
            rr, target[k], "" if rr >= target[k] else ", **missed**",
            pr, "met" if pr <= 1.5 else "**missed**")
    md.append("| %s | %.0f | %.2f ms | %.2f ms | %.0f µs | %.1f | %s |" % (
        label[k], m["rps"], m["p50_ms"], m["p99_ms"], m["cpu_us"],
        m["switches"], ratios))
md.append("")
if baseline:
    md.append("Baseline: the module of `%s`, on two more httpds the same in all "
              "else, run right after this tree's in every round. This tree "
              "against it (medians): req/s %.2f (sync off) and %.2f (sync on); "
              "httpd CPU/request %.0f against %.0f µs (off) and %.0f against "
              "%.0f µs (on)." % (
                  baseline, med["off"]["rps"] / med["boff"]["rps"],
                  med["on"]["rps"] / med["bon"]["rps"],
                  med["off"]["cpu_us"], med["boff"]["cpu_us"],
                  med["on"]["cpu_us"], med["bon"]["cpu_us"]))
    md.append("")
md.append("httpd CPU/request: user + system time of httpd's processes "
          "(/proc) over the requests of the run; unlike req/s, it hardly "
          "depends on what else the machine runs; context switches/request: "
          "of httpd's threads (/proc/PID/task/*/status). A synchronous 600-byte "
          "write on the audit logs' file system took %s ms (`dd oflag=dsync`): "
          "with sync on, answers wait for such flushes." % flush_ms)
md.append("")
md.append("Per round (req/s, " + " / ".join(
    {"static": "static", "off": "sync off", "on": "sync on",
     "boff": "baseline off", "bon": "baseline on"}[k] for k in kinds)
    + "): " + "; ".join(
    " / ".join("%.0f" % res[k][r]["rps"] for k in kinds)
    for r in range(rounds)) + ".")
md.append("")
open(out, "w").write("\n".join(md) + "\n")
print("\n".join("    " + l for l in md))
if fail:
    for f in fail:
        print("    FAIL " + f, file=sys.stderr)
    sys.exit(1)
EOF
for sync in $SERVERS; do
    httpd_stop "$D/$sync/run/httpd.pid"
    if ! httpd_log_problems "$D/$sync/logs/error.log" > problems.txt; then
        cat problems.txt
        die "httpd logged warnings or errors (sync $sync)"
    fi
done
ok "figures in $BENCH_OUT_DIR/$TRANSPORT.md"
