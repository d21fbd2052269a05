/*
 * csv.c -- the sheet's rows for spreadsheets: RFC 4180, and safe to open.
 *
 * Log text came from client systems (or from whoever can write the
 * audit directory). In a spreadsheet a cell that starts with = + - @
 * is a formula, which may run commands or send data away (CSV
 * injection): such a cell is written with a leading ' so it stays
 * text. Control and bidirectional characters are shown as \uXXXX, as
 * on the sheet.
 */
#include <errno.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "sheet.h"

int csv_open(csv_t *c, const char *path, const char *const *head, int ncols,
             apr_pool_t *p)
{
    int i;

    memset(c, 0, sizeof(*c));
    c->path = safe_str(p, path);       /* for messages */
    c->f = fopen(path, "w");
    if (!c->f) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", c->path,
                strerror(errno));
        return 1;
    }
    fputs("\xef\xbb\xbf", c->f);       /* UTF-8, for spreadsheets */
    for (i = 0; i < ncols; i++) {
        csv_cell(c, head[i], strlen(head[i]), p);
    }
    csv_end_row(c);
    return 0;
}

void csv_cell(csv_t *c, const char *s, size_t len, apr_pool_t *p)
{
    const char *t, *q;

    if (c->col++) {
        fputc(',', c->f);
    }
    if (!s) {
        return;
    }
    t = safe_text(p, s, len, 0, 0, NULL, NULL);
    if (t[0] && strchr("=+-@\t\r", t[0])) {
        t = apr_pstrcat(p, "'", t, NULL);
    }
    if (!strpbrk(t, ",\"\r\n")) {
        fputs(t, c->f);
        return;
    }
    fputc('"', c->f);
    for (; (q = strchr(t, '"')) != NULL; t = q + 1) {
        fwrite(t, 1, (size_t)(q - t), c->f);
        fputs("\"\"", c->f);
    }
    fputs(t, c->f);
    fputc('"', c->f);
}

void csv_end_row(csv_t *c)
{
    fputs("\r\n", c->f);
    c->col = 0;
}

int csv_close(csv_t *c)
{
    int failed;

    if (!c->f) {
        return 0;
    }
    failed = ferror(c->f) != 0;
    if (fclose(c->f) != 0) {
        failed = 1;
    }
    c->f = NULL;
    if (failed) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", c->path,
                strerror(errno));
        return 1;
    }
    return 0;
}
