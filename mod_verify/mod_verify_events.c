/*
 * mod_verify_events.c -- administrative events in httpd. The root tools
 * cannot append to the chain (its head and lock are this server's
 * shared memory): they leave their events in the spool, and the parent,
 * as root, writes them into the chain here. The parent also records
 * changes of the client register, which it alone sees.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include <apr_strings.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_audit.h"
#include "mod_verify_config.h"
#include "mod_verify_events.h"

/* Largest register state file read back (64 clients take 6 KiB). */
#define STATE_MAX (4 * 1024 * 1024)

/* One drain at a time in this process: post_config and, later, a
 * watchdog thread. (Not a lock on the spool itself: a lock held while
 * the MPM forks would be inherited by the child and held for its
 * life.) */
static pthread_mutex_t drain_mutex = PTHREAD_MUTEX_INITIALIZER;
/* The last failure of the drain logged, so that one fault is not said
 * again every second; under drain_mutex. */
static char last_fault[256];

typedef struct drain_ctx_t {
    server_rec *s;
    apr_status_t (*append)(void *baton, const char *body, size_t blen,
                           apr_pool_t *p);
    void *baton;
} drain_ctx_t;

static const char *spool_path(apr_pool_t *p)
{
    return apr_pstrcat(p, verify_config_store_dir(), "/" VERIFY_SPOOL_NAME,
                       NULL);
}

/* A name found in the spool, as the error log may show it: printable
 * ASCII only, cut at 80. */
static const char *shown(const char *name, apr_pool_t *p)
{
    size_t n = strlen(name), i;
    char *s = apr_pstrndup(p, name, n > 80 ? 80 : n);

    for (i = 0; s[i]; i++) {
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
            s[i] = '?';
        }
    }
    return n > 80 ? apr_pstrcat(p, s, "...", NULL) : s;
}

static apr_status_t on_event(void *baton, const char *id, const char *body,
                             size_t blen, apr_pool_t *p)
{
    drain_ctx_t *c = baton;

    return c->append(c->baton, body, blen, p);
}

static apr_status_t on_refused(void *baton, const char *name,
                               const char *why, const char *kept_as,
                               apr_pool_t *p)
{
    drain_ctx_t *c = baton;
    char mem[1024];
    verify_jbuf_t b;

    ap_log_error(APLOG_MARK, APLOG_ERR, 0, c->s, VERIFY_LOGNO(102)
                 "refused %s in the event spool %s: %s%s%s; it was not "
                 "opened and is not an event of the chain", shown(name, p),
                 spool_path(p), why, kept_as ? "; moved to " : "",
                 kept_as ? kept_as : "");
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_spool_refused(&b, why, kept_as);
    return b.overflow ? APR_EGENERAL : c->append(c->baton, b.buf, b.len, p);
}

/* Log @p msg at error level unless it is the fault said last time. */
static void say_once(server_rec *s, int msgno_is_101, apr_status_t rv,
                     const char *msg)
{
    if (!strncmp(last_fault, msg, sizeof(last_fault) - 1)) {
        return;
    }
    apr_cpystrn(last_fault, msg, sizeof(last_fault));
    if (msgno_is_101) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, VERIFY_LOGNO(101)
                     "cannot open the event spool: %s; events wait there "
                     "until it can be", msg);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, VERIFY_LOGNO(104)
                     "draining the event spool stopped: %s", msg);
    }
}

apr_status_t verify_events_drain(server_rec *s,
    apr_status_t (*append)(void *baton, const char *body, size_t blen,
                           apr_pool_t *p),
    void *baton, apr_pool_t *p)
{
    drain_ctx_t ctx;
    verify_spool_sink_t sink;
    unsigned n = 0;
    char *err = NULL;
    apr_status_t rv;
    int fd = -1;

    if (!verify_config_store_dir()) {
        return APR_SUCCESS;
    }
    ctx.s = s;
    ctx.append = append;
    ctx.baton = baton;
    sink.event = on_event;
    sink.refused = on_refused;
    sink.baton = &ctx;
    pthread_mutex_lock(&drain_mutex);
    rv = verify_spool_open(spool_path(p), 1, geteuid(), &fd, &err, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        /* no store yet (VFY10): nothing can have been spooled */
        rv = APR_SUCCESS;
        goto unlock;
    }
    if (rv != APR_SUCCESS) {
        say_once(s, 1, rv, err);
        goto unlock;
    }
    rv = verify_spool_drain(fd, geteuid(), &sink, &n, &err, p);
    close(fd);
    if (rv != APR_SUCCESS) {
        say_once(s, 0, rv, err);
        goto unlock;
    }
    last_fault[0] = '\0';
    if (n > 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, VERIFY_LOGNO(106)
                     "%u event(s) of the spool written to the audit chain",
                     n);
    }

unlock:
    pthread_mutex_unlock(&drain_mutex);
    return rv;
}

