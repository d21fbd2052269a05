/*
 * verify_audit_follow.h -- following an audit directory as lines are
 * added: every new complete line is checked against the chain and added
 * to a Merkle tree (verify_audit_follow.c). This is the httpd parent's
 * own view of the log, the one it signs: it is built from the files
 * alone, never from memory the run-time user can write.
 */
#ifndef VERIFY_AUDIT_FOLLOW_H
#define VERIFY_AUDIT_FOLLOW_H

#include <stdint.h>
#include <sys/types.h>
#include <apr_pools.h>

#include "verify_audit_line.h"
#include "verify_merkle.h"
#include "verify_time.h"

/** Where a follower stands: the last line it took and the tree so far.
 * Fixed-size and without pointers. */
typedef struct verify_follow_t {
    verify_chain_t chain;           /**< seq and hash of the last line */
    verify_date_t day;              /**< its day file; 0 before the first */
    apr_off_t offset;               /**< bytes of that file taken */
    verify_merkle_edge_t edge;      /**< tree over lines 1..chain.seq */
} verify_follow_t;

/** What stopped verify_follow_run(). */
typedef enum {
    VERIFY_FOLLOW_END = 0,          /**< no complete line left to take */
    VERIFY_FOLLOW_MAX,              /**< took the most it was asked to */
    VERIFY_FOLLOW_DAY_END           /**< took the last line of a day file
                                     * that a newer file follows */
} verify_follow_stop_t;

/** Make @p f a follower of a log with no line yet. */
void verify_follow_init(verify_follow_t *f);

/**
 * Make @p f a follower of a log whose lines up to @p chain->seq were
 * purged: @p edge is the tree's right edge at that size (from the purge
 * checkpoint). The oldest day file left must go on from @p chain.
 */
void verify_follow_init_at(verify_follow_t *f, const verify_chain_t *chain,
                           const verify_merkle_edge_t *edge);

/**
 * Take the complete lines written since @p f: the rest of the day file
 * f->day from f->offset, then the newer day files of the directory
 * @p dirfd in date order. Files are opened as verify_audit_openat()
 * does (owned by @p owner, (uid_t)-1: any). A line without its newline
 * yet is left for a later call. Each line must follow the chain
 * (verify_audit_check_line()): the first of the log is seq 1.
 * @param max   take at most this many lines
 * @param stop  set to why it stopped
 * @return APR_SUCCESS, or an error with *err naming the file, the seq
 *         and the fault (then @p f stays at the last good line)
 */
apr_status_t verify_follow_run(verify_follow_t *f, int dirfd, uid_t owner,
                               uint64_t max, verify_follow_stop_t *stop,
                               char **err, apr_pool_t *p);

#endif /* VERIFY_AUDIT_FOLLOW_H */
