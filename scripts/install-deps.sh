#!/bin/bash
# Install the Debian packages mod_verify builds, tests and demos with.
# Does nothing when everything is already there.
set -euo pipefail
PKGS="apache2 apache2-dev libapr1-dev libaprutil1-dev liblmdb-dev lmdb-utils
      libjansson-dev libssl-dev openssl curl wrk python3 python3-pytest
      build-essential clang-14 libclang-rt-14-dev llvm-14 strace"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install-deps: installing$missing"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends $missing >/dev/null
fi
