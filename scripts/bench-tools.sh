#!/bin/bash
# bench-tools.sh -- `verify-audit verify` (on one thread, and on its
# default: one a CPU), `sample` and `report`, lines/s over 10 million
# audit lines.
#
# scripts/gen-audit.py writes one Taipei month (October 2026) of
# BENCH_TOOLS_LINES query lines (default 1,000,000: about 40 s of Python)
# with signed checkpoints and the month checkpoint; the month is then
# hard-linked into BENCH_TOOLS_COPIES audit directories (default 10: ten
# months' worth of files, 10 million lines, one copy on disk and in the
# page cache). Each copy is a whole, valid log. Every round runs each
# command over every copy in turn (verify, then sample --month, then
# report --month, all with the verifier key); lines/s = lines read / wall
# seconds, the median over the rounds. CPU seconds (user + system) are
# given beside it, since wall time follows the machine's other load.
#
# What the copies do not show: one month of 10 million lines (sample's
# and report's per-query state grows with the month). For that:
# BENCH_TOOLS_LINES=10000000 BENCH_TOOLS_COPIES=1 (generation ~6 min).
#
# Environment (besides lib-bench.sh's): BENCH_TOOLS_LINES (quick 20000),
# BENCH_TOOLS_COPIES (quick 3). The data is in a scratch directory under
# $TMPDIR or /tmp (about 600 MB per million lines), removed at the end.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib-bench.sh
. "$HERE/scripts/lib-bench.sh"

LINES=${BENCH_TOOLS_LINES:-$(quick 20000 1000000)}
COPIES=${BENCH_TOOLS_COPIES:-$(quick 3 10)}
[[ $LINES =~ ^[1-9][0-9]*$ ]] || die "BENCH_TOOLS_LINES must be a positive number"
[[ $COPIES =~ ^[1-9][0-9]*$ ]] || die "BENCH_TOOLS_COPIES must be a positive number"
need_cmd "$PYTHON"
need_file "$AUDIT"

bench_scratch bench-tools
step "tools: a month of $LINES query lines, $COPIES copies"
"$PYTHON" "$HERE/scripts/gen-audit.py" --month 2026-10 --lines "$LINES" \
    --out "$D/month" | indent
mv "$D/month/verifier" "$D/verifier"
for c in $(seq 1 "$COPIES"); do
    mkdir "$D/copy-$c"
    ln "$D"/month/audit-*.jsonl "$D/copy-$c/"
done
PER_COPY=$(cat "$D"/month/audit-*.jsonl | wc -l)
say "$PER_COPY lines a copy (with start and checkpoint lines), $((PER_COPY * COPIES)) in all;" \
    "$(du -sh "$D/month" | cut -f1) on disk"

# timed THREADS CMD ARGS...: run the command on every copy with
# VERIFY_AUDIT_THREADS=THREADS ("" for the default); "wall cpu" seconds.
timed() {
    local c t0 t1 cpu=0 t threads=$1
    shift
    t0=$(date +%s.%N)
    for c in $(seq 1 "$COPIES"); do
        /usr/bin/time -o "$D/time.txt" -f "%U %S" \
            env ${threads:+VERIFY_AUDIT_THREADS=$threads} "$AUDIT" "$@" "$D/copy-$c" \
            > "$D/out.txt" 2> "$D/err.txt" \
            || { cat "$D/err.txt" >&2; die "verify-audit $1 failed on copy $c"; }
        t=$(tail -n 1 "$D/time.txt")
        cpu=$(awk -v a="$cpu" -v t="$t" 'BEGIN { split(t, x, " "); print a + x[1] + x[2] }')
    done
    t1=$(date +%s.%N)
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $cpu"
}

step "tools: $ROUNDS rounds (verify on 1 thread and on the default, sample, report over $COPIES copies)"
: > times.txt
for r in $(seq 1 "$ROUNDS"); do
    for cmd in verify-1 verify sample report; do
        threads=
        case $cmd in
            verify-1) args=(verify --verifier "$D/verifier"); threads=1 ;;
            verify) args=(verify --verifier "$D/verifier") ;;
            sample) args=(sample --month 2026-10 --verifier "$D/verifier") ;;
            report) args=(report --month 2026-10 --verifier "$D/verifier" \
                          --output "$D/report.html") ;;
        esac
        t=$(timed "$threads" "${args[@]}")
        echo "$cmd $t" >> times.txt
        say "round $r: $cmd: wall ${t% *} s, cpu ${t#* } s"
    done
done

step "tools: results"
"$PYTHON" - "$((PER_COPY * COPIES))" "$COPIES" "$LINES" "$ROUNDS" \
    "$BENCH_OUT_DIR/tools.md" "$BENCH_QUICK" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import statistics, sys
total, copies, lines, rounds, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
quick, load = sys.argv[6] == "1", sys.argv[7]
t = {}
for l in open("times.txt"):
    cmd, wall, cpu = l.split()
    t.setdefault(cmd, []).append((float(wall), float(cpu)))
md = ["### verify-audit over %s lines" % format(total, ","), "",
      "One month of %s query lines (`scripts/gen-audit.py`) hard-linked into %d audit "
      "directories; %d rounds, medians; load average at the end %s%s." % (
          format(lines, ","), copies, rounds, load,
          " (BENCH_QUICK: small data, a check of the tooling)" if quick else ""), "",
      "| command | wall s | lines/s (wall) | CPU s | lines/s (CPU) |", "|---|---|---|---|---|"]
label = {"verify-1": "VERIFY_AUDIT_THREADS=1 verify-audit verify",
         "verify": "verify-audit verify"}
for cmd in ("verify-1", "verify", "sample", "report"):
    wall = statistics.median(w for w, _ in t[cmd])
    cpu = statistics.median(c for _, c in t[cmd])
    md.append("| `%s` | %.2f | %s | %.2f | %s |" % (
        label.get(cmd, "verify-audit " + cmd), wall, format(round(total / wall), ","), cpu,
        format(round(total / cpu), ",") if cpu > 0 else "—"))
md.append("")
open(out, "w").write("\n".join(md) + "\n")
print("\n".join("    " + l for l in md))
EOF
ok "figures in $BENCH_OUT_DIR/tools.md"
