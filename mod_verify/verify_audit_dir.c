/*
 * verify_audit_dir.c -- the audit directory: day file names, finding
 * the chain head in the newest file, collecting the files in chain
 * order, and the purge checkpoint the chain resumes from.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_tables.h>
#include "verify_audit_dir.h"
#include "verify_audit_line.h"
#include "verify_text.h"
#include "verify_time.h"

#define AUDIT_PREFIX "audit-"
#define AUDIT_SUFFIX ".jsonl"
#define CHECKPOINT_PREFIX "purged-through-"
#define CHECKPOINT_SUFFIX ".json"

/* PREFIX, the date, SUFFIX into @p out (32 bytes). */
static void dated_name(const char *prefix, verify_date_t day,
                       const char *suffix, char out[32])
{
    char d[11];

    verify_date_format(day, d);
    apr_snprintf(out, 32, "%s%s%s", prefix, d, suffix);
}

/* The date of a name PREFIX YYYY-MM-DD SUFFIX (the last component of
 * a path), or 0. */
static verify_date_t name_date(const char *name, const char *prefix,
                               const char *suffix)
{
    const char *base = strrchr(name, '/');
    size_t pl = strlen(prefix), sl = strlen(suffix);

    base = base ? base + 1 : name;
    if (strlen(base) != pl + 10 + sl || strncmp(base, prefix, pl) != 0
        || strcmp(base + pl + 10, suffix) != 0) {
        return 0;
    }
    return verify_date_parse_iso(base + pl, 10);
}

void verify_audit_filename(verify_date_t day, char out[32])
{
    dated_name(AUDIT_PREFIX, day, AUDIT_SUFFIX, out);
}

verify_date_t verify_audit_name_date(const char *name)
{
    return name_date(name, AUDIT_PREFIX, AUDIT_SUFFIX);
}

void verify_audit_checkpoint_filename(verify_date_t day, char out[32])
{
    dated_name(CHECKPOINT_PREFIX, day, CHECKPOINT_SUFFIX, out);
}

verify_date_t verify_audit_checkpoint_name_date(const char *name)
{
    return name_date(name, CHECKPOINT_PREFIX, CHECKPOINT_SUFFIX);
}

/* Is what @p fd opened a regular file with one name, owned by
 * @p owner ((uid_t)-1: anyone)? NULL, or what is wrong with it. */
static const char *refusal(int fd, uid_t owner, apr_pool_t *p)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        return apr_psprintf(p, "cannot fstat it: %s", strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return "it is not a regular file";
    }
    if (st.st_nlink != 1) {
        return apr_psprintf(p, "it has %lu hard links (another name could "
                            "point at a file of someone else's)",
                            (unsigned long)st.st_nlink);
    }
    if (owner != (uid_t)-1 && st.st_uid != owner) {
        return apr_psprintf(p, "it is owned by uid %ld, not uid %ld",
                            (long)st.st_uid, (long)owner);
    }
    return NULL;
}

