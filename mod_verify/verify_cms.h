/*
 * verify_cms.h -- encrypted and signed batches, in memory (verify_cms.c).
 */
#ifndef VERIFY_CMS_H
#define VERIFY_CMS_H

#include <stddef.h>
#include <apr_pools.h>
#include <apr_time.h>

/** What a batch file is, at first sight (verify_cms_kind). */
typedef enum {
    VERIFY_CMS_PLAIN = 0,       /**< not CMS: a CSV file as it is */
    VERIFY_CMS_ENVELOPED,       /**< CMS EnvelopedData (encrypted) */
    VERIFY_CMS_SIGNED,          /**< CMS SignedData */
    VERIFY_CMS_OTHER            /**< CMS of another content type */
} verify_cms_kind_t;

/**
 * Is @p in (@p len bytes) CMS, and of which type? DER is told by its
 * first bytes (the content type comes first), PEM (`-----BEGIN`) and
 * S/MIME (a MIME header first) by parsing; anything else is
 * VERIFY_CMS_PLAIN, without being parsed (a CSV file never starts like
 * CMS: its first byte is a header letter, a BOM or a quote).
 */
verify_cms_kind_t verify_cms_kind(const char *in, size_t len);

/** "encrypted CMS data", "a plain file, not CMS", … for messages. */
const char *verify_cms_kind_name(verify_cms_kind_t kind);

/**
 * Open a CMS EnvelopedData batch (DER, PEM or S/MIME) with the import
 * certificate and its private key (PEM files), in memory.
 * @return APR_SUCCESS with the content in *out, or *err set; a batch
 *         encrypted to another certificate is told so, naming the
 *         recipients it was made for and the certificate given
 */
apr_status_t verify_cms_decrypt(const char *in, size_t len,
                                const char *cert_file, const char *key_file,
                                char **out, size_t *outlen, char **err,
                                apr_pool_t *p);

/** Who signed a batch, and when (verify_cms_verify). */
typedef struct verify_cms_signer_t {
    char *subject;              /**< the signer certificate's subject:
                                     no control characters, '"' or '\\' */
    apr_time_t signed_at;       /**< its signingTime attribute (whole
                                     seconds); 0 if it has none */
} verify_cms_signer_t;

/**
 * Check a CMS SignedData batch (content attached) against the CAs in
 * @p ca_file and return its content, the signer's subject and signing
 * time. A failure says which part failed: the signer's certificate was
 * issued by a CA that is not in @p ca_file (naming its issuer and the
 * CAs of the file), it is otherwise not valid (expired, not for
 * S/MIME signing), or the signature does not match the content.
 */
apr_status_t verify_cms_verify(const char *in, size_t len,
                               const char *ca_file, char **out,
                               size_t *outlen, verify_cms_signer_t *signer,
                               char **err, apr_pool_t *p);

#endif /* VERIFY_CMS_H */
