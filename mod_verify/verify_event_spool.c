/*
 * verify_event_spool.c -- the event spool: root tools leave one file per
 * event, the httpd parent writes them into the chain in order.
 *
 * Everything here is done through a descriptor of the spool directory,
 * never following a symbolic link. The spool is root's and no one else
 * may even read it, yet an entry is still taken only when it is exactly
 * what a tool writes: whatever else is found there (a link, a FIFO, a
 * file of another owner, garbage) is moved aside unopened and reported,
 * so it is neither followed nor silently lost.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "verify_event_spool.h"
#include "verify_json.h"
#include "verify_text.h"
#include "verify_time.h"

/* "20261120T020000.123456Z" */
#define ID_TIME_LEN 23
/* the counter after it: four digits */
#define ID_COUNTER_MAX 9999
/* renames tried before giving up on a free name */
#define NAME_TRIES 100
/* read_entry(): the entry is not what it must be */
#define SPOOL_REFUSED (APR_OS_START_USERERR + 0x5653)

/* An event id as numbers: the UTC time in microseconds, the counter. */
typedef struct event_id_t {
    apr_time_t t;
    unsigned c;
} event_id_t;

static void id_format(const event_id_t *id, char out[VERIFY_EVENT_ID_LEN + 1])
{
    apr_time_exp_t x;

    apr_time_exp_gmt(&x, id->t);
    apr_snprintf(out, VERIFY_EVENT_ID_LEN + 1,
                 "%04d%02d%02dT%02d%02d%02d.%06dZ-%04u", x.tm_year + 1900,
                 x.tm_mon + 1, x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec,
                 x.tm_usec, id->c);
}

/* @p n digits of @p s as a number; -1 if one is not a digit. */
static long digits(const char *s, int n)
{
    long v = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Parse an id (exactly VERIFY_EVENT_ID_LEN characters at @p s); 0 or -1. */
static int id_parse(const char *s, event_id_t *id)
{
    apr_time_exp_t x;
    long y = digits(s, 4), mo = digits(s + 4, 2), d = digits(s + 6, 2);
    long h = digits(s + 9, 2), mi = digits(s + 11, 2);
    long se = digits(s + 13, 2), us = digits(s + 16, 6);
    long c = digits(s + 24, 4);

    if (s[8] != 'T' || s[15] != '.' || s[22] != 'Z' || s[23] != '-'
        || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23
        || mi > 59 || se > 60 || us < 0 || c < 0) {
        return -1;
    }
    memset(&x, 0, sizeof(x));
    x.tm_year = (int)y - 1900;
    x.tm_mon = (int)mo - 1;
    x.tm_mday = (int)d;
    x.tm_hour = (int)h;
    x.tm_min = (int)mi;
    x.tm_sec = (int)se;
    x.tm_usec = (int)us;
    if (apr_time_exp_gmt_get(&id->t, &x) != APR_SUCCESS) {
        return -1;
    }
    id->c = (unsigned)c;
    return 0;
}

int verify_spool_event_name(const char *name)
{
    event_id_t id;
    size_t sl = sizeof(VERIFY_EVENT_SUFFIX) - 1;

    return strlen(name) == VERIFY_EVENT_ID_LEN + sl
           && !strcmp(name + VERIFY_EVENT_ID_LEN, VERIFY_EVENT_SUFFIX)
           && id_parse(name, &id) == 0;
}

/* The next id after @p id. */
static void id_next(event_id_t *id)
{
    if (++id->c > ID_COUNTER_MAX) {
        id->t++;
        id->c = 0;
    }
}

static int id_cmp(const event_id_t *a, const event_id_t *b)
{
    return a->t != b->t ? (a->t < b->t ? -1 : 1)
                        : (a->c != b->c ? (a->c < b->c ? -1 : 1) : 0);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in directory @p fd, but ".", ".." and those @p skip says
 * to pass over, sorted. */
static apr_status_t list_dir(int fd, int (*skip)(const char *),
                             apr_array_header_t **names, apr_pool_t *p)
{
    struct dirent *de;
    DIR *d;
    int dfd = dup(fd);

    if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
        int e = errno;
        if (dfd >= 0) {
            close(dfd);
        }
        return APR_FROM_OS_ERROR(e);
    }
    rewinddir(d);
    *names = apr_array_make(p, 16, sizeof(const char *));
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")
            && !(skip && skip(de->d_name))) {
            APR_ARRAY_PUSH(*names, const char *) = apr_pstrdup(p,
                                                               de->d_name);
        }
        errno = 0;
    }
    if (errno != 0) {
        int e = errno;
        closedir(d);
        return APR_FROM_OS_ERROR(e);
    }
    closedir(d);
    qsort((*names)->elts, (size_t)(*names)->nelts, sizeof(const char *),
          name_cmp);
    return APR_SUCCESS;
}

