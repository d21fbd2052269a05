/*
 * cmd_prove.c -- the inclusion proof of one line (RFC 6962 section
 * 2.1.1) in the tree of the first M lines, in the text a witness reads
 * (docs/data-formats.md section 4). With --verifier the tree is that of
 * a signed checkpoint, whose note follows the proof.
 *
 * The proof's subtrees are filled in as the log is read (tree.c): when
 * M is not known before the reading (the whole log, or the newest
 * checkpoint), the log is read twice.
 */
#include <stdio.h>
#include <string.h>
#include "print.h"
#include "tool.h"

/* Read the log for the proof of line a->seq in the tree of @p size,
 * after a first reading that ended at @p head. */
static int prove_again(const audit_args_t *a, audit_walk_t *w,
                       uint64_t size, const verify_chain_t *head,
                       apr_pool_t *p)
{
    walk_init(w, p);
    if (walk_want_inclusion(w, a->seq - 1, size) != APR_SUCCESS
        || walk_want(w, size) < 0) {
        return 1;
    }
    return tree_reread(a, "prove", w, head, p);
}

/* The proof and the root, when the first reading could not make them. */
static int finish(const audit_args_t *a, audit_walk_t *w, uint64_t size,
                  const verify_scan_t *s, int asked, apr_pool_t *p)
{
    if (w->edge.size < size) {
        fprintf(stderr, PROG ": prove: --size %" APR_UINT64_T_FMT " is "
                "larger than the log (%" APR_UINT64_T_FMT " lines)\n", size,
                w->edge.size);
        return 1;
    }
    if (a->seq > size) {
        fprintf(stderr, PROG ": prove: seq %" APR_UINT64_T_FMT " is not in "
                "the tree of size %" APR_UINT64_T_FMT " (seq 1..%"
                APR_UINT64_T_FMT ")\n", a->seq, size, size);
        return 1;
    }
    if (!asked && prove_again(a, w, size, &s->chain, p) != 0) {
        return 1;
    }
    if (!walk_proof_done(w) || w->want->nelts != 1
        || !APR_ARRAY_IDX(w->want, 0, audit_want_t).got) {
        fprintf(stderr, PROG ": prove: cannot compute the proof\n");
        return 1;
    }
    return 0;
}

/* The first reading asks for the proof when the size is known. */
static int ask(const audit_args_t *a, audit_walk_t *w)
{
    if (!a->size || a->seq > a->size) {
        return 0;
    }
    return walk_want_inclusion(w, a->seq - 1, a->size) == APR_SUCCESS
           && walk_want(w, a->size) == 0;
}

static int prove_signed(const audit_args_t *a, apr_pool_t *p)
{
    const unsigned char *root;
    audit_walk_t w;
    audit_pick_t pk;
    verify_scan_t s;
    char b1[45], b2[45];
    int asked;

    walk_init(&w, p);
    asked = ask(a, &w);
    memset(&pk, 0, sizeof(pk));
    pk.rule = a->size ? PICK_SIZE : PICK_NEWEST;
    pk.n = a->size;
    if (pick_scan(a, "prove", &w, &pk, &s, p) != 0) {
        return 1;
    }
    if (!pk.found) {
        if (a->size) {
            fprintf(stderr, PROG ": prove: no signed checkpoint of size %"
                    APR_UINT64_T_FMT " (in the log or --witnessed) verifies "
                    "with the keys given%s\n", a->size,
                    pk.newest ? "; without --size the newest is used" : "");
        }
        else {
            fprintf(stderr, PROG ": prove: no signed checkpoint (in the log "
                    "or --witnessed) verifies with the keys given\n");
        }
        return 1;
    }
    if (finish(a, &w, pk.size, &s, asked, p) != 0) {
        return 1;
    }
    root = APR_ARRAY_IDX(w.want, 0, audit_want_t).root;
    if (memcmp(root, pk.root, sizeof(pk.root))) {
        fprintf(stderr, PROG ": prove refused: the log's root at size %"
                APR_UINT64_T_FMT " is %s, but the checkpoint (%s) signed %s: "
                "lines 1..%" APR_UINT64_T_FMT " are not the lines that were "
                "signed (`" PROG " verify --verifier` shows more)\n", pk.size,
                tree_b64(root, b1), pk.where, tree_b64(pk.root, b2),
                pk.size);
        return 1;
    }
    tree_print_inclusion(a->seq, pk.size, w.leaf, pk.root, &w.proof);
    pick_print(&pk, p);
    return write_failed();
}

int cmd_prove(const audit_args_t *a, apr_pool_t *p)
{
    audit_walk_t w;
    verify_scan_t s;
    int asked;

    if (a->nkeys) {
        return prove_signed(a, p);
    }
    walk_init(&w, p);
    asked = ask(a, &w);
    scan_init(&s, a, walk_line, &w, p);
    s.lazy = 1;             /* the lines are only hashed */
    if (tree_scan(&s, "prove") != 0
        || finish(a, &w, a->size ? a->size : w.edge.size, &s, asked, p)
           != 0) {
        return 1;
    }
    tree_print_inclusion(a->seq, APR_ARRAY_IDX(w.want, 0, audit_want_t).size,
                         w.leaf, APR_ARRAY_IDX(w.want, 0, audit_want_t).root,
                         &w.proof);
    return write_failed();
}
