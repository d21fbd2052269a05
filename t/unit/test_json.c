/*
 * test_json.c -- the JSON line writer (verify_json.c): string escaping,
 * UTF-8, truncation, overflow, keys and numbers.
 *
 * Output is cross-checked by parsing it with jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "tap.h"
#include "verify.h"

/* The JSON string produced for s[0..len) with max_out; NUL-terminated
 * copy in a static buffer; *ovf receives the overflow flag. */
static const char *jstr_ovf(const char *s, size_t len, size_t max_out,
                            size_t *outlen, int *ovf)
{
    static char mem[1 << 16];
    static char copy[(1 << 16) + 1];
    verify_jbuf_t b;

    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_jbuf_str(&b, s, len, max_out);
    memcpy(copy, mem, b.len);
    copy[b.len] = '\0';
    if (outlen) {
        *outlen = b.len;
    }
    if (ovf) {
        *ovf = b.overflow;
    }
    return copy;
}

static const char *jstr(const char *s, size_t len, size_t max_out)
{
    return jstr_ovf(s, len, max_out, NULL, NULL);
}

#define JS(lit) jstr((lit), sizeof(lit) - 1, 1000)

/* Parse a JSON string literal with jansson; returns its decoded bytes
 * (malloc'd) and length, or NULL. */
static char *json_decode_str(const char *js, size_t len, size_t *outlen)
{
    json_error_t e;
    json_t *v = json_loadb(js, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    char *r = NULL;

    if (v && json_is_string(v)) {
        *outlen = json_string_length(v);
        r = malloc(*outlen + 1);
        memcpy(r, json_string_value(v), *outlen + 1);
    }
    json_decref(v);
    return r;
}

/* ------------------------------------------------------------------ */
/* JSON strings                                                        */
/* ------------------------------------------------------------------ */

static void test_jbuf_escaping(void)
{
    char in[2], want[16];
    int c, all = 1, json_ok = 1;

    is_str(JS(""), "\"\"", "empty string");
    is_str(JS("abc"), "\"abc\"", "plain ASCII");
    is_str(JS("a\"b"), "\"a\\\"b\"", "quote escaped");
    is_str(JS("a\\b"), "\"a\\\\b\"", "backslash escaped");
    is_str(JS("\"\\\""), "\"\\\"\\\\\\\"\"", "quote backslash quote");
    is_str(JS("/<>&'"), "\"/<>&'\"", "other ASCII punctuation as is");
    is_str(JS(" ~"), "\" ~\"", "space and tilde as is");

    /* every control character and DEL as \u00XX */
    for (c = 0; c <= 0x7f; c++) {
        const char *got;
        size_t glen, dlen;
        char *dec;
        if (c >= 0x20 && c != 0x7f) {
            continue;
        }
        in[0] = (char)c;
        got = jstr_ovf(in, 1, 1000, &glen, NULL);
        snprintf(want, sizeof(want), "\"\\u%04x\"", c);
        if (strcmp(got, want) != 0) {
            all = 0;
            diag("0x%02x -> %s, expected %s", c, got, want);
        }
        dec = json_decode_str(got, glen, &dlen);
        if (!dec || dlen != 1 || dec[0] != (char)c) {
            json_ok = 0;
            diag("0x%02x: jansson decodes %s differently", c, got);
        }
        free(dec);
    }
    ok(all, "every control char 0x00-0x1f and 0x7f escaped as \\u00XX");
    ok(json_ok, "jansson decodes each escape back to its control char");
    is_str(jstr("a\0b", 3, 1000), "\"a\\u0000b\"", "embedded NUL escaped");
    is_str(JS("\r\n\t"), "\"\\u000d\\u000a\\u0009\"", "CR LF TAB escaped");
    is_str(JS("\x1f\x7f"), "\"\\u001f\\u007f\"", "0x1f and DEL escaped");
}

/* Encode code point cp as UTF-8 into out; returns the length. */
static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | cp >> 12);
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/* One class of characters that must come out as \uXXXX: every code
 * point from lo to hi, escaped in lower-case hex, and decoded back by
 * jansson to the same character. */
static void escaped_class(uint32_t lo, uint32_t hi, const char *what)
{
    char in[8], want[16], *dec;
    const char *got;
    size_t n, glen, dlen;
    uint32_t cp;
    int all = 1, json_ok = 1;

    for (cp = lo; cp <= hi; cp++) {
        n = utf8_put(cp, in);
        got = jstr_ovf(in, n, 1000, &glen, NULL);
        snprintf(want, sizeof(want), "\"\\u%04x\"", (unsigned)cp);
        if (strcmp(got, want) != 0) {
            all = 0;
            diag("U+%04X -> %s, expected %s", (unsigned)cp, got, want);
        }
        dec = json_decode_str(got, glen, &dlen);
        if (!dec || dlen != n || memcmp(dec, in, n) != 0) {
            json_ok = 0;
            diag("U+%04X: jansson decodes %s differently", (unsigned)cp, got);
        }
        free(dec);
    }
    ok(all, "%s written as \\uXXXX", what);
    ok(json_ok, "%s: jansson decodes each escape back", what);
}

