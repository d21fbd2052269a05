/*
 * verify_flat.c -- a strict JSON checker that indexes one object's
 * top-level members in place (see verify_flat.h for what it accepts).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "verify_flat.h"
#include "verify_text.h"

/* Numbers longer than this are copied to the heap for strtod(). */
#define NUM_BUF 128

typedef struct parse_t {
    const char *p;              /* the next byte */
    const char *start, *end;
    verify_flat_t *f;
    size_t nkeys;               /* keys open (f->keys) */
    const char *why;            /* the fault, once found */
    const char *at;
} parse_t;

static int fail(parse_t *ps, const char *why, const char *at)
{
    if (!ps->why) {
        ps->why = why;
        ps->at = at;
    }
    return -1;
}

static void skip_ws(parse_t *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'
                               || *ps->p == '\n' || *ps->p == '\r')) {
        ps->p++;
    }
}

static int hex4(const char *s, uint32_t *v)
{
    int i;

    *v = 0;
    for (i = 0; i < 4; i++) {
        char c = s[i];
        *v <<= 4;
        if (c >= '0' && c <= '9') {
            *v |= (uint32_t)(c - '0');
        }
        else if (c >= 'a' && c <= 'f') {
            *v |= (uint32_t)(c - 'a' + 10);
        }
        else if (c >= 'A' && c <= 'F') {
            *v |= (uint32_t)(c - 'A' + 10);
        }
        else {
            return -1;
        }
    }
    return 0;
}

/* The code point of the escape at @p s (a backslash; checked text):
 * its bytes in *n. */
static uint32_t escape_cp(const char *s, size_t *n)
{
    uint32_t cp, lo;

    *n = 2;
    switch (s[1]) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u': break;
    default:  return (unsigned char)s[1];
    }
    hex4(s + 2, &cp);
    *n = 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        hex4(s + 8, &lo);
        *n = 12;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    return cp;
}

/* The next code point of checked string text: its bytes in *n. */
static uint32_t next_cp(const char *s, size_t len, size_t *n)
{
    uint32_t cp;

    if (*s == '\\') {
        return escape_cp(s, n);
    }
    *n = verify_utf8_decode(s, len, &cp);
    if (*n == 0) {              /* not for checked text */
        *n = 1;
        return 0xfffd;
    }
    return cp;
}

static int span_eq(const verify_flat_span_t *a, const char *b, size_t blen,
                   int besc)
{
    size_t i = 0, j = 0, n, m;

    if (!a->esc && !besc) {
        return a->len == blen && !memcmp(a->s, b, blen);
    }
    while (i < a->len && j < blen) {
        if (next_cp(a->s + i, a->len - i, &n)
            != next_cp(b + j, blen - j, &m)) {
            return 0;
        }
        i += n;
        j += m;
    }
    return i == a->len && j == blen;
}

/* Eight bytes with none that ends a plain run of a string: no quote,
 * no backslash, no control character, nothing past ASCII. */
static int plain8(const char *p)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t w, q, b;

    memcpy(&w, p, 8);
    q = w ^ (ones * '"');
    b = w ^ (ones * '\\');
    /* a zero byte in q or b, a byte below 0x20, or a high bit */
    return !(((q - ones) & ~q & high) | ((b - ones) & ~b & high)
             | ((w - ones * 0x20) & ~w & high) | (w & high));
}

#ifdef __SSE2__
#include <emmintrin.h>

/* Of the 16 bytes at @p p, how many lead before one that ends a plain
 * run (16: none does). A byte past ASCII is negative as a signed byte,
 * so below 0x20 too. */
static inline unsigned plain16(const char *p)
{
    __m128i x = _mm_loadu_si128((const __m128i *)p);
    __m128i stop = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                     _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
        _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
    unsigned mask = (unsigned)_mm_movemask_epi8(stop);

    return mask ? (unsigned)__builtin_ctz(mask) : 16;
}
#endif

