/*
 * cmd_finding.c -- what an auditor found of one line of month M's
 * official sample (R5.2): in order, or an anomaly with a note and, when
 * it is known, the joint investigation with the Ethics Office (who,
 * when, conclusion; `investigation` adds it later). Only the auditor
 * assigned to the line's person may file it, unless --any-auditor says
 * otherwise (and the record says so). National ID numbers and phone
 * numbers in the texts are masked before anything is written.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "records.h"

/* The line asked (--seq or --request-id) in the sample, or NULL. */
static const sline_t *find_line(const audit_args_t *a,
                                const sample_lines_t *sl)
{
    int i;

    for (i = 0; i < sl->lines->nelts; i++) {
        const sline_t *l = &APR_ARRAY_IDX(sl->lines, i, sline_t);
        if (a->seq ? l->seq == a->seq
                   : l->request_id && !strcmp(l->request_id, a->request_id)) {
            return l;
        }
    }
    return NULL;
}

/* The record of month M matching @p op and the line (by line_seq), or
 * for op "assign" the person's assignment; the latest one. */
json_t *records_find(const records_t *r, const char *op, const char *month,
                     uint64_t line_seq, const char *client,
                     const char *oper)
{
    json_t *found = NULL;
    int i;

    for (i = 0; i < r->lines->nelts; i++) {
        json_t *o = APR_ARRAY_IDX(r->lines, i, json_t *);
        json_t *ls = json_object_get(o, "line_seq");
        const char *m = rec_str(o, "month"), *k = rec_str(o, "op");
        if (!k || strcmp(k, op) || !m || strcmp(m, month)) {
            continue;
        }
        if (client ? (rec_str(o, "client") && rec_str(o, "operator")
                      && !strcmp(rec_str(o, "client"), client)
                      && !strcmp(rec_str(o, "operator"), oper))
                   : (json_is_integer(ls)
                      && (uint64_t)json_integer_value(ls) == line_seq)) {
            found = o;
        }
    }
    return found;
}

/* The investigation options: all three or none. 0, or 2 said. */
int investigation_args(const audit_args_t *a, int need, apr_pool_t *p)
{
    int n = !!a->ethics + !!a->ethics_date + !!a->conclusion;

    if ((need && n < 3) || (n && n < 3)) {
        fprintf(stderr, PROG ": the joint investigation with the Ethics "
                "Office (R5.2) is given by all of --ethics NAME (who of the "
                "Ethics Office), --ethics-date YYYY-MM-DD (when) and "
                "--conclusion TEXT\n");
        return 2;
    }
    if (a->ethics_date && !verify_date_parse_iso(a->ethics_date,
                                                 strlen(a->ethics_date))) {
        fprintf(stderr, PROG ": --ethics-date must be a date as "
                "YYYY-MM-DD\n");
        return 2;
    }
    if (a->ethics && rec_name_fault(a->ethics, p) != NULL) {
        fprintf(stderr, PROG ": --ethics must be a name of 1 to 64 bytes "
                "without commas or control characters\n");
        return 2;
    }
    return 0;
}

/* The investigation as a record member, texts masked. */
json_t *investigation_json(const audit_args_t *a, int *masked, apr_pool_t *p)
{
    return json_pack("{s:s,s:s,s:s}",
                     "ethics", rec_mask(a->ethics, masked, p),
                     "date", a->ethics_date,
                     "conclusion", rec_mask(a->conclusion, masked, p));
}

/* The options, as far as they can be checked alone. 0, or 2 said. */
static int check_args(const audit_args_t *a, apr_pool_t *p)
{
    if (!a->seq == !a->request_id) {
        fprintf(stderr, PROG ": finding needs the line as --seq N or "
                "--request-id ID (one of them)\n");
        return 2;
    }
    if (rec_name_fault(a->auditor, p)) {
        fprintf(stderr, PROG ": --auditor must be a name of 1 to 64 bytes "
                "without commas or control characters\n");
        return 2;
    }
    if (strcmp(a->result, "in-order") && strcmp(a->result, "anomaly")) {
        fprintf(stderr, PROG ": --result is in-order or anomaly, not "
                "\"%s\"\n", safe_str(p, a->result));
        return 2;
    }
    if (!strcmp(a->result, "anomaly") && (!a->note || !*a->note)) {
        fprintf(stderr, PROG ": an anomaly needs --note TEXT: what was "
                "found\n");
        return 2;
    }
    if (!strcmp(a->result, "in-order") && (a->ethics || a->ethics_date
                                           || a->conclusion)) {
        fprintf(stderr, PROG ": an investigation with the Ethics Office "
                "belongs to an anomaly, not to a line in order\n");
        return 2;
    }
    return investigation_args(a, 0, p);
}

