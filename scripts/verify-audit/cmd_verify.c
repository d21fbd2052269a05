/*
 * cmd_verify.c -- is the hash chain of the audit log intact, and if not,
 * where does it break?
 */
#include <stdio.h>
#include "print.h"
#include "tool.h"

/* Notes and faults as the scan finds them: they hold file names and
 * log text (an audit_recover line's detail). */
static void print_note(verify_scan_t *s, const char *msg)
{
    printf("%s\n", safe_str(s->p, msg));
}

/* Every line a leaf of the tree's edge (RFC 6962): the root of what
 * was checked, to compare with a checkpoint or a witness. */
static int add_leaf(verify_scan_t *s, const char *line, size_t len,
                    json_t *j, int bad, int file, apr_off_t off)
{
    unsigned char leaf[VERIFY_MERKLE_HASH_LEN];

    if (verify_merkle_leaf_hash(line, len, leaf) != APR_SUCCESS
        || verify_merkle_edge_append(s->ctx, leaf) != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot hash (OpenSSL)\n");
        return -1;
    }
    return 0;
}

int cmd_verify(const audit_args_t *a, apr_pool_t *p)
{
    unsigned char root[VERIFY_MERKLE_HASH_LEN];
    verify_merkle_edge_t *edge = apr_palloc(p, sizeof(*edge));
    verify_scan_t s;
    char hex[65], b64[45];

    verify_merkle_edge_init(edge);
    scan_init(&s, a, add_leaf, edge, p);
    s.note_fn = print_note;
    if (scan_run(&s) != 0) {
        return 1;
    }
    if (s.lines == 0) {
        printf("no audit lines found\n");
        return 1;
    }
    /* the tree first: the verdict stays the last line */
    if (s.first_seq != 1) {
        printf("tree: not computed: the log starts at seq %" APR_UINT64_T_FMT
               " (the lines before were purged or not given)\n", s.first_seq);
    }
    else if (verify_merkle_edge_root(edge, root) == APR_SUCCESS) {
        printf("tree: size %" APR_UINT64_T_FMT " root %s\n", edge->size,
               tree_b64(root, b64));
    }
    verify_hex(s.chain.hash, 32, hex);
    printf("OK: %" APR_UINT64_T_FMT " lines in %d file(s), seq %"
           APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT ", chain intact, head %s"
           "%s\n", s.lines, a->files->nelts, s.first_seq, s.chain.seq, hex,
           s.warnings ? " (with warnings above)"
           : s.recovers || s.unconfirmed ? " (with recovery notes above)"
           : "");
    return 0;
}
