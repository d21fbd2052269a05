/*
 * verify_cms.c -- opening an encrypted, signed batch (R4.1.1, R4.1.3).
 *
 * Civil Affairs sends the batch as CMS: EnvelopedData to the county's
 * import certificate, holding SignedData by the data provider. Both
 * layers are opened in memory: the clear batch never touches the disk.
 *
 * When a layer does not open, the message says which part failed and
 * names what the administrator can compare (the recipients a batch was
 * made for, the issuer of the signer's certificate, the CAs given), so
 * that the fix is plain from the message alone.
 */
#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <apr_strings.h>
#include "verify_cms.h"

/* CAs named in a message, at most */
#define CA_NAMES_MAX 3

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

/* A distinguished name as one plain line: it goes into JSON and onto
 * terminals, so no control characters, quotes or backslashes. */
static char *name_text(const X509_NAME *n, apr_pool_t *p)
{
    char buf[256], *c;

    if (!n) {
        return apr_pstrdup(p, "?");
    }
    X509_NAME_oneline(n, buf, sizeof(buf));
    for (c = buf; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\'
            || (unsigned char)*c == 0x7f) {
            *c = '?';
        }
    }
    return apr_pstrdup(p, buf);
}

static char *serial_text(const ASN1_INTEGER *s, apr_pool_t *p)
{
    BIGNUM *bn = s ? ASN1_INTEGER_to_BN(s, NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL, *out;

    out = apr_pstrdup(p, hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
    return out;
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
    ERR_clear_error();
    return cms;
}

static verify_cms_kind_t kind_of_nid(int nid)
{
    switch (nid) {
    case NID_pkcs7_enveloped:
    case NID_id_smime_ct_authEnvelopedData:
        return VERIFY_CMS_ENVELOPED;
    case NID_pkcs7_signed:
        return VERIFY_CMS_SIGNED;
    default:
        return VERIFY_CMS_OTHER;
    }
}

/*
 * DER: SEQUENCE { contentType OID, [0] content }. The OID is read from
 * the first bytes, so a large batch is not parsed twice. -1: not DER
 * CMS by its first bytes.
 */
static int der_kind(const unsigned char *u, size_t len)
{
    /* 1.2.840.113549.1.7.x and 1.2.840.113549.1.9.16.1.23 */
    static const unsigned char pkcs7[] = {
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07
    };
    static const unsigned char auth_env[] = {
        0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10,
        0x01, 0x17
    };
    size_t at;

    if (len < 2 || u[0] != 0x30) {
        return -1;
    }
    if (u[1] <= 0x80) {
        at = 2;                 /* short form, or indefinite (BER) */
    }
    else if ((u[1] & 0x7f) <= 4) {
        at = 2 + (u[1] & 0x7f);
    }
    else {
        return -1;
    }
    if (len >= at + sizeof(pkcs7) + 1
        && memcmp(u + at, pkcs7, sizeof(pkcs7)) == 0) {
        switch (u[at + sizeof(pkcs7)]) {
        case 2:
            return VERIFY_CMS_SIGNED;
        case 3:
            return VERIFY_CMS_ENVELOPED;
        default:
            return VERIFY_CMS_OTHER;
        }
    }
    if (len >= at + sizeof(auth_env)
        && memcmp(u + at, auth_env, sizeof(auth_env)) == 0) {
        return VERIFY_CMS_ENVELOPED;
    }
    /* long-form lengths are binary: no CSV starts that way */
    return u[1] > 0x80 ? VERIFY_CMS_OTHER : -1;
}

/* Does the text start with a MIME header ("Name:")? */
static int mime_start(const char *in, size_t len)
{
    size_t i;

    for (i = 0; i < len && i < 64; i++) {
        if (in[i] == ':') {
            return i > 0;
        }
        if (!isalnum((unsigned char)in[i]) && in[i] != '-') {
            return 0;
        }
    }
    return 0;
}

verify_cms_kind_t verify_cms_kind(const char *in, size_t len)
{
    CMS_ContentInfo *cms;
    verify_cms_kind_t kind;
    int k = der_kind((const unsigned char *)in, len);

    if (k >= 0) {
        return (verify_cms_kind_t)k;
    }
    if (!(len > 10 && memcmp(in, "-----BEGIN", 10) == 0)
        && !mime_start(in, len)) {
        return VERIFY_CMS_PLAIN;
    }
    cms = parse_cms(in, len);
    if (!cms) {
        return VERIFY_CMS_PLAIN;
    }
    kind = kind_of_nid(OBJ_obj2nid(CMS_get0_type(cms)));
    CMS_ContentInfo_free(cms);
    return kind;
}

const char *verify_cms_kind_name(verify_cms_kind_t kind)
{
    switch (kind) {
    case VERIFY_CMS_ENVELOPED:
        return "encrypted CMS data";
    case VERIFY_CMS_SIGNED:
        return "signed CMS data, not encrypted";
    case VERIFY_CMS_OTHER:
        return "CMS data of another type";
    default:
        return "a plain file, not CMS";
    }
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

/*
 * Is @p cert one of the recipients of @p cms? 1 yes, 0 no (then *who
 * names the recipients by issuer and serial, as far as they say),
 * -1 it cannot be told (no recipient of a kind that names a
 * certificate).
 */
static int recipient_of(CMS_ContentInfo *cms, X509 *cert, char **who,
                        apr_pool_t *p)
{
    STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
    X509_NAME *issuer;
    ASN1_INTEGER *sno;
    ASN1_OCTET_STRING *keyid;
    int i, j, told = 0;

    *who = NULL;
    for (i = 0; ris && i < sk_CMS_RecipientInfo_num(ris); i++) {
        CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
        STACK_OF(CMS_RecipientEncryptedKey) *reks;
        char *one = NULL;

        issuer = NULL;
        sno = NULL;
        keyid = NULL;
        switch (CMS_RecipientInfo_type(ri)) {
        case CMS_RECIPINFO_TRANS:
            if (CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0) {
                return 1;
            }
            CMS_RecipientInfo_ktri_get0_signer_id(ri, &keyid, &issuer, &sno);
            break;
        case CMS_RECIPINFO_AGREE:
            reks = CMS_RecipientInfo_kari_get0_reks(ri);
            for (j = 0; reks && j < sk_CMS_RecipientEncryptedKey_num(reks);
                 j++) {
                CMS_RecipientEncryptedKey *rek =
                    sk_CMS_RecipientEncryptedKey_value(reks, j);
                if (CMS_RecipientEncryptedKey_cert_cmp(rek, cert) == 0) {
                    return 1;
                }
                if (!issuer) {
                    CMS_RecipientEncryptedKey_get0_id(rek, &keyid, NULL,
                                                      NULL, &issuer, &sno);
                }
            }
            break;
        default:
            continue;
        }
        told++;
        if (issuer) {
            one = apr_psprintf(p, "issuer \"%s\", serial %s",
                               name_text(issuer, p), serial_text(sno, p));
        }
        else {
            one = "a key identifier";
        }
        *who = *who ? apr_pstrcat(p, *who, "; ", one, NULL) : one;
    }
    return told ? 0 : -1;
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
    char *who = NULL;

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
    if (X509_check_private_key(cert, key) != 1) {
        *err = apr_psprintf(p, "--decrypt-key %s is not the private key of "
                            "--decrypt-cert %s: give the key that belongs "
                            "to the import certificate", key_file,
                            cert_file);
        goto cleanup;
    }
    cms = parse_cms(in, len);
    if (!cms || kind_of_nid(OBJ_obj2nid(CMS_get0_type(cms)))
                != VERIFY_CMS_ENVELOPED) {
        *err = apr_pstrdup(p, "not a CMS encrypted (enveloped) file");
        goto cleanup;
    }
    if (recipient_of(cms, cert, &who, p) == 0) {
        *err = apr_psprintf(p, "cannot decrypt: the batch is encrypted to "
                            "another certificate (%s), not to --decrypt-cert "
                            "%s (issuer \"%s\", serial %s): give the import "
                            "certificate and key it was encrypted to, or "
                            "ask the data provider to encrypt it to this "
                            "certificate", who, cert_file,
                            name_text(X509_get_issuer_name(cert), p),
                            serial_text(X509_get0_serialNumber(cert), p));
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

/* The subjects of the CAs in @p store, for a message: "A", "B" */
static char *ca_names(X509_STORE *store, apr_pool_t *p)
{
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
    char *out = NULL;
    int i, n = 0, more = 0;

    for (i = 0; objs && i < sk_X509_OBJECT_num(objs); i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        char *one;

        if (!x) {
            continue;
        }
        if (n == CA_NAMES_MAX) {
            more++;
            continue;
        }
        one = apr_psprintf(p, "\"%s\"",
                           name_text(X509_get_subject_name(x), p));
        out = out ? apr_pstrcat(p, out, ", ", one, NULL) : one;
        n++;
    }
    if (more) {
        out = apr_psprintf(p, "%s and %d more", out, more);
    }
    return out ? out : apr_pstrdup(p, "no certificate");
}

/*
 * Why CMS_verify failed, told apart: the signer's certificate does not
 * chain to a CA of @p store, is otherwise invalid, or the signature
 * does not fit the content.
 */
static char *why_not_verified(CMS_ContentInfo *cms, X509_STORE *store,
                              const char *ca_file, const char *detail,
                              apr_pool_t *p)
{
    STACK_OF(X509) *signers = NULL, *certs = NULL;
    X509_STORE_CTX *ctx = NULL;
    X509 *signer;
    char *why = NULL;
    int e;

    /* the signers' certificates from those the batch carries */
    CMS_set1_signers_certs(cms, NULL, 0);
    signers = CMS_get0_signers(cms);
    signer = signers && sk_X509_num(signers) > 0 ? sk_X509_value(signers, 0)
                                                 : NULL;
    if (!signer) {
        why = apr_psprintf(p, "signature check failed: the batch does not "
                           "carry its signer's certificate (%s)", detail);
        goto cleanup;
    }
    certs = CMS_get1_certs(cms);
    ctx = X509_STORE_CTX_new();
    if (!ctx || !X509_STORE_CTX_init(ctx, store, signer, certs)) {
        goto cleanup;
    }
    /* what CMS_verify checks: a chain fit for S/MIME signing */
    X509_STORE_CTX_set_default(ctx, "smime_sign");
    if (X509_verify_cert(ctx) == 1) {
        why = apr_psprintf(p, "signature check failed: the signature does "
                           "not match the content (the batch was changed "
                           "after it was signed, or damaged) (%s)", detail);
        goto cleanup;
    }
    e = X509_STORE_CTX_get_error(ctx);
    switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        why = apr_psprintf(p, "signature check failed: the signer's "
                           "certificate was issued by \"%s\", which is not "
                           "a CA of --signer-ca %s (%s): give the CA "
                           "certificate of the data provider that issued "
                           "it, if it is the provider's",
                           name_text(X509_get_issuer_name(signer), p),
                           ca_file, ca_names(store, p));
        break;
    default:
        why = apr_psprintf(p, "signature check failed: the signer's "
                           "certificate \"%s\" is not valid for signing "
                           "batches: %s",
                           name_text(X509_get_subject_name(signer), p),
                           X509_verify_cert_error_string(e));
        break;
    }

cleanup:
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_free(signers);
    ERR_clear_error();
    return why ? why : apr_psprintf(p, "signature check failed: %s",
                                    detail);
}

/* The signingTime attribute of the first signer; 0 without one. */
static apr_time_t signing_time(CMS_ContentInfo *cms)
{
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
    CMS_SignerInfo *si;
    X509_ATTRIBUTE *a;
    ASN1_TYPE *t;
    struct tm tm;
    int idx;

    si = sis && sk_CMS_SignerInfo_num(sis) > 0
         ? sk_CMS_SignerInfo_value(sis, 0) : NULL;
    idx = si ? CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1)
             : -1;
    a = idx >= 0 ? CMS_signed_get_attr(si, idx) : NULL;
    t = a ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
    if (!t || (t->type != V_ASN1_UTCTIME
               && t->type != V_ASN1_GENERALIZEDTIME)) {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(t->value.asn1_string, &tm) != 1) {
        return 0;
    }
    return apr_time_from_sec(timegm(&tm));
}

apr_status_t verify_cms_verify(const char *in, size_t len,
                               const char *ca_file, char **out,
                               size_t *outlen, verify_cms_signer_t *who,
                               char **err, apr_pool_t *p)
{
    CMS_ContentInfo *cms = NULL;
    X509_STORE *store = NULL;
    STACK_OF(X509) *signers = NULL;
    BIO *content = NULL;
    apr_status_t rv = APR_EINVAL;

    memset(who, 0, sizeof(*who));
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
        const char *detail = ossl_reason(p);
        *err = why_not_verified(cms, store, ca_file, detail, p);
        goto cleanup;
    }
    signers = CMS_get0_signers(cms);
    if (signers && sk_X509_num(signers) > 0) {
        who->subject = name_text(
            X509_get_subject_name(sk_X509_value(signers, 0)), p);
    }
    else {
        who->subject = apr_pstrdup(p, "?");
    }
    who->signed_at = signing_time(cms);
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
