#!/bin/bash
# demo.sh -- mod_verify end to end, on this machine, in a few seconds.
#
#   make demo            (installs what is missing, builds, runs this)
#   bash scripts/demo.sh (after `make all`)
#
# In a scratch directory: a throw-away CA with a server and a client
# certificate, a pseudonym key, 100,000 synthetic residents (signed and
# encrypted as the data provider sends them) imported the strict way
# into an LMDB store that refuses anything else, a private httpd (event
# MPM, TLS with client certificates)
# on 127.0.0.1, real /verify calls with curl, the audit lines they left,
# the chain check, the monthly report and the monthly sample. Nothing
# outside the scratch directory is touched; it is removed at the end
# (DEMO_KEEP=1 keeps it).
# Exits non-zero if any step does not do what it should.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib-httpd.sh
. "$HERE/scripts/lib-httpd.sh"

COUNT=${DEMO_COUNT:-100000}

need_cmd openssl curl "$PYTHON" "$HTTPD_BIN" sha256sum
need_file "$MODULE" "$IMPORT" "$AUDIT"

D=$(scratch_dir verify-demo)
cleanup() {
    local rc=$?
    httpd_stop_all
    if [ $rc -ne 0 ]; then
        if [ -s "$D/logs/error.log" ]; then
            echo "--- httpd error log (last lines) ---" >&2
            tail -n 20 "$D/logs/error.log" >&2
        fi
        echo "demo FAILED (exit $rc)" >&2
    fi
    if [ "${DEMO_KEEP:-0}" = 1 ]; then
        echo "scratch directory kept: $D"
    else
        rm -rf "$D"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$D"

step "mod_verify demo, in $D"
if is_root; then
    say "running as root: httpd's children will run as $HTTPD_USER"
else
    say "running as $(id -un): httpd's children will run as $(id -un) too"
fi

# ---------------------------------------------------------------------
step "1. A throw-away CA, a server certificate and a client certificate"
say "The CA stands for the county's client CA; the client certificate for"
say "the one an approved client system presents (mutual TLS)."
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.crt -days 2 \
    -subj "/O=Demo County/CN=mod_verify demo CA" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
cat > server.ext <<'EOF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
EOF
cat > client.ext <<'EOF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOF
for who in server client; do
    if [ $who = server ]; then cn=127.0.0.1; else cn=demo-system; fi
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout $who.key -out $who.csr \
        -subj "/O=Demo County/CN=$cn" 2>/dev/null
    openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key \
        -CAcreateserial -days 2 -extfile $who.ext -out $who.crt 2>/dev/null
done
chmod 0600 ./*.key
CERT_SHA256=$(openssl x509 -in client.crt -outform DER | sha256sum | cut -d' ' -f1)
# the key's hash too: configtest refuses a key the client retired (R3.5)
SPKI_SHA256=$(openssl x509 -in client.crt -noout -pubkey \
    | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
say "ca.crt      $(openssl x509 -in ca.crt -noout -subject)"
say "server.crt  $(openssl x509 -in server.crt -noout -subject), SAN 127.0.0.1, localhost"
say "client.crt  $(openssl x509 -in client.crt -noout -subject)"
say "client certificate SHA-256 (DER): $CERT_SHA256"
say "client public key SHA-256 (DER SubjectPublicKeyInfo): $SPKI_SHA256"

# ---------------------------------------------------------------------
step "2. The pseudonym key"
say "\$ openssl rand -hex 32 > pseudonym.key"
openssl rand -hex 32 > pseudonym.key
chmod 0400 pseudonym.key
say "pseudonym.key: 32 random bytes in hex, mode 0400, read by httpd as root"
say "at start-up; IDs are stored and audited only as HMACs under it."

# ---------------------------------------------------------------------
step "3. A synthetic household batch of $COUNT residents"
t0=$(date +%s%N)
"$PYTHON" "$HERE/scripts/gen-household.py" --count "$COUNT" --seed demo \
    --out household.csv --print-sample 1 --print-absent 1 > ids.txt
t1=$(date +%s%N)
RESIDENT=$(sed -n 1p ids.txt)
ABSENT=$(sed -n 2p ids.txt)
# The demo's people, taken from the file before the import destroys it.
IFS=, read -r IND_ID _ _ IND_KIND \
    < <(awk -F, '$4 == "mountain" { print; exit }' household.csv)
IFS=, read -r WHO_ID WHO_NAME WHO_BIRTH _ \
    < <(awk -F, 'NR == 2 { print; exit }' household.csv)
say "household.csv: $(($(wc -l < household.csv) - 1)) rows, $(du -h household.csv | cut -f1), written in $(( (t1 - t0) / 1000000 )) ms"
head -n 4 household.csv | indent
say "..."

# ---------------------------------------------------------------------
IMPORT_ARGS=()
step "3b. Signed and encrypted, as the data provider sends it (CMS)"
say "The household registration office signs the batch with its key and"
say "encrypts it to the county's import certificate; only the .p7m travels."
for who in provider import; do
    if [ $who = provider ]; then
        cn="Demo Household Registration Office"
    else
        cn="Demo County verify import"
    fi
    printf '%s\n' "basicConstraints = CA:FALSE" \
        "keyUsage = critical, digitalSignature, keyEncipherment" \
        "extendedKeyUsage = emailProtection" > $who.ext
    openssl req -new -newkey rsa:2048 -nodes -keyout $who.key \
        -out $who.csr -subj "/O=Demo County/CN=$cn" 2>/dev/null
    openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key \
        -CAcreateserial -days 2 -extfile $who.ext -out $who.crt 2>/dev/null
    chmod 0600 $who.key
done
show openssl cms -sign -binary -nodetach -in household.csv \
    -signer provider.crt -inkey provider.key -outform DER -out household.signed
show openssl cms -encrypt -binary -aes-256-cbc -in household.signed \
    -inform DER -outform DER -out household.csv.p7m import.crt
rm -f household.csv household.signed
INPUT=household.csv.p7m
IMPORT_ARGS+=(--decrypt-cert "$D/import.crt" --decrypt-key "$D/import.key")
IMPORT_ARGS+=(--signer-ca "$D/ca.crt")
say "household.csv.p7m: $(du -h household.csv.p7m | cut -f1); the clear CSV is deleted"

# ---------------------------------------------------------------------
step "4. Import it into the store (a new snapshot, one LMDB write transaction)"
mkdir -p store
chmod 0750 store
GROUP_ARGS=()
if is_root; then
    # snapshots are root's, readable by httpd's run-time group
    GROUP_ARGS+=(--group "$HTTPD_USER")
fi
IMPORT_ARGS+=("${GROUP_ARGS[@]+"${GROUP_ARGS[@]}"}")
say "Intake is strict (R4.1.1-R4.1.3): a batch must be signed by the data"
say "provider, encrypted to the county and carry its approved usage period."
say "This store is told to refuse even --allow-plain from now on (recorded):"
show "$IMPORT" --store "$D/store" --require-signed on \
    "${GROUP_ARGS[@]+"${GROUP_ARGS[@]}"}" | indent \
    || die "verify-import --require-signed on failed"
APPROVED_UNTIL=$(taipei_date "+6 months")
ls -l "$INPUT" | indent
if ! show "$IMPORT" --store "$D/store" --key "$D/pseudonym.key" \
        --source household --approved-until "$APPROVED_UNTIL" \
        "${IMPORT_ARGS[@]+"${IMPORT_ARGS[@]}"}" \
        "$D/$INPUT" 2>&1 | indent; then
    die "verify-import failed"
fi
if [ -e "$INPUT" ]; then
    die "$INPUT is still there: the import must destroy its input (R4.4)"
fi
ok "$INPUT is gone: the importer destroyed its input after the commit"
ls -l store store/current/ | indent
SNAP=$(readlink store/current)

say "A plain CSV (one row of the same people, unsigned, unencrypted) is"
say "refused, even with --allow-plain; the attempt is recorded all the same:"
printf 'id,name,birth_date,indigenous\n%s,%s,%s,\n' \
    "$WHO_ID" "$WHO_NAME" "$WHO_BIRTH" > plain.csv
set +e
show "$IMPORT" --store "$D/store" --key "$D/pseudonym.key" \
    --source household --allow-plain "$D/plain.csv" \
    > plain.out 2> plain.err
rc=$?
set -e
indent < plain.err
rm -f plain.csv
[ "$rc" -eq 1 ] || die "the store took a plain CSV (exit $rc)"
grep -q '"result":"refused"' plain.out \
    || die "the refused attempt left no event"
[ "$(readlink store/current)" = "$SNAP" ] || die "the store changed"
ok "refused (exit 1) and recorded; the store still serves $SNAP"

# ---------------------------------------------------------------------
step "5. A private httpd with TLS and the verify endpoint"
PORT=$(free_port)
VALID_FROM=$(taipei_date "-1 year")
VALID_TO=$(taipei_date "+1 year")
cat > clients.conf <<EOF
# The client register: one approved client system.
VerifyClient demo-system ip=127.0.0.1 checks=resident,indigenous,identity \\
    approval=DEMO-APPROVAL-1 valid=$VALID_FROM..$VALID_TO \\
    cert-sha256=$CERT_SHA256 spki-sha256=$SPKI_SHA256
EOF
{
    httpd_conf_base "$D" event authz_core authz_host socache_shmcb ssl \
        "$MODULE"
    cat <<EOF
Listen 127.0.0.1:$PORT
SSLSessionCache "shmcb:$D/run/ssl_scache(512000)"

VerifyStore    "$D/store"
VerifyKeyFile  "$D/pseudonym.key"
VerifyAuditLog "$D/audit"
VerifyMaxBody  8192

<VirtualHost 127.0.0.1:$PORT>
    ServerName 127.0.0.1
    SSLEngine on
    SSLProtocol -all +TLSv1.2 +TLSv1.3
    SSLCertificateFile    "$D/server.crt"
    SSLCertificateKeyFile "$D/server.key"
    SSLCACertificateFile  "$D/ca.crt"
    SSLVerifyClient require
    SSLVerifyDepth  1

    Include "$D/clients.conf"

    # Everything is denied but /verify, and that only from 127.0.0.1.
    <Location />
        Require all denied
    </Location>
    <Location /verify>
        SetHandler verify
        Require ip 127.0.0.1
    </Location>
</VirtualHost>
EOF
} > httpd.conf
say "httpd.conf (the interesting part):"
sed -n '/^Listen/,$p' httpd.conf | indent
say "clients.conf:"
indent < clients.conf
show "$HTTPD_BIN" -f "$D/httpd.conf" -t 2>&1 | indent \
    || die "httpd's configuration test failed"
httpd_start "$D/httpd.conf"
ok "httpd is up on https://127.0.0.1:$PORT/ (pid $(cat "$D/run/httpd.pid"))"
if is_root; then
    say "The store is root's, readable by group $HTTPD_USER, writable by no"
    say "one else (children open the published snapshot read-only, with no"
    say "lock file); at start-up mod_verify created the audit directory for"
    say "$HTTPD_USER; the key stays root's:"
    ls -ld pseudonym.key store store/* store/current/* audit | indent
fi

# ---------------------------------------------------------------------
step "6. Real calls, as the client system makes them"
URL="https://127.0.0.1:$PORT/verify"
say "POST, form body, TLS with the client certificate; never the ID in the URL:"
say "curl --cacert ca.crt --cert client.crt --key client.key $URL \\"
say "     --data-urlencode id=... --data-urlencode check=... \\"
say "     --data-urlencode case=... --data-urlencode reason=... \\"
say "     --data-urlencode operator=..."
CASE=NTC-SW-2026-000123
REASON="低收入戶資格審查"
OPERATOR=clerk.wang
N_CALLS=0

# ask TITLE STATUS PYCHECK FIELD=VALUE...: POST the fields, show the
# answer, require the HTTP STATUS and that PYCHECK (a Python expression
# over the parsed answer `d`) holds.
ask() {
    local title=$1 want=$2 check=$3 f code
    shift 3
    local args=()
    printf '\n    %s%s%s\n' "$_B" "$title" "$_N"
    for f in "$@"; do
        args+=(--data-urlencode "$f")
    done
    printf '    %s%s%s\n' "$_D" "$*" "$_N"
    code=$(curl -sS --max-time 10 --cacert ca.crt --cert client.crt \
        --key client.key -o answer.json -w '%{http_code}' "${args[@]}" "$URL") \
        || die "curl failed"
    N_CALLS=$((N_CALLS + 1))
    say "HTTP $code"
    "$PYTHON" - "$check" <<'EOF' || die "the answer is not what it should be: $check"
import json, sys
raw = open("answer.json", encoding="utf-8").read()
try:
    d = json.loads(raw)
except ValueError:
    print("      " + raw)
    sys.exit("      not JSON")
for line in json.dumps(d, ensure_ascii=False, indent=2).splitlines():
    print("      " + line)
sys.exit(0 if eval(sys.argv[1], {"d": d}) else 1)
EOF
    [ "$code" = "$want" ] || die "expected HTTP $want, got $code"
    ok "HTTP $want, and $check"
}

ask "A resident of the batch: is $RESIDENT a resident?" 200 \
    'd["results"]["resident"] is True and "request_id" in d' \
    "id=$RESIDENT" check=resident "case=$CASE" "reason=$REASON" \
    "operator=$OPERATOR"
ask "A valid ID that is not in the batch: $ABSENT" 200 \
    'd["results"]["resident"] is False' \
    "id=$ABSENT" check=resident "case=$CASE" "reason=$REASON" \
    "operator=$OPERATOR"
ask "Resident and indigenous ($IND_KIND), in lower case: ${IND_ID,,}" 200 \
    'd["results"] == {"resident": True, "indigenous": True}' \
    "id=${IND_ID,,}" check=resident,indigenous "case=$CASE" \
    "reason=$REASON" "operator=$OPERATOR"
ask "Identity match: $WHO_ID with name $WHO_NAME, born $WHO_BIRTH" 200 \
    'd["results"]["resident"] is True and d["identity_match"] is True' \
    "id=$WHO_ID" check=resident "name=$WHO_NAME" "birth_date=$WHO_BIRTH" \
    "case=$CASE" "reason=$REASON" "operator=$OPERATOR"
ask "Identity match with a wrong birth date (nothing else is revealed)" 200 \
    'd["identity_match"] is False' \
    "id=$WHO_ID" check=resident "name=$WHO_NAME" "birth_date=1911-10-10" \
    "case=$CASE" "reason=$REASON" "operator=$OPERATOR"
BAD_ID=${RESIDENT:0:9}$(( (${RESIDENT:9:1} + 1) % 10 ))
ask "An invalid ID (wrong check digit): $BAD_ID" 400 \
    'd["error"] == "invalid_id"' \
    "id=$BAD_ID" check=resident "case=$CASE" "reason=$REASON" \
    "operator=$OPERATOR"
ask "No case number (R4.2.1 requires one)" 400 \
    'd["error"] == "missing_field"' \
    "id=$RESIDENT" check=resident "reason=$REASON" "operator=$OPERATOR"
ask "A check this client is not approved for (disability)" 403 \
    'd["error"] == "check_not_permitted"' \
    "id=$RESIDENT" check=disability "case=$CASE" "reason=$REASON" \
    "operator=$OPERATOR"

printf '\n    %sWithout a client certificate%s\n' "$_B" "$_N"
if curl -sS --max-time 10 --cacert ca.crt -o /dev/null \
        --data-urlencode "id=$RESIDENT" "$URL" 2> nocert.err; then
    die "a call without a client certificate was answered"
fi
say "$(head -n 1 nocert.err)"
ok "refused in the TLS handshake; it never reaches the handler (no audit line)"

# ---------------------------------------------------------------------
step "7. The audit lines these calls left"
shopt -s nullglob
audit_files=("$D"/audit/audit-*.jsonl)
shopt -u nullglob
[ ${#audit_files[@]} -gt 0 ] || die "no audit file in $D/audit"
ls -l "$D"/audit | indent
if ! "$PYTHON" - "$N_CALLS" "${audit_files[@]}" <<'EOF'
import json, sys
want = int(sys.argv[1])
lines = []
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        lines.extend(json.loads(l) for l in f if l.strip())
cols = ("seq", "time", "client", "operator", "op", "checks", "subject",
        "status", "results", "hash")
def s(v):
    if v is None:
        return "-"
    if isinstance(v, list):
        return ",".join(map(str, v))
    if isinstance(v, dict):
        return " ".join("%s=%s" % (k, "y" if x is True else "n" if x is False
                                   else x) for k, x in v.items())
    return str(v)
def row(d):
    res = d.get("results", d.get("error"))
    if isinstance(res, dict) and "identity_match" in d:
        res = dict(res, identity_match=d["identity_match"])
    return (s(d.get("seq")), s(d.get("ts"))[11:26], s(d.get("client")),
            s(d.get("operator")), s(d.get("op")), s(d.get("checks")),
            s(d.get("subject")), s(d.get("status")), s(res),
            s(d.get("hash"))[:12] + "…")
rows = [cols] + [row(d) for d in lines]
w = [max(len(r[i]) for r in rows) for i in range(len(cols))]
for r in rows:
    print("      " + "  ".join(c.ljust(w[i]) for i, c in enumerate(r)))
requests = [d for d in lines if "request_id" in d]
print()
print("      (lines without a request_id are the server's own events)")
print("      The first request's line in full:")
print("\n".join("      " + l for l in json.dumps(
    requests[0] if requests else lines[0], ensure_ascii=False,
    indent=2).splitlines()))
if len(requests) != want:
    print("      expected %d request lines, found %d" % (want, len(requests)),
          file=sys.stderr)
    sys.exit(1)
EOF
then
    die "the audit lines are not what they should be"
fi
ok "$N_CALLS calls that reached the handler, $N_CALLS audit lines"
for id in "$RESIDENT" "$ABSENT" "$IND_ID" "$WHO_ID" "$BAD_ID"; do
    if grep -qi -- "$id" "${audit_files[@]}"; then
        die "the audit log holds the ID $id in clear"
    fi
done
ok "no ID appears in clear (subject is masked, subject_tag is a keyed HMAC)"

# ---------------------------------------------------------------------
step "8. The auditor checks the chain"
show "$AUDIT" verify "$D/audit" 2>&1 | indent \
    || die "verify-audit verify failed: the chain is broken"
ok "chain intact (exit 0)"
say "And on a copy with one edited line:"
cp -a audit audit-tampered
"$PYTHON" - "$D"/audit-tampered/audit-*.jsonl <<'EOF'
import sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read().split("\n")
i = next(n for n, l in enumerate(s) if '"clerk.wang"' in l)
s[i] = s[i].replace('"clerk.wang"', '"clerk.chen"', 1)
open(p, "w", encoding="utf-8").write("\n".join(s))
EOF
set +e
show "$AUDIT" verify "$D/audit-tampered" > tamper.out 2>&1
rc=$?
set -e
indent < tamper.out
[ "$rc" -ne 0 ] || die "verify-audit did not notice the edited line"
ok "edited line detected (exit $rc)"

# ---------------------------------------------------------------------
step "9. The monthly query record sheet (R5.1)"
say "Every month the office prints the month's queries for the auditors."
MONTH=$(TZ=Asia/Taipei date +%Y-%m)
show "$AUDIT" report --month "$MONTH" "$D/audit" > report.html \
    || die "verify-audit report failed"
say "report.html: $(wc -c < report.html) bytes, one self-contained HTML page"
say "(open it in a browser and print it); as text:"
"$PYTHON" - <<'EOF' | sed -n 1,60p | indent
import html, re
s = open("report.html", encoding="utf-8").read()
s = re.sub(r"(?is)<head>.*?</head>", "", s)
s = re.sub(r"(?i)<br\s*/?>(?=[^<]*</th>)", " ", s)
s = re.sub(r"(?i)<br\s*/?>|</(p|div|h[1-6]|tr|li|table|caption)>", "\n", s)
s = re.sub(r"(?i)</t[dh]>", "  ", s)
s = html.unescape(re.sub(r"<[^>]+>", "", s))
for line in s.splitlines():
    if line.strip():
        print(line.rstrip())
EOF
if ! "$PYTHON" - "$MONTH" "${audit_files[@]}" <<'EOF'
import json, sys
page = open("report.html", encoding="utf-8").read()
month, missing = sys.argv[1], []
for path in sys.argv[2:]:
    for line in open(path, encoding="utf-8"):
        d = json.loads(line)
        if d.get("op") == "verify" and d["ts"].startswith(month):
            if d["request_id"] not in page:
                missing.append(d["request_id"])
            if d.get("subject_tag") and d["subject_tag"] in page:
                sys.exit("the report shows a subject_tag")
if missing:
    sys.exit("queries missing from the report: " + ", ".join(missing))
EOF
then
    die "the report is not what it should be"
fi
ok "report for $MONTH: every query of the month, masked subjects only"

# ---------------------------------------------------------------------
step "10. The monthly sample for the auditors (R5.1)"
say "At least 3 % of the month's answered queries, never fewer than 10, all"
say "of them if fewer than 10. The official draw's seed is the root of the"
say "first signed checkpoint made after the month ends (VerifyCheckpointKey,"
say "audit-guide.md section 6); this demo signs none and its month is still"
say "running, so it can only preview, marked so on every line. The same"
say "files draw the same preview again."
show "$AUDIT" sample --month "$MONTH" --preview "$D/audit" > sample.txt \
    || die "verify-audit sample failed"
indent < sample.txt
grep -qv '^PREVIEW, NOT an official draw | ' sample.txt \
    && die "a preview line is not marked"
show "$AUDIT" sample --month "$MONTH" --preview "$D/audit" \
    > sample-again.txt || die "verify-audit sample failed"
cmp -s sample.txt sample-again.txt || die "the same files drew another sample"
ok "the same files draw the same sample; every line says it is a preview"
say "And on the copy with the edited line:"
set +e
show "$AUDIT" sample --month "$MONTH" --preview "$D/audit-tampered" \
    > /dev/null 2> sample-tampered.err
rc=$?
set -e
indent < sample-tampered.err
[ "$rc" -ne 0 ] || die "verify-audit sampled a broken log"
ok "no sample from a broken chain (exit $rc)"

# ---------------------------------------------------------------------
step "11. Stop httpd and clean up"
httpd_stop "$D/run/httpd.pid"
ok "httpd stopped"
if ! httpd_log_problems "$D/logs/error.log" > problems.txt; then
    say "httpd error log, warnings and errors:"
    cat problems.txt
fi
printf '\n%sDemo complete.%s\n' "$_G" "$_N"
