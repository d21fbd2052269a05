/*
 * cmd_report.c -- the printable monthly query record sheet (R5.1), HTML:
 * chain status, counts and every query of the month.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "month.h"
#include "print.h"

static const char report_css[] =
    "body{font-family:\"Noto Sans CJK TC\",\"Microsoft JhengHei\","
    "\"PingFang TC\",sans-serif;font-size:10pt;color:#000;margin:1.5em}\n"
    "h1{font-size:15pt;margin:0}\n"
    "h1 .en{display:block;font-size:11pt;font-weight:normal}\n"
    "h2{font-size:12pt;margin:1.4em 0 .4em;border-bottom:1px solid #000}\n"
    "table{border-collapse:collapse;margin:0 0 .6em}\n"
    "th,td{border:1px solid #999;padding:2px 5px;text-align:left;"
    "vertical-align:top}\n"
    "thead th,table.meta th,table.counts th{background:#eee}\n"
    "caption{text-align:left;font-weight:bold;padding:2px 0}\n"
    ".num{text-align:right}\n"
    ".none{color:#777}\n"
    ".ok{color:#060;font-weight:bold}\n"
    ".broken{color:#b00;font-weight:bold}\n"
    "tr.bad td{background:#fdd}\n"
    ".tallies{display:flex;flex-wrap:wrap;gap:0 2em}\n"
    "table.rows{width:100%}\n"
    "table.rows td{word-break:break-all}\n"
    "table.rows td.t{white-space:nowrap;word-break:normal}\n"
    "code,.mono{font-family:monospace}\n"
    "table.sign{width:100%;margin-top:1em}\n"
    "table.sign th{width:11em;background:none}\n"
    "table.sign td{height:2.4em}\n"
    "table.sign td.tall{height:5em}\n"
    "footer{margin-top:1em;font-size:8.5pt;color:#333}\n"
    "@page{size:A4 landscape;margin:12mm}\n"
    "@media print{body{margin:0;font-size:8pt}\n"
    "thead{display:table-header-group}\n"
    "tr{page-break-inside:avoid;break-inside:avoid}\n"
    "h2{page-break-after:avoid;break-after:avoid}\n"
    ".review{page-break-inside:avoid;break-inside:avoid}\n"
    "tr.bad td{background:#fdd;-webkit-print-color-adjust:exact;"
    "print-color-adjust:exact}}\n";

/* What the sheet is about besides the scan and the month. */
typedef struct sheet_t {
    FILE *o;
    const char *month;
    char last[11];              /* the month's last day */
    char now[26];               /* when the sheet was made */
    size_t k;                   /* the sample size */
    const char *rule;           /* how k was reached */
    const char *note;           /* the month is not over, or NULL */
    int broken;
} sheet_t;

/* A member for HTML; null or absent shows a grey dash. */
static void h_member(FILE *o, json_t *j, const char *key, apr_pool_t *p)
{
    size_t len = 0;
    const char *s = member_text(j, key, &len, p);

    html_or_dash(o, s, len, p);
}

/* A tally key as shown: "(other values)" for the lumped rest. */
static void h_key(FILE *o, const char *key, const char *empty,
                  apr_pool_t *p)
{
    if (!strcmp(key, TALLY_OTHER)) {
        fputs("<span class=\"none\">(other values)</span>", o);
    }
    else if (!*key) {
        fprintf(o, "<span class=\"none\">%s</span>", empty);
    }
    else {
        html_text(o, key, p);
    }
}

static int cmp_tally(const void *a, const void *b)
{
    const tally_t *x = *(const tally_t *const *)a;
    const tally_t *y = *(const tally_t *const *)b;

    return strcmp(x->key, y->key);
}

static void tally_by_status(FILE *o, const month_t *m, apr_pool_t *p)
{
    apr_array_header_t *a = hash_sorted(m->by_status, cmp_tally, p);
    int i;

    fputs("<table>\n<caption>依狀態 By status / error code</caption>\n"
          "<thead><tr><th>狀態 Status</th><th>錯誤碼 Error</th>"
          "<th>筆數 Queries</th></tr></thead>\n<tbody>\n", o);
    for (i = 0; i < a->nelts; i++) {
        const tally_t *t = APR_ARRAY_IDX(a, i, tally_t *);
        const char *sp = strchr(t->key, ' ');
        if (!sp) {      /* the lumped rest */
            fputs("<tr><td colspan=\"2\">", o);
            h_key(o, t->key, "", p);
        }
        else {
            fprintf(o, "<tr><td>%.*s</td><td>", (int)(sp - t->key),
                    t->key[0] == '0' ? t->key + 1 : t->key);
            if (sp[1]) {
                html_text(o, sp + 1, p);
            }
            else {
                fputs("<span class=\"none\">answered</span>", o);
            }
        }
        fprintf(o, "</td><td class=\"num\">%" APR_UINT64_T_FMT
                "</td></tr>\n", t->n);
    }
    fputs("</tbody>\n</table>\n", o);
}

