#!/bin/bash
# Build the libFuzzer targets of t/fuzz/ into build/fuzz/.
#
# The core library is compiled here from mod_verify/*.c with the same
# sanitizer flags as the targets (build/libverify.a is gcc -O2 without
# instrumentation, so the fuzzer would see no coverage in it and ASan no
# overrun). Objects go to build/fuzz/obj/; anything already newer than
# its sources, the headers and this script is kept.
#
# Needs clang with its runtime libraries (Debian: clang-14 or clang,
# libclang-rt-14-dev; llvm-14 for symbolized reports) and the build
# dependencies of the library (scripts/install-deps.sh).
#
# fuzz_body compiles mod_verify/mod_verify_body.c in (httpd's headers;
# what it calls of httpd is played by the target).
#
# Usage: t/fuzz/build.sh [TARGET...]   (default: every t/fuzz/fuzz_*.c)
# Environment: FUZZ_CC (default: clang, else clang-14),
#              FUZZ_REPLAY=1: build each target with gcc and
#              t/fuzz/replay.c instead of libFuzzer (it runs the files
#              named, no fuzzing) into build/fuzz-replay/; t/test_190
#              does when clang is missing,
#              FUZZ_CFLAGS (appended to the compile flags; use a fresh
#              FUZZ_OUT with them, objects are not rebuilt for flags),
#              FUZZ_OUT (default: build/fuzz)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

CC=${FUZZ_CC:-}
if [ -z "$CC" ]; then
    for c in clang clang-14; do
        if command -v "$c" >/dev/null 2>&1; then CC=$c; break; fi
    done
fi
REPLAY=""
if [ -n "${FUZZ_REPLAY:-}" ]; then
    # no libFuzzer: each target with t/fuzz/replay.c's main(), by gcc
    CC=gcc
    REPLAY=t/fuzz/replay.c
elif [ -z "$CC" ] || ! command -v "$CC" >/dev/null 2>&1; then
    echo "build.sh: clang not found (Debian: apt-get install clang-14" \
         "libclang-rt-14-dev llvm-14)" >&2
    exit 2
fi

# -fno-sanitize-recover: an undefined-behaviour report stops the run
# (libFuzzer then saves the input) instead of scrolling past.
if [ -n "$REPLAY" ]; then
    OUT=${FUZZ_OUT:-build/fuzz-replay}
    SAN="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all"
else
    OUT=${FUZZ_OUT:-build/fuzz}
    SAN="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
fi
OBJ=$OUT/obj
CFLAGS="$SAN -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter \
-D_GNU_SOURCE -Imod_verify $(apr-1-config --includes --cppflags) \
-I$(apxs -q INCLUDEDIR 2>/dev/null || echo /usr/include/apache2) \
$(apu-1-config --includes) ${FUZZ_CFLAGS:-}"
LIBS="$(apr-1-config --link-ld --libs) $(apu-1-config --link-ld --libs) \
-llmdb -lcrypto -lsodium -ljansson -lutf8proc"

# the whole core library (every mod_verify/verify_*.c)
LIB_SRC=$(cd mod_verify && ls verify_*.c | sed 's/\.c$//')
HDRS=$(ls mod_verify/*.h)

# stale TARGET DEP...: true when TARGET is missing or older than a DEP
stale() {
    local t=$1 d
    shift
    [ -e "$t" ] || return 0
    for d in "$@"; do
        [ "$d" -nt "$t" ] && return 0
    done
    return 1
}

mkdir -p "$OBJ"
objs=""
for s in $LIB_SRC; do
    o=$OBJ/$s.o
    if stale "$o" "mod_verify/$s.c" $HDRS t/fuzz/build.sh; then
        echo "  CC    $o"
        # shellcheck disable=SC2086
        "$CC" $CFLAGS -c -o "$o" "mod_verify/$s.c"
    fi
    objs="$objs $o"
done

if [ $# -gt 0 ]; then
    targets="$*"
else
    targets=$(cd t/fuzz && ls fuzz_*.c | sed 's/\.c$//')
fi
for t in $targets; do
    src=t/fuzz/$t.c
    [ -f "$src" ] || { echo "build.sh: no $src" >&2; exit 2; }
    # shellcheck disable=SC2086
    if stale "$OUT/$t" "$src" $objs $HDRS t/fuzz/build.sh \
        mod_verify/mod_verify_body.c $REPLAY; then
        echo "  LINK  $OUT/$t"
        # shellcheck disable=SC2086
        "$CC" $CFLAGS -o "$OUT/$t" "$src" $REPLAY $objs $LIBS
    fi
done
