/*
 * mod_verify_checkpoint_config.c -- the VerifyCheckpoint* directives and
 * what configtest checks of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "verify.h"
#include "verify_note_fork.h"
#include "verify_private.h"
#include "mod_verify_checkpoint.h"
#include "verify_node.h"

#define DEFAULT_INTERVAL 60
#define MAX_INTERVAL (24 * 3600)

typedef struct {
    const char *key_file;           /* VerifyCheckpointKey; NULL unset */
    const char *dir;                /* VerifyCheckpointDir; NULL unset */
    int interval;                   /* seconds; -1 unset */
    const char *origin;             /* NULL unset */
    int facility;                   /* LOG_*; -1 unset; SYSLOG_OFF */
} cp_conf_t;

/* One per reading of the configuration, as the module's other global
 * settings are. */
static cp_conf_t *conf;

static apr_status_t conf_cleanup(void *data)
{
    conf = NULL;
    return APR_SUCCESS;
}

static cp_conf_t *conf_get(cmd_parms *cmd)
{
    if (!conf) {
        conf = apr_pcalloc(cmd->pool, sizeof(*conf));
        conf->interval = -1;
        conf->facility = -1;
        apr_pool_cleanup_register(cmd->pool, NULL, conf_cleanup,
                                  apr_pool_cleanup_null);
    }
    return conf;
}

static const char *once(cmd_parms *cmd, int given)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    return given ? apr_psprintf(cmd->pool, "%s given twice", cmd->cmd->name)
                 : NULL;
}

static const char *set_path(cmd_parms *cmd, const char **slot,
                            const char *arg)
{
    const char *err = once(cmd, *slot != NULL);

    if (err) {
        return err;
    }
    *slot = ap_server_root_relative(cmd->pool, arg);
    return *slot ? NULL : apr_psprintf(cmd->pool, "%s: invalid path %s",
                                       cmd->cmd->name, arg);
}

const char *verify_checkpoint_set_key(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    return set_path(cmd, &conf_get(cmd)->key_file, arg);
}

const char *verify_checkpoint_set_dir(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    return set_path(cmd, &conf_get(cmd)->dir, arg);
}

const char *verify_checkpoint_set_interval(cmd_parms *cmd, void *dc,
                                           const char *arg)
{
    cp_conf_t *c = conf_get(cmd);
    const char *err = once(cmd, c->interval != -1);
    char *end;
    long v;

    if (err) {
        return err;
    }
    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < 1 || v > MAX_INTERVAL) {
        return apr_psprintf(cmd->pool, "VerifyCheckpointInterval: %s is "
                            "not a number of seconds from 1 to %d", arg,
                            MAX_INTERVAL);
    }
    c->interval = (int)v;
    return NULL;
}

const char *verify_checkpoint_set_origin(cmd_parms *cmd, void *dc,
                                         const char *arg)
{
    cp_conf_t *c = conf_get(cmd);
    const char *err = once(cmd, c->origin != NULL);

    if (err) {
        return err;
    }
    if (!verify_note_name_valid(arg, strlen(arg))) {
        return "VerifyCheckpointOrigin: a name of UTF-8 without spaces, "
               "control characters or '+' (e.g. county.example/verify)";
    }
    c->origin = arg;
    return NULL;
}

