/*
 * mod_verify_credential.h -- how long a client's credential may serve
 * (mod_verify_credential.c): VerifyMaxCredentialAge, the Verify-Warning
 * header and the day's notice in the error log.
 */
#ifndef MOD_VERIFY_CREDENTIAL_H
#define MOD_VERIFY_CREDENTIAL_H

#include "httpd.h"
#include "verify.h"

/** post_config: the shared record of each client's last notice. */
apr_status_t verify_credential_post_config(server_rec *s, apr_pool_t *pconf);

/** The limits of @p cl at this request, with @p cert (NULL: none). */
void verify_credential_limits(request_rec *r, const verify_client_t *cl,
                              const verify_cert_t *cert,
                              verify_limits_t *l);

/** Is the certificate of @p l past VerifyMaxCredentialAge? Then the
 * message to answer (in r->pool); else NULL. */
const char *verify_credential_too_old(request_rec *r,
                                      const verify_limits_t *l);

/**
 * The Verify-Warning value of @p cl at this request (limits within
 * VerifyCredentialWarn), or NULL. The first of a Taipei day for @p cl,
 * across all children, is also said in the error log (notice).
 */
const char *verify_credential_warning(request_rec *r,
                                      const verify_client_t *cl,
                                      const verify_limits_t *l);

#endif /* MOD_VERIFY_CREDENTIAL_H */
