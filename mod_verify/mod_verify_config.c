/*
 * mod_verify_config.c -- the directives. Arguments are parsed whole at
 * configuration time, so the request path only reads parsed data and a
 * broken line stops configtest with its file, line and fault.
 */
#include <limits.h>
#include <stdlib.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include <apr_strings.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_audit.h"
#include "mod_verify_node.h"
#include "mod_verify_config.h"
#include "mod_verify_sources.h"
#include "mod_verify_checkpoint.h"
#include "mod_verify_handler.h"
#include "mod_verify_operators.h"

#define DEFAULT_MAX_BODY 8192
#define DEFAULT_MISMATCH_LIMIT 5
/* R3.5: passwords change at least every three months */
#define DEFAULT_MAX_CRED_AGE apr_time_from_sec(90 * 86400)
#define DEFAULT_CRED_WARN apr_time_from_sec(14 * 86400)

/* The module-wide settings live as long as the configuration pool that
 * holds them: each reading of the configuration starts anew. */
static verify_mod_conf_t *mod_conf;

static apr_status_t mod_conf_cleanup(void *data)
{
    mod_conf = NULL;
    return APR_SUCCESS;
}

static verify_mod_conf_t *mod_conf_get(apr_pool_t *pconf)
{
    if (!mod_conf) {
        mod_conf = apr_pcalloc(pconf, sizeof(*mod_conf));
        mod_conf->audit_sync = -1;
        mod_conf->audit_lock = -1;
        mod_conf->mismatch_limit = -1;
        apr_pool_cleanup_register(pconf, NULL, mod_conf_cleanup,
                                  apr_pool_cleanup_null);
    }
    return mod_conf;
}

void *verify_config_create_srv(apr_pool_t *p, server_rec *s)
{
    verify_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->mc = mod_conf_get(p);
    c->max_body = -1;
    c->batch_max = -1;
    c->max_cred_age = -1;
    c->cred_warn = -1;
    return c;
}

void *verify_config_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    verify_srv_conf_t *base = basev, *add = addv;
    verify_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->mc = add->mc;
    c->max_body = add->max_body != -1 ? add->max_body : base->max_body;
    c->batch_max = add->batch_max != -1 ? add->batch_max : base->batch_max;
    c->clients = add->clients ? add->clients : base->clients;
    c->max_cred_age = add->max_cred_age != -1 ? add->max_cred_age
                                              : base->max_cred_age;
    c->cred_warn = add->cred_warn != -1 ? add->cred_warn : base->cred_warn;
    return c;
}

static verify_srv_conf_t *srv_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &verify_module);
}

const char *verify_config_store_dir(void)
{
    return mod_conf ? mod_conf->store_dir : NULL;
}

const char *verify_config_key_file(void)
{
    return mod_conf ? mod_conf->key_file : NULL;
}

const char *verify_config_audit_dir(void)
{
    return mod_conf ? mod_conf->audit_dir : NULL;
}

int verify_config_audit_sync(void)
{
    return mod_conf && mod_conf->audit_sync == 1;
}

int verify_config_audit_lock(void)
{
    return mod_conf && mod_conf->audit_lock != -1 ? mod_conf->audit_lock
                                                  : VERIFY_WRITER_LOCK_FUTEX;
}

int verify_config_bucket_count(void)
{
    return mod_conf ? mod_conf->bucket_count : 0;
}

int verify_config_client_count(void)
{
    return mod_conf ? mod_conf->client_count : 0;
}

apr_interval_time_t verify_config_max_credential_age(server_rec *s)
{
    apr_interval_time_t v = srv_conf(s)->max_cred_age;

    return v != -1 ? v : DEFAULT_MAX_CRED_AGE;
}

apr_interval_time_t verify_config_credential_warn(server_rec *s)
{
    apr_interval_time_t v = srv_conf(s)->cred_warn;

    return v != -1 ? v : DEFAULT_CRED_WARN;
}

int verify_config_mismatch_limit(void)
{
    return mod_conf && mod_conf->mismatch_limit != -1
           ? mod_conf->mismatch_limit : DEFAULT_MISMATCH_LIMIT;
}

