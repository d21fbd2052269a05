/*
 * verify_snapshot.h -- the store as immutable published snapshots
 * (verify_snapshot.c): the importer builds and publishes them, readers
 * follow the newest one.
 *
 * A store directory (VerifyStore) holds:
 *   current        symbolic link to the published snapshot
 *   snap-NAME/     one complete LMDB environment: data.mdb only (no
 *                  lock file: written once, never after publication)
 *   .import.lock   the importer's lock (root-only)
 *   require-signed present: batches must be signed and encrypted
 *                  (verify-import --require-signed on)
 *   events/        the event spool (verify_event_spool.h)
 *   pending/       the importer's records of input files still to be
 *                  destroyed (verify-import)
 * Everything is root's; the readers' group may read, nobody else write.
 */
#ifndef VERIFY_SNAPSHOT_H
#define VERIFY_SNAPSHOT_H

#include <sys/types.h>
#include <apr_pools.h>
#include "verify_store.h"

#define VERIFY_SNAP_CURRENT     "current"
#define VERIFY_SNAP_CURRENT_TMP "current.tmp"
#define VERIFY_SNAP_PREFIX      "snap-"
#define VERIFY_SNAP_IMPORT_LOCK ".import.lock"
/** A snapshot directory and the store directory the importer makes. */
#define VERIFY_SNAP_DIR_MODE    0750
/** A snapshot's data file. */
#define VERIFY_SNAP_DATA_MODE   0640
/** The importer's lock file. */
#define VERIFY_SNAP_LOCK_MODE   0600
/** A flag file of the store (verify_snapshot_flag_set). */
#define VERIFY_SNAP_FLAG_MODE   0640
/** The flag: only signed and encrypted batches may be imported. */
#define VERIFY_SNAP_REQUIRE_SIGNED "require-signed"

/** What an import did besides publishing. */
typedef struct verify_snap_report_t {
    char name[64];      /**< the published snapshot, "snap-…" */
    int migrated;       /**< the base was an old single-environment store */
    int removed;        /**< older snapshots removed */
    int kept;           /**< older snapshots kept: a reader holds them */
} verify_snap_report_t;

/**
 * The store directory @p dir, before anything is imported: created
 * (0750, group @p gid, or the creator's for (gid_t)-1) if missing, as
 * an import would create it; an existing one is left as it is. Refused
 * if it is not a directory of the caller's or writable by group or
 * others. The importer prepares it first, so that the event spool
 * inside it can record the attempt, even a refused one.
 */
apr_status_t verify_snapshot_dir_prepare(const char *dir, gid_t gid,
                                         char **err, apr_pool_t *p);

/**
 * Publish a new snapshot of the store in @p dir in which source @p src
 * is @p recs and @p batch (the rest of @p batch is filled in), and
 * every other source is copied from the current snapshot (or from an
 * old-layout data.mdb in @p dir, which is then removed). All or
 * nothing: on failure `current` is unchanged.
 *
 * Runs under an exclusive flock on VERIFY_SNAP_IMPORT_LOCK; every file
 * is reached through the directory's descriptor (O_NOFOLLOW, fstat
 * checks) and opened by LMDB with MDB_NOLOCK, so nothing another user
 * can write is ever read. The snapshot is synced, given owner root
 * (the caller), group @p gid and modes 0750/0640, and published by
 * renaming a `current.tmp` link over `current`, then the directory is
 * synced. Afterwards older snapshots that no reader holds (no shared
 * flock on their directory) are removed.
 *
 * @param dir  created (0750) if missing; refused if it is not a
 *             directory of the caller's, or writable by group or others
 * @param gid  the readers' group, or (gid_t)-1 for the group of @p dir
 * @param rep  if not NULL, what was done
 */
apr_status_t verify_snapshot_import(const char *dir, gid_t gid,
                                    verify_source_t src,
                                    verify_import_rec_t *recs, size_t n,
                                    verify_batch_t *batch,
                                    verify_snap_report_t *rep, char **err,
                                    apr_pool_t *p);

/** The store directory of one importer run, locked. */
typedef struct verify_snap_lock_t verify_snap_lock_t;

/**
 * Open the store directory @p dir (created and given to @p gid as
 * verify_snapshot_import() does) and take the import lock, waiting for
 * another importer to finish. Everything an importer decides from the
 * store (its batches, its flags) and does to it then happens under
 * this one lock, until verify_snapshot_unlock() or the cleanup of
 * @p p.
 */
apr_status_t verify_snapshot_lock(verify_snap_lock_t **l, const char *dir,
                                  gid_t gid, char **err, apr_pool_t *p);

