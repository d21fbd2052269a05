/*
 * sample_nodes_flags.c -- the anomaly flags (R5.2) of several nodes'
 * month: a balancer spreads a client's queries over the nodes, so the
 * flags read the queries of every node together, merged in time order
 * (each node's in chain order: a second reading of its query lines by
 * their offsets, each checked against the first reading's hash). The
 * flags number the lines as they read them; a flag's text names a line
 * by its node and seq.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "sample_nodes.h"

/* Node @p n's next query read into n->fq (n->have 0 when it has no
 * more): 0, or -1 when its line changed (said). */
static int feed_load(node_t *n)
{
    const char *why;
    size_t at;

    n->have = 0;
    if (n->next >= n->ss.n) {
        return 0;
    }
    if (!again_line(&n->g, &n->ss.q[n->next])) {
        return -1;
    }
    if (verify_flat_parse(n->flat, n->g.line, n->g.len, &why, &at) != 0) {
        fprintf(stderr, PROG ": %sthe line of seq %" APR_UINT64_T_FMT
                " changed while it was read: run the command again\n",
                n->label, n->ss.q[n->next].seq);
        return -1;
    }
    flags_query_read(n->flat, 0, n->buf, &n->fq);
    n->have = 1;
    return 0;
}

/* Is @p a's query earlier than @p b's (by ts; a tie: the node first in
 * order)? */
static int earlier(const node_t *a, const node_t *b)
{
    size_t la = a->fq.ts ? a->fq.ts_len : 0, lb = b->fq.ts ? b->fq.ts_len : 0;
    int c = memcmp(a->fq.ts ? a->fq.ts : "", b->fq.ts ? b->fq.ts : "",
                   la < lb ? la : lb);

    return c < 0 || (c == 0 && la < lb);
}

/* A query counted by its client, over all nodes (the sheet's table). */
static void tally_client(nodes_t *ns, const verify_flags_query_t *q,
                         apr_pool_t *p)
{
    const char *key = q->client ? apr_pstrmemdup(p, q->client,
                                                 q->client_len) : "";
    tally_t *t = apr_hash_get(ns->clients, key, APR_HASH_KEY_STRING);

    if (!t && apr_hash_count(ns->clients) >= 64) {
        key = TALLY_OTHER;
        t = apr_hash_get(ns->clients, key, APR_HASH_KEY_STRING);
    }
    if (!t) {
        t = apr_pcalloc(p, sizeof(*t));
        t->key = key;
        apr_hash_set(ns->clients, key, APR_HASH_KEY_STRING, t);
    }
    t->n++;
    t->answered += q->status == 200;
}

static const char *fed_name(void *ctx, uint64_t seq, apr_pool_t *p)
{
    const nodes_t *ns = ctx;

    if (seq == 0 || seq > ns->nfed) {
        return "?";
    }
    return nodeq_name(&ns->fed[seq - 1], p);
}

int nodes_flags(nodes_t *ns, apr_pool_t *p)
{
    const apr_array_header_t *fl;
    size_t total = 0, i;
    node_t *best, *n;
    int ni;

    for (ni = 0; ni < ns->nn; ni++) {
        n = ns->n[ni];
        total += n->ss.n;
        n->flat = apr_palloc(p, sizeof(*n->flat));
        n->buf = apr_palloc(p, VERIFY_AUDIT_LINE_MAX);
        if (feed_load(n) != 0) {
            return 1;
        }
    }
    ns->fed = big_grow(NULL, 0, (total + 1) * sizeof(*ns->fed));
    if (!ns->fed) {
        fprintf(stderr, PROG ": out of memory for %" APR_SIZE_T_FMT
                " queries\n", total);
        return 1;
    }
    verify_flags_name_lines(ns->flags, fed_name, ns);
    for (;;) {
        best = NULL;
        for (ni = 0; ni < ns->nn; ni++) {
            n = ns->n[ni];
            if (n->have && (!best || earlier(n, best))) {
                best = n;
            }
        }
        if (!best) {
            break;
        }
        ns->fed[ns->nfed].n = best;
        ns->fed[ns->nfed].q = &best->ss.q[best->next];
        best->fq.seq = ++ns->nfed;
        tally_client(ns, &best->fq, p);
        verify_flags_add(ns->flags, &best->fq);
        best->next++;
        if (feed_load(best) != 0) {
            return 1;
        }
    }
    verify_flags_end(ns->flags);
    fl = ns->found = verify_flags_found(ns->flags);
    for (i = 0; i < (size_t)fl->nelts; i++) {
        uint64_t seq = APR_ARRAY_IDX(fl, i, verify_flag_t).seq;
        squery_t *q = ns->fed[seq - 1].q;
        if (!q->nflags) {
            q->first_flag = (int)i;
        }
        q->nflags++;
    }
    return 0;
}