/* What a tally table shows after its key and count. */
#define SHOW_ANSWERED 1         /* the answered */
#define SHOW_REFUSED 2          /* the refused */
#define SHOW_NONE 4             /* a "none" row when it is empty */

/* A table of one tally: @p head its caption, head row and <tbody>;
 * @p empty how a key "" shows. */
static void tally_table(FILE *o, const char *head, apr_hash_t *h,
                        const char *empty, int show, apr_pool_t *p)
{
    apr_array_header_t *a = hash_sorted(h, cmp_tally, p);
    int i;

    fputs(head, o);
    if (a->nelts == 0 && (show & SHOW_NONE)) {
        fputs("<tr><td colspan=\"2\"><span class=\"none\">none</span>"
              "</td></tr>\n", o);
    }
    for (i = 0; i < a->nelts; i++) {
        const tally_t *t = APR_ARRAY_IDX(a, i, tally_t *);
        fputs("<tr><td>", o);
        h_key(o, t->key, empty, p);
        fprintf(o, "</td><td class=\"num\">%" APR_UINT64_T_FMT "</td>",
                t->n);
        if (show & SHOW_ANSWERED) {
            fprintf(o, "<td class=\"num\">%" APR_UINT64_T_FMT "</td>",
                    t->answered);
        }
        if (show & SHOW_REFUSED) {
            fprintf(o, "<td class=\"num\">%" APR_UINT64_T_FMT "</td>",
                    t->n - t->answered);
        }
        fputs("</tr>\n", o);
    }
    fputs("</tbody>\n</table>\n", o);
}

/* The audit_recover lines of the month, each in a list item. */
static void recovers(FILE *o, const month_t *m, apr_pool_t *p)
{
    int i;

    if (!m->recovers->nelts) {
        return;
    }
    fputs("<p>audit_recover (a writer died inside the chain step; "
          "see the audit guide \xc2\xa7" "4):</p>\n<ul>\n", o);
    for (i = 0; i < m->recovers->nelts; i++) {
        json_t *j = APR_ARRAY_IDX(m->recovers, i, json_t *);
        fputs("<li>seq ", o);
        h_member(o, j, "seq", p);
        fputs(", ", o);
        h_member(o, j, "ts", p);
        fputs(": ", o);
        h_member(o, j, "detail", p);
        fputs("</li>\n", o);
    }
    fputs("</ul>\n", o);
}

static void report_tallies(FILE *o, const month_t *m, apr_pool_t *p)
{
    fputs("<div class=\"tallies\">\n", o);
    tally_by_status(o, m, p);
    tally_table(o, "<table>\n<caption>依用戶端 By client system</caption>\n"
                "<thead><tr><th>用戶端 Client</th><th>查詢 Queries</th>"
                "<th>回覆 Answered</th><th>拒絕 Refused</th></tr></thead>\n"
                "<tbody>\n", m->by_client, "none (unknown_client)",
                SHOW_ANSWERED | SHOW_REFUSED, p);
    tally_table(o, "<table>\n<caption>依查詢項目 By check</caption>\n"
                "<thead><tr><th>查詢項目 Check</th><th>查詢 Asked</th>"
                "<th>回覆 Answered</th></tr></thead>\n<tbody>\n",
                m->by_check, "(empty)", SHOW_ANSWERED, p);
    tally_table(o, "<table>\n<caption>系統事件 Service lines (not queries)"
                "</caption>\n<thead><tr><th>op</th><th>筆數 Lines</th></tr>"
                "</thead>\n<tbody>\n", m->by_service, "", SHOW_NONE, p);
    fputs("</div>\n", o);
    recovers(o, m, p);
}

/* One line of the file list: "PATH: 12 line(s), seq 1..12". */
static void report_file(FILE *o, const verify_scan_file_t *sf,
                        apr_pool_t *p)
{
    fputs("<li><span class=\"mono\">", o);
    html_text(o, sf->path, p);
    fputs("</span>: ", o);
    if (!sf->lines) {
        fputs("empty", o);
    }
    else {
        fprintf(o, "%" APR_UINT64_T_FMT " line(s), seq %" APR_UINT64_T_FMT
                "..%" APR_UINT64_T_FMT, sf->lines, sf->first_seq,
                sf->last_seq);
    }
    fputs("</li>", o);
}

