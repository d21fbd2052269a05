/*
 * verify_audit_tree.c -- the audit log's Merkle tree rebuilt from the
 * files: at a writer's start, and when a writer died between writing a
 * line and adding it to the shared edge.
 *
 * Reading is plain and fast on purpose (no JSON parse): the chain is
 * verify-audit's to check; here each line needs only its leaf hash and
 * its seq, which must count up from 1, so that leaf i is seq i+1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "verify_audit_dir.h"
#include "verify_audit_line.h"
#include "verify_audit_tree.h"
#include "verify_text.h"

#define CHUNK (1024 * 1024)

typedef struct {
    verify_date_t day;
    const char *name;
} day_file_t;

static int by_day(const void *a, const void *b)
{
    const day_file_t *x = a, *y = b;

    return x->day < y->day ? -1 : x->day > y->day;
}

/* The seq a line starts with ({"seq":N,), or 0. */
static uint64_t line_seq(const char *s, size_t len)
{
    uint64_t n = 0;
    size_t i = 7;

    if (len < 9 || memcmp(s, "{\"seq\":", 7)) {
        return 0;
    }
    for (; i < len && s[i] >= '0' && s[i] <= '9' && i < 27; i++) {
        n = n * 10 + (uint64_t)(s[i] - '0');
    }
    return i < len && s[i] == ',' ? n : 0;
}

