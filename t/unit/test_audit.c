/*
 * test_audit.c -- JSON string escaping, UTF-8 helpers, the sealed audit
 * line and its chain, and finding the chain head in a directory.
 *
 * Hashes are recomputed here with OpenSSL's EVP API; JSON output is
 * cross-checked by parsing it with jansson.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <jansson.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "verify.h"

static apr_pool_t *pool;

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

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

static void sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    EVP_DigestUpdate(c, data, len);
    EVP_DigestFinal_ex(c, md, &n);
    EVP_MD_CTX_free(c);
    for (i = 0; i < n; i++) {
        sprintf(hex + 2 * i, "%02x", md[i]);
    }
    hex[2 * n] = '\0';
}

static void tohex(const unsigned char *in, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", in[i]);
    }
    out[2 * n] = '\0';
}

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw)
{
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *dir, const char *name, const char *data,
                       size_t len)
{
    char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        diag("cannot write %s", path);
        exit(2);
    }
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

static void test_jbuf_utf8(void)
{
    static const struct { const char *s; const char *what; } valid[] = {
        { "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e", "CJK 王小明" },
        { "\xc3\xa9", "U+00E9" },
        { "\xc2\x80", "U+0080 (lowest 2-byte)" },
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

static void test_utf8_helpers(void)
{
#define CLEAN(lit) verify_utf8_clean((lit), sizeof(lit) - 1)
#define SCAN(lit) verify_utf8_scan((lit), sizeof(lit) - 1)
#define CHARS(lit) verify_utf8_chars((lit), sizeof(lit) - 1)
    is_int(CLEAN(""), 1, "clean: empty");
    is_int(CLEAN("Wang Xiao-ming"), 1, "clean: ASCII name");
    is_int(CLEAN("\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e"), 1, "clean: CJK name");
    is_int(CLEAN("\xf0\x9f\x98\x80"), 1, "clean: 4-byte char");
    is_int(CLEAN("a\tb"), 0, "clean: TAB refused");
    is_int(CLEAN("a\nb"), 0, "clean: LF refused");
    is_int(CLEAN("a\0b"), 0, "clean: NUL refused");
    is_int(CLEAN("\x1f"), 0, "clean: 0x1f refused");
    is_int(CLEAN("a\x7f"), 0, "clean: DEL refused");
    is_int(CLEAN("a\x80"), 0, "clean: stray continuation refused");
    is_int(CLEAN("\xc0\xaf"), 0, "clean: overlong refused");
    is_int(CLEAN("\xed\xa0\x80"), 0, "clean: surrogate refused");
    is_int(CLEAN("\xe7\x8e"), 0, "clean: truncated char refused");
    is_int(verify_utf8_clean("ab\xe7\x8e\x8b", 4), 0,
           "clean: char cut by len refused");

    is_int(SCAN(""), 0, "scan: empty -> 0");
    is_int(SCAN("abc"), 3, "scan: valid -> len");
    is_int(SCAN("a\tb\x7f"), 4, "scan: control chars are valid UTF-8");
    is_int(SCAN("ab\xff" "cd"), 2, "scan: 0xff at 2");
    is_int(SCAN("\xe7\x8e\x8b\x80"), 3, "scan: stray continuation at 3");
    is_int(SCAN("\xe7\x8e\x8b\xe7\x8e"), 3, "scan: truncated char at 3");
    is_int(SCAN("ab\xc0\x80"), 2, "scan: overlong at 2");
    is_int(SCAN("ab\xed\xbf\xbf"), 2, "scan: surrogate at 2");
    is_int(SCAN("\xf4\x90\x80\x80"), 0, "scan: above U+10FFFF at 0");
    is_int(SCAN("\xf4\x8f\xbf\xbf"), 4, "scan: U+10FFFF valid");

    is_int(CHARS(""), 0, "chars: empty");
    is_int(CHARS("abc"), 3, "chars: ASCII");
    is_int(CHARS("\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e"), 3, "chars: 3 CJK");
    is_int(CHARS("a\xc3\xa9\xe7\x8e\x8b\xf0\x9f\x98\x80"), 4,
           "chars: 1+2+3+4-byte mix");
#undef CLEAN
#undef SCAN
#undef CHARS
}

/* ------------------------------------------------------------------ */
/* sealed lines                                                        */
/* ------------------------------------------------------------------ */

