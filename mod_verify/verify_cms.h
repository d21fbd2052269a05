/*
 * verify_cms.h -- encrypted and signed batches, in memory (verify_cms.c).
 */
#ifndef VERIFY_CMS_H
#define VERIFY_CMS_H

#include <stddef.h>
#include <apr_pools.h>

/**
 * Open a CMS EnvelopedData batch (DER, PEM or S/MIME) with the import
 * certificate and its private key (PEM files), in memory.
 * @return APR_SUCCESS with the content in *out, or *err set.
 */
apr_status_t verify_cms_decrypt(const char *in, size_t len,
                                const char *cert_file, const char *key_file,
                                char **out, size_t *outlen, char **err,
                                apr_pool_t *p);

/**
 * Check a CMS SignedData batch (content attached) against the CAs in
 * @p ca_file and return its content and the signer's subject.
 */
apr_status_t verify_cms_verify(const char *in, size_t len,
                               const char *ca_file, char **out,
                               size_t *outlen, char **signer, char **err,
                               apr_pool_t *p);

#endif /* VERIFY_CMS_H */
