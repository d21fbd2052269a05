/*
 * records_verify.c -- `verify --records DIR`: after the audit files, the
 * records log: its own chain, and each of its heads against the audit
 * chain. Every append left an event "records" naming the new head (seq
 * and hash), and the log by the hash of its seq 1, that httpd wrote into
 * the audit chain; a head the audit
 * chain attests commits the records log up to it, and a signed
 * checkpoint over that audit line commits the signed tree to it. A
 * record after the last head attested is said plainly: not covered yet.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "records.h"

/* Records not covered shown one by one; the rest are counted. */
#define SHOWN 20

typedef struct attest_t {
    uint64_t audit_seq;         /* the audit line of the event */
    const char *ts;
    uint64_t head_seq;
    unsigned char head[32];
} attest_t;

typedef struct rv_t {
    char first[65];             /* hex hash of the records log's seq 1 */
    const char *path;           /* the records log's path */
    uint64_t others;            /* events of other records logs */
    uint64_t replaced;          /* ... of this path: it was replaced */
    uint64_t replaced_at;       /* the last such event's audit seq */
    apr_array_header_t *att;    /* attest_t, in audit order */
    uint64_t cp_size;           /* largest checkpoint line's size */
    int bad_events;             /* events without a sound head */
    apr_pool_t *p;
} rv_t;

static int rv_line(verify_scan_t *s, const char *line, size_t len,
                   json_t *j, int bad, int fi, apr_off_t off)
{
    rv_t *x = s->ctx;
    const char *op = jstr(j, "op"), *h = jstr(j, "head_hash");
    json_t *hs = json_object_get(j, "head_seq");
    json_t *sz = json_object_get(j, "size"), *seq = json_object_get(j, "seq");
    attest_t *t;

    (void)line; (void)len; (void)bad; (void)fi; (void)off;
    if (!op) {
        return 0;
    }
    if (!strcmp(op, "checkpoint") && json_is_integer(sz)
        && (uint64_t)json_integer_value(sz) > x->cp_size) {
        x->cp_size = (uint64_t)json_integer_value(sz);
    }
    if (strcmp(op, "records")) {
        return 0;
    }
    if (!jstr(j, "records_first") || strcmp(jstr(j, "records_first"),
                                            x->first)) {
        /* another records log; at this very path, this one replaced it */
        if (jstr(j, "records_log") && !strcmp(jstr(j, "records_log"),
                                              x->path)) {
            x->replaced++;
            x->replaced_at = json_is_integer(seq)
                             ? (uint64_t)json_integer_value(seq) : 0;
        }
        else {
            x->others++;
        }
        return 0;
    }
    if (!json_is_integer(hs) || json_integer_value(hs) < 1 || !h
        || strlen(h) != 64 || !json_is_integer(seq)) {
        x->bad_events++;
        return 0;
    }
    t = apr_array_push(x->att);
    t->audit_seq = (uint64_t)json_integer_value(seq);
    t->ts = apr_pstrdup(x->p, jstr(j, "ts") ? jstr(j, "ts") : "?");
    t->head_seq = (uint64_t)json_integer_value(hs);
    if (verify_unhex(h, 32, t->head, 1) != 0) {
        x->bad_events++;
        x->att->nelts--;
    }
    return 0;
}

/* Each attested head against the records log: the faults counted and
 * said; *covered the largest head that matches. */
static int check_heads(const rv_t *x, const records_t *r, uint64_t *covered,
                       const attest_t **by, apr_pool_t *p)
{
    char want[65], got[65];
    int i, faults = 0;

    *covered = 0;
    *by = NULL;
    for (i = 0; i < x->att->nelts; i++) {
        const attest_t *t = &APR_ARRAY_IDX(x->att, i, attest_t);
        verify_hex(t->head, 32, want);
        if (t->head_seq > r->head.seq) {
            printf("FAULT: audit line %" APR_UINT64_T_FMT " (%s) attests "
                   "records head seq %" APR_UINT64_T_FMT ", but the records "
                   "log ends at seq %" APR_UINT64_T_FMT ": records were "
                   "removed\n", t->audit_seq, ts_readable(t->ts, p),
                   t->head_seq, r->head.seq);
            faults++;
            continue;
        }
        verify_hex((const unsigned char *)r->hashes->elts
                   + 32 * (t->head_seq - 1), 32, got);
        if (strcmp(want, got)) {
            printf("FAULT: records seq %" APR_UINT64_T_FMT " has hash %s, "
                   "but audit line %" APR_UINT64_T_FMT " (%s) attests %s: "
                   "the records log was rewritten\n", t->head_seq, got,
                   t->audit_seq, ts_readable(t->ts, p), want);
            faults++;
            continue;
        }
        if (t->head_seq >= *covered) {
            *covered = t->head_seq;
            *by = t;
        }
    }
    return faults;
}

