/*
 * month.c -- a month's queries: counted, checked and ranked in one
 * scan, read again by offset to be shown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "month.h"
#include "print.h"

/* distinct clients, checks or errors a report counts one by one */
#define TALLY_MAX 64

static void tally(apr_hash_t *h, const char *key, int answered,
                  apr_pool_t *p)
{
    tally_t *t = apr_hash_get(h, key, APR_HASH_KEY_STRING);

    if (!t && apr_hash_count(h) >= TALLY_MAX) {
        /* an endless list of invented values is lumped together */
        key = TALLY_OTHER;
        t = apr_hash_get(h, key, APR_HASH_KEY_STRING);
    }
    if (!t) {
        t = apr_pcalloc(p, sizeof(*t));
        t->key = apr_pstrdup(p, key);
        apr_hash_set(h, t->key, APR_HASH_KEY_STRING, t);
    }
    t->n++;
    t->answered += answered ? 1 : 0;
}

/* A line that is not a query: counted by op for the report. */
static void tally_service(month_t *m, json_t *j)
{
    const char *op = jstr(j, "op");

    tally(m->by_service, op ? op : "?", 0, m->p);
    if (op && !strcmp(op, "audit_recover")) {
        APR_ARRAY_PUSH(m->recovers, json_t *) = json_incref(j);
    }
}

/* A query counted by status, client and check for the report. */
static void tally_query(month_t *m, json_t *j, int bad)
{
    json_t *st = json_object_get(j, "status");
    json_t *checks = json_object_get(j, "checks"), *v, *w;
    const char *client = jstr(j, "client"), *err = jstr(j, "error");
    int answered = answered_line(j);
    size_t i, k;

    m->answered += answered;
    m->bad += bad;
    tally(m->by_status, apr_psprintf(m->p, "%03" APR_INT64_T_FMT " %s",
                                     json_is_integer(st)
                                     ? (apr_int64_t)json_integer_value(st)
                                     : 0, err ? err : ""),
          answered, m->p);
    /* "" is no client: a register name is never empty */
    tally(m->by_client, client ? client : "", answered, m->p);
    json_array_foreach(checks, i, v) {
        const char *c = json_string_value(v);
        for (k = 0; k < i; k++) {
            w = json_array_get(checks, k);
            if (json_equal(v, w)) {
                break;
            }
        }
        if (k == i) {   /* a check asked twice counts once */
            tally(m->by_check, c ? c : "?", answered, m->p);
        }
    }
}

/* Room for one more query; NULL when there is none. */
static qline_t *new_query(month_t *m)
{
    qline_t *q;

    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 1024;
        qline_t *nq = realloc(m->q, cap * sizeof(*nq));
        if (!nq) {
            fprintf(stderr, PROG ": out of memory after %zu queries\n",
                    m->n);
            return NULL;
        }
        m->q = nq;
        m->cap = cap;
    }
    q = &m->q[m->n++];
    memset(q, 0, sizeof(*q));
    return q;
}

static int month_line(verify_scan_t *s, const char *line, size_t len,
                      json_t *j, int bad, int fi, apr_off_t off)
{
    month_t *m = s->ctx;
    const char *ts = jstr(j, "ts"), *rid;
    month_seen_t seen;
    json_t *seq;
    qline_t *q = NULL;

    if (ts && strncmp(ts, m->month, 7) <= 0) {
        m->end = s->chain;
    }
    seen.in_month = ts && !strncmp(ts, m->month, 7) && ts[7] == '-';
    if (!seen.in_month) {
        goto seen;
    }
    m->file_lines[fi]++;
    if (!is_query(j)) {
        if (m->summary) {
            tally_service(m, j);
        }
        goto seen;
    }
    q = new_query(m);
    if (!q) {
        return -1;
    }
    seq = json_object_get(j, "seq");
    q->seq = json_is_integer(seq) ? (uint64_t)json_integer_value(seq) : 0;
    q->off = off;
    q->file = fi;
    q->bad = bad;
    EVP_Digest(line, len, q->digest, NULL, EVP_sha256(), NULL);
    if (m->seed) {
        json_t *it = json_object_get(j, "item");
        char suffix[VERIFY_SAMPLE_SUFFIX_MAX];
        rid = jstr(j, "request_id");
        /* a subject of a batch is ranked by request_id/item */
        if (verify_sample_item_suffix(json_is_integer(it)
                                      ? json_integer_value(it) : -1,
                                      suffix)) {
            rid = apr_pstrcat(m->p, rid ? rid : "", suffix, NULL);
        }
        verify_sample_rank(m->seed, m->seed_len, rid ? rid : "",
                           rid ? strlen(rid) : 0, q->rank);
    }
    if (m->summary) {
        tally_query(m, j, bad);
    }

seen:
    if (!m->each) {
        return 0;
    }
    seen.j = j;
    seen.line = line;
    seen.len = len;
    seen.bad = bad;
    seen.file = fi;
    seen.off = off;
    seen.q = q;
    return m->each(m, &seen);
}

