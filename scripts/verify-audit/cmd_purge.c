/*
 * cmd_purge.c -- delete the daily audit files older than a date at least
 * 5 years ago (R4.1.5, R4.2.5), after checking the whole chain; the
 * checkpoint written first (seq and hash of the last line purged) is
 * where verify resumes. The purge, or its refusal, is an event of the
 * chain: it goes into the event spool, which httpd drains.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_strings.h>
#include <apr_file_info.h>
#include "print.h"
#include "tool.h"

/* What a purge deletes. */
typedef struct purge_t {
    const char *before;         /* as given */
    int n;                      /* the first n files go */
    const verify_scan_file_t *last; /* the last of them with a line */
    char last_day[11];          /* the date of the last of them */
    char hex[65];               /* hash of the last line purged */
    const char *cp_name;        /* the checkpoint to write */
    const char *cp_path;        /* and its path */
    int has_edge;               /* edge is the tree's at the last line */
    verify_merkle_edge_t edge;
} purge_t;

/* --before: a date. @return 0, or the exit status */
static int parse_before(const char *before, verify_date_t *b,
                        apr_pool_t *p)
{
    *b = verify_date_parse_iso(before, strlen(before));
    if (!*b) {
        fprintf(stderr, PROG ": --before must be a date as YYYY-MM-DD, not "
                "\"%s\"\n", safe_str(p, before));
        return 2;
    }
    return 0;
}

/* --before: at least 5 years ago. @return 0, or the exit status */
static int check_before(const char *before, verify_date_t b)
{
    verify_date_t today = verify_date_taipei(apr_time_now());
    verify_date_t limit = verify_date_months_before(today, KEEP_MONTHS);
    char limit_s[11], today_s[11];

    if (b > limit) {
        verify_date_format(today, today_s);
        verify_date_format(limit, limit_s);
        fprintf(stderr, PROG ": purge refused: %s is less than 5 years "
                "before today (%s, Taipei time). Audit files are kept at "
                "least 5 years (R4.1.5, R4.2.5): --before %s is the latest "
                "allowed. Nothing was deleted.\n", before, today_s, limit_s);
        return 1;
    }
    return 0;
}

/* The files older than @p b: the first x->n of the chain, x->last the
 * last of them that holds a line. */
static void choose(purge_t *x, const verify_scan_t *s, verify_date_t b)
{
    int i;

    for (i = 0; i < s->paths->nelts; i++) {
        verify_date_t fd = verify_audit_name_date(s->files[i].path);
        if (fd && fd < b) {
            if (i != x->n) {
                break;  /* files in name order: older ones come first */
            }
            x->n++;
            if (s->files[i].lines) {
                x->last = &s->files[i];
            }
        }
    }
}

