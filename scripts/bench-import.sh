#!/bin/bash
# bench-import.sh -- verify-import at national scale against mdb_load.
#
#   make bench                  (this runs after bench.sh and bench-sample.sh)
#   bash scripts/bench-import.sh   (after `make all unit`)
#
# Generates a plain household batch of IMPORT_COUNT records (23.5 million:
# Taiwan's population) with build/gen-household-fast, then, round after
# round, imports it into a store (a new snapshot each time, the batch
# kept: --keep-input) and loads the same records -- the household
# database of the snapshot the first import made, as mdb_dump writes it
# -- into an empty LMDB file with `mdb_load`, LMDB's own loader, under
# eatmydata: as Debian ships it (LMDB 0.9.24) mdb_load commits, with an
# fdatasync, every 100 records, which at national scale takes the better
# part of an hour; without those syncs it shows LMDB's raw speed, which
# no crash-safe import can claim (IMPORT_SYNCED_LOAD=1 times the synced
# one as well). Each run starts after a `sync` (the dirty pages the runs
# before left, up to 1.5 GB, are written back then, not by the kernel's
# flushers during the run) and is timed by /usr/bin/time: wall clock, CPU
# (user + system) and peak RSS. At the end: medians, records/s end to end
# (wall clock, and per CPU second for a machine shared with other work)
# and the ratio to mdb_load.
#
# What the importer does that mdb_load does not: read and check the CSV
# (UTF-8, IDs, dates, names in their normal form), two keyed hashes per
# record, spill and sort by key, fsync the snapshot and publish it.
#
# Environment:
#   IMPORT_COUNT   records (default 23500000)
#   IMPORT_THREADS the importer's --threads, one run each per round, e.g.
#                  "1 2" (default: "1" and the importer's default, the
#                  CPUs online, when there are more than one)
#   IMPORT_ROUNDS  rounds (default 2)
#   IMPORT_SYNCED_LOAD  1: also mdb_load with its own syncs (slow)
#   IMPORT_CMS     1 (default): the same batch signed and encrypted as the
#                  provider sends it (openssl cms, RSA, AES-256-CBC) and
#                  imported too, each round (its peak RSS is stated, not
#                  held to IMPORT_RSS_MB: issue 10 bounds the plain CSV);
#                  0: plain only
#   IMPORT_RSS_MB  fail if the importer's peak RSS reaches this (default
#                  2048: the 2 GB of issue 10)
#   IMPORT_DIR     where the scratch directory goes (default $TMPDIR or
#                  /tmp; needs about 12 GB at the default count)
#   BENCH_KEEP=1   keep the scratch directory
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib-httpd.sh
. "$HERE/scripts/lib-httpd.sh"

COUNT=${IMPORT_COUNT:-23500000}
CPUS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
if [ -z "${IMPORT_THREADS:-}" ]; then
    IMPORT_THREADS=1
    [ "$CPUS" -gt 1 ] && IMPORT_THREADS="1 $(( CPUS > 8 ? 8 : CPUS ))"
fi
ROUNDS=${IMPORT_ROUNDS:-2}
RSS_MB=${IMPORT_RSS_MB:-2048}
SYNCED=${IMPORT_SYNCED_LOAD:-0}
CMS=${IMPORT_CMS:-1}
GEN="$HERE/build/gen-household-fast"

[[ $COUNT =~ ^[1-9][0-9]*$ ]] || die "IMPORT_COUNT must be a positive number"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "IMPORT_ROUNDS must be a positive number"
[[ $RSS_MB =~ ^[1-9][0-9]*$ ]] || die "IMPORT_RSS_MB must be a positive number"
[[ $CMS =~ ^[01]$ ]] || die "IMPORT_CMS must be 0 or 1"
for t in $IMPORT_THREADS; do
    [[ $t =~ ^[1-8]$ ]] || die "IMPORT_THREADS: each from 1 to 8"
done
need_cmd mdb_load mdb_dump openssl eatmydata
need_file "$IMPORT" /usr/bin/time
[ -x "$GEN" ] || make -C "$HERE" build/gen-household-fast >/dev/null
need_file "$GEN"

D=$(TMPDIR=${IMPORT_DIR:-${TMPDIR:-/tmp}} scratch_dir verify-bench-import)
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
trap 'exit 130' INT TERM
cd "$D"

# the load average now (other work on the machine skews the wall clock)
load() { cut -d' ' -f1-3 /proc/loadavg; }

