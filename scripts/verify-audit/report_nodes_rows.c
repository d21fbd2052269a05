/*
 * report_nodes_rows.c -- the rows of the sheet of several nodes: the
 * flags of all nodes, then the answered queries and the refusals, each
 * row naming its node and read again from that node's files, and each
 * to the CSV with its node in the last column.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "report_nodes.h"

void nsheet_flags(nsheet_t *h, apr_pool_t *p)
{
    FILE *o = h->o;
    nodes_t *ns = h->ns;
    const char *why;
    size_t i;
    int f;

    fprintf(o, "<h2>異常標記 Anomaly flags (R5.2), over all nodes: %zu "
            "line(s)</h2>\n", ns->flagged);
    if (!ns->flagged) {
        fputs("<p>本月無異常標記 No line of the month is flagged.</p>\n", o);
        return;
    }
    fprintf(o, "<p class=\"intro\">Each flagged line joins the sample on top "
            "of the random part (%zu not drawn at random) and is marked "
            "\xe2\x9a\x91 in the tables below. Thresholds: %s.</p>\n"
            "<table class=\"notes\">\n<thead><tr><th>節點 Node</th><th>序號 "
            "seq</th><th>標記 Flag</th><th>原因 Why</th></tr></thead>\n"
            "<tbody>\n", ns->flagged_only, h->a->flags ? "the --flags file"
                                                       : "built in");
    for (i = 0; i < ns->nout; i++) {
        const nodeq_t *x = &ns->out[i];
        for (f = x->q->first_flag; f < x->q->first_flag + x->q->nflags; f++) {
            const verify_flag_t *v = &APR_ARRAY_IDX(ns->found, f,
                                                    verify_flag_t);
            why = verify_pii_mask(v->why, strlen(v->why), VERIFY_PII_ID
                                  | VERIFY_PII_PHONE, NULL, NULL, p);
            fputs("<tr><td class=\"n\">", o);
            html_text(o, node_shown(x->n), p);
            fprintf(o, "</td><td class=\"n\">%" APR_UINT64_T_FMT "</td>"
                    "<td class=\"n\">%s</td><td class=\"wrap\">", x->q->seq,
                    verify_flag_name(v->kind));
            html_text(o, why, p);
            fputs("</td></tr>\n", o);
        }
    }
    fputs("</tbody>\n</table>\n", o);
}

/* The flags of @p q in words, for the CSV. */
static const char *flags_text(const nodes_t *ns, const squery_t *q,
                              apr_pool_t *p)
{
    const char *t = NULL;
    int f;

    for (f = q->first_flag; f < q->first_flag + q->nflags; f++) {
        const verify_flag_t *v = &APR_ARRAY_IDX(ns->found, f, verify_flag_t);
        t = apr_pstrcat(p, t ? t : "", t ? "; " : "", v->why, NULL);
    }
    return t ? verify_pii_mask(t, strlen(t), VERIFY_PII_ID | VERIFY_PII_PHONE,
                               NULL, NULL, p) : NULL;
}

