#!/bin/sh
# install-dirs.sh DESTDIR TABLE -- make the directories of TABLE
# (conf/directories: path owner group mode) under DESTDIR, for
# `make install`. Only missing ones are made, with their owner and group
# (when run as root) and exactly their mode: no set-group-id inherited
# from a parent such as the store. One that exists is left as it is,
# and said if it differs, as the Debian package's postinst does.
set -eu
root=${1:-}
table=${2:-conf/directories}
uid=$(id -u)

sed -e 's/#.*//' "$table" | while read -r path owner group mode; do
    [ -n "$path" ] || continue
    d="$root$path"
    if [ -e "$d" ] || [ -L "$d" ]; then
        have=$(stat -c '%F %U:%G %a' "$d")
        want="directory $owner:$group ${mode#0}"
        if [ "$have" != "$want" ]; then
            echo "install-dirs: $d exists as $have; the admin guide" \
                 "says $want (left as it is)" >&2
        fi
        continue
    fi
    if [ "$uid" -eq 0 ]; then
        install -d -o "$owner" -g "$group" -m "$mode" "$d"
    else
        install -d -m "$mode" "$d"
        echo "install-dirs: not root: $d is $(id -un)'s, not" \
             "$owner:$group" >&2
    fi
    chmod "0$mode" "$d"
done
