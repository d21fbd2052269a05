/*
 * watch.c -- verify-import --watch INBOX: the automatic import (R4.1.3).
 *
 * The transfer from the data provider writes each batch elsewhere on the
 * same file system (or under a name starting with '.') and renames it
 * into INBOX when it is complete; inotify reports the rename
 * (IN_MOVED_TO) and the watcher imports the file exactly as a one-shot
 * import_one() would, under the same rules: strict intake, replay and
 * key checks, the attempt recorded, the input destroyed. A refused file
 * is moved, unopened by anyone else, to the quarantine directory with a
 * FILE.reason beside it, and the watcher carries on. Files already in
 * INBOX at start (arrived while it was down) are taken first, in name
 * order; so are all of them again when inotify's queue overflowed.
 *
 * One file at a time: each import holds the store's lock anyway.
 * SIGTERM or SIGINT ends the watcher between two files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "verify-import/import.h"

#define REASON_SUFFIX ".reason"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* Open directory @p path; it must be a directory of ours that others
 * cannot write (@p closed: nor read). -1 with the reason said. */
static int open_dir(const char *opt, const char *path, int closed)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0) {
        fprintf(stderr, PROG ": %s %s: %s\n", opt, path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || sb.st_uid != geteuid()
        || (sb.st_mode & S_IWOTH) || (closed && (sb.st_mode & 077))) {
        fprintf(stderr, PROG ": %s %s: must be a directory of the importing "
                "user that others cannot write%s\n", opt, path,
                closed ? " (nor group or others read: mode 0700)" : "");
        close(fd);
        return -1;
    }
    return fd;
}

/* A name the watcher takes: not hidden (being written), not "." */
static int candidate(const char *name)
{
    return name[0] != '.' && name[0] != '\0';
}

/* Write @p text as @p name in directory @p dfd (0600, synced). */
static int write_at(int dfd, const char *name, const char *text)
{
    size_t len = strlen(text);
    int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                               | O_CLOEXEC, 0600);
    int rc = -1;

    if (fd < 0) {
        return -1;
    }
    if (write(fd, text, len) == (ssize_t)len && fsync(fd) == 0) {
        rc = 0;
    }
    close(fd);
    return rc;
}

/*
 * Move @p name (still the file @p sb names) from the inbox to the
 * quarantine as TIME-NAME, with TIME-NAME.reason holding @p why. The
 * name it gets, or NULL with the reason said.
 */
static const char *quarantine(int inbox, int qdir, const char *name,
                              const struct stat *sb, const char *why,
                              apr_pool_t *p)
{
    char ts[32];
    const char *to;
    struct stat now;
    struct tm tm;
    time_t t = time(NULL);
    int i;

    if (fstatat(inbox, name, &now, AT_SYMLINK_NOFOLLOW) != 0
        || now.st_dev != sb->st_dev || now.st_ino != sb->st_ino) {
        /* replaced meanwhile: the new file is an arrival of its own */
        fprintf(stderr, PROG ": watch: %s was replaced before it could be "
                "quarantined; the new file is taken as it comes\n", name);
        return NULL;
    }
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
    for (i = 0; i < 100; i++) {
        to = i ? apr_psprintf(p, "%s-%d-%s", ts, i, name)
               : apr_psprintf(p, "%s-%s", ts, name);
        if (renameat2(inbox, name, qdir, to, RENAME_NOREPLACE) == 0) {
            break;
        }
        if (errno != EEXIST) {
            fprintf(stderr, PROG ": watch: cannot move %s to the "
                    "quarantine: %s; it stays in the inbox\n", name,
                    strerror(errno));
            return NULL;
        }
    }
    if (i == 100) {
        fprintf(stderr, PROG ": watch: no free name for %s in the "
                "quarantine; it stays in the inbox\n", name);
        return NULL;
    }
    fsync(qdir);
    fsync(inbox);
    if (write_at(qdir, apr_pstrcat(p, to, REASON_SUFFIX, NULL),
                 apr_pstrcat(p, why, "\n", NULL)) != 0) {
        fprintf(stderr, PROG ": watch: cannot write %s%s: %s\n", to,
                REASON_SUFFIX, strerror(errno));
    }
    else {
        fsync(qdir);
    }
    return to;
}

