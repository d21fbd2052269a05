/*
 * verify_record.h -- sources, records and batch metadata, and their byte codec (verify_record.c).
 */
#ifndef VERIFY_RECORD_H
#define VERIFY_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <apr_time.h>
#include "verify_key.h"
#include "verify_time.h"

/** The data sources; each has its own LMDB database. */
typedef enum {
    VERIFY_SRC_HOUSEHOLD = 0,
    VERIFY_SRC_ELDERLY_ALONE,
    VERIFY_SRC_DISABILITY,
    VERIFY_SRC_COUNT
} verify_source_t;

/** "household", "elderly_alone", "disability". */
const char *verify_source_name(verify_source_t src);
/** The source of a name; -1 when unknown. */
int verify_source_from_name(const char *name);

/** Indigenous status as recorded. */
typedef enum {
    VERIFY_INDIGENOUS_NONE = 0,
    VERIFY_INDIGENOUS_MOUNTAIN = 1,
    VERIFY_INDIGENOUS_PLAIN = 2
} verify_indigenous_t;

/** Current record format version of elderly_alone and disability
 *  records. */
#define VERIFY_RECORD_VERSION 1
/** Current format of household records: 2 (names in the normal form of
 *  verify_name.h, and a romanised name beside the Han name); format 1
 *  (the old normal form, no romanised name) is still read. */
#define VERIFY_RECORD_HOUSEHOLD_VERSION 2

/** One decoded record of any source (fields a source lacks are 0). */
typedef struct verify_record_t {
    unsigned char indigenous;     /**< verify_indigenous_t (household) */
    unsigned char level;          /**< disability level 1-4 */
    verify_date_t birth;          /**< birth date (household) */
    verify_date_t valid_until;    /**< elderly_alone, disability */
    unsigned char name_tag[VERIFY_NAME_TAG_LEN]; /**< household */
    unsigned char name_form;      /**< household: the normal form of its
                                       name tags (verify_name_tag): the
                                       record's format, 1 or 2 */
    unsigned char has_romanised;  /**< household format 2: a romanised
                                       name beside the Han name */
    unsigned char romanised_tag[VERIFY_NAME_TAG_LEN];
} verify_record_t;

/** Largest encoded record. */
#define VERIFY_RECORD_MAX 40

/** Encode @p rec for @p src; returns the encoded length. */
size_t verify_record_encode(verify_source_t src, const verify_record_t *rec,
                            unsigned char out[VERIFY_RECORD_MAX]);
/** Decode; returns 0 on success, -1 on a malformed or unknown version. */
int verify_record_decode(verify_source_t src, const void *data, size_t len,
                         verify_record_t *rec);

/** Metadata of the batch that last replaced a source. */
typedef struct verify_batch_t {
    char batch_id[33];            /**< 32 hex characters */
    uint64_t records;             /**< records in the batch */
    apr_time_t imported_at;       /**< when the import committed */
    verify_date_t approved_until; /**< R4.1.2 usage period end; 0 = none */
    unsigned char sha256[32];     /**< of the input file as received */
    char as_of[26];               /**< imported_at, Taipei, seconds */
    unsigned char key_check[16];  /**< verify_keys_check() of the key
                                       the batch was imported with */
    int have_key_check;           /**< 0 for batches of format v1 */
    apr_time_t signed_at;         /**< the CMS signing time of the batch
                                       (whole seconds); 0: not signed, no
                                       signing time, or format v1/v2 */
    unsigned flags;               /**< VERIFY_BATCH_* (format 3) */
} verify_batch_t;

/** The batch was imported with the strict intake rules lifted
 *  (verify-import --allow-plain: not encrypted, not signed or without
 *  --approved-until). */
#define VERIFY_BATCH_PLAIN  0x01
/** A replay check was overridden (verify-import --force). */
#define VERIFY_BATCH_FORCED 0x02

/** Bytes of encoded batch metadata (format 3). */
#define VERIFY_BATCH_META_LEN 110

/** Encode batch metadata (format 3: the key check, the signing time,
 *  the flags). */
void verify_batch_encode(const verify_batch_t *b,
                         unsigned char out[VERIFY_BATCH_META_LEN]);

/**
 * Decode batch metadata of format 3, 2 (without signing time and
 * flags) or 1 (without a key check either).
 * @return 0, or -1 when malformed.
 */
int verify_batch_decode(const void *data, size_t len, verify_batch_t *b);

#endif /* VERIFY_RECORD_H */