/* Write all of @p d to @p fd; 0 or -1. */
static int write_all(int fd, const char *d, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(fd, d, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        d += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * The tree's right edge at the last line purged, kept in the checkpoint:
 * no leaf before it survives the purge, and the httpd parent (which
 * signs the tree) and the tree commands go on from it. Taken on from
 * the previous purge's edge when the log was purged before. Sets
 * x->has_edge; a previous checkpoint without an edge (an older purge)
 * leaves none, said. @return 0, or the exit status.
 */
static int purged_edge(purge_t *x, const audit_args_t *all, apr_pool_t *p)
{
    uint64_t last = x->last->end.seq;
    verify_follow_stop_t stop;
    verify_merkle_edge_t pe;
    verify_follow_t f;
    verify_chain_t c;
    char *err = NULL;
    apr_status_t rv;
    int dirfd;

    if (all->checkpoint) {
        if (verify_audit_checkpoint_read(all->checkpoint, &c, &err, p)
            != APR_SUCCESS
            || verify_audit_checkpoint_edge(all->checkpoint, (uid_t)-1, &pe,
                                            &err, p) != APR_SUCCESS) {
            fprintf(stderr, PROG ": note: %s: the new checkpoint keeps no "
                    "tree edge either\n", safe_str(p, err));
            return 0;
        }
        verify_follow_init_at(&f, &c, &pe);
    }
    else {
        verify_follow_init(&f);
    }
    dirfd = open(all->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        fprintf(stderr, PROG ": cannot open %s: %s; nothing was deleted\n",
                all->dir, strerror(errno));
        return 1;
    }
    do {
        rv = verify_follow_run(&f, dirfd, (uid_t)-1, last - f.chain.seq,
                               &stop, &err, p);
    } while (rv == APR_SUCCESS && stop == VERIFY_FOLLOW_DAY_END
             && f.chain.seq < last);
    close(dirfd);
    if (rv != APR_SUCCESS || f.chain.seq != last) {
        fprintf(stderr, PROG ": cannot compute the tree at the last line "
                "to purge (%s); nothing was deleted\n",
                rv != APR_SUCCESS ? safe_str(p, err) : "lines missing");
        return 1;
    }
    x->edge = f.edge;
    x->has_edge = 1;
    return 0;
}

/* Say that @p name of the audit directory was refused; the exit status. */
static int cp_refused(const char *dir, const char *name, const char *why)
{
    fprintf(stderr, PROG ": refusing %s/%s: %s. The audit directory "
            "belongs to the web server's user: purge follows nothing "
            "planted there. Look at it, remove it, and run purge again; "
            "nothing was deleted\n", dir, name, why);
    return 1;
}

/*
 * Write the checkpoint: a new temporary file made through a descriptor
 * of the directory (O_EXCL, never following a link), written, synced
 * and made 0640 through its descriptor, then renamed into place. The
 * directory is the run-time user's and purge runs as root: a name in
 * the way that is not a plain file of ours is refused, not used.
 */
static int write_checkpoint(const purge_t *x, const char *dir,
                            const char *name, apr_pool_t *p)
{
    const char *tmp = apr_pstrcat(p, name, ".tmp", NULL);
    const char *why = NULL;
    char now[26], *d;
    int dirfd, fd, rc = 1;
    json_t *cp;

    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        fprintf(stderr, PROG ": cannot open %s: %s; nothing was deleted\n",
                dir, strerror(errno));
        return 1;
    }
    /* an earlier checkpoint of that day is replaced, anything else not */
    fd = verify_audit_openat(dirfd, name, O_RDONLY, 0, geteuid(),
                             (gid_t)-1, &why, p);
    if (fd >= 0) {
        close(fd);
    }
    else if (why || errno != ENOENT) {
        rc = cp_refused(dir, name, why ? why : strerror(errno));
        goto cleanup;
    }
    fd = verify_audit_openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL, 0640,
                             geteuid(), (gid_t)-1, &why, p);
    if (fd < 0) {
        rc = cp_refused(dir, tmp, why ? why : strerror(errno));
        goto cleanup;
    }
    verify_time_format_s(apr_time_now(), now);
    cp = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:I}",
                   "tool", PROG " purge", "before", x->before,
                   "purged_through", x->last_day,
                   "last_seq", (json_int_t)x->last->end.seq,
                   "last_hash", x->hex, "purged_at", now,
                   "files", (json_int_t)x->n);
    if (cp && x->has_edge) {
        json_object_set_new(cp, "tree_size",
                            json_integer((json_int_t)x->edge.size));
        json_object_set_new(cp, "edge", json_loads(
            verify_audit_edge_json(&x->edge, p), 0, NULL));
    }
    d = cp ? json_dumps(cp, JSON_COMPACT) : NULL;
    json_decref(cp);
    errno = ENOMEM;
    if (!d || write_all(fd, d, strlen(d)) != 0 || write_all(fd, "\n", 1)
        || fchmod(fd, 0640) != 0 || fsync(fd) != 0 || close(fd) != 0
        || (fd = -1, renameat(dirfd, tmp, dirfd, name) != 0)
        || fsync(dirfd) != 0) {
        fprintf(stderr, PROG ": cannot write the checkpoint %s/%s: %s; "
                "nothing was deleted\n", dir, name, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        unlinkat(dirfd, tmp, 0);    /* ours: made with O_EXCL above */
    }
    else {
        rc = 0;
    }
    free(d);

cleanup:
    close(dirfd);
    return rc;
}

/* The whole chain of the audit directory, checked first. @return 0, or
 * the exit status. */
