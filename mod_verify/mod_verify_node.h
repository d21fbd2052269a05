/*
 * mod_verify_node.h -- the VerifyNodeId directive (mod_verify_node.c).
 */
#ifndef MOD_VERIFY_NODE_H
#define MOD_VERIFY_NODE_H

#include "httpd.h"
#include "http_config.h"

/** VerifyNodeId NAME: this server's id among the nodes of a cluster. */
const char *verify_node_set_id(cmd_parms *cmd, void *dc, const char *arg);

#endif /* MOD_VERIFY_NODE_H */
