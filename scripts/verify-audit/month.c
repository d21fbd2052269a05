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
#include "hash_ahead.h"
#include "month.h"
#include "print.h"
#include "verify_sha256.h"

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

/* A query counted by status, client and check for the report: read in
 * place (month_t.flat), a million times a month. */
static void tally_query(month_t *m, const verify_flat_t *f, int bad)
{
    const verify_flat_member_t *ck = verify_flat_get(f, "checks");
    const char *client, *err;
    char *buf = m->buf;
    size_t clen = 0, elen = 0;
    int64_t st = 0;
    char key[96];
    int answered;

    verify_flat_int(f, "status", &st);
    answered = st == 200;
    client = verify_flat_str(f, "client", buf, VERIFY_AUDIT_LINE_MAX / 2,
                             &clen);
    err = verify_flat_str(f, "error", buf + VERIFY_AUDIT_LINE_MAX / 2,
                          VERIFY_AUDIT_LINE_MAX / 2, &elen);
    m->answered += answered;
    m->bad += bad;
    /* the key on the stack: tally() copies a new one */
    apr_snprintf(key, sizeof(key), "%03" APR_INT64_T_FMT " %.*s",
                 (apr_int64_t)st, err ? (int)(elen < 80 ? elen : 80) : 0,
                 err ? err : "");
    tally(m->by_status, key, answered, m->p);
    /* "" is no client: a register name is never empty (text after a NUL
     * byte is not part of the key, as jansson's strings showed it) */
    if (client && clen < sizeof(key)) {
        memcpy(key, client, clen);
        key[clen] = '\0';
        client = key;
    }
    else if (client) {
        client = apr_pstrmemdup(m->p, client, clen);
    }
    tally(m->by_client, client ? client : "", answered, m->p);
    /* the checks by the array's text: few distinct ones a month; each
     * read into its checks at the end (month_checks) */
    if (ck && ck->type == VERIFY_FLAT_ARRAY) {
        tally_t *t = apr_hash_get(m->by_checks_text, ck->val.s,
                                  (apr_ssize_t)ck->val.len);
        if (!t && apr_hash_count(m->by_checks_text) >= TALLY_MAX * 4) {
            t = apr_hash_get(m->by_checks_text, "[]", 2);
        }
        if (!t) {
            t = apr_pcalloc(m->p, sizeof(*t));
            t->key = apr_pstrmemdup(m->p, ck->val.s, ck->val.len);
            apr_hash_set(m->by_checks_text, t->key,
                         (apr_ssize_t)ck->val.len, t);
        }
        t->n++;
        t->answered += answered;
    }
}

/* The checks counted one by one, from the texts of the arrays counted:
 * a check asked twice in a query counts once. */
