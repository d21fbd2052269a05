/*
 * print.h -- showing untrusted text safely, in plain-text tables and in
 * HTML (print.c).
 *
 * Every value of an audit line came from a client, and every byte of an
 * audit file and its name may have been written by whoever can write
 * the audit directory: it may hold control characters, invisible or
 * bidirectional formatting characters, invalid UTF-8 or markup.
 * Whatever is shown passes through safe_text(): table cells, HTML, the
 * JSON lines printed, and every message that holds a file name or log
 * text (safe_str()).
 */
#ifndef VERIFY_AUDIT_PRINT_H
#define VERIFY_AUDIT_PRINT_H

#include <stdio.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_hash.h>

/* safe_text() flag: also escape & < > " ' as HTML entities. */
#define SAFE_HTML 1

/*
 * @p s made safe to show: unsafe characters become a visible \uXXXX,
 * invalid bytes U+FFFD, and with SAFE_HTML & < > " ' become entities.
 * With @p maxw > 0 the text is cut to @p maxw columns, ending in "…"
 * (*cut is then set). *width receives its columns. Both may be NULL.
 */
const char *safe_text(apr_pool_t *p, const char *s, size_t len, int flags,
                      int maxw, int *width, int *cut);

/* safe_text() of a whole C string (NULL shows ""): for file names,
 * messages that hold them or log text, and anything else from outside
 * the program that goes to a terminal. */
const char *safe_str(apr_pool_t *p, const char *s);

/* A JSON text (a line of the log, or json_dumps() output: valid UTF-8)
 * and a newline on stdout, through safe_text(): the characters it would
 * escape can only stand inside JSON strings, so what is printed is the
 * same JSON value, only written with \uXXXX where a terminal would act
 * on a character. A line without such characters is printed byte for
 * byte. */
void json_line(const char *s, size_t len, apr_pool_t *p);

/* Escaped text for HTML. */
void html_text(FILE *o, const char *s, apr_pool_t *p);
/* Escaped text for HTML, or a grey dash when @p s is NULL. */
void html_or_dash(FILE *o, const char *s, size_t len, apr_pool_t *p);

/* @p s quoted for a POSIX shell, when it needs quoting. */
const char *shell_quote(const char *s, apr_pool_t *p);

/* Columns a table has at the most. */
#define TABLE_COLS 12
/* The note under a table whose values were cut. */
#define TABLE_CUT_NOTE "(long values are cut with \xe2\x80\xa6)"

/* A plain-text table: columns as wide as their widest cell. */
typedef struct table_t {
    int ncols;
    const char *const *head;    /* the column names */
    const int *maxw;            /* columns a cell may take (0: any) */
    apr_array_header_t *cells;  /* const char ** of ncols, per row */
    apr_array_header_t *widths; /* int * of ncols, per row */
    int colw[TABLE_COLS];
    int cut;                    /* a cell was cut */
    apr_pool_t *p;
} table_t;

void table_init(table_t *t, int ncols, const char *const *head,
                const int *maxw, apr_pool_t *p);
/* A row: raw[c] NULL shows "-"; len[c] (or strlen when len is NULL or
 * len[c] is (size_t)-1) its bytes. Every cell is made safe to show. */
void table_add(table_t *t, const char *const *raw, const size_t *len);
/* The table on stdout, then @p cut_note after a blank line when a cell
 * was cut. */
void table_print(const table_t *t, const char *cut_note);

/* The values of @p h sorted by @p cmp (on pointers to the values). */
apr_array_header_t *hash_sorted(apr_hash_t *h,
                                int (*cmp)(const void *, const void *),
                                apr_pool_t *p);

/* Flush stdout: 0, or 1 with a message when the output was lost. */
int write_failed(void);

#endif /* VERIFY_AUDIT_PRINT_H */