#define NLINES 6

static char lines[NLINES][VERIFY_AUDIT_LINE_MAX];
static size_t lens[NLINES];          /* without the newline */
static verify_chain_t after[NLINES]; /* chain state after each line */
static apr_time_t t0;

static size_t make_body(char *out, size_t cap, int i, const char *extra)
{
    verify_jbuf_t b;
    char rid[32];

    verify_jbuf_init(&b, out, cap);
    snprintf(rid, sizeof(rid), "req-%d", i);
    VERIFY_JRAW(&b, ",");
    verify_jbuf_key(&b, "request_id");
    verify_jbuf_str(&b, rid, strlen(rid), 64);
    VERIFY_JRAW(&b, ",");
    verify_jbuf_key(&b, "client");
    verify_jbuf_str(&b, extra, strlen(extra), 200);
    VERIFY_JRAW(&b, ",");
    verify_jbuf_key(&b, "status");
    verify_jbuf_u64(&b, 200);
    return b.overflow ? 0 : b.len;
}

static void test_seal(void)
{
    verify_chain_t chain;
    char body[1024], hex[65], ts[VERIFY_TS_LEN + 1], want[256];
    int i, hash_ok = 1, json_ok = 1, frame_ok = 1;

    memset(&chain, 0, sizeof(chain));
    t0 = apr_time_from_sec(1795708799) + 123456;  /* 2026-11-26T23:59:59 */
    for (i = 0; i < NLINES; i++) {
        size_t blen = make_body(body, sizeof(body), i + 1,
                                i == 2 ? "quote \" and \xe7\x8e\x8b"
                                       : "hospital-a");
        size_t n = verify_audit_seal(&chain, t0 + i * 1000000, body, blen,
                                     lines[i], sizeof(lines[i]));
        json_error_t e;
        json_t *j;

        if (n == 0 || lines[i][n - 1] != '\n') {
            frame_ok = 0;
            diag("seal %d returned %zu", i + 1, n);
            continue;
        }
        lens[i] = n - 1;
        after[i] = chain;
        /* hash = SHA-256 of everything except the last 75 bytes */
        sha256_hex(lines[i], lens[i] - 75, hex);
        tohex(chain.hash, 32, want);
        if (strncmp(lines[i] + lens[i] - 66, hex, 64) != 0
            || strcmp(want, hex) != 0 || chain.seq != (uint64_t)i + 1) {
            hash_ok = 0;
            diag("line %d hash mismatch", i + 1);
        }
        /* prev is the previous hash (64 zeros for the first) */
        if (i == 0) {
            memset(want, '0', 64);
            want[64] = '\0';
        }
        else {
            tohex(after[i - 1].hash, 32, want);
        }
        if (memcmp(lines[i] + lens[i] - 75 - 65, want, 64) != 0
            || memcmp(lines[i] + lens[i] - 75 - 74, ",\"prev\":\"", 9) != 0
            || memcmp(lines[i] + lens[i] - 75, ",\"hash\":\"", 9) != 0) {
            frame_ok = 0;
            diag("line %d prev/hash framing wrong", i + 1);
        }
        verify_time_format_us(t0 + i * 1000000, ts);
        snprintf(want, sizeof(want), "{\"seq\":%d,\"ts\":\"%s\",", i + 1, ts);
        if (strncmp(lines[i], want, strlen(want)) != 0
            || memcmp(lines[i] + strlen(want) - 1, body, blen) != 0) {
            frame_ok = 0;
            diag("line %d head wrong: %.80s", i + 1, lines[i]);
        }
        j = json_loadb(lines[i], n, 0, &e);
        if (!j || json_integer_value(json_object_get(j, "seq")) != i + 1
            || !json_is_string(json_object_get(j, "hash"))
            || !json_is_string(json_object_get(j, "prev"))
            || json_integer_value(json_object_get(j, "status")) != 200) {
            json_ok = 0;
            diag("line %d is not the expected JSON: %s", i + 1,
                 j ? "members" : e.text);
        }
        json_decref(j);
    }
    ok(frame_ok, "%d lines sealed: {\"seq\":N,\"ts\":...BODY,\"prev\":...,"
       "\"hash\":...}\\n", NLINES);
    ok(hash_ok, "each hash = SHA-256 (EVP) of the line minus its last 75 "
       "bytes; chain advances");
    ok(json_ok, "each line is a JSON object jansson reads");
    is_str(apr_pstrndup(pool, lines[0] + 15, VERIFY_TS_LEN),
           "2026-11-26T23:59:59.123456+08:00", "ts of the first line");

    {
        verify_chain_t h;
        ok(verify_audit_line_head(lines[3], lens[3], &h) == 0 && h.seq == 4
           && memcmp(h.hash, after[3].hash, 32) == 0,
           "verify_audit_line_head reads seq and hash");
        ok(verify_audit_line_head("{\"seq\":4}", 9, &h) != 0,
           "verify_audit_line_head refuses garbage");
    }
    {
        verify_chain_t c = { 999, { 0 } };
        char out[VERIFY_AUDIT_LINE_MAX];
        size_t n = verify_audit_seal(&c, t0, "", 0, out, sizeof(out));
        ok(n > 0 && strncmp(out, "{\"seq\":1000,\"ts\":", 17) == 0
           && c.seq == 1000, "seq after 999 is 1000");
    }
}

