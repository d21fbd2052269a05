/*
 * sample_nodes.h -- the month's sample of several nodes' logs as one
 * population (docs/scaling.md section 5): what sample_nodes.c gathers
 * and draws, and sample_nodes_print.c prints.
 */
#ifndef VERIFY_AUDIT_SAMPLE_NODES_H
#define VERIFY_AUDIT_SAMPLE_NODES_H

#include "sample.h"
#include "flags_line.h"
#include "month.h"

/* What a preview says it is, in JSON. */
#define NODES_PREVIEW_TEXT "NOT an official draw: a preview of a month " \
    "without every node's seed checkpoint yet; the seed can still change"

/* What the month's seed of several nodes hashes first. */
#define NODES_SEED_TAG "mod_verify multi-node seed v1\n"

/* One node: its directory read as one log, exactly as sample reads the
 * log of one node, its seed checkpoint found and checked there. */
typedef struct node_t {
    const char *dir;
    const char *label;          /* "node directory DIR: " (safe) */
    audit_args_t a;             /* its files and purge checkpoint */
    sample_scan_t ss;
    verify_scan_t s;
    seedcp_t cp;                /* its seed checkpoint; for a preview
                                   of an open month its newest one */
    int official;               /* cp is the month's seed checkpoint */
    const char *origin;         /* cp's origin */
    char root_hex[65];          /* ... and root, in hex */
    again_t g;                  /* its files, read again */
    /* the month's queries fed to the flags in time order */
    verify_flat_t *flat;
    char *buf;
    size_t next;                /* the next of ss.q to feed */
    int have;                   /* fq holds ss.q[next] */
    verify_flags_query_t fq;
} node_t;

/* A query of one node. */
typedef struct nodeq_t {
    node_t *n;
    squery_t *q;
} nodeq_t;

typedef struct nodes_t {
    const audit_args_t *a;
    node_t **n;                 /* in byte order of their origins */
    int nn;
    verify_flags_conf_t fc;
    verify_flags_t *flags;      /* fed by every node */
    unsigned char seed[VERIFY_MERKLE_HASH_LEN];
    char seed_hex[2 * VERIFY_MERKLE_HASH_LEN + 1];
    const char *seed_text;      /* what the seed is the SHA-256 of */
    int official;               /* every node's cp is its month seed's:
                                   else a preview, marked on every line */
    uint64_t answered, refused; /* of all nodes */
    apr_hash_t *refusals;       /* "status error" -> refusal_t */
    size_t k;                   /* the sample size */
    nodeq_t *fed;               /* the queries as the flags read them:
                                   the flags' seq N is fed[N - 1] */
    size_t nfed;
    const apr_array_header_t *found;    /* verify_flag_t, by that seq */
    size_t flagged, flagged_only;
    nodeq_t *out;               /* the lines shown: by node, in chain
                                   order */
    size_t nout;
    const char *note;           /* the month is not over, or NULL */
    apr_hash_t *clients;        /* tally_t (month.h) by client */
    apr_pool_t *p;
} nodes_t;

/* -- sample_nodes.c ------------------------------------------------------ */

/* Read every node of a->nodes, check each, make the seed, draw, flag:
 * 0, or the exit status with the reason said. */
int nodes_build(nodes_t *ns, const audit_args_t *a, apr_pool_t *p);
void nodes_free(nodes_t *ns);

/* -- sample_nodes_flags.c ------------------------------------------------ */

/* Feed ns->flags every node's queries of the month, merged by ts (each
 * node's in chain order), counting them by client too; tie the flags
 * found to their queries. 0, or 1 with the reason said. */
int nodes_flags(nodes_t *ns, apr_pool_t *p);

/* -- sample_nodes_print.c ------------------------------------------------ */

/* The sample as text, or as JSON Lines (--json). 0, or 1 when a line
 * changed since it was read (said). */
int nodes_print_text(nodes_t *ns, apr_pool_t *p);
int nodes_print_json(nodes_t *ns, apr_pool_t *p);
/* "node-a seq 12" of a query. */
const char *nodeq_name(const nodeq_t *x, apr_pool_t *p);

#endif /* VERIFY_AUDIT_SAMPLE_NODES_H */
