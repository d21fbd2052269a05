/*
 * records_log.c -- appending to the R5.2 records log: its directory
 * checked as root must (nobody but root can replace it), the file locked
 * for the append and read (records_read.c), the chain extended with the
 * audit log's own sealing (verify_audit_seal), and the new head left in
 * the event spool for the audit chain.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include "print.h"
#include "records.h"

/* A directory only root can change: owned by root, written by nobody
 * else, not a link. NULL, or why not. */
static const char *root_only(const struct stat *st, const char *what,
                             apr_pool_t *p)
{
    if (!S_ISDIR(st->st_mode)) {
        return apr_psprintf(p, "%s is not a directory", what);
    }
    if (st->st_uid != 0) {
        return apr_psprintf(p, "%s is not owned by root", what);
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        return apr_psprintf(p, "%s can be written by others than root "
                            "(mode %04o)", what,
                            (unsigned)(st->st_mode & 07777));
    }
    return NULL;
}

/* The records directory, made when missing: its descriptor, or -1 with
 * the reason said. */
static int open_dir(const char *dir, apr_pool_t *p)
{
    char *parent = apr_pstrdup(p, dir), *slash;
    const char *why;
    struct stat st;
    int fd;

    while (strlen(parent) > 1 && parent[strlen(parent) - 1] == '/') {
        parent[strlen(parent) - 1] = '\0';
    }
    slash = strrchr(parent, '/');
    if (!slash) {
        parent = ".";
    }
    else {
        *(slash == parent ? slash + 1 : slash) = '\0';
    }
    if (lstat(parent, &st) != 0) {
        why = apr_psprintf(p, "its parent %s: %s", parent, strerror(errno));
        goto refused;
    }
    why = root_only(&st, apr_psprintf(p, "its parent %s", parent), p);
    if (why) {
        goto refused;
    }
    if (mkdir(dir, 0750) == 0) {
        fprintf(stderr, PROG ": made the records directory %s (mode "
                "0750)\n", safe_str(p, dir));
    }
    else if (errno != EEXIST) {
        why = apr_psprintf(p, "cannot make it: %s", strerror(errno));
        goto refused;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        why = apr_psprintf(p, "cannot open it: %s%s", strerror(errno),
                           errno == ELOOP || errno == ENOTDIR
                           ? " (a symbolic link?)" : "");
        goto refused;
    }
    if (fstat(fd, &st) != 0
        || (why = root_only(&st, "it", p)) != NULL) {
        if (!why) {
            why = strerror(errno);
        }
        close(fd);
        goto refused;
    }
    return fd;

refused:
    fprintf(stderr, PROG ": the records directory %s is refused: %s (only "
            "root may be able to change the records, R5.2). Nothing was "
            "recorded\n", safe_str(p, dir), safe_str(p, why));
    return -1;
}

/* The records log, opened for appending: its descriptor, or -1 with the
 * reason said. */
