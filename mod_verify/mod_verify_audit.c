/*
 * mod_verify_audit.c -- the audit chain in httpd. The writer itself is
 * the library's (verify_writer.c); here is what httpd adds: the shared
 * memory and the mutex, kept across graceful restarts, one parent per
 * directory, the run-time user, and the error log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <grp.h>
#include <pwd.h>

#include "httpd.h"
#include "ap_mpm.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "util_mutex.h"
#include "unixd.h"
#include <apr_global_mutex.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_config.h"
#include "mod_verify_audit.h"

#define AUDIT_MUTEX_TYPE "verify-audit"
#define USERDATA_KEY "verify_module_chain"
#define WRITER_LOCK ".writer.lock"
#define WRITER_WAIT_TRIES 100           /* x 100 ms */
/* Slots of answers in flight: at most this many (16 bytes each). */
#define FLIGHTS_MAX 262144

/* The head and its mutex live in the process pool, so that a graceful
 * restart keeps one chain while old children finish their requests;
 * the writer is this process's. */
static apr_global_mutex_t *mutex;
static verify_writer_t writer;
/* The table of answers in flight follows the head in its segment; its
 * size is the parent's own copy (the children can write the segment). */
static verify_writer_flight_t *flights;
static uint32_t nflights;
/* This generation wrote the first start line of a new head. */
static int first_start;
/* The server whose error log this thread's messages go to: the request's
 * (the writer is shared by the threads of a child). */
static __thread server_rec *log_server;

/* The library's messages, into the error log with their numbers. */
static void log_to_error_log(void *baton, int level, apr_status_t rv,
                             int msgno, const char *fmt, ...)
{
    server_rec *s = log_server ? log_server : baton;
    char msg[HUGE_STRING_LEN];
    va_list ap;

    va_start(ap, fmt);
    apr_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ap_log_error(APLOG_MARK, level, rv, s, "VFY%d: %s", msgno, msg);
}

static apr_status_t mutex_acquire(void *baton)
{
    return apr_global_mutex_lock(mutex);
}

static apr_status_t mutex_release(void *baton)
{
    return apr_global_mutex_unlock(mutex);
}

apr_status_t verify_auditlog_pre_config(apr_pool_t *pconf)
{
    return ap_mutex_register(pconf, AUDIT_MUTEX_TYPE, NULL,
                             APR_LOCK_DEFAULT, 0);
}

int verify_auditlog_ready(void)
{
    return writer.head != NULL;
}

/* Set up @p w on @p head, logging for @p s. */
static void writer_setup_on(verify_writer_t *w, verify_writer_head_t *head,
                            const char *dir, server_rec *s)
{
    verify_writer_init(w, head, dir);
    w->sync = verify_config_audit_sync();
    w->mutex.acquire = mutex_acquire;
    w->mutex.release = mutex_release;
    w->uid = ap_unixd_config.user_id;
    w->gid = ap_unixd_config.group_id;
    w->log = log_to_error_log;
    w->log_baton = s;
    w->flights = flights;
    w->nflights = nflights;
}

/* Set up this process's writer on @p head, logging for @p s. */
static void writer_setup(verify_writer_head_t *head, const char *dir,
                         server_rec *s)
{
    writer_setup_on(&writer, head, dir, s);
}

void verify_auditlog_writer_init(verify_writer_t *w, server_rec *s)
{
    writer_setup_on(w, writer.head, writer.dir, s);
}

const verify_writer_head_t *verify_auditlog_head(void)
{
    return writer.head;
}

/* One slot per thread that may answer, twice over: the processes of the
 * generation before a restart still finish their requests beside the
 * new ones, and the threaded MPMs let an exiting child outlive its
 * scoreboard slot. */
static uint32_t flight_slots(void)
{
    int daemons = 0, threads = 0;
    apr_uint64_t n;

    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &daemons) != APR_SUCCESS
        || daemons < 1) {
        daemons = 1;
    }
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &threads) != APR_SUCCESS
        || threads < 1) {
        threads = 1;
    }
    n = 2 * (apr_uint64_t)daemons * (apr_uint64_t)threads + 64;
    return n > FLIGHTS_MAX ? FLIGHTS_MAX : (uint32_t)n;
}