static int scan_dir(const audit_args_t *a, audit_args_t *all,
                    verify_scan_t *s, apr_pool_t *p)
{
    const char *dir = a->dir;
    char *err = NULL;

    *all = *a;
    all->files = apr_array_make(p, 16, sizeof(const char *));
    if (verify_audit_collect(1, &dir, all->files, &all->checkpoint, &err, p)
        != APR_SUCCESS) {
        fprintf(stderr, PROG ": %s\n", err);
        return 1;
    }
    if (all->files->nelts == 0) {
        fprintf(stderr, PROG ": no audit files in %s\n", dir);
        return 1;
    }
    scan_init(s, all, NULL, NULL, p);
    if (scan_intact(s, "purge") != 0) {
        fprintf(stderr, PROG ": nothing was deleted\n");
        return 1;
    }
    return 0;
}

/* Nothing to purge, or a purge refused: the exit status; -1 go on. */
static int refused(const purge_t *x, const verify_scan_t *s,
                   const char *dir)
{
    if (x->n == 0) {
        printf("nothing to purge: no audit file in %s is older than %s\n",
               dir, x->before);
        return write_failed();
    }
    if (!x->last) {
        fprintf(stderr, PROG ": the files older than %s hold no line: "
                "nothing to check point; remove them by hand\n", x->before);
        return 1;
    }
    if (x->n == s->paths->nelts) {
        fprintf(stderr, PROG ": purge refused: every audit file in %s is "
                "older than %s; keep at least the newest\n", dir,
                x->before);
        return 1;
    }
    return -1;
}

/* The files to delete and the checkpoint to write. */
static void print_plan(const purge_t *x, const verify_scan_t *s,
                       int dry_run)
{
    int i;

    for (i = 0; i < x->n; i++) {
        printf("%s %s (%" APR_UINT64_T_FMT " line(s), seq %"
               APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT ")\n",
               dry_run ? "would delete" : "delete", s->files[i].path,
               s->files[i].lines, s->files[i].first_seq,
               s->files[i].last_seq);
    }
    printf("%s %s: last purged line seq %" APR_UINT64_T_FMT ", hash %s\n",
           dry_run ? "would write checkpoint" : "checkpoint", x->cp_path,
           x->last->end.seq, x->hex);
}

/* The spool that carries the purge into the chain, or -1 with *err
 * saying why. */
static int spool_open(const audit_args_t *a, char **err, apr_pool_t *p)
{
    const char *path = a->events ? a->events : VERIFY_SPOOL_DEFAULT;
    int fd = -1;

    if (verify_spool_open(path, 0, geteuid(), &fd, err, p) != APR_SUCCESS) {
        return -1;
    }
    return fd;
}

/* The purge's event into the spool: 0, or 1 with the reason said. */
static int record(int spool, verify_event_purge_t *ev, apr_pool_t *p)
{
    char mem[VERIFY_EVENT_MAX], *err = NULL;
    verify_jbuf_t b;

    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_purge(&b, ev);
    if (b.overflow
        || verify_spool_put(spool, b.buf, b.len, apr_time_now(), NULL, NULL,
                            &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": the purge was not recorded in the event "
                "spool (%s): the audit chain will not show it; keep this "
                "output: {%.*s}\n", b.overflow ? "too long" : safe_str(p, err),
                b.overflow ? 0 : (int)(b.len - 1), b.buf + 1);
        return 1;
    }
    return 0;
}

/* Delete the files, counting those deleted into ev->files. */
static int delete_counted(const purge_t *x, const verify_scan_t *s,
                          verify_event_purge_t *ev, apr_pool_t *p)
{
    int i;

    for (i = 0; i < x->n; i++) {
        if (unlink(s->files[i].path) != 0) {
            ev->fault = apr_psprintf(p, "cannot delete %s: %s",
                                     s->files[i].path, strerror(errno));
            fprintf(stderr, PROG ": %s\n", safe_str(p, ev->fault));
            return 1;
        }
        ev->files++;
    }
    return 0;
}

