/*
 * report_nodes.c -- the monthly query record sheet (R5.1) of several
 * nodes' logs as one population (docs/scaling.md section 5).
 *
 * The nodes are read, checked, drawn from and flagged as `sample` does
 * with several directories (sample_nodes.c): a sheet of one population
 * needs every node's chain intact and its seed checkpoint verified, so
 * it takes --verifier (a key per node). The sheet names each node (its
 * directory, files, chain, seed checkpoint), counts the month over all
 * of them, marks the one sample, and lists each line with its node,
 * read again from that node's files; the same rows go to the CSV with a
 * last column "node" (the rows: report_nodes_rows.c). A node's service
 * lines stay on its own sheet (`report` on its directory).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "sheet.h"
#include "report_nodes.h"

const char *node_shown(const node_t *n)
{
    return n->ss.node[0] ? n->ss.node : "-";
}

/* -- the head ------------------------------------------------------------ */

static void head_node(nsheet_t *h, const node_t *n, apr_pool_t *p)
{
    FILE *o = h->o;
    const seedcp_t *cp = &n->cp;
    char hex[65], b64[45];

    fputs("<tr><td class=\"mono\">", o);
    html_text(o, node_shown(n), p);
    fputs("</td><td><span class=\"mono\">", o);
    html_text(o, n->dir, p);
    fprintf(o, "</span>: %d file(s), ", n->s.nread);
    html_text(o, files_span(n->s.paths, p), p);
    fprintf(o, "</td><td><span class=\"ok\">完整 Intact</span>, seq %"
            APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT ", head ",
            n->s.first_seq, n->s.chain.seq);
    verify_hex(n->s.chain.hash, 32, hex);
    sheet_hash(o, &h->notes, hex);
    fprintf(o, "; %" APR_UINT64_T_FMT " answered, %" APR_UINT64_T_FMT
            " refused</td><td>", n->ss.answered, n->ss.refused);
    html_text(o, n->origin, p);
    fprintf(o, ", size %" APR_UINT64_T_FMT ", made ", cp->size);
    html_text(o, cp->time ? cp->time : "-", p);
    fprintf(o, ", line seq %" APR_UINT64_T_FMT ", root ", cp->line_seq);
    sheet_hash(o, &h->notes, tree_b64(cp->root, b64));
    fputs(". <span class=\"ok\">\xe2\x9c\x94 驗證通過 Verified</span>: "
          "signed by <span class=\"nw\">", o);
    html_text(o, cp->key, p);
    fputs("</span>; its root is the root of the node's own tree</td></tr>\n",
          o);
}

static void sheet_head(nsheet_t *h, apr_pool_t *p)
{
    FILE *o = h->o;
    nodes_t *ns = h->ns;
    const char *cmd;
    int i;

    fprintf(o, "<!DOCTYPE html>\n<html lang=\"zh-Hant\">\n<head>\n"
            "<meta charset=\"utf-8\">\n"
            "<meta name=\"generator\" content=\"" PROG " report\">\n"
            "<title>查詢紀錄表 Query record sheet %s</title>\n"
            "<style>\n%s"
            "col.c-node{width:9ch}\ntable.nodes{width:100%%}\n"
            "@page{size:A4 landscape;margin:10mm 10mm 12mm;\n"
            "@bottom-left{content:\"查詢紀錄表 Query record sheet %s\";"
            "font:7pt sans-serif}\n"
            "@bottom-right{content:\"第 \" counter(page) \" / \" "
            "counter(pages) \" 頁 page \" counter(page) \" of \" "
            "counter(pages);font:7pt sans-serif}}\n"
            "</style>\n</head>\n<body>\n", h->a->month, report_css,
            h->a->month);
    fprintf(o, "<header>\n<h1>驗證機制平臺 查詢紀錄表 %s "
            "<span class=\"en\">Verification platform: monthly query "
            "record sheet, %s, %d nodes</span></h1>\n"
            "<p>依管理規定 R5.1 每月列印供稽核，並由稽核人員、業務承辦人及單位"
            "主管簽核 (printed monthly for the auditors, R5.1, and signed "
            "at the end). The month's queries of every node are one "
            "population.</p>\n</header>\n", h->a->month, h->a->month, ns->nn);
    fputs("<table class=\"meta\">\n", o);
    fprintf(o, "<tr><th>月份 Month</th><td>%s, 臺北時間 Taipei time "
            "(%s-01 00:00 to %s 24:00, +08:00)", h->a->month, h->a->month,
            h->last);
    if (ns->note) {
        fputs("<br>", o);
        html_text(o, ns->note, p);
    }
    fputs("</td></tr>\n", o);
    fprintf(o, "<tr><th>製表時間 Generated</th><td>%s by <code>" PROG
            " report</code></td></tr>\n", h->now);
    fprintf(o, "<tr><th>節點 Nodes</th><td><table class=\"nodes\">\n"
            "<thead><tr><th>節點 "
            "Node</th><th>稽核檔案 Audit files</th><th>雜湊鏈 Hash chain"
            "</th><th>種子查核點 Seed checkpoint (signed)</th></tr></thead>"
            "\n<tbody>\n");
    for (i = 0; i < ns->nn; i++) {
        head_node(h, ns->n[i], p);
    }
    fputs("</tbody>\n</table></td></tr>\n", o);
    fprintf(o, "<tr><th>抽樣 Sample (R5.1)</th><td>R5.1: at least 3 %% of "
            "the month's queries, never fewer than 10, all of them if fewer "
            "than 10: <strong>%zu of %" APR_UINT64_T_FMT "</strong> (%s), the "
            "answered queries of all %d nodes. Marked \xe2\x98\x85 in the "
            "tables below. Seed: ", ns->k, ns->answered,
            verify_sample_rule((size_t)ns->answered), ns->nn);
    sheet_hash(o, &h->notes, ns->seed_hex);
    fputs(", the SHA-256 of \"mod_verify multi-node seed v1\" and each "
          "node's seed checkpoint's origin and root (auditor's guide 6.1). "
          "The same sample: <code class=\"cmd\">", o);
    cmd = apr_psprintf(p, PROG " sample --month %s", h->a->month);
    for (i = 0; i < ns->nn; i++) {
        cmd = apr_pstrcat(p, cmd, " --verifier KEY-", node_shown(ns->n[i]), NULL);
    }
    cmd = apr_pstrcat(p, cmd, " ", h->a->file_args, NULL);
    html_text(o, cmd, p);
    fputs("</code></td></tr>\n</table>\n", o);
}