/* What is wrong with directory @p st for holding the spool of @p owner
 * (@p mask: the permission bits nobody else may have); NULL if nothing. */
static const char *dir_refusal(const struct stat *st, uid_t owner,
                               mode_t mask, apr_pool_t *p)
{
    if (!S_ISDIR(st->st_mode)) {
        return "not a directory";
    }
    if (st->st_uid != owner || (st->st_mode & mask)) {
        return apr_psprintf(p, "owned by uid %ld with mode %04o; it must "
                            "be uid %ld's and %s", (long)st->st_uid,
                            (unsigned)(st->st_mode & 07777), (long)owner,
                            mask == 077 ? "closed to group and others "
                                          "(0700)"
                                        : "not writable by group or "
                                          "others");
    }
    return NULL;
}

apr_status_t verify_spool_open(const char *path, int create, uid_t owner,
                               int *fd, char **err, apr_pool_t *p)
{
    char *parent = apr_pstrdup(p, path), *slash = strrchr(parent, '/');
    const char *base = path, *why;
    struct stat st;
    int pfd, sfd = -1, created = 0, e;
    apr_status_t rv = APR_SUCCESS;

    *fd = -1;
    if (slash) {
        base = slash + 1;
        if (slash == parent) {
            slash[1] = '\0';
        }
        else {
            *slash = '\0';
        }
    }
    else {
        parent = ".";
    }
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
        *err = apr_psprintf(p, "event spool %s: not a directory name", path);
        return APR_EINVAL;
    }
    /* the parent: nobody but the owner may put another spool there */
    pfd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0) {
        e = errno;
        *err = apr_psprintf(p, "event spool %s: cannot open %s: %s", path,
                            parent, strerror(e));
        return APR_FROM_OS_ERROR(e);
    }
    if (fstat(pfd, &st) != 0) {
        e = errno;
        *err = apr_psprintf(p, "event spool %s: cannot stat %s: %s", path,
                            parent, strerror(e));
        rv = APR_FROM_OS_ERROR(e);
        goto cleanup;
    }
    why = dir_refusal(&st, owner, 022, p);
    if (why) {
        *err = apr_psprintf(p, "event spool %s: its directory %s is %s",
                            path, parent, why);
        rv = APR_EGENERAL;
        goto cleanup;
    }
    if (create && mkdirat(pfd, base, 0700) == 0) {
        created = 1;
    }
    sfd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0) {
        e = errno;
        /* O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a link */
        if (e == ENOTDIR && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0
            && S_ISLNK(st.st_mode)) {
            e = ELOOP;
        }
        *err = apr_psprintf(p, "event spool %s: %s", path,
                            e == ELOOP ? "a symbolic link (not followed)"
                            : e == ENOTDIR ? "not a directory"
                            : apr_psprintf(p, "cannot open it: %s",
                                           strerror(e)));
        rv = e == ENOENT ? APR_ENOENT
                         : e == ELOOP || e == ENOTDIR ? APR_EGENERAL
                         : APR_FROM_OS_ERROR(e);
        goto cleanup;
    }
    /* a new spool: 0700 (no set-group-id from the store's directory),
     * and the creator's group rather than the store's readers' */
    if (created && (fchmod(sfd, 0700) != 0
                    || fchown(sfd, (uid_t)-1, getegid()) != 0)) {
        e = errno;
        *err = apr_psprintf(p, "event spool %s: cannot set its mode: %s",
                            path, strerror(e));
        rv = APR_FROM_OS_ERROR(e);
        goto cleanup;
    }
    if (fstat(sfd, &st) != 0) {
        e = errno;
        *err = apr_psprintf(p, "event spool %s: cannot stat it: %s", path,
                            strerror(e));
        rv = APR_FROM_OS_ERROR(e);
        goto cleanup;
    }
    why = dir_refusal(&st, owner, 077, p);
    if (why) {
        *err = apr_psprintf(p, "event spool %s is %s", path, why);
        rv = APR_EGENERAL;
        goto cleanup;
    }
    if (created) {
        (void)fsync(pfd);
    }
    *fd = sfd;
    sfd = -1;

