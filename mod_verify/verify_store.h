/*
 * verify_store.h -- the LMDB store: open, lookup, replace one source (verify_store.c).
 */
#ifndef VERIFY_STORE_H
#define VERIFY_STORE_H

#include <apr_pools.h>
#include "verify_key.h"
#include "verify_record.h"

typedef struct verify_store_t verify_store_t;

/** Flags for verify_store_open. */
#define VERIFY_STORE_READONLY 1   /**< MDB_RDONLY|MDB_NOTLS (httpd) */

/**
 * Open the LMDB environment in @p dir. Read-only opens never create
 * anything; read-write opens create the directory files (mode 0660 for
 * the lock file, 0640 for the data file).
 * @param maxreaders reader slots wanted if the lock file is new (0: 126)
 */
apr_status_t verify_store_open(verify_store_t **st, const char *dir,
                               int flags, unsigned maxreaders,
                               char **err, apr_pool_t *p);

/** Close; also registered as a cleanup of the open's pool. */
void verify_store_close(verify_store_t *st);

/** Clear stale reader slots of dead processes; returns how many. */
int verify_store_reader_check(verify_store_t *st);

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

/** Read the batch metadata of one source; APR_NOTFOUND if none. */
apr_status_t verify_store_batch(verify_store_t *st, verify_source_t src,
                                verify_batch_t *out, const char **err);

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
 * Replace every record of @p src with @p recs (checked and sorted here)
 * and the batch metadata, in one write transaction: all or nothing.
 * @param dry_run check only; write nothing
 */
apr_status_t verify_store_replace(verify_store_t *st, verify_source_t src,
                                  verify_import_rec_t *recs, size_t n,
                                  verify_batch_t *batch, int dry_run,
                                  char **err, apr_pool_t *p);

#endif /* VERIFY_STORE_H */
