#!/bin/bash
# Install the Debian packages mod_verify builds, tests and demos with.
# Does nothing when everything is already there and consistent.
#
# apache2 from Debian's security updates may be built against a newer
# OpenSSL than the libssl3 a machine image shipped with; mod_ssl then logs
# AH01882 at every start.  apt does not upgrade libssl3 for it (apache2-bin
# only asks for libssl3 >= 3.0.0), so we name the OpenSSL packages in the
# same install, which upgrades them together with apache2, and we check the
# result: the OpenSSL mod_ssl was compiled against must not be newer than
# the one it runs with.
set -euo pipefail
# valgrind runs the unit tests under memcheck (`make valgrind`).
# chromium and poppler-utils print the monthly sheet to PDF and read it
# back (t/test_187); the sheet names DejaVu and WenQuanYi Zen Hei first,
# so the test's pages do not depend on whatever fonts a machine has.
# python3-jsonschema and python3-yaml validate real answers against
# docs/openapi.yaml, and python3-requests, php-cli and php-curl run the
# client code of docs/clients.md (t/test_970, t/test_975). haproxy is the
# load balancer of t/test_985_cluster.py and `make demo-cluster`.
# debhelper and lintian build and check the Debian package (`make deb`,
# t/test_960); dh-apache2 is a virtual package that apache2-dev provides
# in Debian 12, so apache2-dev stands for it here (dpkg-query knows no
# virtual package, and would call it missing at every run).
PKGS="faketime apache2 apache2-dev libapr1-dev libaprutil1-dev liblmdb-dev lmdb-utils
      libjansson-dev libssl-dev openssl curl wrk time python3 python3-pytest
      python3-cryptography haproxy
      build-essential clang-14 libclang-rt-14-dev llvm-14 strace valgrind
      chromium poppler-utils fonts-dejavu-core fonts-wqy-zenhei
      debhelper lintian jq libutf8proc-dev libsodium-dev eatmydata
      python3-jsonschema python3-yaml python3-requests php-cli php-curl"
# Installed together with anything missing, so they move in step.
OPENSSL_PKGS="libssl3 libssl-dev openssl"
MOD_SSL=/usr/lib/apache2/modules/mod_ssl.so
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

apt_install() {
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends "$@" >/dev/null
}

# The OpenSSL version (3.0.N) mod_ssl was built against, and the running one.
built_openssl() {
    grep -ao 'OpenSSL 3\.[0-9]*\.[0-9]*' "$MOD_SSL" 2>/dev/null | sort -V | tail -1 \
        | cut -d' ' -f2
}
running_openssl() {
    dpkg-query -W -f='${Version}' libssl3 2>/dev/null | sed 's/-.*//'
}
openssl_behind() {
    local built running
    [ -e "$MOD_SSL" ] || return 1
    built=$(built_openssl); running=$(running_openssl)
    [ -n "$built" ] && [ -n "$running" ] || return 1
    [ "$built" != "$running" ] && \
        [ "$(printf '%s\n%s\n' "$built" "$running" | sort -V | tail -1)" = "$built" ]
}

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install-deps: installing$missing (with $OPENSSL_PKGS at the same level)"
    # shellcheck disable=SC2086
    apt_install $missing $OPENSSL_PKGS
fi
if openssl_behind; then
    echo "install-deps: mod_ssl was built with OpenSSL $(built_openssl)," \
         "libssl3 is $(running_openssl): upgrading $OPENSSL_PKGS"
    # shellcheck disable=SC2086
    apt_install $OPENSSL_PKGS
fi
if openssl_behind; then
    echo "install-deps: mod_ssl needs OpenSSL $(built_openssl) but only" \
         "$(running_openssl) can be installed; mod_ssl would log AH01882" >&2
    exit 1
fi

# The OpenAPI 3.1 linter t/test_970 runs on docs/openapi.yaml (Debian 12
# packages none): from the npm registry, at the version t/openapi's
# package-lock.json pins, into t/openapi/node_modules. Node.js and npm
# from Debian when the machine has none.
LINT_DIR="$(dirname "$0")/../t/openapi"
if ! command -v npm >/dev/null; then
    echo "install-deps: installing nodejs npm"
    apt_install nodejs npm
fi
if [ ! -x "$LINT_DIR/node_modules/.bin/validate-api" ] || \
   [ "$LINT_DIR/package-lock.json" -nt "$LINT_DIR/node_modules/.package-lock.json" ]; then
    echo "install-deps: npm ci in t/openapi"
    (cd "$LINT_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