/* Characters a JSON Lines reader may split a line at (NEL, LS, PS:
 * Python's str.splitlines() does), and controls that change what a
 * terminal shows (C1, bidi), never reach a line raw. */
static void test_jbuf_line_breakers(void)
{
    static const uint32_t kept[] = {
        0xa0, 0x61b, 0x61d, 0x200d, 0x2027, 0x202f, 0x2065, 0x206a, 0x3000
    };
    char in[8], want[16];
    size_t i, n;

    escaped_class(0x80, 0x9f, "C1 controls U+0080-U+009F");
    escaped_class(0x2028, 0x2029, "U+2028 LINE and U+2029 PARAGRAPH "
                  "SEPARATOR");
    escaped_class(0x200e, 0x200f, "bidi marks LRM, RLM (U+200E, U+200F)");
    escaped_class(0x202a, 0x202e, "bidi embeddings and overrides "
                  "U+202A-U+202E");
    escaped_class(0x2066, 0x2069, "bidi isolates U+2066-U+2069");
    escaped_class(0x061c, 0x061c, "ARABIC LETTER MARK U+061C");
    for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        n = utf8_put(kept[i], in);
        in[n] = '\0';
        snprintf(want, sizeof(want), "\"%s\"", in);
        is_str(jstr(in, n, 1000), want, "U+%04X next to them passes as is",
               (unsigned)kept[i]);
    }
    is_str(JS("a\xe2\x80\xa8" "b\xc2\x85" "c\xe2\x80\xae"),
           "\"a\\u2028b\\u0085c\\u202e\"", "escaped inside other text");
    is_str(jstr("\xe2\x80\xa8z", 4, 5), "\"\xe2\x80\xa6\"",
           "\\u2028 (6 bytes) not split at max 5");
    is_str(jstr("\xe2\x80\xa8z", 4, 6), "\"\\u2028\xe2\x80\xa6\"",
           "\\u2028 kept at max 6");
}

static void test_jbuf_utf8(void)
{
    static const struct { const char *s; const char *what; } valid[] = {
        { "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e", "CJK 王小明" },
        { "\xc3\xa9", "U+00E9" },
        { "\xc2\xa0", "U+00A0 (lowest 2-byte after the C1 controls)" },
        { "\xdf\xbf", "U+07FF (highest 2-byte)" },
        { "\xe0\xa0\x80", "U+0800 (lowest 3-byte)" },
        { "\xed\x9f\xbf", "U+D7FF (below surrogates)" },
        { "\xee\x80\x80", "U+E000 (above surrogates)" },
        { "\xef\xbf\xbd", "U+FFFD itself" },
        { "\xef\xbf\xbf", "U+FFFF" },
        { "\xe2\x82\xac", "euro sign" },
        { "\xf0\x90\x80\x80", "U+10000 (lowest 4-byte)" },
        { "\xf0\x9f\x98\x80", "emoji" },
        { "\xf4\x8f\xbf\xbf", "U+10FFFF (highest)" },
        { "\xe3\x80\x80", "ideographic space" },
    };
    static const struct { const char *s; size_t len; int max; const char *what; }
    invalid[] = {
        { "\x80", 1, 1, "lone continuation byte" },
        { "\xbf", 1, 1, "lone continuation 0xbf" },
        { "\xc0\x80", 2, 2, "overlong NUL (c0 80)" },
        { "\xc1\xbf", 2, 2, "overlong 2-byte (c1 bf)" },
        { "\xe0\x80\x80", 3, 3, "overlong 3-byte (e0 80 80)" },
        { "\xe0\x9f\xbf", 3, 3, "overlong 3-byte (e0 9f bf)" },
        { "\xf0\x80\x80\x80", 4, 4, "overlong 4-byte (f0 80 80 80)" },
        { "\xf0\x8f\xbf\xbf", 4, 4, "overlong 4-byte (f0 8f bf bf)" },
        { "\xed\xa0\x80", 3, 3, "surrogate U+D800" },
        { "\xed\xbf\xbf", 3, 3, "surrogate U+DFFF" },
        { "\xed\xa0\xbd\xed\xb8\x80", 6, 6, "CESU-8 surrogate pair" },
        { "\xf4\x90\x80\x80", 4, 4, "above U+10FFFF" },
        { "\xf5\x80\x80\x80", 4, 4, "f5 lead byte" },
        { "\xf8\x88\x80\x80\x80", 5, 5, "5-byte form" },
        { "\xfe", 1, 1, "0xfe" },
        { "\xff", 1, 1, "0xff" },
        { "\xe4\xb8", 2, 2, "truncated 3-byte at end" },
        { "\xf0\x9f\x98", 3, 3, "truncated 4-byte at end" },
        { "\xc3", 1, 1, "truncated 2-byte at end" },
        { "\xe4\xb8\x41", 2, 2, "3-byte cut short by ASCII" },
    };
    size_t i;

    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), "\"%s\"", valid[i].s);
        is_str(jstr(valid[i].s, strlen(valid[i].s), 1000), want,
               "valid UTF-8 passed through: %s", valid[i].what);
    }
    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        /* "<" + bytes + ">" must come out as "<" + k * U+FFFD + tail ">"
         * (and any ASCII that was part of it), with 1 <= k <= bytes */
        char in[32], *dec;
        const char *got;
        size_t glen, dlen, k = 0, j;
        int good;

        in[0] = '<';
        memcpy(in + 1, invalid[i].s, invalid[i].len);
        in[1 + invalid[i].len] = '>';
        got = jstr_ovf(in, invalid[i].len + 2, 1000, &glen, NULL);
        good = verify_utf8_scan(got, glen) == glen && got[0] == '"'
               && got[1] == '<' && glen >= 4;
        j = 2;
        while (good && j + 3 <= glen && memcmp(got + j, "\xef\xbf\xbd", 3)
               == 0) {
            k++;
            j += 3;
        }
        /* the 3-byte-cut-by-ASCII case keeps its 'A' */
        if (good && strchr(invalid[i].s, 'A') && got[j] == 'A') {
            j++;
        }
        good = good && k >= 1 && k <= (size_t)invalid[i].max
               && strcmp(got + j, ">\"") == 0;
        ok(good, "invalid UTF-8 replaced by U+FFFD: %s (%zu x U+FFFD)",
           invalid[i].what, k);
        if (!good) {
            diag("output: %s", got);
        }
        dec = json_decode_str(got, glen, &dlen);
        ok(dec != NULL, "output for %s is a JSON string", invalid[i].what);
        free(dec);
    }
    is_str(jstr("a\x80z", 3, 1000), "\"a\xef\xbf\xbdz\"",
           "one stray byte becomes exactly one U+FFFD");
}

