/*
 * sample_nodes.c -- the month's sample of several nodes' logs as one
 * R5.1 population (docs/scaling.md section 5).
 *
 * Each directory given is one node's log, read exactly as sample reads
 * the log of one node (sample_scan): its own chain check, its own seed
 * checkpoint (the first signed one made after the month that covers its
 * last line, opened by a --verifier key whose name is its origin, its
 * root checked against that node's tree). The month's seed is
 * SHA-256(NODES_SEED_TAG, then for each node in byte order of its
 * origin: origin "\n" hex(root) "\n"): nobody chooses it, and anyone
 * re-derives it from the nodes' signed checkpoints with sha256sum. The
 * population is the answered queries of every node; the sample size is
 * that of their total; each is ranked by HMAC-SHA256(seed,
 * "NODE:request_id[/item]") and the smallest are drawn, whichever node
 * they are on. The anomaly flags read the month's queries of all nodes
 * together, in time order, since a balancer spreads a client's queries
 * over the nodes (sample_nodes_flags.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "month.h"
#include "sample_nodes.h"

/* -- each node's reading ----------------------------------------------- */

/* The first line of a signed note: the checkpoint's origin. */
static const char *note_origin(const char *note, apr_pool_t *p)
{
    const char *nl = note ? strchr(note, '\n') : NULL;

    return nl ? apr_pstrmemdup(p, note, (size_t)(nl - note)) : NULL;
}

/* Read node @p n: 0, or 1 with the reason said. */
static int node_read(nodes_t *ns, node_t *n, apr_pool_t *p)
{
    sample_scan_t *ss = &n->ss;
    char *err = NULL;
    int rc;

    n->a = *ns->a;
    n->a.nodes = NULL;
    n->a.files = apr_array_make(p, 16, sizeof(const char *));
    if (verify_audit_collect(1, &n->dir, n->a.files, &n->a.checkpoint, &err,
                             p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": %s%s\n", n->label, safe_str(p, err));
        return 1;
    }
    n->a.file_args = shell_quote(n->dir, p);
    if (n->a.files->nelts == 0) {
        fprintf(stderr, PROG ": %sno sample drawn: no audit files in it "
                "(audit-YYYY-MM-DD.jsonl)\n", n->label);
        return 1;
    }
    rc = sample_scan_node(ss, &n->s, &n->a, ns->flags, n->label, p);
    if (rc == 1) {
        fprintf(stderr, PROG ": %sno sample drawn: the audit chain of %s "
                "is broken, and a sample must come from intact logs:\n  %s\n"
                "(`" PROG " verify` on that directory shows it; keep a copy "
                "and investigate, R5.2)\n", n->label, ss->node[0]
                ? apr_psprintf(p, "the node %s", ss->node) : "the node",
                safe_str(p, n->s.fault));
        return 1;
    }
    if (rc < 0) {
        return 1;
    }
    if (!n->s.lines) {
        fprintf(stderr, PROG ": %sno sample drawn: no audit lines found\n",
                n->label);
        return 1;
    }
    if (!ss->tree_ok) {
        fprintf(stderr, PROG ": %sno sample drawn: its files start at seq %"
                APR_UINT64_T_FMT ", and its seed checkpoint is checked "
                "against its tree, which needs every line from seq 1\n",
                n->label, n->s.first_seq);
        return 1;
    }
    if (ss->seed.found) {
        n->cp = ss->seed;
        n->official = 1;
    }
    else if (ns->a->preview) {
        /* an open month: the node's newest checkpoint, checked */
        if (seed_newest(ss, &n->cp) != 0) {
            return 1;
        }
        if (!n->cp.found) {
            fprintf(stderr, PROG ": %sno preview drawn: no checkpoint line "
                    "in this node's log (a preview of several nodes makes "
                    "its seed from each node's newest signed checkpoint)\n",
                    n->label);
            return 1;
        }
    }
    else {
        fprintf(stderr, PROG ": %sno sample drawn: %s has no seed in this "
                "node's log yet: no signed checkpoint made after %s ended "
                "(time %s or later) that covers its last line (seq %"
                APR_UINT64_T_FMT ") is in it. Every node's parent signs one "
                "in the first seconds of the next month (reason \"month\"): "
                "give each node's files up to it.\n", n->label, ss->month,
                ss->month, ss->next, ss->end.seq);
        fprintf(stderr, PROG ": (until every node has it, --preview shows "
                "a sample that is NOT the official draw)\n");
        return 1;
    }
    n->origin = note_origin(n->cp.note, p);
    if (!n->origin) {
        fprintf(stderr, PROG ": %sno sample drawn: its seed checkpoint has "
                "no origin line\n", n->label);
        return 1;
    }
    verify_hex(n->cp.root, VERIFY_MERKLE_HASH_LEN, n->root_hex);
    return 0;
}

