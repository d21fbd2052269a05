/*
 * verify_text.c -- text the library reads and writes: UTF-8 decoding and
 * checks, lower-case hex, and the normal form of personal names.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "verify_text.h"

void verify_hex(const unsigned char *in, size_t len, char *out)
{
    static const char hx[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * len] = '\0';
}

/* Hex digit values plus one (0: not a digit; upper case 0x11-0x16,
 * taken only when asked): a table, as the chain check unhexes two
 * hashes of every line. */
static const unsigned char hexval[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
    ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 0x20 | 11, ['B'] = 0x20 | 12, ['C'] = 0x20 | 13,
    ['D'] = 0x20 | 14, ['E'] = 0x20 | 15, ['F'] = 0x20 | 16
};

int verify_unhex(const char *s, size_t len, unsigned char *out,
                 int any_case)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned refuse = any_case ? 0 : 0x20, hi, lo;
    size_t i;

    /* stops at the first byte that is not a digit (a NUL among them) */
    for (i = 0; i < len; i++) {
        hi = hexval[u[2 * i]];
        if (!hi || (hi & refuse)) {
            return -1;
        }
        lo = hexval[u[2 * i + 1]];
        if (!lo || (lo & refuse)) {
            return -1;
        }
        out[i] = (unsigned char)(((hi & 0x1f) - 1) << 4 | ((lo & 0x1f) - 1));
    }
    return 0;
}

#ifdef __SSE2__
/* 16 lower-case hex digits at @p s into 8 bytes at @p out: 0, or -1. */
static int unhex16(const char *s, unsigned char *out)
{
    __m128i x = _mm_loadu_si128((const __m128i *)s);
    /* signed compares: a byte past ASCII is negative, in neither range */
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('a' - 1)),
                                  _mm_cmplt_epi8(x, _mm_set1_epi8('f' + 1)));
    __m128i val, pairs;

    if (_mm_movemask_epi8(_mm_or_si128(digit, alpha)) != 0xffff) {
        return -1;
    }
    val = _mm_or_si128(_mm_and_si128(digit, _mm_sub_epi8(x, _mm_set1_epi8('0'))),
                       _mm_and_si128(alpha, _mm_sub_epi8(x, _mm_set1_epi8('a' - 10))));
    /* each 16-bit lane holds a pair, its first digit in the low byte */
    pairs = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(val, _mm_set1_epi16(0xff)), 4),
                         _mm_srli_epi16(val, 8));
    _mm_storel_epi64((__m128i *)out, _mm_packus_epi16(pairs, pairs));
    return 0;
}
#endif

int verify_unhex_whole(const char *s, size_t len, unsigned char *out)
{
#ifdef __SSE2__
    for (; len >= 8; len -= 8, s += 16, out += 8) {
        if (unhex16(s, out) != 0) {
            return -1;
        }
    }
#endif
    return verify_unhex(s, len, out, 0);
}

size_t verify_name_normalise(const char *in, size_t len, char *out,
                             size_t outlen)
{
    static const char ideo_space[] = "\xe3\x80\x80";   /* U+3000 */
    size_t i, n = 0;

    for (;;) {
        if (len && (in[0] == ' ' || in[0] == '\t')) {
            in++, len--;
        }
        else if (len >= 3 && memcmp(in, ideo_space, 3) == 0) {
            in += 3, len -= 3;
        }
        else {
            break;
        }
    }
    for (;;) {
        if (len && (in[len - 1] == ' ' || in[len - 1] == '\t')) {
            len--;
        }
        else if (len >= 3 && memcmp(in + len - 3, ideo_space, 3) == 0) {
            len -= 3;
        }
        else {
            break;
        }
    }
    for (i = 0; i < len && n + 1 < outlen; i++) {
        char c = in[i];
        out[n++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    if (outlen) {
        out[n] = '\0';
    }
    return n;
}

size_t verify_utf8_decode(const char *str, size_t len, uint32_t *cp_out)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    size_t n, i;
    uint32_t cp;

    if (c < 0x80) {
        *cp_out = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    }
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    }
    else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    }
    else {
        return 0;
    }
    if (len < n) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    *cp_out = cp;
    return n;
}

/* Length of the valid UTF-8 sequence at @p s (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
    uint32_t cp;

    return verify_utf8_decode((const char *)s, len, &cp);
}

int verify_utf8_clean(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n;

    while (i < len) {
        if (u[i] < 0x20 || u[i] == 0x7f) {
            return 0;
        }
        n = utf8_seq(u + i, len - i);
        if (n == 0) {
            return 0;
        }
        i += n;
    }
    return 1;
}

/* How many ASCII bytes lead @p u (@p len bytes): sixteen at a time
 * where the CPU can (a byte's high bit is all SSE2 needs), else eight. */
static inline size_t ascii_run(const unsigned char *u, size_t len)
{
    const uint64_t high = 0x8080808080808080ULL;
    size_t i = 0;
    uint64_t w;

#ifdef __SSE2__
    while (len - i >= 16) {
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_loadu_si128((const __m128i *)(u + i)));

        if (mask) {
            return i + (size_t)__builtin_ctz(mask);
        }
        i += 16;
    }
#endif
    while (len - i >= 8) {
        memcpy(&w, u + i, 8);
        if (w & high) {
            break;
        }
        i += 8;
    }
    while (i < len && u[i] < 0x80) {
        i++;
    }
    return i;
}

size_t verify_utf8_scan(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n;
    unsigned c;

    while (i < len) {
        c = u[i];
        if (c < 0x80) {
            i += ascii_run(u + i, len - i);
            continue;
        }
        /* a three-byte character led by E1-EC or EE-EF (most of CJK)
         * is valid with any two continuation bytes: E0 (overlong) and
         * ED (surrogates) bound their second byte, so they go the long
         * way, as does everything else */
        if (len - i >= 3 && ((c >= 0xe1 && c <= 0xec) || c >= 0xee)
            && c <= 0xef && (u[i + 1] & 0xc0) == 0x80
            && (u[i + 2] & 0xc0) == 0x80) {
            i += 3;
            continue;
        }
        n = utf8_seq(u + i, len - i);
        if (n == 0) {
            return i;
        }
        i += n;
    }
    return len;
}

size_t verify_utf8_chars(const char *s, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            n++;
        }
    }
    return n;
}
