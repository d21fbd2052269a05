/*
 * sheet_cp.c -- the checkpoints a sheet names: the newest one in the
 * files, and the first one made after the month ended that covers the
 * month's last line (the sample's seed); with --verifier each is
 * checked: its signature, that it names the log its key is for, that
 * its chain line says what the note says, and that its root is the
 * root of the log's first lines as they are now.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "print.h"
#include "sheet.h"

void sheet_cp_init(sheet_cp_t *c, apr_pool_t *p)
{
    memset(c, 0, sizeof(*c));
    apr_pool_create(&c->p, p);
    apr_pool_create(&c->spare, p);
    apr_pool_create(&c->keep, p);
}

/* The "time" extension line of a signed checkpoint, or NULL. */
static const char *note_time(const char *note, apr_pool_t *p)
{
    const char *t = note ? strstr(note, "\ntime ") : NULL;
    const char *end, *blank = note ? strstr(note, "\n\n") : NULL;

    if (!t || (blank && t > blank)) {
        return NULL;
    }
    t += 6;
    end = strchr(t, '\n');
    return end ? apr_pstrmemdup(p, t, (size_t)(end - t)) : NULL;
}

static const char *dup_or_null(apr_pool_t *p, const char *s)
{
    return s ? apr_pstrdup(p, s) : NULL;
}

static cpline_t *cp_copy(json_t *j, int bad, apr_pool_t *p)
{
    cpline_t *c = apr_pcalloc(p, sizeof(*c));
    json_t *seq = json_object_get(j, "seq"), *size = json_object_get(j,
                                                                     "size");

    c->seq = json_is_integer(seq) ? (uint64_t)json_integer_value(seq) : 0;
    c->size = json_is_integer(size) && json_integer_value(size) >= 0
              ? (uint64_t)json_integer_value(size) : 0;
    c->ts = dup_or_null(p, jstr(j, "ts"));
    c->reason = dup_or_null(p, jstr(j, "reason"));
    c->root = dup_or_null(p, jstr(j, "root"));
    c->note = dup_or_null(p, jstr(j, "note"));
    c->made = note_time(c->note, p);
    c->bad = bad;
    return c;
}

void sheet_cp_line(sheet_cp_t *c, json_t *j, int bad, uint64_t month_end,
                   const char *month)
{
    const char *op = jstr(j, "op"), *made;
    json_t *size = json_object_get(j, "size");
    apr_pool_t *swap;

    if (!op || strcmp(op, "checkpoint")) {
        return;
    }
    c->lines++;
    /* the newest: kept in one pool, the one before it let go */
    apr_pool_clear(c->spare);
    c->newest = cp_copy(j, bad, c->spare);
    swap = c->p;
    c->p = c->spare;
    c->spare = swap;
    if (c->seed || !json_is_integer(size)
        || (uint64_t)json_integer_value(size) < month_end) {
        return;
    }
    /* made after the month: the signed time says so when there is one */
    made = c->newest->made ? c->newest->made : c->newest->ts;
    if (made && strncmp(made, month, 7) > 0) {
        c->seed = cp_copy(j, bad, c->keep);
    }
}

/* -- the tree's roots, from a second reading -------------------------- */

typedef struct roots_t {
    verify_merkle_edge_t edge;
    uint64_t want[2];
    unsigned char root[2][VERIFY_MERKLE_HASH_LEN];
    int have[2];
    uint64_t upto;
} roots_t;

static int root_line(verify_scan_t *s, const char *line, size_t len,
                     json_t *j, int bad, int file, apr_off_t off)
{
    roots_t *r = s->ctx;
    unsigned char leaf[VERIFY_MERKLE_HASH_LEN];
    int i;

    if (verify_merkle_leaf_hash(line, len, leaf) != APR_SUCCESS
        || verify_merkle_edge_append(&r->edge, leaf) != APR_SUCCESS) {
        s->error = "cannot hash (OpenSSL)";
        return -1;
    }
    for (i = 0; i < 2; i++) {
        if (r->want[i] == r->edge.size) {
            verify_merkle_edge_root(&r->edge, r->root[i]);
            r->have[i] = 1;
        }
    }
    return r->edge.size >= r->upto ? -1 : 0;
}

/* One checkpoint checked; @p root its tree's root now (NULL: not
 * known, @p why says why). */