apr_status_t verify_events_check(server_rec *s, apr_pool_t *ptemp)
{
    char *err = NULL;
    int fd = -1;
    apr_status_t rv = verify_spool_open(spool_path(ptemp), 0, geteuid(),
                                        &fd, &err, ptemp);

    if (rv == APR_SUCCESS) {
        close(fd);
    }
    if (rv == APR_SUCCESS || APR_STATUS_IS_ENOENT(rv)) {
        return APR_SUCCESS;     /* missing: start makes it */
    }
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(100)
                 "%s: the event spool must be a directory of root's "
                 "(mode 0700) in a store directory no one else can write; "
                 "the tools refuse to write there too", err);
    return rv;
}

/* Every VerifyClient line of every server; a list a virtual host
 * inherits is taken once. */
static apr_array_header_t *all_clients(server_rec *s, apr_pool_t *p)
{
    apr_array_header_t *all = apr_array_make(p, 8, sizeof(void *));
    apr_array_header_t *seen = apr_array_make(p, 4, sizeof(void *));
    const apr_array_header_t *cl;
    server_rec *sv;
    int i;

    for (sv = s; sv; sv = sv->next) {
        cl = verify_config_clients(sv);
        for (i = 0; cl && i < seen->nelts; i++) {
            if (APR_ARRAY_IDX(seen, i, const void *) == cl) {
                cl = NULL;
            }
        }
        if (!cl) {
            continue;
        }
        APR_ARRAY_PUSH(seen, const void *) = cl;
        apr_array_cat(all, cl);
    }
    return all;
}

/* The register as the last start left it; NULL when not known. */
static verify_register_state_t *state_read(server_rec *s, int fd,
                                           apr_pool_t *p)
{
    verify_register_state_t *st = NULL;
    char *buf = NULL, *err = NULL;
    size_t len = 0;
    apr_status_t rv;

    rv = verify_spool_read_file(fd, VERIFY_SPOOL_STATE, geteuid(),
                                STATE_MAX, &buf, &len, &err, p);
    if (rv == APR_SUCCESS) {
        rv = verify_register_state_parse(buf, len, &st, &err, p);
    }
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, VERIFY_LOGNO(105)
                     "the register state %s/%s is not usable (%s): the "
                     "register line records every client as added",
                     spool_path(p), VERIFY_SPOOL_STATE, err);
        st = NULL;
    }
    return st;
}

/* A change of the register since the last start, into the chain. */
static apr_status_t record_register(server_rec *s, apr_pool_t *p)
{
    verify_register_state_t *cur, *old = NULL;
    apr_array_header_t *bodies;
    const char *body, *text;
    char *err = NULL;
    size_t len;
    apr_status_t rv;
    int fd = -1, i;

    cur = verify_register_state(all_clients(s, p), p);
    rv = verify_spool_open(spool_path(p), 1, geteuid(), &fd, &err, p);
    if (rv == APR_SUCCESS) {
        old = state_read(s, fd, p);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_INFO, rv, s, VERIFY_LOGNO(109)
                     "no register state is kept (%s): each start records "
                     "the whole register", err);
    }
    bodies = verify_event_register(old, cur, p);
    for (i = 0; i < bodies->nelts; i++) {
        body = APR_ARRAY_IDX(bodies, i, const char *);
        rv = body ? verify_auditlog_parent_append(NULL, body, strlen(body),
                                                  p)
                  : APR_EGENERAL;
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, VERIFY_LOGNO(107)
                         "the change of the client register (digest %s) "
                         "cannot be written to the audit log now; it is "
                         "written as soon as the log takes lines again",
                         cur->digest);
            goto cleanup;
        }
    }
    rv = APR_SUCCESS;
    /* after the line: a state lost makes the next start record the
     * change again, never miss it */
    if (fd >= 0 && (bodies->nelts > 0 || !old)) {
        text = verify_register_state_format(cur, &len, p);
        if (verify_spool_write_file(fd, VERIFY_SPOOL_STATE, text, len, &err,
                                    p) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, VERIFY_LOGNO(108)
                         "cannot keep the register state in %s: %s; the "
                         "next start records this register again",
                         spool_path(p), err);
        }
    }

cleanup:
    if (fd >= 0) {
        close(fd);
    }
    return rv;
}

/* A register change not yet in the chain (the audit volume was full at
 * the restart): the monitor tries again. Per generation. */
static int register_pending;

apr_status_t verify_events_post_config(server_rec *s, apr_pool_t *ptemp)
{
    /* what happened before this start comes first; a failure leaves
     * the events in the spool for the next drain */
    (void)verify_events_drain(s, verify_auditlog_parent_append, NULL, ptemp);
    /* a graceful restart on a full volume must not take the server down
     * (its start line waits in the chain head too): the change is
     * written by the first monitor tick that can */
    register_pending = record_register(s, ptemp) != APR_SUCCESS;
    return APR_SUCCESS;
}

void verify_events_monitor(server_rec *s, apr_pool_t *p)
{
    (void)verify_events_drain(s, verify_auditlog_parent_append, NULL, p);
    if (register_pending) {
        register_pending = record_register(s, p) != APR_SUCCESS;
    }
}