/* Who must own the audit directory and its files. */
static uid_t run_uid(void)
{
    return geteuid() == 0 ? ap_unixd_config.user_id : geteuid();
}

static const char *user_name(apr_pool_t *p, uid_t uid)
{
    struct passwd *pw = getpwuid(uid);

    return pw ? apr_pstrdup(p, pw->pw_name) : apr_psprintf(p, "%ld",
                                                           (long)uid);
}

static const char *group_name(apr_pool_t *p, gid_t gid)
{
    struct group *gr = getgrgid(gid);

    return gr ? apr_pstrdup(p, gr->gr_name) : apr_psprintf(p, "%ld",
                                                           (long)gid);
}

apr_status_t verify_auditlog_check_dir(server_rec *s, const char *dir,
                                       apr_pool_t *p)
{
    const char *user = user_name(p, run_uid());
    struct stat st;

    if (stat(dir, &st) != 0) {
        /* missing: start creates it (and hands it over) */
        return errno == ENOENT ? APR_SUCCESS : APR_FROM_OS_ERROR(errno);
    }
    if (S_ISDIR(st.st_mode) && st.st_uid == run_uid()
        && (st.st_mode & 022) == 0) {
        return APR_SUCCESS;
    }
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(71)
                 "VerifyAuditLog %s is %s owned by %s:%s, mode %04o; it "
                 "must be a directory owned by the run-time user %s that "
                 "no one else can write. mod_verify hands over only a "
                 "directory it creates itself; to use this one, run: "
                 "chown %s %s && chmod 0750 %s", dir,
                 S_ISDIR(st.st_mode) ? "a directory" : "not a directory",
                 user_name(p, st.st_uid), group_name(p, st.st_gid),
                 (unsigned)(st.st_mode & 07777), user, user, dir, dir);
    return APR_EGENERAL;
}

/*
 * The audit directory. Created only when it is missing, and then
 * handed to the run-time user through the descriptor of the directory
 * just made; one that exists is never re-owned: it is used if it
 * already belongs to the run-time user and no one else can write it,
 * and refused (VFY71) otherwise.
 */
static apr_status_t prepare_dir(server_rec *s, const char *dir,
                                apr_pool_t *ptemp)
{
    apr_status_t rv = APR_SUCCESS;
    struct stat st;
    int fd = -1;

    if (mkdir(dir, 0700) == 0) {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) != 0 || st.st_uid != geteuid()
            || (geteuid() == 0
                && fchown(fd, ap_unixd_config.user_id,
                          ap_unixd_config.group_id) != 0)
            || fchmod(fd, 0750) != 0) {
            rv = APR_FROM_OS_ERROR(errno ? errno : EPERM);
        }
    }
    else if (errno == ENOENT) {
        /* the parents: root's, searchable (as install -d makes them) */
        rv = apr_dir_make_recursive(ap_make_dirstr_parent(ptemp, dir),
                                    APR_FPROT_UREAD | APR_FPROT_UWRITE
                                    | APR_FPROT_UEXECUTE | APR_FPROT_GREAD
                                    | APR_FPROT_GEXECUTE | APR_FPROT_WREAD
                                    | APR_FPROT_WEXECUTE, ptemp);
        if (rv == APR_SUCCESS) {
            return prepare_dir(s, dir, ptemp);
        }
    }
    else if (errno != EEXIST) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    if (fd >= 0) {
        close(fd);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(20)
                     "cannot prepare audit directory %s "
                     "for the run-time user", dir);
        return rv;
    }
    return verify_auditlog_check_dir(s, dir, ptemp);
}

/*
 * One parent per audit directory. Its chain head lives in this parent's
 * shared memory, so a second httpd (or a new one started while the old
 * one's children still finish requests after graceful-stop) would fork
 * the chain. The parent takes an exclusive flock on a file in the
 * directory and never closes it; its children inherit the descriptor,
 * so the lock holds until the last process that may write has gone.
 */
