/*
 * verify_json.c -- the JSON line writer: a fixed buffer, no allocation,
 * one exact byte form for every value (audit lines are hashed as bytes).
 */
#include <string.h>
#include "verify_json.h"
#include "verify_text.h"

void verify_jbuf_init(verify_jbuf_t *b, char *mem, size_t cap)
{
    b->buf = mem;
    b->len = 0;
    b->cap = cap;
    b->overflow = 0;
}

void verify_jbuf_raw(verify_jbuf_t *b, const char *s, size_t len)
{
    if (b->overflow || b->len + len > b->cap) {
        b->overflow = 1;
        return;
    }
    memcpy(b->buf + b->len, s, len);
    b->len += len;
}

void verify_jbuf_key(verify_jbuf_t *b, const char *key)
{
    VERIFY_JRAW(b, "\"");
    verify_jbuf_raw(b, key, strlen(key));
    VERIFY_JRAW(b, "\":");
}

void verify_jbuf_u64(verify_jbuf_t *b, uint64_t v)
{
    char tmp[21];
    int n = 20;

    tmp[n] = '\0';
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    verify_jbuf_raw(b, tmp + n, 20 - (size_t)n);
}

/* Characters that are valid in JSON as they are, but that a reader may
 * take for a line end (C1's NEL, U+2028, U+2029: Python's splitlines()
 * and some JSON Lines readers split there) or that reorder what a
 * terminal or an editor shows (C1 and the bidi controls). Written as
 * \uXXXX, so one audit line stays one line and reads as it is stored. */
int verify_json_escaped_cp(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f)          /* C1 controls */
           || cp == 0x061c                      /* ARABIC LETTER MARK */
           || cp == 0x200e || cp == 0x200f      /* LRM, RLM */
           || (cp >= 0x2028 && cp <= 0x202e)    /* LS, PS, LRE..RLO */
           || (cp >= 0x2066 && cp <= 0x2069);   /* LRI..PDI */
}

static size_t u_escape(char *esc, uint32_t cp)
{
    static const char hx[] = "0123456789abcdef";

    esc[0] = '\\';
    esc[1] = 'u';
    esc[2] = hx[(cp >> 12) & 15];
    esc[3] = hx[(cp >> 8) & 15];
    esc[4] = hx[(cp >> 4) & 15];
    esc[5] = hx[cp & 15];
    return 6;
}

void verify_jbuf_str(verify_jbuf_t *b, const char *s, size_t len,
                     size_t max_out)
{
    static const char ellipsis[] = "\xe2\x80\xa6";      /* U+2026 */
    static const char fffd[] = "\xef\xbf\xbd";          /* U+FFFD */
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, used = 0, n, elen;
    uint32_t cp;
    char esc[6];
    const char *e;

    VERIFY_JRAW(b, "\"");
    while (i < len) {
        n = 1;
        e = esc;
        if (u[i] == '"' || u[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char)u[i];
            elen = 2;
        }
        else if (u[i] < 0x20 || u[i] == 0x7f) {
            elen = u_escape(esc, u[i]);
        }
        else if (u[i] < 0x80) {
            e = (const char *)u + i;
            elen = 1;
        }
        else if ((n = verify_utf8_decode((const char *)u + i, len - i, &cp))
                 != 0) {
            if (verify_json_escaped_cp(cp)) {
                elen = u_escape(esc, cp);
            }
            else {
                e = (const char *)u + i;
                elen = n;
            }
        }
        else {
            n = 1;
            e = fffd;
            elen = 3;
        }
        if (used + elen > max_out) {
            verify_jbuf_raw(b, ellipsis, 3);
            break;
        }
        verify_jbuf_raw(b, e, elen);
        used += elen;
        i += n;
    }
    VERIFY_JRAW(b, "\"");
}
