/*
 * mod_verify.c -- the module record and its hooks. Each concern lives in
 * a file of its own: mod_verify_config.c (directives), _audit.c (the
 * chain), _store.c, _client.c, _credential.c (how long a client's
 * certificate serves), _request.c, _handler.c and _location.c (which
 * URLs are the handler's); _health.c (SetHandler verify-health),
 * _status.c (server-status), _volume.c (the audit volume's warnings),
 * _sources.c (VerifyMaxDataAge) and _notes.c (access-log notes).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "ap_mpm.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_request.h"
#include "mpm_common.h"

#include "verify.h"
#define VERIFY_MODULE_MAIN
#include "verify_private.h"
#include "mod_verify_audit.h"
#include "mod_verify_checkpoint.h"
#include "mod_verify_client.h"
#include "mod_verify_config.h"
#include "mod_verify_credential.h"
#include "mod_verify_events.h"
#include "mod_verify_handler.h"
#include "mod_verify_health.h"
#include "mod_verify_location.h"
#include "mod_verify_request.h"
#include "mod_verify_status.h"
#include "mod_verify_store.h"
#include "mod_verify_volume.h"

module AP_MODULE_DECLARE_DATA verify_module;

static int verify_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp)
{
    return verify_auditlog_pre_config(pconf) == APR_SUCCESS
           ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* `-k stop` and `-k graceful-stop` read the configuration too, only to
 * find the pid file: a key file removed must not keep a server from
 * being stopped. httpd's own argv no longer holds -k by now (the MPM
 * took it out), so the command line comes from the kernel. */
static int signals_stop(void)
{
    char buf[4096], *a, *end, *k = NULL;
    ssize_t n;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

    n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0) {
        close(fd);
    }
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    for (a = buf, end = buf + n; a < end; a += strlen(a) + 1) {
        if (!strcmp(a, "-k") && a + 3 < end) {
            k = a + 3;
        }
        else if (!strncmp(a, "-k", 2) && a[2]) {
            k = a + 2;
        }
    }
    return k && (!strcmp(k, "stop") || !strcmp(k, "graceful-stop"));
}

static int verify_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    if (signals_stop()) {
        return OK;
    }
    if (verify_config_check(s, ptemp) != APR_SUCCESS
        || (verify_config_store_dir()
            && verify_events_check(s, ptemp) != APR_SUCCESS)) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static int verify_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    const char *store = verify_config_store_dir();
    const char *key = verify_config_key_file();
    const char *audit = verify_config_audit_dir();
    apr_status_t rv;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    verify_location_post_config(s, pconf, ptemp);
    if (!store || !key || !audit) {
        return OK;      /* loaded but not configured (check_config) */
    }
    if (verify_request_post_config(s, pconf) != APR_SUCCESS
        || verify_auditlog_post_config(s, pconf, ptemp) != APR_SUCCESS
        || verify_status_post_config(s) != APR_SUCCESS
        || verify_volume_post_config(s, pconf) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    verify_store_prepare(s, ptemp);
    if (verify_client_post_config(s, pconf) != APR_SUCCESS
        || verify_credential_post_config(s, pconf) != APR_SUCCESS
        || verify_checkpoint_post_config(s, pconf, ptemp) != APR_SUCCESS
        || verify_auditlog_start(s, ptemp) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = verify_events_post_config(s, ptemp);
    verify_auditlog_parent_done();
    if (rv != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    verify_checkpoint_started();
    return OK;
}

/* httpd hands the monitor its configuration pool: what a tick allocates
 * goes in a subpool of it, cleared after each tick. */
static int verify_monitor(apr_pool_t *pconf, server_rec *s)
{
    apr_pool_t *tick = NULL;

    if (!verify_auditlog_ready()) {
        return DECLINED;
    }
    apr_pool_userdata_get((void **)&tick, "mod_verify_monitor", pconf);
    if (tick == NULL) {
        apr_pool_create(&tick, pconf);
        apr_pool_userdata_set(tick, "mod_verify_monitor",
                              apr_pool_cleanup_null, pconf);
    }
    /* the events first, so that the checkpoint covers them */
    verify_events_monitor(s, tick);
    verify_auditlog_parent_done();
    verify_checkpoint_monitor();
    verify_volume_monitor(s);
    apr_pool_clear(tick);
    return DECLINED;
}

static void verify_child_init(apr_pool_t *pchild, server_rec *s)
{
    sigset_t stop, old;

    if (!verify_auditlog_ready() || !verify_request_ready()) {
        return;
    }
    /* prefork's SIGTERM handler destroys the child's pools from inside
     * the handler: arriving while this allocates (LMDB, the writer), it
     * would free from inside malloc, and glibc aborts the child. The
     * stop waits until the child is set up. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigaddset(&stop, SIGUSR1);
    sigaddset(&stop, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    verify_request_child_init();
    verify_client_child_init();
    verify_auditlog_child_init(s, pchild);
    verify_store_child_init(s, pchild);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void verify_child_status(server_rec *s, pid_t pid,
                                ap_generation_t gen, int slot,
                                mpm_child_status state)
{
    verify_auditlog_child_status(pid, state == MPM_CHILD_EXITED);
}

static void verify_register_hooks(apr_pool_t *p)
{
    /* before the configuration is read: the "verify-audit" mutex type,
     * so that the admin's Mutex directive applies to it */
    ap_hook_pre_config(verify_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* after each reading of the configuration, before anything starts,
     * and in configtest and the `-k graceful` that signals a running
     * server: refuse what start would refuse, so that a broken config
     * never takes a running server down */
    ap_hook_check_config(verify_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* in the parent, as root, at start and every restart: the key, the
     * directories, the chain and its "start" line (not in the dry run),
     * then the events the tools spooled, a change of the register and a
     * checkpoint signed over all of it */
    ap_hook_post_config(verify_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* in the parent's main loop, about every ten seconds, as root: the
     * events the tools spooled, and a checkpoint when one is due */
    ap_hook_monitor(verify_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    /* in each child, as the run-time user: LMDB and the chain writer
     * must be opened after fork */
    ap_hook_child_init(verify_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* in the parent, as it reaps a child: answers the child left in
     * flight are to be marked in the chain */
    ap_hook_child_status(verify_child_status, NULL, NULL, APR_HOOK_MIDDLE);
    /* after the first <Location> walk: mark requests for the handler,
     * with their extra path */
    ap_hook_translate_name(verify_location_translate, NULL, NULL,
                           APR_HOOK_MIDDLE);
    /* a marked request names no file: skip the filesystem walk */
    ap_hook_map_to_storage(verify_location_map_to_storage, NULL, NULL,
                           APR_HOOK_MIDDLE);
    /* the request itself: SetHandler verify */
    ap_hook_handler(verify_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* SetHandler verify-health: a load balancer's check */
    ap_hook_handler(verify_health_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* the module's section of server-status, when mod_status is loaded */
    verify_status_register_hooks();
}

AP_DECLARE_MODULE(verify) = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config */
    NULL,                       /* merge per-directory */
    verify_config_create_srv,
    verify_config_merge_srv,
    verify_cmds,
    verify_register_hooks,
    AP_MODULE_FLAG_NONE
};
