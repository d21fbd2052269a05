/*
 * sheet_flags.c -- the anomaly flags on the monthly sheet (R5.2).
 *
 * The report feeds verify_flags exactly what `sample` feeds it (the
 * same query lines, read by flags_line.c, under the same --flags
 * thresholds), so the lines the sheet flags are the lines the sample
 * adds on top of its random part: they are sampled too (marked with a
 * flag where the random draw did not take them, "flagged" in the CSV's
 * sampled column), the CSV's flags column says why, and a table lists
 * every flag with its reason.
 */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "hash_ahead.h"
#include "print.h"
#include "sheet.h"
#include "verify_pii.h"

static apr_status_t flags_pool_free(void *data)
{
    apr_pool_destroy(data);
    return APR_SUCCESS;
}

int sheet_flags_init(sheet_flags_t *sf, const audit_args_t *a,
                     apr_pool_t *p)
{
    apr_allocator_t *al = NULL;
    apr_pool_t *fp = NULL;
    int rc;

    memset(sf, 0, sizeof(*sf));
    rc = flags_conf_load(a, &sf->fc, p);
    if (rc) {
        return rc;
    }
    sf->month = a->month;
    /* the flags in a pool of their own, with its own allocator: they
     * may be counted on the hashing thread (hash_ahead.c) while the
     * reading thread allocates from @p p */
    if (apr_allocator_create(&al) != APR_SUCCESS
        || apr_pool_create_unmanaged_ex(&fp, NULL, al) != APR_SUCCESS) {
        if (al) {
            apr_allocator_destroy(al);
        }
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    apr_allocator_owner_set(al, fp);
    apr_pool_cleanup_register(p, fp, flags_pool_free,
                              apr_pool_cleanup_null);
    sf->f = verify_flags_make(&sf->fc, fp);
    sf->buf = apr_palloc(p, VERIFY_AUDIT_LINE_MAX);
    return 0;
}

void sheet_flags_line(sheet_flags_t *sf, const month_seen_t *l,
                      struct hash_ahead_t *ahead)
{
    verify_flags_query_t fq;
    const char *op, *ts;
    size_t oplen, tslen;
    int64_t seq;
    int where;

    /* a line the chain check refused is flagged by the chain, not here;
     * sample refuses such a log altogether. A query comes indexed. */
    if (l->bad || !l->flat || l->j
        || verify_flat_int(l->flat, "seq", &seq) != 0 || seq <= 0) {
        return;
    }
    op = verify_flat_str(l->flat, "op", sf->buf, 16, &oplen);
    ts = verify_flat_str(l->flat, "ts", sf->buf + 16, 64, &tslen);
    if (!op || oplen != 6 || memcmp(op, "verify", 6) || !ts || tslen < 8
        || ts[7] != '-') {
        return;
    }
    where = memcmp(ts, sf->month, 7);
    if (where > 0) {
        return;
    }
    flags_query_read(l->flat, (uint64_t)seq, sf->buf, &fq);
    if (ahead) {
        hash_ahead_flags(ahead, sf->f, &fq, where < 0);
    }
    else if (where < 0) {
        verify_flags_before(sf->f, &fq);
    }
    else {
        verify_flags_add(sf->f, &fq);
    }
}

/* The flags of the line @p seq: the index of the first in sf->found and
 * their number (found is sorted by seq). */
static int flags_of(const sheet_flags_t *sf, uint64_t seq, int *first)
{
    const apr_array_header_t *fl = sf->found;
    int lo = 0, hi = fl ? fl->nelts : 0, n = 0;

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (APR_ARRAY_IDX(fl, mid, verify_flag_t).seq < seq) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    *first = lo;
    while (fl && lo + n < fl->nelts
           && APR_ARRAY_IDX(fl, lo + n, verify_flag_t).seq == seq) {
        n++;
    }
    return n;
}

void sheet_flags_end(sheet_flags_t *sf, const month_t *m, draw_t *d,
                     apr_pool_t *p)
{
    size_t i;
    int first;

    verify_flags_end(sf->f);
    sf->found = verify_flags_found(sf->f);
    if (!sf->found->nelts) {
        return;
    }
    for (i = 0; i < m->n; i++) {
        if (flags_of(sf, m->q[i].seq, &first)) {
            sf->lines++;
            sf->extra += !(d->marked && d->marked[i]);
        }
    }
}

const char *sheet_flags_text(const sheet_flags_t *sf, uint64_t seq,
                             apr_pool_t *p)
{
    const char *out = NULL, *why;
    int first, n = flags_of(sf, seq, &first), i;

    for (i = 0; i < n; i++) {
        why = APR_ARRAY_IDX(sf->found, first + i, verify_flag_t).why;
        why = verify_pii_mask(why, strlen(why), VERIFY_PII_ID
                              | VERIFY_PII_PHONE, NULL, NULL, p);
        out = apr_pstrcat(p, out ? out : "", out ? "; " : "", why, NULL);
    }
    return out;
}

int sheet_flags_has(const sheet_flags_t *sf, uint64_t seq)
{
    int first;

    return flags_of(sf, seq, &first) > 0;
}

void sheet_flags_print(FILE *o, const sheet_flags_t *sf, apr_pool_t *p)
{
    const verify_flag_t *f;
    const char *why;
    int i;

    fprintf(o, "<h2>異常標記 Anomaly flags (R5.2): %zu line(s)</h2>\n",
            sf->lines);
    if (!sf->found->nelts) {
        fputs("<p>本月無異常標記 No line of the month is flagged.</p>\n", o);
        return;
    }
    fprintf(o, "<p class=\"intro\">Each flagged line joins the sample on top "
            "of the random part (%zu not drawn at random) and is marked "
            "\xe2\x9a\x91 in the tables below. Thresholds: %s.</p>\n"
            "<table class=\"notes\">\n<thead><tr><th>序號 seq</th>"
            "<th>標記 Flag</th><th>原因 Why</th></tr></thead>\n<tbody>\n",
            sf->extra, sf->fc_file ? "the --flags file" : "built in");
    for (i = 0; i < sf->found->nelts; i++) {
        f = &APR_ARRAY_IDX(sf->found, i, verify_flag_t);
        why = verify_pii_mask(f->why, strlen(f->why), VERIFY_PII_ID
                              | VERIFY_PII_PHONE, NULL, NULL, p);
        fprintf(o, "<tr><td class=\"n\">%" APR_UINT64_T_FMT "</td>"
                "<td class=\"n\">%s</td><td class=\"wrap\">", f->seq,
                verify_flag_name(f->kind));
        html_text(o, why, p);
        fputs("</td></tr>\n", o);
    }
    fputs("</tbody>\n</table>\n", o);
}
