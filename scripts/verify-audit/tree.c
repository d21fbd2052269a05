/*
 * tree.c -- the audit log's RFC 6962 tree as the commands see it: the
 * leaf hashes of an intact chain, and hashes printed for a witness.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include "print.h"
#include "tool.h"

static int collect_leaf(verify_scan_t *s, const char *line, size_t len,
                        json_t *j, int bad, int file, apr_off_t off)
{
    audit_tree_t *t = s->ctx;
    unsigned char *h = apr_array_push(t->leaves);

    if (verify_merkle_leaf_hash(line, len, h) != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot hash (OpenSSL)\n");
        return -1;
    }
    return 0;
}

int tree_read(const audit_args_t *a, const char *cmd, audit_tree_t *t,
              apr_pool_t *p)
{
    verify_scan_t s;

    memset(t, 0, sizeof(*t));
    t->leaves = apr_array_make(p, 4096, VERIFY_MERKLE_HASH_LEN);
    scan_init(&s, a, collect_leaf, t, p);
    if (scan_intact(&s, cmd) != 0) {
        return 1;
    }
    if (s.lines == 0) {
        fprintf(stderr, PROG ": %s: no audit lines found\n", cmd);
        return 1;
    }
    if (s.first_seq != 1) {
        /* leaf i is seq i+1: without the first lines there is no tree */
        fprintf(stderr, PROG ": %s refused: the log starts at seq %"
                APR_UINT64_T_FMT " (the lines before it were purged or "
                "not given), and the tree's leaves start at seq 1\n", cmd,
                s.first_seq);
        return 1;
    }
    t->size = (uint64_t)t->leaves->nelts;
    return 0;
}

apr_status_t tree_leaf(void *ctx, uint64_t index,
                       unsigned char hash[VERIFY_MERKLE_HASH_LEN])
{
    const audit_tree_t *t = ctx;

    if (index >= t->size) {
        return APR_EINVAL;
    }
    memcpy(hash, t->leaves->elts + index * VERIFY_MERKLE_HASH_LEN,
           VERIFY_MERKLE_HASH_LEN);
    return APR_SUCCESS;
}

const char *tree_b64(const unsigned char h[VERIFY_MERKLE_HASH_LEN],
                     char out[45])
{
    EVP_EncodeBlock((unsigned char *)out, h, VERIFY_MERKLE_HASH_LEN);
    return out;
}

int tree_root(const audit_tree_t *t, uint64_t size,
              unsigned char root[VERIFY_MERKLE_HASH_LEN])
{
    if (verify_merkle_range_root(0, size, tree_leaf, (void *)t, root)
        != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot compute the tree root\n");
        return 1;
    }
    return 0;
}

void tree_print_proof(const verify_merkle_proof_t *proof)
{
    char b64[45];
    size_t i;

    for (i = 0; i < proof->count; i++) {
        printf("%s\n", tree_b64(proof->hash[i], b64));
    }
}

void tree_print_inclusion(const audit_tree_t *t, uint64_t seq, uint64_t size,
                          const unsigned char root[VERIFY_MERKLE_HASH_LEN],
                          const verify_merkle_proof_t *proof)
{
    char b64[45], hex[2 * VERIFY_MERKLE_HASH_LEN + 1];

    verify_hex((const unsigned char *)t->leaves->elts
               + (seq - 1) * VERIFY_MERKLE_HASH_LEN,
               VERIFY_MERKLE_HASH_LEN, hex);
    printf("inclusion\n");
    printf("size %" APR_UINT64_T_FMT "\n", size);
    printf("root %s\n", tree_b64(root, b64));
    printf("seq %" APR_UINT64_T_FMT "\n", seq);
    printf("index %" APR_UINT64_T_FMT "\n", seq - 1);
    printf("leaf %s\n", hex);
    printf("hashes %zu\n", proof->count);
    tree_print_proof(proof);
}
