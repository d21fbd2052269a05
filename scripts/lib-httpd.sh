# shellcheck shell=bash
# lib-httpd.sh -- shell helpers shared by demo.sh and bench.sh.
# Source it (bash): . scripts/lib-httpd.sh
#
# A private httpd here is Debian's /usr/sbin/apache2 started with its own
# minimal httpd.conf (no /etc/apache2, no envvars): absolute ServerRoot,
# DefaultRuntimeDir, PidFile and ErrorLog in a scratch directory, modules
# by absolute path, and `User www-data` when run as root (httpd will not
# run its children as root). Everything the children read or write must
# therefore be reachable by www-data.

HTTPD_BIN=${HTTPD_BIN:-/usr/sbin/apache2}
HTTPD_MODDIR=${HTTPD_MODDIR:-/usr/lib/apache2/modules}
HTTPD_USER=${HTTPD_USER:-www-data}
# Debian's Python (as the Makefile), whatever else is first on PATH.
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || PYTHON=python3

# The build the scripts run (the caller sets HERE, the repository root).
BUILD=${BUILD:-$HERE/build}
MODULE=$BUILD/mod_verify.so
IMPORT=$BUILD/verify-import
AUDIT=$BUILD/verify-audit

# Pid files of the servers started by httpd_start, for httpd_stop_all.
HTTPD_STARTED=()

# --- messages ----------------------------------------------------------

if [ -t 1 ]; then
    _B=$'\033[1m'; _G=$'\033[32m'; _R=$'\033[31m'; _D=$'\033[2m'; _N=$'\033[0m'
else
    _B=""; _G=""; _R=""; _D=""; _N=""
fi

# step TEXT: a heading for what comes next.
step() { printf '\n%s==> %s%s\n' "$_B" "$*" "$_N"; }
# say TEXT: one line of commentary.
say() { printf '    %s\n' "$*"; }
# ok TEXT / bad TEXT: a passed or failed expectation.
ok() { printf '    %sok%s   %s\n' "$_G" "$_N" "$*"; }
bad() { printf '    %sFAIL%s %s\n' "$_R" "$_N" "$*" >&2; }
# die TEXT: fail the script.
die() { bad "$*"; exit 1; }
# show CMD...: print a command (dimmed), then run it. The command line goes
# to the script's own stdout (fd 3), so `show cmd > file` and
# `show cmd | indent` print it once and unindented.
exec 3>&1
show() { printf '    %s$ %s%s\n' "$_D" "$*" "$_N" >&3; "$@"; }
# indent: indent stdin for display.
indent() { sed 's/^/      /'; }

# --- the environment ---------------------------------------------------

# need_cmd CMD...: die unless every command is on PATH.
need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 \
            || die "$c not found (run \`make deps\`, or scripts/install-deps.sh)"
    done
}

# need_file FILE...: die unless every file exists (build products).
need_file() {
    local f
    for f in "$@"; do
        [ -e "$f" ] || die "$f is missing (run \`make all\` first)"
    done
}

# is_root: true when running as uid 0.
is_root() { [ "$(id -u)" -eq 0 ]; }

# run_user: the user httpd's children run as ("" when not root).
run_user() { if is_root; then echo "$HTTPD_USER"; fi; }

# scratch_dir PREFIX: a new temporary directory, 0755 so that the httpd
# children (www-data) can reach what is inside it.
scratch_dir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    chmod 0755 "$d"
    echo "$d"
}

