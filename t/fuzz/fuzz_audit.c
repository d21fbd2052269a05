/*
 * fuzz_audit.c -- libFuzzer target: audit lines.
 *
 * 1. verify_audit_check_line() and verify_audit_line_head() on the raw
 *    input, as if it were a line read back from an audit file.
 * 2. A round trip: the input (after two control bytes that pick the
 *    string's size limit and the output buffer's size) becomes the
 *    body ,"x":"…" through verify_jbuf_str(), is sealed with
 *    verify_audit_seal(), and the sealed line is checked.
 *
 * Invariants checked (abort() on violation):
 *  - raw input: an accepted line has no newline, and line_head reads
 *    the same seq and hash from it; a line refused for anything but
 *    syntax still has a readable head; a refused line leaves the chain
 *    as it was.
 *  - round trip: seal fails exactly when the line would not fit the
 *    buffer or would reach VERIFY_AUDIT_LINE_MAX (4096) bytes; a
 *    sealed line ends in its only newline, is < 4096 bytes, holds no
 *    raw control character (C0, DEL) and is valid UTF-8; it is
 *    accepted by verify_audit_check_line() (without its newline) both
 *    as the next line of the chain and as a first line, which advance
 *    the chain exactly as seal did; its head reads back; it is valid
 *    JSON whose seq/ts/prev/hash are the sealed ones and whose "x" is
 *    the input (valid UTF-8 input, no cut) or a prefix of it followed
 *    by "…" (cut); the escaped string never passes max_out + 3 bytes;
 *    a line with any one byte changed is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "verify.h"

#define ELLIPSIS "\xe2\x80\xa6"

static void die(const char *what)
{
    fprintf(stderr, "fuzz_audit: invariant violated: %s\n", what);
    abort();
}

/* FNV-1a: parameters that vary with the input without eating it. */
static uint64_t fnv(const uint8_t *d, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h = (h ^ d[i]) * 1099511628211ULL;
    }
    return h;
}

