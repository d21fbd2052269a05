/*
 * cmd_consistency.c -- the consistency proof (RFC 6962 section 2.1.2)
 * from the tree of the first M1 lines to the tree of the first M2, in
 * the text a witness reads (docs/data-formats.md section 4). Both sizes
 * are known before the log is read, so one reading fills the proof in.
 */
#include <stdio.h>
#include "print.h"
#include "tool.h"

int cmd_consistency(const audit_args_t *a, apr_pool_t *p)
{
    audit_walk_t w;
    audit_want_t *r1, *r2;
    verify_scan_t s;
    char b64[45];

    walk_init(&w, p);
    if (walk_want(&w, a->from) != 0 || walk_want(&w, a->to) != 1
        || walk_want_consistency(&w, a->from, a->to) != APR_SUCCESS) {
        fprintf(stderr, PROG ": consistency: cannot compute the proof\n");
        return 1;
    }
    scan_init(&s, a, walk_line, &w, p);
    s.lazy = 1;             /* the lines are only hashed */
    if (tree_scan(&s, "consistency") != 0) {
        return 1;
    }
    if (a->to > w.edge.size) {
        fprintf(stderr, PROG ": consistency: --to %" APR_UINT64_T_FMT " is "
                "larger than the log (%" APR_UINT64_T_FMT " lines)\n", a->to,
                w.edge.size);
        return 1;
    }
    r1 = &APR_ARRAY_IDX(w.want, 0, audit_want_t);
    r2 = &APR_ARRAY_IDX(w.want, 1, audit_want_t);
    if (!r1->got || !r2->got || !walk_proof_done(&w)) {
        fprintf(stderr, PROG ": consistency: cannot compute the proof\n");
        return 1;
    }
    printf("consistency\n");
    printf("size1 %" APR_UINT64_T_FMT "\n", a->from);
    printf("root1 %s\n", tree_b64(r1->root, b64));
    printf("size2 %" APR_UINT64_T_FMT "\n", a->to);
    printf("root2 %s\n", tree_b64(r2->root, b64));
    printf("hashes %zu\n", w.proof.count);
    tree_print_proof(&w.proof);
    return write_failed();
}
