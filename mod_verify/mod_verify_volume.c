/*
 * mod_verify_volume.c -- the audit volume. When it is full no line can
 * be written and /verify answers 503: the error log says so well before,
 * once as the volume passes 75 % and once as it passes 90 %, and again
 * only after it has come back under. The level passed is one word of
 * shared memory, kept for the parent's life: the parent's monitor (about every ten seconds) and the
 * children's health checks measure, and whichever sees a crossing first
 * takes the word with a compare-and-swap and logs it; nothing runs on
 * the /verify path.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_config.h"
#include "mod_verify_volume.h"
#include "mod_verify_shm.h"

/* How far under a threshold the volume must come back before passing
 * it again warns again: a volume hovering at 75 % says it once. */
#define HYSTERESIS 1.0
#define PROBE_BYTES 4096

#define USERDATA_KEY "mod_verify_volume_level"

/* made once in the parent's life (its process pool), so that a restart
 * does not say a crossing again; NULL: not set up */
static apr_uint32_t *level;

apr_status_t verify_volume_post_config(server_rec *s, apr_pool_t *pconf)
{
    void *data = NULL;
    apr_status_t rv;

    rv = verify_shm_lifelong(s, USERDATA_KEY, sizeof(*level), &data, NULL);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(134)
                     "cannot create shared memory for the audit volume's "
                     "level");
        return rv;
    }
    level = data;
    return APR_SUCCESS;
}

int verify_volume_open(void)
{
    const char *dir = verify_config_audit_dir();

    return dir ? open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
               : -1;
}

/* The level @p pct is at, coming from @p old. */
static int level_of(double pct, int old)
{
    if (pct >= VERIFY_VOLUME_ALARM
        || (old == VERIFY_VOLUME_ALARM
            && pct >= VERIFY_VOLUME_ALARM - HYSTERESIS)) {
        return VERIFY_VOLUME_ALARM;
    }
    if (pct >= VERIFY_VOLUME_WARN
        || (old >= VERIFY_VOLUME_WARN
            && pct >= VERIFY_VOLUME_WARN - HYSTERESIS)) {
        return VERIFY_VOLUME_WARN;
    }
    return 0;
}

static void say(server_rec *s, int from, const verify_volume_t *v)
{
    const char *dir = verify_config_audit_dir();
    char free_text[8];

    apr_strfsize((apr_off_t)v->free_bytes, free_text);
    if (v->level == VERIFY_VOLUME_ALARM) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, VERIFY_LOGNO(132)
                     "the audit volume of %s is %.1f%% full (past %d%%), "
                     "%sB free: when it is full /verify answers 503 "
                     "audit_unavailable; make room or move the audit log "
                     "now", dir, v->used_percent, VERIFY_VOLUME_ALARM,
                     free_text);
    }
    else if (v->level == VERIFY_VOLUME_WARN && from < v->level) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, VERIFY_LOGNO(131)
                     "the audit volume of %s is %.1f%% full (past %d%%), "
                     "%sB free: when it is full /verify answers 503 "
                     "audit_unavailable", dir, v->used_percent,
                     VERIFY_VOLUME_WARN, free_text);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, VERIFY_LOGNO(133)
                     "the audit volume of %s is back to %.1f%% full, %sB "
                     "free", dir, v->used_percent, free_text);
    }
}

void verify_volume_measure(server_rec *s, int dirfd, verify_volume_t *v)
{
    struct statvfs st;
    apr_uint64_t used, total;
    apr_uint32_t old;

    memset(v, 0, sizeof(*v));
    if (dirfd < 0 || fstatvfs(dirfd, &st) != 0) {
        return;
    }
    v->ok = 1;
    used = (apr_uint64_t)(st.f_blocks - st.f_bfree);
    total = used + (apr_uint64_t)st.f_bavail;
    v->free_bytes = (apr_uint64_t)st.f_bavail * st.f_frsize;
    v->used_percent = total ? 100.0 * (double)used / (double)total : 0.0;
    if (!level) {
        v->level = level_of(v->used_percent, 0);
        return;
    }
    /* one process wins each crossing; a loser sees the new level */
    do {
        old = apr_atomic_read32(level);
        v->level = level_of(v->used_percent, (int)old);
        if ((apr_uint32_t)v->level == old) {
            return;
        }
    } while (apr_atomic_cas32(level, (apr_uint32_t)v->level, old) != old);
    if (v->level > (int)old || v->level == 0) {
        say(s, (int)old, v);
    }
}

void verify_volume_monitor(server_rec *s)
{
    verify_volume_t v;
    int fd = verify_volume_open();

    verify_volume_measure(s, fd, &v);
    if (fd >= 0) {
        close(fd);
    }
}

/* A named probe, for a filesystem without O_TMPFILE: made O_EXCL and
 * removed at once; never a name of the chain's (audit-*.jsonl). */
static int named_probe(int dirfd, apr_pool_t *p)
{
    const char *name = apr_psprintf(p, ".health-probe.%ld.%lx",
                                    (long)getpid(),
                                    (unsigned long)pthread_self());
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                                 | O_CLOEXEC, 0600);

    if (fd >= 0) {
        unlinkat(dirfd, name, 0);
    }
    return fd;
}

int verify_volume_writable(int dirfd, const char **why, apr_pool_t *p)
{
    char block[PROBE_BYTES];
    ssize_t n;
    int fd, e;

    if (dirfd < 0) {
        *why = "the audit directory cannot be opened";
        return 0;
    }
    fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
        fd = named_probe(dirfd, p);
    }
    if (fd < 0) {
        *why = apr_psprintf(p, "no file can be made in the audit "
                            "directory: %s", strerror(errno));
        return 0;
    }
    memset(block, 0, sizeof(block));
    n = write(fd, block, sizeof(block));
    e = errno;
    close(fd);
    if (n != (ssize_t)sizeof(block)) {
        *why = apr_psprintf(p, "a block cannot be written to the audit "
                            "volume: %s", n < 0 ? strerror(e)
                                                : "short write");
        return 0;
    }
    return 1;
}
