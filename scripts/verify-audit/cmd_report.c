/*
 * cmd_report.c -- the monthly query record sheet (R5.1) that a
 * supervisor signs: HTML for A4, with the chain and checkpoint status,
 * the sample marked, the answered queries apart from the refusals, the
 * month's service events and three signature lines; the same rows as
 * CSV. See sheet.h for its parts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "env_threads.h"
#include "month.h"
#include "print.h"
#include "sheet.h"

/* Columns (of the rows' monospace font) a cell is cut to. */
#define COLS_CLIENT 12
#define COLS_OPERATOR 12
#define COLS_CASE 16
#define COLS_REASON_ANSWERED 50
#define COLS_REASON_REFUSED 24
#define COLS_CHECKS 20
#define COLS_ERROR 26
#define COLS_RID 24

/* Queries a sheet lists one by one: about 230 pages. A larger month
 * (a national platform's) lists its sample, and --all every query. */
#define LIST_MAX 10000

/* The style: A4 landscape; tables of rows in one line each, a fixed
 * line height (a CJK fallback font cannot make a row taller), so a page
 * holds about 45 rows; identifiers and hashes never wrap. Fonts that
 * Debian ships (fonts-dejavu, fonts-wqy-zenhei) first, then those of
 * the office's machines. */
const char report_css[] =
    "body{font-family:\"DejaVu Sans\",\"WenQuanYi Zen Hei\",\"Noto Sans CJK "
    "TC\",\"Microsoft JhengHei\",\"PingFang TC\",sans-serif;font-size:9pt;"
    "color:#000;margin:1.5em}\n"
    ".mono,.h,.id,.rid,code,table.rows,table.notes{font-family:"
    "\"DejaVu Sans Mono\",\"WenQuanYi Zen Hei Mono\",\"Noto Sans Mono CJK "
    "TC\",\"MingLiU\",monospace}\n"
    ".h,.id,.rid,.nw,code{white-space:nowrap}\n"
    "h1{font-size:14pt;margin:0}\n"
    "h1 .en{display:block;font-size:10pt;font-weight:normal}\n"
    "h2{font-size:10.5pt;margin:1em 0 .3em;border-bottom:1px solid #000}\n"
    "p{margin:.3em 0}\n"
    "table{border-collapse:collapse;margin:0 0 .5em}\n"
    "th,td{border:.5pt solid #888;padding:1px 4px;text-align:left;"
    "vertical-align:top}\n"
    "thead th,table.meta th,table.counts th{background:#eee}\n"
    "caption{text-align:left;font-weight:bold;padding:1px 0}\n"
    ".num{text-align:right}\n"
    ".none{color:#777}\n"
    ".ok{color:#060;font-weight:bold}\n"
    ".broken{color:#b00;font-weight:bold}\n"
    "table.meta{width:100%}\n"
    "table.meta th{width:9em;white-space:nowrap}\n"
    "ul.files{margin:0;padding-left:1.2em;columns:2;column-gap:2em;"
    "font-size:8pt}\n"
    ".tallies{display:flex;flex-wrap:wrap;gap:0 1.5em;"
    "align-items:flex-start}\n"
    "code.cmd{white-space:normal}\n"
    ".tallies table{font-size:8pt}\n"
    "table.rows{width:100%;table-layout:fixed;font-size:7pt;"
    "line-height:8.4pt}\n"
    "table.rows th,table.rows td{white-space:nowrap;overflow:hidden;"
    "padding:.4mm .7mm}\n"
    "table.rows thead th{font-family:\"DejaVu Sans Condensed\",\"DejaVu "
    "Sans\",\"WenQuanYi Zen Hei\",sans-serif;font-weight:normal}\n"
    "col.c-mk{width:2.6ch}col.c-seq{width:9ch}col.c-t{width:12.5ch}\n"
    "col.c-cl{width:13.5ch}col.c-op{width:13.5ch}col.c-case{width:17.5ch}\n"
    "col.c-ck{width:21.5ch}col.c-sub{width:11.5ch}col.c-err{width:27.5ch}\n"
    "col.c-rid{width:25.5ch}col.c-evop{width:15ch}\n"
    "sup{font-size:5.5pt;line-height:0;vertical-align:baseline}\n"
    "sup.pd{color:#b00;font-weight:bold}\n"
    "tr.s td{background:#e8e8e8;font-weight:bold}\n"
    "tr.bad td{background:#fdd}\n"
    ".k{font-weight:bold}\n"
    "table.notes{width:100%;font-size:7pt}\n"
    "table.notes td.n{white-space:nowrap;width:1%}\n"
    "table.notes td.wrap{white-space:normal;overflow-wrap:break-word}\n"
    ".intro{font-size:8pt}\n"
    ".signoff{break-inside:avoid;page-break-inside:avoid}\n"
    "table.sign{width:100%;margin-top:.6em}\n"
    "table.sign th{width:14em;white-space:nowrap}\n"
    "table.sign td{height:13mm}\n"
    "table.findings{width:100%}\n"
    "table.findings th{width:14em}\n"
    "table.findings td{height:22mm}\n"
    "footer{margin-top:.6em;font-size:7.5pt;color:#333}\n"
    "@media print{body{margin:0}\n"
    "thead{display:table-header-group}\n"
    "tr{break-inside:avoid;page-break-inside:avoid}\n"
    "h2{break-after:avoid;page-break-after:avoid}\n"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

