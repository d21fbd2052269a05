#!/bin/bash
# bench-rss.sh -- httpd children's resident memory before and after a
# million audited POST /verify requests (issue 11: growth <= 2 MB).
#
# One private httpd (HTTP keep-alive, VerifyAuditSync Off), event MPM
# with a fixed set of children (2 x 32 threads, none stopped for being
# spare, MaxConnectionsPerChild 0), so that the same processes are
# measured before and after. A warm-up (BENCH_RSS_WARM requests) lets
# every thread, pool and page of the store that a request touches exist;
# then VmRSS and the private memory (Private_Clean + Private_Dirty of
# /proc/PID/smaps_rollup) of each child are read, BENCH_RSS_REQUESTS
# more requests are sent, and the same is read again. The growth of the
# worst child is compared with 2 MiB (2048 KiB).
#
# Environment (besides lib-bench.sh's): BENCH_RSS_REQUESTS (default
# 1000000; quick 50000), BENCH_RSS_WARM (default 100000; quick 10000),
# BENCH_CONNS (default 32).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib-bench.sh
. "$HERE/scripts/lib-bench.sh"

REQUESTS=${BENCH_RSS_REQUESTS:-$(quick 50000 1000000)}
WARM=${BENCH_RSS_WARM:-$(quick 10000 100000)}
CONNS=${BENCH_CONNS:-32}
LIMIT_KB=2048
[[ $REQUESTS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RSS_REQUESTS must be a positive number"
[[ $WARM =~ ^[1-9][0-9]*$ ]] || die "BENCH_RSS_WARM must be a positive number"
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNS must be a positive number"
need_cmd curl openssl "$PYTHON" "$HTTPD_BIN"
need_file "$MODULE" "$IMPORT" "$AUDIT" "$LOADGEN"

bench_scratch bench-rss
step "RSS: setting up in $D"
bench_store "$(quick 10000 100000)"
PORT=$(free_port)
bench_conf "$D" "$PORT" Off http "
StartServers           2
ServerLimit            2
ThreadsPerChild        32
ThreadLimit            32
MaxRequestWorkers      64
MinSpareThreads        1
MaxSpareThreads        64
MaxConnectionsPerChild 0" > httpd.conf
httpd_start "$D/httpd.conf"
bench_check_page "http://127.0.0.1:$PORT" http
PARENT=$(cat "$D/run/httpd.pid")

# snapshot FILE: "pid vmrss_kb private_kb" for each child.
snapshot() {
    local k
    for k in $(ps -o pid= --ppid "$PARENT"); do
        awk -v pid="$k" '
            FILENAME ~ /status$/ && $1 == "VmRSS:" { rss = $2 }
            FILENAME ~ /smaps_rollup$/ && ($1 == "Private_Clean:" || $1 == "Private_Dirty:") { priv += $2 }
            END { print pid, rss, priv }' "/proc/$k/status" "/proc/$k/smaps_rollup"
    done | sort -n > "$1"
}

say "warm-up: $WARM requests, $CONNS connections"
bench_load warm.out "$PORT" http verify "$CONNS" -n "$WARM"
snapshot before.txt
say "children before: $(tr '\n' ';' < before.txt)"
step "RSS: $REQUESTS audited requests"
bench_load load.out "$PORT" http verify "$CONNS" -n "$REQUESTS"
snapshot after.txt
say "children after:  $(tr '\n' ';' < after.txt)"
show "$AUDIT" verify "$D/audit" > verify.out 2>&1 \
    || { cat verify.out >&2; die "the chain is broken after the load"; }
httpd_stop "$D/run/httpd.pid"
if ! httpd_log_problems "$D/logs/error.log" > problems.txt; then
    cat problems.txt
    die "httpd logged warnings or errors"
fi

step "RSS: results"
"$PYTHON" - "$REQUESTS" "$LIMIT_KB" "$BENCH_OUT_DIR/rss.md" "$BENCH_QUICK" <<'EOF'
import sys
requests, limit, out, quick = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
def snap(p):
    return {int(a): (int(b), int(c)) for a, b, c in (l.split() for l in open(p))}
before, after = snap("before.txt"), snap("after.txt")
load = dict(l.split() for l in open("load.out"))
fail = []
if set(before) != set(after):
    fail.append("the children changed during the load: %s -> %s"
                % (sorted(before), sorted(after)))
if int(load["non2xx"]) or int(load["errors"]):
    fail.append("%s non-2xx answers, %s failed requests" % (load["non2xx"], load["errors"]))
md = ["### httpd child memory over %s requests" % format(requests, ","), "",
      "Event MPM, 2 children x 32 threads kept for the whole run, HTTP keep-alive, "
      "VerifyAuditSync Off; %s req/s during the load%s." % (
          format(round(float(load["rps"])), ","),
          " (BENCH_QUICK: fewer requests, a check of the tooling)" if quick else ""), "",
      "| child | RSS before | RSS after | growth (target <= %d KiB) | private before | private after | growth |" % limit,
      "|---|---|---|---|---|---|---|"]
worst = 0
for i, pid in enumerate(sorted(set(before) & set(after)), 1):
    (rb, pb), (ra, pa) = before[pid], after[pid]
    worst = max(worst, ra - rb)
    md.append("| %d | %d KiB | %d KiB | %+d KiB | %d KiB | %d KiB | %+d KiB |"
              % (i, rb, ra, ra - rb, pb, pa, pa - pb))
md += ["", "Worst child's RSS growth: %+d KiB (%s)." % (
    worst, "met" if worst <= limit else "**missed** by %d KiB" % (worst - limit)), ""]
open(out, "w").write("\n".join(md) + "\n")
print("\n".join("    " + l for l in md))
for f in fail:
    print("    FAIL " + f, file=sys.stderr)
sys.exit(1 if fail else 0)
EOF
ok "figures in $BENCH_OUT_DIR/rss.md"