/* The first byte from @p p that ends a plain run (a quote, a
 * backslash, a control character or one past ASCII), or @p end. */
static inline const char *plain_run(const char *p, const char *end)
{
#ifdef __SSE2__
    while (end - p >= 16) {
        unsigned run = plain16(p);

        if (run < 16) {
            return p + run;
        }
        p += 16;
    }
#endif
    while (end - p >= 8 && plain8(p)) {
        p += 8;
    }
    while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\'
           && (unsigned char)*p < 0x80) {
        p++;
    }
    return p;
}

/* A string at ps->p (its opening quote) into *sp. */
static inline __attribute__((always_inline)) int
parse_string(parse_t *ps, verify_flat_span_t *sp, int key)
{
    const char *p = ps->p + 1, *end = ps->end, *at;
    uint32_t cp, lo;
    size_t n;

    sp->s = p;
    sp->esc = 0;
    for (;;) {
        p = plain_run(p, end);
        if (p >= end) {
            return fail(ps, "string not terminated", p);
        }
        if (*p == '"') {
            break;
        }
        if ((unsigned char)*p < 0x20) {
            return fail(ps, "control character in a string", p);
        }
        if ((unsigned char)*p >= 0x80) {
            n = verify_utf8_decode(p, (size_t)(end - p), &cp);
            if (n == 0) {
                return fail(ps, "invalid UTF-8 in a string", p);
            }
            p += n;
            continue;
        }
        /* an escape */
        at = p;
        sp->esc = 1;
        if (end - p < 2) {
            return fail(ps, "string not terminated", p);
        }
        if (strchr("\"\\/bfnrt", p[1]) && p[1]) {
            p += 2;
            continue;
        }
        if (p[1] != 'u' || end - p < 6 || hex4(p + 2, &cp) != 0) {
            return fail(ps, "invalid escape", at);
        }
        p += 6;
        if (cp >= 0xdc00 && cp <= 0xdfff) {
            return fail(ps, "invalid Unicode escape (a lone low surrogate)",
                        at);
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u'
                || hex4(p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
                return fail(ps, "invalid Unicode escape (a high surrogate "
                            "without its low one)", at);
            }
            p += 6;
        }
        if (cp == 0 && key) {
            return fail(ps, "NUL byte in an object key", at);
        }
    }
    sp->len = (size_t)(p - sp->s);
    ps->p = p + 1;
    return 0;
}

/* A number at ps->p. */
static int parse_number(parse_t *ps, verify_flat_type_t *type, int64_t *iv)
{
    const char *p = ps->p, *s = p, *end = ps->end;
    char small[NUM_BUF], *buf;
    uint64_t u = 0, limit;
    int neg = 0, real = 0, over = 0;
    double d;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9') {
        return fail(ps, "invalid token", s);
    }
    if (*p == '0') {
        p++;
    }
    else {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            return fail(ps, "invalid token", s);
        }
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
        real = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= end || *p < '0' || *p > '9') {
            return fail(ps, "invalid token", s);
        }
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
        real = 1;
    }
    ps->p = p;
    if (!real) {
        limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (p = s + neg; p < ps->p; p++) {
            if (u > (limit - (uint64_t)(*p - '0')) / 10) {
                over = 1;
                break;
            }
            u = u * 10 + (uint64_t)(*p - '0');
        }
        if (over) {
            return fail(ps, neg ? "too big negative integer"
                                : "too big integer", s);
        }
        *type = VERIFY_FLAT_INT;
        *iv = neg ? (int64_t)(0 - u) : (int64_t)u;
        return 0;
    }
    /* a real: only overflow is refused, as jansson does */
    buf = (size_t)(ps->p - s) < NUM_BUF ? small
                                        : malloc((size_t)(ps->p - s) + 1);
    if (!buf) {
        return fail(ps, "out of memory", s);
    }
    memcpy(buf, s, (size_t)(ps->p - s));
    buf[ps->p - s] = '\0';
    errno = 0;
    d = strtod(buf, NULL);
    over = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
    if (buf != small) {
        free(buf);
    }
    if (over) {
        return fail(ps, "real number overflow", s);
    }
    *type = VERIFY_FLAT_REAL;
    *iv = 0;
    return 0;
}