static apr_status_t writer_lock(server_rec *s, const char *dir,
                                apr_pool_t *ptemp)
{
    const char *path = apr_pstrcat(ptemp, dir, "/" WRITER_LOCK, NULL);
    const char *why = NULL;
    int dirfd, fd = -1, i;

    if (strlen(dir) >= sizeof(((verify_writer_head_t *)0)->audit_dir)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(32)
                     "VerifyAuditLog path too long");
        return APR_ENAMETOOLONG;
    }
    /* the directory is the run-time user's: the lock file is reached
     * through it, never following a link, and must be root's own */
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd >= 0) {
        fd = verify_audit_openat(dirfd, WRITER_LOCK, O_RDWR | O_CREAT, 0600,
                                 geteuid(), (gid_t)-1, &why, ptemp);
        close(dirfd);
    }
    if (fd < 0 && why) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(72)
                     "refusing the writer lock %s: %s; remove it (httpd "
                     "makes a new one)", path, why);
        return APR_EGENERAL;
    }
    if (fd < 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, APR_FROM_OS_ERROR(errno), s,
                     VERIFY_LOGNO(33) "cannot open %s", path);
        return APR_FROM_OS_ERROR(errno);
    }
    /* the children of a stopped predecessor may need a moment */
    for (i = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; i++) {
        if (errno != EWOULDBLOCK || i == WRITER_WAIT_TRIES) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, APR_FROM_OS_ERROR(errno),
                         s, VERIFY_LOGNO(34) "another httpd (or the "
                         "children of a stopped one) still writes the "
                         "audit log %s; refusing to fork its chain", dir);
            close(fd);
            return APR_EGENERAL;
        }
        apr_sleep(apr_time_from_msec(100));
    }
    return APR_SUCCESS;         /* fd stays open for the parent's life */
}

/*
 * A graceful restart: the old generation's head goes on, with what
 * cannot change under running children. The head is shared memory the
 * children (the run-time user) can write: root takes the directory and
 * the lock kind from its own copy in the process pool, never from it.
 */
static apr_status_t chain_take_over(server_rec *s, verify_writer_head_t *h)
{
    void *data = NULL, *kind = NULL;
    const char *dir;

    apr_pool_userdata_get(&data, USERDATA_KEY "_dir", s->process->pool);
    apr_pool_userdata_get(&kind, USERDATA_KEY "_lock", s->process->pool);
    dir = data;
    if (strncmp(h->audit_dir, dir, sizeof(h->audit_dir))
        || h->lock_kind != *(const int *)kind) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, VERIFY_LOGNO(76)
                     "the shared audit chain head was altered (directory "
                     "or lock kind); the parent's own copy is restored");
        apr_cpystrn(h->audit_dir, dir, sizeof(h->audit_dir));
        h->lock_kind = *(const int *)kind;
    }
    if (h->layout != VERIFY_WRITER_LAYOUT) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(30)
                     "mod_verify was replaced by a build with another "
                     "audit chain layout: stop and start httpd (a "
                     "graceful restart cannot carry the chain over)");
        return APR_EGENERAL;
    }
    /* old children write on: one chain, one directory, one lock */
    if (strcmp(h->audit_dir, verify_config_audit_dir())) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, VERIFY_LOGNO(31)
                     "VerifyAuditLog changes only at a full restart; "
                     "keeping %s", h->audit_dir);
    }
    h->sync_failed = 0;         /* the admin restarted */
    if (h->lock_kind != verify_config_audit_lock()) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, VERIFY_LOGNO(26)
                     "VerifyAuditLock changes only at a full restart; "
                     "keeping %s", h->lock_kind == VERIFY_WRITER_LOCK_MUTEX
                     ? "mutex" : "futex");
    }
    apr_pool_userdata_get(&data, USERDATA_KEY "_mutex", s->process->pool);
    mutex = data;
    data = NULL;
    apr_pool_userdata_get(&data, USERDATA_KEY "_flights", s->process->pool);
    nflights = data ? *(const uint32_t *)data : 0;
    flights = nflights ? (verify_writer_flight_t *)(h + 1) : NULL;
    writer_setup(h, dir, s);
    return APR_SUCCESS;
}