apr_off_t verify_config_max_body(server_rec *s)
{
    apr_off_t v = srv_conf(s)->max_body;

    return v != -1 ? v : DEFAULT_MAX_BODY;
}

int verify_config_batch_max(server_rec *s)
{
    int v = srv_conf(s)->batch_max;

    return v != -1 ? v : VERIFY_BATCH_MAX_DEFAULT;
}

const apr_array_header_t *verify_config_clients(server_rec *s)
{
    return srv_conf(s)->clients;
}

static const char *global_path(cmd_parms *cmd, const char **slot,
                               const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    if (*slot) {
        return apr_psprintf(cmd->pool, "%s given twice", cmd->cmd->name);
    }
    *slot = ap_server_root_relative(cmd->pool, arg);
    if (!*slot) {
        return apr_psprintf(cmd->pool, "%s: invalid path %s",
                            cmd->cmd->name, arg);
    }
    return NULL;
}

static const char *set_store(cmd_parms *cmd, void *dc, const char *arg)
{
    return global_path(cmd, &srv_conf(cmd->server)->mc->store_dir, arg);
}

static const char *set_key_file(cmd_parms *cmd, void *dc, const char *arg)
{
    return global_path(cmd, &srv_conf(cmd->server)->mc->key_file, arg);
}

static const char *set_audit_log(cmd_parms *cmd, void *dc, const char *arg)
{
    return global_path(cmd, &srv_conf(cmd->server)->mc->audit_dir, arg);
}

static const char *set_audit_sync(cmd_parms *cmd, void *dc, int on)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    srv_conf(cmd->server)->mc->audit_sync = on;
    return NULL;
}

static const char *set_audit_lock(cmd_parms *cmd, void *dc, const char *arg)
{
    verify_mod_conf_t *mc = srv_conf(cmd->server)->mc;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "futex")) {
        mc->audit_lock = VERIFY_WRITER_LOCK_FUTEX;
    }
    else if (!strcasecmp(arg, "mutex")) {
        mc->audit_lock = VERIFY_WRITER_LOCK_MUTEX;
    }
    else {
        return "VerifyAuditLock must be futex (default) or mutex";
    }
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (*end || v < 256 || v > 1048576) {
        return "VerifyMaxBody must be a number of bytes from 256 to 1048576";
    }
    srv_conf(cmd->server)->max_body = (apr_off_t)v;
    return NULL;
}

static const char *set_batch_max(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (*end || end == arg || v < 1 || v > VERIFY_BATCH_MAX_LIMIT) {
        return apr_psprintf(cmd->pool, "VerifyBatchMax must be a number of "
                            "subjects from 1 to %d", VERIFY_BATCH_MAX_LIMIT);
    }
    srv_conf(cmd->server)->batch_max = (int)v;
    return NULL;
}

static const char *set_mismatch_limit(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (err) {
        return err;
    }
    if (*end || end == arg || v < 1 || v > 100) {
        return "VerifyIdentityMismatchLimit must be a number from 1 to 100";
    }
    srv_conf(cmd->server)->mc->mismatch_limit = (int)v;
    return NULL;
}

static const char *set_max_cred_age(cmd_parms *cmd, void *dc,
                                    const char *arg)
{
    const char *err = verify_duration_parse(
        arg, &srv_conf(cmd->server)->max_cred_age);

    return err ? apr_psprintf(cmd->pool, "VerifyMaxCredentialAge %s: %s",
                              arg, err) : NULL;
}

static const char *set_cred_warn(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = NULL;

    if (!strcasecmp(arg, "off")) {
        srv_conf(cmd->server)->cred_warn = 0;
    }
    else {
        err = verify_duration_parse(arg, &srv_conf(cmd->server)->cred_warn);
    }
    return err ? apr_psprintf(cmd->pool, "VerifyCredentialWarn %s: %s "
                              "(or off)", arg, err) : NULL;
}

/* VerifyClient: the grammar is the library's (verify-audit reads the
 * same lines); here only where the line stands and the server's
 * register it joins. */