cleanup:
    if (sfd >= 0) {
        close(sfd);
    }
    close(pfd);
    return rv;
}

/* Write all of @p buf at offset 0 of @p fd; 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
    off_t off = 0;
    ssize_t n;

    while ((size_t)off < len) {
        n = pwrite(fd, buf + off, len - (size_t)off, off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = ENOSPC;
            }
            return -1;
        }
        off += n;
    }
    return 0;
}

/* A new temporary file of the spool: O_EXCL, 0600; -1 with errno set. */
static int temp_create(int fd, const char **name, apr_pool_t *p)
{
    unsigned char rnd[6];
    char hex[13];
    int tfd, i;

    for (i = 0; i < NAME_TRIES; i++) {
        if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS) {
            errno = EIO;
            return -1;
        }
        verify_hex(rnd, sizeof(rnd), hex);
        *name = apr_psprintf(p, ".tmp-%ld-%s", (long)getpid(), hex);
        tfd = openat(fd, *name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                                | O_CLOEXEC, 0600);
        if (tfd >= 0 || errno != EEXIST) {
            return tfd;
        }
    }
    errno = EEXIST;
    return -1;
}

/* Skip everything but event files when looking for the newest id. */
static int not_event(const char *name)
{
    return !verify_spool_event_name(name);
}

/* The id of an event at @p now: after the newest one waiting. */
static apr_status_t next_id(int fd, apr_time_t now, event_id_t *id,
                            apr_pool_t *p)
{
    apr_array_header_t *names;
    event_id_t newest;
    apr_status_t rv = list_dir(fd, not_event, &names, p);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    id->t = now;
    id->c = 0;
    if (names->nelts > 0
        && id_parse(APR_ARRAY_IDX(names, names->nelts - 1, const char *),
                    &newest) == 0
        && id_cmp(id, &newest) <= 0) {
        /* the clock went back (or two events in one microsecond) */
        *id = newest;
        id_next(id);
    }
    return APR_SUCCESS;
}

apr_status_t verify_spool_put(int fd, const char *body, size_t blen,
                              apr_time_t now, const char **content,
                              const char **id, char **err, apr_pool_t *p)
{
    char ts[VERIFY_TS_LEN + 1], ids[VERIFY_EVENT_ID_LEN + 1];
    const char *tmp = NULL, *text = NULL;
    event_id_t eid;
    apr_status_t rv;
    size_t len = 0;
    int tfd = -1, i, e;

    if (blen < 2 || body[0] != ',') {
        *err = apr_pstrdup(p, "an event body starts with ','");
        return APR_EINVAL;
    }
    rv = next_id(fd, now, &eid, p);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read the event spool: %pm", &rv);
        return rv;
    }
    tfd = temp_create(fd, &tmp, p);
    if (tfd < 0) {
        e = errno;
        *err = apr_psprintf(p, "cannot create a file in the event spool: "
                            "%s", strerror(e));
        return APR_FROM_OS_ERROR(e);
    }
    verify_time_format_us(now, ts);
    for (i = 0; i < NAME_TRIES; i++, id_next(&eid)) {
        id_format(&eid, ids);
        text = apr_psprintf(p, "{%.*s,\"at\":\"%s\",\"event_id\":\"%s\"}\n",
                            (int)(blen - 1), body + 1, ts, ids);
        len = strlen(text);
        if (len > VERIFY_EVENT_MAX) {
            *err = apr_psprintf(p, "the event is %lu bytes, more than %d",
                                (unsigned long)len, VERIFY_EVENT_MAX);
            rv = APR_EINVAL;
            goto cleanup;
        }
        if (ftruncate(tfd, 0) != 0 || write_all(tfd, text, len) != 0
            || fsync(tfd) != 0) {
            e = errno;
            *err = apr_psprintf(p, "cannot write the event: %s",
                                strerror(e));
            rv = APR_FROM_OS_ERROR(e);
            goto cleanup;
        }
        /* never over another event: a tool that took the same id
         * meanwhile keeps its own */
        if (renameat2(fd, tmp, fd, apr_pstrcat(p, ids, VERIFY_EVENT_SUFFIX,
                                               NULL),
                      RENAME_NOREPLACE) == 0) {
            tmp = NULL;
            break;
        }
        if (errno != EEXIST) {
            e = errno;
            *err = apr_psprintf(p, "cannot rename the event into place: %s",
                                strerror(e));
            rv = APR_FROM_OS_ERROR(e);
            goto cleanup;
        }
    }
    if (tmp) {
        *err = apr_pstrdup(p, "no free event name");
        rv = APR_EEXIST;
        goto cleanup;
    }
    if (fsync(fd) != 0) {
        e = errno;
        *err = apr_psprintf(p, "cannot sync the event spool: %s",
                            strerror(e));
        rv = APR_FROM_OS_ERROR(e);
        goto cleanup;
    }
    if (content) {
        *content = text;
    }
    if (id) {
        *id = apr_pstrdup(p, ids);
    }

