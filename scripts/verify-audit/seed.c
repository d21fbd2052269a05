/*
 * seed.c -- the seed of a month's sample, which nobody chooses (R5.1):
 * the root of the first signed checkpoint made after the month ended
 * that covers the month's last line. It is found among the log's
 * checkpoint lines (and, with --checkpoints, the checkpoint files), its
 * signature checked with the --verifier keys and its root with the
 * log's own tree at its size, made from the lines in the same reading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include "print.h"
#include "sample.h"

void snap_start(snap_t *sn, const verify_merkle_edge_t *edge)
{
    sn->edge = *edge;
    sn->n = 0;
    sn->cut = 0;
    sn->active = 1;
}

void snap_add(snap_t *sn, const unsigned char leaf[VERIFY_MERKLE_HASH_LEN])
{
    size_t cap;
    void *nl;

    if (!sn->active) {
        return;
    }
    if (sn->n == sn->cap) {
        cap = sn->cap ? 2 * sn->cap : 4096;
        nl = sn->n < TAIL_MAX ? realloc(sn->leaf, cap * sizeof(*sn->leaf))
                              : NULL;
        if (!nl) {
            /* roots past here cannot be made: said when one is asked */
            sn->cut = 1;
            sn->active = 0;
            return;
        }
        sn->leaf = nl;
        sn->cap = cap;
    }
    memcpy(sn->leaf[sn->n++], leaf, VERIFY_MERKLE_HASH_LEN);
}

int snap_root(const snap_t *sn, uint64_t size,
              unsigned char root[VERIFY_MERKLE_HASH_LEN])
{
    verify_merkle_edge_t e;
    uint64_t i;

    if (size < sn->edge.size || size - sn->edge.size > sn->n) {
        return -1;
    }
    e = sn->edge;
    for (i = 0; i < size - sn->edge.size; i++) {
        if (verify_merkle_edge_append(&e, sn->leaf[i]) != APR_SUCCESS) {
            return -1;
        }
    }
    return verify_merkle_edge_root(&e, root) == APR_SUCCESS ? 0 : -1;
}

void snap_free(snap_t *sn)
{
    free(sn->leaf);
    sn->leaf = NULL;
    sn->n = sn->cap = 0;
}

const char *checkpoint_time(const verify_checkpoint_t *cp, apr_pool_t *p)
{
    const char *e = cp->extensions, *nl;

    while (e && *e) {
        nl = strchr(e, '\n');
        if (!nl) {
            break;
        }
        /* "time 2026-12-01T00:00:09+08:00", Taipei, to the second */
        if (nl - e == 5 + 25 && !strncmp(e, "time ", 5) && e[9] == '-'
            && e[15] == 'T' && !memcmp(e + 24, "+08:00", 6)) {
            return apr_pstrmemdup(p, e + 5, 25);
        }
        e = nl + 1;
    }
    return NULL;
}

static const char *b64(const unsigned char h[VERIFY_MERKLE_HASH_LEN],
                       apr_pool_t *p)
{
    char out[45];

    return apr_pstrdup(p, tree_b64(h, out));
}

/* The root of @p size from @p sn, compared with the signed @p root:
 * NULL, or what is wrong. */
static const char *root_check(sample_scan_t *ss, const snap_t *sn,
                              uint64_t size,
                              const unsigned char root[VERIFY_MERKLE_HASH_LEN],
                              const char *what)
{
    unsigned char mine[VERIFY_MERKLE_HASH_LEN];

    if (snap_root(sn, size, mine) != 0) {
        return apr_psprintf(ss->p, "%s: its root cannot be checked in one "
                            "reading: it covers %" APR_UINT64_T_FMT " lines, "
                            "more than %u past the month's end%s", what, size,
                            TAIL_MAX, sn->cut ? "" : " or beyond the files "
                            "given");
    }
    if (memcmp(mine, root, VERIFY_MERKLE_HASH_LEN)) {
        return apr_psprintf(ss->p, "the log contradicts %s: the tree of its "
                            "first %" APR_UINT64_T_FMT " lines has root %s, "
                            "the signed checkpoint says %s: lines it covers "
                            "were changed after it was signed (`" PROG
                            " verify --verifier` names them; keep a copy and "
                            "investigate, R5.2)", what, size,
                            b64(mine, ss->p), b64(root, ss->p));
    }
    return NULL;
}

