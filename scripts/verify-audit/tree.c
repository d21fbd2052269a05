/*
 * tree.c -- the audit log's RFC 6962 tree as the commands see it: read
 * once, leaf by leaf, in order, and never held. What a command needs is
 * asked before the reading starts (the roots of chosen sizes, a leaf, a
 * proof's subtrees) and filled in as the leaves pass, so that a log of
 * ten million lines costs no more memory than one of ten.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "print.h"
#include "tool.h"

#define HLEN VERIFY_MERKLE_HASH_LEN
#define HISTORY_EDGES (HISTORY_LEAVES / HISTORY_STEP)

void walk_init(audit_walk_t *w, apr_pool_t *p)
{
    memset(w, 0, sizeof(*w));
    verify_merkle_edge_init(&w->edge);
    verify_merkle_edge_init(&w->sub);
    w->index = UINT64_MAX;
    w->want = apr_array_make(p, 4, sizeof(audit_want_t));
}

void walk_start_at(audit_walk_t *w, const verify_merkle_edge_t *e)
{
    w->edge = *e;
    w->base_edge = *e;
    w->base = e->size;
}

int walk_want(audit_walk_t *w, uint64_t size)
{
    audit_want_t *x;

    if (w->want->nelts > 0
        && APR_ARRAY_IDX(w->want, w->want->nelts - 1, audit_want_t).size
           > size) {
        return -1;
    }
    x = apr_array_push(w->want);
    memset(x, 0, sizeof(*x));
    x->size = size;
    if (size < w->edge.size) {
        /* below where the walk starts: never reached */
        w->next_want = w->want->nelts;
    }
    else if (size == w->edge.size) {
        verify_merkle_edge_root(&w->edge, x->root);
        x->got = 1;
        w->next_want = w->want->nelts;
    }
    return w->want->nelts - 1;
}

void walk_want_leaf(audit_walk_t *w, uint64_t index)
{
    w->index = index;
}

/* The ranges' order by first leaf: they are disjoint, so the leaves
 * fill them one after the other. */
static int cmp_range(const void *a, const void *b, void *ctx)
{
    const verify_merkle_ranges_t *r = ctx;
    uint64_t x = r->range[*(const size_t *)a].begin;
    uint64_t y = r->range[*(const size_t *)b].begin;

    return x < y ? -1 : x > y;
}

static void order_ranges(audit_walk_t *w)
{
    size_t i;

    for (i = 0; i < w->ranges.count; i++) {
        w->order[i] = i;
    }
    qsort_r(w->order, w->ranges.count, sizeof(size_t), cmp_range,
            &w->ranges);
    w->next_range = 0;
    w->proof.count = w->ranges.count;
}

apr_status_t walk_want_inclusion(audit_walk_t *w, uint64_t index,
                                 uint64_t size)
{
    apr_status_t rv = verify_merkle_inclusion_ranges(index, size,
                                                     &w->ranges);

    if (rv == APR_SUCCESS) {
        w->index = index;
        order_ranges(w);
    }
    return rv;
}

apr_status_t walk_want_consistency(audit_walk_t *w, uint64_t size1,
                                   uint64_t size2)
{
    apr_status_t rv = verify_merkle_consistency_ranges(size1, size2,
                                                       &w->ranges);

    if (rv == APR_SUCCESS) {
        order_ranges(w);
    }
    return rv;
}

void walk_keep_history(audit_walk_t *w, apr_pool_t *p)
{
    w->hist_leaf = apr_palloc(p, (apr_size_t)HISTORY_LEAVES * HLEN);
    w->hist_edge = apr_palloc(p, (apr_size_t)HISTORY_EDGES
                                 * sizeof(verify_merkle_edge_t));
    w->hist_edge[0] = w->edge;
}

int walk_proof_done(const audit_walk_t *w)
{
    return w->next_range == w->ranges.count;
}

apr_status_t walk_leaf(audit_walk_t *w, const char *line, size_t len)
{
    unsigned char leaf[HLEN];
    apr_status_t rv = verify_merkle_leaf_hash(line, len, leaf);

    return rv != APR_SUCCESS ? rv : walk_leaf_hash(w, leaf);
}

apr_status_t walk_leaf_hash(audit_walk_t *w, const unsigned char leaf[HLEN])
{
    const verify_merkle_range_t *r;
    audit_want_t *x;
    uint64_t i = w->edge.size;
    apr_status_t rv;

    rv = verify_merkle_edge_append(&w->edge, leaf);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (i == w->index) {
        memcpy(w->leaf, leaf, HLEN);
    }
    if (w->next_range < w->ranges.count) {
        r = &w->ranges.range[w->order[w->next_range]];
        if (i >= r->begin) {
            rv = verify_merkle_edge_append(&w->sub, leaf);
            if (rv == APR_SUCCESS && i + 1 == r->end) {
                rv = verify_merkle_edge_root(
                    &w->sub, w->proof.hash[w->order[w->next_range]]);
                verify_merkle_edge_init(&w->sub);
                w->next_range++;
            }
        }
    }
    while (rv == APR_SUCCESS && w->next_want < w->want->nelts) {
        x = &APR_ARRAY_IDX(w->want, w->next_want, audit_want_t);
        if (x->size != w->edge.size) {
            break;
        }
        rv = verify_merkle_edge_root(&w->edge, x->root);
        x->got = 1;
        w->next_want++;
    }
    if (w->hist_leaf) {
        memcpy(w->hist_leaf[i % HISTORY_LEAVES], leaf, HLEN);
        if (w->edge.size % HISTORY_STEP == 0) {
            w->hist_edge[(w->edge.size / HISTORY_STEP) % HISTORY_EDGES]
                = w->edge;
        }
    }
    return rv;
}

