/*
 * verify_credential.h -- how long a client's credential may serve
 * (verify_credential.c): the client certificate read once, the limits it
 * meets (its age, its notAfter, the client's approval), the text of the
 * Verify-Warning header, and the durations the directives take.
 */
#ifndef VERIFY_CREDENTIAL_H
#define VERIFY_CREDENTIAL_H

#include <apr_pools.h>
#include <apr_time.h>
#include "verify_time.h"

/** A client certificate, as far as the register and its limits need it. */
typedef struct verify_cert_t {
    unsigned char fpr[32];      /**< SHA-256 of the DER certificate */
    unsigned char spki[32];     /**< SHA-256 of its DER
                                     SubjectPublicKeyInfo: the key */
    apr_time_t not_before;      /**< 0 when unreadable */
    apr_time_t not_after;       /**< 0 when unreadable */
} verify_cert_t;

/**
 * Read one PEM certificate (as mod_ssl's SSL_CLIENT_CERT gives it).
 * @return 0, or -1 when it is no certificate.
 */
int verify_cert_read_pem(verify_cert_t *out, const char *pem);

/** The limits a credential meets, in the order the header lists them. */
typedef enum {
    VERIFY_LIMIT_AGE = 0,       /**< notBefore + VerifyMaxCredentialAge */
    VERIFY_LIMIT_EXPIRY,        /**< the certificate's notAfter */
    VERIFY_LIMIT_APPROVAL,      /**< the end of the client's valid= */
    VERIFY_LIMIT_COUNT
} verify_limit_t;

/** The token of limit @p k in Verify-Warning: "credential-age",
 * "certificate-expiry", "approval-end". */
const char *verify_limit_name(verify_limit_t k);

/** When each limit falls due: from then on the client is refused. */
typedef struct verify_limits_t {
    apr_time_t at[VERIFY_LIMIT_COUNT];  /**< 0: no such limit */
} verify_limits_t;

/**
 * The limits of a client whose approval ends with Taipei day
 * @p valid_to (it is refused from the next midnight) and, when it sent
 * one, of its certificate @p cert (NULL: none) under @p max_age.
 */
void verify_limits_set(verify_limits_t *l, const verify_cert_t *cert,
                       apr_interval_time_t max_age, verify_date_t valid_to);

/**
 * The limits that fall due within @p warn after @p now but not yet: a
 * bit (1u << verify_limit_t) each; 0 when @p warn is 0.
 */
unsigned verify_limits_near(const verify_limits_t *l, apr_time_t now,
                            apr_interval_time_t warn);

/**
 * The Verify-Warning value of the limits in @p bits, in the order of
 * verify_limit_t: "credential-age 2026-12-20T00:00:00+08:00" and so on,
 * joined by ", " (ASCII only). NULL when @p bits is 0.
 */
const char *verify_limits_format(const verify_limits_t *l, unsigned bits,
                                 apr_pool_t *p);

/** The start of Taipei day @p d (00:00:00+08:00). */
apr_time_t verify_date_taipei_start(verify_date_t d);

/** Longest duration a directive takes: ten years. */
#define VERIFY_DURATION_MAX (apr_time_from_sec(3650 * 86400LL))

/**
 * Parse a duration: a whole number and a unit, `d` (days), `h`, `min`
 * or `s`, from 1 s to VERIFY_DURATION_MAX ("90d", "36h"). A number
 * without a unit is refused: 90 what?
 * @return NULL and *out, or the fault.
 */
const char *verify_duration_parse(const char *s, apr_interval_time_t *out);

/** "90d", "36h", "5min" or "45s": the largest unit that divides @p d. */
const char *verify_duration_format(apr_interval_time_t d, apr_pool_t *p);

#endif /* VERIFY_CREDENTIAL_H */
