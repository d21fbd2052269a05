/*
 * verify_pii.c -- ID numbers and phone numbers in free text.
 *
 * The text is read one character at a time, full-width forms folded to
 * ASCII, without copying it: the module runs this on every case and
 * reason, the sheet on every query of a month.
 */
#include <string.h>
#include <apr_strings.h>
#include "verify_id.h"
#include "verify_pii.h"
#include "verify_text.h"

/* digits an ID (8) or a phone number (9) holds at the least */
#define MIN_DIGITS 8

/* The character at byte @p i folded to ASCII, or 0 for any other (and
 * for invalid UTF-8); *adv its length in bytes (0 at the end). */
static int unit(const char *s, size_t len, size_t i, size_t *adv)
{
    uint32_t cp;

    if (i >= len) {
        *adv = 0;
        return 0;
    }
    if ((unsigned char)s[i] < 0x80) {
        *adv = 1;
        return (unsigned char)s[i];
    }
    *adv = verify_utf8_decode(s + i, len - i, &cp);
    if (*adv == 0) {
        *adv = 1;
        return 0;
    }
    if (cp >= 0xff01 && cp <= 0xff5e) {     /* full-width ASCII */
        return (int)(cp - 0xfee0);
    }
    if (cp == 0x3000) {                     /* ideographic space */
        return ' ';
    }
    if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212) {  /* dashes */
        return '-';
    }
    return 0;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_sep(int c)
{
    return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

/* The character before byte @p i, folded (0 at the start). */
static int unit_before(const char *s, size_t len, size_t i)
{
    size_t j = i, adv;

    if (i == 0) {
        return 0;
    }
    /* back over at most three continuation bytes */
    do {
        j--;
    } while (j > 0 && i - j < 4 && ((unsigned char)s[j] & 0xc0) == 0x80);
    return unit(s, len, j, &adv);
}

/* An ID number at @p i: *end after it. */
static int id_at(const char *s, size_t len, size_t i, size_t *end)
{
    char buf[VERIFY_ID_LEN], out[VERIFY_ID_LEN + 1];
    size_t adv;
    int k, c;

    for (k = 0; k < VERIFY_ID_LEN; k++) {
        c = unit(s, len, i, &adv);
        if (!c || c > 0x7e) {
            return 0;
        }
        buf[k] = (char)c;
        i += adv;
    }
    if (verify_id_normalise(buf, VERIFY_ID_LEN, out, NULL) != VERIFY_ID_OK
        || is_digit(unit(s, len, i, &adv))) {
        return 0;
    }
    *end = i;
    return 1;
}

/* A phone number starting at @p i (its '+', '(' or '0'): *end after
 * it. The digits are read into its national form (a leading 0 for the
 * +886 form), separators skipped one or two at a time between digits;
 * then the longest form that fits and is not followed by a digit. */
static int phone_at(const char *s, size_t len, size_t i, size_t *end)
{
    char nat[11];
    size_t ends[11], adv, j = i, k, k2;
    int c = unit(s, len, j, &adv), n = 0, seps, lens[2], t;

    if (c == '+') {
        for (t = 0, j += adv; t < 3; t++, j += adv) {
            if (unit(s, len, j, &adv) != "886"[t]) {
                return 0;
            }
        }
        nat[n++] = '0';
        ends[1] = j;
        /* "+886 (0)2 ...": the national 0 in brackets is left out */
        for (seps = 0; seps < 3; seps++) {
            c = unit(s, len, j, &adv);
            if (c == '(' && unit(s, len, j + adv, &k) == '0'
                && unit(s, len, j + adv + k, &k2) == ')') {
                j += adv + k + k2;
            }
            else if (is_sep(c) && c != ')') {
                j += adv;
            }
            else {
                break;
            }
        }
        if (!is_digit(unit(s, len, j, &adv))) {
            return 0;
        }
    }
    else if (c == '(') {
        j += adv;
    }
    while (n < 10) {
        c = unit(s, len, j, &adv);
        if (is_digit(c)) {
            nat[n++] = (char)c;
            j += adv;
            ends[n] = j;
            continue;
        }
        /* one or two separators, then a digit */
        if (n == 0 || !is_sep(c)) {
            break;
        }
        k = j + adv;
        c = unit(s, len, k, &adv);
        if (is_sep(c)) {
            k += adv;
            c = unit(s, len, k, &adv);
        }
        if (!is_digit(c)) {
            break;
        }
        j = k;
    }
    if (n < 9 || nat[0] != '0') {
        return 0;
    }
    lens[0] = 10;
    lens[1] = nat[1] == '9' ? 0 : 9;        /* a mobile number has 10 */
    if (nat[1] < '2' || nat[1] > '9') {
        return 0;
    }
    for (t = 0; t < 2; t++) {
        if (lens[t] && n >= lens[t]
            && !is_digit(unit(s, len, ends[lens[t]], &adv))) {
            *end = ends[lens[t]];
            return 1;
        }
    }
    return 0;
}

/* Fewer digits than any span needs (the common case: nothing to do). */
static int too_few_digits(const char *s, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len && n < MIN_DIGITS; i++) {
        if (is_digit(s[i])) {
            n++;
        }
        else if (s[i] == '\xef' && i + 2 < len && s[i + 1] == '\xbc'
                 && (unsigned char)s[i + 2] >= 0x90
                 && (unsigned char)s[i + 2] <= 0x99) {
            n++;                /* a full-width digit */
            i += 2;
        }
    }
    return n < MIN_DIGITS;
}

