/*
 * cmd_purge.c -- delete the daily audit files older than a date at least
 * 5 years ago (R4.1.5, R4.2.5), after checking the whole chain; the
 * checkpoint written first (seq and hash of the last line purged) is
 * where verify resumes.
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
} purge_t;

/* --before: a date at least 5 years ago. @return 0, or the exit status */
static int check_before(const char *before, verify_date_t *b,
                        apr_pool_t *p)
{
    verify_date_t today = verify_date_taipei(apr_time_now());
    verify_date_t limit = verify_date_months_before(today, KEEP_MONTHS);
    char limit_s[11], today_s[11];

    *b = verify_date_parse_iso(before, strlen(before));
    if (!*b) {
        fprintf(stderr, PROG ": --before must be a date as YYYY-MM-DD, not "
                "\"%s\"\n", safe_str(p, before));
        return 2;
    }
    if (*b > limit) {
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
    apr_finfo_t fi;

    if (apr_stat(&fi, dir, APR_FINFO_TYPE, p) != APR_SUCCESS
        || fi.filetype != APR_DIR) {
        fprintf(stderr, PROG ": purge needs the audit directory, and %s is "
                "not one\n", dir);
        return 2;
    }
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

static int delete_files(const purge_t *x, const verify_scan_t *s)
{
    int i;

    for (i = 0; i < x->n; i++) {
        if (unlink(s->files[i].path) != 0) {
            fprintf(stderr, PROG ": cannot delete %s: %s\n",
                    s->files[i].path, strerror(errno));
            return 1;
        }
    }
    return 0;
}

int cmd_purge(const audit_args_t *a, apr_pool_t *p)
{
    verify_date_t b, last_day;
    audit_args_t all;
    verify_scan_t s;
    char cp_name[32];
    purge_t x;
    int rc;

    if (strcmp(safe_str(p, a->dir), a->dir) != 0) {
        /* every message below names the directory: refuse a name that
         * would print control characters rather than print it raw */
        fprintf(stderr, PROG ": purge refused: the directory name %s holds "
                "characters that cannot be shown; nothing was deleted\n",
                safe_str(p, a->dir));
        return 1;
    }
    rc = check_before(a->before, &b, p);
    if (rc == 0) {
        rc = scan_dir(a, &all, &s, p);
    }
    if (rc != 0) {
        return rc;
    }
    memset(&x, 0, sizeof(x));
    x.before = a->before;
    choose(&x, &s, b);
    rc = refused(&x, &s, a->dir);
    if (rc >= 0) {
        return rc;
    }
    last_day = verify_audit_name_date(s.files[x.n - 1].path);
    verify_date_format(last_day, x.last_day);
    verify_audit_checkpoint_filename(last_day, cp_name);
    x.cp_name = cp_name;
    x.cp_path = apr_pstrcat(p, a->dir, "/", cp_name, NULL);
    verify_hex(x.last->end.hash, 32, x.hex);
    print_plan(&x, &s, a->dry_run);
    if (a->dry_run) {
        printf("dry run: nothing was changed\n");
        return write_failed();
    }
    if (write_checkpoint(&x, a->dir, x.cp_name, p) != 0
        || delete_files(&x, &s) != 0) {
        return 1;
    }
    printf("purged %d file(s); `" PROG " verify %s` now starts from the "
           "checkpoint\n", x.n, a->dir);
    return write_failed();
}
