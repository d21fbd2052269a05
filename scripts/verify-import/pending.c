/*
 * pending.c -- destructions still due (R4.4), recorded so that an
 * importer killed between the commit of its batch and the destruction
 * of its input leaves the destruction to the next run.
 *
 * Before a batch is published, <store>/pending/BATCH_ID.json says which
 * file is to be destroyed (its absolute directory, name, device, inode,
 * size and SHA-256 as read). The record goes once the destruction is
 * done. A run finds what a killed run left before it does anything
 * else, under the store's import lock: if the batch was committed (it
 * is the source's current batch, or the record says so), the file is
 * destroyed if the path still names it, intact or partly overwritten;
 * if not, the import never happened and the file is left as it was.
 * Either way the outcome is an import_recovery event.
 *
 * The directory is root's (0700), reached through the store's
 * descriptor; records are written as a temporary file, synced and
 * renamed, then the directory is synced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "verify-import/import.h"

#define PENDING_DIR_MODE 0700
#define RECORD_MAX 8192
/* A file whose first bytes are zeros is what a partial overwrite left:
 * no batch, encrypted or not, starts with this many NUL bytes. */
#define WIPED_PREFIX 4096

/* What a record says. */
typedef struct record_t {
    const char *batch_id;
    verify_source_t src;
    unsigned char sha256[32];
    const char *dir;
    const char *name;
    dev_t dev;
    ino_t ino;
    off_t size;
    const char *user;
    const char *at;
    int committed;
} record_t;

/* The records' directory, created if @p create; -1 (errno) if missing
 * or not a directory of ours closed to everyone else. */
static int pending_dir(verify_snap_lock_t *l, int create)
{
    int dfd = verify_snapshot_dirfd(l), fd;
    struct stat sb;

    if (create && mkdirat(dfd, PENDING_DIR, PENDING_DIR_MODE) != 0
        && errno != EEXIST) {
        return -1;
    }
    fd = openat(dfd, PENDING_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                  | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, &sb) != 0 || sb.st_uid != geteuid()
        || (sb.st_mode & 077)) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

static char *record_name(const char *batch_id, apr_pool_t *p)
{
    return apr_pstrcat(p, batch_id, ".json", NULL);
}

/* Write @p r as BATCH_ID.json in @p fd; 0 or -1 (errno). */
static int record_put(int fd, const record_t *r, apr_pool_t *p)
{
    char sha[65], *text;
    const char *name = record_name(r->batch_id, p);
    const char *tmp = apr_pstrcat(p, ".", name, ".tmp", NULL);
    json_t *j;
    size_t len;
    int tfd, e;

    verify_hex(r->sha256, 32, sha);
    j = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}",
                  "version", 1,
                  "batch_id", r->batch_id,
                  "source", verify_source_name(r->src),
                  "sha256", sha,
                  "dir", r->dir,
                  "name", r->name,
                  "dev", apr_psprintf(p, "%" PRIuMAX, (uintmax_t)r->dev),
                  "ino", apr_psprintf(p, "%" PRIuMAX, (uintmax_t)r->ino),
                  "size", apr_psprintf(p, "%" PRIuMAX, (uintmax_t)r->size),
                  "user", r->user ? r->user : "",
                  "at", r->at,
                  "committed", r->committed);
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        errno = EINVAL;
        return -1;
    }
    len = strlen(text);
    unlinkat(fd, tmp, 0);
    tfd = openat(fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                          | O_CLOEXEC, 0600);
    if (tfd < 0) {
        e = errno;
        free(text);
        errno = e;
        return -1;
    }
    if (write(tfd, text, len) != (ssize_t)len || write(tfd, "\n", 1) != 1
        || fsync(tfd) != 0 || renameat(fd, tmp, fd, name) != 0
        || fsync(fd) != 0) {
        e = errno;
        close(tfd);
        unlinkat(fd, tmp, 0);
        free(text);
        errno = e;
        return -1;
    }
    close(tfd);
    free(text);
    return 0;
}

