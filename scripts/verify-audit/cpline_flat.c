/*
 * cpline_flat.c -- a checkpoint line found sound from its flat index
 * (verify_flat.h), as cpline_check() would find it from the parsed
 * line, but without building jansson's tree of the line: `verify` asks
 * it of every checkpoint line, in its worker threads. Only the answer
 * "sound" is given; for anything else the caller asks cpline_check(),
 * which says what is wrong.
 */
#include <string.h>
#include <apr_strings.h>
#include "tool.h"

/* The string member @p key, unescaped (NUL bytes kept) into a buffer
 * from @p p; *len its bytes. NULL when absent or not a string. */
static const char *flat_text(const verify_flat_t *f, const char *key,
                             size_t *len, apr_pool_t *p)
{
    const verify_flat_member_t *m = verify_flat_get(f, key);
    char *out;

    if (!m || m->type != VERIFY_FLAT_STRING) {
        return NULL;
    }
    out = apr_palloc(p, m->val.len + 1);
    /* unescaped text is never longer than the escaped */
    *len = verify_flat_unescape(m->val.s, m->val.len, out, m->val.len);
    out[*len] = '\0';
    return out;
}

int cpline_sound_flat(const audit_args_t *a, const verify_flat_t *f,
                      uint64_t seq, verify_checkpoint_t *cp, int *by,
                      apr_pool_t *p)
{
    const verify_flat_member_t *size = verify_flat_get(f, "size");
    const char *note, *origin, *root;
    size_t nlen, olen, rlen;
    char b64[45];

    note = flat_text(f, "note", &nlen, p);
    if (!note || keys_open(a, note, nlen, cp, by, p) != NULL) {
        return 0;
    }
    /* as C strings, the way cpline_check compares them */
    origin = flat_text(f, "origin", &olen, p);
    root = flat_text(f, "root", &rlen, p);
    return origin && !strcmp(origin, cp->origin)
           && size && size->type == VERIFY_FLAT_INT && size->i >= 0
           && (uint64_t)size->i == cp->size
           && root && !strcmp(root, tree_b64(cp->root, b64))
           && cp->size < seq;
}
