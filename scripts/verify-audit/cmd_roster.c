/*
 * cmd_roster.c -- the register of everyone who queried (R4.3, R5.5): per
 * client and operator the first and last query, the queries, answered
 * and refused; then each client's addresses; with --config, the
 * register joined with them (roster_register.c).
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "roster.h"

typedef struct roster_t {
    const char *since;          /* "YYYY-MM-DD" or NULL */
    apr_hash_t *rows;           /* rrow_t by client+operator */
    apr_hash_t *ips;            /* iprow_t by client+ip */
    apr_pool_t *p;
} roster_t;

static rrow_t *roster_row(roster_t *x, bstr_t client, bstr_t oper,
                          const char *ts)
{
    apr_size_t kl;
    const char *k = key2(client, oper.s, oper.len, &kl, x->p);
    rrow_t *r = apr_hash_get(x->rows, k, kl);

    if (!r) {
        r = apr_pcalloc(x->p, sizeof(*r));
        r->client = client;
        r->oper = oper;
        copy_ts(r->first, ts);
        apr_hash_set(x->rows, k, kl, r);
    }
    return r;
}

static int roster_line(verify_scan_t *s, const char *line, size_t len,
                       json_t *j, int bad, int fi, apr_off_t off)
{
    roster_t *x = s->ctx;
    const char *ts = jstr(j, "ts"), *ip = jstr(j, "ip");
    bstr_t client;
    rrow_t *r;
    iprow_t *ir;

    if (!is_query(j) || !ts) {
        return 0;
    }
    if (x->since && strncmp(ts, x->since, 10) < 0) {
        return 0;
    }
    client = member_bytes(j, "client", x->p);
    r = roster_row(x, client, member_bytes(j, "operator", x->p), ts);
    copy_ts(r->last, ts);
    r->n++;
    r->answered += answered_line(j);
    ir = ip_row(x->ips, client, ip ? ip : "?", x->p);
    ir->n++;
    copy_ts(ir->last, ts);
    return 0;
}

static int cmp_rrow(const void *a, const void *b)
{
    const rrow_t *x = *(const rrow_t *const *)a;
    const rrow_t *y = *(const rrow_t *const *)b;
    int c = cmp_bstr(x->client, y->client);

    return c ? c : cmp_bstr(x->oper, y->oper);
}

/* The rows of client and operator. */
static void print_people(const apr_array_header_t *a, apr_pool_t *p)
{
    static const char *const head[] = {
        "client", "operator", "first", "last", "queries", "answered",
        "refused"
    };
    static const int maxw[] = { 24, 24, 0, 0, 0, 0, 0 };
    table_t t;
    int i;

    table_init(&t, 7, head, maxw, p);
    for (i = 0; i < a->nelts; i++) {
        const rrow_t *r = APR_ARRAY_IDX(a, i, rrow_t *);
        const char *raw[7];
        size_t rlen[7] = { r->client.len, r->oper.len, (size_t)-1,
                           (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1 };
        client_cell(r->client, &raw[0], &rlen[0]);
        raw[1] = r->oper.s;
        raw[2] = row_ts(r->first, p);
        raw[3] = row_ts(r->last, p);
        raw[4] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->n);
        raw[5] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->answered);
        raw[6] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->n - r->answered);
        table_add(&t, raw, rlen);
    }
    table_print(&t, TABLE_CUT_NOTE);
}

/* The addresses of each client. */
static void print_addresses(apr_hash_t *ips, apr_pool_t *p)
{
    static const char *const head[] = {
        "client", "address", "queries", "last"
    };
    static const int maxw[] = { 24, 0, 0, 0 };
    apr_array_header_t *a = hash_sorted(ips, cmp_iprow, p);
    table_t t;
    int i;

    table_init(&t, 4, head, maxw, p);
    for (i = 0; i < a->nelts; i++) {
        const iprow_t *r = APR_ARRAY_IDX(a, i, iprow_t *);
        const char *raw[4];
        size_t rlen[4] = { r->client.len, (size_t)-1, (size_t)-1,
                           (size_t)-1 };
        client_cell(r->client, &raw[0], &rlen[0]);
        raw[1] = r->ip;
        raw[2] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->n);
        raw[3] = row_ts(r->last, p);
        table_add(&t, raw, rlen);
    }
    table_print(&t, TABLE_CUT_NOTE);
}

int cmd_roster(const audit_args_t *a, apr_pool_t *p)
{
    apr_array_header_t *rows;
    verify_scan_t s;
    roster_t x;
    roster_reg_t g;
    uint64_t total = 0;
    int i;

    /* the register first: a bad one is said before the log is read */
    if (a->config && roster_register_load(&g, a, p) != 0) {
        return 1;
    }
    memset(&x, 0, sizeof(x));
    x.since = a->since;
    x.p = p;
    x.rows = apr_hash_make(p);
    x.ips = apr_hash_make(p);
    scan_init(&s, a, roster_line, &x, p);
    if (scan_intact(&s, "roster") != 0) {
        return 1;
    }
    printf("Register of everyone who queried (R4.3, R5.5)\n");
    if (a->since) {
        printf("period:       queries from %s on (Taipei time)\n",
               a->since);
    }
    else {
        printf("period:       every query in the files read\n");
    }
    chain_header(&s, p);
    if (a->config) {
        printf("config:       %s: %d client(s)%s\n", safe_str(p, a->config),
               g.clients->nelts, a->certs ? apr_psprintf(p, ", certificates "
               "from %s", safe_str(p, a->certs)) : "");
    }
    rows = hash_sorted(x.rows, cmp_rrow, p);
    for (i = 0; i < rows->nelts; i++) {
        total += APR_ARRAY_IDX(rows, i, rrow_t *)->n;
    }
    printf("queries:      %" APR_UINT64_T_FMT " by %d client/operator "
           "pair(s)\n\n", total, rows->nelts);
    if (rows->nelts == 0) {
        printf("No queries in the period.\n");
    }
    else {
        print_people(rows, p);
        printf("\nAddresses per client:\n\n");
        print_addresses(x.ips, p);
    }
    if (a->config) {
        roster_register_print(&g, rows, p);
    }
    return write_failed();
}