apr_status_t walk_root_at(const audit_walk_t *w, uint64_t size,
                          unsigned char root[HLEN])
{
    verify_merkle_edge_t e;
    uint64_t k = size / HISTORY_STEP, now = w->edge.size, i;
    apr_status_t rv = APR_SUCCESS;

    if (size > now) {
        return APR_EINVAL;
    }
    if (size < w->base) {
        return APR_ENOENT;
    }
    if (size == now) {
        return verify_merkle_edge_root(&w->edge, root);
    }
    if (!w->hist_leaf) {
        return APR_INCOMPLETE;
    }
    /* from the edge at k * STEP, or the one the walk started from when
     * that is not before it; the edge and the leaves after it must still
     * be kept */
    if (k * HISTORY_STEP <= w->base) {
        e = w->base_edge;
    }
    else if (k + HISTORY_EDGES <= now / HISTORY_STEP) {
        return APR_INCOMPLETE;
    }
    else {
        e = w->hist_edge[k % HISTORY_EDGES];
    }
    if (e.size + HISTORY_LEAVES < now) {
        return APR_INCOMPLETE;
    }
    for (i = e.size; i < size && rv == APR_SUCCESS; i++) {
        rv = verify_merkle_edge_append(&e, w->hist_leaf[i % HISTORY_LEAVES]);
    }
    return rv != APR_SUCCESS ? rv : verify_merkle_edge_root(&e, root);
}

int walk_line(verify_scan_t *s, const char *line, size_t len, json_t *j,
              int bad, int file, apr_off_t off)
{
    if (walk_leaf(s->ctx, line, len) != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot hash (OpenSSL)\n");
        return -1;
    }
    return 0;
}

int tree_scan(verify_scan_t *s, const char *cmd)
{
    if (scan_intact(s, cmd) != 0) {
        return 1;
    }
    if (s->lines == 0) {
        fprintf(stderr, PROG ": %s: no audit lines found\n", cmd);
        return 1;
    }
    if (s->first_seq != 1) {
        /* leaf i is seq i+1: without the first lines there is no tree */
        fprintf(stderr, PROG ": %s refused: the log starts at seq %"
                APR_UINT64_T_FMT " (the lines before it were purged or "
                "not given), and the tree's leaves start at seq 1\n", cmd,
                s->first_seq);
        return 1;
    }
    return 0;
}

/* The second reading: the walk, stopped at the line the first reading
 * ended on. */
typedef struct reread_t {
    audit_walk_t *w;
    const verify_chain_t *at;
    int reached;                /* the line of seq at->seq was read */
    int same;                   /* ... with the hash seen before */
} reread_t;

static int reread_line(verify_scan_t *s, const char *line, size_t len,
                       json_t *j, int bad, int file, apr_off_t off)
{
    reread_t *r = s->ctx;

    if (walk_leaf(r->w, line, len) != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot hash (OpenSSL)\n");
        return -1;
    }
    if (s->chain.seq == r->at->seq) {
        r->reached = 1;
        r->same = !memcmp(s->chain.hash, r->at->hash, 32);
        return -1;
    }
    return 0;
}

int tree_reread(const audit_args_t *a, const char *cmd, audit_walk_t *w,
                const verify_chain_t *at, apr_pool_t *p)
{
    verify_scan_t s;
    reread_t r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.w = w;
    r.at = at;
    scan_init(&s, a, reread_line, &r, p);
    s.lazy = 1;             /* the lines are only hashed */
    rc = scan_run(&s);
    if (r.reached && r.same) {
        return 0;
    }
    if (rc >= 0 || r.reached) {
        /* a chain the first reading found intact no longer is, or ends
         * early, or its line has another hash now */
        fprintf(stderr, PROG ": %s: the log changed while it was read "
                "(the line of seq %" APR_UINT64_T_FMT " is gone or differs "
                "now); run it again, on a copy if the log is being "
                "written\n", cmd, at->seq);
    }
    return 1;
}

const char *tree_b64(const unsigned char h[HLEN], char out[45])
{
    EVP_EncodeBlock((unsigned char *)out, h, HLEN);
    return out;
}

void tree_print_proof(const verify_merkle_proof_t *proof)
{
    char b64[45];
    size_t i;

    for (i = 0; i < proof->count; i++) {
        printf("%s\n", tree_b64(proof->hash[i], b64));
    }
}

void tree_print_inclusion(uint64_t seq, uint64_t size,
                          const unsigned char leaf[HLEN],
                          const unsigned char root[HLEN],
                          const verify_merkle_proof_t *proof)
{
    char b64[45], hex[2 * HLEN + 1];

    verify_hex(leaf, HLEN, hex);
    printf("inclusion\n");
    printf("size %" APR_UINT64_T_FMT "\n", size);
    printf("root %s\n", tree_b64(root, b64));
    printf("seq %" APR_UINT64_T_FMT "\n", seq);
    printf("index %" APR_UINT64_T_FMT "\n", seq - 1);
    printf("leaf %s\n", hex);
    printf("hashes %zu\n", proof->count);
    tree_print_proof(proof);
}
