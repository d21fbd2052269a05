/*
 * verify_writer_private.h -- what the writer's two files share
 * (verify_writer.c: the chain step; verify_writer_flight.c: answers in
 * flight and the "unconfirmed" lines of processes that died with some).
 * Not for callers of the writer.
 */
#ifndef VERIFY_WRITER_PRIVATE_H
#define VERIFY_WRITER_PRIVATE_H

#include "verify_writer.h"

#define WLOG(w, level, rv, n, ...) \
    (w)->log((w)->log_baton, (level), (rv), (n), __VA_ARGS__)

/* Seal and write one line with ts @p now and add it to the tree; the
 * chain lock is held. @p leaf (may be NULL) receives its leaf hash. */
apr_status_t writer_append_locked(verify_writer_t *w, const char *body,
                                  size_t blen, apr_time_t now,
                                  unsigned char *leaf, apr_pool_t *p);

/* One "unconfirmed" line per process that exited with answers in flight
 * (with @p look, also processes no longer there); the lock is held. */
apr_status_t writer_record_exited(verify_writer_t *w, int look,
                                  apr_time_t now, apr_pool_t *p);

/* This thread's flight slot (the lock is held), claimed at its first
 * answer; NULL when the table is full. */
verify_writer_flight_t *writer_flight_slot(verify_writer_t *w);

#endif /* VERIFY_WRITER_PRIVATE_H */
