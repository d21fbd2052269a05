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

/** Every labelled file of mod_verify begins so; never a secret. */
#define VERIFY_KEY_FILE_LABEL_PREFIX "mod_verify-"
/**
 * The first word of an exported subject key file: the line is this
 * label, one space and the subject key (HMAC(secret,
 * "mod_verify/subject/v1")) as 64 hex digits.
 */
#define VERIFY_SUBJECT_KEY_LABEL "mod_verify-subject-key-v1"

/**
 * Read the secret from a file (at least 32 bytes; a file of hex digits
 * is decoded) and derive one HMAC key per use. The file must be a
 * regular file owned by root or the reading user, with no access for
 * group or others (as sshd refuses an unprotected private key). The
 * keys live in memory allocated from @p p and are wiped when @p p is
 * cleared. A file that begins with VERIFY_KEY_FILE_LABEL_PREFIX (an
 * exported subject key) is refused, never read as a raw secret.
 * @return APR_SUCCESS, or an error with *err set to a message.
 */
apr_status_t verify_keys_load(verify_keys_t **keys, const char *path,
                              char **err, apr_pool_t *p);

/**
 * As verify_keys_load(), and a file may also be an exported subject key
 * (VERIFY_SUBJECT_KEY_LABEL): then *subject_only (unless NULL) is 1 and only
 * VERIFY_KEY_SUBJECT may be used (the other tags come out all zero).
 * For verify-audit subject; never for VerifyKeyFile, which refuses a
 * labelled file.
 */
apr_status_t verify_keys_load_subject(verify_keys_t **keys, const char *path,
                                      int *subject_only, char **err,
                                      apr_pool_t *p);

/**
 * The subject key derived from the secret at @p path (read as
 * verify_keys_load() does): all an auditor needs to find one person's
 * audit lines, and nothing that opens the store.
 */
apr_status_t verify_keys_export_subject(const char *path,
                                        unsigned char key[VERIFY_TAG_LEN],
                                        char **err, apr_pool_t *p);

/** HMAC-SHA256 of @p data under the key for @p use. Thread-safe. */
void verify_keys_tag(const verify_keys_t *keys, verify_key_use_t use,
                     const void *data, size_t len,
                     unsigned char out[VERIFY_TAG_LEN]);

/** Two tags at once, as verify_keys_tag() gives each: @p da under
 *  @p ua into @p out_a, @p db under @p ub into @p out_b
 *  (verify_sha256_pair.h: an import tags each household record's name
 *  and ID). Thread-safe. */
void verify_keys_tag2(const verify_keys_t *keys,
                      verify_key_use_t ua, const void *da, size_t la,
                      unsigned char out_a[VERIFY_TAG_LEN],
                      verify_key_use_t ub, const void *db, size_t lb,
                      unsigned char out_b[VERIFY_TAG_LEN]);

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
