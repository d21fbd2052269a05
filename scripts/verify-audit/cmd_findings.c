/*
 * cmd_findings.c -- the R5.2 records of a year, for the yearly audit
 * (R5.3) and the Civil Affairs audit (R5.5): every assignment (and
 * what could not be assigned, with why), every finding, each anomaly
 * with its joint investigation with the Ethics Office or marked OPEN
 * when none is recorded, and the whitelist reviews (R3.8). Plain text,
 * and the same rows as CSV with --csv FILE.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "records.h"
#include "sheet.h"

#define OPEN_TEXT "OPEN: no joint investigation with the Ethics Office " \
                  "recorded"

static const char *const csv_head[] = {
    "kind", "month", "client", "operator", "lines", "line_seq",
    "request_id", "auditor", "result", "note", "investigation", "status",
    "recorded_at", "records_seq"
};
#define FCSV_COLS (int)(sizeof(csv_head) / sizeof(csv_head[0]))

typedef struct fyear_t {
    const records_t *r;
    const char *year;
    csv_t csv;
    int csv_on;
    uint64_t assigned, unassigned, findings, in_order, anomalies, open;
    apr_pool_t *p;
} fyear_t;

/* Is record @p o of the year (its month, or for a review its ts)? */
static int of_year(json_t *o, const char *year)
{
    const char *m = rec_str(o, "month");

    if (!m) {
        m = rec_str(o, "ts");
    }
    return m && !strncmp(m, year, 4) && m[4] == '-';
}

static const char *num(json_t *o, const char *key, apr_pool_t *p)
{
    json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? apr_psprintf(p, "%" APR_INT64_T_FMT,
                                             (apr_int64_t)
                                             json_integer_value(v)) : NULL;
}

static void csv_row(fyear_t *x, const char *const *cells)
{
    int i;

    if (!x->csv_on) {
        return;
    }
    for (i = 0; i < FCSV_COLS; i++) {
        csv_cell(&x->csv, cells[i], cells[i] ? strlen(cells[i]) : 0, x->p);
    }
    csv_end_row(&x->csv);
}

/* "NAME, DATE: CONCLUSION" of an investigation member, or NULL. */
static const char *inv_text(json_t *inv, apr_pool_t *p)
{
    if (!json_is_object(inv)) {
        return NULL;
    }
    return apr_psprintf(p, "%s, %s: %s", rec_str(inv, "ethics"),
                        rec_str(inv, "date"), rec_str(inv, "conclusion"));
}

/* The investigation of finding @p f: inline, or the latest follow-up. */
static json_t *investigation_of(const records_t *r, json_t *f)
{
    json_t *inv = json_object_get(f, "investigation");
    json_t *fl = json_object_get(f, "line_seq");
    int i;

    if (json_is_object(inv)) {
        return inv;
    }
    inv = NULL;
    for (i = 0; i < r->lines->nelts; i++) {
        json_t *o = APR_ARRAY_IDX(r->lines, i, json_t *);
        const char *op = rec_str(o, "op");
        if (op && !strcmp(op, "investigation")
            && json_equal(json_object_get(o, "month"),
                          json_object_get(f, "month"))
            && json_equal(json_object_get(o, "line_seq"), fl)) {
            inv = json_object_get(o, "investigation");
        }
    }
    return inv;
}

static void assignments(fyear_t *x)
{
    static const char *const head[] = {
        "month", "client", "operator", "lines", "auditor", "previous round"
    };
    static const int maxw[] = { 0, 24, 24, 0, 24, 0 };
    table_t t;
    int i;

    table_init(&t, 6, head, maxw, x->p);
    for (i = 0; i < x->r->lines->nelts; i++) {
        json_t *o = APR_ARRAY_IDX(x->r->lines, i, json_t *);
        const char *op = rec_str(o, "op"), *raw[6], *c[FCSV_COLS];
        if (!op || strcmp(op, "assign") || !of_year(o, x->year)) {
            continue;
        }
        raw[0] = rec_str(o, "month");
        raw[1] = rec_str(o, "client");
        raw[2] = rec_str(o, "operator");
        raw[3] = num(o, "lines", x->p);
        raw[4] = rec_str(o, "auditor")
                 ? rec_str(o, "auditor")
                 : apr_pstrcat(x->p, "NOT ASSIGNED: ", rec_str(o, "why"),
                               NULL);
        raw[5] = rec_str(o, "previous")
                 ? apr_psprintf(x->p, "%s: %s", rec_str(o, "previous_month"),
                                rec_str(o, "previous")) : NULL;
        table_add(&t, raw, NULL);
        if (rec_str(o, "auditor")) {
            x->assigned++;
        }
        else {
            x->unassigned++;
        }
        memset(c, 0, sizeof(c));
        c[0] = "assignment";
        c[1] = raw[0];
        c[2] = raw[1];
        c[3] = raw[2];
        c[4] = raw[3];
        c[7] = rec_str(o, "auditor");
        c[11] = rec_str(o, "auditor") ? "assigned"
                : apr_pstrcat(x->p, "not assigned: ", rec_str(o, "why"),
                              NULL);
        c[12] = rec_str(o, "ts");
        c[13] = num(o, "seq", x->p);
        csv_row(x, c);
    }
    printf("Assignments (who audits whom)\n\n");
    if (t.cells->nelts) {
        table_print(&t, TABLE_CUT_NOTE);
    }
    else {
        printf("none recorded\n");
    }
}

