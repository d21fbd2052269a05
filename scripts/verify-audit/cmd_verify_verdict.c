/*
 * cmd_verify_verdict.c -- what `verify` says at the end: the checkpoints
 * checked, the unsigned tail, and what a FAILED verdict names.
 */
#include <stdio.h>
#include <apr_strings.h>
#include "print.h"
#include "verify_ctx.h"

/* "NAME+KEYID (N)" of each key that signed a sound checkpoint line. */
static const char *signers(const vctx_t *v)
{
    const char *out = NULL;
    int i;

    for (i = 0; i < v->a->nkeys; i++) {
        if (v->by_key[i]) {
            out = apr_psprintf(v->p, "%s%s%s (%" APR_UINT64_T_FMT ")",
                               out ? out : "", out ? ", " : "",
                               safe_str(v->p, key_label(&v->a->keys[i],
                                                        v->p)),
                               v->by_key[i]);
        }
    }
    return out ? out : "none";
}

/* The "checkpoints:" and "witnessed:" lines. */
void verdict_checked(const vctx_t *v, const apr_array_header_t *held,
                          uint64_t agree)
{
    if (!v->a->nkeys) {
        printf("checkpoints: NOT checked (no --verifier given): %"
               APR_UINT64_T_FMT " checkpoint line(s) in the log; give the "
               "log's verifier key to check them\n", v->lines_cp);
        return;
    }
    if (v->lines_cp == 0) {
        printf("checkpoints: none in the log\n");
    }
    else if (v->cp_ok) {
        printf("checkpoints: %" APR_UINT64_T_FMT " of %" APR_UINT64_T_FMT
               " line(s) sound: signature, origin, sizes (%" APR_UINT64_T_FMT
               "..%" APR_UINT64_T_FMT ", never going back)%s%s; signed by "
               "%s\n", v->cp_ok, v->lines_cp, v->first_size, v->last_size,
               v->tree ? " and roots equal to the log's"
                       : "; roots NOT checked (the log does not start at "
                         "seq 1, and no purge checkpoint kept the tree's "
                         "edge where it starts)",
               v->unrooted ? apr_psprintf(v->p, " (%" APR_UINT64_T_FMT " of "
                                          "sizes before the purge: roots "
                                          "not checkable)", v->unrooted)
                           : "", signers(v));
        if (v->vouch && v->vouch->checked < v->cp_ok) {
            printf("signatures:  %" APR_UINT64_T_FMT " checked (the newest "
                   "checkpoint's, and any no newer root covers); the "
                   "other %" APR_UINT64_T_FMT " checkpoint line(s) are in "
                   "the tree a checked signature signs, byte for byte "
                   "(--every-signature checks each)\n", v->vouch->checked,
                   v->cp_ok - v->vouch->checked);
        }
    }
    else {
        printf("checkpoints: none of the %" APR_UINT64_T_FMT " line(s) is "
               "sound\n", v->lines_cp);
    }
    if (held->nelts) {
        printf("witnessed:   %" APR_UINT64_T_FMT " of %d checkpoint(s) "
               "agree with the log%s\n", agree, held->nelts,
               v->tree ? "" : " (roots NOT checked: as above)");
    }
}

/* The lines no signed checkpoint covers: a warning, and the clause of
 * the verdict. */
const char *verdict_tail(const vctx_t *v, const verify_scan_t *s)
{
    uint64_t from = v->signed_through + 1, head = s->chain.seq;

    if (from < s->first_seq) {
        from = s->first_seq;
    }
    if (from > head) {
        return apr_psprintf(v->p, "every line signed");
    }
    if (v->signed_through == 0) {
        printf("WARNING: unsigned log: no line is covered by a signed "
               "checkpoint (seq %" APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT
               ", %" APR_UINT64_T_FMT " lines)\n", from, head,
               head - from + 1);
        return apr_psprintf(v->p, "but NO line is covered by a signed "
                            "checkpoint");
    }
    printf("WARNING: unsigned tail: seq %" APR_UINT64_T_FMT "..%"
           APR_UINT64_T_FMT " (%" APR_UINT64_T_FMT " line(s), the last at %s)"
           " come after the newest signed checkpoint (size %" APR_UINT64_T_FMT
           "%s): no signature covers them yet, so whoever can write the "
           "audit directory could still rewrite them\n", from, head,
           head - from + 1, safe_str(v->p, ts_readable(v->line_ts, v->p)),
           v->signed_through,
           v->last_seq ? apr_psprintf(v->p, "; the newest checkpoint line is "
                                      "seq %" APR_UINT64_T_FMT ", at %s",
                                      v->last_seq,
                                      safe_str(v->p, ts_readable(v->last_ts,
                                                                 v->p)))
                       : "");
    return apr_psprintf(v->p, "signed through seq %" APR_UINT64_T_FMT ", seq %"
                        APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT " (%"
                        APR_UINT64_T_FMT " line(s)) NOT yet signed",
                        v->signed_through, from, head, head - from + 1);
}

/* What the verdict FAILED says after "chain intact, but". */
const char *verdict_failures(const vctx_t *v, uint64_t held_bad,
                            uint64_t refused, uint64_t missing)
{
    const char *out = "";

    if (missing) {
        out = "its start is missing";
    }
    if (v->cp_bad) {
        out = apr_psprintf(v->p, "%s%s%" APR_UINT64_T_FMT " bad checkpoint "
                           "line(s)", out, *out ? ", " : "", v->cp_bad);
    }
    if (held_bad) {
        out = apr_psprintf(v->p, "%s%s%" APR_UINT64_T_FMT " witnessed "
                           "checkpoint(s) contradict it or lie beyond its "
                           "end", out, *out ? ", " : "", held_bad);
    }
    if (refused) {
        out = apr_psprintf(v->p, "%s%s%" APR_UINT64_T_FMT " witnessed "
                           "note(s) do not verify", out, *out ? ", " : "",
                           refused);
    }
    if (v->signed_through == 0) {
        out = apr_psprintf(v->p, "%s%sno line is covered by a signed "
                           "checkpoint", out, *out ? ", and " : "");
    }
    if (v->first_fault) {
        out = apr_psprintf(v->p, "%s; the first: %s", out, v->first_fault);
    }
    return out;
}