static int open_log(int dirfd, const char *path, apr_pool_t *p)
{
    struct stat st;
    int fd;

    fd = openat(dirfd, RECORDS_FILE, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW
                | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0640);
    if (fd < 0) {
        fprintf(stderr, PROG ": cannot open the records log %s: %s. Nothing "
                "was recorded\n", safe_str(p, path), strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0
        || st.st_nlink != 1 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        fprintf(stderr, PROG ": the records log %s is refused: not a "
                "regular file of root with one link that only root can "
                "write. Nothing was recorded\n", safe_str(p, path));
        close(fd);
        return -1;
    }
    return fd;
}

int records_begin(records_writer_t *w, const audit_args_t *a,
                  const char *cmd, apr_pool_t *p)
{
    const char *spool = a->events ? a->events : VERIFY_SPOOL_DEFAULT;
    char *err = NULL;
    int rc;

    memset(w, 0, sizeof(*w));
    w->dirfd = w->fd = w->spool = -1;
    w->cmd = cmd;
    w->p = p;
    if (geteuid() != 0) {
        fprintf(stderr, PROG ": %s refused: only root can append to the "
                "records log (R5.2: the records are kept tamper-evident); "
                "run it as root (sudo). Nothing was recorded\n", cmd);
        return 1;
    }
    if (verify_spool_open(spool, 0, geteuid(), &w->spool, &err, p)
        != APR_SUCCESS) {
        fprintf(stderr, PROG ": %s refused: the event spool %s, which "
                "carries the records log's head into the audit chain, "
                "cannot be used: %s. httpd makes it at start as "
                "<VerifyStore>/" VERIFY_SPOOL_NAME "; name it with --events "
                "SPOOL. Nothing was recorded\n", cmd, safe_str(p, spool),
                safe_str(p, err));
        return 1;
    }
    w->dirfd = open_dir(records_dir(a), p);
    if (w->dirfd < 0) {
        records_abort(w);
        return 1;
    }
    w->fd = open_log(w->dirfd, apr_pstrcat(p, records_dir(a),
                                           "/" RECORDS_FILE, NULL), p);
    if (w->fd < 0 || flock(w->fd, LOCK_EX) != 0) {
        if (w->fd >= 0) {
            fprintf(stderr, PROG ": cannot lock the records log: %s\n",
                    strerror(errno));
        }
        records_abort(w);
        return 1;
    }
    rc = records_load(&w->r, records_dir(a), cmd, p);
    if (rc != 0) {
        records_abort(w);
        return 1;
    }
    w->next = w->r.head;
    w->first = w->r.head.seq + 1;
    if (w->r.hashes->nelts) {
        memcpy(w->genesis, w->r.hashes->elts, 32);
    }
    return 0;
}

int records_add(records_writer_t *w, json_t *o)
{
    char line[VERIFY_AUDIT_LINE_MAX];
    const char *user = verify_event_user(w->p);
    char *d;
    size_t dl, n;

    json_object_set_new(o, "user", json_string(user ? user : "?"));
    d = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER
                   | JSON_ENSURE_ASCII);
    if (!d) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    dl = strlen(d);
    /* the body is the members after ts: ",…" without the braces */
    d[0] = ',';
    n = dl > 2 ? verify_audit_seal(&w->next, apr_time_now(), d, dl - 1,
                                   line, sizeof(line)) : 0;
    free(d);
    if (n && w->next.seq == 1) {
        memcpy(w->genesis, w->next.hash, 32);
    }
    if (n == 0) {
        fprintf(stderr, PROG ": %s refused: the record would be longer "
                "than a line of the log can be (%d bytes): shorten the "
                "note. Nothing was recorded\n", w->cmd,
                VERIFY_AUDIT_LINE_MAX);
        return 1;
    }
    if (w->len + n > w->cap) {
        size_t cap = (w->cap ? w->cap * 2 : 16384) + n;
        char *b = apr_palloc(w->p, cap);
        if (w->len) {
            memcpy(b, w->buf, w->len);
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, line, n);
    w->len += n;
    return 0;
}

/* The event naming the new head: 0, or 1 with the reason said. */
static int spool_head(records_writer_t *w)
{
    char hex[65], first[65], *d, *err = NULL;
    const char *id = NULL;
    json_t *ev;
    int rc = 0;

    verify_hex(w->next.hash, 32, hex);
    verify_hex(w->genesis, 32, first);
    ev = json_pack("{s:s,s:s,s:s,s:I,s:s,s:I,s:s,s:s}",
                   "op", "records", "records_log", w->r.path,
                   "records_first", first,
                   "head_seq", (json_int_t)w->next.seq, "head_hash", hex,
                   "added", (json_int_t)(w->next.seq - w->first + 1),
                   "command", w->cmd,
                   "user", verify_event_user(w->p) ? verify_event_user(w->p)
                                                   : "?");
    d = ev ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER
                        | JSON_ENSURE_ASCII) : NULL;
    json_decref(ev);
    if (!d) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    d[0] = ',';
    if (verify_spool_put(w->spool, d, strlen(d) - 1, apr_time_now(), NULL,
                         &id, &err, w->p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": recorded, but the records log's head (seq "
                "%" APR_UINT64_T_FMT ") did not reach the event spool: %s. "
                "The audit chain does not attest it yet; the next record's "
                "event will (it names a later head of the same chain), and "
                "`" PROG " verify --records` lists what is not covered\n",
                w->next.seq, safe_str(w->p, err));
        rc = 1;
    }
    else {
        printf("attested:     event %s in the spool names head seq %"
               APR_UINT64_T_FMT " %s; httpd writes it into the audit chain "
               "within about 10 s, and the next signed checkpoint covers "
               "it\n", id, w->next.seq, hex);
    }
    free(d);
    return rc;
}

int records_commit(records_writer_t *w)
{
    char hex[65];
    size_t off = 0;
    ssize_t n;
    int rc = 0;

    while (off < w->len) {
        n = write(w->fd, w->buf + off, w->len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, PROG ": cannot write the records log %s: %s%s\n",
                    safe_str(w->p, w->r.path), strerror(errno),
                    off ? " (a line may be cut: `verify --records` shows "
                          "it)" : ". Nothing was recorded");
            records_abort(w);
            return 1;
        }
        off += (size_t)n;
    }
    if (fsync(w->fd) != 0) {
        fprintf(stderr, PROG ": cannot sync the records log: %s\n",
                strerror(errno));
        rc = 1;
    }
    verify_hex(w->next.hash, 32, hex);
    printf("recorded:     %s: seq %" APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT
           ", head %s\n", safe_str(w->p, w->r.path), w->first, w->next.seq,
           hex);
    if (spool_head(w) != 0) {
        rc = 1;
    }
    records_abort(w);
    return rc | write_failed();
}

void records_abort(records_writer_t *w)
{
    if (w->fd >= 0) {
        flock(w->fd, LOCK_UN);
        close(w->fd);
    }
    if (w->dirfd >= 0) {
        close(w->dirfd);
    }
    if (w->spool >= 0) {
        close(w->spool);
    }
    w->fd = w->dirfd = w->spool = -1;
}
