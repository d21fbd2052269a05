/*
 * cmd_assign.c -- who audits whom (R5.2): each person of month M's
 * official sample (a client and an operator with sampled lines) is given
 * to one of the auditors named, never to the auditor who audited that
 * person in their previous round, the work balanced by sampled lines.
 * What cannot be assigned is said, with why, and recorded as such; a
 * later `assign` of the same month assigns only those. Everything goes
 * into the records log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "records.h"

#define MAX_AUDITORS 64

typedef struct person_t {
    const char *client, *op;
    uint64_t lines;
    const char *prev;           /* auditor of the previous round, or NULL */
    const char *prev_month;
    const char *done;           /* assigned to already this month */
    int to;                     /* index of the auditor, or -1 */
    const char *why;            /* when it cannot be assigned */
} person_t;

typedef struct load_t {
    const char *name;
    uint64_t lines, persons;
} load_t;

/* --auditors A,B,C: into @p l; 0, or 2 with the fault said. */
static int parse_auditors(const char *arg, apr_array_header_t *l,
                          apr_pool_t *p)
{
    char *s = apr_pstrdup(p, arg), *tok, *end;
    const char *why;
    int i;

    for (tok = s; tok; tok = end) {
        end = strchr(tok, ',');
        if (end) {
            *end++ = '\0';
        }
        why = rec_name_fault(tok, p);
        if (why) {
            fprintf(stderr, PROG ": --auditors is a comma-separated list of "
                    "names; \"%s\" %s\n", safe_str(p, tok), why);
            return 2;
        }
        for (i = 0; i < l->nelts; i++) {
            if (!strcmp(APR_ARRAY_IDX(l, i, load_t).name, tok)) {
                fprintf(stderr, PROG ": --auditors names %s twice\n",
                        safe_str(p, tok));
                return 2;
            }
        }
        if (l->nelts == MAX_AUDITORS) {
            fprintf(stderr, PROG ": --auditors: at most %d names\n",
                    MAX_AUDITORS);
            return 2;
        }
        ((load_t *)apr_array_push(l))->name = tok;
    }
    return 0;
}

/* Every person's previous round (the latest earlier month with an
 * auditor) and who was assigned in month M already. */
static void read_rounds(const records_t *r, const char *month,
                        apr_hash_t *prev, apr_hash_t *done, int *rounds,
                        apr_pool_t *p)
{
    int i;

    *rounds = 0;
    for (i = 0; i < r->lines->nelts; i++) {
        json_t *o = APR_ARRAY_IDX(r->lines, i, json_t *);
        const char *op = rec_str(o, "op"), *m = rec_str(o, "month");
        const char *who = rec_str(o, "auditor"), *k;
        json_t *old;

        if (!op || !m) {
            continue;
        }
        if (!strcmp(op, "assign_round") && !strcmp(m, month)) {
            (*rounds)++;
        }
        if (strcmp(op, "assign") || !who) {
            continue;
        }
        k = person_key(rec_str(o, "client"), rec_str(o, "operator"), p);
        if (!strcmp(m, month)) {
            apr_hash_set(done, k, APR_HASH_KEY_STRING, o);
        }
        else if (strcmp(m, month) < 0) {
            old = apr_hash_get(prev, k, APR_HASH_KEY_STRING);
            if (!old || strcmp(rec_str(old, "month"), m) <= 0) {
                apr_hash_set(prev, k, APR_HASH_KEY_STRING, o);
            }
        }
    }
}

/* The persons of the sample, with their lines counted. */
static apr_array_header_t *persons(const sample_lines_t *sl, apr_hash_t *prev,
                                   apr_hash_t *done, apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 16, sizeof(person_t *));
    apr_hash_t *by = apr_hash_make(p);
    int i;

    for (i = 0; i < sl->lines->nelts; i++) {
        const sline_t *l = &APR_ARRAY_IDX(sl->lines, i, sline_t);
        const char *k = person_key(l->client, l->op, p);
        person_t *x = apr_hash_get(by, k, APR_HASH_KEY_STRING);
        json_t *o;

        if (!x) {
            x = apr_pcalloc(p, sizeof(*x));
            x->client = l->client;
            x->op = l->op;
            x->to = -1;
            o = apr_hash_get(prev, k, APR_HASH_KEY_STRING);
            if (o) {
                x->prev = rec_str(o, "auditor");
                x->prev_month = rec_str(o, "month");
            }
            o = apr_hash_get(done, k, APR_HASH_KEY_STRING);
            x->done = o ? rec_str(o, "auditor") : NULL;
            apr_hash_set(by, k, APR_HASH_KEY_STRING, x);
            APR_ARRAY_PUSH(out, person_t *) = x;
        }
        x->lines++;
    }
    return out;
}

