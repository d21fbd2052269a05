/*
 * cmd_consistency.c -- the consistency proof (RFC 6962 section 2.1.2)
 * from the tree of the first M1 lines to the tree of the first M2, in
 * the text a witness reads (docs/data-formats.md section 4).
 */
#include <stdio.h>
#include "print.h"
#include "tool.h"

int cmd_consistency(const audit_args_t *a, apr_pool_t *p)
{
    unsigned char root1[VERIFY_MERKLE_HASH_LEN], root2[VERIFY_MERKLE_HASH_LEN];
    verify_merkle_proof_t proof;
    audit_tree_t t;
    char b64[45];

    if (tree_read(a, "consistency", &t, p) != 0) {
        return 1;
    }
    if (a->to > t.size) {
        fprintf(stderr, PROG ": consistency: --to %" APR_UINT64_T_FMT " is "
                "larger than the log (%" APR_UINT64_T_FMT " lines)\n", a->to,
                t.size);
        return 1;
    }
    if (tree_root(&t, a->from, root1) != 0
        || tree_root(&t, a->to, root2) != 0
        || verify_merkle_consistency_proof(a->from, a->to, tree_leaf, &t,
                                           &proof) != APR_SUCCESS) {
        fprintf(stderr, PROG ": consistency: cannot compute the proof\n");
        return 1;
    }
    printf("consistency\n");
    printf("size1 %" APR_UINT64_T_FMT "\n", a->from);
    printf("root1 %s\n", tree_b64(root1, b64));
    printf("size2 %" APR_UINT64_T_FMT "\n", a->to);
    printf("root2 %s\n", tree_b64(root2, b64));
    printf("hashes %zu\n", proof.count);
    tree_print_proof(&proof);
    return 0;
}