/* The first generation: a new head from the files, its mutex. */
static apr_status_t chain_create(server_rec *s, apr_pool_t *ptemp)
{
    apr_pool_t *pproc = s->process->pool;
    const char *dir = verify_config_audit_dir();
    apr_shm_t *shm = NULL;
    apr_status_t rv;
    uint32_t *nf;
    int *kind;

    rv = writer_lock(s, dir, ptemp);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    nflights = flight_slots();
    rv = apr_shm_create(&shm, sizeof(verify_writer_head_t)
                        + nflights * sizeof(verify_writer_flight_t), NULL,
                        pproc);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(17)
                     "cannot create shared memory for the audit chain");
        return rv;
    }
    flights = (verify_writer_flight_t *)((verify_writer_head_t *)
                                         apr_shm_baseaddr_get(shm) + 1);
    writer_setup(apr_shm_baseaddr_get(shm), dir, s);
    rv = verify_writer_start(&writer, verify_config_audit_lock(), ptemp);
    if (rv != APR_SUCCESS) {
        writer.head = NULL;
        return rv;
    }
    rv = ap_global_mutex_create(&mutex, NULL, AUDIT_MUTEX_TYPE, NULL, s,
                                pproc, 0);
    if (rv != APR_SUCCESS) {
        writer.head = NULL;
        return rv;      /* ap_global_mutex_create logged why */
    }
    apr_pool_userdata_set(mutex, USERDATA_KEY "_mutex",
                          apr_pool_cleanup_null, pproc);
    /* the parent's own copies of what the shared head must hold */
    kind = apr_pcalloc(pproc, sizeof(*kind));
    *kind = writer.head->lock_kind;
    apr_pool_userdata_set(apr_pstrdup(pproc, dir), USERDATA_KEY "_dir",
                          apr_pool_cleanup_null, pproc);
    apr_pool_userdata_set(kind, USERDATA_KEY "_lock", apr_pool_cleanup_null,
                          pproc);
    nf = apr_palloc(pproc, sizeof(*nf));
    *nf = nflights;
    apr_pool_userdata_set(nf, USERDATA_KEY "_flights", apr_pool_cleanup_null,
                          pproc);
    first_start = 1;
    apr_pool_userdata_set(writer.head, USERDATA_KEY, apr_pool_cleanup_null,
                          pproc);
    return APR_SUCCESS;
}

/* The "start" line of a generation into @p body (256 bytes), written.
 * The description is the admin's (loaded modules' tokens): escaped and
 * bounded like any other text. */
static apr_status_t write_start(server_rec *s, char *body, size_t *blen,
                                apr_pool_t *ptemp)
{
    const char *desc = ap_get_server_description();
    verify_jbuf_t jb;

    writer.head->generation++;
    verify_jbuf_init(&jb, body, 256);
    jb.len = (size_t)apr_snprintf(body, 256, ",\"op\":\"start\","
                                  "\"pid\":%ld,\"generation\":%u,"
                                  "\"server\":", (long)getpid(),
                                  writer.head->generation);
    verify_jbuf_str(&jb, desc, strlen(desc), 160);
    *blen = jb.len;
    return verify_writer_append(&writer, body, jb.len, NULL, NULL, ptemp);
}

/*
 * A server stopping (the generation's pool is destroyed on the way
 * out, after the MPM has reaped the children): answers left in flight
 * by children that ended since the last line (a stop kills children in
 * the middle of requests) are recorded now, while the head still holds
 * them. At a restart the next generation's chain steps do it.
 */
static void record_stop(void)
{
    apr_pool_t *p = NULL;
    verify_writer_t w;

    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_EXITING || !flights
        || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return;
    }
    w = writer;
    w.pid = getpid();
    w.log_baton = NULL;         /* the servers' pool is going */
    w.dirfd = w.fd = w.old_fd = -1;
    if (verify_writer_flush_exited(&w, p) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, NULL, VERIFY_LOGNO(94)
                     "stopping: the answers children left in flight could "
                     "not be recorded in the audit log %s", w.dir);
    }
    verify_writer_close(&w);
    apr_pool_destroy(p);
}

