/*
 * verify_cms.c -- opening an encrypted, signed batch (R4.1.1, R4.1.3).
 *
 * Civil Affairs sends the batch as CMS: EnvelopedData to the county's
 * import certificate, holding SignedData by the data provider. Both
 * layers are opened in memory: the clear batch never touches the disk.
 */
#include <limits.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <apr_strings.h>
#include "verify_cms.h"

/* The last OpenSSL error as text, for messages. */
static const char *ossl_reason(apr_pool_t *p)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256];

    if (e == 0) {
        return "no detail";
    }
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return apr_pstrdup(p, buf);
}

/* DER first (what `openssl cms -outform DER` makes), then PEM/S/MIME. */
static CMS_ContentInfo *parse_cms(const char *in, size_t len)
{
    CMS_ContentInfo *cms;
    BIO *b;

    /* OpenSSL takes an int length; a negative one means "use strlen" */
    if (len > INT_MAX) {
        return NULL;
    }
    b = BIO_new_mem_buf(in, (int)len);
    if (!b) {
        return NULL;
    }
    cms = d2i_CMS_bio(b, NULL);
    if (!cms) {
        (void)BIO_reset(b);
        cms = PEM_read_bio_CMS(b, NULL, NULL, NULL);
    }
    if (!cms) {
        (void)BIO_reset(b);
        cms = SMIME_read_CMS(b, NULL);
    }
    BIO_free(b);
    return cms;
}

/* Move a memory BIO's contents into pool memory, wiping the BIO. */
static void take_bio(BIO *out, char **buf, size_t *len, apr_pool_t *p)
{
    char *data = NULL;
    long n = BIO_get_mem_data(out, &data);

    if (n <= 0 || data == NULL) {
        n = 0;                  /* empty content: nothing to copy */
    }
    *buf = apr_palloc(p, (apr_size_t)n + 1);
    if (n > 0) {
        memcpy(*buf, data, (size_t)n);
        OPENSSL_cleanse(data, (size_t)n);
    }
    (*buf)[n] = '\0';
    *len = (size_t)n;
}

static X509 *read_cert(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    return x;
}

apr_status_t verify_cms_decrypt(const char *in, size_t len,
                                const char *cert_file, const char *key_file,
                                char **out, size_t *outlen, char **err,
                                apr_pool_t *p)
{
    CMS_ContentInfo *cms = NULL;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    BIO *b = NULL, *plain = NULL;
    apr_status_t rv = APR_EINVAL;

    cert = read_cert(cert_file);
    if (!cert) {
        *err = apr_psprintf(p, "cannot read certificate %s", cert_file);
        goto cleanup;
    }
    b = BIO_new_file(key_file, "r");
    key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    if (!key) {
        *err = apr_psprintf(p, "cannot read private key %s", key_file);
        goto cleanup;
    }
    cms = parse_cms(in, len);
    if (!cms || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_enveloped) {
        *err = apr_pstrdup(p, "not a CMS encrypted (enveloped) file");
        goto cleanup;
    }
    plain = BIO_new(BIO_s_mem());
    if (!plain || !CMS_decrypt(cms, key, cert, NULL, plain, CMS_BINARY)) {
        *err = apr_psprintf(p, "cannot decrypt (not for this certificate, "
                            "or damaged): %s", ossl_reason(p));
        goto cleanup;
    }
    take_bio(plain, out, outlen, p);
    rv = APR_SUCCESS;

cleanup:
    BIO_free(plain);
    BIO_free(b);
    EVP_PKEY_free(key);
    X509_free(cert);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return rv;
}

apr_status_t verify_cms_verify(const char *in, size_t len,
                               const char *ca_file, char **out,
                               size_t *outlen, char **signer, char **err,
                               apr_pool_t *p)
{
    CMS_ContentInfo *cms = NULL;
    X509_STORE *store = NULL;
    STACK_OF(X509) *signers = NULL;
    BIO *content = NULL;
    apr_status_t rv = APR_EINVAL;
    char name[256];

    store = X509_STORE_new();
    if (!store || X509_STORE_load_file(store, ca_file) != 1) {
        *err = apr_psprintf(p, "cannot read signer CA %s", ca_file);
        goto cleanup;
    }
    cms = parse_cms(in, len);
    if (!cms || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        *err = apr_pstrdup(p, "not a CMS signed file (the data provider's "
                           "signature is required)");
        goto cleanup;
    }
    content = BIO_new(BIO_s_mem());
    /* the signer's certificate must chain to a CA of @p ca_file */
    if (!content || !CMS_verify(cms, NULL, store, NULL, content,
                                CMS_BINARY)) {
        *err = apr_psprintf(p, "signature check failed: %s",
                            ossl_reason(p));
        goto cleanup;
    }
    signers = CMS_get0_signers(cms);
    if (signers && sk_X509_num(signers) > 0) {
        X509_NAME_oneline(X509_get_subject_name(sk_X509_value(signers, 0)),
                          name, sizeof(name));
        char *c;
        /* the subject goes into JSON and terminals: keep it plain */
        for (c = name; *c; c++) {
            if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\'
                || (unsigned char)*c == 0x7f) {
                *c = '?';
            }
        }
        *signer = apr_pstrdup(p, name);
    }
    else {
        *signer = apr_pstrdup(p, "?");
    }
    take_bio(content, out, outlen, p);
    rv = APR_SUCCESS;

cleanup:
    sk_X509_free(signers);
    BIO_free(content);
    X509_STORE_free(store);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return rv;
}