/* What the sheet is about besides the scan and the month. */
typedef struct sheet_t {
    FILE *o;                    /* the HTML */
    csv_t csv;                  /* the CSV, when asked (csv.f) */
    const audit_args_t *a;
    const char *month;
    char last[11];              /* the month's last day */
    char now[26];               /* when the sheet was made */
    const char *note;           /* the month is not over, or NULL */
    int broken;                 /* the chain: 1 broken */
    int cp_failed;              /* a checkpoint failed its check */
    int nkeys;                  /* --verifier keys */
    uint64_t last_signed;       /* seq of the month's last line that a
                                   checkpoint must cover: not itself a
                                   checkpoint line */
    apr_array_header_t *answered;   /* char per query: answered */
    sheet_cp_t cp;
    draw_t draw;
    sheet_flags_t flags;
    audit_walk_t walk;          /* every line a leaf: the roots to check
                                   the checkpoints against (--verifier) */
    char *buf;                  /* a member of the line being read */
    int list_all;               /* list every query (else the sample) */
    sheet_events_t ev;
    sheet_notes_t notes;
    apr_pool_t *p;
} sheet_t;

/* -- what the scan collects --------------------------------------------- */

/* Every line of the scan, after month.c counted it: a query indexed in
 * place (l->flat), any other line parsed (l->j). */
static int sheet_seen(month_t *m, const month_seen_t *l)
{
    sheet_t *h = m->each_ctx;
    const char *rid = NULL;
    size_t rlen = 0;
    int64_t st = 0, seq = 0, item;

    /* the line's leaf is added to h->walk by month.c (m->walk); the
     * flags count the query on the hashing thread when there is one */
    sheet_flags_line(&h->flags, l, m->ahead);
    if (l->q) {
        verify_flat_int(l->flat, "status", &st);
        if (st == 200) {
            rid = verify_flat_str(l->flat, "request_id", h->buf,
                                  VERIFY_AUDIT_LINE_MAX, &rlen);
        }
        draw_query(&h->draw, (size_t)(l->q - m->q), rid, rlen,
                   verify_flat_int(l->flat, "item", &item) == 0 ? item : -1);
        APR_ARRAY_PUSH(h->answered, char) = (char)(st == 200);
        if (l->in_month && verify_flat_int(l->flat, "seq", &seq) == 0) {
            h->last_signed = (uint64_t)seq;
        }
    }
    else if (events_line(&h->ev, l, h->p) != 0) {
        return -1;
    }
    if (l->j) {
        const char *op = jstr(l->j, "op");
        json_t *jseq = json_object_get(l->j, "seq");
        if (l->in_month && json_is_integer(jseq)
            && (!op || strcmp(op, "checkpoint"))) {
            h->last_signed = (uint64_t)json_integer_value(jseq);
        }
        sheet_cp_line(&h->cp, l->j, l->bad, m->end.seq, h->month);
    }
    return 0;
}

/* -- the counts (as before: by status, client, check, service) ---------- */

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