# "wall user sys maxrss_kb" of a command (its output to $1.out)
timed() {
    local name=$1; shift
    # each run before leaves up to 1.5 GB of dirty pages (a snapshot, a
    # load's file, the CMS batch): written back now, outside the timing,
    # not by the kernel's flusher threads on the CPUs of the next run
    sync
    /usr/bin/time -f '%e %U %S %M' -o "$name.time" "$@" > "$name.out" 2>&1 \
        || { tail -5 "$name.out" >&2; die "$name failed"; }
    cat "$name.time"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] \
                                          : (a[NR/2]+a[NR/2+1])/2}'; }

step "Generating $COUNT household records in $D"
openssl rand -hex 32 > pseudonym.key
chmod 0400 pseudonym.key
t0=$(date +%s%N)
"$GEN" "$COUNT" 10 > household.csv 2>/dev/null
say "$(du -h household.csv | cut -f1) of CSV in $(( ($(date +%s%N) - t0) \
    / 1000000 )) ms"

# The provider's signing certificate and the county's import certificate
# (S/MIME usage, RSA 2048), and the batch as the provider sends it.
cms_pki() {
    local n
    for n in provider county; do
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$n-ca.key" \
            -out "$n-ca.crt" -subj "/O=Bench PKI/CN=Bench $n CA" \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        printf '%s\n' "basicConstraints = CA:FALSE" \
            "keyUsage = critical, digitalSignature, keyEncipherment" \
            "extendedKeyUsage = emailProtection" > "$n.ext"
        openssl req -new -newkey rsa:2048 -nodes -keyout "$n.key" \
            -out "$n.csr" -subj "/O=Bench $n/CN=Bench $n" 2>/dev/null
        openssl x509 -req -in "$n.csr" -CA "$n-ca.crt" -CAkey "$n-ca.key" \
            -CAcreateserial -days 2 -extfile "$n.ext" -out "$n.crt" 2>/dev/null
        chmod 0600 "$n.key"
    done
}
if [ "$CMS" = 1 ]; then
    step "Signing and encrypting the batch (openssl cms)"
    cms_pki
    t0=$(date +%s%N)
    openssl cms -sign -binary -nodetach -in household.csv -signer provider.crt \
        -inkey provider.key -outform DER -out household.signed
    openssl cms -encrypt -binary -aes-256-cbc -in household.signed -inform DER \
        -outform DER -out household.p7m county.crt
    rm -f household.signed
    say "$(du -h household.p7m | cut -f1) of CMS in $(( ($(date +%s%N) - t0) \
        / 1000000 )) ms"
    APPROVED=$(date -d '+1 year' +%Y-%m-%d)
fi

: > load.runs
: > nosync.runs
: > cms.runs
for t in $IMPORT_THREADS; do : > "import-$t.runs"; done
for r in $(seq 1 "$ROUNDS"); do
    step "Round $r of $ROUNDS"
    for t in $IMPORT_THREADS; do
        l=$(load)
        res=$(timed import "$IMPORT" --store "$D/store" \
              --key "$D/pseudonym.key" --source household --allow-plain \
              --keep-input --force --threads "$t" "$D/household.csv")
        echo "$res" >> "import-$t.runs"
        set -- $res
        say "verify-import --threads $t: $1 s wall, $2 s user, $3 s sys," \
            "peak RSS $(( $4 / 1024 )) MB (load average before: $l)"
        grep -q "\"records\":$COUNT," import.out \
            || die "import: not $COUNT records"
    done
    if [ "$CMS" = 1 ]; then
        l=$(load)
        res=$(timed cms "$IMPORT" --store "$D/store" \
              --key "$D/pseudonym.key" --source household \
              --decrypt-cert county.crt --decrypt-key county.key \
              --signer-ca provider-ca.crt --approved-until "$APPROVED" \
              --keep-input --force "$D/household.p7m")
        echo "$res" >> cms.runs
        set -- $res
        say "verify-import, CMS batch: $1 s wall, $2 s user, $3 s sys," \
            "peak RSS $(( $4 / 1024 )) MB (load average before: $l)"
        grep -q "\"records\":$COUNT," cms.out \
            || die "import of the CMS batch: not $COUNT records"
    fi
    if [ ! -e household.dump ]; then
        # the same records, as LMDB's own tools carry them
        mdb_dump -n -s household "$D/store/current/data.mdb" > household.dump
    fi
    if [ "$SYNCED" = 1 ]; then
        rm -f loaded.mdb loaded.mdb-lock
        l=$(load)
        res=$(timed load mdb_load -n -s household -f household.dump \
              loaded.mdb)
        echo "$res" >> load.runs
        set -- $res
        say "mdb_load:      $1 s wall, $2 s user, $3 s sys, peak RSS" \
            "$(( $4 / 1024 )) MB (load average before: $l)"
    fi
    rm -f loaded.mdb loaded.mdb-lock
    l=$(load)
    res=$(timed nosync eatmydata mdb_load -n -s household -f household.dump \
          loaded.mdb)
    echo "$res" >> nosync.runs
    set -- $res
    say "mdb_load, no fsync: $1 s wall, $2 s user, $3 s sys (load average" \
        "before: $l)"
    rm -f loaded.mdb loaded.mdb-lock