static unsigned ndigits(uint64_t v)
{
    unsigned n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static void check_raw(const char *line, size_t len)
{
    verify_chain_t c, before, head;
    verify_line_status_t st;
    int hrc, first;

    for (first = 0; first <= 1; first++) {
        /* a chain that this input could follow: seq 0 and zero hash */
        memset(&c, 0, sizeof(c));
        before = c;
        st = verify_audit_check_line(&c, line, len, first);
        memset(&head, 0, sizeof(head));
        hrc = verify_audit_line_head(line, len, &head);
        if (st > VERIFY_LINE_SEQ) {
            die("check_line returned an unknown status");
        }
        if (st == VERIFY_LINE_OK) {
            if (memchr(line, '\n', len)) {
                die("check_line accepted a line holding a newline");
            }
            if (hrc != 0 || head.seq != c.seq
                || memcmp(head.hash, c.hash, 32) != 0) {
                die("line_head disagrees with an accepted line");
            }
        }
        else {
            if (memcmp(&c, &before, sizeof(c)) != 0) {
                die("a refused line moved the chain");
            }
            if (st != VERIFY_LINE_SYNTAX && hrc != 0) {
                die("line_head refuses a line check_line could parse");
            }
        }
    }
}

/* Is @p s (length @p n) valid UTF-8? */
static int utf8_valid(const char *s, size_t n)
{
    return verify_utf8_scan(s, n) == n;
}

static void check_json(const char *line, size_t len, uint64_t seq,
                       const char *ts, const unsigned char prev[32],
                       const unsigned char hash[32], const char *in,
                       size_t in_len, size_t max_out, size_t str_raw_len)
{
    json_error_t jerr;
    json_t *o, *v;
    char hex[VERIFY_HASH_HEX + 1];
    const char *x;
    size_t xl;

    o = json_loadb(line, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
                   &jerr);
    if (!o || !json_is_object(o) || json_object_size(o) != 5) {
        fprintf(stderr, "json: %s\n", o ? "not 5 members" : jerr.text);
        die("a sealed line is not the expected JSON object");
    }
    v = json_object_get(o, "seq");
    if (!json_is_integer(v) || (uint64_t)json_integer_value(v) != seq) {
        die("JSON seq is not the sealed seq");
    }
    v = json_object_get(o, "ts");
    if (!json_is_string(v) || strcmp(json_string_value(v), ts) != 0) {
        die("JSON ts is not the sealed time");
    }
    verify_hex(prev, 32, hex);
    v = json_object_get(o, "prev");
    if (!json_is_string(v) || strcmp(json_string_value(v), hex) != 0) {
        die("JSON prev is not the previous hash");
    }
    verify_hex(hash, 32, hex);
    v = json_object_get(o, "hash");
    if (!json_is_string(v) || strcmp(json_string_value(v), hex) != 0) {
        die("JSON hash is not the chain hash");
    }
    v = json_object_get(o, "x");
    if (!json_is_string(v)) {
        die("JSON x is not a string");
    }
    x = json_string_value(v);
    xl = json_string_length(v);
    if (str_raw_len > 3 && str_raw_len - 3 > max_out) {
        die("escaped string longer than max_out + 3 bytes");
    }
    if (utf8_valid(in, in_len)) {
        int whole = xl == in_len && memcmp(x, in, in_len) == 0;
        int cut = xl >= 3 && memcmp(x + xl - 3, ELLIPSIS, 3) == 0
                  && xl - 3 <= in_len && memcmp(x, in, xl - 3) == 0;
        if (!whole && !cut) {
            die("JSON x is neither the input nor a cut prefix of it");
        }
        /* no cut is needed when even the worst escaping fits */
        if (in_len <= max_out / 6 && !whole) {
            die("string cut although it fits max_out");
        }
    }
    json_decref(o);
}

static void round_trip(const uint8_t *data, size_t size)
{
    static const size_t max_outs[8] = {
        0, 1, 2, 5, 6, 64, 1024, (size_t)-1
    };
    uint64_t h = fnv(data, size);
    const char *in = (const char *)data + 2;
    size_t in_len = size - 2;
    size_t max_out, cap, body_cap = VERIFY_AUDIT_LINE_MAX, expect, n, i;
    verify_jbuf_t b;
    verify_chain_t chain, prev_chain, c;
    char *body, *out;
    char ts[VERIFY_TS_LEN + 1];
    apr_time_t now;

    /* byte 0: the string's limit; byte 1: the output buffer's size */
    max_out = data[0] < 0x80 ? max_outs[data[0] & 7]
              : (size_t)(data[0] & 0x7f) * 37;
    if (data[1] < 0x80) {
        cap = VERIFY_AUDIT_LINE_MAX + 64;   /* the 4096 rule decides */
    }
    else if (data[1] < 0xf0) {
        cap = VERIFY_AUDIT_LINE_MAX;
    }
    else {
        cap = 150 + (size_t)(data[1] - 0xf0) * 260;
    }

    /* exact-size heap blocks, so that ASan sees any overrun */
    body = malloc(body_cap);
    out = malloc(cap);
    if (!body || !out) {
        die("out of memory");
    }
    verify_jbuf_init(&b, body, body_cap);
    VERIFY_JRAW(&b, ",\"x\":");
    verify_jbuf_str(&b, in, in_len, max_out);
    if (b.len > body_cap) {
        die("jbuf length passed its capacity");
    }
    if (b.overflow) {
        goto done;              /* a caller drops such a body */
    }

    memset(&chain, 0, sizeof(chain));
    chain.seq = h % 1000000000000000000ULL;   /* < 10^18 */
    for (i = 0; i < 32; i++) {
        chain.hash[i] = (unsigned char)(h >> (i % 8 * 8)) ^ (unsigned char)i;
    }
    if (h & 1) {
        memset(&chain, 0, sizeof(chain));     /* the very first line */
    }
    /* a time between 1970 and 9999 (Taipei), to the microsecond */
    now = (apr_time_t)((h >> 7) % 253402271999000000ULL);
    verify_time_format_us(now, ts);
    prev_chain = chain;

    expect = 197 + ndigits(chain.seq + 1) + b.len;
    n = verify_audit_seal(&chain, now, body, b.len, out, cap);
    if (n == 0) {
        if (expect <= cap && expect < VERIFY_AUDIT_LINE_MAX) {
            die("seal refused a line that fits");
        }
        if (memcmp(&chain, &prev_chain, sizeof(chain)) != 0) {
            die("a refused seal moved the chain");
        }
        goto done;
    }
    if (n != expect) {
        die("sealed line has an unexpected length");
    }
    if (n > cap || n >= VERIFY_AUDIT_LINE_MAX) {
        die("sealed line is 4096 bytes or more, or passed its buffer");
    }
    if (out[n - 1] != '\n' || memchr(out, '\n', n - 1)) {
        die("sealed line does not end in its only newline");
    }
    for (i = 0; i + 1 < n; i++) {
        unsigned char ch = (unsigned char)out[i];
        if (ch < 0x20 || ch == 0x7f) {
            die("raw control character in a sealed line");
        }
    }
    if (!verify_utf8_clean(out, n - 1)) {
        die("sealed line is not clean UTF-8");
    }
    if (chain.seq != prev_chain.seq + 1) {
        die("seal did not advance seq by one");
    }

    c = prev_chain;
    if (verify_audit_check_line(&c, out, n - 1, 0) != VERIFY_LINE_OK) {
        die("check_line refuses a sealed line");
    }
    if (memcmp(&c, &chain, sizeof(c)) != 0) {
        die("check_line and seal disagree on the chain");
    }
    memset(&c, 0, sizeof(c));
    if (verify_audit_check_line(&c, out, n - 1, 1) != VERIFY_LINE_OK
        || memcmp(&c, &chain, sizeof(c)) != 0) {
        die("check_line refuses a sealed line as a first line");
    }
    memset(&c, 0, sizeof(c));
    if (verify_audit_line_head(out, n - 1, &c) != 0
        || memcmp(&c, &chain, sizeof(c)) != 0) {
        die("line_head does not read back a sealed line");
    }

    check_json(out, n - 1, chain.seq, ts, prev_chain.hash, chain.hash,
               in, in_len, max_out, b.len - 7);

    /* any one byte changed: refused */
    {
        size_t pos = (size_t)((h >> 20) % (n - 1));
        char save = out[pos];
        out[pos] = (char)(save ^ (1 + (h >> 40) % 255));
        c = prev_chain;
        if (verify_audit_check_line(&c, out, n - 1, 0) == VERIFY_LINE_OK) {
            die("check_line accepted a line with a changed byte");
        }
        memset(&c, 0, sizeof(c));
        if (verify_audit_check_line(&c, out, n - 1, 1) == VERIFY_LINE_OK) {
            die("check_line accepted a changed line as a first line");
        }
        out[pos] = save;
    }

done:
    free(body);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_raw((const char *)data, size);
    if (size >= 2) {
        round_trip(data, size);
    }
    return 0;
}
