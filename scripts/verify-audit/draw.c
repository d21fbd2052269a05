/*
 * draw.c -- the sample the sheet marks (R5.1).
 *
 * The one place in the report that knows how the month's sample is
 * drawn, so that the sheet follows `verify-audit sample` when that
 * changes. It is what `sample` draws at random: the population is the
 * month's answered queries (status 200; refusals are never drawn), the
 * size verify_sample_size() of it, the sample the answered queries with
 * the smallest HMAC-SHA256(seed, request_id[/item]), ties by seq. The seed is
 * the root of the first signed checkpoint made after the month ended
 * that covers the month's last line, so nobody picks it and
 * `sample --month M --verifier KEY` draws the same. The lines the
 * anomaly flags add on top of the draw are sheet_flags.c's.
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

void draw_query(draw_t *d, size_t i, const char *rid, size_t len,
                int64_t item)
{
    char suffix[VERIFY_SAMPLE_SUFFIX_MAX];

    while ((size_t)d->rids->nelts <= i) {
        APR_ARRAY_PUSH(d->rids, const char *) = NULL;
    }
    /* as a C string, as the sample reads it; a subject of a batch is
     * ranked by request_id/item */
    APR_ARRAY_IDX(d->rids, i, const char *) = !rid ? NULL
        : verify_sample_item_suffix(item, suffix)
        ? apr_pstrcat(d->rids->pool, apr_pstrndup(d->rids->pool, rid, len),
                      suffix, NULL)
        : apr_pstrndup(d->rids->pool, rid, len);
}

/* An answered query: drawn from (draw_query() keeps its request_id). */
static int answered(const draw_t *d, size_t i)
{
    return i < (size_t)d->rids->nelts
           && APR_ARRAY_IDX(d->rids, i, const char *) != NULL;
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

/* Put the @p k smallest of @p order (by rank, then seq: a total order)
 * first, in any order: the sample is a set, and sorting a million ranks
 * to mark thirty thousand was a tenth of the report's time. */
static void select_smallest(size_t *order, size_t n, size_t k,
                            const qline_t *q)
{
    size_t lo = 0, hi = n, i, store, t;

    while (k > lo && k < hi && hi - lo > 1) {
        /* the middle one as the pivot, moved to the end */
        t = order[lo + (hi - lo) / 2];
        order[lo + (hi - lo) / 2] = order[hi - 1];
        order[hi - 1] = t;
        for (i = store = lo; i < hi - 1; i++) {
            if (cmp_rank(&order[i], &order[hi - 1], (void *)q) < 0) {
                t = order[i];
                order[i] = order[store];
                order[store++] = t;
            }
        }
        t = order[store];
        order[store] = order[hi - 1];
        order[hi - 1] = t;
        /* order[lo..store) < pivot = order[store] < order(store..hi) */
        if (store + 1 == k || store == k) {
            return;
        }
        if (store > k) {
            hi = store;
        }
        else {
            lo = store + 1;
        }
    }
}

void draw_make(draw_t *d, month_t *m, const cpline_t *seed, apr_pool_t *p)
{
    unsigned char bytes[32];
    char hex[65];
    verify_sample_ranker_t *ranker;
    size_t i, *order;

    size_t n = 0, j;

    for (i = 0; i < m->n; i++) {
        n += answered(d, i);
    }
    d->population = n;
    d->k = verify_sample_size(n);
    d->rule = verify_sample_rule(n);
    if (n == 0) {
        d->why_none = "the month has no answered queries";
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
    /* the key set up once for the month's ranks, as sample does */
    if (verify_sample_ranker_make(&ranker, bytes, 32, p) != APR_SUCCESS) {
        free(order);
        d->why_none = "out of memory (OpenSSL)";
        d->seed_hex = NULL;
        return;
    }
    for (i = 0, j = 0; i < m->n; i++) {
        const char *rid = i < (size_t)d->rids->nelts
                          ? APR_ARRAY_IDX(d->rids, i, const char *) : NULL;
        if (answered(d, i)) {
            if (verify_sample_ranker_rank(ranker, rid, strlen(rid),
                                          m->q[i].rank) != APR_SUCCESS) {
                free(order);
                d->why_none = "out of memory (OpenSSL)";
                d->seed_hex = NULL;
                return;
            }
            order[j++] = i;
        }
    }
    select_smallest(order, n, d->k, m->q);
    for (i = 0; i < d->k; i++) {
        d->marked[order[i]] = 1;
    }
    free(order);
}

const char *draw_command(const draw_t *d, const audit_args_t *a,
                         apr_pool_t *p)
{
    return apr_psprintf(p, PROG " sample --month %s --verifier KEY %s",
                        a->month, a->file_args);
}
