/*
 * cmd_investigation.c -- the joint investigation with the Ethics Office
 * of an anomaly found earlier (R5.2), recorded as a follow-up of its
 * finding: who of the Ethics Office, when, and the conclusion. Reads no
 * audit files: the finding in the records log names the line.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "records.h"

/* The finding of the line asked (--seq or --request-id), or NULL. */
static json_t *find_finding(const records_t *r, const audit_args_t *a)
{
    json_t *found = NULL;
    int i;

    if (a->seq) {
        return records_find(r, "finding", a->month, a->seq, NULL, NULL);
    }
    for (i = 0; i < r->lines->nelts; i++) {
        json_t *o = APR_ARRAY_IDX(r->lines, i, json_t *);
        const char *op = rec_str(o, "op"), *m = rec_str(o, "month");
        const char *rid = rec_str(o, "request_id");
        if (op && !strcmp(op, "finding") && m && !strcmp(m, a->month)
            && rid && !strcmp(rid, a->request_id)) {
            found = o;
        }
    }
    return found;
}

int cmd_investigation(const audit_args_t *a, apr_pool_t *p)
{
    records_writer_t w;
    json_t *f, *o, *ls;
    int rc, masked = 0;

    if (!a->seq == !a->request_id) {
        fprintf(stderr, PROG ": investigation needs the line as --seq N or "
                "--request-id ID (one of them)\n");
        return 2;
    }
    rc = investigation_args(a, 1, p);
    if (rc != 0) {
        return rc;
    }
    if (records_begin(&w, a, "investigation", p) != 0) {
        return 1;
    }
    f = find_finding(&w.r, a);
    if (!f || strcmp(rec_str(f, "result") ? rec_str(f, "result") : "",
                     "anomaly")) {
        fprintf(stderr, PROG ": investigation refused: %s of %s is "
                "recorded for that line; an investigation follows an "
                "anomaly (`" PROG " finding --result anomaly`). Nothing was "
                "recorded\n", f ? "no anomaly (it was found in order)"
                                : "no finding", a->month);
        records_abort(&w);
        return 1;
    }
    ls = json_object_get(f, "line_seq");
    o = json_pack("{s:s,s:s,s:O,s:O,s:I,s:o}",
                  "op", "investigation", "month", a->month,
                  "line_seq", ls,
                  "request_id", json_object_get(f, "request_id")
                                ? json_object_get(f, "request_id")
                                : json_null(),
                  "finding", (json_int_t)rec_seq(f),
                  "investigation", investigation_json(a, &masked, p));
    if (!o) {
        fprintf(stderr, PROG ": investigation refused: a text is not "
                "UTF-8. Nothing was recorded\n");
        records_abort(&w);
        return 1;
    }
    if (masked) {
        fprintf(stderr, PROG ": a text looked like a national ID or phone "
                "number and is recorded masked\n");
    }
    rc = records_add(&w, o);
    json_decref(o);
    if (rc != 0) {
        records_abort(&w);
        return 1;
    }
    printf("Investigation of the anomaly of line %" APR_UINT64_T_FMT " of %s "
           "(finding at records seq %" APR_UINT64_T_FMT "): with %s on %s\n",
           (uint64_t)json_integer_value(ls), a->month, rec_seq(f),
           safe_str(p, rec_mask(a->ethics, NULL, p)), a->ethics_date);
    return records_commit(&w);
}