int verify_audit_openat(int dirfd, const char *name, int flags, mode_t mode,
                        uid_t owner, gid_t group, const char **why,
                        apr_pool_t *p)
{
    int base = (flags & ~(O_CREAT | O_EXCL)) | O_NOFOLLOW | O_CLOEXEC
               | O_NONBLOCK;
    int fd = -1, created = 0, e;

    *why = NULL;
    if (flags & O_CREAT) {
        /* a new file is ours alone: nobody can have linked it */
        fd = openat(dirfd, name, base | O_CREAT | O_EXCL, mode);
        created = fd >= 0;
        if (fd < 0 && (errno != EEXIST || (flags & O_EXCL))) {
            *why = errno == EEXIST ? "it exists already" : NULL;
            return -1;
        }
    }
    if (fd < 0) {
        fd = openat(dirfd, name, base);
    }
    if (fd < 0) {
        /* O_NOFOLLOW on a symbolic link */
        *why = errno == ELOOP ? "it is a symbolic link" : NULL;
        return -1;
    }
    if (created) {
        if (geteuid() == 0 && owner != (uid_t)-1
            && fchown(fd, owner, group) != 0) {
            e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    else if ((*why = refusal(fd, owner, p)) != NULL) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    /* O_NONBLOCK only kept a FIFO from hanging the open */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* Names of the same form sort by their date. */
static int name_asc(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The audit file names of directory @p dir, in date order, into @p names;
 * a newer checkpoint than *cp_date there into *checkpoint. */
static apr_status_t read_dir(const char *dir, apr_array_header_t *names,
                             const char **checkpoint, verify_date_t *cp_date,
                             char **err, apr_pool_t *p)
{
    apr_dir_t *d = NULL;
    apr_finfo_t fi;
    apr_status_t rv;
    verify_date_t day;
    int first = names->nelts;

    rv = apr_dir_open(&d, dir, p);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot open directory %s: %pm", dir, &rv);
        return rv;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
           == APR_SUCCESS) {
        if (fi.filetype != APR_REG) {
            continue;
        }
        if (verify_audit_name_date(fi.name)) {
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, fi.name);
        }
        else if ((day = verify_audit_checkpoint_name_date(fi.name)) != 0
                 && day > *cp_date) {
            *cp_date = day;
            *checkpoint = apr_pstrcat(p, dir, "/", fi.name, NULL);
        }
    }
    apr_dir_close(d);
    qsort(names->elts + first * names->elt_size,
          (size_t)(names->nelts - first), sizeof(char *), name_asc);
    return APR_SUCCESS;
}

apr_status_t verify_audit_collect(int n, const char *const *args,
                                  apr_array_header_t *paths,
                                  const char **checkpoint, char **err,
                                  apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 16, sizeof(char *));
    verify_date_t cp_date = 0;
    apr_finfo_t fi;
    apr_status_t rv;
    int i, k;

    *checkpoint = NULL;
    for (i = 0; i < n; i++) {
        rv = apr_stat(&fi, args[i], APR_FINFO_TYPE, p);
        if (rv != APR_SUCCESS) {
            *err = apr_psprintf(p, "cannot read %s: %pm", args[i], &rv);
            return rv;
        }
        if (fi.filetype != APR_DIR) {
            APR_ARRAY_PUSH(paths, const char *) = args[i];
            continue;
        }
        names->nelts = 0;
        rv = read_dir(args[i], names, checkpoint, &cp_date, err, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        for (k = 0; k < names->nelts; k++) {
            APR_ARRAY_PUSH(paths, const char *) =
                apr_pstrcat(p, args[i], "/",
                            APR_ARRAY_IDX(names, k, const char *), NULL);
        }
    }
    return APR_SUCCESS;
}

/* Parse the purge checkpoint @p path into *j: it lies in a directory
 * the run-time user can write, and root may read it (purge, the httpd
 * parent): no link followed, no FIFO waited on, the owner checked. */
static apr_status_t load_checkpoint(const char *path, uid_t owner,
                                    json_t **j, char **err, apr_pool_t *p)
{
    json_error_t jerr;
    struct stat st;
    int fd;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
        || (owner != (uid_t)-1 && st.st_uid != owner)) {
        *err = apr_psprintf(p, "%s is not a purge checkpoint (%s)", path,
                            fd < 0 ? strerror(errno)
                            : !S_ISREG(st.st_mode) ? "not a regular file"
                            : "not owned by root");
        if (fd >= 0) {
            close(fd);
        }
        return APR_EGENERAL;
    }
    *j = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
    close(fd);
    if (!json_is_object(*j)) {
        json_decref(*j);
        *err = apr_psprintf(p, "%s is not a purge checkpoint (not a JSON "
                            "object)", path);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t verify_audit_checkpoint_read(const char *path,
                                          verify_chain_t *last, char **err,
                                          apr_pool_t *p)
{
    json_t *j = NULL, *seq;
    const char *hash;
    apr_status_t rv;

    rv = load_checkpoint(path, (uid_t)-1, &j, err, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = APR_EGENERAL;
    seq = json_object_get(j, "last_seq");
    hash = json_string_value(json_object_get(j, "last_hash"));
    if (json_is_integer(seq) && json_integer_value(seq) > 0 && hash
        && strlen(hash) == VERIFY_HASH_HEX
        && verify_unhex(hash, 32, last->hash, 0) == 0) {
        last->seq = (uint64_t)json_integer_value(seq);
        rv = APR_SUCCESS;
    }
    else {
        *err = apr_psprintf(p, "%s is not a purge checkpoint (it needs "
                            "last_seq and last_hash)", path);
    }
    json_decref(j);
    return rv;
}

apr_status_t verify_audit_checkpoint_edge(const char *path, uid_t owner,
                                          verify_merkle_edge_t *e,
                                          char **err, apr_pool_t *p)
{
    json_t *j = NULL, *size, *edge, *seq, *h;
    const char *hex;
    apr_status_t rv;
    uint64_t n;
    size_t i = 0;
    int k;

    rv = load_checkpoint(path, owner, &j, err, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    size = json_object_get(j, "tree_size");
    edge = json_object_get(j, "edge");
    seq = json_object_get(j, "last_seq");
    if (!size && !edge) {
        json_decref(j);
        *err = apr_psprintf(p, "%s keeps no tree edge (made by an older "
                            "purge)", path);
        return APR_ENOENT;
    }
    rv = APR_EGENERAL;
    if (!json_is_integer(size) || !json_is_integer(seq)
        || json_integer_value(size) != json_integer_value(seq)
        || json_integer_value(size) <= 0 || !json_is_array(edge)) {
        goto cleanup;
    }
    verify_merkle_edge_init(e);
    e->size = n = (uint64_t)json_integer_value(size);
    /* left to right: the highest bit's subtree first */
    for (k = VERIFY_MERKLE_EDGE_MAX - 1; k >= 0; k--) {
        if (!(n >> k & 1)) {
            continue;
        }
        h = json_array_get(edge, i++);
        hex = json_string_value(h);
        if (!hex || strlen(hex) != 2 * VERIFY_MERKLE_HASH_LEN
            || verify_unhex(hex, VERIFY_MERKLE_HASH_LEN, e->hash[k], 0)) {
            goto cleanup;
        }
    }
    if (i == json_array_size(edge)) {
        rv = APR_SUCCESS;
    }

cleanup:
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "%s: tree_size and edge do not make a tree "
                            "edge (one 64-hex hash per bit of the size, "
                            "left to right)", path);
    }
    json_decref(j);
    return rv;
}

char *verify_audit_edge_json(const verify_merkle_edge_t *e, apr_pool_t *p)
{
    char *out = apr_palloc(p, 2 + VERIFY_MERKLE_EDGE_MAX * 67 + 1), *at;
    int k, first = 1;

    at = out;
    *at++ = '[';
    for (k = VERIFY_MERKLE_EDGE_MAX - 1; k >= 0; k--) {
        if (!(e->size >> k & 1)) {
            continue;
        }
        if (!first) {
            *at++ = ',';
        }
        first = 0;
        *at++ = '"';
        verify_hex(e->hash[k], VERIFY_MERKLE_HASH_LEN, at);
        at += 2 * VERIFY_MERKLE_HASH_LEN;
        *at++ = '"';
    }
    *at++ = ']';
    *at = '\0';
    return out;
}

/* The ts of sealed line @p line: {"seq":N,"ts":"…" at its start; 0
 * when it has none of the writer's form. */
static apr_time_t line_ts(const char *line, size_t len)
{
    const char *q = memchr(line, ',', len < 40 ? len : 40);
    apr_time_t t;

    if (!q || (size_t)(line + len - q) < 7 + VERIFY_TS_LEN
        || memcmp(q, ",\"ts\":\"", 7)
        || verify_time_parse_us(q + 7, VERIFY_TS_LEN, &t) != 0) {
        return 0;
    }
    return t;
}

/* Read the chain head at the end of file @p name of @p dirfd (@p path
 * for messages); *found 0 when it has no complete line. */
static apr_status_t file_head(int dirfd, const char *name, const char *path,
                              uid_t owner, verify_chain_t *chain,
                              apr_time_t *ts, apr_off_t *size,
                              apr_off_t *partial_at, int *found, char **err,
                              apr_pool_t *p)
{
    const char *why = NULL;
    struct stat st;
    char *buf;
    apr_off_t start;
    apr_status_t rv = APR_SUCCESS;
    ssize_t got;
    size_t i, n, end;
    int fd;

    *found = 0;
    fd = verify_audit_openat(dirfd, name, O_RDONLY, 0, owner, (gid_t)-1,
                             &why, p);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rv = why ? VERIFY_AUDIT_REFUSED : APR_FROM_OS_ERROR(errno);
        *err = why ? apr_psprintf(p, "refusing %s: %s", path, why)
                   : apr_psprintf(p, "cannot read %s: %pm", path, &rv);
        goto cleanup;
    }
    *size = st.st_size;
    if (st.st_size == 0) {
        goto cleanup;
    }
    /* The last line fits in the last two line lengths of the file. */
    start = st.st_size > 2 * VERIFY_AUDIT_LINE_MAX
            ? st.st_size - 2 * VERIFY_AUDIT_LINE_MAX : 0;
    n = (size_t)(st.st_size - start);
    buf = apr_palloc(p, n + 1);
    got = pread(fd, buf, n, start);
    if (got != (ssize_t)n) {
        rv = got < 0 ? APR_FROM_OS_ERROR(errno) : APR_EOF;
        *err = apr_psprintf(p, "cannot read %s: %pm", path, &rv);
        goto cleanup;
    }
    end = n;
    if (buf[end - 1] != '\n') {
        /* a line cut short: a writer died mid-write */
        while (end > 0 && buf[end - 1] != '\n') {
            end--;
        }
        *partial_at = start + (apr_off_t)end;
    }
    if (end == 0) {
        if (start != 0) {
            rv = APR_EGENERAL;
            *err = apr_psprintf(p, "%s: last line longer than %d bytes",
                                path, VERIFY_AUDIT_LINE_MAX);
        }
        goto cleanup;
    }
    i = end - 1;                /* the newline ending the last line */
    while (i > 0 && buf[i - 1] != '\n') {
        i--;
    }
    if ((i == 0 && start != 0)
        || verify_audit_line_head(buf + i, end - 1 - i, chain) != 0) {
        rv = APR_EGENERAL;
        *err = apr_psprintf(p, "%s: last line is not a sealed audit line",
                            path);
        memset(chain, 0, sizeof(*chain));
        goto cleanup;
    }
    *ts = line_ts(buf + i, end - 1 - i);
    *found = 1;

cleanup:
    if (fd >= 0) {
        close(fd);
    }
    return rv;
}

apr_status_t verify_audit_find_head(const char *dir, uid_t owner,
                                    verify_chain_t *chain, const char **file,
                                    apr_off_t *size, apr_off_t *partial_at,
                                    char **err, apr_pool_t *p)
{
    apr_time_t ts;

    return verify_audit_find_head_ts(dir, owner, chain, &ts, file, size,
                                     partial_at, err, p);
}

apr_status_t verify_audit_find_head_ts(const char *dir, uid_t owner,
                                       verify_chain_t *chain, apr_time_t *ts,
                                       const char **file, apr_off_t *size,
                                       apr_off_t *partial_at, char **err,
                                       apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 64, sizeof(char *));
    const char *checkpoint = NULL;  /* not needed here */
    verify_date_t cp_date = 0;
    apr_status_t rv;
    int i, found, dirfd;

    memset(chain, 0, sizeof(*chain));
    *ts = 0;
    *file = NULL;
    *size = 0;
    *partial_at = -1;
    rv = read_dir(dir, names, &checkpoint, &cp_date, err, p);
    dirfd = rv == APR_SUCCESS ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                              : -1;
    if (rv == APR_SUCCESS && dirfd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    if (rv != APR_SUCCESS) {
        /* the module's message names the directory's role */
        *err = apr_psprintf(p, "cannot open audit directory %s: %pm", dir,
                            &rv);
        return rv;
    }
    /* The newest file with a complete line holds the head; newer empty
     * files were opened at a day change before any line was written. */
    for (i = names->nelts - 1; i >= 0; i--) {
        const char *name = APR_ARRAY_IDX(names, i, char *);
        const char *path = apr_pstrcat(p, dir, "/", name, NULL);
        apr_off_t psz = -1, fsize = 0;
        rv = file_head(dirfd, name, path, owner, chain, ts, &fsize, &psz,
                       &found, err, p);
        if (i == names->nelts - 1) {
            *file = path;
            *size = fsize;
            *partial_at = psz;
        }
        if (rv != APR_SUCCESS || found) {
            break;
        }
    }
    close(dirfd);
    return rv;
}