static void test_chain_ok(void)
{
    verify_chain_t c;
    int i, st_all = 0;

    memset(&c, 0, sizeof(c));
    for (i = 0; i < NLINES; i++) {
        int st = verify_audit_check_line(&c, lines[i], lens[i], 0);
        if (st == VERIFY_LINE_OK && c.seq == after[i].seq
            && memcmp(c.hash, after[i].hash, 32) == 0) {
            st_all++;
        }
        else {
            diag("line %d: status %d", i + 1, st);
        }
    }
    is_int(st_all, NLINES, "the whole chain checks OK from a zero chain");

    memset(&c, 0, sizeof(c));
    is_int(verify_audit_check_line(&c, lines[2], lens[2], 1), VERIFY_LINE_OK,
           "picked up mid-way (first set): line 3 OK");
    ok(c.seq == 3 && memcmp(c.hash, after[2].hash, 32) == 0,
       "chain advanced to line 3");
    is_int(verify_audit_check_line(&c, lines[3], lens[3], 0), VERIFY_LINE_OK,
           "then line 4 OK");

    memset(&c, 0, sizeof(c));
    is_int(verify_audit_check_line(&c, lines[2], lens[2], 0), VERIFY_LINE_PREV,
           "mid-way without first: prev mismatch");
    ok(c.seq == 0, "chain not advanced on a fault");
}