int cmd_finding(const audit_args_t *a, apr_pool_t *p)
{
    const char *assigned, *line_id;
    records_writer_t w;
    sample_lines_t sl;
    const sline_t *l;
    json_t *as, *o, *old;
    int rc, masked = 0;

    rc = check_args(a, p);
    if (rc != 0) {
        return rc;
    }
    if (records_begin(&w, a, "finding", p) != 0) {
        return 1;
    }
    rc = 1;
    if (records_sample(a, &sl, p) != 0) {
        goto done;
    }
    line_id = a->seq ? apr_psprintf(p, "seq %" APR_UINT64_T_FMT, a->seq)
                     : apr_pstrcat(p, "request_id ",
                                   safe_str(p, a->request_id), NULL);
    l = find_line(a, &sl);
    if (!l) {
        fprintf(stderr, PROG ": finding refused: the line of %s is not in "
                "the official sample of %s (`" PROG " sample --month %s` "
                "lists it). Nothing was recorded\n", line_id, a->month,
                a->month);
        goto done;
    }
    as = records_find(&w.r, "assign", a->month, 0, l->client, l->op);
    assigned = as ? rec_str(as, "auditor") : NULL;
    if (!as) {
        fprintf(stderr, PROG ": finding refused: no assignment of %s is "
                "recorded for %s: run `" PROG " assign --month %s` first. "
                "Nothing was recorded\n", safe_str(p, person_text(
                    l->client, l->op, p)), a->month, a->month);
        goto done;
    }
    if ((!assigned || strcmp(assigned, a->auditor)) && !a->any_auditor) {
        fprintf(stderr, PROG ": finding refused: the line (%s) is of %s, "
                "%s%s, not to %s; --any-auditor files it all the same (the "
                "record says it was not the auditor assigned). Nothing was "
                "recorded\n", line_id,
                safe_str(p, person_text(l->client, l->op, p)),
                assigned ? "assigned to " : "assigned to nobody",
                assigned ? safe_str(p, assigned) : "",
                safe_str(p, a->auditor));
        goto done;
    }
    old = records_find(&w.r, "finding", a->month, l->seq, NULL, NULL);
    if (old) {
        fprintf(stderr, PROG ": finding refused: a finding of line %"
                APR_UINT64_T_FMT " is recorded already (records seq %"
                APR_UINT64_T_FMT ", %s by %s); an investigation is added "
                "with `" PROG " investigation`. Nothing was recorded\n",
                l->seq, rec_seq(old), safe_str(p, rec_str(old, "result")),
                safe_str(p, rec_str(old, "auditor")));
        goto done;
    }
    o = json_pack("{s:s,s:s,s:I,s:o,s:s,s:s,s:s,s:o,s:b,s:s,s:o,s:o}",
                  "op", "finding", "month", a->month,
                  "line_seq", (json_int_t)l->seq,
                  "request_id", l->request_id ? json_string(l->request_id)
                                              : json_null(),
                  "client", l->client, "operator", l->op,
                  "auditor", a->auditor,
                  "assigned", assigned ? json_string(assigned) : json_null(),
                  "not_assigned", !assigned || strcmp(assigned, a->auditor),
                  "result", a->result,
                  "note", a->note ? json_string(rec_mask(a->note, &masked, p))
                                  : json_null(),
                  "investigation", a->ethics
                      ? investigation_json(a, &masked, p) : json_null());
    if (!o) {
        fprintf(stderr, PROG ": finding refused: a text is not UTF-8. "
                "Nothing was recorded\n");
        goto done;
    }
    if (masked) {
        fprintf(stderr, PROG ": a text looked like a national ID or phone "
                "number and is recorded masked\n");
    }
    rc = records_add(&w, o);
    json_decref(o);
    if (rc != 0) {
        goto done;
    }
    printf("Finding of line %" APR_UINT64_T_FMT " of %s (%s) by %s: %s%s\n",
           l->seq, a->month, safe_str(p, person_text(l->client, l->op, p)),
           safe_str(p, a->auditor), a->result,
           !strcmp(a->result, "anomaly") && !a->ethics
           ? " (OPEN: the joint investigation with the Ethics Office is "
             "not recorded yet; `" PROG " investigation` adds it)" : "");
    return records_commit(&w);

done:
    records_abort(&w);
    return rc;
}
