/*
 * sheet_cell.c -- one cell of the sheet: text masked where it may hold
 * personal data, cut to its column, and the notes that say what was
 * masked or cut; hashes shortened with their full form in a note.
 *
 * A cell is one line (the CSS keeps it so): what does not fit is cut
 * here, where the text is known, with "…" and a note [Tn] that prints
 * it whole under the tables. Masks (A12*****89, 09**-***-***) and
 * hashes are each one unbreakable span.
 */
#include <string.h>
#include <sys/uio.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "print.h"
#include "sheet.h"

/* Columns a note marker such as "[T12]" takes (in its smaller font,
 * with room to spare), and the fewest left for the text. */
#define MARK_W 4
#define TEXT_MIN 4

static const char *const dash = "<span class=\"none\">\xe2\x80\x94</span>";

void notes_init(sheet_notes_t *n, apr_pool_t *p)
{
    memset(n, 0, sizeof(*n));
    n->p = p;
    n->hashes = apr_array_make(p, 8, sizeof(const char *));
    n->texts = apr_array_make(p, 8, sizeof(note_t));
    n->pii = apr_array_make(p, 8, sizeof(note_t));
}

/* The text in pieces: plain runs and masks, the masks in place of what
 * looked like personal data. */
typedef struct piece_t {
    const char *s;
    size_t len;
    int mask;
} piece_t;

static apr_array_header_t *pieces(const char *s, size_t len, int mask,
                                  unsigned *found, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(piece_t));
    verify_pii_span_t sp;
    piece_t *x;
    size_t at = 0;
    unsigned one;

    *found = 0;
    while (mask && verify_pii_next(s, len, at, VERIFY_PII_ID
                                   | VERIFY_PII_PHONE, &sp)) {
        if (sp.start > at) {
            x = apr_array_push(a);
            x->s = s + at;
            x->len = sp.start - at;
            x->mask = 0;
        }
        x = apr_array_push(a);
        x->s = verify_pii_mask(s + sp.start, sp.end - sp.start, sp.kind,
                               &x->len, &one, p);
        x->mask = 1;
        *found |= sp.kind;
        at = sp.end;
    }
    if (at < len || a->nelts == 0) {
        x = apr_array_push(a);
        x->s = s + at;
        x->len = len - at;
        x->mask = 0;
    }
    return a;
}

/* Columns of a piece as shown. */
static int width_of(const piece_t *x, apr_pool_t *p)
{
    int w = 0;

    safe_text(p, x->s, x->len, 0, 0, &w, NULL);
    return w;
}

/* The pieces as HTML, cut to @p cols columns (0: whole): a mask is
 * never cut, and never broken across lines. 1 if cut. */
static int put_pieces(FILE *o, const apr_array_header_t *a, int cols,
                      apr_pool_t *p)
{
    int i, used = 0, total = 0, w;

    for (i = 0; cols > 0 && i < a->nelts; i++) {
        total += width_of(&APR_ARRAY_IDX(a, i, piece_t), p);
    }
    if (total <= cols) {
        cols = 0;
    }
    for (i = 0; i < a->nelts; i++) {
        const piece_t *x = &APR_ARRAY_IDX(a, i, piece_t);
        w = width_of(x, p);
        if (cols && used + w > cols - 1) {
            if (!x->mask && cols - used > 1) {
                fputs(safe_text(p, x->s, x->len, SAFE_HTML, cols - used,
                                NULL, NULL), o);
            }
            else {
                fputs("\xe2\x80\xa6", o);
            }
            return 1;
        }
        used += w;
        if (x->mask) {
            fputs("<span class=\"id\">", o);
        }
        fputs(safe_text(p, x->s, x->len, SAFE_HTML, 0, NULL, NULL), o);
        if (x->mask) {
            fputs("</span>", o);
        }
    }
    return 0;
}

/* The text of pieces, plain (for the CSV). */
static const char *plain(const apr_array_header_t *a, apr_pool_t *p)
{
    struct iovec *v = apr_palloc(p, (size_t)(a->nelts + 1) * sizeof(*v));
    int i;

    for (i = 0; i < a->nelts; i++) {
        v[i].iov_base = (void *)APR_ARRAY_IDX(a, i, piece_t).s;
        v[i].iov_len = APR_ARRAY_IDX(a, i, piece_t).len;
    }
    return apr_pstrcatv(p, v, (apr_size_t)a->nelts, NULL);
}