static int parse_value(parse_t *ps, int depth, verify_flat_member_t *m);

/* A key's bit among 64, from its raw text: equal plain keys, equal bits. */
static inline uint64_t key_bit(const verify_flat_span_t *k)
{
    return k->len ? (uint64_t)1 << ((k->len * 7 + (unsigned char)k->s[0]
                                     + 3u * (unsigned char)k->s[k->len - 1])
                                    & 63)
                  : 1;
}

/* An object at ps->p; @p top: index its members. */
static int parse_object(parse_t *ps, int depth, int top)
{
    size_t base = ps->nkeys, k;
    uint64_t seen = 0, bit;
    int escaped = 0;
    verify_flat_span_t key;
    verify_flat_member_t scratch, *m;

    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (ps->p >= ps->end || *ps->p != '"') {
            return fail(ps, "string or '}' expected", ps->p);
        }
        if (parse_string(ps, &key, 1) != 0) {
            return -1;
        }
        /* two plain keys that are equal have the same bit: only then,
         * or with escapes about, is the object's list compared, and
         * without escapes only with the keys of that bit */
        bit = key_bit(&key);
        escaped |= key.esc;
        if (escaped || (seen & bit)) {
            for (k = base; k < ps->nkeys; k++) {
                if ((escaped || key_bit(&ps->f->keys[k]) == bit)
                    && span_eq(&ps->f->keys[k], key.s, key.len, key.esc)) {
                    return fail(ps, "duplicate object key", key.s - 1);
                }
            }
        }
        seen |= bit;
        if (ps->nkeys == VERIFY_FLAT_KEYS) {
            return fail(ps, "too many object keys", key.s - 1);
        }
        ps->f->keys[ps->nkeys++] = key;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            return fail(ps, "':' expected", ps->p);
        }
        ps->p++;
        skip_ws(ps);
        m = top ? &ps->f->m[ps->f->n++] : &scratch;
        m->key = key;
        if (parse_value(ps, depth, m) != 0) {
            return -1;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            ps->nkeys = base;
            return 0;
        }
        return fail(ps, "',' or '}' expected", ps->p);
    }
}

static int parse_array(parse_t *ps, int depth)
{
    verify_flat_member_t scratch;

    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (parse_value(ps, depth, &scratch) != 0) {
            return -1;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return 0;
        }
        return fail(ps, "',' or ']' expected", ps->p);
    }
}

static int literal(parse_t *ps, const char *word, size_t n)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n)) {
        return fail(ps, "invalid token", ps->p);
    }
    ps->p += n;
    return 0;
}

/* A value at ps->p (not whitespace), inside @p depth levels, into @p m
 * (its type and text). Every value is a level, as jansson counts. */
static int parse_value(parse_t *ps, int depth, verify_flat_member_t *m)
{
    const char *s = ps->p;
    int rc;

    m->val.esc = 0;
    m->i = 0;
    if (s >= ps->end) {
        return fail(ps, "value expected", s);
    }
    if (depth + 1 > VERIFY_FLAT_DEPTH) {
        return fail(ps, "nested too deeply", s);
    }
    switch (*s) {
    case '"':
        m->type = VERIFY_FLAT_STRING;
        return parse_string(ps, &m->val, 0);
    case '{':
        m->type = VERIFY_FLAT_OBJECT;
        rc = parse_object(ps, depth + 1, 0);
        break;
    case '[':
        m->type = VERIFY_FLAT_ARRAY;
        rc = parse_array(ps, depth + 1);
        break;
    case 't':
        m->type = VERIFY_FLAT_TRUE;
        rc = literal(ps, "true", 4);
        break;
    case 'f':
        m->type = VERIFY_FLAT_FALSE;
        rc = literal(ps, "false", 5);
        break;
    case 'n':
        m->type = VERIFY_FLAT_NULL;
        rc = literal(ps, "null", 4);
        break;
    default:
        rc = parse_number(ps, &m->type, &m->i);
        break;
    }
    m->val.s = s;
    m->val.len = (size_t)(ps->p - s);
    return rc;
}

