/*
 * mod_verify_store.h -- the store in httpd (mod_verify_store.c): opened
 * by each child, retried while it is missing.
 */
#ifndef MOD_VERIFY_STORE_H
#define MOD_VERIFY_STORE_H

#include "httpd.h"
#include "verify.h"

/** post_config, as root: hand the store to the run-time group and size
 * the reader table for the MPM. */
void verify_store_prepare(server_rec *s, apr_pool_t *ptemp);

/** child_init: open the store for this child (LMDB must not cross a
 * fork). */
void verify_store_child_init(server_rec *s, apr_pool_t *pchild);

/** The child's store; NULL while it cannot be opened (retried at most
 * once a second). */
verify_store_t *verify_store_get(server_rec *s);

#endif /* MOD_VERIFY_STORE_H */