cleanup:
    close(tfd);
    if (tmp) {
        unlinkat(fd, tmp, 0);
    }
    return rv;
}

/* The operations a tool may spool: the parent writes "register" lines
 * itself, and nothing else is an administrative event. */
static int spooled_op(const char *op)
{
    return op && (!strcmp(op, "import") || !strcmp(op, "purge")
                  || !strcmp(op, "import_recovery")
                  || !strcmp(op, "intake_policy")
                  || !strcmp(op, "records"));
}

const char *verify_spool_event_check(const char *buf, size_t len,
                                     const char *id)
{
    static const char *const chain_members[] = {
        "seq", "ts", "node", "prev", "hash"
    };
    const unsigned char *u = (const unsigned char *)buf;
    const char *why = NULL, *s;
    json_error_t jerr;
    json_t *j, *v;
    uint32_t cp;
    size_t i, n;

    if (len > VERIFY_EVENT_MAX) {
        return "larger than an event can be";
    }
    if (len < 2 || buf[len - 1] != '\n') {
        return "not one line ending in a newline";
    }
    for (i = 0; i + 1 < len; i += n) {
        n = 1;
        if (u[i] < 0x20 || u[i] == 0x7f) {
            return "a control character or a second line";
        }
        if (u[i] >= 0x80) {
            n = verify_utf8_decode(buf + i, len - 1 - i, &cp);
            if (n == 0) {
                return "not UTF-8";
            }
            if (verify_json_escaped_cp(cp)) {
                return "a raw line separator, C1 or bidi control";
            }
        }
    }
    if (strncmp(buf, "{\"op\":\"", 7) != 0 || buf[len - 2] != '}') {
        return "not a JSON object whose first member is op";
    }
    j = json_loadb(buf, len - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (!j || !json_is_object(j)) {
        why = "not one JSON object (or a member repeated)";
        goto done;
    }
    if (!spooled_op(json_string_value(json_object_get(j, "op")))) {
        why = "not an event the tools spool (import, import_recovery, "
              "intake_policy, purge, records)";
        goto done;
    }
    for (i = 0; i < sizeof(chain_members) / sizeof(chain_members[0]); i++) {
        if (json_object_get(j, chain_members[i])) {
            why = "a member the chain adds (seq, ts, node, prev, hash)";
            goto done;
        }
    }
    v = json_object_get(j, "at");
    if (!json_is_string(v) || json_string_length(v) != VERIFY_TS_LEN) {
        why = "no time (at)";
        goto done;
    }
    s = json_string_value(json_object_get(j, "event_id"));
    if (!s || strcmp(s, id) != 0) {
        why = "its event_id is not its name (a copy, or renamed)";
    }

done:
    json_decref(j);
    return why;
}

/* What is wrong with entry @p st of the spool for being read as a file
 * of @p owner (an event, the state); NULL if nothing. Fixed texts, or
 * made in @p p. */
static const char *file_refusal(const struct stat *st, uid_t owner,
                                size_t max, apr_pool_t *p)
{
    if (S_ISLNK(st->st_mode)) {
        return "a symbolic link (not followed)";
    }
    if (S_ISDIR(st->st_mode)) {
        return "a directory";
    }
    if (!S_ISREG(st->st_mode)) {
        return "not a regular file (a FIFO, socket or device)";
    }
    if (st->st_uid != owner) {
        return apr_psprintf(p, "owned by uid %ld, not uid %ld",
                            (long)st->st_uid, (long)owner);
    }
    if (st->st_nlink != 1) {
        return apr_psprintf(p, "a file with %lu hard links",
                            (unsigned long)st->st_nlink);
    }
    if (st->st_mode & 077) {
        return "open to group or others";
    }
    if ((size_t)st->st_size > max) {
        return apr_psprintf(p, "larger than %lu bytes", (unsigned long)max);
    }
    return NULL;
}

/*
 * Read @p name of the spool: checked by lstat first (so that nothing
 * but a regular file is ever opened: not a FIFO that would block, not
 * a device), then opened without following a link and checked again.
 * APR_SUCCESS; an ENOENT; SPOOL_REFUSED with *why; or another error.
 */
static apr_status_t read_entry(int fd, const char *name, uid_t owner,
                               size_t max, char **buf, size_t *len,
                               const char **why, apr_pool_t *p)
{
    struct stat st, st2;
    size_t got = 0;
    ssize_t n;
    int efd, e;

    *why = NULL;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    *why = file_refusal(&st, owner, max, p);
    if (*why) {
        return SPOOL_REFUSED;
    }
    efd = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
                           | O_CLOEXEC);
    if (efd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (fstat(efd, &st2) != 0) {
        e = errno;
        close(efd);
        return APR_FROM_OS_ERROR(e);
    }
    if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino
        || (*why = file_refusal(&st2, owner, max, p)) != NULL) {
        close(efd);
        if (!*why) {
            *why = "replaced while it was read";
        }
        return SPOOL_REFUSED;
    }
    /* one byte more than allowed tells a file that grew */
    *buf = apr_palloc(p, max + 2);
    while (got <= max) {
        n = read(efd, *buf + got, max + 1 - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            e = errno;
            close(efd);
            return APR_FROM_OS_ERROR(e);
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    close(efd);
    if (got > max) {
        *why = "larger than it may be";
        return SPOOL_REFUSED;
    }
    (*buf)[got] = '\0';
    *len = got;
    return APR_SUCCESS;
}

apr_status_t verify_spool_read_file(int fd, const char *name, uid_t owner,
                                    size_t max, char **buf, size_t *len,
                                    char **err, apr_pool_t *p)
{
    const char *why = NULL;
    apr_status_t rv = read_entry(fd, name, owner, max, buf, len, &why, p);

    if (rv == SPOOL_REFUSED) {
        *err = apr_psprintf(p, "%s is %s", name, why);
        return APR_EGENERAL;
    }
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        *err = apr_psprintf(p, "cannot read %s: %pm", name, &rv);
    }
    else if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "%s does not exist", name);
        rv = APR_ENOENT;
    }
    return rv;
}

