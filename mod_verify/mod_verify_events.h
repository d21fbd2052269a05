/*
 * mod_verify_events.h -- administrative events in httpd
 * (mod_verify_events.c): the parent drains the event spool
 * (<VerifyStore>/events) into the audit chain, and records changes of
 * the client register.
 */
#ifndef MOD_VERIFY_EVENTS_H
#define MOD_VERIFY_EVENTS_H

#include "httpd.h"
#include "verify.h"

/**
 * In the parent (root): write every event waiting in the spool into
 * the chain through @p append, in order, each file removed once its
 * line is written; an entry that is not a well-formed event file of
 * root's is moved aside unopened, logged (VFY102) and recorded by a
 * "spool_refused" line. Safe to call from several threads of the
 * parent (one drains at a time); does nothing when the module is not
 * configured or the store does not exist yet.
 * @param append writes one line: @p body holds its members after ts,
 *        starting with ',' (as verify_writer_append() takes them)
 * @return APR_SUCCESS, or the first failure (logged; what was not
 *         written stays in the spool for the next drain)
 */
apr_status_t verify_events_drain(server_rec *s,
    apr_status_t (*append)(void *baton, const char *body, size_t blen,
                           apr_pool_t *p),
    void *baton, apr_pool_t *p);

/**
 * check_config (configtest too): an existing spool must be a directory
 * of root's (the user httpd starts as) with mode 0700, in a store
 * directory of root's that no one else can write (VFY100).
 */
apr_status_t verify_events_check(server_rec *s, apr_pool_t *ptemp);

/**
 * post_config, in the parent, after the start line: drain the spool,
 * then record a change of the client register since the state kept in
 * the spool (the first start, a graceful restart, a change made while
 * the server was down) and keep the new state.
 * @return APR_SUCCESS; a change that cannot be written yet (logged) is
 *         written by verify_events_monitor()
 */
apr_status_t verify_events_post_config(server_rec *s, apr_pool_t *ptemp);

/**
 * The parent's monitor tick: drain the spool, and write a register change
 * a restart could not (the audit volume was full then).
 */
void verify_events_monitor(server_rec *s, apr_pool_t *p);

#endif /* MOD_VERIFY_EVENTS_H */
