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

/** The files LMDB keeps in a store directory. */
#define VERIFY_STORE_DATA_FILE "data.mdb"
#define VERIFY_STORE_LOCK_FILE "lock.mdb"

/** The store directory once shared: root's, setgid to the readers'
 *  group, so that files LMDB creates later get that group too. */
#define VERIFY_STORE_DIR_MODE  02750
/** The lock file: readers register in it, so the group writes it. */
#define VERIFY_STORE_LOCK_MODE 0660
/** The data file: only the importer writes it. */
#define VERIFY_STORE_DATA_MODE 0640

/** The parts of a store directory handed to the readers' group. */
typedef enum {
    VERIFY_STORE_PART_DIR = 0,    /**< the directory itself */
    VERIFY_STORE_PART_LOCK,       /**< VERIFY_STORE_LOCK_FILE */
    VERIFY_STORE_PART_DATA,       /**< VERIFY_STORE_DATA_FILE */
    VERIFY_STORE_PARTS
} verify_store_part_t;

/**
 * Let group @p gid read the store in @p dir: the directory gets group
 * @p gid and VERIFY_STORE_DIR_MODE, the lock file (created if missing)
 * VERIFY_STORE_LOCK_MODE, the data file (if present)
 * VERIFY_STORE_DATA_MODE. Every part is tried, even after a failure.
 * Works through descriptors; the files are never followed as links.
 * @param lock_uid new owner of the lock file, or (uid_t)-1 to keep it
 * @param errs if not NULL, receives per part 0 or the errno that
 *             stopped it
 * @return 0, or the errno of the first part that failed
 */
int verify_store_share(const char *dir, uid_t lock_uid, gid_t gid,
                       int errs[VERIFY_STORE_PARTS]);

/** Flags for verify_store_open. */
#define VERIFY_STORE_READONLY 1   /**< MDB_RDONLY|MDB_NOTLS (httpd) */

/**
 * Open the LMDB environment in @p dir. Read-only opens never create
 * anything; read-write opens create the directory (0750) and its files
 * (VERIFY_STORE_LOCK_MODE, VERIFY_STORE_DATA_MODE).
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
 * (A dry run is verify_import_check() alone.)
 */
apr_status_t verify_store_replace(verify_store_t *st, verify_source_t src,
                                  verify_import_rec_t *recs, size_t n,
                                  verify_batch_t *batch, char **err,
                                  apr_pool_t *p);

#endif /* VERIFY_STORE_H */