/* The chain is this generation's to write once post_config has set it
 * up; a restart that does not configure it must not find it. */
static apr_status_t generation_cleanup(void *data)
{
    if (writer.head) {
        record_stop();
    }
    writer.head = NULL;
    return APR_SUCCESS;
}

apr_status_t verify_auditlog_post_config(server_rec *s, apr_pool_t *pconf,
                                         apr_pool_t *ptemp)
{
    void *head = NULL;
    apr_status_t rv;

    writer.head = NULL;
    apr_pool_cleanup_register(pconf, NULL, generation_cleanup,
                              apr_pool_cleanup_null);
    rv = prepare_dir(s, verify_config_audit_dir(), ptemp);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_userdata_get(&head, USERDATA_KEY, s->process->pool);
    first_start = 0;
    return head ? chain_take_over(s, head) : chain_create(s, ptemp);
}

apr_status_t verify_auditlog_start(server_rec *s, apr_pool_t *ptemp)
{
    char body[256];
    size_t blen = 0;
    apr_status_t rv = write_start(s, body, &blen, ptemp);

    if (rv == APR_SUCCESS) {
        return rv;
    }
    if (first_start) {
        verify_writer_close(&writer);
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(21)
                     "cannot write to the audit log %s; refusing to start",
                     writer.dir);
        return rv;
    }
    /* A restart must not take a running server down (a full volume is
     * the usual cause): static content goes on, /verify answers 503
     * until lines can be written, and the start line goes first. */
    if (verify_writer_defer(&writer, body, blen) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, VERIFY_LOGNO(95)
                     "cannot write the start line to the audit log %s, nor "
                     "keep it for later: the chain will not show this "
                     "restart", writer.dir);
        return APR_SUCCESS;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, VERIFY_LOGNO(96)
                 "cannot write the start line to the audit log %s: the "
                 "server goes on, /verify answers 503 audit_unavailable "
                 "until lines can be written again, and then this start "
                 "line is written first", writer.dir);
    return APR_SUCCESS;
}

void verify_auditlog_child_status(pid_t pid, int exited)
{
    if (exited && flights) {
        verify_writer_exited((verify_writer_head_t *)flights - 1, flights,
                             nflights, pid);
    }
}

void verify_auditlog_answered(void)
{
    verify_writer_answered(&writer);
}

apr_status_t verify_auditlog_parent_append(void *baton, const char *body,
                                           size_t blen, apr_pool_t *p)
{
    return verify_writer_append(&writer, body, blen, NULL, NULL, p);
}

void verify_auditlog_parent_done(void)
{
    /* children open their own descriptors */
    verify_writer_close(&writer);
}

void verify_auditlog_child_init(server_rec *s, apr_pool_t *pchild)
{
    apr_status_t rv;

    verify_writer_init(&writer, writer.head, writer.dir);
    rv = apr_global_mutex_child_init(&mutex,
                                     apr_global_mutex_lockfile(mutex),
                                     pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, VERIFY_LOGNO(23)
                     "cannot attach to the audit chain lock");
    }
}

apr_status_t verify_auditlog_append(server_rec *s, const char *body,
                                    size_t blen, const char *request_id,
                                    verify_writer_receipt_t *receipt,
                                    apr_pool_t *p)
{
    apr_status_t rv;

    log_server = s;
    rv = verify_writer_append(&writer, body, blen, request_id, receipt,
                              p);
    log_server = NULL;
    return rv;
}

apr_status_t verify_auditlog_append_batch(server_rec *s,
                                          const verify_writer_body_t *lines,
                                          size_t n, const char *request_id,
                                          verify_writer_receipt_t *receipts,
                                          apr_pool_t *p)
{
    apr_status_t rv;

    log_server = s;
    rv = verify_writer_append_batch(&writer, lines, n, request_id, receipts,
                                    p);
    log_server = NULL;
    return rv;
}
