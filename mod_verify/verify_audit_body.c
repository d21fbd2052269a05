/*
 * verify_audit_body.c -- the bodies of the chain's service lines (the
 * administrative events are verify_event.c's).
 */
#include <string.h>
#include "verify_audit_body.h"
#include "verify_text.h"

/* A string member: `,"key":"value"`, escaped. */
static void str_member(verify_jbuf_t *b, const char *key, const char *s,
                       size_t max_out)
{
    VERIFY_JRAW(b, ",");
    verify_jbuf_key(b, key);
    verify_jbuf_str(b, s, strlen(s), max_out);
}

void verify_audit_body_recover(verify_jbuf_t *b, pid_t pid,
                               const char *detail)
{
    VERIFY_JRAW(b, ",\"op\":\"audit_recover\",\"pid\":");
    verify_jbuf_u64(b, (uint64_t)pid);
    str_member(b, "detail", detail, 200);
}

void verify_audit_body_withdrawn(verify_jbuf_t *b, const char *request_id,
                                 uint64_t seq)
{
    VERIFY_JRAW(b, ",\"op\":\"withdrawn\"");
    str_member(b, "request_id", request_id ? request_id : "", 64);
    VERIFY_JRAW(b, ",\"withdrawn_seq\":");
    verify_jbuf_u64(b, seq);
    VERIFY_JRAW(b, ",\"status\":503,\"detail\":\"the line could not be "
                "synced; its answer was not sent\"");
}

void verify_audit_body_clock(verify_jbuf_t *b, const char *observed,
                             const char *last)
{
    VERIFY_JRAW(b, ",\"op\":\"clock\"");
    str_member(b, "observed", observed, 64);
    str_member(b, "last", last, 64);
}

void verify_audit_body_unconfirmed(verify_jbuf_t *b, pid_t pid,
                                   const uint64_t *seqs, size_t n)
{
    size_t i;

    VERIFY_JRAW(b, ",\"op\":\"unconfirmed\",\"pid\":");
    verify_jbuf_u64(b, (uint64_t)pid);
    VERIFY_JRAW(b, ",\"seqs\":[");
    for (i = 0; i < n; i++) {
        if (i) {
            VERIFY_JRAW(b, ",");
        }
        verify_jbuf_u64(b, seqs[i]);
    }
    VERIFY_JRAW(b, "],\"detail\":\"the process ended before these "
                "lines' answers had left it; they may not have reached "
                "the client\"");
}
