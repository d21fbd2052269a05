/*
 * mod_verify_audit.h -- the audit chain in httpd (mod_verify_audit.c):
 * the shared head, the chain lock, one writer per process.
 */
#ifndef MOD_VERIFY_AUDIT_H
#define MOD_VERIFY_AUDIT_H

#include "httpd.h"
#include "verify.h"

/** pre_config: register the "verify-audit" mutex type. */
apr_status_t verify_auditlog_pre_config(apr_pool_t *pconf);

/**
 * check_config (configtest too): an existing @p dir must belong to the
 * run-time user and be writable by no one else; says what it found and
 * the commands that fix it (VFY71). A missing @p dir is fine: start
 * creates it.
 */
apr_status_t verify_auditlog_check_dir(server_rec *s, const char *dir,
                                       apr_pool_t *p);

/**
 * post_config, as root: prepare the directory for the run-time user,
 * take the directory's writer lock, set up or take over the chain head.
 * Logs why it fails.
 */
apr_status_t verify_auditlog_post_config(server_rec *s, apr_pool_t *pconf,
                                         apr_pool_t *ptemp);

/** post_config: the generation's "start" line. The parent's writer
 * stays open for its other lines until verify_auditlog_parent_done(). */
apr_status_t verify_auditlog_start(server_rec *s, apr_pool_t *ptemp);

/**
 * A line of the parent (root) after the start line: an event of the
 * spool, a register change. The shape of the append callback of
 * verify_events_drain(); @p baton is unused.
 */
apr_status_t verify_auditlog_parent_append(void *baton, const char *body,
                                           size_t blen, apr_pool_t *p);

/** post_config, last: close the parent's descriptors of the audit
 * directory before the children are forked. */
void verify_auditlog_parent_done(void);

/** child_init: this process's writer. */
void verify_auditlog_child_init(server_rec *s, apr_pool_t *pchild);

/** 1 once post_config has set up the chain of this generation. */
int verify_auditlog_ready(void);

/** Append one line (see verify_writer_append); @p receipt (may be
 * NULL) receives its seq and leaf hash. */
apr_status_t verify_auditlog_append(server_rec *s, const char *body,
                                    size_t blen, const char *request_id,
                                    verify_writer_receipt_t *receipt,
                                    apr_pool_t *p);

/** Append the @p n lines of one request, all or none (see
 * verify_writer_append_batch); @p receipts (may be NULL) receives one
 * per line. */
apr_status_t verify_auditlog_append_batch(server_rec *s,
                                          const verify_writer_body_t *lines,
                                          size_t n, const char *request_id,
                                          verify_writer_receipt_t *receipts,
                                          apr_pool_t *p);

/**
 * Set up @p w as another writer of this generation's chain, in this
 * process, logging for @p s: how the parent's checkpoint signer writes
 * its lines from its own thread. Call after post_config set the chain.
 */
void verify_auditlog_writer_init(verify_writer_t *w, server_rec *s);

/** The chain head of this generation, or NULL. Writable by every
 * child: read it for what a child may know, never for what to sign. */
const verify_writer_head_t *verify_auditlog_head(void);

/**
 * This thread's answer has left (the handler flushed it) or never will:
 * its line is no longer in flight. No system call, no lock.
 */
void verify_auditlog_answered(void);

/**
 * child_status, in the parent: child @p pid has @p exited (been
 * reaped); its answers still in flight are recorded by the next line
 * written ("unconfirmed"). Takes no lock.
 */
void verify_auditlog_child_status(pid_t pid, int exited);

#endif /* MOD_VERIFY_AUDIT_H */
