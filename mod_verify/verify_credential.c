/*
 * verify_credential.c -- how long a client's credential may serve: the
 * certificate read once per connection, its limits, the warning text.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "verify_credential.h"

static apr_time_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        return 0;
    }
    return apr_time_from_sec(timegm(&tm));
}

/* SHA-256 of the DER encoding i2d makes of @p obj. */
static int der_sha256(unsigned char out[32], int len, unsigned char *der)
{
    unsigned int n = 0;
    int ok = len > 0
             && EVP_Digest(der, (size_t)len, out, &n, EVP_sha256(), NULL)
             && n == 32;

    OPENSSL_free(der);
    return ok ? 0 : -1;
}

int verify_cert_read_pem(verify_cert_t *out, const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int len, rc = -1;

    BIO_free(bio);
    if (!x) {
        return -1;
    }
    memset(out, 0, sizeof(*out));
    out->not_before = asn1_time(X509_get0_notBefore(x));
    out->not_after = asn1_time(X509_get0_notAfter(x));
    len = i2d_X509(x, &der);
    if (der_sha256(out->fpr, len, der) != 0) {
        goto cleanup;
    }
    /* the key as `openssl pkey -pubin -outform DER` writes it: the
     * certificate's SubjectPublicKeyInfo, byte for byte */
    der = NULL;
    len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    if (der_sha256(out->spki, len, der) != 0) {
        goto cleanup;
    }
    rc = 0;

cleanup:
    X509_free(x);
    return rc;
}

static const char *const limit_names[VERIFY_LIMIT_COUNT] = {
    "credential-age", "certificate-expiry", "approval-end"
};

const char *verify_limit_name(verify_limit_t k)
{
    return limit_names[k];
}

apr_time_t verify_date_taipei_start(verify_date_t d)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = (int)(d / 10000) - 1900;
    tm.tm_mon = (int)(d / 100 % 100) - 1;
    tm.tm_mday = (int)(d % 100);
    return apr_time_from_sec(timegm(&tm) - 8 * 3600);
}

void verify_limits_set(verify_limits_t *l, const verify_cert_t *cert,
                       apr_interval_time_t max_age, verify_date_t valid_to)
{
    memset(l, 0, sizeof(*l));
    if (cert) {
        /* an unreadable notBefore counts as the epoch: long past */
        l->at[VERIFY_LIMIT_AGE] = cert->not_before + max_age;
        l->at[VERIFY_LIMIT_EXPIRY] = cert->not_after;
    }
    if (valid_to) {
        /* the last day is whole: refused from the next midnight
         * (timegm normalises the 32nd of a month) */
        l->at[VERIFY_LIMIT_APPROVAL] = verify_date_taipei_start(valid_to)
                                       + apr_time_from_sec(86400);
    }
}

unsigned verify_limits_near(const verify_limits_t *l, apr_time_t now,
                            apr_interval_time_t warn)
{
    unsigned bits = 0;
    int k;

    for (k = 0; warn > 0 && k < VERIFY_LIMIT_COUNT; k++) {
        if (l->at[k] && now < l->at[k] && l->at[k] - now <= warn) {
            bits |= 1u << k;
        }
    }
    return bits;
}

const char *verify_limits_format(const verify_limits_t *l, unsigned bits,
                                 apr_pool_t *p)
{
    char ts[26];
    const char *s = NULL;
    int k;

    for (k = 0; k < VERIFY_LIMIT_COUNT; k++) {
        if (bits & (1u << k)) {
            verify_time_format_s(l->at[k], ts);
            s = apr_pstrcat(p, s ? s : "", s ? ", " : "", limit_names[k],
                            " ", ts, NULL);
        }
    }
    return s;
}

static const struct {
    const char *unit;
    apr_int64_t sec;
} units[] = {
    { "d", 86400 }, { "h", 3600 }, { "min", 60 }, { "s", 1 }
};
#define UNIT_COUNT (sizeof(units) / sizeof(units[0]))

const char *verify_duration_parse(const char *s, apr_interval_time_t *out)
{
    const char *u = s;
    apr_int64_t n = 0;
    size_t i;

    for (; *u >= '0' && *u <= '9'; u++) {
        if (n < 1000000000000LL) {      /* past any range: stays out */
            n = n * 10 + (*u - '0');
        }
    }
    for (i = 0; u > s && i < UNIT_COUNT; i++) {
        if (!strcmp(u, units[i].unit)) {
            break;
        }
    }
    if (u == s || i == UNIT_COUNT) {
        return "a duration is a whole number and a unit: d (days), h, min "
               "or s, as in 90d";
    }
    if (n < 1 || n > 3650 * 86400LL / units[i].sec) {
        return "a duration must be from 1s to 3650d";
    }
    *out = apr_time_from_sec(n * units[i].sec);
    return NULL;
}

const char *verify_duration_format(apr_interval_time_t d, apr_pool_t *p)
{
    apr_int64_t sec = apr_time_sec(d);
    size_t i;

    for (i = 0; i < UNIT_COUNT - 1 && (sec == 0 || sec % units[i].sec);
         i++) {
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT "%s", sec / units[i].sec,
                        units[i].unit);
}