/* Files @p a to @p b (without lines of the month), in one line. */
static void report_file_run(FILE *o, const verify_scan_t *s, int a, int b,
                            const char *what, apr_pool_t *p)
{
    const verify_scan_file_t *x = &s->files[a], *y = &s->files[b];

    if (a == b) {
        report_file(o, x, p);
        return;
    }
    fprintf(o, "<li>%d %s files, <span class=\"mono\">", b - a + 1, what);
    html_text(o, x->path, p);
    fputs("</span> to <span class=\"mono\">", o);
    html_text(o, y->path, p);
    fprintf(o, "</span>: seq %" APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT
            "</li>", x->first_seq, y->last_seq);
}

/* The files read: those with lines of the month one by one, the ones
 * before and after them in a line each. */
static void report_files(FILE *o, const verify_scan_t *s, const month_t *m,
                         apr_pool_t *p)
{
    int f, first = -1, last = -1, nfiles = s->paths->nelts;

    for (f = 0; f < nfiles; f++) {
        if (m->file_lines[f]) {
            last = f;
            if (first < 0) {
                first = f;
            }
        }
    }
    fputs("<ul>", o);
    if (first < 0) {
        report_file_run(o, s, 0, nfiles - 1, "audit", p);
        fputs("</ul>None holds a line of the month.", o);
        return;
    }
    if (first > 0) {
        report_file_run(o, s, 0, first - 1, "earlier", p);
    }
    for (f = first; f <= last; f++) {
        report_file(o, &s->files[f], p);
    }
    if (last < nfiles - 1) {
        report_file_run(o, s, last + 1, nfiles - 1, "later", p);
    }
    fputs("</ul>", o);
}

/* The chain cell of an intact chain. */
static void chain_intact(FILE *o, const verify_scan_t *s, const month_t *m)
{
    char hex[65];

    verify_hex(s->chain.hash, 32, hex);
    fprintf(o, "<td><span class=\"ok\">完整 Intact</span>: every line "
            "of seq %" APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT
            " checked (hash, prev link, seq)%s.<br>Head: seq %"
            APR_UINT64_T_FMT " <span class=\"mono\">%s</span>",
            s->first_seq, s->chain.seq, s->first_seq == 1 ? ""
            : "; the chain starts at that seq (earlier files not "
              "given)", s->chain.seq, hex);
    if (m->end.seq) {
        verify_hex(m->end.hash, 32, hex);
        fprintf(o, "<br>End of the month: seq %" APR_UINT64_T_FMT
                " <span class=\"mono\">%s</span>", m->end.seq, hex);
    }
    if (s->recovers) {
        fprintf(o, "<br>%" APR_UINT64_T_FMT " recovery note(s) "
                "(audit_recover lines)", s->recovers);
    }
    fputs("</td>", o);
}

/* The chain cell of a broken chain: the faults found. */
static void chain_broken(FILE *o, const verify_scan_t *s, apr_pool_t *p)
{
    int i;

    fprintf(o, "<td><span class=\"broken\">已破損 BROKEN</span>: %"
            APR_UINT64_T_FMT " line(s) fail the chain check. The first:"
            "<br><span class=\"mono\">", s->faults);
    html_text(o, s->fault, p);
    fputs("</span>", o);
    if (s->faults > 1) {
        fputs("<br>All found", o);
        if (s->faults > VERIFY_SCAN_FAULTS_LISTED) {
            fprintf(o, " (the first %d)", VERIFY_SCAN_FAULTS_LISTED);
        }
        fputs(":<ul>", o);
        for (i = 0; i < s->fault_list->nelts; i++) {
            fputs("<li class=\"mono\">", o);
            html_text(o, APR_ARRAY_IDX(s->fault_list, i, const char *), p);
            fputs("</li>", o);
        }
        fputs("</ul>", o);
    }
    else {
        fputs("<br>", o);
    }
    fputs("Rows marked \xe2\x9a\xa0 below are such lines. Keep a copy of the "
          "files and investigate (R5.2); <code>" PROG " verify</code> "
          "names the first bad line.</td>", o);
}