/* A note of @p src's text into @p list: its number, or 0 when the list
 * is full. */
static int add_note(sheet_notes_t *n, apr_array_header_t *list,
                    const cell_src_t *src, const char *s, size_t len,
                    int mask, const char *kind)
{
    note_t *x;

    if (list->nelts >= NOTES_MAX) {
        return 0;
    }
    x = apr_array_push(list);
    x->seq = src->seq;
    x->rid = src->rid ? apr_pstrdup(n->p, src->rid) : NULL;
    x->field = src->field;
    x->text = apr_pstrmemdup(n->p, s, len);
    x->len = len;
    x->mask = mask;
    x->kind = kind;
    return list->nelts;
}

int notes_text(sheet_notes_t *n, const cell_src_t *src, const char *s,
               size_t len)
{
    int num = add_note(n, n->texts, src, s, len, 0, NULL);

    n->texts_over += num ? 0 : 1;
    return num;
}

int text_cols(const char *s, size_t len, apr_pool_t *p)
{
    int w = 0;

    safe_text(p, s, len, 0, 0, &w, NULL);
    return w;
}

void notes_mark(FILE *o, const char *cls, char letter, int num)
{
    if (num) {
        fprintf(o, "<sup class=\"%s\">[%c%d]</sup>", cls, letter, num);
    }
    else {
        fprintf(o, "<sup class=\"%s\">[%c*]</sup>", cls, letter);
    }
}

const char *sheet_text(FILE *o, sheet_notes_t *n, const char *s, size_t len,
                       int cols, int mask, const cell_src_t *src,
                       unsigned *found_out, apr_pool_t *p)
{
    apr_array_header_t *a;
    unsigned found;
    int i, w = 0, marks, cut, num;

    if (found_out) {
        *found_out = 0;
    }
    if (!s) {
        fputs(dash, o);
        return NULL;
    }
    a = pieces(s, len, mask, &found, p);
    if (found_out) {
        *found_out = found;
    }
    for (i = 0; i < a->nelts; i++) {
        w += width_of(&APR_ARRAY_IDX(a, i, piece_t), p);
    }
    marks = found ? 1 : 0;
    if (w + marks * MARK_W > cols) {
        marks++;
    }
    cols -= marks * MARK_W;
    cut = put_pieces(o, a, cols < TEXT_MIN ? TEXT_MIN : cols, p);
    if (cut) {
        num = add_note(n, n->texts, src, s, len, mask, NULL);
        n->texts_over += num ? 0 : 1;
        notes_mark(o, "cut", 'T', num);
    }
    if (found) {
        num = add_note(n, n->pii, src, s, len, mask,
                       verify_pii_kind_name(found));
        n->pii_over += num ? 0 : 1;
        n->pii_cells++;
        notes_mark(o, "pd", 'P', num);
    }
    return plain(a, p);
}

const char *day_time(const char *ts, apr_pool_t *p)
{
    char t[20];

    if (!ts) {
        return "";
    }
    if (verify_time_readable(ts, t) != 0) {
        return safe_text(p, ts, strlen(ts), SAFE_HTML, 0, NULL, NULL);
    }
    return apr_pstrdup(p, t + 8);
}

int is_hash_text(const char *s, size_t len)
{
    size_t i;

    if (len >= 32 && len <= 128 && strspn(s, "0123456789abcdef") == len) {
        return 1;
    }
    if (len != 44 || s[43] != '=') {
        return 0;
    }
    for (i = 0; i < 43; i++) {
        if (!apr_isalnum(s[i]) && s[i] != '+' && s[i] != '/') {
            return 0;
        }
    }
    return 1;
}

void sheet_hash(FILE *o, sheet_notes_t *n, const char *hash)
{
    size_t len = strlen(hash);
    int i, num = 0;

    for (i = 0; i < n->hashes->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(n->hashes, i, const char *), hash)) {
            num = i + 1;
            break;
        }
    }
    if (!num && n->hashes->nelts < NOTES_MAX) {
        APR_ARRAY_PUSH(n->hashes, const char *) = apr_pstrdup(n->p, hash);
        num = n->hashes->nelts;
    }
    else if (!num) {
        n->hashes_over++;
    }
    /* hex or base64 only: nothing to escape but the base64 '+' '/' */
    fputs("<span class=\"h\">", o);
    if (len > 16) {
        fprintf(o, "%.8s\xe2\x80\xa6%s", hash, hash + len - 4);
    }
    else {
        fputs(hash, o);
    }
    fputs("</span>", o);
    notes_mark(o, "hn", 'H', num);
}

