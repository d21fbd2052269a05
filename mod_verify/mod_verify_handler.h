/*
 * mod_verify_handler.h -- the /verify handler (mod_verify_handler.c).
 */
#ifndef MOD_VERIFY_HANDLER_H
#define MOD_VERIFY_HANDLER_H

#include "httpd.h"
#include "verify.h"

/** The handler name of SetHandler. */
#define VERIFY_HANDLER "verify"

/** Is the client approved for every check asked (and identity, when
 * want_match)? Refuses check_not_permitted, naming what is not. */
struct verify_req_t;
void verify_handler_permission(struct verify_req_t *q);

/** Count a possible identity mismatch of the request's person before
 * the lookup (VerifyIdentityMismatchLimit); refuses rate_limited past
 * the limit. */
void verify_handler_identity_gate(struct verify_req_t *q,
                                  verify_date_t today);

/** handler hook: answers SetHandler verify. */
int verify_handler(request_rec *r);

#endif /* MOD_VERIFY_HANDLER_H */
