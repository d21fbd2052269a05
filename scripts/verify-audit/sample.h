/*
 * sample.h -- the month's sample (R5.1, R5.2): what one reading of the
 * log gathers for it (sample_scan.c), the signed checkpoint whose root
 * is the seed and the tree that checks it (seed.c), and output marked
 * as a preview (preview.c). cmd_sample.c draws and prints.
 */
#ifndef VERIFY_AUDIT_SAMPLE_H
#define VERIFY_AUDIT_SAMPLE_H

#include "tool.h"
#include "verify_node.h"

/* Leaf hashes kept after the month's end to check a checkpoint's root
 * at any size up to the seed (32 bytes each: 128 MB at the most). */
#define TAIL_MAX (4u << 20)

/* One query line of the month. */
typedef struct squery_t {
    uint64_t seq;
    apr_off_t off;              /* where it starts in its file */
    int file;
    int answered;               /* status 200: the population */
    int drawn;                  /* in the random draw */
    unsigned char hash[32];     /* its chain hash: the second reading
                                   checks the line against it */
    uint64_t rid;               /* request_id: offset in ss->rids */
    uint32_t rid_len;           /* its bytes (0: none, or empty) */
    int first_flag, nflags;     /* its flags in the sorted list */
} squery_t;

/* A refusal's count, by status and error code. */
typedef struct refusal_t {
    int status;
    const char *error;          /* NULL when the line has none */
    uint64_t n;
} refusal_t;

/* The tree from one size on: its edge there and the leaf hashes after
 * it, so that the root of any size from there to the last leaf kept
 * can be made. */
typedef struct snap_t {
    int active;                 /* leaves are still added */
    verify_merkle_edge_t edge;
    unsigned char (*leaf)[VERIFY_MERKLE_HASH_LEN];
    size_t n, cap;
    int cut;                    /* TAIL_MAX reached: leaves dropped */
} snap_t;

/* A signed checkpoint, opened and checked against the log. */
typedef struct seedcp_t {
    int found;
    uint64_t size;
    unsigned char root[VERIFY_MERKLE_HASH_LEN];
    const char *time;           /* its "time" extension's value */
    const char *note;           /* the signed note, verbatim */
    const char *key;            /* the key that verified it */
    uint64_t line_seq;          /* its line in the log, or 0 */
    const char *reason;         /* the line's reason, or NULL */
    const char *file;           /* the checkpoint file, or NULL */
} seedcp_t;

/* What one reading of the log gathers for a month's sample. */
typedef struct sample_scan_t {
    const audit_args_t *a;
    char month[8];              /* "YYYY-MM" */
    char next[26];              /* the first second after the month:
                                   "YYYY-MM-01T00:00:00+08:00" */
    int past;                   /* a line after the month was read */
    verify_chain_t end;         /* the month's last line (seq 0: none) */
    squery_t *q;                /* the month's queries, in chain order */
    size_t n, cap;
    uint64_t answered, refused;
    apr_hash_t *refusals;       /* "status error" -> refusal_t */
    char *rids;                 /* the request_ids, one after another */
    size_t rids_len, rids_cap;
    verify_flags_t *flags;
    /* the tree, leaf by leaf */
    int tree_ok;                /* the files start at seq 1 */
    verify_merkle_edge_t edge;  /* every line read */
    snap_t at_end;              /* from the month's end (the seed) */
    snap_t at_cp[2];            /* from the last two checkpoint lines:
                                   the newest one's root is made from the
                                   one before (preview) */
    int cp_cur;                 /* at_cp[cp_cur] takes leaves */
    seedcp_t seed;              /* the first checkpoint after the month
                                   that covers it: the official seed */
    /* the newest checkpoint line, for a preview */
    uint64_t newest_seq, newest_size;
    line_copy_t newest_line;    /* the line itself */
    const char *error;          /* why the reading stopped, or NULL */
    /* one node of several (sample_nodes.c): its queries ranked by
     * "NODE:request_id", the month's lines not fed to the flags here
     * (the flags of all nodes are fed in time order afterwards) */
    int multi;
    const char *label;          /* "node directory DIR: " before its
                                   messages, or "" */
    char node[VERIFY_NODE_MAX + 1];     /* the node of its queries */
    char *buf;                  /* unescaping (VERIFY_AUDIT_LINE_MAX) */
    apr_pool_t *p;
    apr_pool_t *scratch;        /* cleared after each checkpoint line */
} sample_scan_t;

/* -- sample_scan.c ---------------------------------------------------- */

/* Read the files once for @p month (checked): @p ss set up, the chain
 * checked, the queries, refusals, flags, the tree and the seed
 * candidates gathered. @return as verify_chain_scan(); on -1 the reason
 * is said (ss->error or s->error). */
