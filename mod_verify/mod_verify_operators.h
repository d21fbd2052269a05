/*
 * mod_verify_operators.h -- VerifyOperators CLIENT FILE: a client's
 * operator register (R4.3), read at configuration time, and the check
 * of each request's `operator` against it (mod_verify_operators.c; the
 * file format is the library's, verify_operators.c).
 */
#ifndef MOD_VERIFY_OPERATORS_H
#define MOD_VERIFY_OPERATORS_H

#include "httpd.h"
#include "http_config.h"
#include "mod_verify_request.h"

/** The directive's setter, for the module's command table. */
const char *verify_operators_set(cmd_parms *cmd, void *dc,
                                 const char *client, const char *file);

/**
 * After the client is known: when it has an operator register, refuse
 * (403 unknown_operator) an `operator` that is not registered or whose
 * period does not cover @p today (Taipei). Does nothing once the
 * request is refused, for a client without a register, or without an
 * operator (validation says that).
 */
void verify_operators_gate(verify_req_t *q, verify_date_t today);

#endif /* MOD_VERIFY_OPERATORS_H */
