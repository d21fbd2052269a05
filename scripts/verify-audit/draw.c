/*
 * draw.c -- the sample the sheet marks (R5.1).
 *
 * The one place in the report that knows how the month's sample is
 * drawn, so that the sheet follows `verify-audit sample` when that
 * changes (issue 8 item 1 changes how the seed is chosen and which
 * queries are drawn from). What it does now is what `sample` does with
 * a given seed: the population is every query of the month, the size
 * verify_sample_size(), the sample the queries with the smallest
 * HMAC-SHA256(seed, request_id), ties by seq. The seed is the root of
 * the first signed checkpoint made after the month ended that covers
 * the month's last line (as issue 8 item 1 asks), so nobody picks it:
 * `sample --month M --seed ROOT` prints the same sample.
 */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "sheet.h"

void draw_init(draw_t *d, apr_pool_t *p)
{
    memset(d, 0, sizeof(*d));
    d->rids = apr_array_make(p, 1024, sizeof(const char *));
}

void draw_query(draw_t *d, size_t i, json_t *j)
{
    const char *rid = jstr(j, "request_id");

    while ((size_t)d->rids->nelts <= i) {
        APR_ARRAY_PUSH(d->rids, const char *) = "";
    }
    APR_ARRAY_IDX(d->rids, i, const char *) =
        rid ? apr_pstrdup(d->rids->pool, rid) : "";
}

/* By rank, then seq: as `sample` orders the draw. */
static int cmp_rank(const void *a, const void *b, void *ctx)
{
    const qline_t *q = ctx;
    const qline_t *x = &q[*(const size_t *)a], *y = &q[*(const size_t *)b];
    int c = memcmp(x->rank, y->rank, 32);

    if (c) {
        return c;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void draw_make(draw_t *d, month_t *m, const cpline_t *seed, apr_pool_t *p)
{
    unsigned char bytes[32];
    char hex[65];
    size_t i, *order;

    d->population = m->n;
    d->k = verify_sample_size(m->n);
    d->rule = verify_sample_rule(m->n);
    if (m->n == 0) {
        d->why_none = "the month has no queries";
        return;
    }
    if (!seed) {
        d->why_none = "no draw yet: the seed is the root of the first "
                      "signed checkpoint made after the month ended that "
                      "covers its last line, and the files given hold none "
                      "(the month is not over, checkpoints are not "
                      "configured, or later files were not given)";
        return;
    }
    if (sheet_cp_seed(seed, bytes) != 0) {
        d->why_none = "the seed checkpoint's line holds no root";
        return;
    }
    verify_hex(bytes, 32, hex);
    d->seed_hex = apr_pstrdup(p, hex);
    d->from = seed;
    order = malloc(m->n * sizeof(*order));
    d->marked = apr_pcalloc(p, m->n);
    if (!order) {
        d->why_none = "out of memory";
        d->seed_hex = NULL;
        return;
    }
    for (i = 0; i < m->n; i++) {
        const char *rid = i < (size_t)d->rids->nelts
                          ? APR_ARRAY_IDX(d->rids, i, const char *) : "";
        verify_sample_rank(bytes, 32, rid, strlen(rid), m->q[i].rank);
        order[i] = i;
    }
    qsort_r(order, m->n, sizeof(*order), cmp_rank, m->q);
    for (i = 0; i < d->k; i++) {
        d->marked[order[i]] = 1;
    }
    free(order);
}

const char *draw_command(const draw_t *d, const audit_args_t *a,
                         apr_pool_t *p)
{
    return apr_psprintf(p, PROG " sample --month %s --seed %s %s", a->month,
                        d->seed_hex ? d->seed_hex : "ROOT", a->file_args);
}
