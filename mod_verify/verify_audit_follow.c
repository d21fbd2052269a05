/*
 * verify_audit_follow.c -- the parent's own reading of the audit log:
 * new complete lines, checked against the chain, added to a tree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "verify_audit_dir.h"
#include "verify_audit_follow.h"

/* Bytes read at a time; a line never spans more than one refill. */
#define CHUNK (64 * 1024)

void verify_follow_init(verify_follow_t *f)
{
    memset(f, 0, sizeof(*f));
    verify_merkle_edge_init(&f->edge);
}

void verify_follow_init_at(verify_follow_t *f, const verify_chain_t *chain,
                           const verify_merkle_edge_t *edge)
{
    memset(f, 0, sizeof(*f));
    f->chain = *chain;
    f->edge = *edge;
}

/* The oldest day file of @p dirfd newer than @p after (0: any), or 0. */
static verify_date_t next_day(int dirfd, verify_date_t after)
{
    verify_date_t best = 0, d;
    struct dirent *de;
    DIR *dir;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        return 0;
    }
    while ((de = readdir(dir)) != NULL) {
        d = verify_audit_name_date(de->d_name);
        if (d && d > after && (!best || d < best)) {
            best = d;
        }
    }
    closedir(dir);
    return best;
}

static const char *fault_name(verify_line_status_t st)
{
    switch (st) {
    case VERIFY_LINE_SYNTAX: return "not a sealed audit line";
    case VERIFY_LINE_HASH:   return "its hash does not cover it";
    case VERIFY_LINE_PREV:   return "its prev is not the hash of the line "
                                    "before";
    case VERIFY_LINE_SEQ:    return "its seq does not follow";
    default:                 return "fault";
    }
}

static apr_status_t too_long(const verify_follow_t *f, const char *name,
                             char **err, apr_pool_t *p)
{
    *err = apr_psprintf(p, "%s at offset %" APR_OFF_T_FMT ", the line after "
                        "seq %" APR_UINT64_T_FMT ": a line of %d bytes or "
                        "longer", name, f->offset, f->chain.seq,
                        VERIFY_AUDIT_LINE_MAX);
    return APR_EINVAL;
}

/* Take lines of one open file from f->offset. Sets *taken to the lines
 * taken and *more when @p max stopped it. */
static apr_status_t take_file(verify_follow_t *f, int fd, const char *name,
                              uint64_t max, uint64_t *taken, int *more,
                              char **err, apr_pool_t *p)
{
    char *buf = apr_palloc(p, CHUNK + VERIFY_AUDIT_LINE_MAX);
    size_t have = 0, start, i;
    unsigned char leaf[VERIFY_MERKLE_HASH_LEN];
    verify_chain_t next;
    verify_line_status_t st;
    const char *why;
    apr_off_t at = f->offset;
    ssize_t n;

    *taken = 0;
    *more = 0;
    for (;;) {
        n = pread(fd, buf + have, CHUNK, at + (apr_off_t)have);
        if (n < 0) {
            *err = apr_psprintf(p, "cannot read %s: %s", name,
                                strerror(errno));
            return APR_FROM_OS_ERROR(errno);
        }
        have += (size_t)n;
        for (start = 0; start < have; start = i + 1) {
            const char *nl = memchr(buf + start, '\n', have - start);

            if (nl == NULL) {
                break;
            }
            i = (size_t)(nl - buf);
            if (*taken == max) {
                *more = 1;
                return APR_SUCCESS;
            }
            /* the bound every reader of the log holds a line to
             * (verify_audit_seal, verify_chain_scan): a longer line,
             * even sealed, is not one the writer made */
            if (i + 1 - start >= VERIFY_AUDIT_LINE_MAX) {
                return too_long(f, name, err, p);
            }
            next = f->chain;
            st = verify_audit_check_line(&next, buf + start, i - start, 0);
            /* what verify-audit would call broken is never signed */
            why = st != VERIFY_LINE_OK ? fault_name(st)
                  : verify_audit_line_bytes_fault(buf + start, i - start, p);
            if (why) {
                *err = apr_psprintf(p, "%s at offset %" APR_OFF_T_FMT
                                    ", the line after seq %" APR_UINT64_T_FMT
                                    ": %s", name, f->offset,
                                    f->chain.seq, why);
                return APR_EINVAL;
            }
            if (verify_merkle_leaf_hash(buf + start, i - start, leaf)
                    != APR_SUCCESS
                || verify_merkle_edge_append(&f->edge, leaf)
                    != APR_SUCCESS) {
                *err = apr_pstrdup(p, "cannot hash an audit line");
                return APR_ENOMEM;
            }
            f->chain = next;
            f->offset += (apr_off_t)(i + 1 - start);
            ++*taken;
        }
        at += (apr_off_t)start;
        have -= start;
        memmove(buf, buf + start, have);
        if (n == 0) {
            return APR_SUCCESS;         /* end; a partial line stays */
        }
        if (have + 1 >= VERIFY_AUDIT_LINE_MAX) {
            return too_long(f, name, err, p);   /* even with its newline */
        }
    }
}

apr_status_t verify_follow_run(verify_follow_t *f, int dirfd, uid_t owner,
                               uint64_t max, verify_follow_stop_t *stop,
                               char **err, apr_pool_t *p)
{
    char name[32];
    const char *why = NULL;
    uint64_t taken;
    verify_date_t next;
    apr_status_t rv;
    int fd, more;

    *stop = VERIFY_FOLLOW_END;
    if (f->day == 0) {
        f->day = next_day(dirfd, 0);
        f->offset = 0;
        if (f->day == 0) {
            return APR_SUCCESS;         /* no file yet */
        }
    }
    for (;;) {
        verify_audit_filename(f->day, name);
        fd = verify_audit_openat(dirfd, name, O_RDONLY, 0, owner, 0, &why,
                                 p);
        if (fd < 0) {
            *err = apr_psprintf(p, "cannot open %s: %s", name,
                                why ? why : strerror(errno));
            return why ? APR_EINVAL : APR_FROM_OS_ERROR(errno);
        }
        rv = take_file(f, fd, name, max, &taken, &more, err, p);
        close(fd);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        max -= taken;
        if (more || max == 0) {
            *stop = VERIFY_FOLLOW_MAX;
            return APR_SUCCESS;
        }
        next = next_day(dirfd, f->day);
        if (next == 0) {
            return APR_SUCCESS;
        }
        /* the first line of the newer file must follow the last of
         * this one: move on only once it is there to check */
        f->day = next;
        f->offset = 0;
        if (taken > 0 || f->chain.seq > 0) {
            *stop = VERIFY_FOLLOW_DAY_END;
            return APR_SUCCESS;
        }
    }
}
