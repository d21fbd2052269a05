/*
 * mod_verify_operators.c -- VerifyOperators CLIENT FILE (R4.3): the
 * register file is read and checked whole when the configuration is
 * read (so configtest, and the `-k graceful` that re-reads it, refuse a
 * bad one), and given to its client; the request path only looks the
 * operator up.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include <apr_strings.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_config.h"
#include "mod_verify_operators.h"

/* The register decides who may query: a file that others than its
 * owner can change, or that root would read from another user, is
 * refused (root reads it; the run-time user must not be able to add
 * itself an operator for the next reload). */
static const char *file_guarded(const char *path, apr_pool_t *p)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        return NULL;            /* the reader says why */
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        return apr_psprintf(p, "%s: writable by group or others (mode "
                            "%04o): an operator register is changed by "
                            "its owner alone", path,
                            (unsigned)(st.st_mode & 07777));
    }
    if (geteuid() == 0 && st.st_uid != 0) {
        return apr_psprintf(p, "%s: not owned by root (uid %lu): root "
                            "reads it at every start", path,
                            (unsigned long)st.st_uid);
    }
    return NULL;
}

/* VerifyOperators: below its client's VerifyClient line, in the same
 * server (as VerifyClientRetired), so a typo in the name cannot leave
 * a register that guards nothing. */
const char *verify_operators_set(cmd_parms *cmd, void *dc,
                                 const char *client, const char *file)
{
    verify_srv_conf_t *conf = ap_get_module_config(cmd->server->module_config,
                                                   &verify_module);
    const char *where = apr_psprintf(cmd->pool, "%s:%d",
                                     cmd->directive->filename,
                                     cmd->directive->line_num);
    const char *path = ap_server_root_relative(cmd->pool, file);
    const char *err;

    if (!path) {
        err = apr_psprintf(cmd->pool, "invalid path %s", file);
    }
    else if (!conf->clients) {
        err = apr_psprintf(cmd->pool, "no VerifyClient %s above this line "
                           "in this %s: an operator register is given "
                           "below its client", client,
                           cmd->server->is_virtual ? "<VirtualHost>"
                                                   : "server config");
    }
    else if ((err = file_guarded(path, cmd->pool)) == NULL) {
        err = verify_operators_add(conf->clients, client, path, where,
                                   cmd->pool);
    }
    return err ? apr_psprintf(cmd->pool, "VerifyOperators (%s): %s", where,
                              err) : NULL;
}

void verify_operators_gate(verify_req_t *q, verify_date_t today)
{
    const verify_field_t *f = &q->f[VERIFY_F_OPERATOR];
    const verify_operator_t *op = NULL;
    verify_operator_status_t st;

    if (q->error || !q->client || !q->client->operators || !f->present
        || f->len == 0) {
        return;
    }
    st = verify_operators_check(q->client->operators, f->v, f->len, today,
                                &op);
    if (st == VERIFY_OPERATOR_OK) {
        return;
    }
    /* the account is in the audit line; the error log says only why */
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, VERIFY_LOGNO(120)
                  "request %s: client %s: operator %s in %s; refused (403 "
                  "unknown_operator)", q->request_id, q->client->name,
                  st == VERIFY_OPERATOR_UNKNOWN ? "not registered"
                  : st == VERIFY_OPERATOR_NOT_YET ? "not valid yet"
                                                  : "no longer valid",
                  q->client->operators->path);
    verify_request_refuse(q, HTTP_FORBIDDEN, "unknown_operator",
                          verify_operators_why(st, op, q->r->pool));
}
