/*
 * again.c -- a line of the month's sample read a second time, by its
 * place, and checked against the chain hash the first reading saw: the
 * lines a sample shows, and (several nodes) the month's queries fed to
 * the flags in time order.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "print.h"
#include "sample.h"
#include "verify_sha256.h"

const char *again_line(again_t *g, const squery_t *q)
{
    const char *path = APR_ARRAY_IDX(g->files, q->file, const char *);
    unsigned char h[32], tail[32];
    const char *nl = NULL;
    struct stat st;
    ssize_t n = -1;

    if (g->fd < 0 || g->fi != q->file) {
        if (g->fd >= 0) {
            close(g->fd);
        }
        g->fi = q->file;
        g->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (g->fd >= 0 && (fstat(g->fd, &st) != 0 || !S_ISREG(st.st_mode))) {
            close(g->fd);
            g->fd = -1;
        }
    }
    if (g->fd >= 0) {
        n = pread(g->fd, g->line, VERIFY_AUDIT_LINE_MAX, q->off);
    }
    if (n > 0) {
        nl = memchr(g->line, '\n', (size_t)n);
    }
    /* the line ends ,"hash":"<64 hex>"} and that hash covers the rest */
    if (nl && nl - g->line > 75
        && !memcmp(nl - 75, ",\"hash\":\"", 9)
        && verify_unhex(nl - 66, 32, tail, 0) == 0
        && !memcmp(tail, q->hash, 32)
        && (verify_sha256_once(g->line, (size_t)(nl - g->line) - 75, h), 1)
        && !memcmp(h, q->hash, 32)) {
        g->len = (size_t)(nl - g->line);
        return g->line;
    }
    fprintf(stderr, PROG ": %s changed while it was read (the line of "
            "seq %" APR_UINT64_T_FMT " is not what it was): run the "
            "command again, then `" PROG " verify`\n",
            safe_str(g->p, path), q->seq);
    return NULL;
}

json_t *read_again(again_t *g, const squery_t *q)
{
    json_error_t jerr;
    json_t *j;

    if (!again_line(g, q)) {
        return NULL;
    }
    j = json_loadb(g->line, g->len, VERIFY_SCAN_JSON_FLAGS, &jerr);
    if (!j) {
        fprintf(stderr, PROG ": %s changed while it was read (the line of "
                "seq %" APR_UINT64_T_FMT " is not what it was): run the "
                "command again, then `" PROG " verify`\n",
                safe_str(g->p, APR_ARRAY_IDX(g->files, q->file,
                                             const char *)), q->seq);
    }
    return j;
}

void again_close(again_t *g)
{
    if (g->fd >= 0) {
        close(g->fd);
        g->fd = -1;
    }
}
