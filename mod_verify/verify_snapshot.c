/*
 * verify_snapshot.c -- the store as immutable published snapshots.
 *
 * The importer (root) writes each import as a new complete LMDB
 * environment in its own directory and publishes it by renaming a
 * `current.tmp` link over `current`. It reaches everything through the
 * store directory's descriptor and opens LMDB with MDB_NOLOCK through
 * /proc/self/fd, so it never reads a lock file or any other state the
 * readers' user could write.
 *
 * Readers (httpd children) open the published snapshot read-only with
 * MDB_NOLOCK: it is never written again, so there is no reader table.
 * One lstat() of `current` per lookup tells them a newer one is out.
 * They hold a shared flock on the directory of each snapshot they have
 * open; the importer removes an old snapshot only when it can take the
 * lock exclusively.
 */
#include <ctype.h>
#include <dirent.h>
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
#include <openssl/rand.h>
#include "verify_text.h"
#include "verify_snapshot.h"

#define NAME_MAX_LEN 64
/* a failed open of the same `current` is retried after this */
#define RETRY_USEC apr_time_from_sec(1)
/* readers: how often `current` may move while one snapshot is opened */
#define OPEN_TRIES 5

/* "snap-" and then letters, digits and '-': never a path. */
static int snap_name_ok(const char *s)
{
    size_t i, n = strlen(s), pre = sizeof(VERIFY_SNAP_PREFIX) - 1;

    if (n <= pre || n >= NAME_MAX_LEN
        || strncmp(s, VERIFY_SNAP_PREFIX, pre) != 0) {
        return 0;
    }
    for (i = pre; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-') {
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* The importer                                                        */
/* ------------------------------------------------------------------ */

typedef struct import_t {
    const char *dir;
    gid_t gid;
    int dfd;                    /* the store directory */
    int lockfd;                 /* VERIFY_SNAP_IMPORT_LOCK, flocked */
    int basefd;                 /* the base's data file, or -1 */
    int snapfd;                 /* the new snapshot's directory */
    int datafd;                 /* its data file */
    int published;
    char name[NAME_MAX_LEN];    /* the new snapshot */
    char **err;
    apr_pool_t *p;
} import_t;

/* *err = "store DIR: WHAT[: strerror(e)]" */
static apr_status_t fault(import_t *im, int e, const char *what)
{
    *im->err = apr_psprintf(im->p, "store %s: %s%s%s", im->dir, what,
                            e ? ": " : "", e ? strerror(e) : "");
    return e ? APR_FROM_OS_ERROR(e) : APR_EGENERAL;
}

/* Is @p fd (reached with O_NOFOLLOW) of @p type, ours, and writable by
 * nobody else? NULL if so, else what is wrong. */
static const char *unsafe(int fd, mode_t type, struct stat *sb)
{
    if (fstat(fd, sb) != 0) {
        return "cannot stat";
    }
    if ((sb->st_mode & S_IFMT) != type) {
        return type == S_IFDIR ? "not a directory" : "not a regular file";
    }
    if (sb->st_uid != geteuid()) {
        return "not owned by the importing user";
    }
    if (sb->st_mode & (S_IWGRP | S_IWOTH)) {
        return "writable by group or others";
    }
    return NULL;
}

/* openat(@p at, @p name, O_NOFOLLOW) and check it; -1 with *err set. */
static int open_checked(import_t *im, int at, const char *name, int flags,
                        mode_t type)
{
    struct stat sb;
    const char *bad;
    int fd = openat(at, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0) {
        fault(im, errno, apr_psprintf(im->p, "cannot open %s", name));
        return -1;
    }
    bad = unsafe(fd, type, &sb);
    if (bad) {
        fault(im, 0, apr_psprintf(im->p, "%s is %s; refusing to use it",
                                  name, bad));
        close(fd);
        return -1;
    }
    return fd;
}

static void fd_path(int fd, char buf[32])
{
    snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

static void close_fd(int *fd);

/* Open (or create) the store directory, given to the readers' group
 * (with @p new_only, only when it is created here). */
static apr_status_t store_dir(import_t *im, int new_only)
{
    struct stat sb;
    const char *bad;
    int created = mkdir(im->dir, VERIFY_SNAP_DIR_MODE) == 0;

    if (!created && errno != EEXIST) {
        return fault(im, errno, "cannot create the directory");
    }
    im->dfd = open(im->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                            | O_CLOEXEC);
    if (im->dfd < 0) {
        return fault(im, errno, "cannot open the directory");
    }
    bad = unsafe(im->dfd, S_IFDIR, &sb);
    if (bad) {
        return fault(im, 0, apr_psprintf(im->p, "the directory is %s; "
                                         "refusing to import into it", bad));
    }
    if (im->gid == (gid_t)-1) {
        im->gid = sb.st_gid;
    }
    if ((created || (!new_only && im->gid != sb.st_gid))
        && (fchown(im->dfd, (uid_t)-1, im->gid) != 0
            || fchmod(im->dfd, VERIFY_SNAP_DIR_MODE) != 0)) {
        return fault(im, errno, "cannot give the directory to the "
                     "readers' group");
    }
    return APR_SUCCESS;
}

apr_status_t verify_snapshot_dir_prepare(const char *dir, gid_t gid,
                                         char **err, apr_pool_t *p)
{
    import_t im;
    apr_status_t rv;

    memset(&im, 0, sizeof(im));
    im.dir = dir;
    im.gid = gid;
    im.dfd = -1;
    im.err = err;
    im.p = p;
    rv = store_dir(&im, 1);
    close_fd(&im.dfd);
    return rv;
}

/* Open (or create) the store directory and take the import lock. */
static apr_status_t open_store_dir(import_t *im, int new_only)
{
    apr_status_t rv = store_dir(im, new_only);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    im->lockfd = open_checked(im, im->dfd, VERIFY_SNAP_IMPORT_LOCK,
                              O_RDWR | O_CREAT, S_IFREG);
    if (im->lockfd < 0) {
        return APR_EGENERAL;
    }
    /* one importer at a time; the next one waits */
    if (flock(im->lockfd, LOCK_EX) != 0) {
        return fault(im, errno, "cannot lock " VERIFY_SNAP_IMPORT_LOCK);
    }
    return APR_SUCCESS;
}

struct verify_snap_lock_t {
    const char *dir;
    gid_t gid;                  /* the readers' group, resolved */
    int dfd;                    /* the store directory */
    int lockfd;                 /* VERIFY_SNAP_IMPORT_LOCK, flocked */
};

void verify_snapshot_unlock(verify_snap_lock_t *l)
{
    if (l) {
        close_fd(&l->lockfd);   /* and the lock with it */
        close_fd(&l->dfd);
    }
}

static apr_status_t lock_cleanup(void *data)
{
    verify_snapshot_unlock(data);
    return APR_SUCCESS;
}

apr_status_t verify_snapshot_lock(verify_snap_lock_t **out, const char *dir,
                                  gid_t gid, char **err, apr_pool_t *p)
{
    verify_snap_lock_t *l = apr_pcalloc(p, sizeof(*l));
    import_t im;
    apr_status_t rv;

    memset(&im, 0, sizeof(im));
    im.dir = dir;
    im.gid = gid;
    im.dfd = im.lockfd = im.basefd = im.snapfd = im.datafd = -1;
    im.err = err;
    im.p = p;
    *out = NULL;
    /* an existing directory is given to @p gid only when a snapshot is
     * published: a refused import changes nothing */
    rv = open_store_dir(&im, 1);
    if (rv != APR_SUCCESS) {
        close_fd(&im.lockfd);
        close_fd(&im.dfd);
        return rv;
    }
    l->dir = apr_pstrdup(p, dir);
    l->gid = im.gid;
    l->dfd = im.dfd;
    l->lockfd = im.lockfd;
    apr_pool_cleanup_register(p, l, lock_cleanup, apr_pool_cleanup_null);
    *out = l;
    return APR_SUCCESS;
}

int verify_snapshot_dirfd(const verify_snap_lock_t *l)
{
    return l->dfd;
}

/* The store directory to the readers' group asked for, if it has
 * another. */
static apr_status_t regroup(import_t *im)
{
    struct stat sb;

    if (fstat(im->dfd, &sb) != 0) {
        return fault(im, errno, "cannot stat the directory");
    }
    if (sb.st_gid != im->gid
        && (fchown(im->dfd, (uid_t)-1, im->gid) != 0
            || fchmod(im->dfd, VERIFY_SNAP_DIR_MODE) != 0)) {
        return fault(im, errno, "cannot give the directory to the "
                     "readers' group");
    }
    return APR_SUCCESS;
}

/* An import_t working on the locked store @p l. */
static void im_locked(import_t *im, verify_snap_lock_t *l, char **err,
                      apr_pool_t *p)
{
    memset(im, 0, sizeof(*im));
    im->dir = l->dir;
    im->gid = l->gid;
    im->dfd = l->dfd;
    im->lockfd = l->lockfd;
    im->basefd = im->snapfd = im->datafd = -1;
    im->err = err;
    im->p = p;
}

/* The store the new snapshot starts from: the published snapshot, an
 * old-layout data.mdb, or none (*base NULL). */
static apr_status_t open_base(import_t *im, verify_store_t **base)
{
    char target[NAME_MAX_LEN], path[32];
    ssize_t n;
    int sfd;

    *base = NULL;
    n = readlinkat(im->dfd, VERIFY_SNAP_CURRENT, target, sizeof(target));
    if (n >= 0) {
        if ((size_t)n >= sizeof(target)) {
            n = sizeof(target) - 1;
        }
        target[n] = '\0';
        if (!snap_name_ok(target)) {
            return fault(im, 0, "current does not name a snapshot");
        }
        sfd = open_checked(im, im->dfd, target, O_RDONLY | O_DIRECTORY,
                           S_IFDIR);
        if (sfd < 0) {
            return APR_EGENERAL;
        }
        im->basefd = open_checked(im, sfd, VERIFY_STORE_DATA_FILE, O_RDONLY,
                                  S_IFREG);
        close(sfd);
    }
    else if (errno == ENOENT) {
        /* the old layout: one environment in the directory itself */
        im->basefd = openat(im->dfd, VERIFY_STORE_DATA_FILE,
                            O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (im->basefd < 0 && errno == ENOENT) {
            return APR_SUCCESS;
        }
        if (im->basefd >= 0) {
            close(im->basefd);
            im->basefd = open_checked(im, im->dfd, VERIFY_STORE_DATA_FILE,
                                      O_RDONLY, S_IFREG);
        }
        else {
            return fault(im, errno, "cannot open " VERIFY_STORE_DATA_FILE);
        }
    }
    else {
        return fault(im, errno == EINVAL ? 0 : errno,
                     "current is not a symbolic link");
    }
    if (im->basefd < 0) {
        return APR_EGENERAL;
    }
    fd_path(im->basefd, path);
    return verify_store_open(base, path, VERIFY_STORE_READONLY
                             | VERIFY_STORE_NOLOCK | VERIFY_STORE_FILE, 0,
                             im->err, im->p);
}

/* mkdirat the new snapshot and open an empty environment in it. */
static apr_status_t create_snapshot(import_t *im, verify_store_t **st)
{
    unsigned char rnd[4];
    char ts[20], hex[9], path[32];
    struct tm tm;
    time_t now = time(NULL);

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return fault(im, 0, "no randomness for the snapshot name");
    }
    verify_hex(rnd, sizeof(rnd), hex);
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(im->name, sizeof(im->name), VERIFY_SNAP_PREFIX "%s-%s", ts,
             hex);
    if (mkdirat(im->dfd, im->name, 0700) != 0) {
        im->name[0] = '\0';
        return fault(im, errno, "cannot create a snapshot directory");
    }
    im->snapfd = open_checked(im, im->dfd, im->name, O_RDONLY | O_DIRECTORY,
                              S_IFDIR);
    if (im->snapfd < 0) {
        return APR_EGENERAL;
    }
    im->datafd = open_checked(im, im->snapfd, VERIFY_STORE_DATA_FILE,
                              O_RDWR | O_CREAT | O_EXCL, S_IFREG);
    if (im->datafd < 0) {
        return APR_EGENERAL;
    }
    fd_path(im->datafd, path);
    return verify_store_open(st, path, VERIFY_STORE_NOLOCK
                             | VERIFY_STORE_FILE, 0, im->err, im->p);
}

/* Readable by the group, writable by nobody but us, and on disk. */
static apr_status_t seal(import_t *im)
{
    if (fchown(im->datafd, (uid_t)-1, im->gid) != 0
        || fchmod(im->datafd, VERIFY_SNAP_DATA_MODE) != 0
        || fsync(im->datafd) != 0
        || fchown(im->snapfd, (uid_t)-1, im->gid) != 0
        || fchmod(im->snapfd, VERIFY_SNAP_DIR_MODE) != 0
        || fsync(im->snapfd) != 0) {
        return fault(im, errno, "cannot seal the new snapshot");
    }
    return APR_SUCCESS;
}

/* The atomic step: `current.tmp` -> NAME, renamed over `current`. */
static apr_status_t publish(import_t *im)
{
    if (unlinkat(im->dfd, VERIFY_SNAP_CURRENT_TMP, 0) != 0
        && errno != ENOENT) {
        return fault(im, errno, "cannot remove " VERIFY_SNAP_CURRENT_TMP);
    }
    if (symlinkat(im->name, im->dfd, VERIFY_SNAP_CURRENT_TMP) != 0) {
        return fault(im, errno, "cannot link " VERIFY_SNAP_CURRENT_TMP);
    }
    if (renameat(im->dfd, VERIFY_SNAP_CURRENT_TMP, im->dfd,
                 VERIFY_SNAP_CURRENT) != 0) {
        return fault(im, errno, "cannot publish the new snapshot");
    }
    im->published = 1;
    if (fsync(im->dfd) != 0) {
        return fault(im, errno, "published, but the directory could not "
                     "be synced");
    }
    return APR_SUCCESS;
}

/* Unlink every entry of directory @p fd (a snapshot holds files only). */
static void empty_dir(int fd)
{
    int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    struct dirent *e;

    if (!d) {
        if (dup_fd >= 0) {
            close(dup_fd);
        }
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            unlinkat(fd, e->d_name, 0);
        }
    }
    closedir(d);
}

/* Remove snapshot @p name unless a reader holds it: 1 removed, 0 held,
 * -1 failed. */
static int remove_snapshot(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                               | O_CLOEXEC);
    int rc = -1;

    if (fd < 0) {
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return errno == EWOULDBLOCK ? 0 : -1;
    }
    empty_dir(fd);
    if (unlinkat(dfd, name, AT_REMOVEDIR) == 0) {
        rc = 1;
    }
    close(fd);                  /* and the lock with it */
    return rc;
}

/* After publication: the old layout's files and every other snapshot
 * no reader holds (left by earlier imports, or by a killed one). */
static void collect(import_t *im, verify_snap_report_t *rep)
{
    int fd = openat(im->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;

    if (unlinkat(im->dfd, VERIFY_STORE_DATA_FILE, 0) == 0) {
        rep->migrated = 1;
    }
    unlinkat(im->dfd, VERIFY_STORE_LOCK_FILE, 0);
    if (!d) {
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (!snap_name_ok(e->d_name) || strcmp(e->d_name, im->name) == 0) {
            continue;
        }
        switch (remove_snapshot(im->dfd, e->d_name)) {
        case 1:
            rep->removed++;
            break;
        case 0:
            rep->kept++;
            break;
        default:
            break;
        }
    }
    closedir(d);
    fsync(im->dfd);
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Publish a new snapshot in which @p src is @p recs (n of them) or,
 * without @p recs, the records of @p set. */
static apr_status_t publish_from(verify_snap_lock_t *l, verify_source_t src,
                                 verify_import_rec_t *recs, size_t n,
                                 verify_recset_t *set, verify_batch_t *batch,
                                 verify_snap_report_t *rep, char **err,
                                 apr_pool_t *p)
{
    import_t im;
    verify_snap_report_t dummy;
    verify_store_t *base = NULL, *st = NULL;
    apr_status_t rv = APR_SUCCESS;

    im_locked(&im, l, err, p);
    if (!rep) {
        rep = &dummy;
    }
    memset(rep, 0, sizeof(*rep));
    /* a bad batch is refused before anything is touched (a set is
     * checked as it is written: its snapshot is then taken away) */
    if (recs || !set) {
        rv = verify_import_check(recs, n, err, p);
    }
    if (rv == APR_SUCCESS) {
        rv = regroup(&im);
    }
    if (rv == APR_SUCCESS) {
        rv = open_base(&im, &base);
    }
    if (rv == APR_SUCCESS) {
        rv = create_snapshot(&im, &st);
    }
    if (rv == APR_SUCCESS) {
        rv = set && !recs
             ? verify_store_rebuild_set(st, base, src, set, batch, err, p)
             : verify_store_rebuild(st, base, src, recs, n, batch, err, p);
    }
    verify_store_close(st);
    verify_store_close(base);
    close_fd(&im.basefd);
    if (rv == APR_SUCCESS) {
        rv = seal(&im);
    }
    if (rv == APR_SUCCESS) {
        rv = publish(&im);
    }
    if (im.published) {
        strcpy(rep->name, im.name);
        collect(&im, rep);
    }
    else if (im.name[0]) {
        /* nobody ever saw it: take it away again */
        unlinkat(im.dfd, VERIFY_SNAP_CURRENT_TMP, 0);
        if (im.snapfd >= 0) {
            unlinkat(im.snapfd, VERIFY_STORE_DATA_FILE, 0);
        }
        unlinkat(im.dfd, im.name, AT_REMOVEDIR);
    }
    close_fd(&im.datafd);
    close_fd(&im.snapfd);
    return rv;
}

apr_status_t verify_snapshot_publish(verify_snap_lock_t *l,
                                     verify_source_t src,
                                     verify_import_rec_t *recs, size_t n,
                                     verify_batch_t *batch,
                                     verify_snap_report_t *rep, char **err,
                                     apr_pool_t *p)
{
    return publish_from(l, src, recs, n, NULL, batch, rep, err, p);
}

apr_status_t verify_snapshot_publish_set(verify_snap_lock_t *l,
                                         verify_source_t src,
                                         verify_recset_t *set,
                                         verify_batch_t *batch,
                                         verify_snap_report_t *rep,
                                         char **err, apr_pool_t *p)
{
    return publish_from(l, src, NULL, 0, set, batch, rep, err, p);
}

apr_status_t verify_snapshot_import(const char *dir, gid_t gid,
                                    verify_source_t src,
                                    verify_import_rec_t *recs, size_t n,
                                    verify_batch_t *batch,
                                    verify_snap_report_t *rep, char **err,
                                    apr_pool_t *p)
{
    verify_snap_lock_t *l = NULL;
    apr_status_t rv;

    if (rep) {
        memset(rep, 0, sizeof(*rep));
    }
    /* a bad batch is refused before the store is even opened */
    rv = verify_import_check(recs, n, err, p);
    if (rv == APR_SUCCESS) {
        rv = verify_snapshot_lock(&l, dir, gid, err, p);
    }
    if (rv == APR_SUCCESS) {
        rv = verify_snapshot_publish(l, src, recs, n, batch, rep, err, p);
    }
    verify_snapshot_unlock(l);
    return rv;
}

apr_status_t verify_snapshot_batches(verify_snap_lock_t *l,
                                     verify_lookup_t *out, char **err,
                                     apr_pool_t *p)
{
    import_t im;
    verify_store_t *base = NULL;
    const char *why = NULL;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    im_locked(&im, l, err, p);
    rv = open_base(&im, &base);
    if (rv == APR_SUCCESS && base) {
        rv = verify_store_batches(base, out, &why);
        if (rv != APR_SUCCESS) {
            fault(&im, 0, why);
        }
    }
    verify_store_close(base);
    close_fd(&im.basefd);
    return rv;
}

int verify_snapshot_flag(verify_snap_lock_t *l, const char *name,
                         char **err, apr_pool_t *p)
{
    struct stat sb;
    import_t im;

    im_locked(&im, l, err, p);
    /* looked at, never opened: a FIFO or device there has no effect */
    if (fstatat(l->dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
            return 0;
        }
        fault(&im, errno, apr_psprintf(p, "cannot stat %s", name));
        return -1;
    }
    /* anything but our own regular file is never taken as "not set" */
    if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid()
        || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
        fault(&im, 0, apr_psprintf(p, "%s is %s; refusing to use it", name,
                                   S_ISLNK(sb.st_mode)
                                   ? "a symbolic link"
                                   : !S_ISREG(sb.st_mode)
                                   ? "not a regular file"
                                   : sb.st_uid != geteuid()
                                   ? "not owned by the importing user"
                                   : "writable by group or others"));
        return -1;
    }
    return 1;
}

apr_status_t verify_snapshot_flag_set(verify_snap_lock_t *l,
                                      const char *name, int on,
                                      const char *text, char **err,
                                      apr_pool_t *p)
{
    const char *tmp = apr_pstrcat(p, name, ".tmp", NULL);
    size_t len = text ? strlen(text) : 0;
    import_t im;
    int fd;

    im_locked(&im, l, err, p);
    if (!on) {
        if (unlinkat(l->dfd, name, 0) != 0 && errno != ENOENT) {
            return fault(&im, errno, apr_psprintf(p, "cannot remove %s",
                                                  name));
        }
    }
    else {
        if (unlinkat(l->dfd, tmp, 0) != 0 && errno != ENOENT) {
            return fault(&im, errno, apr_psprintf(p, "cannot remove %s",
                                                  tmp));
        }
        fd = open_checked(&im, l->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL,
                          S_IFREG);
        if (fd < 0) {
            return APR_EGENERAL;
        }
        if (fchown(fd, (uid_t)-1, l->gid) != 0
            || fchmod(fd, VERIFY_SNAP_FLAG_MODE) != 0
            || (len && write(fd, text, len) != (ssize_t)len)
            || fsync(fd) != 0) {
            int e = errno;
            close(fd);
            unlinkat(l->dfd, tmp, 0);
            return fault(&im, e, apr_psprintf(p, "cannot write %s", tmp));
        }
        close(fd);
        if (renameat(l->dfd, tmp, l->dfd, name) != 0) {
            int e = errno;
            unlinkat(l->dfd, tmp, 0);
            return fault(&im, e, apr_psprintf(p, "cannot rename %s", tmp));
        }
    }
    if (fsync(l->dfd) != 0) {
        return fault(&im, errno, "cannot sync the directory");
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Readers                                                             */
/* ------------------------------------------------------------------ */

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
    char name[NAME_MAX_LEN];
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
        if (!snap_name_ok(s->name)) {
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