done

step "Results ($COUNT records, medians of $ROUNDS rounds)"
[ -s load.runs ] || echo "0 0 0 0" > load.runs
lw=$(awk '{print $1}' load.runs | median)
lc=$(awk '{print $2 + $3}' load.runs | median)
lr=$(awk '{print $4}' load.runs | sort -n | tail -1)
nw=$(awk '{print $1}' nosync.runs | median)
nc=$(awk '{print $2 + $3}' nosync.runs | median)
nr=$(awk '{print $4}' nosync.runs | sort -n | tail -1)
printf "    %-20s %10s %10s %14s %14s %10s\n" "" "wall s" "CPU s" \
       "records/s" "rec/CPU s" "peak RSS"
ir=0
best=0
for t in $IMPORT_THREADS; do
    iw=$(awk '{print $1}' "import-$t.runs" | median)
    ic=$(awk '{print $2 + $3}' "import-$t.runs" | median)
    r=$(awk '{print $4}' "import-$t.runs" | sort -n | tail -1)
    [ "$r" -gt "$ir" ] && ir=$r
    awk -v n="$COUNT" -v w="$iw" -v c="$ic" -v r="$r" -v t="$t" 'BEGIN {
        printf "    %-20s %10.1f %10.1f %14.0f %14.0f %7.0f MB\n",
               "verify-import -j" t, w, c, n / w, n / c, r / 1024 }'
    best=$(awk -v a="$best" -v n="$COUNT" -v w="$iw" \
           'BEGIN { print (n / w > a) ? n / w : a }')
    iwlast=$iw
    iclast=$ic
done
if [ -s cms.runs ]; then
    cw=$(awk '{print $1}' cms.runs | median)
    cc=$(awk '{print $2 + $3}' cms.runs | median)
    cr=$(awk '{print $4}' cms.runs | sort -n | tail -1)
    awk -v n="$COUNT" -v w="$cw" -v c="$cc" -v r="$cr" 'BEGIN {
        printf "    %-20s %10.1f %10.1f %14.0f %14.0f %7.0f MB\n",
               "verify-import CMS", w, c, n / w, n / c, r / 1024 }'
fi
awk -v n="$COUNT" -v iw="$iwlast" -v ic="$iclast" -v lw="$lw" -v lc="$lc" \
    -v lr="$lr" -v nw="$nw" -v nc="$nc" -v nr="$nr" 'BEGIN {
    if (lw > 0)
        printf "    %-20s %10.1f %10.1f %14.0f %14.0f %7.0f MB\n",
               "mdb_load", lw, lc, n / lw, n / lc, lr / 1024
    printf "    %-20s %10.1f %10.1f %14.0f %14.0f %7.0f MB\n",
           "mdb_load nosync", nw, nc, n / nw, n / nc, nr / 1024
    if (lw > 0)
        printf "    verify-import (last row): %.2fx the speed of mdb_load " \
               "(wall)\n", lw / iw
    printf "    verify-import (last row): %.2fx the speed of mdb_load " \
           "without fsync (wall), %.2fx (CPU)\n", nw / iw, nc / ic
}'
say "load average now: $(load) on $CPUS CPUs"
if [ "$ir" -ge $(( RSS_MB * 1024 )) ]; then
    die "verify-import's peak RSS $(( ir / 1024 )) MB reached $RSS_MB MB"
fi
ok "peak RSS $(( ir / 1024 )) MB, under $RSS_MB MB"
if awk -v b="$best" 'BEGIN { exit !(b >= 1000000) }'; then
    ok "at least 1 million records/s end to end"
else
    say "under 1 million records/s end to end (wall clock; see the CPU" \
        "column if the machine is shared)"
fi
