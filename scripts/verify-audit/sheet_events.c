/*
 * sheet_events.c -- the month's service lines on the sheet: starts,
 * imports (with their signer and SHA-256), checkpoints, changes of the
 * client register, purges, recoveries; any op, known or not, with its
 * members. Checkpoints made on the interval (one a minute while queries
 * come) are one row; those made at a start, a stop, a day or a month
 * are listed.
 */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "sheet.h"
#include "verify_sha256.h"

/* Columns of the details cell. */
#define DETAILS_COLS 146

/* Members shown first, by op; the rest follow in the line's order. */
static const struct {
    const char *op;
    const char *keys[12];
} known[] = {
    { "start", { "generation", "pid", "server" } },
    { "import", { "result", "source", "records", "signer", "sha256",
                  "fault", "batch_id", "approved_until", "imported_at",
                  "input", "user" } },
    { "checkpoint", { "reason", "size", "root", "origin" } },
    { "register", { "clients", "added", "removed", "changed", "digest",
                    "previous", "part", "parts" } },
    { "purge", { "result", "before", "purged_through", "files",
                 "last_seq", "last_hash", "checkpoint", "user", "fault" } },
    { "audit_recover", { "pid", "detail" } },
    { "withdrawn", { "withdrawn_seq", "request_id", "status", "detail" } },
};

/* Members every line has, or that other parts of the sheet show. */
static int skipped(const char *key)
{
    static const char *const skip[] = {
        "seq", "ts", "op", "prev", "hash", "note", NULL
    };
    int i;

    for (i = 0; skip[i]; i++) {
        if (!strcmp(key, skip[i])) {
            return 1;
        }
    }
    return 0;
}

void events_init(sheet_events_t *e, apr_pool_t *p)
{
    memset(e, 0, sizeof(*e));
    e->lines = apr_array_make(p, 64, sizeof(qline_t));
}

int events_line(sheet_events_t *e, const month_seen_t *l, apr_pool_t *p)
{
    const char *op = jstr(l->j, "op"), *reason = jstr(l->j, "reason");
    json_t *seq = json_object_get(l->j, "seq");
    json_t *size = json_object_get(l->j, "size");
    uint64_t n = json_is_integer(seq) ? (uint64_t)json_integer_value(seq)
                                      : 0;
    uint64_t sz;
    qline_t *q;

    if (!l->in_month || l->q || !l->j) {
        return 0;
    }
    if (op && !strcmp(op, "checkpoint") && reason
        && !strcmp(reason, "interval") && !l->bad
        && json_is_integer(size)) {
        sz = (uint64_t)json_integer_value(size);
        if (!e->interval++) {
            e->interval_first = n;
            e->interval_min = sz;
        }
        e->interval_last = n;
        e->interval_max = sz > e->interval_max ? sz : e->interval_max;
        e->interval_min = sz < e->interval_min ? sz : e->interval_min;
        return 0;
    }
    q = apr_array_push(e->lines);
    memset(q, 0, sizeof(*q));
    q->seq = n;
    q->off = l->off;
    q->file = l->file;
    q->bad = l->bad;
    verify_sha256_once(l->line, l->len, q->digest);
    return 0;
}

uint64_t events_rows(const sheet_events_t *e)
{
    return (uint64_t)e->lines->nelts + (e->interval ? 1 : 0);
}

/* A member's value as text: strings as they are, a list of strings
 * joined by ",", anything else as compact JSON. */
static const char *value_text(json_t *v, apr_pool_t *p)
{
    json_t *x;
    const char *out = "";
    char *d;
    size_t i;

    if (json_is_string(v)) {
        return apr_pstrmemdup(p, json_string_value(v), json_string_length(v));
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, x) {
            if (!json_is_string(x)) {
                break;
            }
            out = apr_pstrcat(p, out, i ? "," : "", json_string_value(x),
                              NULL);
        }
        if (i == json_array_size(v)) {
            return json_array_size(v) ? out : "[]";
        }
    }
    d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    out = apr_pstrdup(p, d ? d : "?");
    free(d);
    return out;
}

/* The members to show, in order: key then value text. */
static apr_array_header_t *members(json_t *j, const char *op, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 16, sizeof(const char *));
    const char *key;
    json_t *v;
    size_t k, i;

    for (k = 0; op && k < sizeof(known) / sizeof(known[0]); k++) {
        if (strcmp(known[k].op, op)) {
            continue;
        }
        for (i = 0; i < 12 && known[k].keys[i]; i++) {
            v = json_object_get(j, known[k].keys[i]);
            if (v) {
                APR_ARRAY_PUSH(a, const char *) = known[k].keys[i];
                APR_ARRAY_PUSH(a, const char *) = value_text(v, p);
            }
        }
        break;
    }
    json_object_foreach(j, key, v) {
        int seen = 0;
        for (i = 0; i < (size_t)a->nelts; i += 2) {
            if (!strcmp(APR_ARRAY_IDX(a, i, const char *), key)) {
                seen = 1;
            }
        }
        if (!seen && !skipped(key)) {
            APR_ARRAY_PUSH(a, const char *) = apr_pstrdup(p, key);
            APR_ARRAY_PUSH(a, const char *) = value_text(v, p);
        }
    }
    return a;
}

/* The details cell: "key=value" pairs, hashes shortened, cut to the
 * column with a note of the whole. @return the whole, for the CSV. */