static void report_chain(FILE *o, const verify_scan_t *s, const month_t *m,
                         apr_pool_t *p)
{
    if (s->lines == 0) {
        fputs("<td><span class=\"none\">no audit lines</span></td>", o);
    }
    else if (!s->faults) {
        chain_intact(o, s, m);
    }
    else {
        chain_broken(o, s, p);
    }
}

/* The page head, the title and the table of what the sheet covers. */
static void sheet_head(const sheet_t *h, const verify_scan_t *s,
                       const month_t *m, apr_pool_t *p)
{
    FILE *o = h->o;

    fprintf(o, "<!DOCTYPE html>\n<html lang=\"zh-Hant\">\n<head>\n"
            "<meta charset=\"utf-8\">\n"
            "<meta name=\"generator\" content=\"" PROG " report\">\n"
            "<title>查詢紀錄表 Query record sheet %s</title>\n"
            "<style>\n%s</style>\n</head>\n<body>\n", h->month, report_css);
    fprintf(o, "<header>\n<h1>驗證機制平臺 查詢紀錄表 %s "
            "<span class=\"en\">Verification platform: monthly query "
            "record sheet, %s</span></h1>\n"
            "<p>依管理規定 R5.1 每月列印供稽核 (printed monthly for the "
            "auditors, R5.1).</p>\n</header>\n", h->month, h->month);

    fputs("<table class=\"meta\">\n", o);
    fprintf(o, "<tr><th>月份 Month</th><td>%s, 臺北時間 Taipei time "
            "(%s-01 00:00 to %s 24:00, +08:00)", h->month, h->month,
            h->last);
    if (h->note) {
        fputs("<br>", o);
        html_text(o, h->note, p);
    }
    fputs("</td></tr>\n", o);
    fprintf(o, "<tr><th>製表時間 Generated</th><td>%s by <code>" PROG
            " report</code></td></tr>\n", h->now);
    fputs("<tr><th>稽核檔案 Audit files</th><td>", o);
    report_files(o, s, m, p);
    fputs("</td></tr>\n<tr><th>雜湊鏈 Hash chain</th>", o);
    report_chain(o, s, m, p);
    fputs("</tr>\n</table>\n", o);
}

/* The counts of the month. */
static void sheet_summary(const sheet_t *h, const month_t *m, apr_pool_t *p)
{
    FILE *o = h->o;

    fputs("<h2>統計 Summary</h2>\n<table class=\"counts\">\n", o);
    fprintf(o, "<tr><th>查詢筆數 Queries</th><td class=\"num\">%zu</td>"
            "</tr>\n", m->n);
    fprintf(o, "<tr><th>已回覆 Answered (200)</th><td class=\"num\">%"
            APR_UINT64_T_FMT "</td></tr>\n", m->answered);
    fprintf(o, "<tr><th>拒絕 Refused</th><td class=\"num\">%"
            APR_UINT64_T_FMT "</td></tr>\n", (uint64_t)m->n - m->answered);
    fprintf(o, "<tr><th>應抽核 To sample (R5.1)</th><td class=\"num\">%zu"
            "</td></tr>\n", h->k);
    if (m->bad) {
        fprintf(o, "<tr><th>鏈檢查失敗 Failing the chain check</th>"
                "<td class=\"num broken\">%" APR_UINT64_T_FMT "</td></tr>\n",
                m->bad);
    }
    fputs("</table>\n", o);
    if (m->n) {
        report_tallies(o, m, p);
    }
}

/* One query as a table row. */
static void query_row(FILE *o, json_t *j, const qline_t *q, apr_pool_t *p)
{
    static const char *const keys[] = {
        "client", "operator", "case", "reason"
    };
    const char *t, *c, *subj;
    size_t k;

    fprintf(o, "<tr%s><td class=\"num t\">%s%" APR_UINT64_T_FMT
            "</td><td class=\"t\">", q->bad ? " class=\"bad\"" : "",
            q->bad ? "\xe2\x9a\xa0 " : "", q->seq);
    t = line_ts(j, p);
    if (t) {
        html_text(o, t, p);
    }
    for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        fputs("</td><td>", o);
        h_member(o, j, keys[k], p);
    }
    fputs("</td><td>", o);
    c = checks_text(j, p);
    html_or_dash(o, c, c ? strlen(c) : 0, p);
    fputs("</td><td class=\"mono t\">", o);
    subj = safe_subject(j, p);
    html_or_dash(o, subj, subj ? strlen(subj) : 0, p);
    fputs("</td><td>", o);
    html_text(o, status_text(j, p), p);
    fputs("</td><td class=\"mono\">", o);
    h_member(o, j, "request_id", p);
    fputs("</td></tr>\n", o);
}

