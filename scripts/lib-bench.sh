# shellcheck shell=bash
# lib-bench.sh -- what the bench-*.sh scripts share. Source it after
# setting HERE (the repository root):  . "$HERE/scripts/lib-bench.sh"
#
# Each bench-X.sh prints its progress and writes its figures, as Markdown
# (a heading and a table), to $BENCH_OUT_DIR/X.md; scripts/bench-all.sh
# puts them together under a header (date, machine, how to rerun).
#
# Environment shared by every script:
#   BENCH_QUICK=1   a short run that checks the tooling (seconds per
#                   round, small data); figures from it are not results
#   BENCH_ROUNDS    rounds (default 3; each figure is a median over them)
#   BENCH_OUT_DIR   where the Markdown goes (default build/bench)
#   BENCH_KEEP=1    keep the scratch directory
# shellcheck source=lib-httpd.sh
. "$HERE/scripts/lib-httpd.sh"

BENCH_QUICK=${BENCH_QUICK:-0}
case $BENCH_QUICK in 0|1) ;; *) die "BENCH_QUICK must be 0 or 1" ;; esac
ROUNDS=${BENCH_ROUNDS:-3}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number"
BENCH_OUT_DIR=${BENCH_OUT_DIR:-$HERE/build/bench}
LOADGEN=$BUILD/bench-load
mkdir -p "$BENCH_OUT_DIR"

# quick VALUE-QUICK VALUE-FULL: the value for this kind of run.
quick() { if [ "$BENCH_QUICK" = 1 ]; then echo "$1"; else echo "$2"; fi; }

# bench_scratch NAME: make $D (a scratch directory removed at exit, with
# every httpd started stopped) and cd into it.
bench_scratch() {
    D=$(scratch_dir "verify-$1")
    trap _bench_cleanup EXIT
    trap 'exit 130' INT TERM
    cd "$D" || exit 1
}
_bench_cleanup() {
    local rc=$?
    httpd_stop_all
    if [ $rc -ne 0 ]; then
        local log
        for log in "$D"/logs/error.log "$D"/*/logs/error.log; do
            [ -s "$log" ] || continue
            echo "--- $log (last lines) ---" >&2
            tail -n 10 "$log" >&2
        done
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "scratch directory kept: $D"
    else
        rm -rf "$D"
    fi
    exit $rc
}

# bench_store COUNT: a pseudonym key and a store of COUNT synthetic
# residents in $D; ids.txt holds 300 of their IDs and bodies.txt one
# audited query (a form body) for each.
bench_store() {
    local count=$1 group=()
    openssl rand -hex 32 > pseudonym.key
    chmod 0400 pseudonym.key
    "$PYTHON" "$HERE/scripts/gen-household.py" --count "$count" \
        --seed bench --out household.csv --print-sample 300 > ids.txt
    mkdir -p store
    chmod 0750 store
    if is_root; then
        group=(--group "$HTTPD_USER")
    fi
    "$IMPORT" --store "$D/store" --key "$D/pseudonym.key" \
        "${group[@]+"${group[@]}"}" --source household --keep-input \
        --allow-plain "$D/household.csv" > import.out 2>&1 \
        || { cat import.out >&2; die "verify-import failed"; }
    rm -f household.csv
    sed 's/.*/id=&\&check=resident\&case=BENCH-2026-000001\&reason=throughput+benchmark\&operator=bench.runner/' \
        ids.txt > bodies.txt
    mkdir -p htdocs
    chmod 0755 htdocs
    printf '%-99s\n' "mod_verify bench: a small static file for Apache's core handler" \
        > htdocs/static.txt
    chmod 0644 htdocs/static.txt
    say "$count synthetic residents imported; a 100-byte static file"
}