/* Most lines first, then by name: the greedy order. */
static int cmp_person(const void *a, const void *b)
{
    const person_t *x = *(person_t *const *)a, *y = *(person_t *const *)b;
    int c;

    if (x->lines != y->lines) {
        return x->lines > y->lines ? -1 : 1;
    }
    c = strcmp(x->client, y->client);
    return c ? c : strcmp(x->op, y->op);
}

/* Each person not assigned yet to the least loaded auditor allowed. */
static void assign_all(apr_array_header_t *ps, apr_array_header_t *loads,
                       apr_pool_t *p)
{
    int i, k, best;

    qsort(ps->elts, (size_t)ps->nelts, sizeof(person_t *), cmp_person);
    for (i = 0; i < ps->nelts; i++) {
        person_t *x = APR_ARRAY_IDX(ps, i, person_t *);
        if (x->done) {
            continue;
        }
        best = -1;
        for (k = 0; k < loads->nelts; k++) {
            const load_t *l = &APR_ARRAY_IDX(loads, k, load_t);
            const load_t *b = best < 0 ? NULL
                              : &APR_ARRAY_IDX(loads, best, load_t);
            if (x->prev && !strcmp(x->prev, l->name)) {
                continue;       /* R5.2: not the same auditor twice */
            }
            if (!b || l->lines < b->lines
                || (l->lines == b->lines && l->persons < b->persons)) {
                best = k;
            }
        }
        if (best < 0) {
            x->why = apr_psprintf(
                p, "the only auditor given, %s, audited this person in "
                "their previous round (%s), and R5.2 forbids the same "
                "auditor twice in a row: run assign --month again with "
                "another auditor", x->prev, x->prev_month);
            continue;
        }
        x->to = best;
        APR_ARRAY_IDX(loads, best, load_t).lines += x->lines;
        APR_ARRAY_IDX(loads, best, load_t).persons++;
    }
}

static json_t *jnull_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The round and each new assignment into the records. */
static int record(records_writer_t *w, const audit_args_t *a,
                  const sample_lines_t *sl, apr_array_header_t *ps,
                  apr_array_header_t *loads, int *open)
{
    json_t *names = json_array(), *o;
    int i, assigned = 0, rc = 0;

    *open = 0;
    for (i = 0; i < loads->nelts; i++) {
        json_array_append_new(names, json_string(APR_ARRAY_IDX(
                                  loads, i, load_t).name));
    }
    for (i = 0; i < ps->nelts; i++) {
        const person_t *x = APR_ARRAY_IDX(ps, i, person_t *);
        assigned += x->to >= 0;
        *open += !x->done && x->to < 0;
    }
    o = json_pack("{s:s,s:s,s:o,s:s,s:I,s:I,s:I,s:i,s:i}",
                  "op", "assign_round", "month", a->month,
                  "auditors", names, "seed", sl->seed,
                  "checkpoint_size", (json_int_t)sl->cp_size,
                  "sample_lines", (json_int_t)sl->lines->nelts,
                  "persons", (json_int_t)ps->nelts,
                  "assigned", assigned, "unassigned", *open);
    rc = records_add(w, o);
    json_decref(o);
    for (i = 0; rc == 0 && i < ps->nelts; i++) {
        const person_t *x = APR_ARRAY_IDX(ps, i, person_t *);
        if (x->done) {
            continue;
        }
        o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I,s:o,s:o,s:o}",
                      "op", "assign", "month", a->month,
                      "client", x->client, "operator", x->op,
                      "auditor", jnull_str(x->to >= 0
                          ? APR_ARRAY_IDX(loads, x->to, load_t).name : NULL),
                      "lines", (json_int_t)x->lines,
                      "previous", jnull_str(x->prev),
                      "previous_month", jnull_str(x->prev_month),
                      "why", jnull_str(x->why));
        rc = records_add(w, o);
        json_decref(o);
    }
    return rc;
}