/* -- the counts ---------------------------------------------------------- */

static int cmp_tally(const void *a, const void *b)
{
    const tally_t *x = *(const tally_t *const *)a;
    const tally_t *y = *(const tally_t *const *)b;

    return strcmp(x->key, y->key);
}

static int cmp_refusal(const void *x, const void *y)
{
    const refusal_t *a = *(refusal_t *const *)x, *b = *(refusal_t *const *)y;

    if (a->status != b->status) {
        return a->status - b->status;
    }
    return strcmp(a->error ? a->error : "", b->error ? b->error : "");
}

static void sheet_summary(nsheet_t *h, apr_pool_t *p)
{
    FILE *o = h->o;
    nodes_t *ns = h->ns;
    apr_array_header_t *a;
    int i;

    fputs("<h2>統計 Summary (all nodes)</h2>\n<div class=\"tallies\">\n"
          "<table class=\"counts\">\n", o);
    fprintf(o, "<tr><th>查詢筆數 Queries</th><td class=\"num\">%"
            APR_UINT64_T_FMT "</td></tr>\n", ns->answered + ns->refused);
    fprintf(o, "<tr><th>已回覆 Answered (200)</th><td class=\"num\">%"
            APR_UINT64_T_FMT "</td></tr>\n", ns->answered);
    fprintf(o, "<tr><th>拒絕 Refused</th><td class=\"num\">%"
            APR_UINT64_T_FMT "</td></tr>\n", ns->refused);
    fprintf(o, "<tr><th>應抽核 To sample (R5.1)</th><td class=\"num\">%zu"
            "</td></tr>\n", ns->k);
    fprintf(o, "<tr><th>異常標記 Flagged (R5.2)</th><td class=\"num\">%zu"
            "</td></tr>\n", ns->flagged);
    for (i = 0; i < ns->nn; i++) {
        fputs("<tr><th>節點 Node ", o);
        html_text(o, node_shown(ns->n[i]), p);
        fprintf(o, "</th><td class=\"num\">%" APR_UINT64_T_FMT "</td></tr>\n",
                ns->n[i]->ss.answered + ns->n[i]->ss.refused);
    }
    fputs("</table>\n<table>\n<caption>依狀態 By status / error code"
          "</caption>\n<thead><tr><th>狀態 Status</th><th>錯誤碼 Error</th>"
          "<th>筆數 Queries</th></tr></thead>\n<tbody>\n", o);
    fprintf(o, "<tr><td>200</td><td><span class=\"none\">answered</span>"
            "</td><td class=\"num\">%" APR_UINT64_T_FMT "</td></tr>\n",
            ns->answered);
    a = hash_sorted(ns->refusals, cmp_refusal, p);
    for (i = 0; i < a->nelts; i++) {
        const refusal_t *r = APR_ARRAY_IDX(a, i, const refusal_t *);
        fprintf(o, "<tr><td>%d</td><td>", r->status);
        html_text(o, r->error ? r->error : "-", p);
        fprintf(o, "</td><td class=\"num\">%" APR_UINT64_T_FMT "</td></tr>\n",
                r->n);
    }
    fputs("</tbody>\n</table>\n<table>\n<caption>依用戶端 By client system"
          "</caption>\n<thead><tr><th>用戶端 Client</th><th>查詢 Queries</th>"
          "<th>回覆 Answered</th><th>拒絕 Refused</th></tr></thead>\n"
          "<tbody>\n", o);
    a = hash_sorted(ns->clients, cmp_tally, p);
    for (i = 0; i < a->nelts; i++) {
        const tally_t *t = APR_ARRAY_IDX(a, i, const tally_t *);
        fputs("<tr><td>", o);
        if (!strcmp(t->key, TALLY_OTHER)) {
            fputs("<span class=\"none\">(other values)</span>", o);
        }
        else if (!*t->key) {
            fputs("<span class=\"none\">none (unknown_client)</span>", o);
        }
        else {
            html_text(o, t->key, p);
        }
        fprintf(o, "</td><td class=\"num\">%" APR_UINT64_T_FMT "</td>"
                "<td class=\"num\">%" APR_UINT64_T_FMT "</td><td class=\"num\">"
                "%" APR_UINT64_T_FMT "</td></tr>\n", t->n, t->answered,
                t->n - t->answered);
    }
    fputs("</tbody>\n</table>\n</div>\n", o);
}

