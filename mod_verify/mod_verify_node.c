/*
 * mod_verify_node.c -- the VerifyNodeId directive: one server's id among
 * the nodes behind a load balancer (docs/scaling.md). The id goes into
 * every audit line as "node" and into the default checkpoint origin.
 */
#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"

#include "verify_node.h"
#include "mod_verify_node.h"

static int given;

/* Reading the configuration again (restart) starts without an id: a
 * VerifyNodeId removed from the file is gone after the restart. */
static apr_status_t node_cleanup(void *data)
{
    given = 0;
    verify_node_set(NULL);
    return APR_SUCCESS;
}

const char *verify_node_set_id(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    if (given) {
        return "VerifyNodeId given twice";
    }
    if (!verify_node_valid(arg)) {
        return apr_psprintf(cmd->pool, "VerifyNodeId: a name of 1 to %d "
                            "ASCII letters, digits, '.', '_' or '-', "
                            "starting with a letter or digit (e.g. node-a)",
                            VERIFY_NODE_MAX);
    }
    given = 1;
    verify_node_set(arg);
    apr_pool_cleanup_register(cmd->pool, NULL, node_cleanup,
                              apr_pool_cleanup_null);
    return NULL;
}
