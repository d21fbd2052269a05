/*
 * test_audit_line.c -- the sealed audit line and its chain
 * (verify_audit_line.c): sealing, checking, faults and the line limit.
 *
 * Hashes are recomputed here with OpenSSL's EVP API; lines are parsed
 * with jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <jansson.h>
#include "unit.h"
#include "audit_lines.h"

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

static void test_seal(void)
{
    char hex[65], ts[VERIFY_TS_LEN + 1], want[256];
    int i, hash_ok = 1, json_ok = 1, frame_ok = 1;

    seal_lines();
    for (i = 0; i < NLINES; i++) {
        const char *body = bodies[i];
        size_t blen = blens[i], n = sealed[i];
        json_error_t e;
        json_t *j;

        if (n == 0 || lines[i][n - 1] != '\n') {
            frame_ok = 0;
            diag("seal %d returned %zu", i + 1, n);
            continue;
        }
        /* hash = SHA-256 of everything except the last 75 bytes */
        sha256_hex(lines[i], lens[i] - 75, hex);
        tohex(after[i].hash, 32, want);
        if (strncmp(lines[i] + lens[i] - 66, hex, 64) != 0
            || strcmp(want, hex) != 0 || after[i].seq != (uint64_t)i + 1) {
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

/* The ts of a sealed line is verify_time_format_us's, whatever the
 * seconds and microseconds of the lines before it (seal keeps the date
 * and time of day of the last second per thread). */
static void test_seal_ts(void)
{
    static const apr_time_t base[] = {
        APR_TIME_C(1764604799) * APR_USEC_PER_SEC,  /* 23:59:59 in Taipei */
        APR_TIME_C(1764604800) * APR_USEC_PER_SEC,
        APR_TIME_C(1767196799) * APR_USEC_PER_SEC,  /* the year's end */
        APR_TIME_C(1767196800) * APR_USEC_PER_SEC,
    };
    static const apr_time_t us[] = { 0, 1, 9, 10, 999999, 123456, 500000,
                                     999999, 0 };
    char out[1024], want[VERIFY_TS_LEN + 1];
    const char *ts;
    verify_chain_t c;
    int i, k, good = 1, n = 0;

    memset(&c, 0, sizeof(c));
    for (k = 0; k < 4; k++) {
        for (i = 0; i < (int)(sizeof(us) / sizeof(us[0])); i++) {
            apr_time_t t = base[k] + us[i];
            if (verify_audit_seal(&c, t, "", 0, out, sizeof(out)) == 0
                || !(ts = strstr(out, "\"ts\":\""))) {
                good = 0;
                break;
            }
            verify_time_format_us(t, want);
            if (memcmp(ts + 6, want, VERIFY_TS_LEN) || ts[6 + VERIFY_TS_LEN]
                != '"') {
                diag("ts %.*s, want %s", VERIFY_TS_LEN, ts + 6, want);
                good = 0;
            }
            n++;
        }
    }
    ok(good, "the ts of %d lines in and across seconds, days and years", n);
    /* a second again after others: not the stale one */
    verify_audit_seal(&c, base[0] + 7, "", 0, out, sizeof(out));
    verify_time_format_us(base[0] + 7, want);
    ts = strstr(out, "\"ts\":\"");
    ok(ts && !memcmp(ts + 6, want, VERIFY_TS_LEN), "back to an earlier "
       "second: %s", want);
}

/* verify_audit_line_bytes_fault: one bad byte or sequence in every
 * place of lines of every length to 70 (the sixteen-byte, eight-byte
 * and single-byte paths, and the edges between them), named at its byte;
 * good multi-byte UTF-8 in every place is no fault. */
static void test_bytes_fault(void)
{
    static const struct {
        const char *bytes, *want;
    } bad[] = {
        { "\x00", "NUL byte at byte" },
        { "\x01", "raw control character 0x01 at byte" },
        { "\x1f", "raw control character 0x1f at byte" },
        { "\t", "raw control character 0x09 at byte" },
        { "\x7f", "raw control character 0x7f at byte" },
        { "\xff", "invalid UTF-8 at byte" },
        { "\xc3(", "invalid UTF-8 at byte" },
        { "\xed\xa0\x80", "invalid UTF-8 at byte" },     /* a surrogate */
    };
    char line[128], want[96];
    const char *got;
    size_t len, at, k, n;
    int wrong = 0, good = 1;

    for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        n = bad[k].bytes[0] ? strlen(bad[k].bytes) : 1;
        for (len = n; len <= 70; len++) {
            for (at = 0; at + n <= len; at++) {
                memset(line, 'a' + (int)(at % 26), len);
                memcpy(line + at, bad[k].bytes, n);
                got = verify_audit_line_bytes_fault(line, len, pool);
                snprintf(want, sizeof(want), "%s %zu", bad[k].want, at + 1);
                if (!got || strcmp(got, want)) {
                    if (wrong++ < 3) {
                        diag("%zu bytes, fault at %zu: %s, want %s", len, at,
                             got ? got : "(none)", want);
                    }
                }
            }
        }
    }
    ok(!wrong, "bytes_fault: NUL, control bytes, DEL, bad UTF-8 named at "
               "their byte in every place of lines of 1..70 bytes");
    for (len = 3; len <= 70; len++) {
        for (at = 0; at + 3 <= len; at++) {
            memset(line, ' ', len);
            memcpy(line + at, "\xe6\x88\xb6", 3);     /* 戶 */
            if (verify_audit_line_bytes_fault(line, len, pool)) {
                good = 0;
            }
        }
    }
    ok(good, "bytes_fault: a Han character in any place is no fault");
}

int main(void)
{
    unit_begin();
    test_bytes_fault();
    test_seal();
    test_chain_ok();
    test_chain_faults();
    test_line_limit();
    test_seal_ts();
    return unit_end();
}