/* Longest prefix of s (in whole input elements) whose escaped form fits
 * in max bytes, computed with the unlimited escaper. */
static void test_jbuf_truncation(void)
{
    static const char han[] = "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e";
    unsigned long r = 99;
    int t, prop_ok = 1;

    is_str(jstr("abcdef", 6, 6), "\"abcdef\"", "exactly max_out: no cut");
    is_str(jstr("abcdef", 6, 5), "\"abcde\xe2\x80\xa6\"",
           "one byte over: cut with an ellipsis");
    is_str(jstr("abcdef", 6, 0), "\"\xe2\x80\xa6\"", "max_out 0: ellipsis only");
    is_str(jstr("", 0, 0), "\"\"", "empty string, max_out 0: nothing cut");
    is_str(jstr(han, 9, 9), "\"\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e\"",
           "3 CJK chars in 9 bytes: whole");
    is_str(jstr(han, 9, 8), "\"\xe7\x8e\x8b\xe5\xb0\x8f\xe2\x80\xa6\"",
           "3 CJK chars, max 8: two chars and an ellipsis");
    is_str(jstr(han, 9, 5), "\"\xe7\x8e\x8b\xe2\x80\xa6\"",
           "3 CJK chars, max 5: one char and an ellipsis");
    is_str(jstr(han, 9, 2), "\"\xe2\x80\xa6\"",
           "3 CJK chars, max 2: ellipsis only");
    is_str(jstr("ab\"c", 4, 3), "\"ab\xe2\x80\xa6\"",
           "an escape is never split (\\\" needs 2 bytes)");
    is_str(jstr("ab\"c", 4, 4), "\"ab\\\"\xe2\x80\xa6\"",
           "escape kept whole when it fits");
    is_str(jstr("\x01z", 2, 5), "\"\xe2\x80\xa6\"",
           "\\u0001 (6 bytes) not split at max 5");
    is_str(jstr("\x01z", 2, 6), "\"\\u0001\xe2\x80\xa6\"",
           "\\u0001 kept at max 6");
    is_str(jstr("\xff", 1, 2), "\"\xe2\x80\xa6\"",
           "U+FFFD (3 bytes) not split at max 2");
    is_str(jstr("\xf0\x9f\x98\x80!", 5, 4), "\"\xf0\x9f\x98\x80\xe2\x80\xa6\"",
           "4-byte char kept whole at max 4");
    is_str(jstr("\xf0\x9f\x98\x80!", 5, 3), "\"\xe2\x80\xa6\"",
           "4-byte char not split at max 3");

    /* property: for random mixed input and every max_out, the content
     * before the ellipsis is the escaped form of a whole-element prefix,
     * is at most max_out bytes, and is the longest that fits. */
    for (t = 0; t < 300 && prop_ok; t++) {
        static const char *pieces[] = {
            "a", "Z", "\"", "\\", "\x01", "\x7f", "\n",
            "\xc3\xa9", "\xe7\x8e\x8b", "\xf0\x9f\x98\x80", "\x80", "\xff",
            "\xed\xa0\x80", "\xe4\xb8",
        };
        char in[128];
        size_t inlen = 0, max, full_len;
        size_t np, k;
        char full[4096];

        r = r * 1103515245 + 12345;
        np = 1 + (r >> 8) % 12;
        for (k = 0; k < np; k++) {
            const char *pc;
            r = r * 1103515245 + 12345;
            pc = pieces[(r >> 8) % (sizeof(pieces) / sizeof(pieces[0]))];
            memcpy(in + inlen, pc, strlen(pc));
            inlen += strlen(pc);
        }
        strcpy(full, jstr(in, inlen, 100000));
        full_len = strlen(full);
        for (max = 0; max <= full_len; max++) {
            size_t glen, clen, best = 0, cut;
            char got[4096];
            int cutting;

            const char *g0 = jstr_ovf(in, inlen, max, &glen, NULL);

            memcpy(got, g0, glen + 1);
            cutting = glen >= 5 && memcmp(got + glen - 4,
                                              "\xe2\x80\xa6\"", 4) == 0
                          && full_len - 2 > max;
            clen = glen - 2 - (cutting ? 3 : 0);
            /* the candidate escaped prefixes */
            for (cut = 0; cut <= inlen; cut++) {
                const char *pre = jstr(in, cut, 100000);
                size_t pl = strlen(pre) - 2;
                if (pl <= max && strncmp(pre + 1, full + 1, pl) == 0
                    && pl > best) {
                    best = pl;
                }
            }
            if (full_len - 2 <= max) {
                if (strcmp(got, full) != 0) {
                    prop_ok = 0;
                }
            }
            else if (!cutting || clen != best
                     || memcmp(got + 1, full + 1, clen) != 0) {
                prop_ok = 0;
            }
            if (!prop_ok) {
                diag("input case %d, max %zu: got %s (full %s, best %zu)", t,
                     max, got, full, best);
                break;
            }
        }
    }
    ok(prop_ok, "truncation property holds for 300 random inputs at every "
       "max_out");
}

