/*
 * verify_snapshot_read.c -- the readers of the published snapshots
 * (httpd children; the importer's side is verify_snapshot.c).
 *
 * They open the published snapshot read-only with MDB_NOLOCK: it is
 * never written again, so there is no reader table. One lstat() of
 * `current` per lookup tells them a newer one is out. They hold a
 * shared flock on the directory of each snapshot they have open, so
 * that the importer removes only snapshots nobody reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_time.h>
#include "verify_snapshot.h"

/* a failed open of the same `current` is retried after this */
#define RETRY_USEC apr_time_from_sec(1)
/* how often `current` may move while one snapshot is opened */
#define OPEN_TRIES 5

/* What `current` looked like: a new link is a new inode with new times. */
typedef struct link_state_t {
    int exists;
    dev_t dev;
    ino_t ino;
    struct timespec mtim;
    struct timespec ctim;
} link_state_t;

struct verify_snap_t {
    verify_store_t *st;
    apr_pool_t *pool;           /* unmanaged: threads never share it */
    int fd;                     /* the directory, flocked; -1: old layout */
    unsigned refs;              /* the reader's own, and each holder's */
    char name[VERIFY_SNAP_NAME_MAX];
};

struct verify_snap_reader_t {
    pthread_mutex_t mu;
    const char *dir;
    const char *current;        /* DIR/current */
    verify_snap_t *snap;        /* the newest opened, or NULL */
    link_state_t state;         /* of `current` when snap was opened */
    link_state_t fail_state;    /* of `current` at the last failure */
    apr_time_t fail_until;
    apr_status_t fail_rv;       /* and what it was */
};

static int read_state(const char *path, link_state_t *ls)
{
    struct stat sb;

    memset(ls, 0, sizeof(*ls));
    if (lstat(path, &sb) != 0) {
        return errno == ENOENT ? 0 : -1;
    }
    ls->exists = 1;
    ls->dev = sb.st_dev;
    ls->ino = sb.st_ino;
    ls->mtim = sb.st_mtim;
    ls->ctim = sb.st_ctim;
    return 0;
}

static int same_state(const link_state_t *a, const link_state_t *b)
{
    return a->exists == b->exists
           && (!a->exists
               || (a->dev == b->dev && a->ino == b->ino
                   && a->mtim.tv_sec == b->mtim.tv_sec
                   && a->mtim.tv_nsec == b->mtim.tv_nsec
                   && a->ctim.tv_sec == b->ctim.tv_sec
                   && a->ctim.tv_nsec == b->ctim.tv_nsec));
}

static void snap_close(verify_snap_t *s)
{
    int fd = s->fd;             /* s lives in its pool */

    apr_pool_destroy(s->pool);  /* closes the environment */
    if (fd >= 0) {
        close(fd);              /* and lets go of the shared lock */
    }
}

/* One reference less; the last one closes. Under r->mu. */
static void snap_unref(verify_snap_t *s)
{
    if (--s->refs == 0) {
        snap_close(s);
    }
}

static apr_status_t reader_cleanup(void *data)
{
    verify_snap_reader_t *r = data;

    if (r->snap) {
        snap_unref(r->snap);
        r->snap = NULL;
    }
    pthread_mutex_destroy(&r->mu);
    return APR_SUCCESS;
}

apr_status_t verify_snap_reader_create(verify_snap_reader_t **out,
                                       const char *dir, apr_pool_t *p)
{
    verify_snap_reader_t *r = apr_pcalloc(p, sizeof(*r));

    if (pthread_mutex_init(&r->mu, NULL) != 0) {
        return APR_ENOMEM;
    }
    r->dir = apr_pstrdup(p, dir);
    r->current = apr_pstrcat(p, dir, "/" VERIFY_SNAP_CURRENT, NULL);
    apr_pool_cleanup_register(p, r, reader_cleanup, apr_pool_cleanup_null);
    *out = r;
    return APR_SUCCESS;
}

/* Open the old layout's environment in the directory itself. */
static apr_status_t open_legacy(verify_snap_reader_t *r, verify_snap_t *s,
                                char **err, apr_pool_t *ep)
{
    char *e = NULL;
    apr_status_t rv;

    rv = verify_store_open(&s->st, r->dir, VERIFY_STORE_READONLY
                           | VERIFY_STORE_NOLOCK, 0, &e, s->pool);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *err = apr_psprintf(ep, "store %s has no published snapshot yet "
                            "(no batch imported)", r->dir);
    }
    else if (rv != APR_SUCCESS) {
        *err = apr_pstrdup(ep, e);
    }
    return rv;
}

/* Open what `current` names, holding a shared lock on it. If the
 * importer removes it meanwhile (`current` has moved on), try again. */
