/*
 * cmd_ip_review.c -- the whitelist review (R3.8): per client each address
 * used in the last N months; with the VerifyClient lines of a config
 * file also the registered addresses left idle, those registered twice
 * and the clients whose approved period (valid=) has ended or ends
 * within APPROVAL_WARN_DAYS days; with --record the review goes into
 * the R5.2 records log, where every command looks for its age.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "records.h"

/* An approval ending within this many days is flagged. */
#define APPROVAL_WARN_DAYS 30

typedef struct ipreview_t {
    const char *since;          /* "YYYY-MM-DD" */
    apr_hash_t *ips;            /* iprow_t by client+ip */
    apr_hash_t *byip;           /* registered ip -> "name[,name...]" */
    int config;                 /* a register was given */
    uint64_t idle, dup, unreg;  /* the findings */
    uint64_t ended, ending;     /* approvals ended, ending soon */
    apr_pool_t *p;
} ipreview_t;

static int ipreview_line(verify_scan_t *s, const char *line, size_t len,
                         json_t *j, int bad, int fi, apr_off_t off)
{
    ipreview_t *x = s->ctx;
    const char *ts = jstr(j, "ts"), *ip = jstr(j, "ip");
    iprow_t *r;

    if (!is_query(j) || !ts) {
        return 0;
    }
    r = ip_row(x->ips, member_bytes(j, "client", x->p), ip ? ip : "?",
               x->p);
    copy_ts(r->last_any, ts);
    if (strncmp(ts, x->since, 10) >= 0) {
        r->n++;
        copy_ts(r->last, ts);
    }
    return 0;
}

/*
 * The register file's clients, read by the library's parser (the one
 * the module uses): (client, ip) pairs into @p reg (const char *[2]
 * each). A line the module would refuse is refused here too.
 */
static int read_clients(const char *path, apr_array_header_t *reg,
                        apr_array_header_t **out, int *nclients,
                        apr_pool_t *p)
{
    apr_array_header_t *clients;
    char *err = NULL;
    int i, j;

    if (verify_register_read_file(&clients, path, &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": --config %s\n", safe_str(p, err));
        return -1;
    }
    *nclients = clients->nelts;
    *out = clients;
    for (i = 0; i < clients->nelts; i++) {
        const verify_client_t *cl = APR_ARRAY_IDX(clients, i,
                                                  verify_client_t *);
        for (j = 0; j < cl->ips->nelts; j++) {
            const char **pair = apr_array_push(reg);
            pair[0] = cl->name;
            pair[1] = APR_ARRAY_IDX(cl->ips, j, const char *);
        }
    }
    return 0;
}

/* Every registered (client, ip) gets a row; who holds each address. */
static void add_register(ipreview_t *x, const apr_array_header_t *reg)
{
    int i;

    for (i = 0; i < reg->nelts; i++) {
        const char *name = ((const char **)reg->elts)[2 * i];
        const char *ip = ((const char **)reg->elts)[2 * i + 1];
        const char *who = apr_hash_get(x->byip, ip, APR_HASH_KEY_STRING);
        bstr_t c;
        iprow_t *r;

        c.s = name;
        c.len = strlen(name);
        r = ip_row(x->ips, c, ip, x->p);
        if (r->registered) {
            r->dup_same = 1;
        }
        r->registered = 1;
        apr_hash_set(x->byip, ip, APR_HASH_KEY_STRING,
                     who ? apr_pstrcat(x->p, who, ",", name, NULL) : name);
    }
}

/* "duplicate: ..." of an address registered more than once. */
static const char *duplicate_finding(const iprow_t *r, const char *who,
                                     apr_pool_t *p)
{
    char *other = apr_pstrdup(p, who), *tok, *sv;
    const char *also = "";

    for (tok = apr_strtok(other, ",", &sv); tok;
         tok = apr_strtok(NULL, ",", &sv)) {
        if (strcmp(tok, r->client.s) && !strstr(also, tok)) {
            also = apr_pstrcat(p, also, *also ? ", " : "", tok, NULL);
        }
    }
    return apr_pstrcat(p, *also ? "duplicate: also registered for "
                              : "duplicate: listed twice for this client",
                       also, NULL);
}

/* What the review finds of one address (counted in @p x), or NULL
 * without a register. */
