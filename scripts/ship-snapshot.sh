#!/bin/sh
# ship-snapshot.sh -- ship the published store snapshot of one store
# directory (where verify-import runs) to the store directories of the
# nodes, and switch each node to it atomically (docs/scaling.md).
#
#   ship-snapshot.sh [--keep N] SOURCE_STORE NODE_STORE...
#
# First, to every node: the snapshot directory is copied under a hidden name
# (.ship-snap-NAME; cp -a here, rsync -a or the county's file transfer
# between machines), its data file synced, renamed to snap-NAME; only
# then is each node's `current` switched the way verify-import does it:
# symlink current.tmp -> snap-NAME, rename over current, sync the
# directory. A reader (mod_verify_store.c) lstat()s `current` per request
# and holds one snapshot for the whole request, so no answer mixes the
# old and the new batch. A copy that fails leaves `current` as it was.
# Older snapshots beyond the newest N (default 2: the new one and the
# one requests may still hold) are removed; a child that still has one
# open keeps reading its open file.
set -eu

keep=2
if [ "${1:-}" = "--keep" ]; then
    keep=${2:?--keep needs a number}; shift 2
fi
case $keep in ''|*[!0-9]*|0) echo "ship-snapshot: --keep: a number from 1" >&2; exit 2;; esac
[ $# -ge 2 ] || { echo "usage: ship-snapshot.sh [--keep N] SOURCE_STORE NODE_STORE..." >&2; exit 2; }
src=$1; shift

snap=$(readlink "$src/current") || { echo "ship-snapshot: $src has no published snapshot (current)" >&2; exit 1; }
case $snap in
    snap-*/*|*..*) echo "ship-snapshot: $src/current -> $snap: not a snapshot name" >&2; exit 1;;
    snap-*) ;;
    *) echo "ship-snapshot: $src/current -> $snap: not a snapshot name" >&2; exit 1;;
esac
[ -f "$src/$snap/data.mdb" ] || { echo "ship-snapshot: $src/$snap/data.mdb missing" >&2; exit 1; }

for dst in "$@"; do
    [ -d "$dst" ] || { echo "ship-snapshot: $dst: no such store directory" >&2; exit 1; }
done

# 1. copy to every node first, so that the switches below follow one
#    another within milliseconds
for dst in "$@"; do
    if [ ! -d "$dst/$snap" ]; then
        tmp="$dst/.ship-$snap"
        rm -rf "$tmp"
        cp -a "$src/$snap" "$tmp"
        sync "$tmp/data.mdb" "$tmp"
        mv -T "$tmp" "$dst/$snap"
    fi
done
# 2. switch each node
for dst in "$@"; do
    rm -f "$dst/current.tmp"
    ln -s "$snap" "$dst/current.tmp"
    mv -T "$dst/current.tmp" "$dst/current"
    sync "$dst"
done
# 3. prune: the newest $keep snapshots stay (names sort by time)
for dst in "$@"; do
    ls -1 "$dst" | grep '^snap-' | sort -r | tail -n +"$((keep + 1))" |
    while read -r old; do
        [ "$old" = "$snap" ] || rm -rf "${dst:?}/$old"
    done
    echo "ship-snapshot: $dst -> $snap"
done
