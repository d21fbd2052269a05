/*
 * roster_register.c -- roster --config FILE (R4.3, R5.5): the register
 * (VerifyClient lines with their approval and validity, VerifyOperators
 * files with each operator's role and period) joined with the log's
 * rows: per client and per registered operator the queries, first and
 * last; the registered who never queried; the queriers nobody
 * registered.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "roster.h"

/* Within this many days an end is said ahead of time (ip-review's). */
#define SOON_DAYS 30

int roster_register_load(roster_reg_t *g, const audit_args_t *a,
                         apr_pool_t *p)
{
    char *err = NULL;

    memset(g, 0, sizeof(*g));
    g->config = a->config;
    g->certs_dir = a->certs;
    g->today = verify_date_taipei(apr_time_now());
    if (verify_register_read_file(&g->clients, a->config, &err, p)
        != APR_SUCCESS) {
        fprintf(stderr, PROG ": --config %s\n", safe_str(p, err));
        return 1;
    }
    return g->certs_dir ? roster_certs_load(g, p) : 0;
}

/* Days from @p a to @p b (Taipei dates). */
static long days_between(verify_date_t a, verify_date_t b)
{
    return (long)((verify_date_start_taipei(b) - verify_date_start_taipei(a))
                  / apr_time_from_sec(86400));
}

/* A period's state on g->today: "valid", "ends in N days", "ended",
 * "not yet". */
static const char *period_state(const roster_reg_t *g, verify_date_t from,
                                verify_date_t to, apr_pool_t *p)
{
    long left;

    if (g->today < from) {
        return "not yet";
    }
    if (g->today > to) {
        return "ended";
    }
    left = days_between(g->today, to);
    return left == 0 ? "valid, last day today"
           : left < SOON_DAYS ? apr_psprintf(p, "valid, last day in %ld "
                                             "day%s", left,
                                             left == 1 ? "" : "s")
           : "valid";
}

static const char *period_text(verify_date_t from, verify_date_t to,
                               apr_pool_t *p)
{
    char f[11], t[11];

    verify_date_format(from, f);
    verify_date_format(to, t);
    return apr_pstrcat(p, f, "..", t, NULL);
}

/* The register's client of a row, or NULL (none, or not registered). */
static const verify_client_t *row_client(const roster_reg_t *g,
                                         const rrow_t *r)
{
    if (!r->client.s || strlen(r->client.s) != r->client.len) {
        return NULL;
    }
    return verify_register_find(g->clients, r->client.s);
}

/* The log's totals of one client. */
typedef struct ctotal_t {
    uint64_t n, answered;
    char first[33], last[33];
} ctotal_t;

static void client_total(const apr_array_header_t *rows, const char *name,
                         ctotal_t *t)
{
    int i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < rows->nelts; i++) {
        const rrow_t *r = APR_ARRAY_IDX(rows, i, rrow_t *);
        if (!r->client.s || r->client.len != strlen(name)
            || memcmp(r->client.s, name, r->client.len)) {
            continue;
        }
        t->n += r->n;
        t->answered += r->answered;
        if (!*t->first || strcmp(r->first, t->first) < 0) {
            copy_ts(t->first, r->first);
        }
        if (strcmp(r->last, t->last) > 0) {
            copy_ts(t->last, r->last);
        }
    }
}

/* The clients of the register. */
static void print_clients(const roster_reg_t *g,
                          const apr_array_header_t *rows, apr_pool_t *p)
{
    static const char *const head[] = {
        "client", "approval", "valid", "approval today", "certificate "
        "expires", "operators", "queries", "answered", "first", "last"
    };
    static const int maxw[] = { 24, 24, 0, 0, 0, 0, 0, 0, 0, 0 };
    table_t t;
    int i;

    table_init(&t, 10, head, maxw, p);
    for (i = 0; i < g->clients->nelts; i++) {
        const verify_client_t *cl = APR_ARRAY_IDX(g->clients, i,
                                                  verify_client_t *);
        const char *raw[10];
        ctotal_t tot;

        client_total(rows, cl->name, &tot);
        raw[0] = cl->name;
        raw[1] = cl->approval;
        raw[2] = period_text(cl->valid_from, cl->valid_to, p);
        raw[3] = period_state(g, cl->valid_from, cl->valid_to, p);
        raw[4] = roster_cert_expiry(g, cl, p);
        raw[5] = cl->operators
                 ? apr_psprintf(p, "%d registered", cl->operators->list->nelts)
                 : "no register";
        raw[6] = apr_psprintf(p, "%" APR_UINT64_T_FMT, tot.n);
        raw[7] = apr_psprintf(p, "%" APR_UINT64_T_FMT, tot.answered);
        raw[8] = row_ts(tot.first, p);
        raw[9] = row_ts(tot.last, p);
        table_add(&t, raw, NULL);
    }
    table_print(&t, TABLE_CUT_NOTE);
}

