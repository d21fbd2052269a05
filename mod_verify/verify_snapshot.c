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
 * The readers (httpd children) are verify_snapshot_read.c's; the
 * importer removes an old snapshot only when it can take the flock its
 * readers hold shared.
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


int verify_snapshot_name_ok(const char *s)
{
    size_t i, n = strlen(s), pre = sizeof(VERIFY_SNAP_PREFIX) - 1;

    if (n <= pre || n >= VERIFY_SNAP_NAME_MAX
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
    char name[VERIFY_SNAP_NAME_MAX];    /* the new snapshot */
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
    char target[VERIFY_SNAP_NAME_MAX], path[32];
    ssize_t n;
    int sfd;

    *base = NULL;
    n = readlinkat(im->dfd, VERIFY_SNAP_CURRENT, target, sizeof(target));
    if (n >= 0) {
        if ((size_t)n >= sizeof(target)) {
            n = sizeof(target) - 1;
        }
        target[n] = '\0';
        if (!verify_snapshot_name_ok(target)) {
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
        if (!verify_snapshot_name_ok(e->d_name) || strcmp(e->d_name, im->name) == 0) {
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