static const char *add_client(cmd_parms *cmd, void *dc, int argc,
                              char *const argv[])
{
    verify_srv_conf_t *conf = srv_conf(cmd->server);
    const char *where = apr_psprintf(cmd->pool, "%s:%d",
                                     cmd->directive->filename,
                                     cmd->directive->line_num);
    verify_client_t *cl = NULL, *other;
    const char *err;
    int k;

    err = verify_register_parse(&cl, argc, argv, cmd->pool);
    if (!conf->clients) {
        conf->clients = apr_array_make(cmd->pool, 8,
                                       sizeof(verify_client_t *));
    }
    for (k = 0; !err && k < conf->clients->nelts; k++) {
        other = APR_ARRAY_IDX(conf->clients, k, verify_client_t *);
        err = verify_register_conflict(cl, other, 1, cmd->pool);
    }
    if (err) {
        return apr_psprintf(cmd->pool, "VerifyClient (%s): %s", where, err);
    }
    cl->where = where;
    if (cl->rate > 0) {
        cl->bucket = conf->mc->bucket_count++;
    }
    cl->slot = conf->mc->client_count++;
    APR_ARRAY_PUSH(conf->clients, verify_client_t *) = cl;
    return NULL;
}

/* VerifyClientRetired: below its client's line, in the same server, so
 * that the history is read in the order it was written and a typo in
 * the name cannot leave a history that guards nothing. */
static const char *add_retired(cmd_parms *cmd, void *dc, int argc,
                               char *const argv[])
{
    verify_srv_conf_t *conf = srv_conf(cmd->server);
    const char *where = apr_psprintf(cmd->pool, "%s:%d",
                                     cmd->directive->filename,
                                     cmd->directive->line_num);
    verify_retired_t rt;
    verify_client_t *cl = NULL;
    const char *name = NULL, *err;

    err = verify_register_parse_retired(&name, &rt, argc, argv, cmd->pool);
    if (!err && !(cl = verify_register_find(conf->clients, name))) {
        err = apr_psprintf(cmd->pool, "no VerifyClient %s above this line "
                           "in this %s: a retired certificate is listed "
                           "below its client", name,
                           cmd->server->is_virtual ? "<VirtualHost>"
                                                   : "server config");
    }
    if (!err) {
        rt.where = where;
        err = verify_register_retire(cl, &rt, cmd->pool);
    }
    return err ? apr_psprintf(cmd->pool, "VerifyClientRetired (%s): %s",
                              where, err) : NULL;
}

/* Once every line is read: no current certificate of any client may
 * have the key of one of its last retired ones (R3.5). */
static apr_status_t register_reuse(server_rec *s, apr_pool_t *ptemp)
{
    const apr_array_header_t *seen = NULL, *clients;
    const char *fault;
    server_rec *sv;
    int i;

    for (sv = s; sv; sv = sv->next) {
        clients = srv_conf(sv)->clients;
        if (!clients || clients == seen) {
            continue;       /* a vhost without its own register */
        }
        seen = clients;
        for (i = 0; i < clients->nelts; i++) {
            fault = verify_register_reused(APR_ARRAY_IDX(clients, i,
                                                         verify_client_t *),
                                           ptemp);
            if (fault) {
                ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(140)
                             "VerifyClientRetired: %s", fault);
                return APR_EGENERAL;
            }
        }
    }
    return APR_SUCCESS;
}

/* --- check_config: what start would refuse, refused by configtest --- */

/* The first "SetHandler verify" of the tree below @p d, or NULL. */
static const ap_directive_t *handler_use(const ap_directive_t *d,
                                         apr_pool_t *ptemp)
{
    const ap_directive_t *found;
    const char *args;

    for (; d; d = d->next) {
        args = d->args;
        if (!strcasecmp(d->directive, "SetHandler")
            && !strcmp(ap_getword_conf(ptemp, &args), VERIFY_HANDLER)) {
            return d;
        }
        if ((found = handler_use(d->first_child, ptemp)) != NULL) {
            return found;
        }
    }
    return NULL;
}

