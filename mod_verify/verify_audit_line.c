/*
 * verify_audit_line.c -- the sealed audit line: the SHA-256 chain over
 * the lines, and checking a line against the chain.
 *
 * Hand-written on purpose: a line must have one exact byte form for its
 * hash, a hard size bound, and no allocation on the request path.
 */
#include <string.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <apr_strings.h>
#include "verify_audit_line.h"
#include "verify_json.h"
#include "verify_text.h"
#include "verify_time.h"
#include "verify_merkle.h"
#include "verify_node.h"

/* `,"hash":"` + 64 hex + `"}` */
#define HASH_TAIL (9 + VERIFY_HASH_HEX + 2)
/* `,"prev":"` + 64 hex + `"` */
#define PREV_PART (9 + VERIFY_HASH_HEX + 1)

static int sha256(const void *data, size_t len, unsigned char out[32])
{
    return verify_sha256(data, len, out) == APR_SUCCESS;
}

/* The line's ts (verify_time_format_us), its date and time of day
 * worked out once a second per thread: seal runs under the chain lock,
 * and gmtime_r takes glibc's process-wide time-zone lock. */
static void line_ts(apr_time_t now, char ts[VERIFY_TS_LEN + 1])
{
    static __thread apr_time_t sec = -1;
    static __thread char head[VERIFY_TS_LEN + 1];
    unsigned long us = (unsigned long)apr_time_usec(now);
    int i;

    if (now < 0 || apr_time_sec(now) != sec) {
        verify_time_format_us(now, head);
        sec = now < 0 ? -1 : apr_time_sec(now);
        memcpy(ts, head, VERIFY_TS_LEN + 1);
        return;
    }
    /* "YYYY-MM-DDTHH:MM:SS." then the microseconds, then "+08:00" */
    memcpy(ts, head, VERIFY_TS_LEN + 1);
    for (i = 25; i >= 20; i--) {
        ts[i] = (char)('0' + us % 10);
        us /= 10;
    }
}

size_t verify_audit_seal(verify_chain_t *chain, apr_time_t now,
                         const char *body, size_t body_len,
                         char *out, size_t cap)
{
    verify_jbuf_t b;
    char ts[VERIFY_TS_LEN + 1];
    char hex[VERIFY_HASH_HEX + 1];
    unsigned char hash[32];

    verify_jbuf_init(&b, out, cap);
    VERIFY_JRAW(&b, "{\"seq\":");
    verify_jbuf_u64(&b, chain->seq + 1);
    VERIFY_JRAW(&b, ",\"ts\":\"");
    line_ts(now, ts);
    verify_jbuf_raw(&b, ts, VERIFY_TS_LEN);
    VERIFY_JRAW(&b, "\"");
    if (verify_node_get()) {    /* VerifyNodeId: plain ASCII, no escaping */
        VERIFY_JRAW(&b, ",\"node\":\"");
        verify_jbuf_raw(&b, verify_node_get(), strlen(verify_node_get()));
        VERIFY_JRAW(&b, "\"");
    }
    verify_jbuf_raw(&b, body, body_len);
    VERIFY_JRAW(&b, ",\"prev\":\"");
    verify_hex(chain->hash, 32, hex);
    verify_jbuf_raw(&b, hex, VERIFY_HASH_HEX);
    VERIFY_JRAW(&b, "\"");
    if (b.overflow || b.len + HASH_TAIL + 1 > cap
        || b.len + HASH_TAIL + 1 >= VERIFY_AUDIT_LINE_MAX) {
        return 0;
    }
    if (!sha256(out, b.len, hash)) {
        return 0;
    }
    VERIFY_JRAW(&b, ",\"hash\":\"");
    verify_hex(hash, 32, hex);
    verify_jbuf_raw(&b, hex, VERIFY_HASH_HEX);
    VERIFY_JRAW(&b, "\"}\n");
    chain->seq++;
    memcpy(chain->hash, hash, 32);
    return b.len;
}

