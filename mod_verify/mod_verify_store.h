/*
 * mod_verify_store.h -- the store in httpd (mod_verify_store.c): each
 * child follows the published snapshot.
 */
#ifndef MOD_VERIFY_STORE_H
#define MOD_VERIFY_STORE_H

#include "httpd.h"
#include "verify.h"

/** post_config, as root: say what state the store is in; change
 * nothing in it. */
void verify_store_prepare(server_rec *s, apr_pool_t *ptemp);

/** child_init: the child's snapshot reader (LMDB must not cross a
 * fork, so nothing is opened in the parent). */
void verify_store_child_init(server_rec *s, apr_pool_t *pchild);

/** The published snapshot for one request, held until
 * verify_store_drop(); NULL while there is none to open (logged, and
 * retried at most once a second). */
verify_snap_t *verify_store_hold(request_rec *r);

/** Let go of the request's snapshot (the last holder of a superseded
 * one closes it). */
void verify_store_drop(verify_snap_t *snap);

#endif /* MOD_VERIFY_STORE_H */
