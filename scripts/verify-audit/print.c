/*
 * print.c -- showing untrusted text safely: terminal tables and HTML.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "print.h"
#include "tool.h"

/* Next code point of @p s; *adv its length. Invalid bytes: U+FFFD. */
static unsigned utf8_next(const unsigned char *s, size_t len, size_t *adv)
{
    uint32_t cp;

    *adv = verify_utf8_decode((const char *)s, len, &cp);
    if (*adv == 0) {
        *adv = 1;
        return 0xfffd;
    }
    return cp;
}

/* Control, invisible and bidirectional formatting characters: shown as
 * \uXXXX, so text cannot hide or reorder what is around it. */
static int cp_unsafe(unsigned c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x61c
           || (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e)
           || (c >= 0x2060 && c <= 0x2069) || c == 0xfeff;
}

/* Terminal columns of a (safe) code point. */
static int cp_width(unsigned c)
{
    if (c >= 0x300 && c <= 0x36f) {
        return 0;
    }
    if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf
                                         && c != 0x303f)
        || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff)
        || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60)
        || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x20000 && c <= 0x3fffd)) {
        return 2;
    }
    return 1;
}

/* Columns @p s takes when shown whole. */
static int text_width(const unsigned char *s, size_t len)
{
    size_t i, adv;
    int total = 0;

    for (i = 0; i < len; i += adv) {
        unsigned c = utf8_next(s + i, len - i, &adv);
        total += cp_unsafe(c) ? 6 : cp_width(c);
    }
    return total;
}

/* One safe code point at @p o; the end of what was written. */
static char *put_safe(char *o, unsigned c, const unsigned char *raw,
                      size_t adv, int flags)
{
    if (cp_unsafe(c)) {
        return o + apr_snprintf(o, 7, "\\u%04x", c);
    }
    if (c == 0xfffd && adv == 1) {
        memcpy(o, "\xef\xbf\xbd", 3);
        return o + 3;
    }
    if ((flags & SAFE_HTML) && c < 0x80 && strchr("&<>\"'", (int)c)) {
        const char *e = c == '&' ? "&amp;" : c == '<' ? "&lt;"
                        : c == '>' ? "&gt;" : c == '"' ? "&quot;"
                        : "&#39;";
        memcpy(o, e, strlen(e));
        return o + strlen(e);
    }
    memcpy(o, raw, adv);
    return o + adv;
}

const char *safe_text(apr_pool_t *p, const char *s, size_t len, int flags,
                      int maxw, int *width, int *cut)
{
    const unsigned char *u = (const unsigned char *)s;
    char *out = apr_palloc(p, 6 * len + 8), *o = out;
    size_t i, adv;
    int w = 0, limit = -1;

    if (maxw > 0 && text_width(u, len) > maxw) {
        limit = maxw - 1;       /* room for the "…" */
    }
    for (i = 0; i < len; i += adv) {
        unsigned c = utf8_next(u + i, len - i, &adv);
        int cw = cp_unsafe(c) ? 6 : cp_width(c);
        if (limit >= 0 && w + cw > limit) {
            break;
        }
        w += cw;
        o = put_safe(o, c, u + i, adv, flags);
    }
    if (limit >= 0) {
        memcpy(o, "\xe2\x80\xa6", 3);   /* … */
        o += 3;
        w++;
        if (cut) {
            *cut = 1;
        }
    }
    *o = '\0';
    if (width) {
        *width = w;
    }
    return out;
}

const char *safe_str(apr_pool_t *p, const char *s)
{
    return s ? safe_text(p, s, strlen(s), 0, 0, NULL, NULL) : "";
}

void json_line(const char *s, size_t len, apr_pool_t *p)
{
    apr_pool_t *tp;

    /* a pool per line: a long list of lines takes no more memory */
    apr_pool_create(&tp, p);
    fputs(safe_text(tp, s, len, 0, 0, NULL, NULL), stdout);
    putchar('\n');
    apr_pool_destroy(tp);
}

void html_text(FILE *o, const char *s, apr_pool_t *p)
{
    fputs(safe_text(p, s, strlen(s), SAFE_HTML, 0, NULL, NULL), o);
}

void html_or_dash(FILE *o, const char *s, size_t len, apr_pool_t *p)
{
    if (!s) {
        fputs("<span class=\"none\">\xe2\x80\x94</span>", o);
        return;
    }
    fputs(safe_text(p, s, len, SAFE_HTML, 0, NULL, NULL), o);
}

const char *shell_quote(const char *s, apr_pool_t *p)
{
    const char *c;
    char *out, *o;

    for (c = s; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("_./-+:=@", *c)) {
            break;
        }
    }
    if (!*c && *s) {
        return s;
    }
    out = o = apr_palloc(p, 4 * strlen(s) + 3);
    *o++ = '\'';
    for (c = s; *c; c++) {
        if (*c == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        }
        else {
            *o++ = *c;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

void table_init(table_t *t, int ncols, const char *const *head,
                const int *maxw, apr_pool_t *p)
{
    int c;

    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->head = head;
    t->maxw = maxw;
    t->p = p;
    t->cells = apr_array_make(p, 16, sizeof(const char **));
    t->widths = apr_array_make(p, 16, sizeof(int *));
    for (c = 0; c < ncols; c++) {
        t->colw[c] = (int)strlen(head[c]);
    }
}

void table_add(table_t *t, const char *const *raw, const size_t *len)
{
    const char **cells = apr_pcalloc(t->p, t->ncols * sizeof(*cells));
    int *w = apr_pcalloc(t->p, t->ncols * sizeof(*w));
    int c;

    for (c = 0; c < t->ncols; c++) {
        size_t l;
        if (!raw[c]) {
            cells[c] = "-";
            w[c] = 1;
        }
        else {
            l = (len && len[c] != (size_t)-1) ? len[c] : strlen(raw[c]);
            cells[c] = safe_text(t->p, raw[c], l, 0,
                                 t->maxw ? t->maxw[c] : 0, &w[c], &t->cut);
        }
        if (w[c] > t->colw[c]) {
            t->colw[c] = w[c];
        }
    }
    APR_ARRAY_PUSH(t->cells, const char **) = cells;
    APR_ARRAY_PUSH(t->widths, int *) = w;
}

void table_print(const table_t *t, const char *cut_note)
{
    int i, c;

    for (i = -1; i < t->cells->nelts; i++) {
        for (c = 0; c < t->ncols; c++) {
            const char *cell = i < 0 ? t->head[c]
                : APR_ARRAY_IDX(t->cells, i, const char **)[c];
            int w = i < 0 ? (int)strlen(t->head[c])
                : APR_ARRAY_IDX(t->widths, i, int *)[c];
            int pad = c == t->ncols - 1 ? 0 : t->colw[c] - w + 2;
            fputs(cell, stdout);
            while (pad-- > 0) {
                putchar(' ');
            }
        }
        putchar('\n');
    }
    if (t->cut) {
        printf("\n%s\n", cut_note);
    }
}

apr_array_header_t *hash_sorted(apr_hash_t *h,
                                int (*cmp)(const void *, const void *),
                                apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 16, sizeof(void *));
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(p, h); hi; hi = apr_hash_next(hi)) {
        APR_ARRAY_PUSH(a, void *) = apr_hash_this_val(hi);
    }
    qsort(a->elts, (size_t)a->nelts, sizeof(void *), cmp);
    return a;
}

int write_failed(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": cannot write the output: %s\n",
                strerror(errno));
        return 1;
    }
    return 0;
}
