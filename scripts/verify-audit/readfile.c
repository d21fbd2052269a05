/*
 * readfile.c -- reading a small file whole: a verifier key, a signed
 * note, a proof, the witness's state. Only a regular file, and never
 * more than the caller's bound, whatever the file turns out to be.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include "tool.h"

const char *read_small(const char *path, size_t max, char **buf,
                       size_t *len, apr_pool_t *p)
{
    const char *why = NULL;
    struct stat st;
    size_t got = 0;
    ssize_t n;
    char *b;
    int fd;

    /* O_NONBLOCK: a FIFO planted under the name must not hang us */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return apr_psprintf(p, "cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        why = apr_psprintf(p, "cannot read %s: not a regular file", path);
        goto cleanup;
    }
    b = apr_palloc(p, max + 2);
    while (got <= max && (n = read(fd, b + got, max + 1 - got)) != 0) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            why = apr_psprintf(p, "cannot read %s: %s", path,
                               strerror(errno));
            goto cleanup;
        }
        got += (size_t)n;
    }
    if (got > max) {
        why = apr_psprintf(p, "%s is larger than %" APR_SIZE_T_FMT
                           " bytes", path, max);
        goto cleanup;
    }
    b[got] = '\0';
    *buf = b;
    *len = got;

cleanup:
    close(fd);
    return why;
}