/* @p path with symbolic links resolved as far as it exists: two names
 * of one place must compare equal. */
static const char *canonical(const char *path, apr_pool_t *p)
{
    char buf[PATH_MAX], *head = apr_pstrdup(p, path), *slash;
    const char *tail = "";

    while (!realpath(head, buf)) {
        slash = strrchr(head, '/');
        if (!slash || slash == head) {
            return path;
        }
        tail = apr_pstrcat(p, slash, tail, NULL);
        *slash = '\0';
    }
    return apr_pstrcat(p, strcmp(buf, "/") ? buf : "", tail, NULL);
}

/* Is @p inner the place @p outer, or inside it? */
static int within(const char *outer, const char *inner)
{
    size_t n = strlen(outer);

    return !strncmp(outer, inner, n) && (inner[n] == '\0'
                                         || inner[n] == '/');
}

/* The three paths are apart: none is another, none inside another.
 * The store is root's and the key is secret, while the audit directory
 * belongs to the run-time user: one inside another would let that user
 * replace what root answers from, or read the key. */
static apr_status_t paths_apart(server_rec *s, apr_pool_t *ptemp)
{
    static const char *const names[] = {
        "VerifyStore", "VerifyKeyFile", "VerifyAuditLog"
    };
    const char *path[3], *real[3];
    int i, k;

    path[0] = mod_conf->store_dir;
    path[1] = mod_conf->key_file;
    path[2] = mod_conf->audit_dir;
    for (i = 0; i < 3; i++) {
        real[i] = canonical(path[i], ptemp);
    }
    for (i = 0; i < 3; i++) {
        for (k = 0; k < 3; k++) {
            if (i == k || !within(real[i], real[k])
                || (k < i && !strcmp(real[i], real[k]))) {
                continue;
            }
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(73)
                         "%s %s and %s %s %s: the store, the key and the "
                         "audit log need places of their own, none inside "
                         "another", names[i], path[i], names[k], path[k],
                         strcmp(real[i], real[k]) ? "overlap (the second "
                         "lies inside the first)" : "are the same place");
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t verify_config_check(server_rec *s, apr_pool_t *ptemp)
{
    const ap_directive_t *use = handler_use(ap_conftree, ptemp);
    verify_keys_t *keys = NULL;
    char *err = NULL;
    apr_pool_t *kp = NULL;
    apr_status_t rv;

    rv = register_reuse(s, ptemp);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!mod_conf || (!mod_conf->store_dir && !mod_conf->key_file
                      && !mod_conf->audit_dir)) {
        if (use) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(74)
                         "SetHandler verify (%s:%d) needs VerifyStore, "
                         "VerifyKeyFile and VerifyAuditLog", use->filename,
                         use->line_num);
            return APR_EGENERAL;
        }
        return APR_SUCCESS;     /* loaded but not configured */
    }
    if (!mod_conf->store_dir || !mod_conf->key_file
        || !mod_conf->audit_dir) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(18)
                     "VerifyStore, VerifyKeyFile and VerifyAuditLog must "
                     "all be set");
        return APR_EGENERAL;
    }
    rv = paths_apart(s, ptemp);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* the key as start reads it (missing, unreadable, short, open to
     * others); its pool wipes it at once */
    apr_pool_create(&kp, ptemp);
    rv = verify_keys_load(&keys, mod_conf->key_file, &err, kp);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(75)
                     "%s", err);
    }
    apr_pool_destroy(kp);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = verify_auditlog_check_dir(s, mod_conf->audit_dir, ptemp);
    return rv == APR_SUCCESS ? verify_checkpoint_check(s, ptemp) : rv;
}