static const char *details(FILE *o, sheet_notes_t *n, json_t *j,
                           const char *op, const cell_src_t *src,
                           apr_pool_t *p)
{
    apr_array_header_t *a = members(j, op, p);
    const char *whole = "";
    int i, used = 0, cut = 0, w;

    for (i = 0; i < a->nelts; i += 2) {
        const char *k = APR_ARRAY_IDX(a, i, const char *);
        const char *v = APR_ARRAY_IDX(a, i + 1, const char *);
        whole = apr_pstrcat(p, whole, i ? "; " : "", k, "=", v, NULL);
    }
    for (i = 0; i < a->nelts && !cut; i += 2) {
        const char *k = APR_ARRAY_IDX(a, i, const char *);
        const char *v = APR_ARRAY_IDX(a, i + 1, const char *);
        int hash = is_hash_text(v, strlen(v));
        w = text_cols(k, strlen(k), p) + 3
            + (hash ? HASH_COLS : text_cols(v, strlen(v), p));
        if (used + w > DETAILS_COLS - 8) {
            cut = 1;
            break;
        }
        used += w;
        fputs(i ? "; " : "", o);
        fprintf(o, "<span class=\"k\">%s</span>=", safe_text(p, k, strlen(k), SAFE_HTML, 0,
                                           NULL, NULL));
        if (hash) {
            sheet_hash(o, n, v);
        }
        else {
            fputs(safe_text(p, v, strlen(v), SAFE_HTML, 0, NULL, NULL), o);
        }
    }
    if (cut) {
        fputs(i ? "; \xe2\x80\xa6" : "\xe2\x80\xa6", o);
        notes_mark(o, "cut", 'T', notes_text(n, src, whole, strlen(whole)));
    }
    return whole;
}

static void csv_event(csv_t *csv, uint64_t seq, const char *ts,
                      const char *op, const char *flags, const char *det,
                      apr_pool_t *p)
{
    const char *cells[CSV_COLS] = { "event", NULL };
    int c;

    cells[2] = apr_psprintf(p, "%" APR_UINT64_T_FMT, seq);
    cells[3] = ts;
    cells[13] = flags;
    cells[14] = op;
    cells[15] = det;
    for (c = 0; c < CSV_COLS; c++) {
        csv_cell(csv, cells[c], cells[c] ? strlen(cells[c]) : 0, p);
    }
    csv_end_row(csv);
}

int events_print(FILE *o, csv_t *csv, sheet_notes_t *n,
                 const sheet_events_t *e, reader_t *r, apr_pool_t *p)
{
    apr_pool_t *rp;
    int i;

    fprintf(o, "<h2>系統事件 Service events (%" APR_UINT64_T_FMT ")</h2>\n",
            (uint64_t)e->lines->nelts + e->interval);
    if (!events_rows(e)) {
        fputs("<p>本月無系統事件 No service lines in the month.</p>\n", o);
        return 0;
    }
    fputs("<table class=\"rows ev\">\n<colgroup><col class=\"c-mk\">"
          "<col class=\"c-seq\"><col class=\"c-t\"><col class=\"c-op\">"
          "<col></colgroup>\n<thead><tr><th></th><th>序號 seq</th>"
          "<th>時間 Time</th><th>事件 op</th><th>內容 Details</th></tr>"
          "</thead>\n<tbody>\n", o);
    apr_pool_create(&rp, p);
    for (i = 0; i < e->lines->nelts; i++) {
        const qline_t *q = &APR_ARRAY_IDX(e->lines, i, qline_t);
        json_t *j = reread(r, q);
        const char *op, *ts, *det;
        cell_src_t src;

        if (!j) {
            return -1;
        }
        apr_pool_clear(rp);
        op = jstr(j, "op");
        ts = jstr(j, "ts");
        src.seq = q->seq;
        src.rid = NULL;
        src.field = "details";
        fprintf(o, "<tr%s><td>%s</td><td class=\"num\">%" APR_UINT64_T_FMT
                "</td><td>", q->bad ? " class=\"bad\"" : "",
                q->bad ? "\xe2\x9a\xa0" : "", q->seq);
        fputs(day_time(ts, rp), o);
        fputs("</td><td>", o);
        sheet_text(o, n, op, op ? strlen(op) : 0, 14, 0, &src, NULL, rp);
        fputs("</td><td>", o);
        det = details(o, n, j, op, &src, rp);
        fputs("</td></tr>\n", o);
        if (csv->f) {
            csv_event(csv, q->seq, ts, op, q->bad ? "chain check failed"
                      : NULL, det, rp);
        }
        json_decref(j);
    }
    if (e->interval) {
        fprintf(o, "<tr><td></td><td class=\"num\">%" APR_UINT64_T_FMT
                "</td><td></td><td>checkpoint</td><td><span class=\"k\">reason</span>=interval"
                " \xc3\x97%" APR_UINT64_T_FMT ": seq %" APR_UINT64_T_FMT
                "..%" APR_UINT64_T_FMT ", sizes %" APR_UINT64_T_FMT "..%"
                APR_UINT64_T_FMT " (one row for all)</td></tr>\n",
                e->interval_first, e->interval, e->interval_first,
                e->interval_last, e->interval_min, e->interval_max);
        if (csv->f) {
            csv_event(csv, e->interval_first, NULL, "checkpoint", NULL,
                      apr_psprintf(rp, "reason=interval; lines=%"
                                   APR_UINT64_T_FMT "; seq=%" APR_UINT64_T_FMT
                                   "..%" APR_UINT64_T_FMT "; size=%"
                                   APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT,
                                   e->interval, e->interval_first,
                                   e->interval_last, e->interval_min,
                                   e->interval_max), rp);
        }
    }
    apr_pool_destroy(rp);
    fputs("</tbody>\n</table>\n", o);
    return 0;
}