/* Parse the sealed frame: seq at the start, prev and hash at the end. */
static int parse_frame(const char *line, size_t len, uint64_t *seq,
                       unsigned char prev[32], unsigned char hash[32])
{
    const char *p;
    uint64_t v = 0;
    int digits = 0;

    if (len < 8 + PREV_PART + HASH_TAIL || memcmp(line, "{\"seq\":", 7)) {
        return -1;
    }
    for (p = line + 7; p < line + len && *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (++digits > 20 || v > (UINT64_MAX - d) / 10) {
            return -1;          /* more than a seq can be */
        }
        v = v * 10 + d;
    }
    if (digits == 0 || *p != ',') {
        return -1;
    }
    p = line + len - HASH_TAIL;
    if (memcmp(p, ",\"hash\":\"", 9) || memcmp(line + len - 2, "\"}", 2)
        || verify_unhex_whole(p + 9, 32, hash)) {
        return -1;
    }
    p -= PREV_PART;
    if (memcmp(p, ",\"prev\":\"", 9) || p[9 + 64] != '"'
        || verify_unhex_whole(p + 9, 32, prev)) {
        return -1;
    }
    *seq = v;
    return 0;
}

int verify_audit_line_head(const char *line, size_t len, verify_chain_t *out)
{
    unsigned char prev[32];

    return parse_frame(line, len, &out->seq, prev, out->hash);
}

verify_line_status_t verify_audit_check_line(verify_chain_t *chain,
                                             const char *line, size_t len,
                                             int first)
{
    unsigned char prev[32];

    return verify_audit_check_line_leaf(chain, line, len, first, prev, NULL);
}

/* A line's frame: no newline in it, seq at the start, prev and hash at
 * the end. */
static int frame_ok(const char *line, size_t len, uint64_t *seq,
                    unsigned char prev[32], unsigned char hash[32])
{
    return !memchr(line, '\n', len) && parse_frame(line, len, seq, prev,
                                                    hash) == 0;
}

/* The messages of a line's two hashes: the chain's (up to "hash") and
 * the RFC 6962 leaf (the whole line). */
static void line_msgs(const char *line, size_t len, verify_sha256_msg_t m[2])
{
    m[0] = (verify_sha256_msg_t){ .data = line, .len = len - HASH_TAIL };
    m[1] = verify_merkle_leaf_msg(line, len);
}

/* A line whose frame parsed, against its own hash @p calc and, unless
 * @p first, the chain; the chain advanced when it holds. */
static verify_line_status_t settle(verify_chain_t *chain, uint64_t seq,
                                   const unsigned char prev[32],
                                   const unsigned char hash[32],
                                   const unsigned char calc[32], int first)
{
    if (memcmp(calc, hash, 32)) {
        return VERIFY_LINE_HASH;
    }
    if (!first) {
        if (memcmp(prev, chain->hash, 32)) {
            return VERIFY_LINE_PREV;
        }
        if (seq != chain->seq + 1) {
            return VERIFY_LINE_SEQ;
        }
    }
    chain->seq = seq;
    memcpy(chain->hash, hash, 32);
    return VERIFY_LINE_OK;
}

verify_line_status_t verify_audit_check_line_leaf(verify_chain_t *chain,
                                                  const char *line,
                                                  size_t len, int first,
                                                  unsigned char prev[32],
                                                  unsigned char *leaf)
{
    unsigned char hash[32], calc[32];
    verify_sha256_msg_t m[2];
    uint64_t seq;

    if (!frame_ok(line, len, &seq, prev, hash)) {
        return VERIFY_LINE_SYNTAX;
    }
    if (leaf) {
        line_msgs(line, len, m);
        verify_sha256_pair(&m[0], &m[1], calc, leaf);
    }
    else if (!sha256(line, len - HASH_TAIL, calc)) {
        return VERIFY_LINE_HASH;
    }
    return settle(chain, seq, prev, hash, calc, first);
}

