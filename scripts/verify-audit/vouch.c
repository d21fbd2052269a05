/*
 * vouch.c -- the checkpoint signatures `verify` checks: the newest
 * checkpoint's, whose signed root holds the lines of the earlier ones,
 * and those no later checkpoint covers (vouch.h says why that is
 * enough). A month has a checkpoint for every ~60 lines, and their
 * Ed25519 checks were a third of verify's CPU.
 */
#include <string.h>
#include "vouch.h"

void vouch_init(vouch_t *w, const audit_args_t *a)
{
    memset(w, 0, sizeof(*w));
    w->a = a;
}

void vouch_free(vouch_t *w)
{
    line_copy_free(&w->last);
}

/* The signature of one checkpoint line, checked as --every-signature
 * checks it (cpline_check with the keys): 1 if it verifies. */
static int signature_checks(vouch_t *w, const char *line, size_t len,
                            uint64_t seq, apr_pool_t *scratch)
{
    verify_checkpoint_t cp;
    json_t *j = json_loadb(line, len, VERIFY_SCAN_JSON_FLAGS, NULL);
    const char *why;
    int by = 0;

    w->checked++;
    why = j ? cpline_check(w->a, j, seq, &cp, &by, scratch)
            : "not JSON when read again";
    json_decref(j);
    return why == NULL;
}

static void check_now(vouch_t *w, const char *line, size_t len,
                      uint64_t seq, apr_pool_t *scratch)
{
    if (!w->failed && !signature_checks(w, line, len, seq, scratch)) {
        w->failed = 1;
    }
}

void vouch_add(vouch_t *w, const char *line, size_t len, uint64_t seq,
               uint64_t size, int rooted, apr_pool_t *scratch)
{
    if (w->failed) {
        return;                 /* the log is read again anyway */
    }
    if (!rooted) {
        /* nothing later is known to cover it */
        check_now(w, line, len, seq, scratch);
        return;
    }
    if (w->last.len && w->last_seq > size) {
        /* the newer one's root does not reach the older one's line */
        check_now(w, w->last.buf, w->last.len, w->last_seq, scratch);
    }
    if (line_copy_set(&w->last, line, len) != 0) {
        check_now(w, line, len, seq, scratch);
        return;
    }
    w->last_seq = seq;
    w->last_size = size;
}

void vouch_refused(vouch_t *w, const char *line, size_t len, uint64_t seq,
                   apr_pool_t *scratch)
{
    check_now(w, line, len, seq, scratch);
}

int vouch_end(vouch_t *w, apr_pool_t *scratch)
{
    if (w->last.len) {
        check_now(w, w->last.buf, w->last.len, w->last_seq, scratch);
    }
    return w->failed;
}