static void sheet_signoff(nsheet_t *h)
{
    static const char *const roles[] = {
        "稽核人員 Auditor", "業務承辦人 Project officer", "單位主管 Unit head"
    };
    FILE *o = h->o;
    size_t i;

    fputs("<p class=\"intro\">Each node's service lines (starts, imports, "
          "checkpoints, recoveries) are on its own sheet: <code>" PROG
          " report --month M --verifier KEY DIR</code> for its directory."
          "</p>\n<section class=\"signoff\">\n<h2>簽核 Sign-off</h2>\n"
          "<table class=\"findings\"><tr><th>審核意見 Findings<br>"
          "(sampled lines, possible personal data)</th><td></td></tr>"
          "</table>\n<table class=\"sign\">\n<thead><tr><th>職稱 Role</th>"
          "<th>姓名 Name</th><th>日期 Date</th><th>簽名 Signature</th>"
          "</tr></thead>\n<tbody>\n", o);
    for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        fprintf(o, "<tr><th>%s</th><td></td><td></td><td></td></tr>\n",
                roles[i]);
    }
    fprintf(o, "</tbody>\n</table>\n<footer>%s: %" APR_UINT64_T_FMT
            " queries (%" APR_UINT64_T_FMT " answered) on %d nodes, every "
            "chain intact, every seed checkpoint verified. Generated %s. "
            "Every page is numbered (page N of M).</footer>\n</section>\n"
            "</body>\n</html>\n", h->a->month,
            h->ns->answered + h->ns->refused, h->ns->answered, h->ns->nn,
            h->now);
}

/* -- the command --------------------------------------------------------- */

static int open_out(nsheet_t *h, apr_pool_t *p)
{
    static const char *const head[NODES_CSV_COLS] = { CSV_HEAD, "node" };

    return sheet_files(h->a, &h->o, &h->csv, head, NODES_CSV_COLS, p);
}

int report_nodes(const audit_args_t *a, apr_pool_t *p)
{
    nsheet_t h;
    nodes_t *ns = apr_pcalloc(p, sizeof(*ns));
    int rc;

    if (!a->nkeys) {
        fprintf(stderr, PROG ": report of several nodes' directories needs "
                "--verifier, each node's key: their month is one population, "
                "whose seed is made from every node's verified checkpoint\n");
        return 2;
    }
    memset(&h, 0, sizeof(h));
    h.a = a;
    h.ns = ns;
    rc = nodes_build(ns, a, p);
    if (rc != 0) {
        fprintf(stderr, PROG ": no sheet made: a sheet of several nodes "
                "needs every node's chain intact and its seed checkpoint "
                "(`" PROG " report` on one node's directory shows that "
                "node's faults)\n");
        nodes_free(ns);
        return rc;
    }
    rc = open_out(&h, p);
    if (rc != 0) {
        if (h.o && h.o != stdout) {
            fclose(h.o);
        }
        nodes_free(ns);
        return rc;
    }
    notes_init(&h.notes, p);
    h.list_all = a->all || ns->answered + ns->refused <= NODES_LIST_MAX;
    verify_time_format_s(apr_time_now(), h.now);
    verify_date_format(verify_date_month_end(
        verify_date_parse_month(a->month, strlen(a->month))), h.last);
    sheet_head(&h, p);
    sheet_summary(&h, p);
    nsheet_flags(&h, p);
    if (nsheet_queries(&h, 0, p) != 0 || nsheet_queries(&h, 1, p) != 0) {
        rc = 1;
    }
    else {
        notes_print(h.o, &h.notes, p);
        sheet_signoff(&h);
    }
    nodes_free(ns);
    rc = csv_close(&h.csv) || rc;
    if (h.o == stdout) {
        return write_failed() || rc;
    }
    if (ferror(h.o) | fclose(h.o)) {
        fprintf(stderr, PROG ": cannot write %s: %s\n",
                safe_str(p, a->output), strerror(errno));
        rc = 1;
    }
    return rc;
}