void verify_audit_check_two_leaf(verify_chain_t chain[2],
                                 const char *const line[2],
                                 const size_t len[2],
                                 unsigned char *const prev[2],
                                 unsigned char *const leaf[2],
                                 verify_line_status_t st[2])
{
    unsigned char hash[2][32], calc[2][32];
    unsigned char *out[4] = { calc[0], leaf[0], calc[1], leaf[1] };
    verify_sha256_msg_t m[4];
    const verify_sha256_msg_t *mp[4] = { &m[0], &m[1], &m[2], &m[3] };
    uint64_t seq[2];
    int k, ok[2];

    for (k = 0; k < 2; k++) {
        ok[k] = frame_ok(line[k], len[k], &seq[k], prev[k], hash[k]);
        st[k] = VERIFY_LINE_SYNTAX;
        if (ok[k]) {
            line_msgs(line[k], len[k], &m[2 * k]);
        }
    }
    if (ok[0] && ok[1]) {
        verify_sha256_quad(mp, out);
    }
    else if (ok[0] || ok[1]) {      /* rare: one line's frame is bad */
        k = ok[1];
        verify_sha256_pair(&m[2 * k], &m[2 * k + 1], calc[k], leaf[k]);
    }
    for (k = 0; k < 2; k++) {
        if (ok[k]) {
            st[k] = settle(&chain[k], seq[k], prev[k], hash[k], calc[k], 1);
        }
    }
}

/* Eight bytes of printable ASCII (0x20-0x7e): the common case, checked
 * a word at a time. */
static int printable8(const unsigned char *u)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t w, d;

    memcpy(&w, u, 8);
    d = w ^ (ones * 0x7f);
    /* a byte below 0x20, a DEL, or a high bit */
    return !(((w - ones * 0x20) & ~w & high) | ((d - ones) & ~d & high)
             | (w & high));
}

#ifdef __SSE2__
#include <emmintrin.h>

/* Of the 16 bytes at @p u, how many printable ASCII lead (16: all). A
 * byte past ASCII is negative as a signed byte, so below 0x20 too. */
static inline unsigned printable16(const unsigned char *u)
{
    __m128i x = _mm_loadu_si128((const __m128i *)u);
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                               _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
    unsigned mask = (unsigned)_mm_movemask_epi8(bad);

    return mask ? (unsigned)__builtin_ctz(mask) : 16;
}
#endif

/* How many bytes of printable ASCII lead @p u (@p len bytes). */
static size_t printable_run(const unsigned char *u, size_t len)
{
    size_t i = 0;

#ifdef __SSE2__
    while (len - i >= 16) {
        unsigned n = printable16(u + i);

        i += n;
        if (n < 16) {
            return i;
        }
    }
#endif
    while (len - i >= 8 && printable8(u + i)) {
        i += 8;
    }
    while (i < len && u[i] >= 0x20 && u[i] < 0x7f) {
        i++;
    }
    return i;
}

const char *verify_audit_line_bytes_fault(const char *line, size_t len,
                                          apr_pool_t *p)
{
    const unsigned char *u = (const unsigned char *)line;
    size_t i = 0, n;
    uint32_t cp;

    for (;;) {
        i += printable_run(u + i, len - i);
        if (i >= len) {
            return NULL;
        }
        if (u[i] == 0) {
            return apr_psprintf(p, "NUL byte at byte %" APR_SIZE_T_FMT,
                                i + 1);
        }
        if (u[i] < 0x80) {      /* below 0x20, or DEL */
            return apr_psprintf(p, "raw control character 0x%02x at byte %"
                                APR_SIZE_T_FMT, u[i], i + 1);
        }
        n = verify_utf8_decode(line + i, len - i, &cp);
        if (n == 0) {
            return apr_psprintf(p, "invalid UTF-8 at byte %" APR_SIZE_T_FMT,
                                i + 1);
        }
        i += n;
    }
}