/** Let go of the lock (idempotent). */
void verify_snapshot_unlock(verify_snap_lock_t *l);

/** The store directory's descriptor, for the importer's own files in
 *  it (reach them with openat and O_NOFOLLOW). */
int verify_snapshot_dirfd(const verify_snap_lock_t *l);

/**
 * The batch metadata of the published snapshot: out->have_batch[i] and
 * out->batch[i] for each source (no records are looked up). Nothing
 * published yet: no source has a batch.
 */
apr_status_t verify_snapshot_batches(verify_snap_lock_t *l,
                                     verify_lookup_t *out, char **err,
                                     apr_pool_t *p);

/** verify_snapshot_publish() for a batch of any size, in bounded
 *  memory: the records of @p set (verify_recset.h). A duplicate ID
 *  found on the way takes the unpublished snapshot away again. */
apr_status_t verify_snapshot_publish_set(verify_snap_lock_t *l,
                                         verify_source_t src,
                                         verify_recset_t *set,
                                         verify_batch_t *batch,
                                         verify_snap_report_t *rep,
                                         char **err, apr_pool_t *p);

/** verify_snapshot_import() under a lock taken already. */
apr_status_t verify_snapshot_publish(verify_snap_lock_t *l,
                                     verify_source_t src,
                                     verify_import_rec_t *recs, size_t n,
                                     verify_batch_t *batch,
                                     verify_snap_report_t *rep, char **err,
                                     apr_pool_t *p);

/**
 * Is the flag file @p name (e.g. VERIFY_SNAP_REQUIRE_SIGNED) set in the
 * store? 1 yes, 0 no; -1 with *err when something is there that is not
 * a regular file of the importing user that nobody else can write (a
 * flag is never taken as unset because it was tampered with).
 */
int verify_snapshot_flag(verify_snap_lock_t *l, const char *name,
                         char **err, apr_pool_t *p);

/**
 * Set the flag file @p name with content @p text (written as
 * NAME.tmp, synced, renamed; owner the caller, the readers' group,
 * VERIFY_SNAP_FLAG_MODE), or remove it; then sync the directory.
 */
apr_status_t verify_snapshot_flag_set(verify_snap_lock_t *l,
                                      const char *name, int on,
                                      const char *text, char **err,
                                      apr_pool_t *p);

/** A process's view of a store directory, shared by its threads. */
typedef struct verify_snap_reader_t verify_snap_reader_t;
/** One opened snapshot, counted by its users. */
typedef struct verify_snap_t verify_snap_t;

/** The reader of the store in @p dir; opens nothing yet. Its cleanup
 *  (on @p p) closes the snapshot it holds. */
apr_status_t verify_snap_reader_create(verify_snap_reader_t **r,
                                       const char *dir, apr_pool_t *p);

/**
 * The published snapshot, held until verify_snap_release(). Each call
 * costs one lstat() of `current`; when it changed, the new snapshot is
 * opened (read-only, MDB_NOLOCK, with a shared flock on its directory)
 * and the old one is closed when its last holder releases it. An old
 * single-environment store (data.mdb in @p dir, no `current`) is
 * opened the same way, without a lock.
 *
 * After a failure the same state of `current` is not retried for a
 * second: the same status is returned at once, with *err NULL (the
 * reason was given at the attempt).
 * @param err  on failure, the reason (allocated from @p ep), or NULL
 */
apr_status_t verify_snap_acquire(verify_snap_reader_t *r, verify_snap_t **s,
                                 char **err, apr_pool_t *ep);

/** Let go of a snapshot from verify_snap_acquire(). */
void verify_snap_release(verify_snap_reader_t *r, verify_snap_t *s);

/** The snapshot's store, for verify_store_lookup(). */
verify_store_t *verify_snap_store(const verify_snap_t *s);

/** The snapshot's name ("snap-…"), or "" for an old-layout store. */
const char *verify_snap_name(const verify_snap_t *s);

/**
 * Does @p dir hold an old-layout store (data.mdb, no `current`)?
 * @return 1 yes, 0 no, -1 and errno when @p dir cannot be read
 */
int verify_snapshot_legacy(const char *dir);

/** Longest snapshot name, its NUL included. */
#define VERIFY_SNAP_NAME_MAX 64

/** Is @p s a snapshot's name: "snap-" and then letters, digits and '-'
 * (never a path)? */
int verify_snapshot_name_ok(const char *s);

#endif /* VERIFY_SNAPSHOT_H */