int verify_pii_next(const char *s, size_t len, size_t from, unsigned kinds,
                    verify_pii_span_t *span)
{
    size_t i = from, adv, end;
    int c, prev;

    if (!s || from >= len || too_few_digits(s + from, len - from)) {
        return 0;
    }
    prev = unit_before(s, len, from);
    for (; i < len; i += adv, prev = c) {
        c = unit(s, len, i, &adv);
        if ((kinds & VERIFY_PII_ID) && ((c >= 'A' && c <= 'Z')
                                        || (c >= 'a' && c <= 'z'))
            && id_at(s, len, i, &end)) {
            span->kind = VERIFY_PII_ID;
        }
        else if ((kinds & VERIFY_PII_PHONE) && !is_digit(prev)
                 && (c == '0' || c == '+' || c == '(')
                 && phone_at(s, len, i, &end)) {
            span->kind = VERIFY_PII_PHONE;
        }
        else {
            continue;
        }
        span->start = i;
        span->end = end;
        return 1;
    }
    return 0;
}

/* The phone number of @p sp masked, at @p o: the end of what was
 * written. */
static char *mask_phone(const char *s, size_t len,
                        const verify_pii_span_t *sp, char *o)
{
    size_t i, adv;
    int intl = unit(s, len, sp->start, &adv) == '+', c, prev = 0, n = 0;

    for (i = sp->start; i < sp->end; i += adv, prev = c) {
        c = unit(s, len, i, &adv);
        /* the national 0 of "+886 (0)": only before the first national
         * digit (n counts 886 too); a "(0" further on is a digit */
        if (intl && c == '0' && prev == '(' && n == 3) {
            memcpy(o, s + i, adv);
            o += adv;
        }
        else if (is_digit(c) && n++ >= (intl ? 4 : 2)) {
            *o++ = '*';
        }
        else {
            memcpy(o, s + i, adv);
            o += adv;
        }
    }
    return o;
}

static const char *mask_once(const char *s, size_t len, unsigned kinds,
                             size_t *outlen, unsigned *found, apr_pool_t *p)
{
    verify_pii_span_t sp;
    char buf[VERIFY_ID_LEN], masked[VERIFY_ID_LEN + 1];
    char *out = NULL, *o = NULL;
    size_t at = 0, i, adv;
    unsigned got = 0;
    int k;

    while (verify_pii_next(s, len, at, kinds, &sp)) {
        if (!out) {
            /* a mask is never longer than what it replaces */
            out = o = apr_palloc(p, len + 1);
        }
        memcpy(o, s + at, sp.start - at);
        o += sp.start - at;
        if (sp.kind == VERIFY_PII_ID) {
            for (i = sp.start, k = 0; k < VERIFY_ID_LEN; k++, i += adv) {
                buf[k] = (char)unit(s, len, i, &adv);
            }
            verify_id_mask(buf, VERIFY_ID_LEN, masked);
            memcpy(o, masked, VERIFY_ID_LEN);
            o += VERIFY_ID_LEN;
        }
        else {
            o = mask_phone(s, len, &sp, o);
        }
        got |= sp.kind;
        at = sp.end;
    }
    if (found) {
        *found = got;
    }
    if (!out) {
        if (outlen) {
            *outlen = len;
        }
        return s;
    }
    memcpy(o, s + at, len - at);
    o += len - at;
    *o = '\0';
    if (outlen) {
        *outlen = (size_t)(o - out);
    }
    return out;
}

/* Masked until nothing is found: a number written right after another
 * ("...6789+886 2 2345 6789") is no span while a digit precedes it, and
 * becomes one once that digit is a '*'. Each round masks digits, so it
 * ends. */
const char *verify_pii_mask(const char *s, size_t len, unsigned kinds,
                            size_t *outlen, unsigned *found, apr_pool_t *p)
{
    const char *m = s, *next;
    size_t n = len;
    unsigned got = 0, more;

    while ((next = mask_once(m, n, kinds, &n, &more, p)) != m) {
        m = next;
        got |= more;
    }
    if (outlen) {
        *outlen = n;
    }
    if (found) {
        *found = got;
    }
    return m;
}

const char *verify_pii_kind_name(unsigned kinds)
{
    switch (kinds) {
    case VERIFY_PII_ID:    return "national ID number";
    case VERIFY_PII_PHONE: return "phone number";
    }
    return "personal data";
}
