/*
 * verify_audit_body.c -- the bodies of the chain's service lines.
 *
 * Written in one place so that what verify-import prints about a batch
 * and what the chain records about it are the same bytes.
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

void verify_audit_body_import(verify_jbuf_t *b, verify_source_t src,
                              const verify_batch_t *batch)
{
    char sha[2 * sizeof(batch->sha256) + 1], until[11];

    verify_hex(batch->sha256, sizeof(batch->sha256), sha);
    VERIFY_JRAW(b, ",\"op\":\"import\"");
    str_member(b, "source", verify_source_name(src), 32);
    str_member(b, "batch_id", batch->batch_id, 6 * sizeof(batch->batch_id));
    VERIFY_JRAW(b, ",\"records\":");
    verify_jbuf_u64(b, batch->records);
    str_member(b, "sha256", sha, sizeof(sha));
    str_member(b, "imported_at", batch->as_of, 6 * sizeof(batch->as_of));
    VERIFY_JRAW(b, ",\"approved_until\":");
    if (batch->approved_until) {
        verify_date_format(batch->approved_until, until);
        verify_jbuf_str(b, until, strlen(until), sizeof(until));
    }
    else {
        VERIFY_JRAW(b, "null");
    }
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