apr_status_t verify_spool_write_file(int fd, const char *name,
                                     const char *buf, size_t len,
                                     char **err, apr_pool_t *p)
{
    const char *tmp = NULL;
    int tfd = temp_create(fd, &tmp, p), e;

    if (tfd < 0 || write_all(tfd, buf, len) != 0 || fsync(tfd) != 0
        || renameat(fd, tmp, fd, name) != 0 || fsync(fd) != 0) {
        e = errno;
        if (tfd >= 0) {
            close(tfd);
            unlinkat(fd, tmp, 0);
        }
        *err = apr_psprintf(p, "cannot write %s: %s", name, strerror(e));
        return APR_FROM_OS_ERROR(e);
    }
    close(tfd);
    return APR_SUCCESS;
}

/* Not entries of the drain: temporary files, the refused directory,
 * the register state. */
static int not_drained(const char *name)
{
    return name[0] == '.' || !strcmp(name, VERIFY_SPOOL_REFUSED)
           || !strcmp(name, VERIFY_SPOOL_STATE);
}

/* Move entry @p name aside, unopened, into the refused directory under
 * a name of ours; NULL with *why extended when that fails. */
static const char *move_refused(int fd, uid_t owner, const char *name,
                                const char **why, apr_pool_t *p)
{
    char kept[VERIFY_EVENT_ID_LEN + 1];
    const char *bad;
    event_id_t id;
    struct stat st;
    int rfd, i, e = 0;

    if (mkdirat(fd, VERIFY_SPOOL_REFUSED, 0700) != 0 && errno != EEXIST) {
        e = errno;
    }
    rfd = e ? -1 : openat(fd, VERIFY_SPOOL_REFUSED, O_RDONLY | O_DIRECTORY
                                                    | O_NOFOLLOW
                                                    | O_CLOEXEC);
    if (rfd < 0 || fstat(rfd, &st) != 0) {
        e = e ? e : errno;
        *why = apr_psprintf(p, "%s; left in place: cannot open %s/: %s",
                            *why, VERIFY_SPOOL_REFUSED, strerror(e));
        if (rfd >= 0) {
            close(rfd);
        }
        return NULL;
    }
    bad = dir_refusal(&st, owner, 077, p);
    if (bad) {
        *why = apr_psprintf(p, "%s; left in place: %s/ is %s", *why,
                            VERIFY_SPOOL_REFUSED, bad);
        close(rfd);
        return NULL;
    }
    id.t = apr_time_now();
    id.c = 0;
    for (i = 0; i < NAME_TRIES; i++, id_next(&id)) {
        id_format(&id, kept);
        if (renameat2(fd, name, rfd, kept, RENAME_NOREPLACE) == 0) {
            close(rfd);
            return apr_pstrcat(p, VERIFY_SPOOL_REFUSED, "/", kept, NULL);
        }
        if (errno != EEXIST) {
            break;
        }
    }
    e = errno;
    close(rfd);
    *why = apr_psprintf(p, "%s; left in place: cannot move it: %s", *why,
                        strerror(e));
    return NULL;
}

