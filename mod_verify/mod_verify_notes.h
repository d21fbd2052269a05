/*
 * mod_verify_notes.h -- what an access log may say of a /verify request
 * (mod_verify_notes.c): request notes for mod_log_config and the
 * Verify-Request-Id header.
 */
#ifndef MOD_VERIFY_NOTES_H
#define MOD_VERIFY_NOTES_H

#include "mod_verify_request.h"

/** Set the notes verify-request-id, verify-client, verify-operator,
 * verify-case and verify-error of @p q's request, and its
 * Verify-Request-Id response header. Never the ID, a name or a birth
 * date; an ID number in the operator or case is masked. */
void verify_notes_set(verify_req_t *q);

#endif /* MOD_VERIFY_NOTES_H */