# free_port: an unused TCP port on 127.0.0.1.
free_port() {
    "$PYTHON" - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# taipei_date [DATE-ARG]: YYYY-MM-DD in Taiwan time, e.g. taipei_date
# "-1 year" (GNU date's relative forms).
taipei_date() {
    if [ $# -gt 0 ]; then
        TZ=Asia/Taipei date -d "$1" +%F
    else
        TZ=Asia/Taipei date +%F
    fi
}

# --- the private httpd -------------------------------------------------

# module_line NAME|PATH: a LoadModule line. NAME is a Debian module
# ("ssl" -> mod_ssl.so, ssl_module); PATH an absolute .so ("/x/mod_verify.so"
# -> verify_module).
module_line() {
    local m=$1 name file
    if [ "${m#/}" != "$m" ]; then
        file=$m
        name=$(basename "$m" .so)
        name=${name#mod_}
    else
        name=$m
        file="$HTTPD_MODDIR/mod_$m.so"
    fi
    [ -e "$file" ] || die "module $file not found"
    printf 'LoadModule %-22s %s\n' "${name}_module" "$file"
}

# httpd_conf_base ROOT MPM MODULE...: the start of a private httpd.conf
# (on stdout): paths under ROOT, the MPM (event|prefork|worker) and the
# modules (see module_line). ROOT/run and ROOT/logs are created. Append
# Listen, vhosts and the rest yourself.
httpd_conf_base() {
    local root=$1 mpm=$2 m u
    shift 2
    mkdir -p "$root/run" "$root/logs"
    chmod 0755 "$root/run" "$root/logs"
    cat <<EOF
# Private httpd configuration written by scripts/lib-httpd.sh.
ServerRoot        "$root"
DefaultRuntimeDir "$root/run"
PidFile           "$root/run/httpd.pid"
ErrorLog          "$root/logs/error.log"
LogLevel          warn
ServerName        127.0.0.1
ServerTokens      Prod
Timeout           30

EOF
    module_line "mpm_$mpm"
    for m in "$@"; do
        module_line "$m"
    done
    u=$(run_user)
    if [ -n "$u" ]; then
        printf '\nUser  %s\nGroup %s\n' "$u" "$(id -gn "$u")"
    fi
    echo
}

# httpd_start CONF: start httpd with CONF and wait until it accepts
# connections on the port of its first Listen line. On failure, print the
# error log and die.
httpd_start() {
    local conf=$1 pidfile errlog port
    pidfile=$(awk '$1 == "PidFile" { gsub(/"/, "", $2); print $2; exit }' "$conf")
    errlog=$(awk '$1 == "ErrorLog" { gsub(/"/, "", $2); print $2; exit }' "$conf")
    port=$(awk '$1 == "Listen" { n = split($2, a, ":"); print a[n]; exit }' "$conf")
    if ! "$HTTPD_BIN" -f "$conf" -k start; then
        [ -s "$errlog" ] && sed 's/^/      /' "$errlog" >&2
        die "httpd did not start (config $conf)"
    fi
    HTTPD_STARTED+=("$pidfile")
    for _ in $(seq 1 100); do
        if [ -s "$pidfile" ] && alive "$(cat "$pidfile")" \
            && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        # Faults found after httpd detached (post_config) end up here.
        if [ -s "$errlog" ] \
            && grep -qE 'Configuration Failed|:emerg\]' "$errlog"; then
            break
        fi
        sleep 0.1
    done
    [ -s "$errlog" ] && sed 's/^/      /' "$errlog" >&2
    die "httpd did not come up on 127.0.0.1:$port (config $conf)"
}

# alive PID: true while PID runs (a zombie left to an init that does not
# reap, as in some containers, counts as gone).
alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case $st in Z*|"") return 1 ;; esac
    return 0
}

# httpd_stop PIDFILE: stop the httpd of PIDFILE (TERM, then KILL after
# 10 s) and wait until its parent is gone. Quiet when it is not running.
httpd_stop() {
    local pidfile=$1 pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        alive "$pid" || return 0
        sleep 0.1
    done
    echo "httpd $pid did not stop within 10 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    return 0
}

# httpd_stop_all: stop every httpd started by httpd_start (for traps).
httpd_stop_all() {
    local p
    for p in "${HTTPD_STARTED[@]+"${HTTPD_STARTED[@]}"}"; do
        httpd_stop "$p"
    done
}

# httpd_log_problems ERRLOG: print the error log's lines of level warn
# and above (returns 1 if there are any).
httpd_log_problems() {
    local f=$1
    [ -s "$f" ] || return 0
    if grep -E '\[[a-z_0-9]*:(warn|error|crit|alert|emerg)\]' "$f" >/dev/null; then
        grep -E '\[[a-z_0-9]*:(warn|error|crit|alert|emerg)\]' "$f" | indent
        return 1
    fi
    return 0
}