static void test_chain_faults(void)
{
    verify_chain_t c, fake;
    char buf[VERIFY_AUDIT_LINE_MAX + 8];
    char body[512];
    size_t n, blen, p, hash_from, hash_to;
    int never_ok = 1, content_hash = 1, hashfield = 1;
    const char *q;

    /* one flipped byte anywhere: never OK; inside ts..body: HASH */
    q = strstr(lines[1], ",\"ts\":");
    hash_from = (size_t)(q - lines[1]) + 1;   /* after the ',' */
    hash_to = lens[1] - 75 - 74;       /* start of ,"prev": */
    for (p = 0; p < lens[1]; p++) {
        int st;
        memcpy(buf, lines[1], lens[1]);
        buf[p] ^= 0x01;
        c = after[0];
        st = verify_audit_check_line(&c, buf, lens[1], 0);
        if (st == VERIFY_LINE_OK) {
            never_ok = 0;
            diag("flip at %zu accepted", p);
        }
        if (p >= hash_from && p < hash_to && st != VERIFY_LINE_HASH) {
            content_hash = 0;
            diag("flip at %zu in content: status %d", p, st);
        }
        if (p >= lens[1] - 66 && p < lens[1] - 2
            && st != VERIFY_LINE_HASH && st != VERIFY_LINE_SYNTAX) {
            hashfield = 0;
        }
    }
    ok(never_ok, "a flipped bit at any of the %zu positions is caught",
       lens[1]);
    ok(content_hash, "a flipped bit in ts/body is a HASH fault");
    ok(hashfield, "a flipped bit in the hash value is HASH or SYNTAX");

    /* a changed character in the body, same length */
    memcpy(buf, lines[1], lens[1]);
    q = strstr(buf, "req-2");
    buf[q - buf + 4] = '9';
    c = after[0];
    is_int(verify_audit_check_line(&c, buf, lens[1], 0), VERIFY_LINE_HASH,
           "request_id req-2 -> req-9: HASH");
    ok(c.seq == 1 && memcmp(c.hash, after[0].hash, 32) == 0,
       "chain unchanged after a HASH fault");

    /* a removed line */
    c = after[0];
    is_int(verify_audit_check_line(&c, lines[2], lens[2], 0), VERIFY_LINE_PREV,
           "line 2 removed: line 3 after line 1 is PREV");
    /* a replayed line */
    c = after[1];
    is_int(verify_audit_check_line(&c, lines[1], lens[1], 0), VERIFY_LINE_PREV,
           "line 2 replayed after itself: PREV");
    /* swapped lines */
    c = after[0];
    is_int(verify_audit_check_line(&c, lines[3], lens[3], 0), VERIFY_LINE_PREV,
           "line 4 right after line 1 (lines 2-3 gone): PREV");

    /* only seq wrong: seal with a chain whose seq is off, prev right */
    blen = make_body(body, sizeof(body), 77, "forger");
    fake = after[1];
    fake.seq += 1;                          /* would write seq 4 */
    n = verify_audit_seal(&fake, t0, body, blen, buf, sizeof(buf));
    c = after[1];
    is_int(verify_audit_check_line(&c, buf, n - 1, 0), VERIFY_LINE_SEQ,
           "seq skips one (prev and hash right): SEQ");
    ok(c.seq == 2, "chain unchanged after a SEQ fault");
    fake = after[1];
    fake.seq -= 1;                          /* writes seq 2 again */
    n = verify_audit_seal(&fake, t0, body, blen, buf, sizeof(buf));
    c = after[1];
    is_int(verify_audit_check_line(&c, buf, n - 1, 0), VERIFY_LINE_SEQ,
           "seq repeats (prev and hash right): SEQ");
    fake = after[1];
    fake.seq = 1000000;
    n = verify_audit_seal(&fake, t0, body, blen, buf, sizeof(buf));
    c = after[1];
    is_int(verify_audit_check_line(&c, buf, n - 1, 0), VERIFY_LINE_SEQ,
           "seq jumps far ahead: SEQ");
    /* right seq, wrong prev, hash recomputed */
    fake = after[1];
    fake.hash[0] ^= 0x80;
    n = verify_audit_seal(&fake, t0, body, blen, buf, sizeof(buf));
    c = after[1];
    is_int(verify_audit_check_line(&c, buf, n - 1, 0), VERIFY_LINE_PREV,
           "right seq, prev of another chain: PREV");
    /* both wrong: prev is checked first */
    fake = after[0];
    n = verify_audit_seal(&fake, t0, body, blen, buf, sizeof(buf));
    c = after[1];
    is_int(verify_audit_check_line(&c, buf, n - 1, 0), VERIFY_LINE_PREV,
           "seq and prev both stale: PREV");
    /* a forged line with the right seq and prev is, of course, OK */
    fake = after[1];
    n = verify_audit_seal(&fake, t0, body, blen, buf, sizeof(buf));
    c = after[1];
    is_int(verify_audit_check_line(&c, buf, n - 1, 0), VERIFY_LINE_OK,
           "a correctly chained line is OK (control case)");

    /* garbage */
    {
        static const char *garbage[] = {
            "", "hello", "{}", "{\"seq\":1}", "null",
            "{\"seq\":1,\"ts\":\"x\"}",
        };
        size_t i;
        for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
            c = after[0];
            is_int(verify_audit_check_line(&c, garbage[i], strlen(garbage[i]),
                                           0), VERIFY_LINE_SYNTAX,
                   "garbage \"%s\": SYNTAX", garbage[i]);
        }
    }
    c = after[0];
    is_int(verify_audit_check_line(&c, lines[1], lens[1] + 1, 0),
           VERIFY_LINE_SYNTAX, "line with its newline: SYNTAX");
    c = after[0];
    is_int(verify_audit_check_line(&c, lines[1], lens[1] - 1, 0),
           VERIFY_LINE_SYNTAX, "line missing its last byte: SYNTAX");
    c = after[0];
    is_int(verify_audit_check_line(&c, lines[1] + 1, lens[1] - 1, 0),
           VERIFY_LINE_SYNTAX, "line missing its first byte: SYNTAX");
    memcpy(buf, lines[1], lens[1]);
    memcpy(buf + lens[1] - 66, "ABCDEF", 6);
    c = after[0];
    is_int(verify_audit_check_line(&c, buf, lens[1], 0), VERIFY_LINE_SYNTAX,
           "upper-case hex in hash: SYNTAX");
    memcpy(buf, lines[1], lens[1]);
    buf[7] = 'x';
    c = after[0];
    is_int(verify_audit_check_line(&c, buf, lens[1], 0), VERIFY_LINE_SYNTAX,
           "non-numeric seq: SYNTAX");
    {
        char *big = malloc(8000);
        memset(big, 'x', 8000);
        c = after[0];
        is_int(verify_audit_check_line(&c, big, 8000, 0), VERIFY_LINE_SYNTAX,
               "8000 bytes of x: SYNTAX");
        memcpy(big, "{\"seq\":", 7);
        memset(big + 7, '9', 7000);
        is_int(verify_audit_check_line(&c, big, 8000, 0), VERIFY_LINE_SYNTAX,
               "a seq of 7000 digits: SYNTAX");
        free(big);
    }
    {
        /* a seq beyond 2^64-1 refused; spacing variants refused */
        char *s = apr_pstrcat(pool, "{\"seq\":99999999999999999999",
                              lines[1] + 8, NULL);
        c = after[0];
        is_int(verify_audit_check_line(&c, s, strlen(s) - 1, 0),
               VERIFY_LINE_SYNTAX, "a seq beyond 2^64-1: SYNTAX");
        s = apr_pstrcat(pool, "{ \"seq\":2", lines[1] + 8, NULL);
        c = after[0];
        is_int(verify_audit_check_line(&c, s, strlen(s) - 1, 0),
               VERIFY_LINE_SYNTAX, "a space after '{': SYNTAX");
    }
}