/* Add every line of @p fd to @p e, checking seq. */
static apr_status_t add_file(int fd, const char *name, char *buf,
                             verify_merkle_edge_t *e, char **err,
                             apr_pool_t *p)
{
    unsigned char leaf[VERIFY_MERKLE_HASH_LEN];
    size_t have = 0, start, i;
    ssize_t n;
    apr_status_t rv;

    for (;;) {
        n = read(fd, buf + have, CHUNK - have);
        if (n < 0) {
            *err = apr_psprintf(p, "cannot read %s: %s", name,
                                strerror(errno));
            return APR_FROM_OS_ERROR(errno);
        }
        if (n == 0) {
            break;
        }
        have += (size_t)n;
        start = 0;
        for (i = 0; i < have; i++) {
            if (buf[i] != '\n') {
                continue;
            }
            if (line_seq(buf + start, i - start) != e->size + 1) {
                *err = apr_psprintf(p, "%s: the line after seq %"
                                    APR_UINT64_T_FMT " does not carry the "
                                    "next seq", name, e->size);
                return APR_EGENERAL;
            }
            rv = verify_merkle_leaf_hash(buf + start, i - start, leaf);
            if (rv == APR_SUCCESS) {
                rv = verify_merkle_edge_append(e, leaf);
            }
            if (rv != APR_SUCCESS) {
                *err = apr_pstrdup(p, "cannot hash (OpenSSL)");
                return rv;
            }
            start = i + 1;
        }
        if (start == 0 && have == CHUNK) {
            *err = apr_psprintf(p, "%s: a line longer than %d bytes", name,
                                CHUNK);
            return APR_EGENERAL;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
    }
    if (have) {
        *err = apr_psprintf(p, "%s ends in a partial line", name);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t verify_audit_tree_rebuild(const char *dir, uid_t owner,
                                       uint64_t expect_seq,
                                       verify_merkle_edge_t *e, char **err,
                                       apr_pool_t *p)
{
    const char *why = NULL;
    struct stat st;
    apr_array_header_t *files = apr_array_make(p, 64, sizeof(day_file_t));
    apr_status_t rv = APR_SUCCESS;
    struct dirent *de;
    day_file_t *f;
    char *buf = NULL, *cperr = NULL;
    const char *cp = NULL;
    verify_date_t day, cp_day = 0;
    DIR *d = NULL;
    int dfd, fd, i;

    verify_merkle_edge_init(e);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
        rv = APR_FROM_OS_ERROR(errno);
        *err = apr_psprintf(p, "cannot open %s: %s", dir, strerror(errno));
        if (dfd >= 0) {
            close(dfd);
        }
        return rv;
    }
    while ((de = readdir(d)) != NULL) {
        /* what is not a regular file is not an audit file (as
         * verify_audit_collect and the chain head see it) */
        if (de->d_type != DT_REG
            && (de->d_type != DT_UNKNOWN
                || fstatat(dirfd(d), de->d_name, &st,
                           AT_SYMLINK_NOFOLLOW) != 0
                || !S_ISREG(st.st_mode))) {
            continue;
        }
        if ((day = verify_audit_checkpoint_name_date(de->d_name)) != 0
            && day > cp_day) {
            cp_day = day;
            cp = apr_pstrdup(p, de->d_name);
        }
        if (verify_audit_name_date(de->d_name)) {
            f = apr_array_push(files);
            f->day = verify_audit_name_date(de->d_name);
            f->name = apr_pstrdup(p, de->d_name);
        }
    }
    qsort(files->elts, (size_t)files->nelts, sizeof(day_file_t), by_day);
    /* purged: the tree goes on from the edge the purge kept (root's, as
     * purge runs as root, when this runs as root) */
    if (cp && verify_audit_checkpoint_edge(
                  apr_pstrcat(p, dir, "/", cp, NULL),
                  geteuid() == 0 ? 0 : (uid_t)-1, e, &cperr, p)
              != APR_SUCCESS) {
        rv = APR_ENOENT;
        *err = apr_psprintf(p, "the lines before %s were purged, and %s",
                            cp, cperr);
        goto cleanup;
    }
    buf = malloc(CHUNK);
    if (!buf) {
        rv = APR_ENOMEM;
        *err = apr_pstrdup(p, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < files->nelts && rv == APR_SUCCESS; i++) {
        f = &APR_ARRAY_IDX(files, i, day_file_t);
        /* www-data can write the directory: no links, no FIFOs */
        fd = verify_audit_openat(dirfd(d), f->name, O_RDONLY | O_NONBLOCK,
                                 0, owner, (gid_t)-1, &why, p);
        if (fd < 0) {
            rv = why ? VERIFY_AUDIT_REFUSED : APR_FROM_OS_ERROR(errno);
            *err = apr_psprintf(p, "cannot read %s/%s: %s", dir, f->name,
                                why ? why : strerror(errno));
        }
        else {
            rv = add_file(fd, f->name, buf, e, err, p);
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    if (rv == APR_SUCCESS && e->size != expect_seq) {
        rv = APR_EGENERAL;
        *err = apr_psprintf(p, "the files hold %" APR_UINT64_T_FMT " lines "
                            "but the chain head is seq %" APR_UINT64_T_FMT,
                            e->size, expect_seq);
    }

cleanup:
    free(buf);
    closedir(d);
    return rv;
}

apr_status_t verify_audit_tree_last_leaf(const char *dir, const char *name,
                    uid_t owner, uint64_t seq,
                    const unsigned char hash[32],
                    unsigned char leaf[VERIFY_MERKLE_HASH_LEN], char **err,
                    apr_pool_t *p)
{
    char buf[VERIFY_AUDIT_LINE_MAX + 1], hex[65], want[80];
    const char *file = apr_pstrcat(p, dir, "/", name, NULL), *why = NULL;
    apr_status_t rv = APR_EGENERAL;
    struct stat st;
    size_t len, start;
    off_t from;
    ssize_t n;
    int dfd, fd = -1;

    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fd = verify_audit_openat(dfd, name, O_RDONLY | O_NONBLOCK, 0, owner,
                                 (gid_t)-1, &why, p);
        close(dfd);
    }
    if (fd < 0 || fstat(fd, &st) != 0) {
        *err = apr_psprintf(p, "cannot read %s%s%s", file, why ? ": " : "",
                            why ? why : "");
        goto cleanup;
    }
    from = st.st_size > (off_t)sizeof(buf) ? st.st_size - (off_t)sizeof(buf)
                                           : 0;
    n = pread(fd, buf, (size_t)(st.st_size - from), from);
    if (n <= 0 || buf[n - 1] != '\n') {
        *err = apr_psprintf(p, "%s does not end in a complete line", file);
        goto cleanup;
    }
    len = (size_t)n - 1;
    for (start = len; start > 0 && buf[start - 1] != '\n'; start--) {
    }
    if (start == 0 && from > 0) {
        *err = apr_psprintf(p, "the last line of %s is too long", file);
        goto cleanup;
    }
    verify_hex(hash, 32, hex);
    apr_snprintf(want, sizeof(want), ",\"hash\":\"%s\"}", hex);
    if (line_seq(buf + start, len - start) != seq
        || len - start < strlen(want)
        || memcmp(buf + len - strlen(want), want, strlen(want))) {
        *err = apr_psprintf(p, "the last line of %s is not the chain head "
                            "(seq %" APR_UINT64_T_FMT ")", file, seq);
        goto cleanup;
    }
    rv = verify_merkle_leaf_hash(buf + start, len - start, leaf);
    if (rv != APR_SUCCESS) {
        *err = apr_pstrdup(p, "cannot hash (OpenSSL)");
    }

cleanup:
    if (fd >= 0) {
        close(fd);
    }
    return rv;
}