int pending_write(verify_snap_lock_t *l, const input_t *in,
                  verify_source_t src, const char *batch_id,
                  const char *user, apr_pool_t *p)
{
    char at[VERIFY_TS_LEN + 1];
    record_t r;
    int fd, rc;

    memset(&r, 0, sizeof(r));
    r.batch_id = batch_id;
    r.src = src;
    memcpy(r.sha256, in->sha256, 32);
    r.dir = in->dir;
    r.name = in->name;
    r.dev = in->dev;
    r.ino = in->ino;
    r.size = in->size;
    r.user = user;
    verify_time_format_us(apr_time_now(), at);
    r.at = at;
    fd = pending_dir(l, 1);
    rc = fd >= 0 ? record_put(fd, &r, p) : -1;
    if (rc != 0) {
        fputs(apr_psprintf(p, PROG ": %s: rejected, store unchanged: "
                           "cannot record that the input is to be "
                           "destroyed (%s/%s: %s)\n", in->name,
                           PENDING_DIR, record_name(batch_id, p),
                           strerror(errno)), stderr);
        import_fault("cannot record that the input is to be destroyed");
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc != 0;
}

void pending_remove(verify_snap_lock_t *l, const char *batch_id)
{
    char name[64];
    int fd = pending_dir(l, 0);

    if (fd < 0) {
        return;
    }
    snprintf(name, sizeof(name), "%s.json", batch_id);
    if (unlinkat(fd, name, 0) == 0) {
        fsync(fd);
    }
    close(fd);
}

/* Read and check a record. NULL, or why it is not one. */
static const char *record_read(int fd, const char *name, record_t *r,
                               apr_pool_t *p)
{
    char buf[RECORD_MAX];
    const char *s, *src, *sha, *nums[3];
    uintmax_t v[3];
    struct stat sb;
    json_t *j;
    ssize_t n;
    int rfd, i, k, committed = 0, version = 0;
    char *end;

    rfd = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (rfd < 0) {
        return apr_psprintf(p, "cannot open it: %s", strerror(errno));
    }
    if (fstat(rfd, &sb) != 0 || !S_ISREG(sb.st_mode)
        || sb.st_uid != geteuid() || (sb.st_mode & 077)
        || sb.st_size >= RECORD_MAX) {
        close(rfd);
        return "not a small regular file of the importing user, closed "
               "to others";
    }
    n = read(rfd, buf, sizeof(buf) - 1);
    close(rfd);
    if (n <= 0) {
        return "empty or unreadable";
    }
    j = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (!j || json_unpack(j, "{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
                          "s:s,s:b}",
                          "version", &version, "batch_id", &s,
                          "source", &src, "sha256", &sha, "dir", &r->dir,
                          "name", &r->name, "dev", &nums[0],
                          "ino", &nums[1], "size", &nums[2],
                          "user", &r->user, "at", &r->at,
                          "committed", &committed) != 0
        || version != 1) {
        json_decref(j);
        return "not a record of this importer";
    }
    r->batch_id = apr_pstrdup(p, s);
    r->dir = apr_pstrdup(p, r->dir);
    r->name = apr_pstrdup(p, r->name);
    r->user = *r->user ? apr_pstrdup(p, r->user) : NULL;
    r->at = apr_pstrdup(p, r->at);
    r->committed = committed;
    i = verify_source_from_name(src);
    r->src = (verify_source_t)i;
    for (k = 0; k < 3; k++) {
        errno = 0;
        v[k] = strtoumax(nums[k], &end, 10);
        if (errno || end == nums[k] || *end) {
            i = -1;
        }
    }
    if (i < 0 || strlen(r->batch_id) != 32
        || strcmp(name, record_name(r->batch_id, p)) != 0
        || strlen(sha) != 64 || verify_unhex(sha, 32, r->sha256, 0) != 0
        || r->dir[0] != '/' || !*r->name || strchr(r->name, '/')
        || !strcmp(r->name, ".") || !strcmp(r->name, "..")) {
        json_decref(j);
        return "not a record of this importer";
    }
    r->dev = (dev_t)v[0];
    r->ino = (ino_t)v[1];
    r->size = (off_t)v[2];
    json_decref(j);
    return NULL;
}

/* Is the open file @p fd the input as read (1), what a partial
 * overwrite left of it (2), or something else (0)? -1 unreadable. */
static int what_is(int fd, const record_t *r)
{
    unsigned char buf[65536], md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    off_t off = 0;
    int zeros = 1, rc = -1;
    size_t i;

    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        goto done;
    }
    while (off < r->size) {
        ssize_t n = pread(fd, buf, sizeof(buf), off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            goto done;
        }
        for (i = 0; zeros && i < (size_t)n && off + (off_t)i < WIPED_PREFIX;
             i++) {
            zeros = buf[i] == 0;
        }
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        off += n;
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    rc = !memcmp(md, r->sha256, 32) ? 1 : zeros ? 2 : 0;

done:
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* Destroy what the record names, if it is still there; the "input"
 * of the event, and *failed when it should be tried again. */
static const char *destroy(const record_t *r, int *failed, char **said,
                           apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, r->dir, "/", r->name, NULL);
    struct stat sb;
    int dfd, fd = -1, kind;
    const char *out;

    *failed = 0;
    dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 && errno == ENOENT) {
        *said = apr_psprintf(p, "%s was already gone", path);
        return "already gone";
    }
    if (dfd >= 0) {
        fd = openat(dfd, r->name, O_RDWR | O_NOFOLLOW | O_NONBLOCK
                                  | O_CLOEXEC);
    }
    if (fd < 0 && dfd >= 0 && errno == ENOENT) {
        /* killed after the unlink, before the record went */
        close(dfd);
        *said = apr_psprintf(p, "%s was already gone", path);
        return "already gone";
    }
    if (fd < 0 && dfd >= 0 && errno == ELOOP) {
        close(dfd);
        *said = apr_psprintf(p, "%s is a symbolic link now: left alone; "
                             "the file that was read is not at that path "
                             "any more: find it and destroy it (R4.4)",
                             path);
        return "path replaced";
    }
    if (fd < 0 || fstat(fd, &sb) != 0) {
        *said = apr_psprintf(p, "could not destroy %s (%s): remove it by "
                             "hand (R4.4); the next import tries again",
                             path, strerror(errno));
        *failed = 1;
        out = "NOT destroyed";
        goto done;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_dev != r->dev || sb.st_ino != r->ino) {
        *said = apr_psprintf(p, "%s names another file now: left alone; "
                             "the file that was read is not at that path "
                             "any more: find it and destroy it (R4.4)",
                             path);
        out = "path replaced";
        goto done;
    }
    kind = sb.st_size == r->size ? what_is(fd, r) : 0;
    if (kind == 0) {
        *said = apr_psprintf(p, "%s has changed since it was read: left "
                             "alone; check it and destroy it by hand "
                             "(R4.4)", path);
        out = "changed; left alone";
        goto done;
    }
    if (kind < 0 || input_wipe(fd) != 0
        || input_unlink_at(dfd, r->name, r->dev, r->ino)
           != INPUT_DESTROYED) {
        *said = apr_psprintf(p, "could not destroy %s: remove it by hand "
                             "(R4.4); the next import tries again", path);
        *failed = 1;
        out = "NOT destroyed";
        goto done;
    }
    *said = apr_psprintf(p, "%s destroyed (%s)", path,
                         kind == 1 ? "it was intact"
                                   : "it had been partly overwritten");
    out = "destroyed";

done:
    if (fd >= 0) {
        close(fd);
    }
    if (dfd >= 0) {
        close(dfd);
    }
    return out;
}

