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
    char b64[45], hex[2 * VERIFY_MERKLE_HASH_LEN + 1];

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
    verify_hex((const unsigned char *)t.leaves->elts
               + (a->seq - 1) * VERIFY_MERKLE_HASH_LEN,
               VERIFY_MERKLE_HASH_LEN, hex);
    printf("inclusion\n");
    printf("size %" APR_UINT64_T_FMT "\n", size);
    printf("root %s\n", tree_b64(root, b64));
    printf("seq %" APR_UINT64_T_FMT "\n", a->seq);
    printf("index %" APR_UINT64_T_FMT "\n", a->seq - 1);
    printf("leaf %s\n", hex);
    printf("hashes %zu\n", proof.count);
    tree_print_proof(&proof);
    return 0;
}