static int cmp_origin(const void *x, const void *y)
{
    const node_t *a = *(node_t *const *)x, *b = *(node_t *const *)y;

    return strcmp(a->origin, b->origin);    /* bytes, unsigned */
}

/* The nodes in byte order of their origins, each origin and each node
 * id once. 0, or 1 with the reason said. */
static int nodes_order(nodes_t *ns, apr_pool_t *p)
{
    node_t *x, *y;
    int i, j;

    qsort(ns->n, (size_t)ns->nn, sizeof(*ns->n), cmp_origin);
    for (i = 1; i < ns->nn; i++) {
        x = ns->n[i - 1];
        y = ns->n[i];
        if (!strcmp(x->origin, y->origin)) {
            fprintf(stderr, PROG ": no sample drawn: the node directories "
                    "%s and %s have seed checkpoints of the same origin %s: "
                    "the same node's log given twice, or two nodes signing "
                    "as one log (each node needs its own VerifyNodeId or "
                    "VerifyCheckpointOrigin, and its own key)\n",
                    safe_str(p, x->dir), safe_str(p, y->dir),
                    safe_str(p, x->origin));
            return 1;
        }
    }
    for (i = 0; i < ns->nn; i++) {
        for (j = i + 1; j < ns->nn; j++) {
            x = ns->n[i];
            y = ns->n[j];
            if (x->ss.node[0] && !strcmp(x->ss.node, y->ss.node)) {
                fprintf(stderr, PROG ": no sample drawn: the node "
                        "directories %s and %s both hold queries of the "
                        "node %s: each node needs an id of its own "
                        "(VerifyNodeId)\n", safe_str(p, x->dir),
                        safe_str(p, y->dir), x->ss.node);
                return 1;
            }
        }
    }
    return 0;
}

/* -- the month's seed -------------------------------------------------- */

static int nodes_seed(nodes_t *ns, apr_pool_t *p)
{
    const char *t = NODES_SEED_TAG;
    int i;

    for (i = 0; i < ns->nn; i++) {
        t = apr_pstrcat(p, t, ns->n[i]->origin, "\n", ns->n[i]->root_hex,
                        "\n", NULL);
    }
    ns->seed_text = t;
    if (verify_sha256(t, strlen(t), ns->seed) != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot hash (OpenSSL)\n");
        return 1;
    }
    verify_hex(ns->seed, sizeof(ns->seed), ns->seed_hex);
    return 0;
}

/* -- the draw ------------------------------------------------------------ */

typedef struct mranked_t {
    unsigned char rank[32];
    int node;                   /* its place in ns->n */
    uint64_t seq;
    squery_t *q;
} mranked_t;

