/*
 * verify_audit_tree.h -- the audit log's Merkle tree rebuilt from the
 * day files of an audit directory, for the writer's shared right edge
 * (verify_audit_tree.c).
 */
#ifndef VERIFY_AUDIT_TREE_H
#define VERIFY_AUDIT_TREE_H

#include <stdint.h>
#include <sys/types.h>
#include <apr_pools.h>
#include "verify_merkle.h"

/**
 * The right edge of the tree over every line of @p dir's audit files,
 * in chain order (date order of the names): leaf i is the line of seq
 * i+1. Files are opened as verify_audit_openat() does, owned by
 * @p owner ((uid_t)-1: any), through the directory's descriptor. Line
 * k must carry
 * seq k and the lines must number @p expect_seq (the chain head): a
 * directory whose early files were purged, or whose lines are out of
 * order, gives no tree.
 * @return APR_SUCCESS, or an error with *err saying why (then @p e is
 *         undefined)
 */
apr_status_t verify_audit_tree_rebuild(const char *dir, uid_t owner,
                                       uint64_t expect_seq,
                                       verify_merkle_edge_t *e, char **err,
                                       apr_pool_t *p);

/**
 * The leaf hash of the last complete line of the audit file @p name of
 * @p dir (opened as above), which must be the
 * line of seq @p seq whose chain hash is @p hash (hex): how a writer
 * catches the edge up by the one line a dead writer wrote but did not
 * add to the tree.
 * @return APR_SUCCESS, or an error with *err saying why
 */
apr_status_t verify_audit_tree_last_leaf(const char *dir, const char *name,
                    uid_t owner, uint64_t seq,
                    const unsigned char hash[32],
                    unsigned char leaf[VERIFY_MERKLE_HASH_LEN], char **err,
                    apr_pool_t *p);

#endif /* VERIFY_AUDIT_TREE_H */