static void print_assignment(const audit_args_t *a, const sample_lines_t *sl,
                             apr_array_header_t *ps,
                             apr_array_header_t *loads, apr_pool_t *p)
{
    static const char *const head[] = {
        "client", "operator", "lines", "auditor", "previous round"
    };
    static const int maxw[] = { 24, 24, 0, 24, 0 };
    table_t t;
    int i, open = 0;

    printf("Assignment of the audits of %s (R5.2)\n", a->month);
    printf("sample:       %d line%s of the official sample (seed %s, the "
           "root of the signed checkpoint of size %" APR_UINT64_T_FMT "), "
           "%d person%s (client / operator)\n", sl->lines->nelts,
           sl->lines->nelts == 1 ? "" : "s", sl->seed, sl->cp_size,
           ps->nelts, ps->nelts == 1 ? "" : "s");
    printf("auditors:     ");
    for (i = 0; i < loads->nelts; i++) {
        printf("%s%s", i ? ", " : "",
               safe_str(p, APR_ARRAY_IDX(loads, i, load_t).name));
    }
    printf("\n\n");
    table_init(&t, 5, head, maxw, p);
    for (i = 0; i < ps->nelts; i++) {
        const person_t *x = APR_ARRAY_IDX(ps, i, person_t *);
        const char *raw[5];
        raw[0] = x->client;
        raw[1] = x->op;
        raw[2] = apr_psprintf(p, "%" APR_UINT64_T_FMT, x->lines);
        raw[3] = x->done ? apr_pstrcat(p, x->done, " (before)", NULL)
                 : x->to >= 0 ? APR_ARRAY_IDX(loads, x->to, load_t).name
                 : "NOT ASSIGNED";
        raw[4] = x->prev ? apr_psprintf(p, "%s: %s", x->prev_month, x->prev)
                         : NULL;
        open += !x->done && x->to < 0;
        table_add(&t, raw, NULL);
    }
    table_print(&t, TABLE_CUT_NOTE);
    for (i = 0; i < loads->nelts; i++) {
        const load_t *l = &APR_ARRAY_IDX(loads, i, load_t);
        printf("%s%s: %" APR_UINT64_T_FMT " person%s, %" APR_UINT64_T_FMT
               " line%s", i ? "; " : "\nload:         ", safe_str(p, l->name),
               l->persons, l->persons == 1 ? "" : "s", l->lines,
               l->lines == 1 ? "" : "s");
    }
    putchar('\n');
    if (open) {
        printf("\ncannot assign %d person%s:\n", open, open == 1 ? "" : "s");
        for (i = 0; i < ps->nelts; i++) {
            const person_t *x = APR_ARRAY_IDX(ps, i, person_t *);
            if (!x->done && x->to < 0) {
                printf("  %s: %s\n", safe_str(p, person_text(x->client,
                                                             x->op, p)),
                       safe_str(p, x->why));
            }
        }
    }
    putchar('\n');
}

int cmd_assign(const audit_args_t *a, apr_pool_t *p)
{
    apr_array_header_t *loads = apr_array_make(p, 8, sizeof(load_t)), *ps;
    apr_hash_t *prev = apr_hash_make(p), *done = apr_hash_make(p);
    records_writer_t w;
    sample_lines_t sl;
    int rc, i, rounds, todo = 0, open = 0;

    rc = parse_auditors(a->auditors, loads, p);
    if (rc != 0) {
        return rc;
    }
    if (records_begin(&w, a, "assign", p) != 0) {
        return 1;
    }
    read_rounds(&w.r, a->month, prev, done, &rounds, p);
    if (records_sample(a, &sl, p) != 0) {
        records_abort(&w);
        return 1;
    }
    ps = persons(&sl, prev, done, p);
    for (i = 0; i < ps->nelts; i++) {
        todo += !APR_ARRAY_IDX(ps, i, person_t *)->done;
    }
    if (rounds && todo == 0) {
        records_abort(&w);
        printf("Every person of the sample of %s is assigned already "
               "(`" PROG " findings --year %.4s` lists them); nothing was "
               "recorded\n", a->month, a->month);
        return write_failed();
    }
    assign_all(ps, loads, p);
    print_assignment(a, &sl, ps, loads, p);
    if (record(&w, a, &sl, ps, loads, &open) != 0) {
        records_abort(&w);
        return 1;
    }
    rc = records_commit(&w);
    return rc ? rc : open ? 1 : 0;
}
