/*
 * cmd_check_receipt.c -- is the line a receipt names still in the log,
 * with the leaf hash the client was given? The proof is printed and
 * checked; that a signed checkpoint covers it comes with checkpoints.
 */
#include <stdio.h>
#include <string.h>
#include "print.h"
#include "tool.h"

int cmd_check_receipt(const audit_args_t *a, apr_pool_t *p)
{
    unsigned char root[VERIFY_MERKLE_HASH_LEN], want[VERIFY_MERKLE_HASH_LEN];
    const unsigned char *have;
    verify_merkle_proof_t proof;
    const char *why;
    audit_tree_t t;
    char hex[2 * VERIFY_MERKLE_HASH_LEN + 1];

    /* a broken chain is said by tree_read: the receipt cannot be
     * checked against a log that is not intact */
    if (tree_read(a, "check-receipt", &t, p) != 0) {
        printf("receipt NOT confirmed: the log cannot be read as an intact "
               "tree (see above)\n");
        return 1;
    }
    if (a->seq > t.size) {
        printf("receipt NOT confirmed: seq %" APR_UINT64_T_FMT " is not in "
               "the log, which holds seq 1..%" APR_UINT64_T_FMT " (lines "
               "removed from the end, or the receipt is not from this "
               "log)\n", a->seq, t.size);
        return 1;
    }
    verify_unhex(a->leaf, VERIFY_MERKLE_HASH_LEN, want, 1);
    have = (const unsigned char *)t.leaves->elts
           + (a->seq - 1) * VERIFY_MERKLE_HASH_LEN;
    if (memcmp(have, want, sizeof(want))) {
        verify_hex(have, VERIFY_MERKLE_HASH_LEN, hex);
        printf("receipt NOT confirmed: the line of seq %" APR_UINT64_T_FMT
               " has leaf hash %s, not the receipt's %s: the line was "
               "changed or replaced after the answer, or the receipt is "
               "not from this log\n", a->seq, hex, safe_str(p, a->leaf));
        return 1;
    }
    if (tree_root(&t, t.size, root) != 0
        || verify_merkle_inclusion_proof(a->seq - 1, t.size, tree_leaf, &t,
                                         &proof) != APR_SUCCESS) {
        fprintf(stderr, PROG ": check-receipt: cannot compute the proof\n");
        return 1;
    }
    why = verify_merkle_inclusion_check(a->seq - 1, t.size, want, &proof,
                                        root);
    if (why) {
        printf("receipt NOT confirmed: the inclusion proof fails: %s\n",
               why);
        return 1;
    }
    verify_hex(want, VERIFY_MERKLE_HASH_LEN, hex);
    printf("receipt confirmed: seq %" APR_UINT64_T_FMT " with leaf %s is "
           "in the log\n", a->seq, hex);
    tree_print_inclusion(&t, a->seq, t.size, root, &proof);
    printf("not checked: that a signed checkpoint covers this tree "
           "(checkpoints are not yet made; this proves inclusion in the "
           "log as it is now, not in a log the operator committed to)\n");
    return 0;
}
