/*
 * cpline.c -- a checkpoint line of the log, checked by itself:
 *
 *   {"seq":S,…,"op":"checkpoint","origin":"…","size":N,"root":"…",
 *    "reason":"…","note":"<the signed note>",…}
 *
 * The note must open with the --verifier keys, and what the line says
 * beside it (origin, size, root) must be what the note says, so that a
 * reader of the line alone is not misled. A checkpoint covers lines
 * 1..N and is written after them: N below S. Whether the log's root at
 * N is the note's root, and whether sizes ever go back, the caller
 * checks along the log.
 */
#include <string.h>
#include <apr_strings.h>
#include "tool.h"

int is_checkpoint(json_t *j)
{
    const char *op = jstr(j, "op");

    return op && !strcmp(op, "checkpoint");
}

const char *cpline_check(const audit_args_t *a, json_t *j, uint64_t seq,
                         verify_checkpoint_t *cp, int *by, apr_pool_t *p)
{
    json_t *note = json_object_get(j, "note");
    json_t *size = json_object_get(j, "size");
    const char *origin = jstr(j, "origin"), *root = jstr(j, "root");
    const char *why;
    char b64[45];

    if (!json_is_string(note)) {
        return "the line has no note (a string holding the signed note)";
    }
    why = keys_open(a, json_string_value(note), json_string_length(note),
                    cp, by, p);
    if (why) {
        return apr_pstrcat(p, "the note does not verify: ", why, NULL);
    }
    if (!origin || strcmp(origin, cp->origin)) {
        return apr_psprintf(p, "the line's origin %s is not the note's \"%s\"",
                            origin ? apr_psprintf(p, "\"%s\"", origin)
                                   : "(none)", cp->origin);
    }
    if (!json_is_integer(size) || json_integer_value(size) < 0
        || (uint64_t)json_integer_value(size) != cp->size) {
        return apr_psprintf(p, "the line's size is not the note's size %"
                            APR_UINT64_T_FMT, cp->size);
    }
    if (!root || strcmp(root, tree_b64(cp->root, b64))) {
        return apr_psprintf(p, "the line's root %s is not the note's %s",
                            root ? root : "(none)", b64);
    }
    if (cp->size >= seq) {
        return apr_psprintf(p, "it names size %" APR_UINT64_T_FMT ", not "
                            "below its own seq %" APR_UINT64_T_FMT " (a "
                            "checkpoint covers only lines written before "
                            "it)", cp->size, seq);
    }
    return NULL;
}