static int cmp_mranked(const mranked_t *a, const mranked_t *b)
{
    int c = memcmp(a->rank, b->rank, 32);

    if (c) {
        return c;
    }
    if (a->node != b->node) {
        return a->node < b->node ? -1 : 1;
    }
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void m_sift_down(mranked_t *h, size_t n, size_t i)
{
    mranked_t x = h[i];
    size_t c;

    while ((c = 2 * i + 1) < n) {
        if (c + 1 < n && cmp_mranked(&h[c + 1], &h[c]) > 0) {
            c++;
        }
        if (cmp_mranked(&h[c], &x) <= 0) {
            break;
        }
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static void m_sift_up(mranked_t *h, size_t i)
{
    mranked_t x = h[i];

    while (i && cmp_mranked(&h[(i - 1) / 2], &x) < 0) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

/* The k smallest ranks of all nodes' answered queries, marked drawn. */
static int nodes_draw(nodes_t *ns, apr_pool_t *p)
{
    verify_sample_ranker_t *r;
    mranked_t *heap, x;
    size_t i, n = 0;
    int ni;

    ns->k = verify_sample_size((size_t)ns->answered);
    if (ns->k == 0) {
        return 0;
    }
    heap = malloc(ns->k * sizeof(*heap));
    if (!heap || verify_sample_ranker_make(&r, ns->seed, sizeof(ns->seed), p)
                 != APR_SUCCESS) {
        free(heap);
        fprintf(stderr, PROG ": out of memory (or OpenSSL failed) ranking "
                "%" APR_UINT64_T_FMT " queries\n", ns->answered);
        return 1;
    }
    for (ni = 0; ni < ns->nn; ni++) {
        sample_scan_t *ss = &ns->n[ni]->ss;
        for (i = 0; i < ss->n; i++) {
            if (!ss->q[i].answered) {
                continue;
            }
            x.node = ni;
            x.seq = ss->q[i].seq;
            x.q = &ss->q[i];
            verify_sample_ranker_rank(r, ss->rids ? ss->rids + ss->q[i].rid
                                                  : "", ss->q[i].rid_len,
                                      x.rank);
            if (n < ns->k) {
                heap[n] = x;
                m_sift_up(heap, n++);
            }
            else if (cmp_mranked(&x, &heap[0]) < 0) {
                heap[0] = x;
                m_sift_down(heap, n, 0);
            }
        }
    }
    for (i = 0; i < n; i++) {
        heap[i].q->drawn = 1;
    }
    free(heap);
    return 0;
}

/* The lines shown, node by node in chain order; the counts. */
static void nodes_gather(nodes_t *ns, apr_pool_t *p)
{
    size_t total = 0, i;
    int ni;

    for (ni = 0; ni < ns->nn; ni++) {
        total += ns->n[ni]->ss.n;
    }
    ns->out = apr_palloc(p, (total + 1) * sizeof(*ns->out));
    for (ni = 0; ni < ns->nn; ni++) {
        sample_scan_t *ss = &ns->n[ni]->ss;
        for (i = 0; i < ss->n; i++) {
            squery_t *q = &ss->q[i];
            if (q->nflags) {
                ns->flagged++;
                ns->flagged_only += !q->drawn;
            }
            if (q->drawn || q->nflags) {
                ns->out[ns->nout].n = ns->n[ni];
                ns->out[ns->nout++].q = q;
            }
        }
    }
}

/* The refusals of every node, counted together. */
static void nodes_refusals(nodes_t *ns, apr_pool_t *p)
{
    apr_hash_index_t *hi;
    refusal_t *r, *t;
    const char *key;
    int ni;

    ns->refusals = apr_hash_make(p);
    for (ni = 0; ni < ns->nn; ni++) {
        sample_scan_t *ss = &ns->n[ni]->ss;
        ns->answered += ss->answered;
        ns->refused += ss->refused;
        for (hi = apr_hash_first(p, ss->refusals); hi;
             hi = apr_hash_next(hi)) {
            r = apr_hash_this_val(hi);
            key = apr_psprintf(p, "%03d %s", r->status,
                               r->error ? r->error : "");
            t = apr_hash_get(ns->refusals, key, APR_HASH_KEY_STRING);
            if (!t) {
                t = apr_pmemdup(p, r, sizeof(*r));
                t->n = 0;
                apr_hash_set(ns->refusals, key, APR_HASH_KEY_STRING, t);
            }
            t->n += r->n;
        }
    }
}

/* -- the command ------------------------------------------------------- */

int nodes_build(nodes_t *ns, const audit_args_t *a, apr_pool_t *p)
{
    node_t *all;
    int i, rc;

    rc = flags_conf_load(a, &ns->fc, p);
    if (rc != 0) {
        return rc;
    }
    ns->a = a;
    ns->p = p;
    ns->nn = a->nodes->nelts;
    ns->flags = verify_flags_make(&ns->fc, p);
    ns->clients = apr_hash_make(p);
    all = apr_pcalloc(p, (size_t)ns->nn * sizeof(*all));
    ns->n = apr_pcalloc(p, (size_t)ns->nn * sizeof(*ns->n));
    for (i = 0; i < ns->nn; i++) {
        node_t *n = &all[i];
        n->dir = APR_ARRAY_IDX(a->nodes, i, const char *);
        n->label = apr_psprintf(p, "node directory %s: ",
                                safe_str(p, n->dir));
        n->g.fd = -1;
        ns->n[i] = n;
    }
    rc = 0;
    for (i = 0; i < ns->nn && rc == 0; i++) {
        rc = node_read(ns, &all[i], p);
        all[i].g.files = all[i].a.files;
        all[i].g.line = apr_palloc(p, VERIFY_AUDIT_LINE_MAX);
        all[i].g.p = p;
    }
    ns->official = 1;
    for (i = 0; i < ns->nn; i++) {
        ns->official &= all[i].official;
    }
    if (rc == 0) {
        rc = nodes_order(ns, p);
    }
    if (rc == 0) {
        rc = nodes_seed(ns, p);
    }
    if (rc == 0) {
        nodes_refusals(ns, p);
        rc = nodes_draw(ns, p);
    }
    if (rc == 0) {
        rc = nodes_flags(ns, p);
    }
    if (rc == 0) {
        nodes_gather(ns, p);
        ns->note = month_note(a->month, p);
    }
    return rc;
}

void nodes_free(nodes_t *ns)
{
    size_t total = 0;
    int i;

    for (i = 0; ns->n && i < ns->nn; i++) {
        total += ns->n[i]->ss.n;
        again_close(&ns->n[i]->g);
        sample_scan_free(&ns->n[i]->ss);
    }
    big_free(ns->fed, (total + 1) * sizeof(*ns->fed));
}

int sample_nodes(const audit_args_t *a, apr_pool_t *p)
{
    nodes_t *ns = apr_pcalloc(p, sizeof(*ns));
    int rc;

    if (a->checkpoints) {
        fprintf(stderr, PROG ": sample of several nodes' directories: "
                "--checkpoints belongs to one node's log (sample each node "
                "apart for it)\n");
        return 2;
    }
    if (a->preview && !a->nkeys) {
        fprintf(stderr, PROG ": a preview of several nodes needs --verifier, "
                "each node's key: its seed is made from every node's newest "
                "signed checkpoint, checked\n");
        return 2;
    }
    rc = nodes_build(ns, a, p);
    if (rc == 0 && ns->official && a->preview) {
        fprintf(stderr, PROG ": note: %s is closed on every node (their "
                "seed checkpoints exist): this is the official draw, not a "
                "preview\n", a->month);
    }
    if (rc == 0 && a->as_json) {
        rc = nodes_print_json(ns, p);
    }
    else if (rc == 0) {
        rc = !ns->official && preview_begin() != 0;
        if (rc == 0) {
            rc = nodes_print_text(ns, p);
        }
        if (!ns->official && preview_end() != 0) {
            rc = 1;
        }
    }
    if (rc == 0) {
        rc = write_failed();
    }
    nodes_free(ns);
    return rc;
}