/* The row of (client, account) in @p rows, or NULL. */
static const rrow_t *find_row(const apr_array_header_t *rows,
                              const char *client, const char *account)
{
    size_t cl = strlen(client), al = strlen(account);
    int i;

    for (i = 0; i < rows->nelts; i++) {
        const rrow_t *r = APR_ARRAY_IDX(rows, i, rrow_t *);
        if (r->client.s && r->oper.s && r->client.len == cl
            && r->oper.len == al && !memcmp(r->client.s, client, cl)
            && !memcmp(r->oper.s, account, al)) {
            return r;
        }
    }
    return NULL;
}

/* Every registered operator with its queries (@p never: only those
 * without any); the number of rows. */
static int print_operators(const roster_reg_t *g,
                           const apr_array_header_t *rows, int never,
                           apr_pool_t *p)
{
    static const char *const head[] = {
        "client", "operator", "role", "period", "today", "queries",
        "answered", "first", "last"
    };
    static const int maxw[] = { 24, 24, 16, 0, 0, 0, 0, 0, 0 };
    table_t t;
    int i, k;

    table_init(&t, never ? 5 : 9, head, maxw, p);
    for (i = 0; i < g->clients->nelts; i++) {
        const verify_client_t *cl = APR_ARRAY_IDX(g->clients, i,
                                                  verify_client_t *);
        for (k = 0; cl->operators && k < cl->operators->list->nelts; k++) {
            const verify_operator_t *op = APR_ARRAY_IDX(
                cl->operators->list, k, verify_operator_t *);
            const rrow_t *r = find_row(rows, cl->name, op->account);
            const char *raw[9];

            if (never && r) {
                continue;
            }
            raw[0] = cl->name;
            raw[1] = op->account;
            raw[2] = op->role;
            raw[3] = period_text(op->valid_from, op->valid_to, p);
            raw[4] = period_state(g, op->valid_from, op->valid_to, p);
            raw[5] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r ? r->n : 0);
            raw[6] = apr_psprintf(p, "%" APR_UINT64_T_FMT,
                                  r ? r->answered : 0);
            raw[7] = r ? row_ts(r->first, p) : NULL;
            raw[8] = r ? row_ts(r->last, p) : NULL;
            table_add(&t, raw, NULL);
        }
    }
    if (t.cells->nelts) {
        table_print(&t, TABLE_CUT_NOTE);
    }
    return t.cells->nelts;
}

/* Why nobody registered the querier of @p r; NULL when registered. */
static const char *unregistered_why(const roster_reg_t *g, const rrow_t *r)
{
    const verify_client_t *cl = row_client(g, r);

    if (!r->client.s) {
        return "refused caller (no register line)";
    }
    if (!cl) {
        return "client not in the register";
    }
    if (!cl->operators) {
        return "the client has no operator register";
    }
    if (!r->oper.s) {
        return "no operator given";
    }
    if (verify_operators_check(cl->operators, r->oper.s, r->oper.len,
                               g->today, NULL) == VERIFY_OPERATOR_UNKNOWN) {
        return "not in the client's operator register";
    }
    return NULL;
}

/* Queriers nobody registered: the number of rows. */
static int print_unregistered(const roster_reg_t *g,
                              const apr_array_header_t *rows, apr_pool_t *p)
{
    static const char *const head[] = {
        "client", "operator", "queries", "answered", "first", "last", "why"
    };
    static const int maxw[] = { 24, 24, 0, 0, 0, 0, 0 };
    table_t t;
    int i;

    table_init(&t, 7, head, maxw, p);
    for (i = 0; i < rows->nelts; i++) {
        const rrow_t *r = APR_ARRAY_IDX(rows, i, rrow_t *);
        const char *why = unregistered_why(g, r), *raw[7];
        size_t len[7] = { r->client.len, r->oper.len, (size_t)-1,
                          (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1 };

        if (!why) {
            continue;
        }
        client_cell(r->client, &raw[0], &len[0]);
        raw[1] = r->oper.s;
        raw[2] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->n);
        raw[3] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->answered);
        raw[4] = row_ts(r->first, p);
        raw[5] = row_ts(r->last, p);
        raw[6] = why;
        table_add(&t, raw, len);
    }
    if (t.cells->nelts) {
        table_print(&t, TABLE_CUT_NOTE);
    }
    return t.cells->nelts;
}

void roster_register_print(const roster_reg_t *g,
                           const apr_array_header_t *rows, apr_pool_t *p)
{
    char today[11];
    int never, unreg;

    verify_date_format(g->today, today);
    printf("\nClients in the register (%s; states as of %s, Taipei):\n\n",
           safe_str(p, g->config), today);
    if (g->clients->nelts == 0) {
        printf("No VerifyClient lines in the register given.\n");
    }
    else {
        print_clients(g, rows, p);
    }
    printf("\nRegistered operators (VerifyOperators):\n\n");
    if (print_operators(g, rows, 0, p) == 0) {
        printf("No client of the register has an operator register.\n");
    }
    printf("\nRegistered, never queried in the period:\n\n");
    never = print_operators(g, rows, 1, p);
    if (never == 0) {
        printf("None.\n");
    }
    printf("\nQueried, registered by nobody:\n\n");
    unreg = print_unregistered(g, rows, p);
    if (unreg == 0) {
        printf("None.\n");
    }
    printf("\nfindings:     %d registered operator(s) never queried, %d "
           "querier(s) not registered\n", never, unreg);
}
