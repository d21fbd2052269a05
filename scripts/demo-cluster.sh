#!/bin/sh
# demo-cluster.sh -- `make demo-cluster`: three mod_verify nodes behind
# HAProxy on loopback, as t/test_985_cluster.py builds them (each node its
# own VerifyNodeId, audit log, checkpoint key and directory; HAProxy's
# `option httpchk` against /health; scripts/ship-snapshot.sh shipping a
# batch to every node; one node killed by pid under load), printing what
# each step measured; then the month of three nodes sampled and reported
# as one population (t/test_986_cluster_audit.py: nodes under libfaketime
# at the end of a month, so that each signs its month checkpoint). The
# design: docs/scaling.md.
set -eu
cd "$(dirname "$0")/.."
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || {
    echo "demo-cluster: haproxy missing (make deps)" >&2; exit 1; }
"${PYTHON:-/usr/bin/python3}" -m pytest -v -s -p no:cacheprovider t/test_985_cluster.py \
    -k "behind or ship_switches or kill_one"
exec "${PYTHON:-/usr/bin/python3}" -m pytest -v -s -p no:cacheprovider \
    t/test_986_cluster_audit.py -k "one_population or one_sheet"