static const char *finding(ipreview_t *x, const iprow_t *r, apr_pool_t *p)
{
    const char *who = apr_hash_get(x->byip, r->ip, APR_HASH_KEY_STRING);
    const char *found = NULL;

    if (!x->config) {
        return NULL;
    }
    if (r->registered && r->n == 0) {
        x->idle++;
        found = r->last_any[0]
            ? apr_psprintf(p, "idle: consider removing (last use %s)",
                           row_ts(r->last_any, p))
            : "idle: consider removing (no use in the files read)";
    }
    if (r->registered && who && (strchr(who, ',') || r->dup_same)) {
        x->dup++;
        found = apr_pstrcat(p, found ? found : "", found ? "; " : "",
                            duplicate_finding(r, who, p), NULL);
    }
    if (!r->registered) {
        x->unreg++;
        found = r->client.s ? "not in the register given"
                            : "refused caller (no register line)";
    }
    return found ? found : "in use";
}

/* The addresses of the period and of the register, with findings. */
static void print_rows(ipreview_t *x, apr_pool_t *p)
{
    static const char *const head[] = {
        "client", "address", "queries", "last use", "finding"
    };
    static const int maxw[] = { 24, 0, 0, 0, 0 };
    apr_array_header_t *a = hash_sorted(x->ips, cmp_iprow, p);
    table_t t;
    int i;

    table_init(&t, 5, head, maxw, p);
    for (i = 0; i < a->nelts; i++) {
        const iprow_t *r = APR_ARRAY_IDX(a, i, iprow_t *);
        const char *raw[5];
        size_t rlen[5] = { r->client.len, (size_t)-1, (size_t)-1,
                           (size_t)-1, (size_t)-1 };

        if (r->n == 0 && !r->registered) {
            continue;   /* seen only before the period, not registered */
        }
        raw[4] = finding(x, r, p);
        client_cell(r->client, &raw[0], &rlen[0]);
        raw[1] = r->ip;
        raw[2] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->n);
        raw[3] = r->n ? row_ts(r->last, p) : NULL;
        table_add(&t, raw, rlen);
    }
    if (t.cells->nelts == 0) {
        printf("No queries in the period, and no register given.\n");
    }
    else {
        table_print(&t, TABLE_CUT_NOTE);
    }
}

/* Days from @p from to @p to (Taipei dates). */
static long days_between(verify_date_t from, verify_date_t to)
{
    return (long)((verify_date_start_taipei(to)
                   - verify_date_start_taipei(from)) / apr_time_from_sec(86400));
}

/* Each client's approved period (valid=): ended, ending within
 * APPROVAL_WARN_DAYS days, or in force. */
static void print_approvals(ipreview_t *x, const apr_array_header_t *clients,
                            apr_pool_t *p)
{
    static const char *const head[] = {
        "approval", "client", "valid from", "valid to", "finding"
    };
    static const int maxw[] = { 24, 24, 0, 0, 0 };
    verify_date_t today = verify_date_taipei(apr_time_now());
    char from[11], to[11];
    table_t t;
    long left;
    int i;

    table_init(&t, 5, head, maxw, p);
    for (i = 0; i < clients->nelts; i++) {
        const verify_client_t *cl = APR_ARRAY_IDX(clients, i,
                                                  verify_client_t *);
        const char *raw[5];
        verify_date_format(cl->valid_from, from);
        verify_date_format(cl->valid_to, to);
        left = days_between(today, cl->valid_to);
        raw[0] = cl->approval;
        raw[1] = cl->name;
        raw[2] = from;
        raw[3] = to;
        if (left < 0) {
            x->ended++;
            raw[4] = apr_psprintf(p, "ENDED %ld day%s ago: renew the "
                                  "approval or remove the client", -left,
                                  left == -1 ? "" : "s");
        }
        else if (left <= APPROVAL_WARN_DAYS) {
            x->ending++;
            raw[4] = apr_psprintf(p, "ENDS in %ld day%s: renew the approval",
                                  left, left == 1 ? "" : "s");
        }
        else {
            raw[4] = "in force";
        }
        table_add(&t, raw, NULL);
    }
    printf("\nApproved periods (valid=)\n\n");
    table_print(&t, TABLE_CUT_NOTE);
}