int sample_scan(sample_scan_t *ss, verify_scan_t *s, const audit_args_t *a,
                const verify_flags_conf_t *fc, apr_pool_t *p);
void sample_scan_free(sample_scan_t *ss);
/* The same for one node of several: its messages start with @p label,
 * the queries before the month go to the shared @p flags, those of the
 * month are kept only (every one must name the same node, kept in
 * ss->node). */
int sample_scan_node(sample_scan_t *ss, verify_scan_t *s,
                     const audit_args_t *a, verify_flags_t *flags,
                     const char *label, apr_pool_t *p);

/* -- seed.c ----------------------------------------------------------- */

/* Start @p sn as the tree @p edge, keeping leaves from now on. */
void snap_start(snap_t *sn, const verify_merkle_edge_t *edge);
/* One more leaf into an active snap. */
void snap_add(snap_t *sn, const unsigned char leaf[VERIFY_MERKLE_HASH_LEN]);
/* The root of the tree of @p size leaves: 0, or -1 when @p sn cannot
 * make it (size outside what it holds). */
int snap_root(const snap_t *sn, uint64_t size,
              unsigned char root[VERIFY_MERKLE_HASH_LEN]);
void snap_free(snap_t *sn);

/* The value of a checkpoint's "time" extension line, or NULL. */
const char *checkpoint_time(const verify_checkpoint_t *cp, apr_pool_t *p);

/* A checkpoint line (@p line, @p len, seq @p seq) read after the month
 * while no seed is found: is it the seed? Its signature is checked
 * (a failure stops: ss->error), then whether it was made after the
 * month, then its root against the log. 0 go on, -1 stop. */
int seed_consider_line(sample_scan_t *ss, const char *line, size_t len,
                       uint64_t seq);
/* Any checkpoint line: kept for a preview when its root can be made. */
void seed_note_line(sample_scan_t *ss, const char *line, size_t len,
                    uint64_t seq, uint64_t size);
/* After the reading: the files of --checkpoints DIR that may be an
 * earlier seed. 0, or 1 with the reason said. */
int seed_from_dir(sample_scan_t *ss);
/* For a preview: the newest checkpoint line checked, into @p cp (found
 * 0 when there is none). 0, or 1 with the reason said. */
int seed_newest(sample_scan_t *ss, seedcp_t *cp);

/* -- again.c ---------------------------------------------------------- */

/* The files open for the second reading. */
typedef struct again_t {
    const apr_array_header_t *files;
    int fd, fi;                 /* fd -1: none open */
    char *line;                 /* VERIFY_AUDIT_LINE_MAX bytes */
    size_t len;
    apr_pool_t *p;
} again_t;

/* The line of @p q read again (g->line, g->len bytes, no newline),
 * checked against its chain hash: NULL with a message when the file
 * changed since the first reading. */
const char *again_line(again_t *g, const squery_t *q);
/* The same, parsed. */
json_t *read_again(again_t *g, const squery_t *q);
void again_close(again_t *g);

/* -- sample_nodes.c ---------------------------------------------------- */

/* sample given several nodes' directories (a->nodes): one population. */
int sample_nodes(const audit_args_t *a, apr_pool_t *p);

/* -- big.c ------------------------------------------------------------ */

/* A large array grown from @p old (@p old_bytes) to @p new_bytes, the
 * new part zeroed, in huge pages where the kernel gives them (a month's
 * queries take a hundred megabytes: page by page, faulting them in
 * cost more than reading them). NULL when there is no memory (@p old
 * is kept). */
void *big_grow(void *old, size_t old_bytes, size_t new_bytes);
void big_free(void *mem, size_t bytes);

/* -- preview.c -------------------------------------------------------- */

/* The mark at the start of every line of a preview. */
#define PREVIEW_MARK "PREVIEW, NOT an official draw | "

/* From now on stdout is kept back, to be printed by preview_end() with
 * PREVIEW_MARK before every line: 0, or 1 with the reason said. */
int preview_begin(void);
/* Print what was kept, every line marked: 0, or 1 when it failed. */
int preview_end(void);

/* sample's listing: the refusals by kind (most first), then the sample
 * size and its rule (cmd_sample.c; one node or several). */
void print_refusals_and_size(apr_hash_t *refusals, apr_uint64_t answered,
                             size_t k, apr_pool_t *p);
/* A listed line's 11 cells from seq to "sample" (its line @p j read
 * again), as sample's table shows them (cmd_sample.c; the nodes' table
 * puts its node before them). */
void sample_row_cells(json_t *j, const squery_t *q, const char **raw,
                      size_t *rlen, apr_pool_t *p);

#endif /* VERIFY_AUDIT_SAMPLE_H */
