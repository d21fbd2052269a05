/*
 * cmd_prove.c -- the inclusion proof of one line (RFC 6962 section
 * 2.1.1) in the tree of the first M lines, in the text a witness reads
 * (docs/data-formats.md section 4).
 */
#include <stdio.h>
#include "print.h"
#include "tool.h"

int cmd_prove(const audit_args_t *a, apr_pool_t *p)
{
    unsigned char root[VERIFY_MERKLE_HASH_LEN];
    verify_merkle_proof_t proof;
    audit_tree_t t;
    uint64_t size;

    if (tree_read(a, "prove", &t, p) != 0) {
        return 1;
    }
    size = a->size ? a->size : t.size;
    if (size > t.size) {
        fprintf(stderr, PROG ": prove: --size %" APR_UINT64_T_FMT " is "
                "larger than the log (%" APR_UINT64_T_FMT " lines)\n", size,
                t.size);
        return 1;
    }
    if (a->seq > size) {
        fprintf(stderr, PROG ": prove: seq %" APR_UINT64_T_FMT " is not in "
                "the tree of size %" APR_UINT64_T_FMT " (seq 1..%"
                APR_UINT64_T_FMT ")\n", a->seq, size, size);
        return 1;
    }
    if (tree_root(&t, size, root) != 0
        || verify_merkle_inclusion_proof(a->seq - 1, size, tree_leaf, &t,
                                         &proof) != APR_SUCCESS) {
        fprintf(stderr, PROG ": prove: cannot compute the proof\n");
        return 1;
    }
    tree_print_inclusion(&t, a->seq, size, root, &proof);
    return 0;
}
