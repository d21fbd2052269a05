/*
 * verify_writer.h -- the audit chain writer: appends sealed lines to the
 * day files of an audit directory for many processes at once
 * (verify_writer.c).
 */
#ifndef VERIFY_WRITER_H
#define VERIFY_WRITER_H

#include <sys/types.h>
#include <apr_pools.h>
#include "verify_audit_line.h"
#include "verify_lock.h"
#include "verify_merkle.h"
#include "verify_record.h"
#include "verify_store.h"
#include "verify_time.h"

/** Log levels, in syslog's order (as httpd's APLOG_* are). */
#define VERIFY_LOG_EMERG 0
#define VERIFY_LOG_ALERT 1
#define VERIFY_LOG_CRIT 2
#define VERIFY_LOG_ERR 3
#define VERIFY_LOG_WARNING 4
#define VERIFY_LOG_NOTICE 5
#define VERIFY_LOG_INFO 6
#define VERIFY_LOG_DEBUG 7

/**
 * Where the library's messages go; the caller's business. @p msgno is
 * the module's message number (docs/log-messages.md), @p rv the status
 * behind the message (0 when none).
 */
typedef void verify_log_fn(void *baton, int level, apr_status_t rv,
                           int msgno, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/** A message number of docs/log-messages.md, as the library spells it. */
#define VERIFY_MSGNO(n) (n)

/** Lines the writer keeps to write ahead of the next one. */
#define VERIFY_WRITER_DEFERRED 4

/** The chain lock kinds (VerifyAuditLock). */
#define VERIFY_WRITER_LOCK_FUTEX 0      /**< verify_lock in the head */
#define VERIFY_WRITER_LOCK_MUTEX 1      /**< the caller's callbacks */

/**
 * The chain head, in memory shared by every process that writes the
 * directory (and kept across generations of an httpd).
 */
typedef struct verify_writer_head_t {
    verify_lock_t lock;             /**< chain lock (the futex kind) */
    uint32_t layout;                /**< VERIFY_WRITER_LAYOUT of its maker */
    char pad_[56];                  /**< the lock word's line its own */
    verify_chain_t chain;           /**< last seq and hash written */
    verify_date_t day;              /**< Taipei day of the current file */
    apr_off_t offset;               /**< its size; -1 unknown */
    pid_t busy;                     /**< pid inside the chain step, or 0 */
    pid_t broken;                   /**< pid whose failed write left a
                                     * fragment, or 0 */
    uint32_t generation;            /**< the caller's: generations run */
    int lock_kind;                  /**< VERIFY_WRITER_LOCK_*; fixed */
    uint64_t synced_seq;            /**< lines up to here are on disk */
    verify_lock_t syncer;           /**< pid of the process syncing, or 0 */
    uint32_t sync_gen;              /**< counts finished syncs (futex) */
    uint32_t sync_for;              /**< the sync_gen the running sync's
                                     * end moves on from */
    uint64_t sync_upto;             /**< the last line it covers */
    char note[160];                 /**< recovery to record in the chain */
    apr_time_t last_ts;             /**< ts of the last line: never back */
    int sync_failed;                /**< a sync failed: refuse until reset */
    char audit_dir[1024];           /**< the directory this chain writes */
    int tree_ok;                    /**< edge is the tree of the chain: its
                                     * size is chain.seq, or chain.seq - 1
                                     * after a writer died between its
                                     * line and the edge */
    verify_merkle_edge_t edge;      /**< RFC 6962 right edge of the lines */
    apr_time_t clock_seen;          /**< the clock at the last chain step
                                     * that found it behind last_ts, or 0
                                     * while it is not behind */
    apr_time_t fail_said;           /**< when a failed line was last
                                     * logged, or 0 after a line written */
    uint64_t fail_count;            /**< failed lines since then */
    uint32_t dead_pending;          /**< flights of exited processes to
                                     * record (verify_writer_exited) */
    char deferred[VERIFY_WRITER_DEFERRED][256]; /**< bodies to write
                                     * ahead of the next line
                                     * (verify_writer_defer) */
} verify_writer_head_t;

/**
 * One thread's answer in flight: the seq of the line of the request it
 * answers, from the chain step until the answer has left the process.
 * A table of them lives in memory shared like the head; a process that
 * exits with a line in flight gets an "unconfirmed" line naming it.
 */
typedef struct verify_writer_flight_t {
    pid_t pid;                      /**< the thread's process; 0: free */
    uint32_t dead;                  /**< that process has exited */
    uint64_t seq;                   /**< the line in flight, or 0 */
} verify_writer_flight_t;

/** Changes whenever the head's layout does: a process built with
 * another layout must not use a head it finds. */
#define VERIFY_WRITER_LAYOUT \
    (0x56460000u | (uint32_t)sizeof(verify_writer_head_t))

/** What the caller of an append may hand back to the client: the seq
 * of its line and the line's RFC 6962 leaf hash. */
typedef struct verify_writer_receipt_t {
    uint64_t seq;
    unsigned char leaf[VERIFY_MERKLE_HASH_LEN];
} verify_writer_receipt_t;

/** The chain lock of the mutex kind: the caller's. */
typedef struct verify_writer_lock_t {
    apr_status_t (*acquire)(void *baton);
    apr_status_t (*release)(void *baton);
    void *baton;
} verify_writer_lock_t;

/** One process's writer. The caller fills the public part. */
typedef struct verify_writer_t {
    verify_writer_head_t *head;     /**< shared chain head */
    const char *dir;                /**< audit directory */
    int sync;                       /**< fdatasync each line (group commit) */
    verify_writer_lock_t mutex;     /**< used when head->lock_kind is
                                     * VERIFY_WRITER_LOCK_MUTEX */
    uid_t uid;                      /**< owner of new day files when */
    gid_t gid;                      /**< running as root */
    apr_interval_time_t patience;   /**< futex kind: give up waiting for
                                     * the lock after this long
                                     * (APR_TIMEUP); 0 waits for ever */
    verify_log_fn *log;             /**< messages; never NULL */
    void *log_baton;
    verify_writer_flight_t *flights;/**< answers in flight, shared like
                                     * the head (zeroed at its start);
                                     * NULL: not tracked */
    uint32_t nflights;              /**< slots in it: at least one per
                                     * thread that may answer */
    /* private: this process's descriptors */
    pid_t pid;
    int flights_full_said;          /**< no free slot was logged */
    int dirfd;                      /**< the audit directory */
    int fd;
    verify_date_t fd_day;
    int old_fd;                     /**< previous day's, kept for syncs */
    apr_time_t day_sec;             /**< the second whose Taipei day is */
    verify_date_t day_of_sec;       /**< this (0: none yet); under the lock */
} verify_writer_t;

/**
 * Set up a writer of @p dir on @p head for this process (call again
 * after fork): no descriptor open yet. Every file of the directory is
 * reached through a descriptor of the directory, never following a
 * symbolic link, and used only if it is a regular file with one link,
 * owned by the run-time user (w->uid when running as root): root must
 * not follow what that user can plant there (verify_audit_openat).
 */
void verify_writer_init(verify_writer_t *w, verify_writer_head_t *head,
                        const char *dir);

/**
 * Make @p w->head a fresh head for its directory: read the chain head
 * from the files, cut a partial last line a dead writer left (and note
 * it, to be recorded in the chain by the first append), and rebuild the
 * Merkle tree's right edge from every line of the files (when it cannot
 * be, e.g. after a purge, head->tree_ok stays 0 and that is logged).
 * The next line follows that head into the newest file, whatever the
 * clock says: its ts is never before the head line's, nor before the
 * newest file's day. w->flights, when set, is cleared.
 */
apr_status_t verify_writer_start(verify_writer_t *w, int lock_kind,
                                 apr_pool_t *ptemp);

/**
 * Append one line to the chain; the only entry point for writers.
 * @p body holds the line's members after ts, starting with ','. First,
 * under the same lock: recovery after a dead writer or a failed write,
 * a "clock" line when the clock is found behind the last line's ts
 * (lines keep that ts until it catches up: ts never goes back), lines
 * deferred by verify_writer_defer(), a pending recovery note, and
 * "unconfirmed" lines for answers of exited processes
 * (verify_writer_exited). (Imports are recorded when they happen,
 * through the event spool: verify_event_spool.h.) With w->sync, returns
 * once the line is on disk; a failed sync withdraws the line and makes
 * every later append fail until head->sync_failed is reset. Each line
 * written is added to the tree's edge under the lock.
 * @param request_id named in a "withdrawn" line; may be NULL
 * @param receipt receives seq and leaf hash of the line; may be NULL.
 *        When given, the line answers a request: with w->flights it is
 *        in flight until this thread calls verify_writer_answered().
 */
apr_status_t verify_writer_append(verify_writer_t *w, const char *body,
                                  size_t blen, const char *request_id,
                                  verify_writer_receipt_t *receipt,
                                  apr_pool_t *p);

/** One line of a batch: its members after ts, as verify_writer_append
 * takes them. */
typedef struct verify_writer_body_t {
    const char *body;
    size_t len;
} verify_writer_body_t;

/**
 * Append the @p n lines of one request as one (verify_writer_batch.c):
 * all of them, in order with consecutive seqs, or none. One chain step
 * as verify_writer_append's (recovery, the lines that must precede),
 * then the lines sealed into one buffer and written with one write; a
 * short write is cut off again and the head stays where it was, so a
 * failure leaves the files exactly as before. With w->sync the step
 * returns once the last line is on disk (a failed sync withdraws the
 * request's lines, naming @p request_id and the last seq).
 * @param receipts n receipts, one per line; may be NULL. When given,
 *        the lines answer a request: with w->flights the first line's
 *        seq is in flight until verify_writer_answered() (an
 *        "unconfirmed" line names it; the others share its request_id).
 */
apr_status_t verify_writer_append_batch(verify_writer_t *w,
                                        const verify_writer_body_t *lines,
                                        size_t n, const char *request_id,
                                        verify_writer_receipt_t *receipts,
                                        apr_pool_t *p);

/**
 * The answer of this thread's last line has left the process (or never
 * will, and the caller knows it): the line is no longer in flight. No
 * system call, no lock.
 */
void verify_writer_answered(verify_writer_t *w);

/**
 * Process @p pid has exited (its parent reaped it): flag its flights,
 * so that the next chain step writes an "unconfirmed" line naming the
 * lines whose answers may not have left. No lock: safe in a parent
 * that must never wait for its children.
 */
void verify_writer_exited(verify_writer_head_t *head,
                          verify_writer_flight_t *flights, uint32_t n,
                          pid_t pid);

/**
 * Every process that answered through this head is gone (a server
 * stopping, after its children): write the "unconfirmed" lines of
 * their flights now, as the next chain step would, but for every
 * process that no longer exists.
 */
apr_status_t verify_writer_flush_exited(verify_writer_t *w, apr_pool_t *p);

/**
 * Keep @p body (a line's members after ts, as for append; at most 255
 * bytes) to be written ahead of the next line: for a line that could
 * not be written now (a full volume) and must not be lost. When
 * VERIFY_WRITER_DEFERRED are kept already, it replaces the newest.
 */
apr_status_t verify_writer_defer(verify_writer_t *w, const char *body,
                                 size_t blen);

/** Close this process's descriptors (e.g. before forking writers). */
void verify_writer_close(verify_writer_t *w);

#endif /* VERIFY_WRITER_H */
