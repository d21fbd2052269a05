/*
 * verify_note.h -- C2SP tlog-checkpoint bodies and C2SP signed notes
 * with Ed25519 (verify_note.c).
 *
 * A checkpoint body (c2sp.org/tlog-checkpoint):
 *   <origin>\n<tree size, decimal>\n<base64 root hash>\n[<extension>\n]...
 * A signed note (c2sp.org/signed-note): the text, a blank line, then
 * one or more lines "— <key name> <base64(key id || signature)>\n"
 * (U+2014 em dash, space). A verifier key is
 * "<key name>+<8 hex digits of the key id>+<base64(0x01 || public key)>",
 * and the key id is the first 4 bytes of
 * SHA-256(key name || 0x0A || 0x01 || public key), big-endian.
 */
#ifndef VERIFY_NOTE_H
#define VERIFY_NOTE_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include "verify_merkle.h"

/** Bytes of an Ed25519 public key. */
#define VERIFY_NOTE_KEY_LEN 32
/** Bytes of an Ed25519 signature. */
#define VERIFY_NOTE_SIG_LEN 64
/** Signature type byte of Ed25519 in key ids and verifier keys. */
#define VERIFY_NOTE_ED25519 0x01
/** The longest note verify_note_open() reads, in bytes. */
#define VERIFY_NOTE_MAX (64 * 1024)
/** The most signature lines verify_note_open() reads. */
#define VERIFY_NOTE_MAX_SIGS 100

/** A checkpoint body, parsed. */
typedef struct {
    const char *origin;         /**< the log's name: first line, no newline */
    uint64_t size;              /**< leaves in the tree */
    unsigned char root[VERIFY_MERKLE_HASH_LEN];  /**< RFC 6962 root */
    const char *extensions;     /**< NULL or "" for none; else whole lines,
                                     each non-empty and ending in \n */
} verify_checkpoint_t;

/**
 * Format @p cp as a checkpoint body into *text (NUL-terminated, from
 * @p p).
 * @return APR_SUCCESS, or APR_EINVAL with *err set when the origin is
 *         empty or not clean UTF-8 on one line, or an extension line is
 *         empty, unterminated or not clean
 */
apr_status_t verify_checkpoint_format(char **text,
                                      const verify_checkpoint_t *cp,
                                      char **err, apr_pool_t *p);

/**
 * Parse a checkpoint body of @p len bytes, strictly: at least three
 * lines, each ending in \n; a non-empty origin; the size in decimal
 * without leading zeros, at most 2^64-1; the root as the canonical
 * base64 of 32 bytes; extension lines non-empty; clean UTF-8 with no
 * control character but the newlines.
 * @return APR_SUCCESS, or APR_EINVAL with *err naming the fault
 */
apr_status_t verify_checkpoint_parse(verify_checkpoint_t *cp,
                                     const char *text, size_t len,
                                     char **err, apr_pool_t *p);

/**
 * True if @p name (@p len bytes) may name a key: non-empty UTF-8 with
 * no control character, no Unicode space and no '+'.
 */
int verify_note_name_valid(const char *name, size_t len);

/**
 * Decode base64 of @p len bytes into a buffer from @p p (NUL-terminated
 * for convenience): only the canonical standard encoding (RFC 4648
 * section 4, padded, no spaces, zero spare bits), so that one value has
 * one spelling.
 * @return the bytes, *outlen of them, or NULL for anything else
 */
unsigned char *verify_note_b64_decode(const char *s, size_t len,
                                      size_t *outlen, apr_pool_t *p);

/** A key that checks signatures: what a verifier key string says. */
typedef struct {
    const char *name;           /**< the key name */
    uint32_t id;                /**< the key id */
    unsigned char key[VERIFY_NOTE_KEY_LEN];  /**< Ed25519 public key */
} verify_note_verifier_t;

/** The signing key, loaded (private to verify_note.c). */
typedef struct verify_note_signer_t verify_note_signer_t;

/**
 * The key id of the Ed25519 key @p key under @p name.
 * @return APR_SUCCESS, or APR_ENOMEM (OpenSSL)
 */
