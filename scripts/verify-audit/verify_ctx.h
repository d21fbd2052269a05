/*
 * verify_ctx.h -- what `verify` (cmd_verify.c) keeps as it reads the log,
 * shared with the file that words its verdict (cmd_verify_verdict.c).
 */
#ifndef VERIFY_AUDIT_VERIFY_CTX_H
#define VERIFY_AUDIT_VERIFY_CTX_H

#include "tool.h"
#include "vouch.h"

/* Faults printed of each kind; the rest are counted. */
#define SHOWN 20

/* A checkpoint whose root is too far back for the recent roots. */
typedef struct deferred_t {
    uint64_t seq;               /* its line */
    uint64_t size;
    unsigned char root[VERIFY_MERKLE_HASH_LEN];
    const char *where;          /* "FILE:LINE", safe to show */
    int want;                   /* its slot in the second walk */
} deferred_t;

/* What a worker finds of a sound line (verify_chain_par.h): its leaf
 * hash and ts, and of a checkpoint line what cpline_check() says. */
typedef enum { CP_NONE, CP_LINE, CP_SOUND } vcp_t;

typedef struct vpre_t {
    unsigned char leaf[VERIFY_MERKLE_HASH_LEN];
    char line_ts[40];           /* as flat_ts_copy() */
    vcp_t cp;                   /* CP_LINE: check it on this thread */
    int by;                     /* CP_SOUND: cpline_check's findings */
    uint64_t size;
    unsigned char root[VERIFY_MERKLE_HASH_LEN];
    char cp_ts[40];             /* as line_ts_copy() (= flat_ts_copy) */
} vpre_t;

typedef struct vctx_t {
    const audit_args_t *a;
    audit_walk_t walk;
    int tree;                   /* roots known: the log starts at seq 1,
                                   or after a purge that kept the edge */
    int started;                /* the first line was read */
    verify_merkle_edge_t *purge_edge;   /* the purge checkpoint's, or NULL */
    apr_array_header_t *held;   /* audit_held_t of --witnessed, or NULL */
    uint64_t unrooted;          /* checkpoints of sizes before the purge */
    uint64_t lines_cp;          /* checkpoint lines */
    uint64_t cp_ok;             /* ... sound */
    uint64_t cp_bad;            /* ... refused */
    uint64_t *by_key;           /* sound ones per key */
    uint64_t first_size;        /* size of the first sound one */
    uint64_t last_size;         /* ... and of the last */
    uint64_t last_seq;          /* its seq (0: none yet) */
    char last_ts[40];           /* its ts */
    char line_ts[40];           /* ts of the last line read */
    uint64_t signed_through;    /* largest size of a root found equal */
    apr_array_header_t *deferred;   /* deferred_t */
    const char *first_fault;    /* safe to show */
    uint64_t faults;            /* everything the checkpoints refuse */
    vouch_t *vouch;             /* signatures left to check, or NULL:
                                   each checked as it comes */
    apr_pool_t *p;
    apr_pool_t *scratch;        /* cleared after each checkpoint line */
} vctx_t;

/* The "checkpoints:" and "witnessed:" lines. */
void verdict_checked(const vctx_t *v, const apr_array_header_t *held,
                     uint64_t agree);
/* The lines no signed checkpoint covers: a warning, and the clause of
 * the verdict. */
const char *verdict_tail(const vctx_t *v, const verify_scan_t *s);
/* What the verdict FAILED says after "chain intact, but". */
const char *verdict_failures(const vctx_t *v, uint64_t held_bad,
                             uint64_t refused, uint64_t missing);

#endif /* VERIFY_AUDIT_VERIFY_CTX_H */