int verify_flat_parse(verify_flat_t *f, const char *text, size_t len,
                      const char **why, size_t *at)
{
    parse_t ps;

    memset(&ps, 0, sizeof(ps));
    ps.p = ps.start = text;
    ps.end = text + len;
    ps.f = f;
    f->n = 0;
    skip_ws(&ps);
    if (ps.p >= ps.end || *ps.p != '{') {
        fail(&ps, "not a JSON object", ps.p);
    }
    else if (parse_object(&ps, 1, 1) == 0) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            fail(&ps, "end of text expected", ps.p);
        }
    }
    if (ps.why) {
        *why = ps.why;
        *at = (size_t)(ps.at - text);
        return -1;
    }
    return 0;
}

const verify_flat_member_t *verify_flat_get(const verify_flat_t *f,
                                            const char *key)
{
    size_t i, len = strlen(key);
    const verify_flat_span_t *k;

    for (i = 0; i < f->n; i++) {
        k = &f->m[i].key;
        if (k->esc ? span_eq(k, key, len, 0)
                   : k->len == len && k->s[0] == key[0]
                     && !memcmp(k->s, key, len)) {
            return &f->m[i];
        }
    }
    return NULL;
}

size_t verify_flat_unescape(const char *s, size_t len, char *out,
                            size_t size)
{
    size_t i = 0, o = 0, n;
    uint32_t cp;
    char u[4];
    int k, w;

    while (i < len) {
        if (s[i] != '\\') {
            if (o < size) {
                out[o] = s[i];
            }
            o++;
            i++;
            continue;
        }
        cp = escape_cp(s + i, &n);
        i += n;
        if (cp < 0x80) {
            u[0] = (char)cp;
            w = 1;
        }
        else if (cp < 0x800) {
            u[0] = (char)(0xc0 | cp >> 6);
            u[1] = (char)(0x80 | (cp & 0x3f));
            w = 2;
        }
        else if (cp < 0x10000) {
            u[0] = (char)(0xe0 | cp >> 12);
            u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
            u[2] = (char)(0x80 | (cp & 0x3f));
            w = 3;
        }
        else {
            u[0] = (char)(0xf0 | cp >> 18);
            u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
            u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
            u[3] = (char)(0x80 | (cp & 0x3f));
            w = 4;
        }
        for (k = 0; k < w; k++, o++) {
            if (o < size) {
                out[o] = u[k];
            }
        }
    }
    return o;
}

const char *verify_flat_str(const verify_flat_t *f, const char *key,
                            char *buf, size_t size, size_t *len)
{
    const verify_flat_member_t *m = verify_flat_get(f, key);
    size_t n;

    if (!m || m->type != VERIFY_FLAT_STRING) {
        *len = 0;
        return NULL;
    }
    if (!m->val.esc) {
        *len = m->val.len;
        return m->val.s;
    }
    n = verify_flat_unescape(m->val.s, m->val.len, buf, size);
    *len = n < size ? n : size;
    return buf;
}

int verify_flat_int(const verify_flat_t *f, const char *key, int64_t *v)
{
    const verify_flat_member_t *m = verify_flat_get(f, key);

    if (!m || m->type != VERIFY_FLAT_INT) {
        return -1;
    }
    *v = m->i;
    return 0;
}

int verify_flat_bool(const verify_flat_t *f, const char *key)
{
    const verify_flat_member_t *m = verify_flat_get(f, key);

    if (!m || (m->type != VERIFY_FLAT_TRUE && m->type != VERIFY_FLAT_FALSE)) {
        return -1;
    }
    return m->type == VERIFY_FLAT_TRUE;
}
