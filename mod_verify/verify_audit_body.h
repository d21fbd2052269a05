/*
 * verify_audit_body.h -- the bodies of the chain's service lines: the
 * lines the server writes about itself, not about a request
 * (verify_audit_body.c).
 */
#ifndef VERIFY_AUDIT_BODY_H
#define VERIFY_AUDIT_BODY_H

#include <stdint.h>
#include <sys/types.h>
#include "verify_json.h"
#include "verify_record.h"

/*
 * Each function appends the members of one line after "ts", starting
 * with ',' (what verify_audit_seal() takes as its body), to @p b; the
 * caller checks b->overflow. Strings are escaped by verify_jbuf_str().
 */

/**
 * An "audit_recover" line: process @p pid repaired the chain from the
 * file, and @p detail says why (cut at 200 bytes),
 * ,"op":"audit_recover","pid":N,"detail":….
 */
void verify_audit_body_recover(verify_jbuf_t *b, pid_t pid,
                               const char *detail);

/**
 * A "withdrawn" line: line @p seq (of request @p request_id, NULL if
 * none) could not be synced and its answer was not sent (503),
 * ,"op":"withdrawn","request_id":…,"withdrawn_seq":N,"status":503,
 * "detail":….
 */
void verify_audit_body_withdrawn(verify_jbuf_t *b, const char *request_id,
                                 uint64_t seq);

/**
 * A "clock" line: the clock read @p observed, before @p last, the ts of
 * the last line; this line and the next keep @p last until the clock
 * catches up, ,"op":"clock","observed":…,"last":….
 */
void verify_audit_body_clock(verify_jbuf_t *b, const char *observed,
                             const char *last);

/**
 * An "unconfirmed" line: process @p pid ended while the answers of the
 * @p n lines @p seqs (ascending) had not left it: they may never have
 * reached the client, ,"op":"unconfirmed","pid":N,"seqs":[…],
 * "detail":….
 */
void verify_audit_body_unconfirmed(verify_jbuf_t *b, pid_t pid,
                                   const uint64_t *seqs, size_t n);

#endif /* VERIFY_AUDIT_BODY_H */