# bench_certs: a throw-away CA, server and client certificate in $D
# (ECDSA P-256, as scripts/demo.sh); CERT_SHA256 and SPKI_SHA256 set.
bench_certs() {
    local who cn
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout ca.key -out ca.crt -days 2 -subj "/O=Bench/CN=bench CA" \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    printf 'basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1\n' > server.ext
    printf 'basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n' > client.ext
    for who in server client; do
        if [ $who = server ]; then cn=127.0.0.1; else cn=bench-client; fi
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout $who.key -out $who.csr -subj "/O=Bench/CN=$cn" 2>/dev/null
        openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key \
            -CAcreateserial -days 2 -extfile $who.ext -out $who.crt 2>/dev/null
    done
    chmod 0644 server.key   # read by httpd's parent (root) only; scratch
    CERT_SHA256=$(openssl x509 -in client.crt -outform DER | sha256sum | cut -d' ' -f1)
    SPKI_SHA256=$(openssl x509 -in client.crt -noout -pubkey \
        | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
}

# bench_conf ROOT PORT SYNC TRANSPORT [EXTRA]: one private httpd's
# configuration on stdout (event MPM, keep-alive without limit, no access
# log, LogLevel warn): the static file and /verify over the store of $D,
# VerifyAuditSync SYNC (On|Off), TRANSPORT http (the client known by its
# address) or tls (TLS 1.3 only, SSLVerifyClient require, the client
# known by its certificate). EXTRA: more lines (e.g. MPM limits).
bench_conf() {
    local root=$1 port=$2 sync=$3 transport=$4 extra=${5:-}
    local valid mods=(authz_core authz_host)
    valid="valid=$(taipei_date "-1 year")..$(taipei_date "+1 year")"
    if [ "$transport" = tls ]; then
        mods+=(socache_shmcb ssl)
    fi
    httpd_conf_base "$root" event "${mods[@]}" "$MODULE"
    cat <<EOF
Listen 127.0.0.1:$port
KeepAlive            On
MaxKeepAliveRequests 0
EnableSendfile       On
EnableMMAP           Off
$extra

VerifyStore     "$D/store"
VerifyKeyFile   "$D/pseudonym.key"
VerifyAuditLog  "$root/audit"
VerifyAuditSync $sync

DocumentRoot "$D/htdocs"
<Directory />
    Require all denied
    AllowOverride None
</Directory>
<Directory "$D/htdocs">
    Require all granted
</Directory>
EOF
    if [ "$transport" = tls ]; then
        cat <<EOF
SSLSessionCache "shmcb:$root/run/ssl_scache(512000)"
SSLEngine on
SSLProtocol -all +TLSv1.3
SSLCertificateFile    "$D/server.crt"
SSLCertificateKeyFile "$D/server.key"
SSLCACertificateFile  "$D/ca.crt"
SSLVerifyClient require
SSLVerifyDepth  1
VerifyClient bench ip=127.0.0.1 checks=resident approval=BENCH-1 $valid \\
    cert-sha256=$CERT_SHA256 spki-sha256=$SPKI_SHA256
EOF
    else
        echo "VerifyClient bench ip=127.0.0.1 checks=resident approval=BENCH-1 $valid"
    fi
    cat <<EOF
<Location /verify>
    SetHandler verify
    Require ip 127.0.0.1
</Location>
EOF
}

# bench_load OUT PORT TRANSPORT PAGE CONNS ARGS...: one run of the load
# generator, its "key value" lines to OUT. PAGE static|verify.
bench_load() {
    local out=$1 port=$2 transport=$3 page=$4 conns=$5 args=()
    shift 5
    if [ "$page" = verify ]; then
        args=(-u /verify -b "$D/bodies.txt")
    else
        args=(-u /static.txt)
    fi
    if [ "$transport" = tls ]; then
        args+=(--cert "$D/client.crt" --key "$D/client.key" --ca "$D/ca.crt")
    fi
    "$LOADGEN" -p "$port" -c "$conns" "${args[@]}" "$@" > "$out" \
        || die "bench-load failed ($transport $page on port $port)"
}

# bench_check_page URL-BASE TRANSPORT: one GET of the static file and one
# audited POST /verify answer 200 (and the query is a resident).
bench_check_page() {
    local base=$1 transport=$2 tls=() code
    if [ "$transport" = tls ]; then
        tls=(--cacert "$D/ca.crt" --cert "$D/client.crt" --key "$D/client.key" --tlsv1.3)
    fi
    code=$(curl -sS "${tls[@]+"${tls[@]}"}" -o check.out -w '%{http_code}' \
        "$base/static.txt") || code=000
    [ "$code" = 200 ] || die "GET $base/static.txt: HTTP $code"
    code=$(curl -sS "${tls[@]+"${tls[@]}"}" -o check.out -w '%{http_code}' \
        --data-binary "$(head -n 1 bodies.txt)" \
        -H 'Content-Type: application/x-www-form-urlencoded' \
        "$base/verify") || code=000
    [ "$code" = 200 ] || { cat check.out >&2; die "POST $base/verify: HTTP $code"; }
    grep -q '"resident":true' check.out \
        || { cat check.out >&2; die "POST $base/verify: not a resident?"; }
}

# bench_machine: one line naming the machine (for the tables' notes).
bench_machine() {
    printf '%s CPUs (%s), Linux %s' "$(nproc)" \
        "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
        "$(uname -r)"
}
