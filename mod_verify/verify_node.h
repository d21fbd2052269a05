/*
 * verify_node.h -- the node id of one server among several behind a load
 * balancer (verify_node.c): set once from VerifyNodeId, sealed into
 * every audit line as "node" (verify_audit_seal) and appended to the
 * default checkpoint origin, so each node's log and checkpoints are told
 * apart (docs/scaling.md).
 */
#ifndef VERIFY_NODE_H
#define VERIFY_NODE_H

#include <stddef.h>

/** Longest node id in bytes. */
#define VERIFY_NODE_MAX 32

/**
 * Is @p s a node id: 1 to VERIFY_NODE_MAX bytes of ASCII letters,
 * digits, '.', '_' and '-', starting with a letter or digit. Such a
 * name needs no JSON escaping and is a valid checkpoint origin part.
 */
int verify_node_valid(const char *s);

/** Set the process's node id (copied), or clear it with NULL; an
 *  invalid id clears it. */
void verify_node_set(const char *s);

/** The process's node id, or NULL if none is set. */
const char *verify_node_get(void);

#endif /* VERIFY_NODE_H */