static void report_tallies(FILE *o, const month_t *m, apr_pool_t *p)
{
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
}

/* -- the head: files, chain, checkpoints, sample ------------------------ */

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
    fputs("<ul class=\"files\">", o);
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
static void chain_intact(sheet_t *h, const verify_scan_t *s,
                         const month_t *m)
{
    FILE *o = h->o;
    char hex[65];

    verify_hex(s->chain.hash, 32, hex);
    fprintf(o, "<td><span class=\"ok\">完整 Intact</span>: every line "
            "of seq %" APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT
            " checked (hash, prev link, seq)%s.<br>Head: seq %"
            APR_UINT64_T_FMT " ", s->first_seq, s->chain.seq,
            s->first_seq == 1 ? "" : "; the chain starts at that seq "
            "(earlier files not given)", s->chain.seq);
    sheet_hash(o, &h->notes, hex);
    if (m->end.seq) {
        verify_hex(m->end.hash, 32, hex);
        fprintf(o, "; end of the month: seq %" APR_UINT64_T_FMT " ",
                m->end.seq);
        sheet_hash(o, &h->notes, hex);
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

/* A checkpoint as one line of the head: which, and what its check
 * found. */
static void checkpoint_line(sheet_t *h, const char *what, const cpline_t *c,
                            uint64_t end, apr_pool_t *p)
{
    FILE *o = h->o;

    fprintf(o, "<br>%s: line seq %" APR_UINT64_T_FMT ", size %"
            APR_UINT64_T_FMT, what, c->seq, c->size);
    if (c->reason) {
        fputs(" (", o);
        html_text(o, c->reason, p);
        fputs(")", o);
    }
    if (c->made || c->ts) {
        fputs(", made ", o);
        html_text(o, c->made ? c->made : c->ts, p);
    }
    fputs(", root ", o);
    if (c->root && is_hash_text(c->root, strlen(c->root))) {
        sheet_hash(o, &h->notes, c->root);
    }
    else {
        fputs("<span class=\"broken\">(none)</span>", o);
    }
    if (end && c->size >= end) {
        fprintf(o, "; covers every line of the month (the last but "
                "checkpoint lines: seq %" APR_UINT64_T_FMT ")", end);
    }
    else if (end) {
        fprintf(o, "; <span class=\"broken\">lines %" APR_UINT64_T_FMT
                "..%" APR_UINT64_T_FMT " of the month are not covered by a "
                "signed checkpoint yet</span>", c->size + 1, end);
    }
    if (c->checked > 0) {
        fputs(". <span class=\"ok\">\xe2\x9c\x94 驗證通過 Verified</span>: "
              "signed by <span class=\"nw\">", o);
        html_text(o, c->signer, p);
        fputs("</span>", o);
        if (c->root_note) {
            fputs("; ", o);
            html_text(o, c->root_note, p);
        }
        else {
            fprintf(o, "; its root is the root of the log's first %"
                    APR_UINT64_T_FMT " lines as they are now", c->size);
        }
    }
    else if (c->checked < 0) {
        fputs(". <span class=\"broken\">\xe2\x9c\x98 驗證失敗 FAILED</span>: ",
              o);
        html_text(o, c->fault, p);
    }
    else {
        fputs(". <span class=\"broken\">checkpoints not checked</span>", o);
    }
}

/* The checkpoints cell. */
static void report_checkpoints(sheet_t *h, const month_t *m, apr_pool_t *p)
{
    FILE *o = h->o;
    const cpline_t *n = h->cp.newest, *s = h->cp.seed;

    fprintf(o, "<td>%" APR_UINT64_T_FMT " checkpoint line(s) in the files "
            "given. ", h->cp.lines);
    if (!h->nkeys) {
        fputs("<span class=\"broken\">Checkpoints not checked</span>: give "
              "<code>--verifier KEY</code> (the key <code>" PROG
              " pubkey</code> prints, from the Office's register of keys) "
              "to check their signatures against the log.", o);
    }
    else {
        fprintf(o, "Checked with %d verifier key(s).", h->nkeys);
    }
    if (!n) {
        fputs("<br><span class=\"broken\">No signed checkpoint in the files "
              "given</span> (VerifyCheckpointKey not set, or the files end "
              "before the first): nothing outside this machine vouches for "
              "the month's lines.", o);
    }
    else {
        checkpoint_line(h, "Newest", n, h->last_signed, p);
        if (s && s->seq != n->seq) {
            checkpoint_line(h, "Seed of the sample (the first made after "
                            "the month ended)", s, h->last_signed, p);
        }
        else if (s) {
            fputs("<br>It is also the seed of the sample (the first made "
                  "after the month ended).", o);
        }
    }
    fputs("</td>", o);
}

/* The sample cell. */
static void report_sample(sheet_t *h, const month_t *m, apr_pool_t *p)
{
    FILE *o = h->o;
    const draw_t *d = &h->draw;

    fprintf(o, "<td>R5.1: at least 3 %% of the month's queries, never "
            "fewer than 10, all of them if fewer than 10: <strong>%zu of %zu"
            "</strong> (%s). ", d->k, d->population, d->rule);
    if (!d->seed_hex) {
        fputs("<span class=\"broken\">", o);
        html_text(o, d->why_none, p);
        fputs("</span>.", o);
    }
    else {
        fprintf(o, "Marked \xe2\x98\x85 in the tables below. Seed: the root "
                "of the checkpoint of line seq %" APR_UINT64_T_FMT " (size %"
                APR_UINT64_T_FMT "), ", d->from->seq, d->from->size);
        sheet_hash(o, &h->notes, d->seed_hex);
        fputs(d->from->checked > 0 ? " (signature verified)"
              : d->from->checked < 0 ? " <span class=\"broken\">(its "
                "checkpoint FAILED the check: do not rely on this "
                "sample)</span>" : " (not checked: no --verifier)", o);
        fputs(". The same sample: <code class=\"cmd\">", o);
        html_text(o, draw_command(d, h->a, p), p);
        fputs("</code>", o);
    }
    fputs("</td>", o);
}

/* The page head, the title and the table of what the sheet covers. */
static void sheet_head(sheet_t *h, const verify_scan_t *s,
                       const month_t *m, apr_pool_t *p)
{
    FILE *o = h->o;

    fprintf(o, "<!DOCTYPE html>\n<html lang=\"zh-Hant\">\n<head>\n"
            "<meta charset=\"utf-8\">\n"
            "<meta name=\"generator\" content=\"" PROG " report\">\n"
            "<title>查詢紀錄表 Query record sheet %s</title>\n"
            "<style>\n%s"
            "@page{size:A4 landscape;margin:10mm 10mm 12mm;\n"
            "@bottom-left{content:\"查詢紀錄表 Query record sheet %s\";"
            "font:7pt sans-serif}\n"
            "@bottom-right{content:\"第 \" counter(page) \" / \" "
            "counter(pages) \" 頁 page \" counter(page) \" of \" "
            "counter(pages);font:7pt sans-serif}}\n"
            "</style>\n</head>\n<body>\n", h->month, report_css, h->month);
    fprintf(o, "<header>\n<h1>驗證機制平臺 查詢紀錄表 %s "
            "<span class=\"en\">Verification platform: monthly query "
            "record sheet, %s</span></h1>\n"
            "<p>依管理規定 R5.1 每月列印供稽核，並由稽核人員、業務承辦人及單位"
            "主管簽核 (printed monthly for the auditors, R5.1, and signed "
            "at the end).</p>\n</header>\n", h->month, h->month);

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
    if (s->lines == 0) {
        fputs("<td><span class=\"none\">no audit lines</span></td>", o);
    }
    else if (!s->faults) {
        chain_intact(h, s, m);
    }
    else {
        chain_broken(o, s, p);
    }
    fputs("</tr>\n<tr><th>簽章查核點 Signed checkpoints</th>", o);
    report_checkpoints(h, m, p);
    fputs("</tr>\n<tr><th>抽樣 Sample (R5.1)</th>", o);
    report_sample(h, m, p);
    fputs("</tr>\n</table>\n", o);
}

/* The counts of the month. */
static void sheet_summary(sheet_t *h, const month_t *m, apr_pool_t *p)
{
    FILE *o = h->o;

    fputs("<h2>統計 Summary</h2>\n<div class=\"tallies\">\n"
          "<table class=\"counts\">\n", o);
    fprintf(o, "<tr><th>查詢筆數 Queries</th><td class=\"num\">%zu</td>"
            "</tr>\n", m->n);
    fprintf(o, "<tr><th>已回覆 Answered (200)</th><td class=\"num\">%"
            APR_UINT64_T_FMT "</td></tr>\n", m->answered);
    fprintf(o, "<tr><th>拒絕 Refused</th><td class=\"num\">%"
            APR_UINT64_T_FMT "</td></tr>\n", (uint64_t)m->n - m->answered);
    fprintf(o, "<tr><th>應抽核 To sample (R5.1)</th><td class=\"num\">%zu"
            "</td></tr>\n", h->draw.k);
    fprintf(o, "<tr><th>異常標記 Flagged (R5.2)</th><td class=\"num\">%zu"
            "</td></tr>\n", h->flags.lines);
    fprintf(o, "<tr><th>系統事件 Service events</th><td class=\"num\">%"
            APR_UINT64_T_FMT "</td></tr>\n",
            (uint64_t)h->ev.lines->nelts + h->ev.interval);
    if (m->bad) {
        fprintf(o, "<tr><th>鏈檢查失敗 Failing the chain check</th>"
                "<td class=\"num broken\">%" APR_UINT64_T_FMT "</td></tr>\n",
                m->bad);
    }
    fputs("</table>\n", o);
    if (m->n) {
        report_tallies(o, m, p);
    }
    fputs("</div>\n", o);
}

/* -- the queries -------------------------------------------------------- */

/* The CSV row of a query. */
static void csv_query(sheet_t *h, json_t *j, const qline_t *q,
                      const char *sampled,
                      const char *const *text, const char *flags,
                      apr_pool_t *p)
{
    const char *cells[CSV_COLS];
    json_t *st = json_object_get(j, "status");
    size_t len;
    int c;

    cells[0] = answered_line(j) ? "answered" : "refused";
    cells[1] = sampled;         /* "yes" drawn, "flagged", or NULL */
    cells[2] = apr_psprintf(p, "%" APR_UINT64_T_FMT, q->seq);
    cells[3] = jstr(j, "ts");
    cells[4] = text[0];         /* client */
    cells[5] = text[1];         /* operator */
    cells[6] = text[2];         /* case */
    cells[7] = text[3];         /* reason */
    cells[8] = checks_text(j, p);
    cells[9] = safe_subject(j, p);
    cells[10] = json_is_integer(st) ? apr_psprintf(
        p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(st)) : NULL;
    cells[11] = jstr(j, "error");
    cells[12] = member_text(j, "request_id", &len, p);
    cells[13] = flags;
    cells[14] = jstr(j, "op");
    cells[15] = NULL;
    for (c = 0; c < CSV_COLS; c++) {
        csv_cell(&h->csv, cells[c], cells[c] ? strlen(cells[c]) : 0, p);
    }
    csv_end_row(&h->csv);
}

/* One query as a table row (and a CSV row). */
static void query_row(sheet_t *h, json_t *j, const qline_t *q, int sampled,
                      int refused, apr_pool_t *p)
{
    static const struct {
        const char *key;
        int cols, mask;
    } texts[] = {
        { "client", COLS_CLIENT, 0 },
        { "operator", COLS_OPERATOR, 1 },
        { "case", COLS_CASE, 1 },
        { "reason", 0, 1 },
    };
    FILE *o = h->o;
    const char *shown[4], *c, *flags = NULL, *rid, *why;
    size_t k, len, rid_len;
    int flagged;
    unsigned found;
    cell_src_t src;

    rid = member_text(j, "request_id", &rid_len, p);
    src.seq = q->seq;
    src.rid = rid;
    /* drawn at random: a star; joined by a flag alone: the flag */
    flagged = sheet_flags_has(&h->flags, q->seq);
    fprintf(o, "<tr%s><td>%s</td><td class=\"num\">%" APR_UINT64_T_FMT
            "</td><td>%s", q->bad ? " class=\"bad\"" : sampled || flagged
            ? " class=\"s\"" : "", q->bad ? "\xe2\x9a\xa0"
            : sampled ? "\xe2\x98\x85" : flagged ? "\xe2\x9a\x91" : "",
            q->seq, day_time(jstr(j, "ts"), p));
    for (k = 0; k < 4; k++) {
        const char *s = member_text(j, texts[k].key, &len, p);
        int cols = texts[k].cols ? texts[k].cols : refused
                   ? COLS_REASON_REFUSED : COLS_REASON_ANSWERED;
        src.field = texts[k].key;
        fputs("</td><td>", o);
        shown[k] = sheet_text(o, &h->notes, s, len, cols, texts[k].mask,
                              &src, &found, p);
        if (found) {
            flags = apr_psprintf(p, "%s%spossible personal data: %s (%s)",
                                 flags ? flags : "", flags ? "; " : "",
                                 texts[k].key, verify_pii_kind_name(found));
        }
    }
    fputs("</td><td>", o);
    c = checks_text(j, p);
    src.field = "checks";
    sheet_text(o, &h->notes, c, c ? strlen(c) : 0, COLS_CHECKS, 0, &src,
               NULL, p);
    fputs("</td><td class=\"id\">", o);
    c = safe_subject(j, p);
    html_or_dash(o, c, c ? strlen(c) : 0, p);
    if (refused) {
        fputs("</td><td>", o);
        c = status_text(j, p);
        src.field = "status";
        sheet_text(o, &h->notes, c, strlen(c), COLS_ERROR, 0, &src, NULL,
                   p);
    }
    fputs("</td><td class=\"rid\">", o);
    src.field = "request_id";
    sheet_text(o, &h->notes, rid, rid_len, COLS_RID, 0, &src, NULL, p);
    fputs("</td></tr>\n", o);
    if (q->bad) {
        flags = apr_pstrcat(p, flags ? flags : "", flags ? "; " : "",
                            "chain check failed", NULL);
    }
    if (flagged && (why = sheet_flags_text(&h->flags, q->seq, p))) {
        flags = apr_pstrcat(p, flags ? flags : "", flags ? "; " : "", why,
                            NULL);
    }
    if (h->csv.f) {
        csv_query(h, j, q, sampled ? "yes" : flagged ? "flagged" : NULL,
                  shown, flags, p);
    }
}

/* The answered queries (@p refused 0) or the refusals, read again.
 * @return 0, or -1 when a line changed since the scan. */
static int sheet_queries(sheet_t *h, const month_t *m, reader_t *r,
                         int refused, apr_pool_t *p)
{
    FILE *o = h->o;
    uint64_t n = refused ? m->n - m->answered : m->answered;
    apr_pool_t *rp;
    size_t i;

    fprintf(o, "<h2>%s (%" APR_UINT64_T_FMT ")</h2>\n", refused
            ? "拒絕的查詢 Refused queries (no answer was given)"
            : "已回覆的查詢 Answered queries", n);
    if (!h->list_all && n) {
        fprintf(o, "<p class=\"intro\">The month has %zu queries, more than "
                "a sheet lists (%d): %s. The counts above cover them all; "
                "<code>" PROG " report --all</code> lists every one (here "
                "and in the CSV).</p>\n", m->n, LIST_MAX, refused
                ? "only the flagged refusals are listed"
                : "only the sample is listed: the lines drawn \xe2\x98\x85 "
                  "and the flagged ones \xe2\x9a\x91");
    }
    if (n == 0) {
        fprintf(o, "<p>%s</p>\n", refused ? "本月無拒絕 No refusals."
                : m->n ? "本月無回覆 No answered queries."
                : "本月無查詢 No queries in the month.");
        return 0;
    }
    fprintf(o, "<table class=\"rows\">\n<colgroup><col class=\"c-mk\">"
            "<col class=\"c-seq\"><col class=\"c-t\"><col class=\"c-cl\">"
            "<col class=\"c-op\"><col class=\"c-case\"><col>"
            "<col class=\"c-ck\"><col class=\"c-sub\">%s"
            "<col class=\"c-rid\"></colgroup>\n"
            "<thead><tr><th></th><th>序號<br>seq</th><th>日 時間<br>"
            "Day time</th><th>用戶端<br>Client</th><th>操作人員<br>Operator"
            "</th><th>案號<br>Case</th><th>查詢事由<br>Reason</th>"
            "<th>查詢項目<br>Checks</th><th>查詢對象<br>Subject</th>%s"
            "<th>請求編號<br>request_id</th></tr></thead>\n<tbody>\n",
            refused ? "<col class=\"c-err\">" : "",
            refused ? "<th>狀態<br>Status / error</th>" : "");
    apr_pool_create(&rp, p);
    for (i = 0; i < m->n; i++) {
        json_t *j;
        if (APR_ARRAY_IDX(h->answered, i, char) == refused) {
            continue;
        }
        if (!h->list_all && !(h->draw.marked && h->draw.marked[i])
            && !sheet_flags_has(&h->flags, m->q[i].seq)) {
            continue;
        }
        j = reread(r, &m->q[i]);
        if (!j) {
            return -1;
        }
        apr_pool_clear(rp);
        query_row(h, j, &m->q[i], h->draw.marked && h->draw.marked[i],
                  refused, rp);
        json_decref(j);
    }
    apr_pool_destroy(rp);
    fputs("</tbody>\n</table>\n", o);
    return 0;
}

/* -- the end: notes and signatures -------------------------------------- */

static void sheet_signoff(sheet_t *h, const verify_scan_t *s,
                          const month_t *m)
{
    static const char *const roles[] = {
        "稽核人員 Auditor", "業務承辦人 Project officer", "單位主管 Unit head"
    };
    FILE *o = h->o;
    size_t i;

    fputs("<section class=\"signoff\">\n<h2>簽核 Sign-off</h2>\n"
          "<table class=\"findings\"><tr><th>審核意見 Findings<br>"
          "(sampled lines, possible personal data, service events)</th>"
          "<td></td></tr></table>\n"
          "<table class=\"sign\">\n<thead><tr><th>職稱 Role</th>"
          "<th>姓名 Name</th><th>日期 Date</th><th>簽名 Signature</th>"
          "</tr></thead>\n<tbody>\n", o);
    for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        fprintf(o, "<tr><th>%s</th><td></td><td></td><td></td></tr>\n",
                roles[i]);
    }
    fputs("</tbody>\n</table>\n", o);
    fprintf(o, "<footer>%s: %zu queries (%" APR_UINT64_T_FMT " answered), "
            "chain %s, checkpoints %s. Generated %s. Every page is "
            "numbered (page N of M).</footer>\n</section>\n</body>\n"
            "</html>\n", h->month, m->n, m->answered, s->lines == 0
            ? "empty" : h->broken ? "BROKEN" : "intact", !h->nkeys
            ? "not checked" : h->cp_failed ? "FAILED" : h->cp.newest
            ? "verified" : "absent", h->now);
}

/* -- the command -------------------------------------------------------- */

int sheet_files(const audit_args_t *a, FILE **o, csv_t *c,
                const char *const *head, int ncols, apr_pool_t *p)
{
    const char *csv = a->csv;
    size_t l;

    *o = stdout;
    if (a->output) {
        l = strlen(a->output);
        if (!csv) {
            if (l > 5 && !strcmp(a->output + l - 5, ".html")) {
                l -= 5;
            }
            else if (l > 4 && !strcmp(a->output + l - 4, ".htm")) {
                l -= 4;
            }
            csv = apr_pstrcat(p, apr_pstrmemdup(p, a->output, l), ".csv",
                              NULL);
        }
        if (!strcmp(csv, a->output)) {
            fprintf(stderr, PROG ": --csv and --output name the same file"
                    "\n");
            return 2;
        }
        *o = fopen(a->output, "w");
        if (!*o) {
            fprintf(stderr, PROG ": cannot write %s: %s\n",
                    safe_str(p, a->output), strerror(errno));
            return 1;
        }
    }
    return csv ? csv_open(c, csv, head, ncols, p) : 0;
}

/* Where the HTML and the CSV go: 0, or the exit status. */
static int sheet_open(sheet_t *h, const audit_args_t *a, apr_pool_t *p)
{
    static const char *const head[CSV_COLS] = { CSV_HEAD };

    return sheet_files(a, &h->o, &h->csv, head, CSV_COLS, p);
}

static int sheet_close(sheet_t *h, const audit_args_t *a, int failed,
                       apr_pool_t *p)
{
    int rc = csv_close(&h->csv);

    if (h->o == stdout) {
        return write_failed() || rc || failed;
    }
    if (h->o && (ferror(h->o) | fclose(h->o))) {
        fprintf(stderr, PROG ": cannot write %s: %s\n",
                safe_str(p, a->output), strerror(errno));
        rc = 1;
    }
    return rc || failed;
}

int cmd_report(const audit_args_t *a, apr_pool_t *p)
{
    apr_array_header_t *keys;
    verify_scan_t s;
    sheet_t h;
    reader_t r;
    month_t m;
    int rc, threads;

    /* a bad VERIFY_AUDIT_THREADS writes nothing (several nodes are
     * read on one thread) */
    if (audit_env_threads(&threads) != 0) {
        return 2;
    }
    if (a->nodes) {
        return report_nodes(a, p);
    }
    memset(&m, 0, sizeof(m));
    memset(&h, 0, sizeof(h));
    rc = sheet_cp_keys(a, &keys, p);
    if (rc) {
        return rc;
    }
    /* the thresholds first: a bad --flags file writes nothing */
    rc = sheet_flags_init(&h.flags, a, p);
    if (rc) {
        return rc;
    }
    h.flags.fc_file = a->flags;
    h.o = stdout;
    rc = sheet_open(&h, a, p);
    if (rc) {
        if (h.o && h.o != stdout) {
            fclose(h.o);
        }
        return rc;
    }
    rc = 1;
    reader_init(&r, a->files, p);
    h.a = a;
    h.p = p;
    h.month = a->month;
    h.nkeys = keys->nelts;
    h.answered = apr_array_make(p, 1024, sizeof(char));
    h.buf = apr_palloc(p, VERIFY_AUDIT_LINE_MAX);
    walk_init(&h.walk, p);
    if (h.nkeys) {
        walk_keep_history(&h.walk, p);
    }
    sheet_cp_init(&h.cp, p);
    draw_init(&h.draw, p);
    events_init(&h.ev, p);
    notes_init(&h.notes, p);
    verify_date_format(verify_date_month_end(
        verify_date_parse_month(a->month, strlen(a->month))), h.last);
    m.summary = 1;
    m.walk = h.nkeys ? &h.walk : NULL;
    m.threads = threads;
    m.each = sheet_seen;
    m.each_ctx = &h;
    h.broken = month_scan(&s, &m, a, 1, p);
    if (h.broken < 0) {
        goto cleanup;
    }
    h.cp_failed = sheet_cp_check(&h.cp, a, keys, h.nkeys ? &h.walk : NULL,
                                 &s, p);
    if (h.cp_failed < 0) {
        goto cleanup;
    }
    draw_make(&h.draw, &m, h.cp.seed, p);
    h.list_all = a->all || m.n <= LIST_MAX;
    sheet_flags_end(&h.flags, &m, &h.draw, p);
    h.note = month_note(a->month, p);
    verify_time_format_s(apr_time_now(), h.now);

    sheet_head(&h, &s, &m, p);
    sheet_summary(&h, &m, p);
    sheet_flags_print(h.o, &h.flags, p);
    if (sheet_queries(&h, &m, &r, 0, p) != 0
        || sheet_queries(&h, &m, &r, 1, p) != 0
        || events_print(h.o, &h.csv, &h.notes, &h.ev, &r, p) != 0) {
        goto cleanup;
    }
    notes_print(h.o, &h.notes, p);
    sheet_signoff(&h, &s, &m);
    rc = 0;
    if (h.broken) {
        fprintf(stderr, PROG ": the audit chain is BROKEN (the report says "
                "so): %s\n", safe_str(p, s.fault));
        rc = 1;
    }
    if (h.cp_failed) {
        fprintf(stderr, PROG ": a signed checkpoint FAILED its check (the "
                "report says why)\n");
        rc = 1;
    }
    else if (h.nkeys && !h.cp.newest) {
        fprintf(stderr, PROG ": --verifier given, but the files hold no "
                "signed checkpoint to check (the report says so)\n");
        rc = 1;
    }

cleanup:
    reader_close(&r);
    month_free(&m);
    return sheet_close(&h, a, rc, p);
}