int cmd_purge(const audit_args_t *a, apr_pool_t *p)
{
    verify_event_purge_t ev;
    verify_date_t b, last_day;
    audit_args_t all;
    verify_scan_t s;
    char cp_name[32], *spool_err = NULL;
    apr_finfo_t fi;
    purge_t x;
    int rc, spool = -1;

    if (strcmp(safe_str(p, a->dir), a->dir) != 0) {
        /* every message below names the directory: refuse a name that
         * would print control characters rather than print it raw */
        fprintf(stderr, PROG ": purge refused: the directory name %s holds "
                "characters that cannot be shown; nothing was deleted\n",
                safe_str(p, a->dir));
        return 1;
    }
    rc = parse_before(a->before, &b, p);
    if (rc != 0) {
        return rc;
    }
    if (apr_stat(&fi, a->dir, APR_FINFO_TYPE, p) != APR_SUCCESS
        || fi.filetype != APR_DIR) {
        fprintf(stderr, PROG ": purge needs the audit directory, and %s is "
                "not one\n", a->dir);
        return 2;
    }
    memset(&ev, 0, sizeof(ev));
    ev.result = "refused";
    ev.audit_dir = a->dir;
    ev.before = a->before;
    memset(&x, 0, sizeof(x));
    x.before = a->before;
    if (!a->dry_run) {
        /* a dry run changes nothing and is not recorded */
        spool = spool_open(a, &spool_err, p);
        ev.user = verify_event_user(p);
    }
    rc = check_before(a->before, b);
    if (rc != 0) {
        ev.fault = "less than 5 years before today (R4.1.5, R4.2.5)";
        goto cleanup;
    }
    rc = scan_dir(a, &all, &s, p);
    if (rc != 0) {
        ev.fault = "the audit directory could not be read, holds no audit "
                   "file, or its chain is broken";
        goto cleanup;
    }
    choose(&x, &s, b);
    rc = refused(&x, &s, a->dir);
    if (rc >= 0) {
        /* nothing older than the date: nothing done, nothing refused */
        ev.fault = x.n == 0 ? NULL
                   : !x.last ? "the files older than the date hold no line"
                   : "every audit file is older than the date";
        goto cleanup;
    }
    last_day = verify_audit_name_date(s.files[x.n - 1].path);
    verify_date_format(last_day, x.last_day);
    verify_audit_checkpoint_filename(last_day, cp_name);
    x.cp_name = cp_name;
    x.cp_path = apr_pstrcat(p, a->dir, "/", cp_name, NULL);
    verify_hex(x.last->end.hash, 32, x.hex);
    rc = purged_edge(&x, &all, p);
    if (rc != 0) {
        ev.fault = "the tree at the last line to purge could not be computed";
        goto cleanup;
    }
    print_plan(&x, &s, a->dry_run);
    if (a->dry_run) {
        printf("dry run: nothing was changed\n");
        return write_failed();
    }
    if (spool < 0) {
        /* a purge the chain would not show is not made */
        fprintf(stderr, PROG ": purge refused: it could not be recorded in "
                "the audit chain: %s. httpd makes the spool at start as "
                "<VerifyStore>/" VERIFY_SPOOL_NAME "; name it with --events "
                "SPOOL. Nothing was deleted\n", safe_str(p, spool_err));
        return 1;
    }
    if (write_checkpoint(&x, a->dir, x.cp_name, p) != 0) {
        ev.fault = "the purge checkpoint could not be written";
        rc = 1;
        goto cleanup;
    }
    ev.purged_through = x.last_day;
    ev.have_last = 1;
    ev.last_seq = x.last->end.seq;
    ev.last_hash = x.hex;
    ev.checkpoint = x.cp_name;
    if (delete_counted(&x, &s, &ev, p) != 0) {
        /* some files may be gone: not a refusal */
        ev.result = "failed";
        rc = 1;
        goto cleanup;
    }
    ev.result = "purged";
    printf("purged %d file(s); `" PROG " verify %s` now starts from the "
           "checkpoint\n", x.n, a->dir);
    rc = write_failed();

cleanup:
    if (!a->dry_run && (ev.fault || ev.files > 0)) {
        if (spool < 0) {
            fprintf(stderr, PROG ": (this refusal is not recorded in the "
                    "audit chain: %s)\n", safe_str(p, spool_err));
        }
        else if (record(spool, &ev, p) != 0 && rc == 0) {
            rc = 1;
        }
    }
    if (spool >= 0) {
        close(spool);
    }
    return rc;
}