int month_scan(verify_scan_t *s, month_t *m, const audit_args_t *a,
               int keep_going, apr_pool_t *p)
{
    scan_init(s, a, month_line, m, p);
    s->keep_going = keep_going;
    m->month = a->month;
    m->p = p;
    m->file_lines = apr_pcalloc(p, (size_t)(a->files->nelts + 1)
                                   * sizeof(*m->file_lines));
    m->by_status = apr_hash_make(p);
    m->by_client = apr_hash_make(p);
    m->by_check = apr_hash_make(p);
    m->by_service = apr_hash_make(p);
    m->recovers = apr_array_make(p, 4, sizeof(json_t *));
    return scan_run(s);
}

void month_free(month_t *m)
{
    int i;

    for (i = 0; m->recovers && i < m->recovers->nelts; i++) {
        json_decref(APR_ARRAY_IDX(m->recovers, i, json_t *));
    }
    free(m->q);
}

static int cmp_rank(const void *a, const void *b)
{
    const qline_t *x = a, *y = b;
    int c = memcmp(x->rank, y->rank, 32);

    if (c) {
        return c;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_place(const void *a, const void *b)
{
    const qline_t *x = a, *y = b;

    if (x->file != y->file) {
        return x->file < y->file ? -1 : 1;
    }
    return x->off < y->off ? -1 : x->off > y->off;
}

void month_sort_by_rank(month_t *m)
{
    qsort(m->q, m->n, sizeof(*m->q), cmp_rank);
}

void month_sort_by_place(month_t *m, size_t k)
{
    qsort(m->q, k, sizeof(*m->q), cmp_place);
}

const char *month_note(const char *month, apr_pool_t *p)
{
    char today[11], now_month[8];

    verify_date_format(verify_date_taipei(apr_time_now()), today);
    apr_cpystrn(now_month, today, sizeof(now_month));
    if (strcmp(month, now_month) == 0) {
        return apr_psprintf(p, "%s is not over yet (today is %s, Taipei "
                            "time): later queries are not in it", month,
                            today);
    }
    if (strcmp(month, now_month) > 0) {
        return apr_psprintf(p, "%s has not begun yet (today is %s, Taipei "
                            "time)", month, today);
    }
    return NULL;
}

void reader_init(reader_t *r, const apr_array_header_t *files,
                 apr_pool_t *p)
{
    memset(r, 0, sizeof(*r));
    r->files = files;
    r->fd = -1;
    r->p = p;
    r->line = apr_palloc(p, VERIFY_AUDIT_LINE_MAX);
}

/* Open file @p fi for reread(), unless it is open: a regular file only,
 * as the scan read it. */
static int reader_open(reader_t *r, int fi)
{
    const char *path = APR_ARRAY_IDX(r->files, fi, const char *);
    struct stat st;

    if (r->fd >= 0 && r->fi == fi) {
        return 0;
    }
    if (r->fd >= 0) {
        close(r->fd);
    }
    r->fi = fi;
    r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (r->fd < 0 || fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, PROG ": cannot open %s: %s\n", safe_str(r->p, path),
                r->fd < 0 ? strerror(errno) : "not a regular file");
        if (r->fd >= 0) {
            close(r->fd);
            r->fd = -1;
        }
        return -1;
    }
    return 0;
}

json_t *reread(reader_t *r, const qline_t *q)
{
    unsigned char digest[32];
    json_error_t jerr;
    json_t *j = NULL;
    const char *nl = NULL;
    ssize_t n = -1;

    if (reader_open(r, q->file) != 0) {
        return NULL;
    }
    /* a query line the scan read is shorter than the bound */
    n = pread(r->fd, r->line, VERIFY_AUDIT_LINE_MAX, q->off);
    if (n > 0) {
        nl = memchr(r->line, '\n', (size_t)n);
    }
    if (nl) {
        n = nl - r->line;
        EVP_Digest(r->line, (size_t)n, digest, NULL, EVP_sha256(), NULL);
        if (!memcmp(digest, q->digest, 32)) {
            j = json_loadb(r->line, (size_t)n, VERIFY_SCAN_JSON_FLAGS,
                           &jerr);
        }
    }
    if (!j) {
        fprintf(stderr, PROG ": %s changed while it was read (the line of "
                "seq %" APR_UINT64_T_FMT " is not what it was): run the "
                "command again, then `" PROG " verify`\n",
                safe_str(r->p, APR_ARRAY_IDX(r->files, q->file,
                                             const char *)), q->seq);
        return NULL;
    }
    r->len = (size_t)n;
    return j;
}

void reader_close(reader_t *r)
{
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
}