static void query_row(nsheet_t *h, const node_t *n, const squery_t *q,
                      json_t *j, int refused, apr_pool_t *p)
{
    static const struct {
        const char *key;
        int cols, mask;
    } texts[] = {
        { "client", 12, 0 }, { "operator", 12, 1 }, { "case", 16, 1 },
        { "reason", 0, 1 },
    };
    FILE *o = h->o;
    const char *shown[4], *c, *rid, *flags, *cells[NODES_CSV_COLS];
    json_t *st = json_object_get(j, "status");
    size_t k, len, rid_len;
    cell_src_t src;
    unsigned found;

    rid = member_text(j, "request_id", &rid_len, p);
    src.seq = q->seq;
    src.rid = rid;
    fprintf(o, "<tr%s><td>%s</td><td class=\"mono\">", q->drawn || q->nflags
            ? " class=\"s\"" : "", q->drawn ? "\xe2\x98\x85" : q->nflags
            ? "\xe2\x9a\x91" : "");
    html_text(o, node_shown(n), p);
    fprintf(o, "</td><td class=\"num\">%" APR_UINT64_T_FMT "</td><td>%s",
            q->seq, day_time(jstr(j, "ts"), p));
    for (k = 0; k < 4; k++) {
        const char *s = member_text(j, texts[k].key, &len, p);
        src.field = texts[k].key;
        fputs("</td><td>", o);
        shown[k] = sheet_text(o, &h->notes, s, len, texts[k].cols
                              ? texts[k].cols : refused ? 24 : 50,
                              texts[k].mask, &src, &found, p);
    }
    fputs("</td><td>", o);
    c = checks_text(j, p);
    src.field = "checks";
    sheet_text(o, &h->notes, c, c ? strlen(c) : 0, 20, 0, &src, NULL, p);
    fputs("</td><td class=\"id\">", o);
    c = safe_subject(j, p);
    html_or_dash(o, c, c ? strlen(c) : 0, p);
    if (refused) {
        fputs("</td><td>", o);
        c = status_text(j, p);
        src.field = "status";
        sheet_text(o, &h->notes, c, strlen(c), 26, 0, &src, NULL, p);
    }
    fputs("</td><td class=\"rid\">", o);
    src.field = "request_id";
    sheet_text(o, &h->notes, rid, rid_len, 24, 0, &src, NULL, p);
    fputs("</td></tr>\n", o);
    if (!h->csv.f) {
        return;
    }
    flags = flags_text(h->ns, q, p);
    cells[0] = refused ? "refused" : "answered";
    cells[1] = q->drawn ? "yes" : q->nflags ? "flagged" : NULL;
    cells[2] = apr_psprintf(p, "%" APR_UINT64_T_FMT, q->seq);
    cells[3] = jstr(j, "ts");
    cells[4] = shown[0];
    cells[5] = shown[1];
    cells[6] = shown[2];
    cells[7] = shown[3];
    cells[8] = checks_text(j, p);
    cells[9] = safe_subject(j, p);
    cells[10] = json_is_integer(st) ? apr_psprintf(
        p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(st)) : NULL;
    cells[11] = jstr(j, "error");
    cells[12] = rid;
    cells[13] = flags;
    cells[14] = jstr(j, "op");
    cells[15] = NULL;
    cells[16] = node_shown(n);
    for (k = 0; k < NODES_CSV_COLS; k++) {
        csv_cell(&h->csv, cells[k], cells[k] ? strlen(cells[k]) : 0, p);
    }
    csv_end_row(&h->csv);
}

int nsheet_queries(nsheet_t *h, int refused, apr_pool_t *p)
{
    FILE *o = h->o;
    nodes_t *ns = h->ns;
    uint64_t n = refused ? ns->refused : ns->answered;
    apr_pool_t *rp;
    size_t i;
    int ni;

    fprintf(o, "<h2>%s (%" APR_UINT64_T_FMT ", all nodes)</h2>\n", refused
            ? "拒絕的查詢 Refused queries (no answer was given)"
            : "已回覆的查詢 Answered queries", n);
    if (!h->list_all && n) {
        fprintf(o, "<p class=\"intro\">The month has %" APR_UINT64_T_FMT
                " queries, more than a sheet lists (%d): %s. <code>" PROG
                " report --all</code> lists every one.</p>\n",
                ns->answered + ns->refused, NODES_LIST_MAX, refused
                ? "only the flagged refusals are listed"
                : "only the sample is listed");
    }
    if (n == 0) {
        fprintf(o, "<p>%s</p>\n", refused ? "本月無拒絕 No refusals."
                : "本月無回覆 No answered queries.");
        return 0;
    }
    fprintf(o, "<table class=\"rows\">\n<colgroup><col class=\"c-mk\">"
            "<col class=\"c-node\"><col class=\"c-seq\"><col class=\"c-t\">"
            "<col class=\"c-cl\"><col class=\"c-op\"><col class=\"c-case\">"
            "<col><col class=\"c-ck\"><col class=\"c-sub\">%s"
            "<col class=\"c-rid\"></colgroup>\n"
            "<thead><tr><th></th><th>節點<br>Node</th><th>序號<br>seq</th>"
            "<th>日 時間<br>Day time</th><th>用戶端<br>Client</th>"
            "<th>操作人員<br>Operator</th><th>案號<br>Case</th>"
            "<th>查詢事由<br>Reason</th><th>查詢項目<br>Checks</th>"
            "<th>查詢對象<br>Subject</th>%s<th>請求編號<br>request_id</th>"
            "</tr></thead>\n<tbody>\n",
            refused ? "<col class=\"c-err\">" : "",
            refused ? "<th>狀態<br>Status / error</th>" : "");
    apr_pool_create(&rp, p);
    for (ni = 0; ni < ns->nn; ni++) {
        node_t *nd = ns->n[ni];
        for (i = 0; i < nd->ss.n; i++) {
            const squery_t *q = &nd->ss.q[i];
            json_t *j;
            if (q->answered == refused
                || (!h->list_all && !q->drawn && !q->nflags)) {
                continue;
            }
            j = read_again(&nd->g, q);
            if (!j) {
                apr_pool_destroy(rp);
                return -1;
            }
            apr_pool_clear(rp);
            query_row(h, nd, q, j, refused, rp);
            json_decref(j);
        }
    }
    apr_pool_destroy(rp);
    fputs("</tbody>\n</table>\n", o);
    return 0;
}

