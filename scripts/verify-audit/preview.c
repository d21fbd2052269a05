/*
 * preview.c -- a preview of a month's sample says on every line of its
 * output that it is not an official draw: whatever the printers write
 * to stdout is kept back in a temporary file, then printed with the
 * mark before each line, so that no line of it (a table row cut out, a
 * JSON line picked by a script) can pass for the month's sample.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "sample.h"

static FILE *kept;              /* what was printed, held back */
static int saved_fd = -1;       /* the real stdout */

int preview_begin(void)
{
    fflush(stdout);
    kept = tmpfile();
    saved_fd = kept ? dup(STDOUT_FILENO) : -1;
    if (saved_fd < 0 || dup2(fileno(kept), STDOUT_FILENO) < 0) {
        fprintf(stderr, PROG ": cannot hold the preview back to mark it: "
                "no temporary file\n");
        if (saved_fd >= 0) {
            close(saved_fd);
            saved_fd = -1;
        }
        if (kept) {
            fclose(kept);
            kept = NULL;
        }
        return 1;
    }
    return 0;
}

int preview_end(void)
{
    char buf[8192];
    size_t n;
    int at_start = 1, rc = 0;
    char *nl, *s;

    if (saved_fd < 0) {
        return 1;
    }
    fflush(stdout);
    dup2(saved_fd, STDOUT_FILENO);
    close(saved_fd);
    saved_fd = -1;
    rewind(kept);
    while ((n = fread(buf, 1, sizeof(buf) - 1, kept)) > 0) {
        buf[n] = '\0';
        for (s = buf; s < buf + n; s = nl ? nl + 1 : buf + n) {
            nl = memchr(s, '\n', (size_t)(buf + n - s));
            if (at_start) {
                fputs(PREVIEW_MARK, stdout);
            }
            fwrite(s, 1, (size_t)((nl ? nl + 1 : buf + n) - s), stdout);
            at_start = nl != NULL;
        }
    }
    if (ferror(kept)) {
        rc = 1;
    }
    fclose(kept);
    kept = NULL;
    return rc;
}
