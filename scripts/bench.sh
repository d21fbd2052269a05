#!/bin/bash
# bench.sh -- mod_verify's throughput against Apache's own static files.
#
#   make bench            (installs what is missing, builds, runs this)
#   bash scripts/bench.sh (after `make all`)
#
# One private httpd on 127.0.0.1 (plain HTTP, LogLevel warn, no access
# log) serves both a ~100-byte static file (EnableSendfile On, EnableMMAP
# Off: Apache's fastest static path) and /verify over a store of 100,000
# imported residents. wrk alternates between the two, round after round;
# every /verify request is a real, audited query (form body, rotating over
# a few hundred IDs of the batch). At the end: medians, the ratio
# verify/static, the number of audit lines and the chain check.
#
# Environment:
#   BENCH_ROUNDS    rounds (default 3)
#   BENCH_DURATION  wrk duration of each run (default 8s)
#   BENCH_CONNS     wrk connections (default 32; threads: 2)
#   BENCH_MPM       event | prefork (default event)
#   BENCH_SYNC      On | Off: VerifyAuditSync (default: the module's default)
#   BENCH_LOCK      futex | mutex: VerifyAuditLock (default: the module's
#                   default, futex); mutex is the APR pthread mutex
#   BENCH_COUNT     residents in the store (default 100000)
#   BENCH_STATIC_LUA  1 (default): the static GETs also go through a wrk
#                   Lua request() function, as the verify POSTs must, so
#                   that wrk's own cost (it shares the CPUs) is the same on
#                   both sides; 0: plain `wrk URL` for the static file
#   BENCH_BASELINE  a directory holding another build's mod_verify.so
#                   (e.g. old main's build/): a second httpd, the same in
#                   all else, serves /verify with it, and every round runs
#                   static, verify, then verify on the baseline, so that a
#                   change is judged against the old code in one session
#   BENCH_BATCH     1 (default): each round also runs batches of 100 and
#                   of 1000 subjects (one JSON body each, VerifyBatchMax
#                   1000) right after the single queries, and the results
#                   give subjects/s beside the single queries' req/s;
#                   0: single queries only
#   BENCH_BATCH_DURATION  wrk duration of each batch run (default 4s)
#   BENCH_BATCH_CONNS     wrk connections of the batch runs (default 8)
#   BENCH_KEEP=1    keep the scratch directory
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib-httpd.sh
. "$HERE/scripts/lib-httpd.sh"


ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-8s}
CONNS=${BENCH_CONNS:-32}
THREADS=2
MPM=${BENCH_MPM:-event}
SYNC=${BENCH_SYNC:-}
LOCK=${BENCH_LOCK:-}
COUNT=${BENCH_COUNT:-100000}
STATIC_LUA=${BENCH_STATIC_LUA:-1}
N_IDS=300
BATCH=${BENCH_BATCH:-1}
BATCH_DURATION=${BENCH_BATCH_DURATION:-4s}
BATCH_CONNS=${BENCH_BATCH_CONNS:-8}