void pending_keep(verify_snap_lock_t *l, const char *batch_id,
                  apr_pool_t *p)
{
    record_t r;
    int fd = pending_dir(l, 0);

    memset(&r, 0, sizeof(r));
    if (fd >= 0 && !record_read(fd, record_name(batch_id, p), &r, p)) {
        r.committed = 1;
        if (record_put(fd, &r, p) != 0) {
            fprintf(stderr, PROG ": cannot mark %s/%s as committed: %s\n",
                    PENDING_DIR, record_name(batch_id, p), strerror(errno));
        }
    }
    if (fd >= 0) {
        close(fd);
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records' names, sorted; NULL-ended. */
static char **record_names(int fd, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(char *));
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    struct dirent *e;
    size_t n;

    if (!d) {
        if (dup_fd >= 0) {
            close(dup_fd);
        }
        return NULL;
    }
    rewinddir(d);
    while ((e = readdir(d)) != NULL) {
        n = strlen(e->d_name);
        if (e->d_name[0] != '.' && n > 5
            && !strcmp(e->d_name + n - 5, ".json")) {
            APR_ARRAY_PUSH(a, char *) = apr_pstrdup(p, e->d_name);
        }
        else if (e->d_name[0] == '.' && n > 4
                 && !strcmp(e->d_name + n - 4, ".tmp")) {
            /* a record a killed run never put in place: nothing was
             * published after it */
            unlinkat(fd, e->d_name, 0);
        }
    }
    closedir(d);
    qsort(a->elts, a->nelts, sizeof(char *), name_cmp);
    APR_ARRAY_PUSH(a, char *) = NULL;
    return (char **)a->elts;
}

/* One record: finished, recorded. 0, or 1 when it is to be tried
 * again. */
static int recover_one(verify_snap_lock_t *l, int fd, const char *name,
                       const verify_lookup_t *cur, int spool,
                       const char *user, apr_pool_t *p)
{
    char mem[VERIFY_EVENT_MAX], *said = NULL;
    verify_event_recovery_t ev;
    const char *why, *path;
    verify_jbuf_t b;
    record_t r;
    int failed = 0, rc = 0;

    memset(&r, 0, sizeof(r));
    why = record_read(fd, name, &r, p);
    if (why) {
        fprintf(stderr, PROG ": the store's %s/%s is not a record of a "
                "pending destruction (%s): check it and remove it by "
                "hand\n", PENDING_DIR, name, why);
        return 1;
    }
    path = apr_pstrcat(p, r.dir, "/", r.name, NULL);
    memset(&ev, 0, sizeof(ev));
    ev.src = r.src;
    ev.batch_id = r.batch_id;
    ev.sha256 = r.sha256;
    ev.file = path;
    ev.pending_since = r.at;
    ev.import_user = r.user;
    ev.user = user;
    ev.committed = r.committed
                   || (cur->have_batch[r.src]
                       && !strcmp(cur->batch[r.src].batch_id, r.batch_id));
    if (ev.committed && cur->have_batch[r.src]
        && !strcmp(cur->batch[r.src].batch_id, r.batch_id)) {
        ev.have_records = 1;
        ev.records = cur->batch[r.src].records;
        ev.imported_at = cur->batch[r.src].as_of;
    }
    if (!ev.committed) {
        ev.input = "kept";
        fprintf(stderr, PROG ": an import of %s (batch %s, %s) was "
                "interrupted before its commit: the store never held it, "
                "and the file was left as it was\n", path, r.batch_id,
                verify_source_name(r.src));
    }
    else {
        ev.input = destroy(&r, &failed, &said, p);
        fprintf(stderr, PROG ": an import of %s (batch %s, %s) was "
                "interrupted after its commit, before its input was "
                "destroyed: %s\n", path, r.batch_id,
                verify_source_name(r.src), said);
    }
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_recovery(&b, &ev);
    if (import_record(spool, b.buf, b.len, p) != 0) {
        rc = 1;
    }
    if (failed) {
        if (!r.committed) {
            pending_keep(l, r.batch_id, p);
        }
        return 1;
    }
    if (unlinkat(fd, name, 0) == 0) {
        fsync(fd);
    }
    return rc;
}

int pending_recover(verify_snap_lock_t *l, int spool, const char *user,
                    apr_pool_t *p)
{
    verify_lookup_t cur;
    char **names, *err = NULL;
    int fd = pending_dir(l, 0), rc = 0, i;

    if (fd < 0 && errno == ENOENT) {
        return 0;               /* nothing was ever left */
    }
    if (fd < 0) {
        fprintf(stderr, PROG ": the store's %s: %s: the records of "
                "pending destructions cannot be read\n", PENDING_DIR,
                strerror(errno));
        return 1;
    }
    names = record_names(fd, p);
    if (names && names[0]
        && verify_snapshot_batches(l, &cur, &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot finish the destructions left "
                "pending: %s\n", err);
        close(fd);
        return 1;
    }
    for (i = 0; names && names[i]; i++) {
        if (recover_one(l, fd, names[i], &cur, spool, user, p) != 0) {
            rc = 1;
        }
    }
    close(fd);
    return rc;
}