static void check_one(cpline_t *c, const verify_note_verifier_t *keys,
                      int nkeys, const unsigned char *root, const char *why,
                      apr_pool_t *p)
{
    verify_checkpoint_t cp;
    char *err = NULL;
    const char *b64;
    int by = -1;

    c->checked = -1;
    if (!c->note) {
        c->fault = "the checkpoint line holds no signed note";
        return;
    }
    if (verify_checkpoint_open(&cp, keys, nkeys, c->note, strlen(c->note),
                               &by, &err, p) != APR_SUCCESS) {
        c->fault = apr_pstrcat(p, "the signed note does not verify: ", err,
                               NULL);
        return;
    }
    c->signer = apr_psprintf(p, "%s+%08x", keys[by].name, keys[by].id);
    if (strcmp(cp.origin, keys[by].name)) {
        c->fault = apr_psprintf(p, "signed by the key of %s, but it names "
                                "the log %s", keys[by].name, cp.origin);
        return;
    }
    b64 = verify_note_b64(cp.root, VERIFY_MERKLE_HASH_LEN, p);
    if (cp.size != c->size || !c->root || strcmp(b64, c->root)) {
        c->fault = apr_psprintf(p, "its chain line (size %" APR_UINT64_T_FMT
                                ") does not say what the signed note says "
                                "(size %" APR_UINT64_T_FMT ", root %s)",
                                c->size, cp.size, b64);
        return;
    }
    c->made = note_time(c->note, p);
    if (!root) {
        c->root_note = why;
    }
    else if (memcmp(root, cp.root, VERIFY_MERKLE_HASH_LEN)) {
        c->fault = apr_psprintf(p, "the log's first %" APR_UINT64_T_FMT
                                " lines have the root %s now: lines it "
                                "covers were changed", cp.size,
                                verify_note_b64(root, VERIFY_MERKLE_HASH_LEN,
                                                p));
        return;
    }
    c->checked = 1;
}

int sheet_cp_keys(const audit_args_t *a, apr_array_header_t **keys,
                  apr_pool_t *p)
{
    int i;

    /* parsed by main() (keys.c), as for every command */
    *keys = apr_array_make(p, 2, sizeof(verify_note_verifier_t));
    for (i = 0; i < a->nkeys; i++) {
        APR_ARRAY_PUSH(*keys, verify_note_verifier_t) = a->keys[i];
    }
    return 0;
}

/* The roots from the report's own reading (@p w, walked over every
 * line with its recent history kept): 0 when both are known there (or
 * beyond the files), -1 when one is too far back: read again. */
static int roots_from_walk(roots_t *r, const audit_walk_t *w)
{
    apr_status_t rv;
    int i;

    for (i = 0; i < 2; i++) {
        if (!r->want[i]) {
            continue;
        }
        rv = walk_root_at(w, r->want[i], r->root[i]);
        if (rv == APR_SUCCESS) {
            r->have[i] = 1;
        }
        else if (rv != APR_EINVAL) {    /* EINVAL: the files end before */
            return -1;
        }
    }
    return 0;
}

int sheet_cp_check(sheet_cp_t *c, const audit_args_t *a,
                   const apr_array_header_t *keys, const audit_walk_t *w,
                   const verify_scan_t *first, apr_pool_t *p)
{
    cpline_t *which[2] = { c->newest, c->seed };
    verify_scan_t s;
    roots_t *r = apr_pcalloc(p, sizeof(*r));
    const char *why = NULL;
    int i, rc = 0;

    if (!keys->nelts) {
        return 0;
    }
    if (c->seed && c->newest && c->seed->seq == c->newest->seq) {
        which[1] = NULL;
    }
    verify_merkle_edge_init(&r->edge);
    for (i = 0; i < 2; i++) {
        if (which[i]) {
            r->want[i] = which[i]->size;
            r->upto = r->want[i] > r->upto ? r->want[i] : r->upto;
        }
    }
    if (r->upto && (first->first_seq != 1 || first->from_checkpoint)) {
        why = apr_psprintf(p, "its root is not recomputed: the files "
                           "given start at seq %" APR_UINT64_T_FMT
                           " (earlier lines purged or not given)",
                           first->first_seq);
    }
    else if (r->upto && w && roots_from_walk(r, w) == 0) {
        r->upto = 0;            /* known from the first reading */
    }
    else if (r->upto) {
        memset(r->have, 0, sizeof(r->have));
        scan_init(&s, a, root_line, r, p);
        s.lazy = 1;             /* the lines are only hashed */
        s.keep_going = 1;
        if (scan_run(&s) < 0 && s.error) {
            return -1;
        }
    }
    for (i = 0; i < 2; i++) {
        if (!which[i]) {
            continue;
        }
        check_one(which[i], (const verify_note_verifier_t *)keys->elts,
                  keys->nelts, why || !r->have[i] ? NULL : r->root[i],
                  why ? why : "the files given end before its size", p);
        if (which[i]->checked < 0) {
            rc = 1;
        }
    }
    if (which[1] == NULL && c->seed) {
        *c->seed = *c->newest;
    }
    return rc;
}

int sheet_cp_seed(const cpline_t *c, unsigned char seed[32])
{
    unsigned char buf[48];
    size_t len = c && c->root ? strlen(c->root) : 0;

    if (len != 44 || EVP_DecodeBlock(buf, (const unsigned char *)c->root,
                                     44) != 33) {
        return -1;
    }
    memcpy(seed, buf, 32);
    return 0;
}