/* The text of a note, whole: masked as in its cell, free to wrap
 * between words but never inside a mask. */
static void note_text(FILE *o, const note_t *x, apr_pool_t *p)
{
    unsigned found;

    put_pieces(o, pieces(x->text, x->len, x->mask, &found, p), 0, p);
}

static void note_rows(FILE *o, const apr_array_header_t *list, char letter,
                      int with_kind, apr_pool_t *p)
{
    int i;

    for (i = 0; i < list->nelts; i++) {
        const note_t *x = &APR_ARRAY_IDX(list, i, note_t);
        fprintf(o, "<tr><td class=\"n\">[%c%d]</td><td class=\"n\">%"
                APR_UINT64_T_FMT "</td><td class=\"n rid\">", letter, i + 1,
                x->seq);
        if (x->rid) {
            fputs(safe_text(p, x->rid, strlen(x->rid), SAFE_HTML, 0, NULL,
                            NULL), o);
        }
        else {
            fputs(dash, o);
        }
        fprintf(o, "</td><td class=\"n\">%s</td>", x->field);
        if (with_kind) {
            fprintf(o, "<td class=\"n\">%s</td>", x->kind);
        }
        fputs("<td class=\"wrap\">", o);
        note_text(o, x, p);
        fputs("</td></tr>\n", o);
    }
}

static void note_table(FILE *o, const char *title, const char *intro,
                       const apr_array_header_t *list, char letter,
                       uint64_t over, int with_kind, apr_pool_t *p)
{
    fprintf(o, "<h2>%s</h2>\n<p class=\"intro\">%s</p>\n"
            "<table class=\"notes\">\n<thead><tr><th>#</th><th>seq</th>"
            "<th>request_id</th><th>欄位 Field</th>%s<th>%s</th></tr>"
            "</thead>\n<tbody>\n", title, intro,
            with_kind ? "<th>疑似 Looks like</th>" : "",
            with_kind ? "遮蔽後 As shown (masked)" : "全文 Whole text");
    note_rows(o, list, letter, with_kind, p);
    fputs("</tbody>\n</table>\n", o);
    if (over) {
        fprintf(o, "<p>%" APR_UINT64_T_FMT " more, marked [%c*], are not "
                "listed here: the CSV holds every row in full.</p>\n", over,
                letter);
    }
}

void notes_print(FILE *o, const sheet_notes_t *n, apr_pool_t *p)
{
    apr_pool_t *tp;
    int i;

    apr_pool_create(&tp, p);
    if (n->pii->nelts || n->pii_over) {
        note_table(o, "疑似個人資料 Possible personal data",
                   "Text in case, reason or operator that looks like a "
                   "national ID number (valid check digit) or a phone "
                   "number is masked on this sheet and in the CSV, and "
                   "flagged here as possible personal data (R4.2.5: "
                   "personal data belongs in the subject only, masked). "
                   "Ask the client system why it was typed there.",
                   n->pii, 'P', n->pii_over, 1, tp);
    }
    if (n->texts->nelts || n->texts_over) {
        note_table(o, "長欄位全文 Cells cut to fit, in full",
                   "Cells end in \xe2\x80\xa6 where the text is longer than "
                   "its column; here it is whole.", n->texts, 'T',
                   n->texts_over, 0, tp);
    }
    if (n->hashes->nelts) {
        fputs("<h2>雜湊全文 Hashes in full</h2>\n<table class=\"notes\">\n"
              "<tbody>\n", o);
        for (i = 0; i < n->hashes->nelts; i++) {
            fprintf(o, "<tr><td class=\"n\">[H%d]</td><td class=\"n h\">%s"
                    "</td></tr>\n", i + 1,
                    APR_ARRAY_IDX(n->hashes, i, const char *));
        }
        fputs("</tbody>\n</table>\n", o);
    }
    if (n->hashes_over) {
        fprintf(o, "<p>%" APR_UINT64_T_FMT " more hashes, marked [H*], are "
                "not listed here: the CSV holds every one in full.</p>\n",
                n->hashes_over);
    }
    apr_pool_destroy(tp);
}