apr_status_t verify_note_key_id(const char *name,
                                const unsigned char key[VERIFY_NOTE_KEY_LEN],
                                uint32_t *id);

/**
 * Load an Ed25519 private key from a PKCS#8 PEM file (as made by
 * `openssl genpkey -algorithm ed25519`) to sign as @p name. The file
 * must be a regular file owned by the caller or root that neither group
 * nor others can read or write: a key anyone else can read is refused
 * with a message saying so. The key is freed with @p p.
 * @return APR_SUCCESS, or an error with *err set to a message naming
 *         the file
 */
apr_status_t verify_note_signer_load(verify_note_signer_t **signer,
                                     const char *name, const char *path,
                                     char **err, apr_pool_t *p);

/** The verifier of @p signer's key (its name, id and public key). */
const verify_note_verifier_t *verify_note_signer_verifier(
    const verify_note_signer_t *signer);

/**
 * Sign the note text @p text (@p len bytes; clean UTF-8 ending in \n,
 * no control character but newlines) into *note: the text, a blank
 * line and one signature line. Thread-safe.
 * @return APR_SUCCESS, or an error with *err set
 */
apr_status_t verify_note_sign(char **note, const verify_note_signer_t *signer,
                              const char *text, size_t len, char **err,
                              apr_pool_t *p);

/** The verifier key string of @p v: "name+hexid+base64(0x01||key)". */
char *verify_note_verifier_format(const verify_note_verifier_t *v,
                                  apr_pool_t *p);

/**
 * Parse a verifier key string, strictly: a valid name, exactly 8
 * lower-case hex digits, the canonical base64 of 0x01 and a 32-byte
 * key, and an id that is the key's id under that name.
 * @return APR_SUCCESS, or APR_EINVAL with *err naming the fault
 */
apr_status_t verify_note_verifier_parse(verify_note_verifier_t *v,
                                        const char *vkey, char **err,
                                        apr_pool_t *p);

/**
 * Open a signed note of @p len bytes with the @p nv keys @p vs: the
 * format is checked strictly (see c2sp.org/signed-note), signatures by
 * other keys are ignored, every signature by one of @p vs must verify,
 * and at least one must be there.
 * @param text_len  set to the length of the signed text, which is the
 *                  first bytes of @p note (the final newline included)
 * @param by        if not NULL, set to the lowest index in @p vs of a
 *                  key whose signature verified (list keys in order of
 *                  preference)
 * @return APR_SUCCESS, or APR_EINVAL with *err naming the fault
 */
apr_status_t verify_note_open(const verify_note_verifier_t *vs, int nv,
                              const char *note, size_t len,
                              size_t *text_len, int *by, char **err,
                              apr_pool_t *p);

/**
 * verify_note_open() and then verify_checkpoint_parse() of the text:
 * a signed checkpoint into @p cp.
 */
apr_status_t verify_checkpoint_open(verify_checkpoint_t *cp,
                                    const verify_note_verifier_t *vs, int nv,
                                    const char *note, size_t len, int *by,
                                    char **err, apr_pool_t *p);

/**
 * verify_checkpoint_open(), but a signature line is matched to a key by
 * the key's name and id alone and its signature is not checked: read
 * with this, a note is only as good as a signature checked later that
 * covers it (`verify-audit verify` reads checkpoints so: the newest one
 * checked signs a tree that holds the others' lines, docs/internals.md).
 * Everything else (the grammar, the text, the checkpoint) is read as
 * strictly.
 */
apr_status_t verify_checkpoint_open_named(verify_checkpoint_t *cp,
                                          const verify_note_verifier_t *vs,
                                          int nv, const char *note,
                                          size_t len, int *by, char **err,
                                          apr_pool_t *p);

/** The standard base64 (with padding) of @p len bytes, from @p p: as
 * notes and checkpoints write hashes and signatures. */
char *verify_note_b64(const unsigned char *in, size_t len, apr_pool_t *p);

#endif /* VERIFY_NOTE_H */
