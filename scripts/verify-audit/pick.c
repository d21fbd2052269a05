/*
 * pick.c -- the signed checkpoint a proof is made against, picked while
 * the log is read: among its checkpoint lines that are sound by
 * themselves (cpline.c) and the notes of --witnessed, the first of a
 * given size (prove --size), the newest (prove), or the first to cover a
 * line (check-receipt). Whether the log's root at that size is the
 * signed one the command checks with the proof.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "tool.h"

typedef struct pick_ctx_t {
    const audit_args_t *a;
    audit_walk_t *w;
    audit_pick_t *pk;
    apr_pool_t *p;
    apr_pool_t *scratch;        /* cleared after each checkpoint line */
} pick_ctx_t;

/* Does a checkpoint of @p size win over what was picked so far? */
static int better(const audit_pick_t *pk, uint64_t size)
{
    switch (pk->rule) {
    case PICK_SIZE:
        return !pk->found && size == pk->n;
    case PICK_NEWEST:
        return !pk->found || size > pk->size;
    default:
        return size >= pk->n && (!pk->found || size < pk->size);
    }
}

static void take(audit_pick_t *pk, const verify_checkpoint_t *cp,
                 const char *note, size_t len, const char *where,
                 const char *key, apr_pool_t *p)
{
    pk->found = 1;
    pk->size = cp->size;
    memcpy(pk->root, cp->root, sizeof(pk->root));
    memcpy(pk->note, note, len);
    pk->note_len = len;
    pk->where = apr_pstrdup(p, where);
    pk->key = apr_pstrdup(p, key);
}

static void pick_line(pick_ctx_t *c, verify_scan_t *s, json_t *j, int file)
{
    audit_pick_t *pk = c->pk;
    verify_checkpoint_t cp;
    json_t *note = json_object_get(j, "note");
    const char *why, *where;
    int by;

    where = apr_psprintf(c->scratch, "%s:%" APR_UINT64_T_FMT ", the "
                         "checkpoint line of seq %" APR_UINT64_T_FMT,
                         safe_str(c->scratch, s->files[file].path),
                         s->files[file].lines, s->chain.seq);
    why = cpline_check(c->a, j, s->chain.seq, &cp, &by, c->scratch);
    if (why) {
        pk->refused++;
        if (!pk->bad && !(pk->rule == PICK_COVER && pk->found)) {
            pk->bad = apr_psprintf(c->p, "%s: %s", where,
                                   safe_str(c->scratch, why));
        }
        return;
    }
    if (cp.size > pk->newest) {
        pk->newest = cp.size;
    }
    if (better(pk, cp.size)) {
        take(pk, &cp, json_string_value(note), json_string_length(note),
             where, safe_str(c->scratch, key_label(&c->a->keys[by],
                                                   c->scratch)), c->p);
    }
}

static int pick_walk_line(verify_scan_t *s, const char *line, size_t len,
                          json_t *j, int bad, int file, apr_off_t off)
{
    pick_ctx_t *c = s->ctx;

    if (walk_leaf(c->w, line, len) != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot hash (OpenSSL)\n");
        return -1;
    }
    if (is_checkpoint(j)) {
        pick_line(c, s, j, file);
        apr_pool_clear(c->scratch);
    }
    return 0;
}

int pick_scan(const audit_args_t *a, const char *cmd, audit_walk_t *w,
              audit_pick_t *pk, verify_scan_t *s, apr_pool_t *p)
{
    apr_array_header_t *held;
    verify_checkpoint_t cp;
    const audit_held_t *h;
    pick_ctx_t c;
    int i, by, rc;

    rc = held_read(a, 1, &held, p);
    if (rc != 0) {
        if (rc > 0) {
            fprintf(stderr, PROG ": %s refused: a --witnessed checkpoint "
                    "does not verify (see above)\n", cmd);
        }
        return 1;
    }
    memset(&c, 0, sizeof(c));
    c.a = a;
    c.w = w;
    c.pk = pk;
    c.p = p;
    apr_pool_create(&c.scratch, p);
    pk->note = apr_palloc(p, VERIFY_NOTE_MAX + 1);
    scan_init(s, a, pick_walk_line, &c, p);
    rc = tree_scan(s, cmd);
    apr_pool_destroy(c.scratch);
    if (rc != 0) {
        return 1;
    }
    for (i = 0; i < held->nelts; i++) {
        h = &APR_ARRAY_IDX(held, i, audit_held_t);
        if (h->size > s->chain.seq) {
            continue;           /* beyond the log: verify says so */
        }
        if (h->size > pk->newest) {
            pk->newest = h->size;
        }
        if (better(pk, h->size)) {
            /* it opened when it was read */
            keys_open(a, h->note, strlen(h->note), &cp, &by, p);
            take(pk, &cp, h->note, strlen(h->note),
                 apr_pstrcat(p, held_where(h, p), " (--witnessed)", NULL),
                 safe_str(p, key_label(&a->keys[by], p)), p);
        }
    }
    return 0;
}

void pick_print(const audit_pick_t *pk, apr_pool_t *p)
{
    const char *line = pk->note, *end = pk->note + pk->note_len, *nl;

    printf("checkpoint %s, signed by %s:\n", pk->where, pk->key);
    /* clean UTF-8 without control characters but newlines (it opened):
     * shown line by line, escaped like every text from outside */
    for (; line < end; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl) {
            nl = end;
        }
        printf("%s\n", safe_text(p, line, (size_t)(nl - line), 0, 0, NULL,
                                 NULL));
    }
}
