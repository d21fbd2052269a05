/*
 * verify_intake_par.c -- a batch taken in by several threads (see
 * verify_csv.h, verify_intake_set_par).
 *
 * The batch is cut at line feeds into one range per thread. Each range
 * is scanned (UTF-8, NUL) by its thread; then, the header read, each
 * range's records are parsed, checked, normalised and hashed into a
 * record set of its own, and the sets are joined in file order. The
 * first fault in file order is the one reported, as by one thread: a
 * part stops when an earlier one has a fault, and a part's result
 * counts only if every part before it ended exactly where the next
 * began (a quoted field may hold a line feed: if a cut fell inside one,
 * the batch is parsed again by one thread).
 */
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <apr_strings.h>
#include "verify_csv.h"
#include "verify_intake_private.h"
#include "verify_key.h"
#include "verify_merkle.h"
#include "verify_recset.h"

typedef struct part_t {
    intake_t in;                /* its intake: own set, own pool */
    const char *buf;
    size_t len;
    size_t from, to;            /* its range of the batch */
    unsigned long lines;        /* line feeds in it (scan) */
    size_t bad;                 /* scan: first fault, or (size_t)-1 */
    int nul;
    span_t sp;                  /* parse */
    int active;                 /* has records to parse */
    char *err;
    int rc;                     /* of the step run last */
    int (*step)(void *);
    verify_intake_par_t *par;
} part_t;

static int part_scan(void *arg)
{
    part_t *pt = arg;

    pt->lines = 0;
    pt->bad = verify_intake_scan(pt->buf, pt->from, pt->to, &pt->nul,
                                 &pt->lines, pt->in.drop, pt->in.drop_ctx);
    return 0;
}

static int part_parse(void *arg)
{
    part_t *pt = arg;
    int rc, seen;

    pt->in.done = pt->sp.start;
    rc = verify_intake_records(&pt->in, pt->buf, pt->len, &pt->sp, &pt->err);
    if (rc < 0) {
        /* later parts need not go on */
        seen = __atomic_load_n(pt->in.first_bad, __ATOMIC_RELAXED);
        while (seen > pt->in.part
               && !__atomic_compare_exchange_n(pt->in.first_bad, &seen,
                                               pt->in.part, 0,
                                               __ATOMIC_RELAXED,
                                               __ATOMIC_RELAXED))
            ;
    }
    return rc;
}

static void *part_thread(void *arg)
{
    part_t *pt = arg;
    verify_intake_par_t *par = pt->par;

    pt->rc = par->guard ? par->guard(par->guard_ctx, pt->step, pt)
                        : pt->step(pt);
    return NULL;
}

/* @p step for each part: the first here, the others in threads of
 * their own (or here, should a thread not start). */
static void run_parts(part_t *parts, unsigned n, int (*step)(void *))
{
    pthread_t tid[VERIFY_INTAKE_MAX_THREADS];
    int started[VERIFY_INTAKE_MAX_THREADS];
    unsigned k;

    for (k = 0; k < n; k++) {
        parts[k].step = step;
        started[k] = k > 0 && parts[k].active
                     && pthread_create(&tid[k], NULL, part_thread,
                                       &parts[k]) == 0;
    }
    for (k = 0; k < n; k++) {
        if (started[k]) {
            continue;
        }
        parts[k].rc = parts[k].active ? step(&parts[k]) : 0;
    }
    for (k = 0; k < n; k++) {
        if (started[k]) {
            pthread_join(tid[k], NULL);
        }
    }
}

/* The header only: the parse stops after it (HEADER_READ). */
static int header_row(void *ctx, unsigned long line, const char *const *f,
                      const size_t *lens, int n)
{
    int rc = verify_intake_row(ctx, line, f, lens, n);

    return rc != 0 ? rc : HEADER_READ;
}

/* Where the n ranges begin: cut[k], just after a line feed (or at the
 * end); cut[n] = len. */
static void cut_ranges(const char *buf, size_t len, unsigned n, size_t *cut)
{
    const char *nl;
    unsigned k;
    size_t at;

    cut[0] = 0;
    for (k = 1; k < n; k++) {
        at = (size_t)((double)len * k / n);
        if (at < cut[k - 1]) {
            at = cut[k - 1];
        }
        nl = at < len ? memchr(buf + at, '\n', len - at) : NULL;
        cut[k] = nl ? (size_t)(nl - buf) + 1 : len;
    }
    cut[n] = len;
}

/* Did a guard stop a part? Its value, or 0. */
static int guard_tripped(const part_t *parts, unsigned n)
{
    unsigned k;

    for (k = 0; k < n; k++) {
        if (parts[k].rc != 0 && parts[k].rc != -1
            && parts[k].rc != PART_STOPPED && parts[k].rc != HEADER_READ) {
            return parts[k].rc;
        }
    }
    return 0;
}

/* The parallel intake of the batch into in->set; n >= 2 parts.
 * APR_EAGAIN: a cut fell inside a record, parse it again in one. */
