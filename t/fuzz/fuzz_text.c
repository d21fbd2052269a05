/*
 * fuzz_text.c -- libFuzzer target: the checks of free text on the
 * request path that need no store, key or connection: UTF-8 (clean,
 * scan, decode, chars), personal data in case and reason
 * (verify_pii_next, verify_pii_mask) and the normal form of names.
 *
 * Input: one control byte (the kinds looked for: bits 0-1, and the size
 * of the name buffer: the rest), then the text.
 *
 * Invariants checked (abort() on violation):
 *  - UTF-8: clean text is valid (scan gives its length); decoding valid
 *    text step by step consumes it exactly, one code point at a time,
 *    as many as verify_utf8_chars counts; a decoded sequence is 1-4
 *    bytes, never a surrogate nor above U+10FFFF.
 *  - spans: inside the text, non-empty, of a kind asked, each starting
 *    at or after the end of the one before, never over invalid UTF-8.
 *  - mask: nothing found gives the text itself; something found gives a
 *    NUL-terminated copy of the length told, in which no span of the
 *    kinds asked is found again, and which is valid UTF-8 when the text
 *    was.
 *  - name: the normal form fits its buffer, is NUL-terminated, has no
 *    lower-case ASCII letter, and (when not cut to the buffer) no ASCII
 *    space at either end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "verify.h"
#include "verify_pii.h"
#include "verify_text.h"

static void die(const char *what)
{
    fprintf(stderr, "fuzz_text: invariant violated: %s\n", what);
    abort();
}

static void check_utf8(const char *s, size_t len)
{
    size_t scan = verify_utf8_scan(s, len), at, n = 0, k;
    uint32_t cp;

    if (verify_utf8_clean(s, len) && scan != len) {
        die("clean text that is not valid UTF-8");
    }
    if (scan > len) {
        die("scan past the end");
    }
    if (scan != len) {
        return;
    }
    for (at = 0; at < len; at += k, n++) {
        k = verify_utf8_decode(s + at, len - at, &cp);
        if (k < 1 || k > 4 || at + k > len) {
            die("valid text that does not decode");
        }
        if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
            die("decoded a surrogate or a code point above U+10FFFF");
        }
    }
    if (n != verify_utf8_chars(s, len)) {
        die("chars does not count the code points decoded");
    }
}

static void check_pii(const char *s, size_t len, unsigned kinds,
                      apr_pool_t *p)
{
    verify_pii_span_t sp, again;
    size_t from = 0, outlen = (size_t)-1;
    unsigned found = 0, seen = 0;
    const char *m;
    int valid = verify_utf8_scan(s, len) == len;

    while (verify_pii_next(s, len, from, kinds, &sp)) {
        if (sp.start < from || sp.end <= sp.start || sp.end > len
            || !(sp.kind & kinds)) {
            die("a span out of order, empty, outside or of another kind");
        }
        if (verify_utf8_scan(s + sp.start, sp.end - sp.start)
            != sp.end - sp.start) {
            die("a span over invalid UTF-8");
        }
        seen |= sp.kind;
        from = sp.end;
    }
    m = verify_pii_mask(s, len, kinds, &outlen, &found, p);
    if (!found) {
        if (m != s || outlen != len) {
            die("nothing found but the text changed");
        }
        return;
    }
    if (m == s || m[outlen] != '\0') {
        die("a masked text that is not a NUL-terminated copy");
    }
    if (verify_pii_next(m, outlen, 0, kinds, &again)) {
        die("personal data found again in the masked text");
    }
    if (valid && verify_utf8_scan(m, outlen) != outlen) {
        die("masking made valid UTF-8 invalid");
    }
    if (!(found & kinds)) {
        die("found a kind not asked");
    }
    (void)seen;
}

static void check_name(const char *s, size_t len, size_t cap)
{
    char out[512];
    size_t n, i;

    memset(out, 'x', sizeof(out));
    n = verify_name_normalise(s, len, out, cap);
    if (n >= cap || out[n] != '\0') {
        die("a name that does not fit or is not terminated");
    }
    /* (cut to the buffer, the form may end anywhere: the callers' buffers
     * hold 512 bytes, names are at most 64 characters) */
    if (n && len < cap && (out[0] == ' ' || out[n - 1] == ' ')) {
        die("a name with a space at an end");
    }
    for (i = 0; i < n; i++) {
        if (out[i] >= 'a' && out[i] <= 'z') {
            die("a name with a lower-case letter");
        }
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static apr_pool_t *root;
    apr_pool_t *p;
    char *s;
    size_t len, cap;
    unsigned kinds;

    if (!root) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    if (size < 1) {
        return 0;
    }
    kinds = data[0] & 3u;
    cap = 1 + (size_t)(data[0] >> 2) * 8;   /* 1 .. 505 */
    apr_pool_create(&p, root);
    /* a malloc()ed copy of exactly the text: ASan sees a read past its
     * end (pool memory is not poisoned between allocations) */
    len = size - 1;
    s = malloc(len ? len : 1);
    if (!s) {
        abort();
    }
    memcpy(s, data + 1, len);
    check_utf8(s, len);
    if (kinds) {
        check_pii(s, len, kinds, p);
    }
    check_name(s, len, cap);
    apr_pool_destroy(p);
    free(s);
    return 0;
}