/* Every query of the month, read again. @return 0, or -1 when a line
 * changed since the scan. */
static int sheet_queries(const sheet_t *h, const month_t *m, reader_t *r,
                         apr_pool_t *p)
{
    FILE *o = h->o;
    apr_pool_t *rp;
    size_t i;

    fprintf(o, "<h2>查詢明細 Queries of %s (%zu)</h2>\n", h->month, m->n);
    if (m->n == 0) {
        fprintf(o, "<p>本月無查詢 No queries in %s.</p>\n", h->month);
        return 0;
    }
    fputs("<table class=\"rows\">\n<thead><tr><th>序號<br>seq</th>"
          "<th>日期時間<br>Date/time</th><th>用戶端<br>Client</th>"
          "<th>操作人員<br>Operator</th><th>案號<br>Case</th>"
          "<th>查詢事由<br>Reason</th><th>查詢項目<br>Checks</th>"
          "<th>查詢對象<br>Subject (masked)</th>"
          "<th>狀態<br>Status / error</th><th>request_id</th>"
          "</tr></thead>\n<tbody>\n", o);
    apr_pool_create(&rp, p);
    for (i = 0; i < m->n; i++) {
        json_t *j = reread(r, &m->q[i]);
        if (!j) {
            return -1;
        }
        apr_pool_clear(rp);
        query_row(o, j, &m->q[i], rp);
        json_decref(j);
    }
    fputs("</tbody>\n</table>\n", o);
    return 0;
}

/* The review box for the auditors, and the footer. */
static void sheet_review(const sheet_t *h, const verify_scan_t *s,
                         const month_t *m, const char *file_args,
                         apr_pool_t *p)
{
    FILE *o = h->o;

    fputs("<div class=\"review\">\n<h2>審核 Review</h2>\n"
          "<table class=\"sign\">\n"
          "<tr><th>抽樣種子 Sample seed</th><td colspan=\"3\"></td></tr>\n"
          "<tr><th>審核意見 Findings</th><td colspan=\"3\" class=\"tall\">"
          "</td></tr>\n"
          "<tr><th>審核人 Auditor</th><td></td>"
          "<th>日期 Date</th><td></td></tr>\n</table>\n", o);
    fprintf(o, "<p>Sampled per R5.1 (依 R5.1 抽核): run <code>" PROG
            " sample --month %s ", h->month);
    html_text(o, file_args, p);
    fprintf(o, "</code>: at least 3 %% of the month's queries, never fewer "
            "than 10, all of them if fewer than 10; for %s: %zu of %zu "
            "(%s). Record the seed it prints.</p>\n</div>\n", h->month,
            h->k, m->n, h->rule);
    fprintf(o, "<footer>%s: %zu queries, chain %s. Generated %s.</footer>\n"
            "</body>\n</html>\n", h->month, m->n, s->lines == 0 ? "empty"
            : h->broken ? "BROKEN" : "intact", h->now);
}

int cmd_report(const audit_args_t *a, apr_pool_t *p)
{
    verify_scan_t s;
    sheet_t h;
    reader_t r;
    month_t m;
    int rc = 1;

    memset(&m, 0, sizeof(m));
    memset(&h, 0, sizeof(h));
    reader_init(&r, a->files, p);
    m.summary = 1;
    h.o = stdout;
    h.month = a->month;
    verify_date_format(verify_date_month_end(
        verify_date_parse_month(a->month, strlen(a->month))), h.last);
    h.broken = month_scan(&s, &m, a, 1, p);
    if (h.broken < 0) {
        goto cleanup;
    }
    h.k = verify_sample_size(m.n);
    h.rule = verify_sample_rule(m.n);
    h.note = month_note(a->month, p);
    verify_time_format_s(apr_time_now(), h.now);

    sheet_head(&h, &s, &m, p);
    sheet_summary(&h, &m, p);
    if (sheet_queries(&h, &m, &r, p) != 0) {
        goto cleanup;
    }
    sheet_review(&h, &s, &m, a->file_args, p);
    if (write_failed()) {
        goto cleanup;
    }
    rc = 0;
    if (h.broken) {
        fprintf(stderr, PROG ": the audit chain is BROKEN (the report says "
                "so): %s\n", safe_str(p, s.fault));
        rc = 1;
    }

cleanup:
    reader_close(&r);
    month_free(&m);
    return rc;
}