/* Import one arrival; 0 imported, 1 refused (quarantined or not). */
static int take(const import_opts_t *o, int inbox, int qdir,
                const char *name, apr_pool_t *parent)
{
    import_opts_t one = *o;
    struct stat sb;
    apr_pool_t *p;
    const char *why, *to;
    int rc, accepted = 0;

    if (!candidate(name)
        || fstatat(inbox, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return 0;               /* gone already, or not ours to take */
    }
    apr_pool_create(&p, parent);
    one.file = apr_pstrcat(p, o->watch, "/", name, NULL);
    one.watch = NULL;
    fflush(stdout);
    rc = import_one(&one, &accepted, p);
    fflush(stdout);
    if (accepted) {
        fprintf(stderr, PROG ": watch: %s imported%s\n", name,
                rc ? " (see above)" : "");
        apr_pool_destroy(p);
        return 0;
    }
    why = import_last_fault();
    why = apr_pstrdup(p, why ? why : "refused (see the watcher's log)");
    to = quarantine(inbox, qdir, name, &sb, why, p);
    if (to) {
        fprintf(stderr, PROG ": watch: %s refused, moved to %s/%s (the "
                "reason in %s%s)\n", name, o->quarantine, to, to,
                REASON_SUFFIX);
    }
    apr_pool_destroy(p);
    return 1;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Everything in the inbox now, in name order. */
static void scan(const import_opts_t *o, int inbox, int qdir,
                 apr_pool_t *parent)
{
    apr_pool_t *p;
    apr_array_header_t *names;
    struct dirent *e;
    DIR *d;
    int fd, i;

    apr_pool_create(&p, parent);
    names = apr_array_make(p, 16, sizeof(char *));
    fd = openat(inbox, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) {
            close(fd);
        }
        fprintf(stderr, PROG ": watch: cannot read %s: %s\n", o->watch,
                strerror(errno));
        apr_pool_destroy(p);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (candidate(e->d_name) && strcmp(e->d_name, "..") != 0) {
            APR_ARRAY_PUSH(names, char *) = apr_pstrdup(p, e->d_name);
        }
    }
    closedir(d);
    qsort(names->elts, names->nelts, sizeof(char *), name_cmp);
    for (i = 0; i < names->nelts && !stopping; i++) {
        take(o, inbox, qdir, APR_ARRAY_IDX(names, i, char *), p);
    }
    apr_pool_destroy(p);
}

int watch_run(const import_opts_t *o, apr_pool_t *p)
{
    char buf[64 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
        __attribute__((aligned(__alignof__(struct inotify_event))));
    struct sigaction sa;
    struct stat a, b;
    int inbox, qdir, ino = -1, rc = 1;
    ssize_t n;

    inbox = open_dir("--watch", o->watch, 0);
    qdir = inbox < 0 ? -1 : open_dir("--quarantine", o->quarantine, 1);
    if (inbox < 0 || qdir < 0) {
        goto done;
    }
    if (fstat(inbox, &a) != 0 || fstat(qdir, &b) != 0
        || a.st_dev != b.st_dev) {
        /* a refused file is renamed, never copied */
        fprintf(stderr, PROG ": --quarantine %s must be on the file system "
                "of --watch %s\n", o->quarantine, o->watch);
        goto done;
    }
    ino = inotify_init1(IN_CLOEXEC);
    if (ino < 0 || inotify_add_watch(ino, o->watch, IN_MOVED_TO
                                     | IN_ONLYDIR | IN_DONT_FOLLOW) < 0) {
        fprintf(stderr, PROG ": --watch %s: cannot watch: %s\n", o->watch,
                strerror(errno));
        goto done;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;  /* no SA_RESTART: read() returns */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    fprintf(stderr, PROG ": watch: importing %s batches renamed into %s; "
            "refused ones go to %s\n", verify_source_name(o->src), o->watch,
            o->quarantine);
    /* what arrived while nobody watched */
    scan(o, inbox, qdir, p);
    while (!stopping) {
        char *at;
        n = read(ino, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, PROG ": watch: inotify: %s\n",
                    n < 0 ? strerror(errno) : "end of events");
            goto done;
        }
        for (at = buf; at < buf + n && !stopping;) {
            struct inotify_event *ev = (struct inotify_event *)at;

            at += sizeof(*ev) + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                scan(o, inbox, qdir, p);
            }
            else if (ev->mask & IN_IGNORED) {
                fprintf(stderr, PROG ": watch: %s is gone\n", o->watch);
                goto done;
            }
            else if (ev->len) {
                /* a directory renamed in is refused and moved too */
                take(o, inbox, qdir, ev->name, p);
            }
        }
    }
    fprintf(stderr, PROG ": watch: stopped\n");
    rc = 0;

done:
    if (ino >= 0) {
        close(ino);
    }
    if (qdir >= 0) {
        close(qdir);
    }
    if (inbox >= 0) {
        close(inbox);
    }
    return rc;
}