case $MPM in event|prefork|worker) ;; *) die "BENCH_MPM must be event or prefork" ;; esac
case $SYNC in ""|On|Off|on|off) ;; *) die "BENCH_SYNC must be On or Off" ;; esac
case $LOCK in ""|futex|mutex) ;; *) die "BENCH_LOCK must be futex or mutex" ;; esac
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number"
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNS must be a positive number"
[ "$CONNS" -ge "$THREADS" ] || die "BENCH_CONNS must be at least $THREADS"
[[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_DURATION: e.g. 8s"
case $BATCH in 0|1) ;; *) die "BENCH_BATCH must be 0 or 1" ;; esac
[[ $BATCH_DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_BATCH_DURATION: e.g. 4s"
[[ $BATCH_CONNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_BATCH_CONNS must be a positive number"
[ "$BATCH_CONNS" -ge "$THREADS" ] || die "BENCH_BATCH_CONNS must be at least $THREADS"

need_cmd wrk curl openssl "$PYTHON" "$HTTPD_BIN"
need_file "$MODULE" "$IMPORT" "$AUDIT"
BASELINE=${BENCH_BASELINE:-}
if [ -n "$BASELINE" ]; then
    need_file "$BASELINE/mod_verify.so"
fi

D=$(scratch_dir verify-bench)
cleanup() {
    local rc=$?
    httpd_stop_all
    if [ $rc -ne 0 ] && [ -s "$D/logs/error.log" ]; then
        echo "--- httpd error log (last lines) ---" >&2
        tail -n 20 "$D/logs/error.log" >&2
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "scratch directory kept: $D"
    else
        rm -rf "$D"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$D"

step "Setting up in $D"
openssl rand -hex 32 > pseudonym.key
chmod 0400 pseudonym.key
"$PYTHON" "$HERE/scripts/gen-household.py" --count "$COUNT" --seed bench \
    --out household.csv --print-sample "$N_IDS" > ids.txt
mkdir -p store
chmod 0750 store
# the store's snapshots are root's; the children's group may read them
GROUP_ARGS=()
if is_root; then
    GROUP_ARGS=(--group "$HTTPD_USER")
fi
# a plain CSV: what is measured is answering, not intake (--allow-plain;
# the baseline's importer below predates strict intake and needs none)
"$IMPORT" --store "$D/store" --key "$D/pseudonym.key" \
    "${GROUP_ARGS[@]+"${GROUP_ARGS[@]}"}" --source household --keep-input \
    --allow-plain "$D/household.csv" > import.out 2>&1 \
    || { cat import.out >&2; die "verify-import failed"; }
say "$COUNT synthetic residents imported"
if [ -n "$BASELINE" ]; then
    # The baseline reads the store layout of its own build: its own
    # importer makes its store (builds before snapshots read data.mdb
    # in the directory itself), readable by httpd's group as above (a
    # snapshot store's permissions are not fixed up by httpd).
    need_file "$BASELINE/verify-import"
    mkdir -p base-store
    chmod 0750 base-store
    "$BASELINE/verify-import" --store "$D/base-store" \
        --key "$D/pseudonym.key" \
        "${GROUP_ARGS[@]+"${GROUP_ARGS[@]}"}" --source household --keep-input \
        "$D/household.csv" > base-import.out 2>&1 \
        || { cat base-import.out >&2; die "baseline verify-import failed"; }
fi

mkdir -p htdocs
chmod 0755 htdocs
# A 100-byte static file.
printf '%-99s\n' "mod_verify bench: a small static file for Apache's core handler" \
    > htdocs/static.txt
[ "$(wc -c < htdocs/static.txt)" -eq 100 ] || die "static file is not 100 bytes"
chmod 0644 htdocs/static.txt

# bench_conf ROOT MODULE PORT STORE: one server's configuration.
bench_conf() {
    httpd_conf_base "$1" "$MPM" authz_core authz_host "$2"
    cat <<EOF
Listen 127.0.0.1:$3

# The same server, settings and logging for both paths: no access log.
KeepAlive            On
MaxKeepAliveRequests 0
EnableSendfile       On
EnableMMAP           Off

<IfModule mpm_prefork_module>
    ServerLimit         $((CONNS * 2 + 16))
    StartServers        $((CONNS + 8))
    MinSpareServers     $((CONNS + 8))
    MaxSpareServers     $((CONNS * 2 + 16))
    MaxRequestWorkers   $((CONNS * 2 + 16))
</IfModule>

VerifyStore    "$4"
VerifyKeyFile  "$D/pseudonym.key"
VerifyAuditLog "$1/audit"
EOF
    if [ "$BATCH" = 1 ] && [ "$1" = "$D" ]; then
        echo "VerifyBatchMax 1000"
    fi
    if [ -n "$SYNC" ]; then
        echo "VerifyAuditSync $SYNC"
    fi
    if [ -n "$LOCK" ]; then
        echo "VerifyAuditLock $LOCK"
    fi
    cat <<EOF

DocumentRoot "$D/htdocs"
<Directory />
    Require all denied
    AllowOverride None
</Directory>
<Directory "$D/htdocs">
    Require all granted
</Directory>

# Plain HTTP on loopback: the client is known by its address.
VerifyClient bench ip=127.0.0.1 checks=resident approval=BENCH-1 \\
    valid=$(taipei_date "-1 year")..$(taipei_date "+1 year")
<Location /verify>
    SetHandler verify
    Require ip 127.0.0.1
</Location>
EOF
}

PORT=$(free_port)
bench_conf "$D" "$MODULE" "$PORT" "$D/store" > httpd.conf
if [ -n "$BASELINE" ]; then
    mkdir -p "$D/base"
    chmod 0755 "$D/base"
    BASE_PORT=$(free_port)
    bench_conf "$D/base" "$BASELINE/mod_verify.so" "$BASE_PORT" \
        "$D/base-store" > base.conf
fi

# The wrk script: POST an audited query, rotating over IDs of the batch.
{
    echo "local ids = {"
    sed 's/.*/  "&",/' ids.txt
    cat <<'EOF'
}
local reqs = {}
local n = #ids
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

function init(args)
    for k, id in ipairs(ids) do
        reqs[k] = wrk.format(nil, nil, nil,
            "id=" .. id .. "&check=resident&case=BENCH-2026-000001" ..
            "&reason=throughput+benchmark&operator=bench.runner")
    end
    i = math.random(n) - 1
end

function request()
    i = i % n + 1
    return reqs[i]
end
EOF
} > verify.lua

# batch_lua N: the wrk script of batches of N subjects (one JSON body,
# the same shared fields as the single query), eight bodies each
# starting at another place in the IDs.
batch_lua() {
    echo "local ids = {"
    sed 's/.*/  "&",/' ids.txt
    echo "}"
    echo "local size = $1"
    cat <<'EOF'
local reqs = {}
local n = #ids
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
    for k = 1, 8 do
        local subs = {}
        for j = 1, size do
            subs[j] = '{"id":"' .. ids[(k * 37 + j) % n + 1] .. '"}'
        end
        reqs[k] = wrk.format(nil, nil, nil,
            '{"check":"resident","case":"BENCH-2026-000001",' ..
            '"reason":"throughput benchmark","operator":"bench.runner",' ..
            '"subjects":[' .. table.concat(subs, ",") .. ']}')
    end
    i = math.random(8) - 1
end

function request()
    i = i % 8 + 1
    return reqs[i]
end
EOF
}
BATCH_SIZES=()
if [ "$BATCH" = 1 ]; then
    BATCH_SIZES=(100 1000)
    for size in "${BATCH_SIZES[@]}"; do
        batch_lua "$size" > "batch-$size.lua"
        "$PYTHON" - "$size" > "batch-$size.json" <<'EOF'
import json, sys
ids = [l.strip() for l in open("ids.txt")]
n = int(sys.argv[1])
print(json.dumps({"check": "resident", "case": "BENCH-2026-000001",
                  "reason": "throughput benchmark",
                  "operator": "bench.runner",
                  "subjects": [{"id": ids[j % len(ids)]}
                               for j in range(n)]}))
EOF
    done
fi

# The static script: the same Lua request() path, a fixed GET.
cat > static.lua <<'EOF'
local req
function init(args)
    req = wrk.format("GET", "/static.txt")
end
function request()
    return req
end
EOF
STATIC_ARGS=()
if [ "$STATIC_LUA" = 1 ]; then
    STATIC_ARGS=(-s static.lua)
fi

httpd_start "$D/httpd.conf"
BASE=http://127.0.0.1:$PORT
if [ -n "$BASELINE" ]; then
    httpd_start "$D/base.conf"
    OLD=http://127.0.0.1:$BASE_PORT
    code=$(curl -sS -o base.out -w '%{http_code}' \
        -d "id=$(head -n 1 ids.txt)&check=resident&case=BENCH-2026-000001&reason=throughput+benchmark&operator=bench.runner" \
        "$OLD/verify") || code=000
    [ "$code" = 200 ] || { cat base.out >&2; die "baseline POST /verify: HTTP $code"; }
    say "baseline module: $BASELINE/mod_verify.so on $OLD"
fi
code=$(curl -sS -o static.out -w '%{http_code}' "$BASE/static.txt") || code=000
[ "$code" = 200 ] || die "GET /static.txt: HTTP $code"
code=$(curl -sS -o verify.out -w '%{http_code}' \
    -d "id=$(head -n 1 ids.txt)&check=resident&case=BENCH-2026-000001&reason=throughput+benchmark&operator=bench.runner" \
    "$BASE/verify") || code=000
[ "$code" = 200 ] || { cat verify.out >&2; die "POST /verify: HTTP $code"; }
grep -q '"resident":true' verify.out || { cat verify.out >&2; die "POST /verify: not a resident?"; }
say "httpd $("$HTTPD_BIN" -v | sed -n 's/^Server version: //p'), MPM $MPM, on $BASE"
say "keep-alive (unlimited), EnableSendfile On, EnableMMAP Off, LogLevel warn,"
say "no access log; VerifyAuditSync ${SYNC:-not set (module default)};"
say "VerifyAuditLock ${LOCK:-not set (module default: futex)}"
say "wrk -t$THREADS -c$CONNS -d$DURATION --latency"
say "$(nproc) CPUs; wrk runs on the same machine as httpd"
if [ "$STATIC_LUA" = 1 ]; then
    say "both sides through a wrk Lua request() function (BENCH_STATIC_LUA=1)"
else
    say "static: plain wrk; verify: wrk Lua script (BENCH_STATIC_LUA=0)"
fi

# Warm up both paths (not counted).
wrk -t"$THREADS" -c"$CONNS" -d2s "${STATIC_ARGS[@]+"${STATIC_ARGS[@]}"}" \
    "$BASE/static.txt" > warm-static.txt
wrk -t"$THREADS" -c"$CONNS" -d2s -s verify.lua "$BASE/verify" > warm-verify.txt
if [ -n "$BASELINE" ]; then
    wrk -t"$THREADS" -c"$CONNS" -d2s -s verify.lua "$OLD/verify" > warm-base.txt
fi
for size in "${BATCH_SIZES[@]+"${BATCH_SIZES[@]}"}"; do
    code=$(curl -sS -o batch.out -w '%{http_code}' \
        -H 'Content-Type: application/json' \
        --data-binary "@batch-$size.json" "$BASE/verify") || code=000
    [ "$code" = 200 ] || { head -c 400 batch.out >&2; die "a batch of $size: HTTP $code"; }
    [ "$(grep -o '"resident":true' batch.out | wc -l)" -eq "$size" ] \
        || die "a batch of $size: not $size residents answered"
    wrk -t"$THREADS" -c"$BATCH_CONNS" -d2s -s "batch-$size.lua" \
        "$BASE/verify" > "warm-batch-$size.txt"
done
if [ "$BATCH" = 1 ]; then
    say "then batches of ${BATCH_SIZES[*]} subjects each round:" \
        "wrk -t$THREADS -c$BATCH_CONNS -d$BATCH_DURATION"
fi

step "Running $ROUNDS rounds of $DURATION each (static, then verify)"
for r in $(seq 1 "$ROUNDS"); do
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
        "${STATIC_ARGS[@]+"${STATIC_ARGS[@]}"}" \
        "$BASE/static.txt" > "round-$r-static.txt"
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s verify.lua \
        "$BASE/verify" > "round-$r-verify.txt"
    if [ -n "$BASELINE" ]; then
        wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s verify.lua \
            "$OLD/verify" > "round-$r-base.txt"
    fi
    for size in "${BATCH_SIZES[@]+"${BATCH_SIZES[@]}"}"; do
        wrk -t"$THREADS" -c"$BATCH_CONNS" -d"$BATCH_DURATION" --latency \
            -s "batch-$size.lua" "$BASE/verify" > "round-$r-batch-$size.txt"
    done
    say "round $r done"
done

step "Results"
shopt -s nullglob
audit_files=("$D"/audit/audit-*.jsonl)
shopt -u nullglob
AUDIT_LINES=0
if [ ${#audit_files[@]} -gt 0 ]; then
    AUDIT_LINES=$(cat "${audit_files[@]}" | wc -l)
fi
"$PYTHON" - "$ROUNDS" "$AUDIT_LINES" "${BASELINE:+1}" \
    "${BATCH_SIZES[@]+"${BATCH_SIZES[@]}"}" <<'EOF'
import re, statistics, sys

rounds, audit_lines = int(sys.argv[1]), int(sys.argv[2])
baseline = sys.argv[3] == "1"
sizes = [int(x) for x in sys.argv[4:]]
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}

def parse(path):
    text = open(path).read()
    out = {"rps": None, "p99": None, "n": 0, "bad": 0, "err": 0}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        out["rps"] = float(m.group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M)
    if m:
        out["p99"] = float(m.group(1)) * UNIT[m.group(2)]
    m = re.search(r"^\s+(\d+) requests in", text, re.M)
    if m:
        out["n"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        out["bad"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", text)
    if m:
        out["err"] = sum(int(x) for x in m.groups())
    if out["rps"] is None or out["p99"] is None:
        sys.exit("cannot parse wrk output in %s:\n%s" % (path, text))
    return out

res = [(parse("round-%d-static.txt" % r), parse("round-%d-verify.txt" % r))
       for r in range(1, rounds + 1)]
head = ("round", "static req/s", "static p99", "verify req/s", "verify p99")
print("    %-6s %14s %12s %14s %12s" % head)
for r, (s, v) in enumerate(res, 1):
    print("    %-6d %14.0f %10.2fms %14.0f %10.2fms"
          % (r, s["rps"], s["p99"], v["rps"], v["p99"]))
ms = statistics.median(s["rps"] for s, _ in res)
mv = statistics.median(v["rps"] for _, v in res)
ps = statistics.median(s["p99"] for s, _ in res)
pv = statistics.median(v["p99"] for _, v in res)
print("    %-6s %14.0f %10.2fms %14.0f %10.2fms" % ("median", ms, ps, mv, pv))
print()
print("    verify/static (median req/s): %.2f" % (mv / ms))
if baseline:
    base = [parse("round-%d-base.txt" % r) for r in range(1, rounds + 1)]
    mb = statistics.median(b["rps"] for b in base)
    pb = statistics.median(b["p99"] for b in base)
    print("    baseline verify, by round (req/s):",
          " ".join("%.0f" % b["rps"] for b in base))
    print("    baseline verify (median): %.0f req/s, p99 %.2fms"
          % (mb, pb))
    print("    baseline/static (median req/s): %.2f" % (mb / ms))
    print("    verify/baseline (median req/s): %.2f" % (mv / mb))

batches = {n: [parse("round-%d-batch-%d.txt" % (r, n))
                 for r in range(1, rounds + 1)] for n in sizes}
for n, runs in batches.items():
    subj = [b["rps"] * n for b in runs]
    print("    batch of %4d: subjects/s by round: %s" % (
        n, " ".join("%.0f" % x for x in subj)))
    print("    batch of %4d: median %.0f subjects/s (%.1f batches/s, p99 "
          "%.2fms), %.2f x the single queries' median req/s" % (
              n, statistics.median(subj),
              statistics.median(b["rps"] for b in runs),
              statistics.median(b["p99"] for b in runs),
              statistics.median(subj) / mv))

fail = False
# Any non-2xx answer fails the run. A few socket errors (a keep-alive
# connection closed by the server as its children turn over) are
# reported; above 0.1 % of the requests they fail it too.
for side, idx in (("static", 0), ("verify", 1)):
    bad = sum(x[idx]["bad"] for x in res)
    err = sum(x[idx]["err"] for x in res)
    n = sum(x[idx]["n"] for x in res)
    if bad or err:
        print("    %s: %d non-2xx responses, %d socket errors in %d "
              "requests" % (side, bad, err, n), file=sys.stderr)
    if bad or err > n / 1000:
        fail = True
for n, runs in batches.items():
    bad = sum(b["bad"] for b in runs)
    if bad:
        print("    batch of %d: %d non-2xx responses" % (n, bad),
              file=sys.stderr)
        fail = True
done = sum(v["n"] for _, v in res) + sum(
    b["n"] * n for n, runs in batches.items() for b in runs)
print("    audit lines written: %d (the timed runs completed %d /verify "
      "queries, each subject of a batch one; warm-up and checks add the "
      "rest)" % (audit_lines, done))
if audit_lines < done:
    print("    fewer audit lines than answered requests!", file=sys.stderr)
    fail = True
sys.exit(1 if fail else 0)
EOF

step "Memory after the load"
# Resident memory of the parent and its children (the store is mapped
# read-only and shared; the chain's state is one small shared segment).
ppid=$(cat "$D/run/httpd.pid")
kids=$(ps -o pid= --ppid "$ppid" | tr -s ' \n' ' ')
say "httpd parent: $(ps -o rss= -p "$ppid" | tr -d ' ') KiB RSS;" \
    "children:$(for k in $kids; do printf ' %s' \
        "$(ps -o rss= -p "$k" | tr -d ' ')"; done) KiB RSS"
say "store data.mdb: $(du -k "$D/store/current/data.mdb" | cut -f1) KiB on disk for" \
    "$COUNT residents"

step "The audit chain after the load"
show "$AUDIT" verify "$D/audit" 2>&1 | tail -n 5 | indent \
    || die "verify-audit verify failed: the chain is broken after the load"
ok "chain intact"

httpd_stop "$D/run/httpd.pid"
logs=("$D/logs/error.log")
if [ -n "$BASELINE" ]; then
    httpd_stop "$D/base/run/httpd.pid"
    logs+=("$D/base/logs/error.log")
fi
for log in "${logs[@]}"; do
    if ! httpd_log_problems "$log" > problems.txt; then
        say "httpd error log $log, warnings and errors:"
        cat problems.txt
        die "httpd logged warnings or errors during the bench"
    fi
done