apr_status_t verify_spool_drain(int fd, uid_t owner,
                                const verify_spool_sink_t *sink,
                                unsigned *count, char **err, apr_pool_t *p)
{
    char id[VERIFY_EVENT_ID_LEN + 1], *buf = NULL;
    apr_array_header_t *names;
    const char *name, *why, *kept;
    apr_pool_t *ip = NULL;
    apr_status_t rv;
    unsigned done = 0;
    size_t len = 0;
    int i;

    if (count) {
        *count = 0;
    }
    rv = list_dir(fd, not_drained, &names, p);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read the event spool: %pm", &rv);
        return rv;
    }
    apr_pool_create(&ip, p);
    for (i = 0; i < names->nelts; i++) {
        apr_pool_clear(ip);
        name = APR_ARRAY_IDX(names, i, const char *);
        why = NULL;
        if (!verify_spool_event_name(name)) {
            why = "not an event file's name";
        }
        else {
            rv = read_entry(fd, name, owner, VERIFY_EVENT_MAX, &buf, &len,
                            &why, ip);
            if (APR_STATUS_IS_ENOENT(rv)) {
                continue;       /* gone meanwhile */
            }
            if (rv != APR_SUCCESS && rv != SPOOL_REFUSED) {
                *err = apr_psprintf(p, "cannot read event %s: %pm", name,
                                    &rv);
                goto cleanup;
            }
            if (rv == APR_SUCCESS) {
                memcpy(id, name, VERIFY_EVENT_ID_LEN);
                id[VERIFY_EVENT_ID_LEN] = '\0';
                why = verify_spool_event_check(buf, len, id);
            }
        }
        if (why) {
            kept = move_refused(fd, owner, name, &why, ip);
            rv = sink->refused(sink->baton, name, why, kept, ip);
            if (rv != APR_SUCCESS) {
                *err = apr_psprintf(p, "the refusal of %s was not recorded",
                                    name);
                goto cleanup;
            }
            continue;
        }
        /* the body: ',' and what lies between the braces */
        buf[0] = ',';
        rv = sink->event(sink->baton, id, buf, len - 2, ip);
        if (rv != APR_SUCCESS) {
            *err = apr_psprintf(p, "event %s was not written; it stays in "
                                "the spool", id);
            goto cleanup;
        }
        if (unlinkat(fd, name, 0) != 0) {
            rv = APR_FROM_OS_ERROR(errno);
            *err = apr_psprintf(p, "cannot remove event %s after writing "
                                "its line (it would be written again): "
                                "%pm", name, &rv);
            goto cleanup;
        }
        done++;
    }
    rv = APR_SUCCESS;

cleanup:
    /* the removals made durable: a removal lost would write a line twice */
    if (done && fsync(fd) != 0 && rv == APR_SUCCESS) {
        rv = APR_FROM_OS_ERROR(errno);
        *err = apr_psprintf(p, "cannot sync the event spool: %pm", &rv);
    }
    apr_pool_destroy(ip);
    if (count) {
        *count = done;
    }
    return rv;
}
