/*
 * verify_writer_private.h -- what the writer's files share
 * (verify_writer.c: the chain step; verify_writer_flight.c: answers in
 * flight and the "unconfirmed" lines of processes that died with some;
 * verify_writer_batch.c: the lines of one request, all or none;
 * verify_writer_sync.c: group commit).
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

/* The chain step's start: the lock, recovery after a dead writer, the
 * tree's edge caught up, the step's ts in *now and the lines that must
 * precede the caller's (deferred, recovery note, unconfirmed). *locked
 * says whether the lock is held (then writer_step_end() must follow,
 * whatever is returned). */
apr_status_t writer_step_begin(verify_writer_t *w, apr_time_t *now,
                               int *locked, apr_pool_t *p);

/* The chain step's end: the lock released and, with w->sync, the lines
 * up to @p seq made durable (a failed sync withdraws them, naming
 * @p request_id). @return @p rv, or the sync's failure. */
apr_status_t writer_step_end(verify_writer_t *w, apr_status_t rv,
                             uint64_t seq, const char *request_id,
                             apr_pool_t *p);

/* VerifyAuditSync On (verify_writer_sync.c): the lines up to @p seq,
 * written through @p fd to the file of @p day, made durable by a group
 * commit; the lock is not held. @return the sync's failure, if any. */
apr_status_t writer_group_sync(verify_writer_t *w, uint64_t seq, int fd,
                               verify_date_t day);

/* The day's file for lines with ts @p now, open, and the offset where
 * they will start; the lock is held. */
apr_status_t writer_file_at(verify_writer_t *w, apr_time_t now,
                            verify_date_t *day, apr_off_t *offset,
                            apr_pool_t *p);

/* A write at @p offset that wrote @p n bytes (-1: none, errno @p err)
 * of @p lines lines: whatever reached the file is cut off, the failure
 * counted and said (at most once a second). @return the failure. */
apr_status_t writer_write_failed(verify_writer_t *w, verify_date_t day,
                                 apr_off_t offset, ssize_t n, size_t lines,
                                 int err, apr_pool_t *p);

/* Lines written up to @p next, the file now ending at @p end; the lock
 * is held and the tree's edge has them. */
void writer_written(verify_writer_t *w, const verify_chain_t *next,
                    verify_date_t day, apr_off_t end, apr_time_t now);

/* One "unconfirmed" line per process that exited with answers in flight
 * (with @p look, also processes no longer there); the lock is held. */
apr_status_t writer_record_exited(verify_writer_t *w, int look,
                                  apr_time_t now, apr_pool_t *p);

/* This thread's flight slot (the lock is held), claimed at its first
 * answer; NULL when the table is full. */
verify_writer_flight_t *writer_flight_slot(verify_writer_t *w);

#endif /* VERIFY_WRITER_PRIVATE_H */
