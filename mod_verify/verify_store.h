/*
 * verify_store.h -- the LMDB store: open, lookup, replace one source (verify_store.c).
 */
#ifndef VERIFY_STORE_H
#define VERIFY_STORE_H

#include <sys/types.h>
#include <apr_pools.h>
#include "verify_key.h"
#include "verify_record.h"

typedef struct verify_store_t verify_store_t;

/** The files LMDB keeps in an environment directory. */
#define VERIFY_STORE_DATA_FILE "data.mdb"
#define VERIFY_STORE_LOCK_FILE "lock.mdb"

/** A plain environment's lock file (tests and tools; published
 *  snapshots have none, see verify_snapshot.h). */
#define VERIFY_STORE_LOCK_MODE 0660
/** The data file: only the importer writes it. */
#define VERIFY_STORE_DATA_MODE 0640

/** Flags for verify_store_open. */
#define VERIFY_STORE_READONLY 1   /**< MDB_RDONLY|MDB_NOTLS (httpd) */
/** MDB_NOLOCK: no lock file, no reader table. Only for an environment
 *  that nobody writes while it is read (a published snapshot) or that
 *  nobody reads while it is written (one being built). */
#define VERIFY_STORE_NOLOCK   2
/** @p dir names the data file itself (MDB_NOSUBDIR), e.g.
 *  "/proc/self/fd/N" for a file opened through a directory descriptor;
 *  nothing is created beside it. */
#define VERIFY_STORE_FILE     4

/**
 * Open the LMDB environment in @p dir. Read-only opens never create
 * anything; read-write opens create the directory (0750) and its files
 * (VERIFY_STORE_LOCK_MODE, VERIFY_STORE_DATA_MODE), unless
 * VERIFY_STORE_FILE says the data file exists already.
 * @param maxreaders reader slots wanted if the lock file is new (0: 126)
 */
apr_status_t verify_store_open(verify_store_t **st, const char *dir,
                               int flags, unsigned maxreaders,
                               char **err, apr_pool_t *p);

/** Close; also registered as a cleanup of the open's pool. */
void verify_store_close(verify_store_t *st);

/** What one lookup found, copied out of the read transaction. */
typedef struct verify_lookup_t {
    int have_batch[VERIFY_SRC_COUNT];     /**< source ever imported */
    verify_batch_t batch[VERIFY_SRC_COUNT];
    int found[VERIFY_SRC_COUNT];          /**< record present */
    verify_record_t rec[VERIFY_SRC_COUNT];
} verify_lookup_t;

/**
 * Look up one pseudonymised ID in the sources of mask @p sources
 * (bit 1<<verify_source_t) inside one read transaction.
 * @return APR_SUCCESS, or an error with *err set (static string).
 */
apr_status_t verify_store_lookup(verify_store_t *st,
                                 const unsigned char key[VERIFY_TAG_LEN],
                                 unsigned sources, verify_lookup_t *out,
                                 const char **err);

/**
 * The batch metadata of every source (out->have_batch, out->batch),
 * in one read transaction; no record is looked up.
 * @return APR_SUCCESS, or an error with *err set (static string).
 */
apr_status_t verify_store_batches(verify_store_t *st, verify_lookup_t *out,
                                  const char **err);

/** One record to import: pseudonym key, encoded value, source line. */
typedef struct verify_import_rec_t {
    unsigned char key[VERIFY_TAG_LEN];
    unsigned char val[VERIFY_RECORD_MAX];
    unsigned char vlen;
    unsigned long line;
} verify_import_rec_t;

/**
 * Sort @p recs by key and refuse duplicates: a duplicate ID fails the
 * whole batch and *err names both lines. Needs no store.
 */
apr_status_t verify_import_check(verify_import_rec_t *recs, size_t n,
                                 char **err, apr_pool_t *p);

/**
 * Write source @p src of @p st in one write transaction, all or
 * nothing: @p src becomes @p recs (checked and sorted here) with
 * @p batch, records put with MDB_APPEND in key order. With @p base (an
 * import into a new, empty snapshot) every other source and its batch
 * metadata is copied from it; without, @p src's old records are dropped
 * and the other sources of @p st stay. (A dry run is
 * verify_import_check() alone.)
 */
apr_status_t verify_store_rebuild(verify_store_t *st,
                                  const verify_store_t *base,
                                  verify_source_t src,
                                  verify_import_rec_t *recs, size_t n,
                                  verify_batch_t *batch, char **err,
                                  apr_pool_t *p);

typedef struct verify_recset_t verify_recset_t;

/**
 * verify_store_rebuild() for a batch of any size: @p src becomes the
 * records of @p set (verify_recset.h), walked in key order and checked
 * for duplicates on the way (a duplicate aborts the transaction:
 * nothing changed).
 */
apr_status_t verify_store_rebuild_set(verify_store_t *st,
                                      const verify_store_t *base,
                                      verify_source_t src,
                                      verify_recset_t *set,
                                      verify_batch_t *batch, char **err,
                                      apr_pool_t *p);

#endif /* VERIFY_STORE_H */
