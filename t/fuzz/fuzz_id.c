/*
 * fuzz_id.c -- libFuzzer target: ID numbers and dates on arbitrary bytes.
 *
 * verify_id_normalise, verify_id_mask, verify_date_parse_any and
 * verify_date_parse_iso, each given the whole input (and, since IDs are
 * ten bytes, also every ten-byte window of it when the input is short).
 *
 * Invariants checked (abort() on violation):
 *  - normalise OK: the output is 10 characters of [A-Z0-9], equal to
 *    the input with a-z folded to upper case, and normalising the
 *    output again gives OK and the same output; not OK: output "".
 *  - mask: the output is "*" or 10 characters; characters 4 to 8 of
 *    the input (offsets 3..7) never appear, only '*' in their place;
 *    the first three and last two are the input's, upper-cased; an
 *    input that is not 10 bytes of [0-9A-Za-z] gives "*".
 *  - dates: 0, or a YYYYMMDD date with a real month and day (1800 to
 *    9999); an ISO parse is also an "any" parse of the same bytes, and
 *    formatting a date and parsing it back as ISO gives it again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "verify.h"

static void die(const char *what)
{
    fprintf(stderr, "fuzz_id: invariant violated: %s\n", what);
    abort();
}

static int up(int c)
{
    return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

static int alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
           || (c >= 'a' && c <= 'z');
}

static void check_id(const char *in, size_t len)
{
    char out[VERIFY_ID_LEN + 1], again[VERIFY_ID_LEN + 1];
    char mask[VERIFY_ID_LEN + 1];
    verify_id_kind_t kind, kind2;
    verify_id_status_t st;
    size_t i, mlen;
    int all_alnum = len == VERIFY_ID_LEN;

    /* sentinels: every byte the functions must set is checked below */
    memset(out, 'x', sizeof(out));
    st = verify_id_normalise(in, len, out, &kind);
    if (st == VERIFY_ID_OK) {
        if (strlen(out) != VERIFY_ID_LEN || len != VERIFY_ID_LEN) {
            die("normalise OK but output is not 10 characters");
        }
        for (i = 0; i < VERIFY_ID_LEN; i++) {
            int c = (unsigned char)out[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
                die("normalise OK but output is not [A-Z0-9]");
            }
            if (c != up((unsigned char)in[i])) {
                die("normalise output differs from the folded input");
            }
        }
        if (kind == VERIFY_ID_KIND_NONE) {
            die("normalise OK without a kind");
        }
        memset(again, 'x', sizeof(again));
        if (verify_id_normalise(out, VERIFY_ID_LEN, again, &kind2)
            != VERIFY_ID_OK || memcmp(out, again, sizeof(out)) != 0
            || kind2 != kind) {
            die("normalise is not idempotent");
        }
    }
    else {
        if (out[0] != '\0') {
            die("normalise failed but wrote an output");
        }
        if (kind != VERIFY_ID_KIND_NONE) {
            die("normalise failed but set a kind");
        }
        if (st > VERIFY_ID_CHECKSUM) {
            die("normalise returned an unknown status");
        }
    }
    if (verify_id_strerror(st) == NULL) {
        die("verify_id_strerror gave NULL");
    }

    memset(mask, 'x', sizeof(mask));
    verify_id_mask(in, len, mask);
    mlen = strnlen(mask, sizeof(mask));
    for (i = 0; all_alnum && i < len; i++) {
        all_alnum = alnum((unsigned char)in[i]);
    }
    if (!all_alnum) {
        if (strcmp(mask, "*") != 0) {
            die("mask of a non-ID-shaped input is not \"*\"");
        }
        return;
    }
    if (mlen != VERIFY_ID_LEN) {
        die("mask of an ID-shaped input is not 10 characters");
    }
    for (i = 0; i < VERIFY_ID_LEN; i++) {
        if (i >= 3 && i < 8) {
            if (mask[i] != '*') {
                die("mask shows one of characters 4 to 8");
            }
        }
        else if (mask[i] != up((unsigned char)in[i])) {
            die("mask changed a shown character");
        }
    }
}

static int date_ok(verify_date_t d)
{
    static const unsigned char mdays[12] = {
        31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };
    unsigned y = d / 10000, m = d / 100 % 100, dd = d % 100;

    if (y < 1800 || y > 9999 || m < 1 || m > 12 || dd < 1
        || dd > mdays[m - 1]) {
        return 0;
    }
    if (m == 2 && dd == 29
        && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return 0;
    }
    return 1;
}

static void check_date(const char *s, size_t len)
{
    verify_date_t iso = verify_date_parse_iso(s, len);
    verify_date_t any = verify_date_parse_any(s, len);
    char text[11];

    if (iso && !date_ok(iso)) {
        die("verify_date_parse_iso returned an impossible date");
    }
    if (any && !date_ok(any)) {
        die("verify_date_parse_any returned an impossible date");
    }
    if (iso && any != iso) {
        die("an ISO date is not parsed the same by verify_date_parse_any");
    }
    if (iso) {
        verify_date_format(iso, text);
        if (memcmp(text, s, 10) != 0 || verify_date_parse_iso(text, 10)
            != iso) {
            die("formatting an ISO date does not give it back");
        }
    }
    if (any) {
        verify_date_format(any, text);
        if (verify_date_parse_iso(text, 10) != any) {
            die("a parsed date does not survive formatting");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t i;

    check_id(in, size);
    check_date(in, size);
    /* the interesting lengths, wherever the fuzzer put them */
    if (size <= 64) {
        for (i = 0; i + VERIFY_ID_LEN <= size; i++) {
            check_id(in + i, VERIFY_ID_LEN);
            check_date(in + i, VERIFY_ID_LEN);
        }
        for (i = 6; i <= 9 && i <= size; i++) {
            check_date(in, i);
            check_date(in + size - i, i);
        }
    }
    return 0;
}