static void test_line_limit(void)
{
    verify_chain_t c;
    char *body = malloc(1 << 20);
    char *out = malloc(2 << 20);
    size_t base, n, blen;
    int all_short = 1, boundary = -1, any_zero_advanced = 0;

    memset(body, 'x', 1 << 20);
    memset(&c, 0, sizeof(c));
    base = verify_audit_seal(&c, t0, "", 0, out, 2 << 20);
    ok(base > 0, "an empty body seals (%zu bytes)", base);

    for (blen = 0; blen <= 5000; blen++) {
        verify_chain_t cc = c;
        n = verify_audit_seal(&cc, t0, body, blen, out, 2 << 20);
        if (n >= VERIFY_AUDIT_LINE_MAX) {
            all_short = 0;
            diag("body %zu gave a %zu-byte line", blen, n);
        }
        if (n == 0 && boundary < 0) {
            boundary = (int)blen;
        }
        if (n == 0 && (cc.seq != c.seq || memcmp(cc.hash, c.hash, 32))) {
            any_zero_advanced = 1;
        }
        if (n > 0 && (out[n - 1] != '\n' || memchr(out, '\n', n - 1))) {
            all_short = 0;
        }
    }
    ok(all_short, "bodies of 0..5000 bytes: every line < %d bytes, one "
       "newline at the end", VERIFY_AUDIT_LINE_MAX);
    ok(boundary > 0, "some body size is refused (first at %d)", boundary);
    {
        verify_chain_t cc = c;
        n = verify_audit_seal(&cc, t0, body, (size_t)boundary - 1, out,
                              2 << 20);
        is_int((long long)n, VERIFY_AUDIT_LINE_MAX - 1,
               "the largest line is exactly %d bytes with its newline",
               VERIFY_AUDIT_LINE_MAX - 1);
        cc = c;
        is_int((long long)verify_audit_seal(&cc, t0, body, (size_t)boundary,
                                            out, 2 << 20), 0,
               "one more body byte: seal returns 0");
    }
    ok(!any_zero_advanced, "a refused seal leaves the chain as it was");
    {
        verify_chain_t cc = c;
        is_int((long long)verify_audit_seal(&cc, t0, body, 1 << 20, out,
                                            2 << 20), 0,
               "a 1 MiB body: seal returns 0");
        ok(cc.seq == c.seq, "chain unchanged");
    }
    /* the caller's cap */
    {
        verify_chain_t cc = c;
        size_t need = verify_audit_seal(&cc, t0, body, 100, out, 2 << 20);
        cc = c;
        is_int((long long)verify_audit_seal(&cc, t0, body, 100, out, need),
               (long long)need, "cap exactly the line length: fits");
        cc = c;
        is_int((long long)verify_audit_seal(&cc, t0, body, 100, out,
                                            need - 1), 0,
               "cap one byte short: 0");
        ok(cc.seq == c.seq, "chain unchanged");
        cc = c;
        is_int((long long)verify_audit_seal(&cc, t0, body, 100, out, 10), 0,
               "cap 10: 0");
    }
    /* a JSON string field bounded by max_out keeps the line short */
    {
        verify_jbuf_t b;
        char *jb = malloc(1 << 20);
        char *s = malloc(1 << 20);
        size_t i;
        for (i = 0; i < (1 << 20); i++) {
            s[i] = "\x01\"\\\xe7\x8e\x8b\xff"[i % 7];
        }
        verify_jbuf_init(&b, jb, 1 << 20);
        VERIFY_JRAW(&b, ",");
        verify_jbuf_key(&b, "ua");
        verify_jbuf_str(&b, s, 1 << 20, 512);
        n = verify_audit_seal(&c, t0, jb, b.len, out, 2 << 20);
        ok(n > 0 && n < VERIFY_AUDIT_LINE_MAX && !b.overflow,
           "a 1 MiB hostile string capped at 512 seals into %zu bytes", n);
        memset(&c, 0, sizeof(c));
        ok(n > 0 && verify_audit_check_line(&c, out, n - 1, 1)
           == VERIFY_LINE_OK, "and the line checks OK");
        free(jb);
        free(s);
    }
    free(body);
    free(out);
}

