/*
 * verify_checkpoint_dir.c -- signed checkpoints kept as files named by
 * their tree size. Only root writes here; the files are still opened
 * without following links and checked, as everything root reads is.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "verify_checkpoint_dir.h"
#include "verify_note.h"

#define PREFIX "checkpoint-"
#define DIGITS 20

void verify_cpdir_name(uint64_t size, char out[VERIFY_CPDIR_NAME_LEN])
{
    snprintf(out, VERIFY_CPDIR_NAME_LEN, PREFIX "%020llu",
             (unsigned long long)size);
}

uint64_t verify_cpdir_name_size(const char *name)
{
    uint64_t v = 0;
    int i;

    if (strncmp(name, PREFIX, sizeof(PREFIX) - 1)) {
        return 0;
    }
    name += sizeof(PREFIX) - 1;
    for (i = 0; i < DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9'
            || v > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10) {
            return 0;
        }
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    return name[DIGITS] == '\0' ? v : 0;
}

/* Read a checkpoint file of @p dirfd strictly (see the header). */
static apr_status_t read_file(int dirfd, const char *name, char **note,
                              size_t *len, char **err, apr_pool_t *p)
{
    struct stat st;
    char *buf;
    ssize_t n;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK
                                 | O_CLOEXEC);

    if (fd < 0) {
        *err = apr_psprintf(p, "cannot open %s: %s", name, strerror(errno));
        return APR_FROM_OS_ERROR(errno);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1
        || st.st_uid != 0 || st.st_size > VERIFY_NOTE_MAX) {
        close(fd);
        *err = apr_psprintf(p, "%s is not a regular file of root's with "
                            "one link and at most %d bytes", name,
                            VERIFY_NOTE_MAX);
        return APR_EINVAL;
    }
    buf = apr_palloc(p, (apr_size_t)st.st_size + 1);
    n = pread(fd, buf, (size_t)st.st_size, 0);
    close(fd);
    if (n != (ssize_t)st.st_size) {
        *err = apr_psprintf(p, "cannot read %s", name);
        return APR_EGENERAL;
    }
    buf[n] = '\0';
    *note = buf;
    *len = (size_t)n;
    return APR_SUCCESS;
}

static int write_all(int fd, const char *s, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(fd, s, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

apr_status_t verify_cpdir_write(int dirfd, uint64_t size, const char *note,
                                size_t len, char **err, apr_pool_t *p)
{
    char name[VERIFY_CPDIR_NAME_LEN], tmp[64], *old;
    size_t olen;
    apr_status_t rv = APR_SUCCESS;
    int fd, e;

    verify_cpdir_name(size, name);
    snprintf(tmp, sizeof(tmp), ".tmp-%s-%ld", name, (long)getpid());
    unlinkat(dirfd, tmp, 0);
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                            | O_CLOEXEC, 0644);
    if (fd < 0) {
        *err = apr_psprintf(p, "cannot create %s: %s", tmp, strerror(errno));
        return APR_FROM_OS_ERROR(errno);
    }
    if (fchmod(fd, 0644) != 0 || write_all(fd, note, len) != 0
        || fsync(fd) != 0) {
        e = errno;
        close(fd);
        unlinkat(dirfd, tmp, 0);
        *err = apr_psprintf(p, "cannot write %s: %s", tmp, strerror(e));
        return APR_FROM_OS_ERROR(e);
    }
    close(fd);
    /* a link never replaces: a second writer of the same size meets
     * the first one's file and compares */
    if (linkat(dirfd, tmp, dirfd, name, 0) != 0) {
        e = errno;
        if (e != EEXIST) {
            *err = apr_psprintf(p, "cannot link %s: %s", name, strerror(e));
            rv = APR_FROM_OS_ERROR(e);
        }
        else if ((rv = read_file(dirfd, name, &old, &olen, err, p))
                 == APR_SUCCESS
                 && (olen != len || memcmp(old, note, len))) {
            *err = apr_psprintf(p, "%s already holds a different checkpoint "
                                "of size %" APR_UINT64_T_FMT, name, size);
            rv = APR_EEXIST;
        }
    }
    unlinkat(dirfd, tmp, 0);
    if (rv == APR_SUCCESS && fsync(dirfd) != 0) {
        *err = apr_psprintf(p, "cannot sync the checkpoint directory: %s",
                            strerror(errno));
        rv = APR_FROM_OS_ERROR(errno);
    }
    return rv;
}

apr_status_t verify_cpdir_newest(int dirfd, uint64_t *size, char **note,
                                 size_t *len, char **err, apr_pool_t *p)
{
    char best[VERIFY_CPDIR_NAME_LEN];
    struct dirent *de;
    uint64_t v;
    DIR *dir;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    *size = 0;
    *note = NULL;
    *len = 0;
    if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
        *err = apr_psprintf(p, "cannot list the checkpoint directory: %s",
                            strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return APR_FROM_OS_ERROR(errno);
    }
    while ((de = readdir(dir)) != NULL) {
        v = verify_cpdir_name_size(de->d_name);
        if (v > *size) {
            *size = v;
            apr_cpystrn(best, de->d_name, sizeof(best));
        }
    }
    closedir(dir);
    return *size ? read_file(dirfd, best, note, len, err, p) : APR_SUCCESS;
}