int seed_consider_line(sample_scan_t *ss, const char *line, size_t len,
                       uint64_t seq)
{
    const audit_args_t *a = ss->a;
    verify_checkpoint_t cp;
    json_error_t jerr;
    const char *why, *time, *what;
    json_t *j;
    int by = 0;

    what = apr_psprintf(ss->p, "the checkpoint line seq %" APR_UINT64_T_FMT,
                        seq);
    j = json_loadb(line, len, VERIFY_SCAN_JSON_FLAGS, &jerr);
    why = j ? cpline_check(a, j, seq, &cp, &by, ss->scratch)
            : "not JSON";
    if (why) {
        ss->error = apr_psprintf(ss->p, "no sample drawn: %s, made after %s "
                                 "and a candidate for its seed, does not "
                                 "verify: %s (checked with %d key%s of "
                                 "--verifier; a log with checkpoints signed "
                                 "by another key needs that key too)", what,
                                 ss->month, why, a->nkeys,
                                 a->nkeys == 1 ? "" : "s");
        json_decref(j);
        return -1;
    }
    time = checkpoint_time(&cp, ss->scratch);
    if (!time || strcmp(time, ss->next) < 0 || cp.size < ss->end.seq) {
        /* signed before the month ended: its root could be known in it */
        json_decref(j);
        return 0;
    }
    why = root_check(ss, &ss->at_end, cp.size, cp.root, what);
    if (why) {
        ss->error = apr_pstrcat(ss->p, "no sample drawn: ", why, NULL);
        json_decref(j);
        return -1;
    }
    ss->seed.found = 1;
    ss->seed.size = cp.size;
    memcpy(ss->seed.root, cp.root, VERIFY_MERKLE_HASH_LEN);
    ss->seed.time = apr_pstrdup(ss->p, time);
    ss->seed.note = apr_pstrdup(ss->p, jstr(j, "note"));
    ss->seed.key = key_label(&a->keys[by], ss->p);
    ss->seed.line_seq = seq;
    ss->seed.reason = jstr(j, "reason") ? apr_pstrdup(ss->p,
                                                      jstr(j, "reason"))
                                        : NULL;
    ss->seed.file = NULL;
    /* the leaves up to it stay: a checkpoint file may be an earlier seed */
    ss->at_end.active = 0;
    json_decref(j);
    return 0;
}

void seed_note_line(sample_scan_t *ss, const char *line, size_t len,
                    uint64_t seq, uint64_t size)
{
    if (line_copy_set(&ss->newest_line, line, len) != 0) {
        ss->newest_seq = 0;
        return;
    }
    ss->newest_seq = seq;
    ss->newest_size = size;
    /* its root, if a preview wants it, comes from the snap since the
     * checkpoint line before it (it covers that line); the next one's
     * from a snap since this line */
    ss->at_cp[ss->cp_cur].active = 0;
    ss->cp_cur ^= 1;
    snap_start(&ss->at_cp[ss->cp_cur], &ss->edge);
}

int seed_newest(sample_scan_t *ss, seedcp_t *out)
{
    unsigned char mine[VERIFY_MERKLE_HASH_LEN];
    const audit_args_t *a = ss->a;
    verify_checkpoint_t cp;
    json_error_t jerr;
    const char *why, *what;
    json_t *j;
    int by = 0;

    memset(out, 0, sizeof(*out));
    if (!ss->newest_seq || !a->nkeys) {
        return 0;               /* without a key: the tree's root */
    }
    what = apr_psprintf(ss->p, "the newest checkpoint line (seq %"
                        APR_UINT64_T_FMT ")", ss->newest_seq);
    j = json_loadb(ss->newest_line.buf, ss->newest_line.len,
                   VERIFY_SCAN_JSON_FLAGS, &jerr);
    why = j ? cpline_check(a, j, ss->newest_seq, &cp, &by, ss->p)
            : "not JSON";
    if (!why && (!ss->tree_ok
                 || snap_root(&ss->at_cp[ss->cp_cur ^ 1], cp.size, mine))) {
        why = "its root cannot be made from the lines read (it covers "
              "fewer lines than the checkpoint line before it)";
    }
    if (!why && memcmp(cp.root, mine, VERIFY_MERKLE_HASH_LEN)) {
        why = apr_psprintf(ss->p, "the log's tree of its first %"
                           APR_UINT64_T_FMT " lines has root %s, the signed "
                           "checkpoint says %s", cp.size, b64(mine, ss->p),
                           b64(cp.root, ss->p));
    }
    if (why) {
        fprintf(stderr, PROG ": %sno preview drawn: %s does not verify: "
                "%s\n", ss->label, what, safe_str(ss->p, why));
        json_decref(j);
        return 1;
    }
    out->found = 1;
    out->size = cp.size;
    memcpy(out->root, cp.root, VERIFY_MERKLE_HASH_LEN);
    out->time = checkpoint_time(&cp, ss->p);
    out->note = apr_pstrdup(ss->p, jstr(j, "note"));
    out->key = key_label(&a->keys[by], ss->p);
    out->line_seq = ss->newest_seq;
    out->reason = jstr(j, "reason") ? apr_pstrdup(ss->p, jstr(j, "reason"))
                                    : NULL;
    json_decref(j);
    return 0;
}