const command_rec verify_cmds[] = {
    AP_INIT_TAKE1("VerifyStore", set_store, NULL, RSRC_CONF,
                  "LMDB environment directory of the verification store"),
    AP_INIT_TAKE1("VerifyKeyFile", set_key_file, NULL, RSRC_CONF,
                  "secret for keyed ID pseudonyms (read as root)"),
    AP_INIT_TAKE1("VerifyAuditLog", set_audit_log, NULL, RSRC_CONF,
                  "audit log directory"),
    AP_INIT_FLAG("VerifyAuditSync", set_audit_sync, NULL, RSRC_CONF,
                 "fdatasync every audit line before answering (default Off)"),
    AP_INIT_TAKE1("VerifyAuditLock", set_audit_lock, NULL, RSRC_CONF,
                  "futex (default: adaptive lock in shared memory) or mutex "
                  "(the 'verify-audit' mutex, set with the Mutex directive)"),
    AP_INIT_TAKE1("VerifyMaxBody", set_max_body, NULL, RSRC_CONF,
                  "largest /verify request body in bytes (default 8192)"),
    AP_INIT_TAKE1("VerifyBatchMax", set_batch_max, NULL, RSRC_CONF,
                  "subjects one /verify request may ask about (default "
                  "1000)"),
    AP_INIT_TAKE1("VerifyIdentityMismatchLimit", set_mismatch_limit, NULL,
                  RSRC_CONF, "identity mismatches one client may get about "
                  "one person in a Taipei day (default 5)"),
    AP_INIT_TAKE1("VerifyCheckpointKey", verify_checkpoint_set_key, NULL,
                  RSRC_CONF, "Ed25519 PKCS#8 PEM key the parent signs "
                  "checkpoints of the audit log with (root's alone)"),
    AP_INIT_TAKE1("VerifyCheckpointDir", verify_checkpoint_set_dir, NULL,
                  RSRC_CONF, "root's directory of signed checkpoints"),
    AP_INIT_TAKE1("VerifyCheckpointInterval", verify_checkpoint_set_interval,
                  NULL, RSRC_CONF, "seconds between checkpoints while "
                  "lines come (default 60)"),
    AP_INIT_TAKE1("VerifyCheckpointOrigin", verify_checkpoint_set_origin,
                  NULL, RSRC_CONF, "the log's name in its checkpoints "
                  "(default SERVERNAME/verify-audit)"),
    AP_INIT_TAKE1("VerifyNodeId", verify_node_set_id, NULL, RSRC_CONF,
                  "this server's id among several nodes: in every audit "
                  "line and the default checkpoint origin"),
    AP_INIT_TAKE1("VerifyCheckpointSyslog", verify_checkpoint_set_syslog,
                  NULL, RSRC_CONF, "syslog facility of checkpoint "
                  "messages, or off (default daemon)"),
    AP_INIT_TAKE_ARGV("VerifyClient", add_client, NULL, RSRC_CONF,
                      "NAME ip=ADDR[,ADDR] checks=CHECK[,CHECK] "
                      "approval=ID valid=FROM..TO [cert-sha256=HEX[,HEX] "
                      "[spki-sha256=HEX[,HEX]]] [rate=N/s|N/min]"),
    AP_INIT_TAKE_ARGV("VerifyClientRetired", add_retired, NULL, RSRC_CONF,
                      "NAME cert-sha256=HEX spki-sha256=HEX: a certificate "
                      "the client no longer holds, below its VerifyClient "
                      "line, oldest first"),
    AP_INIT_TAKE2("VerifyOperators", verify_operators_set, NULL, RSRC_CONF,
                  "CLIENT FILE: the client's operator register (ACCOUNT "
                  "ROLE FROM..TO per line), below its VerifyClient line"),
    AP_INIT_TAKE1("VerifyMaxCredentialAge", set_max_cred_age, NULL,
                  RSRC_CONF, "how long after its notBefore a client "
                  "certificate is accepted: 90d (default), 36h, ..."),
    AP_INIT_TAKE1("VerifyCredentialWarn", set_cred_warn, NULL, RSRC_CONF,
                  "how long before a credential limit answers carry "
                  "Verify-Warning: 14d (default), ..., or off"),
    AP_INIT_TAKE2("VerifyMaxDataAge", verify_sources_set_max_age, NULL,
                  RSRC_CONF, "SOURCE DURATION: older batches of SOURCE "
                  "answer 503 data_expired (default: no limit)"),
    { NULL }
};