static apr_status_t intake_par(intake_t *in, const char *buf, size_t len,
                               unsigned n, verify_intake_par_t *par,
                               char **err)
{
    part_t parts[VERIFY_INTAKE_MAX_THREADS];
    size_t cut[VERIFY_INTAKE_MAX_THREADS + 1];
    span_t head = { 0, len, 1, 0 };
    unsigned long line = 1;
    int first_bad = INT_MAX, rc;
    unsigned k, active = 0;

    cut_ranges(buf, len, n, cut);
    memset(parts, 0, sizeof(parts));
    for (k = 0; k < n; k++) {
        parts[k].buf = buf;
        parts[k].len = len;
        parts[k].from = cut[k];
        parts[k].to = cut[k + 1];
        parts[k].active = cut[k] < cut[k + 1];
        parts[k].bad = (size_t)-1;      /* an empty range has no fault */
        parts[k].par = par;
        parts[k].in.drop = in->drop;
        parts[k].in.drop_ctx = in->drop_ctx;
    }
    run_parts(parts, n, part_scan);
    if ((par->guard_rc = guard_tripped(parts, n)) != 0) {
        return APR_EGENERAL;
    }
    for (k = 0; k < n; k++) {
        if (parts[k].bad != (size_t)-1) {
            *err = verify_intake_scan_fault(buf, parts[k].bad,
                                            parts[k].nul, in->p);
            return APR_EINVAL;
        }
    }
    /* the header, here: the parts need its columns */
    in->done = 0;
    rc = verify_csv_parse_span(buf, len, &head, header_row, NULL, in, err,
                               in->p);
    if (rc == 0) {
        *err = apr_pstrdup(in->p, "line 1: empty file (a header line is "
                           "required)");
        return APR_EINVAL;
    }
    if (rc != HEADER_READ) {
        if (in->err) {
            *err = in->err;
        }
        return APR_EINVAL;
    }
    for (k = 0; k < n; k++) {
        part_t *pt = &parts[k];

        pt->sp.start = pt->from;
        pt->sp.end = pt->to;
        pt->sp.line = line;
        line += pt->lines;
        if (pt->to <= head.stop) {
            pt->active = 0;
            continue;
        }
        if (pt->from < head.stop) {
            pt->sp.start = head.stop;
            pt->sp.line = head.line;
        }
        pt->active = 1;
        active++;
    }
    for (k = 0; k < n; k++) {
        part_t *pt = &parts[k];
        apr_allocator_t *al;
        apr_pool_t *tp;

        if (!pt->active) {
            continue;
        }
        /* a pool and allocator of its own: APR's are not shared
         * between threads */
        if (apr_allocator_create(&al) != APR_SUCCESS) {
            *err = apr_pstrdup(in->p, "out of memory");
            return APR_ENOMEM;
        }
        if (apr_pool_create_ex(&tp, in->p, NULL, al) != APR_SUCCESS) {
            apr_allocator_destroy(al);
            *err = apr_pstrdup(in->p, "out of memory");
            return APR_ENOMEM;
        }
        apr_allocator_owner_set(al, tp);
        pt->in = *in;
        pt->in.p = tp;
        pt->in.err = NULL;
        pt->in.first_bad = &first_bad;
        pt->in.part = (int)k;
        verify_recset_create_like(&pt->in.set, in->set, active, tp);
    }
    run_parts(parts, n, part_parse);
    if ((par->guard_rc = guard_tripped(parts, n)) != 0) {
        return APR_EGENERAL;
    }
    /* the first fault in file order, if every part before it is sound */
    for (k = 0; k < n; k++) {
        part_t *pt = &parts[k];

        if (!pt->active) {
            continue;
        }
        if (pt->rc == -1) {
            *err = pt->err;
            return APR_EINVAL;
        }
        if (pt->rc != 0 || (pt->to < len && pt->sp.stop != pt->to)) {
            for (k = 0; k < n; k++) {
                if (parts[k].active) {
                    apr_pool_destroy(parts[k].in.p);
                }
            }
            return APR_EAGAIN;
        }
    }
    for (k = 0; k < n; k++) {
        if (parts[k].active) {
            verify_recset_join(in->set, parts[k].in.set);
        }
    }
    par->used = active;
    return APR_SUCCESS;
}

/* The parallel verify_intake_serial, or the intake in this thread. */
static apr_status_t intake_with(intake_t *in, const char *buf, size_t len,
                                verify_intake_par_t *par, char **err)
{
    unsigned n = par ? par->threads : 1;
    apr_status_t rv;
    span_t sp = { 0, len, 1, 0 };
    int rc;

    if (n > VERIFY_INTAKE_MAX_THREADS) {
        n = VERIFY_INTAKE_MAX_THREADS;
    }
    if (par) {
        par->used = 1;
        par->guard_rc = 0;
    }
    if (n < 2 || !in->set) {
        return verify_intake_serial(in, buf, len, err);
    }
    rv = intake_par(in, buf, len, n, par, err);
    if (rv == APR_EAGAIN) {
        /* scanned and sound up to the cut: parsed again, in one */
        memset(in->pos, 0, sizeof(in->pos));
        in->have_header = 0;
        in->err = NULL;
        in->done = 0;
        rc = verify_intake_records(in, buf, len, &sp, err);
        rv = rc != 0 ? APR_EINVAL : APR_SUCCESS;
    }
    if (in->drop) {
        in->drop(in->drop_ctx, 0, len);
    }
    return rv;
}

apr_status_t verify_intake_set_par(verify_source_t src, const char *buf,
                                   size_t len, const verify_keys_t *keys,
                                   verify_date_t today, verify_recset_t *set,
                                   verify_intake_par_t *par, char **err,
                                   apr_pool_t *p)
{
    intake_t in;

    memset(&in, 0, sizeof(in));
    in.src = src;
    in.keys = keys;
    in.today = today;
    in.set = set;
    in.drop = par->drop;
    in.drop_ctx = par->drop_ctx;
    in.p = p;
    return intake_with(&in, buf, len, par, err);
}
