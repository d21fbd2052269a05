/*
 * mod_verify_notes.c -- what an access log may say of a /verify request,
 * so that its access-log line, its error-log lines and its audit line
 * can be joined by the request id: `%{verify-request-id}n`,
 * `%{verify-client}n`, `%{verify-operator}n`, `%{verify-case}n` and
 * `%{verify-error}n` in a LogFormat, and the Verify-Request-Id header of
 * every answer. The operator and the case are the client's free text:
 * an ID number in them is masked, as in the audit line (validation
 * masks it for both; mod_log_config
 * escapes what is left); the ID, the name and the birth date never
 * appear.
 */
#include <string.h>

#include "httpd.h"
#include <apr_strings.h>
#include <apr_tables.h>

#include "verify.h"
#include "mod_verify_notes.h"

/* Longest free text noted, in bytes: twice the 64 characters allowed,
 * at four bytes each; a longer field is refused anyway. */
#define NOTE_MAX 256

/* The field as the audit line has it: validation masked an ID number in
 * the operator and the case already (refuse_id_in_text, for every
 * request, whatever else was refused). */
static void note_text(verify_req_t *q, const char *note, int field)
{
    const verify_field_t *f = &q->f[field];

    if (!f->present || !f->len) {
        return;
    }
    apr_table_setn(q->r->notes, note,
                   apr_pstrndup(q->r->pool, f->v,
                                f->len > NOTE_MAX ? NOTE_MAX : f->len));
}

void verify_notes_set(verify_req_t *q)
{
    request_rec *r = q->r;

    apr_table_setn(r->notes, "verify-request-id", q->request_id);
    apr_table_setn(r->headers_out, "Verify-Request-Id", q->request_id);
    if (q->client) {
        apr_table_setn(r->notes, "verify-client", q->client->name);
    }
    note_text(q, "verify-operator", VERIFY_F_OPERATOR);
    note_text(q, "verify-case", VERIFY_F_CASE);
    if (!q->answered && q->error) {
        apr_table_setn(r->notes, "verify-error", q->error);
    }
}