static void month_checks(month_t *m)
{
    apr_hash_index_t *hi;
    json_t *checks, *v, *w;
    size_t i, k, c;

    for (hi = apr_hash_first(m->p, m->by_checks_text); hi;
         hi = apr_hash_next(hi)) {
        const tally_t *t = apr_hash_this_val(hi);
        checks = json_loads(t->key, JSON_REJECT_DUPLICATES, NULL);
        json_array_foreach(checks, i, v) {
            const char *cs = json_string_value(v);
            for (k = 0; k < i; k++) {
                w = json_array_get(checks, k);
                if (json_equal(v, w)) {
                    break;
                }
            }
            if (k < i) {
                continue;
            }
            for (c = 0; c < t->n; c++) {
                tally(m->by_check, cs ? cs : "?", c < t->answered, m->p);
            }
        }
        json_decref(checks);
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

/* A member of a line as text (unescaped into m->buf past *used). */
static const char *fmember(month_t *m, const verify_flat_t *f,
                           const char *key, size_t *len, size_t *used)
{
    const char *v = verify_flat_str(f, key, m->buf + *used,
                                    VERIFY_AUDIT_LINE_MAX - *used, len);

    if (v == m->buf + *used) {
        *used += *len;
    }
    return v;
}

static int month_line(verify_scan_t *s, const char *line, size_t len,
                      json_t *j, int bad, int fi, apr_off_t off)
{
    month_t *m = s->ctx;
    const verify_flat_t *f = NULL;
    const char *ts, *rid, *op, *why;
    month_seen_t seen;
    size_t tslen = 0, oplen = 0, ridlen = 0, used = 0, at;
    int64_t seq;
    qline_t *q = NULL;
    json_t *owned = NULL;
    int rc, query;

    /* a sound line comes indexed (s->lazy); one after a fault is
     * indexed here (it is JSON when jansson read it: the same grammar) */
    if (!bad) {
        f = s->flat;
    }
    else if (j && verify_flat_parse(m->flat, line, len, &why, &at) == 0) {
        f = m->flat;
    }
    memset(&seen, 0, sizeof(seen));
    ts = f ? fmember(m, f, "ts", &tslen, &used) : NULL;
    op = f ? fmember(m, f, "op", &oplen, &used) : NULL;
    if (ts && tslen >= 8 && memcmp(ts, m->month, 7) <= 0) {
        m->end = s->chain;
    }
    seen.in_month = ts && tslen >= 8 && !memcmp(ts, m->month, 7)
                    && ts[7] == '-';
    seen.flat = f;
    query = f && op && oplen == 6 && !memcmp(op, "verify", 6);
    /* the lines that are not queries are few: read whole */
    if (f && !query) {
        if (!j) {
            j = owned = json_loadb(line, len, VERIFY_SCAN_JSON_FLAGS, NULL);
        }
        if (seen.in_month) {
            m->file_lines[fi]++;
            if (m->summary && j) {
                tally_service(m, j);
            }
        }
        goto seen;
    }
    if (!f || !seen.in_month) {
        goto seen;
    }
    m->file_lines[fi]++;
    q = new_query(m);
    if (!q) {
        return -1;
    }
    q->seq = verify_flat_int(f, "seq", &seq) == 0 && seq > 0
             ? (uint64_t)seq : 0;
    q->off = off;
    q->file = fi;
    q->bad = bad;
    if (m->seed) {
        char suffix[VERIFY_SAMPLE_SUFFIX_MAX];
        int64_t item;
        rid = fmember(m, f, "request_id", &ridlen, &used);
        /* a subject of a batch is ranked by request_id/item */
        if (verify_sample_item_suffix(verify_flat_int(f, "item", &item) == 0
                                      ? item : -1, suffix)) {
            rid = apr_pstrcat(m->p, rid ? apr_pstrmemdup(m->p, rid, ridlen)
                              : "", suffix, NULL);
            ridlen = strlen(rid);
        }
        verify_sample_rank(m->seed, m->seed_len, rid ? rid : "",
                           rid ? ridlen : 0, q->rank);
    }
    if (m->summary) {
        tally_query(m, f, bad);
    }

seen:
    /* the leaf (m->walk) and the query's digest, maybe on a thread */
    if (hash_ahead_line(m->ahead, line, len, q ? (size_t)(q - m->q)
                        : HASH_AHEAD_NO_QUERY) != 0) {
        json_decref(owned);
        return -1;
    }
    rc = 0;
    if (m->each) {
        seen.j = query ? NULL : j;
        seen.line = line;
        seen.len = len;
        seen.bad = bad;
        seen.file = fi;
        seen.off = off;
        seen.q = q;
        rc = m->each(m, &seen);
    }
    json_decref(owned);         /* parsed here, not by the scan */
    return rc;
}

int month_scan(verify_scan_t *s, month_t *m, const audit_args_t *a,
               int keep_going, apr_pool_t *p)
{
    int rc;

    scan_init(s, a, month_line, m, p);
    s->keep_going = keep_going;
    s->lazy = 1;
    m->flat = apr_palloc(p, sizeof(*m->flat));
    m->buf = apr_palloc(p, VERIFY_AUDIT_LINE_MAX);
    m->by_checks_text = apr_hash_make(p);
    m->month = a->month;
    m->p = p;
    m->file_lines = apr_pcalloc(p, (size_t)(a->files->nelts + 1)
                                   * sizeof(*m->file_lines));
    m->by_status = apr_hash_make(p);
    m->by_client = apr_hash_make(p);
    m->by_check = apr_hash_make(p);
    m->by_service = apr_hash_make(p);
    m->recovers = apr_array_make(p, 4, sizeof(json_t *));
    m->ahead = hash_ahead_start(m->walk, &m->q, m->threads);
    if (!m->ahead) {
        return -1;
    }
    rc = scan_run(s);
    if (hash_ahead_end(m->ahead) != 0) {
        rc = -1;
    }
    m->ahead = NULL;
    month_checks(m);
    return rc;
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
        verify_sha256_once(r->line, (size_t)n, digest);
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