/* ------------------------------------------------------------------ */
/* chain head in a directory                                           */
/* ------------------------------------------------------------------ */

static char *join_lines(int from, int to, size_t *len)
{
    size_t n = 0;
    int i;
    char *s;

    for (i = from; i < to; i++) {
        n += lens[i] + 1;
    }
    s = apr_palloc(pool, n + 1);
    n = 0;
    for (i = from; i < to; i++) {
        memcpy(s + n, lines[i], lens[i] + 1);
        n += lens[i] + 1;
    }
    s[n] = '\0';
    *len = n;
    return s;
}

static char *mkdir_in(const char *base, const char *name)
{
    char *d = apr_pstrcat(pool, base, "/", name, NULL);

    mkdir(d, 0700);
    return d;
}

static void test_find_head(const char *base)
{
    verify_chain_t c;
    const char *file;
    apr_off_t size, partial;
    char *err = NULL, *d, name[32];
    apr_status_t rv;
    size_t len;
    char *data;

    verify_audit_filename(20261127, name);
    is_str(name, "audit-2026-11-27.jsonl", "verify_audit_filename");

    /* no such directory */
    err = NULL;
    rv = verify_audit_find_head(apr_pstrcat(pool, base, "/nope", NULL), &c,
                                &file, &size, &partial, &err, pool);
    ok(rv != APR_SUCCESS && err != NULL, "missing directory: error (%s)",
       err ? err : "no message");

    /* empty */
    d = mkdir_in(base, "empty");
    memset(&c, 0xee, sizeof(c));
    rv = verify_audit_find_head(d, &c, &file, &size, &partial, &err, pool);
    ok(rv == APR_SUCCESS && c.seq == 0 && file == NULL && size == 0
       && partial == -1, "empty directory: seq 0, no file, no partial");
    {
        static const unsigned char zero[32];
        ok(memcmp(c.hash, zero, 32) == 0, "empty directory: zero hash");
    }

    /* only files that are not audit logs */
    d = mkdir_in(base, "other");
    data = join_lines(0, 2, &len);
    write_file(d, "notes.txt", data, len);
    write_file(d, "audit-2026-02-30.jsonl", data, len);
    write_file(d, "audit-2026-11-20.jsonl.bak", data, len);
    write_file(d, "audit-2026-11-20.json", data, len);
    write_file(d, "Audit-2026-11-20.jsonl", data, len);
    mkdir_in(d, "audit-2026-12-01.jsonl");
    rv = verify_audit_find_head(d, &c, &file, &size, &partial, &err, pool);
    ok(rv == APR_SUCCESS && c.seq == 0 && file == NULL,
       "non-audit names (bad date, .bak, .json, case, a directory) ignored");

    /* one file */
    d = mkdir_in(base, "one");
    data = join_lines(0, 3, &len);
    write_file(d, "audit-2026-11-26.jsonl", data, len);
    write_file(d, "README", "x", 1);
    rv = verify_audit_find_head(d, &c, &file, &size, &partial, &err, pool);
    ok(rv == APR_SUCCESS, "one file: success");
    ok(c.seq == 3 && memcmp(c.hash, after[2].hash, 32) == 0,
       "one file: head is line 3");
    is_str(file, apr_pstrcat(pool, d, "/audit-2026-11-26.jsonl", NULL),
           "one file: file named");
    is_int(size, (long long)len, "one file: size");
    is_int(partial, -1, "one file: no partial line");

    /* newest file empty, older file holds the head */
    d = mkdir_in(base, "newest-empty");
    write_file(d, "audit-2026-11-25.jsonl", data, len);   /* lines 1-3 */
    write_file(d, "audit-2026-11-26.jsonl", "", 0);
    rv = verify_audit_find_head(d, &c, &file, &size, &partial, &err, pool);
    ok(rv == APR_SUCCESS && c.seq == 3
       && memcmp(c.hash, after[2].hash, 32) == 0,
       "newest empty + older file: head from the older file");
    is_str(file, apr_pstrcat(pool, d, "/audit-2026-11-26.jsonl", NULL),
           "newest empty + older file: file is the newest");
    ok(size == 0 && partial == -1, "newest empty: size 0, no partial");

    /* chain across three files: the newest holds lines 5-6 */
    d = mkdir_in(base, "three");
    write_file(d, "audit-2026-11-24.jsonl", data, len);
    {
        size_t l2, l3;
        char *d2 = join_lines(3, 4, &l2), *d3 = join_lines(4, 6, &l3);
        write_file(d, "audit-2026-11-25.jsonl", d2, l2);
        write_file(d, "audit-2026-11-26.jsonl", d3, l3);
        rv = verify_audit_find_head(d, &c, &file, &size, &partial, &err,
                                    pool);
        ok(rv == APR_SUCCESS && c.seq == 6
           && memcmp(c.hash, after[5].hash, 32) == 0 && size == (long)l3,
           "three files: head is line 6 of the newest");
    }

    /* a partial last line */
    d = mkdir_in(base, "partial");
    {
        size_t l12;
        char *d12 = join_lines(0, 2, &l12);
        char *s = apr_palloc(pool, l12 + 101);
        memcpy(s, d12, l12);
        memcpy(s + l12, lines[2], 100);
        write_file(d, "audit-2026-11-26.jsonl", s, l12 + 100);
        rv = verify_audit_find_head(d, &c, &file, &size, &partial, &err,
                                    pool);
        ok(rv == APR_SUCCESS, "partial last line: success");
        is_int(partial, (long long)l12, "partial_at is the partial line's "
               "offset");
        ok(c.seq == 2 && memcmp(c.hash, after[1].hash, 32) == 0,
           "partial last line: head is the last complete line (2)");
        is_int(size, (long long)l12 + 100, "partial last line: size");
    }

    /* the newest file holds nothing but a partial line */
    d = mkdir_in(base, "partial-only");
    write_file(d, "audit-2026-11-25.jsonl", data, len);
    write_file(d, "audit-2026-11-26.jsonl", lines[3], 50);
    rv = verify_audit_find_head(d, &c, &file, &size, &partial, &err, pool);
    ok(rv == APR_SUCCESS && c.seq == 3
       && memcmp(c.hash, after[2].hash, 32) == 0,
       "newest file only a partial line: head from the older file");
    ok(partial == 0 && size == 50
       && strcmp(file, apr_pstrcat(pool, d, "/audit-2026-11-26.jsonl",
                                   NULL)) == 0,
       "newest file only a partial line: partial_at 0, its size, its name");

    /* a file larger than two maximal lines */
    d = mkdir_in(base, "big");
    {
        verify_chain_t bc;
        char body[600], *big;
        size_t bl = 0, blen, n = 0;
        int i;
        memset(&bc, 0, sizeof(bc));
        big = apr_palloc(pool, 200 * 1024);
        for (i = 0; i < 200; i++) {
            blen = make_body(body, sizeof(body), i,
                             "a fairly long client name to make lines bigger "
                             "than usual, repeated: xxxxxxxxxxxxxxxxxxxxxxxxx");
            n = verify_audit_seal(&bc, t0 + i, body, blen, big + bl, 4096);
            bl += n;
        }
        write_file(d, "audit-2026-11-26.jsonl", big, bl);
        rv = verify_audit_find_head(d, &c, &file, &size, &partial, &err,
                                    pool);
        ok(rv == APR_SUCCESS && c.seq == 200
           && memcmp(c.hash, bc.hash, 32) == 0 && size == (long)bl
           && partial == -1,
           "a %zu-byte file: head is line 200", bl);
        /* and with a partial tail */
        memcpy(big + bl, big + bl - n, n / 2);
        write_file(d, "audit-2026-11-26.jsonl", big, bl + n / 2);
        rv = verify_audit_find_head(d, &c, &file, &size, &partial, &err,
                                    pool);
        ok(rv == APR_SUCCESS && c.seq == 200 && partial == (long)bl,
           "large file with a partial tail: head 200, partial_at %zu", bl);
    }

    /* a last line that is not a sealed line */
    d = mkdir_in(base, "corrupt");
    {
        char *s = apr_pstrcat(pool, apr_pstrndup(pool, data, len),
                              "this is not an audit line\n", NULL);
        err = NULL;
        write_file(d, "audit-2026-11-26.jsonl", s, strlen(s));
        rv = verify_audit_find_head(d, &c, &file, &size, &partial, &err,
                                    pool);
        ok(rv != APR_SUCCESS && err != NULL && c.seq == 0,
           "unsealed last line: error (%s)", err ? err : "no message");
    }
}

int main(void)
{
    char tmpl[] = "/tmp/vfy-audit-XXXXXX";
    char *base;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    base = mkdtemp(tmpl);
    if (!base) {
        perror("mkdtemp");
        return 2;
    }

    test_jbuf_escaping();
    test_jbuf_utf8();
    test_jbuf_truncation();
    test_jbuf_overflow();
    test_utf8_helpers();
    test_seal();
    test_chain_ok();
    test_chain_faults();
    test_line_limit();
    test_find_head(base);

    rm_rf(base);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