static const struct {
    const char *name;
    int facility;
} facilities[] = {
    { "daemon", LOG_DAEMON }, { "auth", LOG_AUTH },
    { "authpriv", LOG_AUTHPRIV }, { "user", LOG_USER },
    { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
    { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
    { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
    { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
    { "off", VERIFY_CP_SYSLOG_OFF }, { NULL, 0 }
};

const char *verify_checkpoint_set_syslog(cmd_parms *cmd, void *dc,
                                         const char *arg)
{
    cp_conf_t *c = conf_get(cmd);
    const char *err = once(cmd, c->facility != -1);
    int i;

    if (err) {
        return err;
    }
    for (i = 0; facilities[i].name; i++) {
        if (!strcasecmp(arg, facilities[i].name)) {
            c->facility = facilities[i].facility;
            return NULL;
        }
    }
    return "VerifyCheckpointSyslog: a facility (daemon, auth, authpriv, "
           "user, local0 to local7) or off";
}

const char *verify_checkpoint_key_file(void)
{
    return conf ? conf->key_file : NULL;
}

const char *verify_checkpoint_dir(void)
{
    return conf ? conf->dir : NULL;
}

apr_interval_time_t verify_checkpoint_interval(void)
{
    return apr_time_from_sec(conf && conf->interval != -1 ? conf->interval
                                                         : DEFAULT_INTERVAL);
}

const char *verify_checkpoint_origin(server_rec *s, apr_pool_t *p)
{
    const char *host = s->server_hostname;

    if (conf && conf->origin) {
        return conf->origin;
    }
    if (!host || !verify_note_name_valid(host, strlen(host))) {
        host = "localhost";
    }
    return apr_pstrcat(p, host, "/verify-audit",
                       verify_node_get() ? "/" : NULL, verify_node_get(),
                       NULL);
}

int verify_checkpoint_syslog(void)
{
    return conf && conf->facility != -1 ? conf->facility : LOG_DAEMON;
}

/* @p fd (a directory) is root's and nobody else may write it. */
static const char *dir_fault(int fd, apr_pool_t *p)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        return apr_pstrdup(p, strerror(errno));
    }
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        return apr_psprintf(p, "it is owned by uid %ld with mode %04o; it "
                            "must be root's and writable by root alone",
                            (long)st.st_uid, (unsigned)(st.st_mode & 07777));
    }
    return NULL;
}

/* The directory (if it exists) and its parent: the run-time user must
 * not be able to replace either. */
static apr_status_t check_dir(server_rec *s, const char *dir,
                              apr_pool_t *ptemp)
{
    const char *parent = ap_make_dirstr_parent(ptemp, dir), *why;
    const char *paths[2];
    int i, fd;

    paths[0] = parent;
    paths[1] = dir;
    for (i = 0; i < 2; i++) {
        fd = open(paths[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && i == 1 && errno == ENOENT) {
            return APR_SUCCESS;     /* made at start */
        }
        why = fd < 0 ? apr_pstrdup(ptemp, strerror(errno))
                     : dir_fault(fd, ptemp);
        if (fd >= 0) {
            close(fd);
        }
        if (why) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(84)
                         "VerifyCheckpointDir %s: %s%s", dir,
                         i ? "" : "the directory above it: ", why);
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t verify_checkpoint_check(server_rec *s, apr_pool_t *ptemp)
{
    char *err = NULL, *none;
    apr_status_t rv;

    if (!conf || (!conf->key_file && !conf->dir)) {
        return APR_SUCCESS;
    }
    if (!conf->key_file || !conf->dir) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(85)
                     "VerifyCheckpointKey and VerifyCheckpointDir go "
                     "together: set both or neither");
        return APR_EGENERAL;
    }
    /* loaded in a process of its own, as it is to sign: the parent
     * never holds the key */
    rv = verify_note_sign_forked(&none, verify_checkpoint_origin(s, ptemp),
                                 conf->key_file, NULL, 0, &err, ptemp);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(87)
                     "VerifyCheckpointKey: %s", err);
        return rv;
    }
    return check_dir(s, conf->dir, ptemp);
}

int verify_checkpoint_open_dir(server_rec *s, apr_pool_t *p)
{
    const char *dir = conf->dir, *why;
    int fd;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, errno, s, VERIFY_LOGNO(88)
                     "cannot make VerifyCheckpointDir %s", dir);
        return -1;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    why = fd < 0 ? apr_pstrdup(p, strerror(errno)) : dir_fault(fd, p);
    if (why) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(89)
                     "VerifyCheckpointDir %s: %s", dir, why);
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}
