/*
 * cmd_check_receipt.c -- is the line a receipt names still in the log,
 * with the leaf hash the client was given, and (with --verifier) covered
 * by a signed checkpoint? The first reading checks the chain, takes the
 * line's leaf hash and picks the first signed checkpoint that covers it
 * (pick.c); the second fills in the inclusion proof against that
 * checkpoint's signed root (or, without --verifier, the log's root as it
 * is), which is checked before it is printed.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "tool.h"

#define NOT_CONFIRMED "receipt NOT confirmed: "

int cmd_check_receipt(const audit_args_t *a, apr_pool_t *p)
{
    unsigned char want[VERIFY_MERKLE_HASH_LEN];
    const unsigned char *root;
    audit_walk_t w;
    audit_pick_t pk;
    verify_scan_t s;
    const char *why;
    uint64_t size;
    char hex[2 * VERIFY_MERKLE_HASH_LEN + 1], b1[45], b2[45];
    int rc;

    verify_unhex(a->leaf, VERIFY_MERKLE_HASH_LEN, want, 1);
    walk_init(&w, p);
    walk_want_leaf(&w, a->seq - 1);
    memset(&pk, 0, sizeof(pk));
    pk.rule = PICK_COVER;
    pk.n = a->seq;
    if (a->nkeys) {
        rc = pick_scan(a, "check-receipt", &w, &pk, &s, p);
    }
    else {
        scan_init(&s, a, walk_line, &w, p);
        s.lazy = 1;             /* the lines are only hashed */
        rc = tree_scan(&s, "check-receipt");
    }
    /* a broken chain is said by tree_scan: the receipt cannot be
     * checked against a log that is not intact */
    if (rc != 0) {
        printf(NOT_CONFIRMED "the log cannot be read as an intact tree "
               "(see above)\n");
        return 1;
    }
    if (a->seq > w.edge.size) {
        printf(NOT_CONFIRMED "seq %" APR_UINT64_T_FMT " is not in the log, "
               "which holds seq 1..%" APR_UINT64_T_FMT " (lines removed from "
               "the end, or the receipt is not from this log)\n", a->seq,
               w.edge.size);
        return 1;
    }
    if (memcmp(w.leaf, want, sizeof(want))) {
        verify_hex(w.leaf, VERIFY_MERKLE_HASH_LEN, hex);
        printf(NOT_CONFIRMED "the line of seq %" APR_UINT64_T_FMT " has leaf "
               "hash %s, not the receipt's %s: the line was changed or "
               "replaced after the answer, or the receipt is not from this "
               "log\n", a->seq, hex, safe_str(p, a->leaf));
        return 1;
    }
    if (pk.bad) {
        printf(NOT_CONFIRMED "a checkpoint line does not verify: %s (the "
               "log's checkpoints were changed: `" PROG " verify --verifier` "
               "shows all)\n", pk.bad);
        return 1;
    }
    if (a->nkeys && !pk.found) {
        printf(NOT_CONFIRMED "no signed checkpoint covers seq %"
               APR_UINT64_T_FMT " yet: %s; the line is in the log now with "
               "the receipt's leaf hash, but nothing signed commits to it "
               "(check again after the next checkpoint)\n", a->seq,
               pk.newest ? apr_psprintf(p, "the newest covers seq 1..%"
                                        APR_UINT64_T_FMT, pk.newest)
                         : "the log has none that verifies with the keys "
                           "given");
        return 1;
    }
    size = a->nkeys ? pk.size : w.edge.size;
    walk_init(&w, p);
    walk_want(&w, size);
    if (walk_want_inclusion(&w, a->seq - 1, size) != APR_SUCCESS
        || tree_reread(a, "check-receipt", &w, &s.chain, p) != 0) {
        return 1;
    }
    root = a->nkeys ? pk.root : APR_ARRAY_IDX(w.want, 0, audit_want_t).root;
    why = walk_proof_done(&w)
          ? verify_merkle_inclusion_check(a->seq - 1, size, want, &w.proof,
                                          root)
          : "cannot compute the proof";
    if (why && a->nkeys
        && memcmp(APR_ARRAY_IDX(w.want, 0, audit_want_t).root, root, 32)) {
        printf(NOT_CONFIRMED "the log's root at size %" APR_UINT64_T_FMT
               " is %s, but the covering checkpoint (%s) signed %s: lines "
               "1..%" APR_UINT64_T_FMT " are not the lines that were "
               "signed\n", size,
               tree_b64(APR_ARRAY_IDX(w.want, 0, audit_want_t).root, b1),
               pk.where, tree_b64(root, b2), size);
        return 1;
    }
    if (why) {
        printf(NOT_CONFIRMED "the inclusion proof fails: %s\n", why);
        return 1;
    }
    verify_hex(want, VERIFY_MERKLE_HASH_LEN, hex);
    if (a->nkeys) {
        printf("receipt confirmed: seq %" APR_UINT64_T_FMT " with leaf %s is "
               "in the log, covered by the signed checkpoint of size %"
               APR_UINT64_T_FMT "\n", a->seq, hex, size);
        tree_print_inclusion(a->seq, size, want, root, &w.proof);
        pick_print(&pk, p);
        return write_failed();
    }
    printf("receipt confirmed: seq %" APR_UINT64_T_FMT " with leaf %s is "
           "in the log\n", a->seq, hex);
    tree_print_inclusion(a->seq, size, want, root, &w.proof);
    printf("not checked: that a signed checkpoint covers this line (no "
           "--verifier given): this proves inclusion in the log as it is "
           "now, not in a log the operator signed\n");
    return write_failed();
}
