/*
 * verify_key.h -- the pseudonym secret, its derived keys and keyed tags (verify_key.c).
 */
#ifndef VERIFY_KEY_H
#define VERIFY_KEY_H

#include <stddef.h>
#include <apr_pools.h>

/** Bytes of a pseudonym (HMAC-SHA256). */
#define VERIFY_TAG_LEN 32
/** Bytes of the name tag kept in household records. */
#define VERIFY_NAME_TAG_LEN 16

/** The three uses of the secret; each gets its own derived key. */
typedef enum {
    VERIFY_KEY_STORE = 0,   /**< LMDB keys: pseudonym of the ID */
    VERIFY_KEY_SUBJECT,     /**< audit subject_tag */
    VERIFY_KEY_NAME,        /**< name tag inside household records */
    VERIFY_KEY_COUNT
} verify_key_use_t;

typedef struct verify_keys_t verify_keys_t;

/**
 * Read the secret from a file (at least 32 bytes; a file of hex digits
 * is decoded) and derive one HMAC key per use. The file must be a
 * regular file owned by root or the reading user, with no access for
 * group or others (as sshd refuses an unprotected private key). The
 * keys live in memory allocated from @p p and are wiped when @p p is
 * cleared.
 * @return APR_SUCCESS, or an error with *err set to a message.
 */
apr_status_t verify_keys_load(verify_keys_t **keys, const char *path,
                              char **err, apr_pool_t *p);

/** HMAC-SHA256 of @p data under the key for @p use. Thread-safe. */
void verify_keys_tag(const verify_keys_t *keys, verify_key_use_t use,
                     const void *data, size_t len,
                     unsigned char out[VERIFY_TAG_LEN]);

/** Bytes of a key check. */
#define VERIFY_KEY_CHECK_LEN 16

/**
 * A fingerprint of the store key that reveals nothing of it: stored
 * with every batch, so that a server configured with another key file
 * refuses to answer instead of finding nobody.
 */
void verify_keys_check(const verify_keys_t *keys,
                       unsigned char out[VERIFY_KEY_CHECK_LEN]);

#endif /* VERIFY_KEY_H */
