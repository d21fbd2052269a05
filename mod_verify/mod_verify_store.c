/*
 * mod_verify_store.c -- the store in httpd. The parent only fixes
 * permissions; each child opens its own read-only environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include "httpd.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "unixd.h"
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_config.h"
#include "mod_verify_store.h"

#define STORE_RETRY_USEC apr_time_from_sec(1)

static unsigned maxreaders;             /* LMDB reader slots */
static verify_store_t *store;           /* per child */
static apr_thread_mutex_t *store_lock;  /* one opener at a time */
static apr_time_t store_next_try;
static apr_pool_t *store_pool;

/* Give the run-time user what it needs in the store directory: the
 * lock file read-write (LMDB readers register there), the data file
 * and directory readable. */
static void store_permissions(server_rec *s, const char *dir,
                              apr_pool_t *p)
{
    const char *lock = apr_pstrcat(p, dir, "/lock.mdb", NULL);
    const char *data = apr_pstrcat(p, dir, "/data.mdb", NULL);
    uid_t uid = ap_unixd_config.user_id;
    gid_t gid = ap_unixd_config.group_id;
    int fd;

    if (geteuid() != 0) {
        return;
    }
    if (access(dir, F_OK) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, VERIFY_LOGNO(10)
                     "store %s does not exist yet: /verify answers 503 "
                     "until a batch is imported", dir);
        return;
    }
    /* setgid: files the importer creates later get this group too */
    if (chown(dir, (uid_t)-1, gid) != 0 || chmod(dir, 02750) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, VERIFY_LOGNO(11)
                     "cannot give group %ld access to store %s",
                     (long)gid, dir);
    }
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
    if (fd < 0 || fchown(fd, uid, gid) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, VERIFY_LOGNO(12)
                     "cannot hand store lock file %s to the run-time user",
                     lock);
    }
    if (fd >= 0) {
        close(fd);
    }
    if (access(data, F_OK) == 0
        && (chown(data, (uid_t)-1, gid) != 0 || chmod(data, 0640) != 0)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, VERIFY_LOGNO(13)
                     "cannot give group %ld read access to %s", (long)gid,
                     data);
    }
}

void verify_store_prepare(server_rec *s, apr_pool_t *ptemp)
{
    int threads = 1, daemons = 1;

    store_permissions(s, verify_config_store_dir(), ptemp);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &daemons);
    maxreaders = (unsigned)(threads < 1 ? 1 : threads)
                 * (unsigned)(daemons < 1 ? 1 : daemons) + 16;
    if (maxreaders < 126) {
        maxreaders = 126;
    }
}

/* Open the store for this child; called at child start and, while it
 * is missing, again at most once a second from requests. */
static void store_try_open(server_rec *s)
{
    verify_store_t *st = NULL;
    apr_pool_t *sp = NULL;
    char *err = NULL;
    apr_status_t rv;

    apr_pool_create(&sp, store_pool);
    rv = verify_store_open(&st, verify_config_store_dir(),
                           VERIFY_STORE_READONLY, maxreaders, &err, sp);
    if (rv != APR_SUCCESS) {
        /* Not imported yet is routine; no permission is the admin's to
         * fix, and is said once per child at warn level. */
        static int warned;
        int level = APLOG_INFO;
        if (APR_STATUS_IS_EACCES(rv) && !warned) {
            warned = 1;
            level = APLOG_WARNING;
        }
        ap_log_error(APLOG_MARK, level, rv, s, VERIFY_LOGNO(22)
                     "%s", err);
        apr_pool_destroy(sp);
        store_next_try = apr_time_now() + STORE_RETRY_USEC;
        return;
    }
    /* a child that died mid-read leaves its reader slot behind */
    verify_store_reader_check(st);
    store = st;
}

void verify_store_child_init(server_rec *s, apr_pool_t *pchild)
{
    store_pool = pchild;
    apr_thread_mutex_create(&store_lock, APR_THREAD_MUTEX_DEFAULT, pchild);
    store_try_open(s);
}

verify_store_t *verify_store_get(server_rec *s)
{
    if (store) {
        return store;
    }
    if (apr_time_now() < store_next_try) {
        return NULL;
    }
    apr_thread_mutex_lock(store_lock);
    if (!store && apr_time_now() >= store_next_try) {
        store_try_open(s);
    }
    apr_thread_mutex_unlock(store_lock);
    return store;
}