/* The records after the last head attested, said plainly. */
static void not_covered(const records_t *r, uint64_t covered, apr_pool_t *p)
{
    uint64_t s;

    if (covered >= r->head.seq) {
        printf("not covered:  none\n");
        return;
    }
    printf("not covered:  records seq %" APR_UINT64_T_FMT "..%"
           APR_UINT64_T_FMT ": no audit line given attests them yet (httpd "
           "writes the spool's events into the audit chain within about "
           "10 s; if it stays so, the event was lost, and the next record's "
           "event covers them):\n", covered + 1, r->head.seq);
    for (s = covered + 1; s <= r->head.seq && s <= covered + SHOWN; s++) {
        json_t *o = APR_ARRAY_IDX(r->lines, s - 1, json_t *);
        printf("  seq %" APR_UINT64_T_FMT "  %s  %s %s\n", s,
               ts_readable(rec_str(o, "ts"), p),
               safe_str(p, rec_str(o, "op")),
               safe_str(p, rec_str(o, "month") ? rec_str(o, "month")
                                               : rec_str(o, "reviewer")));
    }
    if (r->head.seq - covered > SHOWN) {
        printf("  ... and %" APR_UINT64_T_FMT " more\n",
               r->head.seq - covered - SHOWN);
    }
}

int cmd_verify_records(const audit_args_t *a, apr_pool_t *p)
{
    const attest_t *by;
    uint64_t covered;
    verify_scan_t s;
    records_t r;
    rv_t x;
    char hex[65];
    int rc, rrc, faults;

    rc = cmd_verify(a, p);
    if (!a->records) {
        return rc;
    }
    printf("\nrecords (R5.2): %s\n", safe_str(p, records_dir(a)));
    rrc = records_load(&r, records_dir(a), NULL, p);
    if (rrc != 0) {
        printf("records log:  %s: %s\nrecords:      NOT INTACT\n",
               safe_str(p, r.path), safe_str(p, r.why));
        return 1;
    }
    if (!r.exists || r.head.seq == 0) {
        printf("records log:  %s: nothing recorded\n", safe_str(p, r.path));
        return rc;
    }
    verify_hex(r.head.hash, 32, hex);
    printf("records log:  %s: chain intact, seq 1..%" APR_UINT64_T_FMT
           ", head %s\n", safe_str(p, r.path), r.head.seq, hex);
    memset(&x, 0, sizeof(x));
    x.att = apr_array_make(p, 16, sizeof(attest_t));
    verify_hex((const unsigned char *)r.hashes->elts, 32, x.first);
    x.path = r.path;
    x.p = p;
    scan_init(&s, a, rv_line, &x, p);
    if (scan_run(&s) < 0) {
        return 1;
    }
    faults = check_heads(&x, &r, &covered, &by, p);
    if (x.bad_events) {
        printf("FAULT: %d records event%s of the audit chain name no sound "
               "head\n", x.bad_events, x.bad_events == 1 ? "" : "s");
        faults += x.bad_events;
    }
    if (by) {
        printf("attested:     records seq 1..%" APR_UINT64_T_FMT " by audit "
               "line %" APR_UINT64_T_FMT " (%s), %s\n", covered,
               by->audit_seq, ts_readable(by->ts, p),
               x.cp_size >= by->audit_seq
               ? apr_psprintf(p, "under the checkpoint of size %"
                              APR_UINT64_T_FMT "%s", x.cp_size,
                              a->nkeys ? " (signature checked above)"
                                       : " (--verifier checks its "
                                         "signature)")
               : "not yet under a signed checkpoint (the next one "
                 "covers it)");
    }
    else {
        printf("attested:     no event of this records log in the audit "
               "files given\n");
    }
    if (x.replaced) {
        printf("FAULT: %" APR_UINT64_T_FMT " records event%s of the audit "
               "chain (the last at audit line %" APR_UINT64_T_FMT ") attest "
               "a records log at this path whose seq 1 is not this one's: "
               "the records log was replaced or rewritten from its start\n",
               x.replaced, x.replaced == 1 ? "" : "s", x.replaced_at);
        faults++;
    }
    if (x.others) {
        printf("other logs:   %" APR_UINT64_T_FMT " records event%s of "
               "another records log (another seq 1) passed over\n",
               x.others, x.others == 1 ? "" : "s");
    }
    not_covered(&r, covered, p);
    printf("records:      %s\n", faults ? "NOT INTACT: the records log is "
           "not the one the audit chain attests"
           : covered >= r.head.seq ? "intact and attested"
           : "intact; the records after the last head attested are not "
             "covered yet");
    return faults ? 1 : rc | write_failed();
}