/* --record: the review into the records log (the writer is open). */
static int record_review(records_writer_t *w, const audit_args_t *a,
                         const ipreview_t *x, const verify_scan_t *s,
                         int nclients, int naddr)
{
    char hex[65];
    const char *summary;
    json_t *o;
    int rc;

    verify_hex(s->chain.hash, 32, hex);
    summary = apr_psprintf(w->p, "%d client(s), %d address(es) registered; "
                           "%" APR_UINT64_T_FMT " idle, %" APR_UINT64_T_FMT
                           " duplicate, %" APR_UINT64_T_FMT " not "
                           "registered; approvals: %" APR_UINT64_T_FMT
                           " ended, %" APR_UINT64_T_FMT " ending within %d "
                           "days", nclients, naddr, x->idle, x->dup,
                           x->unreg, x->ended, x->ending,
                           APPROVAL_WARN_DAYS);
    o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:{s:I,s:s},s:i,s:i,s:I,s:I,s:I,"
                  "s:I,s:I,s:s}",
                  "op", "ip_review", "reviewer", a->reviewer,
                  "months", a->months, "since", x->since,
                  "config", a->config,
                  "audit_head", "seq", (json_int_t)s->chain.seq,
                  "hash", hex, "clients", nclients, "addresses", naddr,
                  "idle", (json_int_t)x->idle, "duplicate",
                  (json_int_t)x->dup, "unregistered", (json_int_t)x->unreg,
                  "approvals_ended", (json_int_t)x->ended,
                  "approvals_ending", (json_int_t)x->ending,
                  "summary", summary);
    if (!o) {
        fprintf(stderr, PROG ": ip-review --record: a value is not UTF-8; "
                "nothing was recorded\n");
        records_abort(w);
        return 1;
    }
    rc = records_add(w, o);
    json_decref(o);
    if (rc != 0) {
        records_abort(w);
        return 1;
    }
    printf("\n");
    return records_commit(w);
}

/* --record and --reviewer go together, with --config. 0, or 2 said. */
static int record_args(const audit_args_t *a, apr_pool_t *p)
{
    if (!a->record && !a->reviewer) {
        return 0;
    }
    if (!a->record || !a->reviewer || !a->config) {
        fprintf(stderr, PROG ": ip-review --record --reviewer NAME --config "
                "FILE records the review (R3.8): all three together\n");
        return 2;
    }
    if (rec_name_fault(a->reviewer, p)) {
        fprintf(stderr, PROG ": --reviewer must be a name of 1 to 64 bytes "
                "without commas or control characters\n");
        return 2;
    }
    return 0;
}

int cmd_ip_review(const audit_args_t *a, apr_pool_t *p)
{
    apr_array_header_t *reg = apr_array_make(p, 16, sizeof(const char *[2]));
    apr_array_header_t *clients = NULL;
    records_writer_t w;
    ipreview_t x;
    verify_scan_t s;
    char since[11];
    int nclients = 0, rc;

    rc = record_args(a, p);
    if (rc != 0) {
        return rc;
    }

    verify_date_format(verify_date_months_before(
        verify_date_taipei(apr_time_now()), (unsigned)a->months), since);
    if (a->config && read_clients(a->config, reg, &clients, &nclients, p)
                     != 0) {
        return 1;
    }
    /* a review that cannot be recorded is refused before it is made */
    if (a->record && records_begin(&w, a, "ip-review --record", p) != 0) {
        return 1;
    }
    memset(&x, 0, sizeof(x));
    x.since = since;
    x.p = p;
    x.config = a->config != NULL;
    x.ips = apr_hash_make(p);
    x.byip = apr_hash_make(p);
    scan_init(&s, a, ipreview_line, &x, p);
    if (scan_intact(&s, "ip-review") != 0) {
        if (a->record) {
            records_abort(&w);
        }
        return 1;
    }
    add_register(&x, reg);
    printf("Review of the whitelisted addresses (R3.8)\n");
    printf("period:       the last %d month%s: from %s on (Taipei time)\n",
           a->months, a->months == 1 ? "" : "s", since);
    chain_header(&s, p);
    if (a->config) {
        printf("config:       %s: %d client(s), %d address(es) registered\n",
               safe_str(p, a->config), nclients, reg->nelts);
    }
    else {
        printf("config:       none given (--config FILE also lists idle "
               "and duplicate registered addresses)\n");
    }
    putchar('\n');
    print_rows(&x, p);
    if (a->config) {
        print_approvals(&x, clients, p);
        printf("\nfindings:     %" APR_UINT64_T_FMT " idle, %"
               APR_UINT64_T_FMT " duplicate, %" APR_UINT64_T_FMT
               " not registered; approvals: %" APR_UINT64_T_FMT " ended, %"
               APR_UINT64_T_FMT " ending within %d days\n", x.idle, x.dup,
               x.unreg, x.ended, x.ending, APPROVAL_WARN_DAYS);
    }
    if (a->record) {
        rc = write_failed();
        return record_review(&w, a, &x, &s, nclients, reg->nelts) | rc;
    }
    return write_failed();
}