static void test_jbuf_overflow(void)
{
    char mem[64];
    verify_jbuf_t b;

    verify_jbuf_init(&b, mem, 4);
    verify_jbuf_str(&b, "ab", 2, 100);
    ok(!b.overflow && b.len == 4 && memcmp(mem, "\"ab\"", 4) == 0,
       "\"ab\" fits a 4-byte buffer exactly");
    verify_jbuf_init(&b, mem, 3);
    verify_jbuf_str(&b, "ab", 2, 100);
    ok(b.overflow && b.len <= 3, "\"ab\" overflows a 3-byte buffer");
    verify_jbuf_raw(&b, "", 0);
    VERIFY_JRAW(&b, "x");
    ok(b.overflow && b.len <= 3, "after overflow, later writes are dropped");
    verify_jbuf_init(&b, mem, 10);
    verify_jbuf_str(&b, "\x01\x02", 2, 100);   /* needs 14 bytes */
    ok(b.overflow && b.len <= 10, "escapes overflowing a 10-byte buffer");
    verify_jbuf_init(&b, mem, 10);
    verify_jbuf_str(&b, "abcdefghijklmnop", 16, 4);  /* "abcd…" = 9 */
    ok(!b.overflow && b.len == 9, "a truncated string fits (9 bytes)");
    verify_jbuf_init(&b, mem, 8);
    verify_jbuf_str(&b, "abcdefghijklmnop", 16, 4);
    ok(b.overflow, "but not in 8 bytes: overflow set");

    verify_jbuf_init(&b, mem, sizeof(mem));
    VERIFY_JRAW(&b, "{");
    verify_jbuf_key(&b, "n");
    verify_jbuf_u64(&b, 0);
    VERIFY_JRAW(&b, ",");
    verify_jbuf_key(&b, "m");
    verify_jbuf_u64(&b, UINT64_MAX);
    VERIFY_JRAW(&b, "}");
    mem[b.len] = '\0';
    is_str(mem, "{\"n\":0,\"m\":18446744073709551615}", "key and u64");
    ok(!b.overflow, "no overflow");
}

int main(void)
{
    test_jbuf_escaping();
    test_jbuf_line_breakers();
    test_jbuf_utf8();
    test_jbuf_truncation();
    test_jbuf_overflow();
    return done_testing();
}