static void findings(fyear_t *x)
{
    static const char *const head[] = {
        "month", "seq", "request_id", "client", "operator", "auditor",
        "result", "note", "investigation"
    };
    static const int maxw[] = { 0, 0, 0, 20, 20, 24, 0, 40, 60 };
    table_t t;
    int i;

    table_init(&t, 9, head, maxw, x->p);
    for (i = 0; i < x->r->lines->nelts; i++) {
        json_t *o = APR_ARRAY_IDX(x->r->lines, i, json_t *), *inv;
        const char *op = rec_str(o, "op"), *raw[9], *c[FCSV_COLS];
        const char *res = rec_str(o, "result");
        int anomaly;
        if (!op || strcmp(op, "finding") || !of_year(o, x->year)) {
            continue;
        }
        anomaly = res && !strcmp(res, "anomaly");
        inv = investigation_of(x->r, o);
        x->findings++;
        x->in_order += !anomaly;
        x->anomalies += anomaly;
        x->open += anomaly && !inv;
        raw[0] = rec_str(o, "month");
        raw[1] = num(o, "line_seq", x->p);
        raw[2] = rec_str(o, "request_id");
        raw[3] = rec_str(o, "client");
        raw[4] = rec_str(o, "operator");
        raw[5] = json_is_true(json_object_get(o, "not_assigned"))
                 ? apr_psprintf(x->p, "%s (assigned: %s)",
                                rec_str(o, "auditor"),
                                rec_str(o, "assigned")
                                ? rec_str(o, "assigned") : "nobody")
                 : rec_str(o, "auditor");
        raw[6] = res;
        raw[7] = rec_str(o, "note");
        raw[8] = !anomaly ? NULL : inv ? inv_text(inv, x->p) : OPEN_TEXT;
        table_add(&t, raw, NULL);
        memset(c, 0, sizeof(c));
        c[0] = "finding";
        c[1] = raw[0];
        c[2] = raw[3];
        c[3] = raw[4];
        c[5] = raw[1];
        c[6] = raw[2];
        c[7] = raw[5];
        c[8] = res;
        c[9] = raw[7];
        c[10] = inv ? inv_text(inv, x->p) : NULL;
        c[11] = !anomaly ? "closed" : inv ? "investigated" : "OPEN";
        c[12] = rec_str(o, "ts");
        c[13] = num(o, "seq", x->p);
        csv_row(x, c);
    }
    printf("\nFindings (per sampled line)\n\n");
    if (t.cells->nelts) {
        table_print(&t, TABLE_CUT_NOTE);
    }
    else {
        printf("none recorded\n");
    }
}

static void reviews(fyear_t *x)
{
    int i, n = 0;

    printf("\nWhitelist reviews (R3.8)\n\n");
    for (i = 0; i < x->r->lines->nelts; i++) {
        json_t *o = APR_ARRAY_IDX(x->r->lines, i, json_t *);
        const char *op = rec_str(o, "op"), *c[FCSV_COLS];
        if (!op || strcmp(op, "ip_review") || !of_year(o, x->year)) {
            continue;
        }
        n++;
        printf("%s  by %s: %s\n", ts_readable(rec_str(o, "ts"), x->p),
               safe_str(x->p, rec_str(o, "reviewer")),
               safe_str(x->p, rec_str(o, "summary")));
        memset(c, 0, sizeof(c));
        c[0] = "ip_review";
        c[7] = rec_str(o, "reviewer");
        c[9] = rec_str(o, "summary");
        c[11] = "reviewed";
        c[12] = rec_str(o, "ts");
        c[13] = num(o, "seq", x->p);
        csv_row(x, c);
    }
    if (!n) {
        printf("none recorded\n");
    }
}

int cmd_findings(const audit_args_t *a, apr_pool_t *p)
{
    records_t r;
    fyear_t x;
    char hex[65];
    int rc;

    if (strlen(a->year) != 4 || strspn(a->year, "0123456789") != 4) {
        fprintf(stderr, PROG ": --year must be a year as YYYY, not \"%s\"\n",
                safe_str(p, a->year));
        return 2;
    }
    rc = records_load(&r, records_dir(a), "findings", p);
    if (rc != 0) {
        return 1;
    }
    memset(&x, 0, sizeof(x));
    x.r = &r;
    x.year = a->year;
    x.p = p;
    if (a->csv) {
        if (csv_open(&x.csv, a->csv, csv_head, FCSV_COLS, p) != 0) {
            return 1;
        }
        x.csv_on = 1;
    }
    verify_hex(r.head.hash, 32, hex);
    printf("R5.2 records of %s (for the yearly audit, R5.3, and the Civil "
           "Affairs audit, R5.5)\n", a->year);
    if (r.head.seq) {
        printf("records:      %s: chain intact, seq 1..%" APR_UINT64_T_FMT
               ", head %s\n\n", safe_str(p, r.path), r.head.seq, hex);
    }
    else {
        printf("records:      %s: nothing recorded\n\n",
               safe_str(p, r.path));
    }
    assignments(&x);
    findings(&x);
    reviews(&x);
    printf("\nsummary:      %" APR_UINT64_T_FMT " assigned, %"
           APR_UINT64_T_FMT " not assigned; %" APR_UINT64_T_FMT
           " findings: %" APR_UINT64_T_FMT " in order, %" APR_UINT64_T_FMT
           " anomalies, %" APR_UINT64_T_FMT " OPEN (no joint investigation "
           "recorded)\n", x.assigned, x.unassigned, x.findings, x.in_order,
           x.anomalies, x.open);
    if (x.csv_on && csv_close(&x.csv) != 0) {
        return 1;
    }
    return write_failed();
}