static apr_status_t open_current(verify_snap_reader_t *r, verify_snap_t *s,
                                 char **err, apr_pool_t *ep)
{
    char *path, *e = NULL;
    ssize_t n;
    int tries, gone;

    for (tries = 0; tries < OPEN_TRIES; tries++) {
        n = readlink(r->current, s->name, sizeof(s->name) - 1);
        if (n < 0) {
            *err = apr_psprintf(ep, "cannot read %s: %s", r->current,
                                strerror(errno));
            return APR_FROM_OS_ERROR(errno);
        }
        s->name[n] = '\0';
        if (!verify_snapshot_name_ok(s->name)) {
            *err = apr_psprintf(ep, "%s does not name a snapshot",
                                r->current);
            return APR_EGENERAL;
        }
        path = apr_pstrcat(ep, r->dir, "/", s->name, NULL);
        s->fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        gone = s->fd < 0 && errno == ENOENT;
        if (s->fd >= 0 && flock(s->fd, LOCK_SH | LOCK_NB) != 0) {
            /* the importer is removing it: no longer current */
            gone = errno == EWOULDBLOCK;
        }
        else if (s->fd >= 0) {
            /* locked; still there, or removed before we locked it? */
            gone = faccessat(s->fd, VERIFY_STORE_DATA_FILE, F_OK, 0) != 0
                   && errno == ENOENT;
            if (!gone) {
                apr_status_t rv = verify_store_open(
                    &s->st, path, VERIFY_STORE_READONLY
                    | VERIFY_STORE_NOLOCK, 0, &e, s->pool);
                if (rv != APR_SUCCESS) {
                    *err = apr_pstrdup(ep, e);
                }
                return rv;
            }
        }
        if (!gone) {
            *err = apr_psprintf(ep, "cannot open snapshot %s: %s", path,
                                strerror(errno));
            return APR_FROM_OS_ERROR(errno);
        }
        if (s->fd >= 0) {
            close(s->fd);
            s->fd = -1;
        }
    }
    *err = apr_psprintf(ep, "%s kept moving; no snapshot opened",
                        r->current);
    return APR_EGENERAL;
}

/* A new snapshot object for the state @p ls of `current`. Under r->mu. */
static apr_status_t snap_open(verify_snap_reader_t *r,
                              const link_state_t *ls, verify_snap_t **out,
                              char **err, apr_pool_t *ep)
{
    verify_snap_t *s;
    apr_pool_t *sp = NULL;
    apr_status_t rv;

    rv = apr_pool_create_unmanaged_ex(&sp, NULL, NULL);
    if (rv != APR_SUCCESS) {
        *err = apr_pstrdup(ep, "out of memory");
        return rv;
    }
    s = apr_pcalloc(sp, sizeof(*s));
    s->pool = sp;
    s->fd = -1;
    rv = ls->exists ? open_current(r, s, err, ep)
                    : open_legacy(r, s, err, ep);
    if (rv != APR_SUCCESS) {
        snap_close(s);
        return rv;
    }
    *out = s;
    return APR_SUCCESS;
}

apr_status_t verify_snap_acquire(verify_snap_reader_t *r, verify_snap_t **out,
                                 char **err, apr_pool_t *ep)
{
    link_state_t ls;
    verify_snap_t *s = NULL;
    apr_status_t rv = APR_SUCCESS;

    *out = NULL;
    if (read_state(r->current, &ls) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        *err = apr_psprintf(ep, "cannot stat %s: %s", r->current,
                            strerror(errno));
        return rv;
    }
    pthread_mutex_lock(&r->mu);
    if (r->snap && same_state(&ls, &r->state)) {
        s = r->snap;
    }
    else if (r->fail_until && same_state(&ls, &r->fail_state)
             && apr_time_now() < r->fail_until) {
        *err = NULL;            /* told already, at the failed attempt */
        rv = r->fail_rv;
    }
    else {
        rv = snap_open(r, &ls, &s, err, ep);
        if (rv == APR_SUCCESS) {
            if (r->snap) {
                snap_unref(r->snap);    /* closed when its last user ends */
            }
            s->refs = 1;
            r->snap = s;
            r->state = ls;
            r->fail_until = 0;
        }
        else {
            r->fail_state = ls;
            r->fail_until = apr_time_now() + RETRY_USEC;
            r->fail_rv = rv;
        }
    }
    if (s) {
        s->refs++;
        *out = s;
    }
    pthread_mutex_unlock(&r->mu);
    return rv;
}

void verify_snap_release(verify_snap_reader_t *r, verify_snap_t *s)
{
    if (s) {
        pthread_mutex_lock(&r->mu);
        snap_unref(s);
        pthread_mutex_unlock(&r->mu);
    }
}

verify_store_t *verify_snap_store(const verify_snap_t *s)
{
    return s->st;
}

const char *verify_snap_name(const verify_snap_t *s)
{
    return s->name;
}

int verify_snapshot_legacy(const char *dir)
{
    struct stat sb;
    char path[4096];

    snprintf(path, sizeof(path), "%s/" VERIFY_SNAP_CURRENT, dir);
    if (lstat(path, &sb) == 0) {
        return 0;
    }
    if (errno != ENOENT) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/" VERIFY_STORE_DATA_FILE, dir);
    if (lstat(path, &sb) == 0) {
        return 1;
    }
    return errno == ENOENT ? 0 : -1;
}