static int cmp_size(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

    return a < b ? -1 : a > b;
}

/* The sizes of the checkpoint files in @p dir that could be the seed:
 * from the month's last line up to @p max, ascending. NULL when the
 * directory cannot be read (said). */
static apr_array_header_t *dir_sizes(sample_scan_t *ss, const char *dir,
                                     uint64_t max)
{
    apr_array_header_t *sizes = apr_array_make(ss->p, 16, sizeof(uint64_t));
    apr_finfo_t fi;
    apr_dir_t *d;
    uint64_t size;

    if (apr_dir_open(&d, dir, ss->p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": --checkpoints: cannot read the directory "
                "%s\n", safe_str(ss->p, dir));
        return NULL;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        size = verify_cpdir_name_size(fi.name);
        if (size && size >= ss->end.seq && size <= max) {
            APR_ARRAY_PUSH(sizes, uint64_t) = size;
        }
    }
    apr_dir_close(d);
    qsort(sizes->elts, (size_t)sizes->nelts, sizeof(uint64_t), cmp_size);
    return sizes;
}

int seed_from_dir(sample_scan_t *ss)
{
    const audit_args_t *a = ss->a;
    apr_array_header_t *sizes;
    verify_checkpoint_t cp;
    char name[VERIFY_CPDIR_NAME_LEN];
    const char *path, *why, *time;
    uint64_t max, size;
    size_t len;
    char *note;
    int i, by = 0;

    if (!a->checkpoints || !a->nkeys) {
        return 0;
    }
    /* only a smaller size can come before the seed found in the log */
    max = ss->seed.found ? ss->seed.size
                         : ss->at_end.edge.size + ss->at_end.n;
    sizes = dir_sizes(ss, a->checkpoints, max);
    if (!sizes) {
        return 1;
    }
    for (i = 0; i < sizes->nelts; i++) {
        size = APR_ARRAY_IDX(sizes, i, uint64_t);
        verify_cpdir_name(size, name);
        path = apr_pstrcat(ss->p, a->checkpoints, "/", name, NULL);
        why = read_small(path, VERIFY_NOTE_MAX, &note, &len, ss->p);
        if (!why) {
            why = keys_open(a, note, len, &cp, &by, ss->p);
        }
        if (!why && cp.size != size) {
            why = apr_psprintf(ss->p, "it holds a checkpoint of size %"
                               APR_UINT64_T_FMT, cp.size);
        }
        if (why) {
            fprintf(stderr, PROG ": no sample drawn: the checkpoint file %s "
                    "does not verify: %s\n", safe_str(ss->p, path),
                    safe_str(ss->p, why));
            return 1;
        }
        time = checkpoint_time(&cp, ss->p);
        if (!time || strcmp(time, ss->next) < 0) {
            continue;
        }
        why = root_check(ss, &ss->at_end, size, cp.root,
                         apr_psprintf(ss->p, "the checkpoint file %s",
                                      path));
        if (why) {
            fprintf(stderr, PROG ": no sample drawn: %s\n",
                    safe_str(ss->p, why));
            return 1;
        }
        if (ss->seed.found && ss->seed.size == size) {
            break;              /* the same checkpoint as the log's line */
        }
        ss->seed.found = 1;
        ss->seed.size = size;
        memcpy(ss->seed.root, cp.root, VERIFY_MERKLE_HASH_LEN);
        ss->seed.time = time;
        ss->seed.note = note;
        ss->seed.key = key_label(&a->keys[by], ss->p);
        ss->seed.line_seq = 0;
        ss->seed.reason = NULL;
        ss->seed.file = path;
        break;
    }
    return 0;
}
