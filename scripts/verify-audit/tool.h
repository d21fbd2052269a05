/*
 * tool.h -- verify-audit's private header: the command line as the
 * commands see it, the commands, and what more than one of them uses.
 */
#ifndef VERIFY_AUDIT_TOOL_H
#define VERIFY_AUDIT_TOOL_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_hash.h>
#include <jansson.h>
#include "verify.h"
#include "verify_chain_par.h"

#define PROG "verify-audit"

/* Audit files are kept at least this long (R4.1.5, R4.2.5). */
#define KEEP_MONTHS (5 * 12)

/* What the command line gave a command (NULL/0: not given). */
typedef struct audit_args_t {
    apr_array_header_t *files;  /* const char *: audit files, chain order */
    apr_array_header_t *nodes;  /* const char *: sample and report given
                                   two or more directories: each one
                                   node's log (docs/scaling.md 5); NULL
                                   otherwise */
    const char *checkpoint;     /* newest purge checkpoint of the dirs */
    const char *dir;            /* purge: the audit directory */
    const char *file_args;      /* the FILE|DIR arguments, shell-quoted */
    const char *month;          /* --month YYYY-MM (checked) */
    const char *seed;           /* --seed: given only to be refused */
    const char *id;             /* --id, read from stdin for "-" (checked) */
    const char *key;            /* --key FILE */
    const char *out;            /* --out FILE|- (subject-key) */
    const char *since;          /* --since YYYY-MM-DD (checked) */
    const char *config;         /* --config FILE */
    const char *certs;          /* --certs DIR (roster) */
    const char *before;         /* --before YYYY-MM-DD (purge checks it) */
    const char *events;         /* --events SPOOL (purge); NULL: default */
    int months;                 /* --months N (checked; default 6) */
    int as_json;                /* --json */
    int dry_run;                /* --dry-run */
    uint64_t seq;               /* --seq N (checked: at least 1) */
    uint64_t size;              /* --size M (0: the whole log) */
    uint64_t from;              /* --from M1 (checked: at least 1) */
    uint64_t to;                /* --to M2 (checked: at least --from) */
    const char *leaf;           /* --leaf HEX (checked: 64 hex digits) */
    const char *origin;         /* --origin NAME (pubkey) */
    const char *state;          /* --state FILE (witness) */
    apr_array_header_t *verifier_args;  /* const char *: each --verifier */
    apr_array_header_t *witnessed;      /* const char *: each --witnessed */
    verify_note_verifier_t *keys;       /* the keys of --verifier, parsed */
    int nkeys;                  /* 0: no --verifier given */
    const char *note_file;      /* witness: the CHECKPOINT argument */
    const char *proof_file;     /* witness: the PROOF argument, or NULL */
    const char *csv;            /* --csv FILE (report) */
    const char *output;         /* --output FILE (report) */
    const char *checkpoints;    /* --checkpoints DIR (sample) */
    int preview;                /* --preview (sample) */
    const char *flags;          /* --flags FILE (sample) */
    int print_flag_defaults;    /* --print-flag-defaults (sample) */
    int all;                    /* --all (report: list every query) */
    /* the R5.2 records (records.h) */
    const char *records;        /* --records DIR (every command) */
    const char *auditors;       /* --auditors A,B,C (assign) */
    const char *auditor;        /* --auditor NAME (finding) */
    const char *result;         /* --result in-order|anomaly (finding) */
    const char *note;           /* --note TEXT (finding) */
    const char *request_id;     /* --request-id ID (finding, investigation) */
    const char *year;           /* --year YYYY (findings) */
    const char *reviewer;       /* --reviewer NAME (ip-review --record) */
    int record;                 /* --record (ip-review) */
    const char *ethics;         /* --ethics NAME: the Ethics Office's */
    const char *ethics_date;    /* --ethics-date YYYY-MM-DD */
    const char *conclusion;     /* --conclusion TEXT */
    int any_auditor;            /* --any-auditor (finding) */
    int every_signature;        /* --every-signature (verify) */
    /* set by verify for its reading of the log, never by an option:
     * keys_open matches signature lines to keys by name and id only
     * (the newest checkpoint's signature is checked after, vouch.c) */
    int named_only;
} audit_args_t;

/* The commands (cmd_*.c): exit status 0 done, 1 failed, 2 usage. */
int cmd_verify(const audit_args_t *a, apr_pool_t *p);
int cmd_sample(const audit_args_t *a, apr_pool_t *p);
/* sample --print-flag-defaults: the built-in thresholds as a file. */
int cmd_sample_flag_defaults(const audit_args_t *a, apr_pool_t *p);
int cmd_report(const audit_args_t *a, apr_pool_t *p);
int cmd_subject(const audit_args_t *a, apr_pool_t *p);
int cmd_subject_key(const audit_args_t *a, apr_pool_t *p);
int cmd_roster(const audit_args_t *a, apr_pool_t *p);
int cmd_ip_review(const audit_args_t *a, apr_pool_t *p);
int cmd_purge(const audit_args_t *a, apr_pool_t *p);
int cmd_prove(const audit_args_t *a, apr_pool_t *p);
int cmd_consistency(const audit_args_t *a, apr_pool_t *p);
int cmd_check_receipt(const audit_args_t *a, apr_pool_t *p);
int cmd_pubkey(const audit_args_t *a, apr_pool_t *p);
int cmd_witness(const audit_args_t *a, apr_pool_t *p);

/* -- a copy of one line, kept (line_copy.c) ------------------------- */

typedef struct line_copy_t {
    char *buf;                  /* malloc; NULL until a line is kept */
    size_t len, cap;
} line_copy_t;

/* Keep a copy of @p line: 0, or -1 without memory (then c->len is 0). */
int line_copy_set(line_copy_t *c, const char *line, size_t len);
void line_copy_free(line_copy_t *c);

/* -- small files (readfile.c) ---------------------------------------- */

/* The whole of @p path, a regular file of at most @p max bytes, into
 * *buf (from @p p, NUL-terminated; *len bytes): NULL, or why not. */
const char *read_small(const char *path, size_t max, char **buf,
                       size_t *len, apr_pool_t *p);

/* -- verifier keys and signed checkpoints (keys.c) -------------------- */

/* Every --verifier (a key string, or a file of them) into a->keys:
 * 0, or 2 with the fault said. */
int keys_parse(audit_args_t *a, apr_pool_t *p);
/* "NAME+KEYID" of a key, for messages. */
const char *key_label(const verify_note_verifier_t *v, apr_pool_t *p);
/* The signed checkpoint @p note (@p len bytes) opened with a->keys: its
 * origin must be the name of the key that signed it (*by, its index).
 * NULL, or what is wrong (log text in it: show it with safe_str). With
 * a->named_only the signature is matched by the key's name and id and
 * not checked (verify_checkpoint_open_named). */
const char *keys_open(const audit_args_t *a, const char *note, size_t len,
                      verify_checkpoint_t *cp, int *by, apr_pool_t *p);

/* -- checkpoints held outside the log: --witnessed (held.c) ----------- */

/* One signed checkpoint of a --witnessed source, opened. */
typedef struct audit_held_t {
    uint64_t size;
    unsigned char root[VERIFY_MERKLE_HASH_LEN];
    const char *file;           /* the file it was read from */
    unsigned long line;         /* its line in a syslog extract, or 0 */
    const char *note;           /* the signed note, when kept */
    size_t order;               /* as read */
    int want;                   /* its root's slot in a walk (walk_want) */
} audit_held_t;

/* Every note of every --witnessed source, each opened with a->keys,
 * into *held (audit_held_t, sorted by size, then as read); the notes
 * themselves are kept when @p keep_notes. A note that does not open is
 * said on stdout and counted. @return the notes refused, or -1 when a
 * source cannot be read at all (said on stderr). */
int held_read(const audit_args_t *a, int keep_notes,
              apr_array_header_t **held, apr_pool_t *p);
/* "FILE" or "FILE:LINE" of a held note, safe to show. */
const char *held_where(const audit_held_t *h, apr_pool_t *p);

/* -- a checkpoint line of the log (cpline.c) ------------------------- */

/* Is @p j a checkpoint line ("op":"checkpoint")? */
int is_checkpoint(json_t *j);
/* A checkpoint line of seq @p seq by itself: its note opens with the
 * keys, and its origin, size and root members are the note's, whose
 * size is below @p seq. NULL with *cp the checkpoint and *by the key's
 * index, or what is wrong (show it with safe_str). Allocates from
 * @p p: clear it after each line. */
const char *cpline_check(const audit_args_t *a, json_t *j, uint64_t seq,
                         verify_checkpoint_t *cp, int *by, apr_pool_t *p);
/* The same of the line's flat index (cpline_flat.c), without jansson:
 * 1 when cpline_check() finds it sound (*cp and *by as it gives them),
 * else 0 (ask cpline_check what is wrong). */
int cpline_sound_flat(const audit_args_t *a, const verify_flat_t *f,
                      uint64_t seq, verify_checkpoint_t *cp, int *by,
                      apr_pool_t *p);

/* -- the RFC 6962 tree over the lines, read once (tree.c) ---------- */

/* The root of the tree of one size, asked of a walk before it starts. */
typedef struct audit_want_t {
    uint64_t size;
    unsigned char root[VERIFY_MERKLE_HASH_LEN];
    int got;                    /* the walk reached the size */
} audit_want_t;

/* Recent roots (walk_keep_history): leaf hashes of the last
 * HISTORY_LEAVES lines and the right edge at every HISTORY_STEP-th
 * size among them. */
#define HISTORY_LEAVES 65536
#define HISTORY_STEP 16

/*
 * One reading of the log as a tree, leaf by leaf, in order: the right
 * edge, one leaf hash, the roots of chosen sizes, a proof whose
 * subtrees fill in as their leaves pass, and, when asked, the roots of
 * the recent sizes. Memory does not grow with the log.
 */
typedef struct audit_walk_t {
    verify_merkle_edge_t edge;  /* the tree of the leaves so far */
    uint64_t index;             /* the leaf kept (UINT64_MAX: none) */
    unsigned char leaf[VERIFY_MERKLE_HASH_LEN];
    apr_array_header_t *want;   /* audit_want_t, sizes not decreasing */
    int next_want;              /* the first not reached yet */
    verify_merkle_ranges_t ranges;  /* the proof's subtrees */
    verify_merkle_proof_t proof;    /* complete when next_range = count */
    size_t order[VERIFY_MERKLE_PROOF_MAX];  /* ranges by first leaf */
    size_t next_range;
    verify_merkle_edge_t sub;   /* the subtree being filled */
    unsigned char (*hist_leaf)[VERIFY_MERKLE_HASH_LEN];  /* or NULL */
    verify_merkle_edge_t *hist_edge;
    uint64_t base;              /* leaves not read: before a purge */
    verify_merkle_edge_t base_edge; /* the edge the walk started from */
} audit_walk_t;

void walk_init(audit_walk_t *w, apr_pool_t *p);
/* Go on from @p e, the tree's right edge at its size (what a purge
 * checkpoint keeps) instead of the empty tree: the next leaf is leaf
 * e->size. Before anything is asked. */
void walk_start_at(audit_walk_t *w, const verify_merkle_edge_t *e);
/* Ask for the root of @p size: its index in w->want, or -1 when the
 * sizes asked would decrease. A size below w->base is never reached. */
int walk_want(audit_walk_t *w, uint64_t size);
/* Ask for the inclusion proof of leaf @p index in the tree of @p size,
 * or the consistency proof from @p size1 to @p size2 (and keep leaf
 * @p index / ask for the roots of both sizes). */
apr_status_t walk_want_inclusion(audit_walk_t *w, uint64_t index,
                                 uint64_t size);
apr_status_t walk_want_consistency(audit_walk_t *w, uint64_t size1,
                                   uint64_t size2);
/* Keep the hash of leaf @p index (w->leaf). */
void walk_want_leaf(audit_walk_t *w, uint64_t index);
/* Keep what walk_root_at() needs (10 MB: the edge at every 16th size,
 * so that a root takes 8 leaves on average, not 32). */
void walk_keep_history(audit_walk_t *w, apr_pool_t *p);
/* Add the line (without its newline) as the next leaf. */
apr_status_t walk_leaf(audit_walk_t *w, const char *line, size_t len);
/* The same, given the line's leaf hash (verify_merkle_leaf_hash). */
apr_status_t walk_leaf_hash(audit_walk_t *w,
                            const unsigned char leaf[VERIFY_MERKLE_HASH_LEN]);
/* The root of the tree of @p size leaves, no larger than the tree so
 * far: APR_SUCCESS; APR_EINVAL when larger; APR_INCOMPLETE when it is
 * further back than the history kept; APR_ENOENT when it is below the
 * edge the walk started from. */
apr_status_t walk_root_at(const audit_walk_t *w, uint64_t size,
                          unsigned char root[VERIFY_MERKLE_HASH_LEN]);
/* Is the proof asked complete? */
int walk_proof_done(const audit_walk_t *w);

/* verify_scan_line_fn that adds every line to the walk in s->ctx. */
int walk_line(verify_scan_t *s, const char *line, size_t len, json_t *j,
              int bad, int file, apr_off_t off);
/* Read the log as a tree: scan_intact(), refusing a log without lines
 * or that does not start at seq 1. 0, or 1 with the reason printed. */
int tree_scan(verify_scan_t *s, const char *cmd);
/*
 * Read the log again for what @p w asks, up to the line of seq
 * @p at->seq, which must still carry the hash @p at->hash that the
 * first reading saw (else the log changed in between, and is said so).
 * 0, or 1 with the reason printed.
 */
int tree_reread(const audit_args_t *a, const char *cmd, audit_walk_t *w,
                const verify_chain_t *at, apr_pool_t *p);
/* Standard base64 of a hash into @p out. */
const char *tree_b64(const unsigned char h[VERIFY_MERKLE_HASH_LEN],
                     char out[45]);
/* One base64 line per hash of @p proof, in RFC 6962's order. */
void tree_print_proof(const verify_merkle_proof_t *proof);
/* The inclusion proof of line @p seq (its leaf hash @p leaf) in the tree
 * of @p size leaves, in the text of docs/data-formats.md section 4. */
void tree_print_inclusion(uint64_t seq, uint64_t size,
                          const unsigned char leaf[VERIFY_MERKLE_HASH_LEN],
                          const unsigned char root[VERIFY_MERKLE_HASH_LEN],
                          const verify_merkle_proof_t *proof);

/* -- the text of a consistency proof, read (proof.c) ----------------- */

/* What `consistency` prints. */
typedef struct audit_cproof_t {
    uint64_t size1;
    unsigned char root1[VERIFY_MERKLE_HASH_LEN];
    uint64_t size2;
    unsigned char root2[VERIFY_MERKLE_HASH_LEN];
    verify_merkle_proof_t proof;
} audit_cproof_t;

/* Read the text of a consistency proof (docs/data-formats.md section
 * 4), strictly: NULL, or what is wrong (which line; log text in it). */
const char *proof_parse(const char *text, size_t len, audit_cproof_t *out,
                        apr_pool_t *p);

/* -- the signed checkpoint a proof is made against (pick.c) ---------- */

typedef enum {
    PICK_SIZE,                  /* the first of size n */
    PICK_NEWEST,                /* the largest size in the log */
    PICK_COVER                  /* the smallest size from n on */
} audit_pick_rule_t;

/* A signed checkpoint chosen from the log's lines and --witnessed. */
typedef struct audit_pick_t {
    /* asked */
    audit_pick_rule_t rule;
    uint64_t n;
    /* found */
    int found;
    uint64_t size;
    unsigned char root[VERIFY_MERKLE_HASH_LEN];
    const char *where;          /* where it was found, safe to show */
    char *note;                 /* the signed note (VERIFY_NOTE_MAX) */
    size_t note_len;
    const char *key;            /* the key that signed it, safe */
    uint64_t newest;            /* the largest sound size seen */
    uint64_t refused;           /* checkpoint lines refused */
    const char *bad;            /* the first refused before the pick */
} audit_pick_t;

/* Read the log as a tree (tree_scan, walking @p w; @p s receives the
 * scan) and pick a checkpoint by pk->rule among the sound checkpoint
 * lines and the --witnessed notes of no larger size than the log. 0, or
 * 1 with the reason printed. */
int pick_scan(const audit_args_t *a, const char *cmd, audit_walk_t *w,
              audit_pick_t *pk, verify_scan_t *s, apr_pool_t *p);
/* The picked checkpoint after a proof: where it is, its key, the note. */
void pick_print(const audit_pick_t *pk, apr_pool_t *p);

/* -- the chain, as the commands read it (chain.c, threads.c) -------- */

/* A scan of the command's files from its checkpoint on, calling
 * @p line_fn with @p ctx; nothing printed as found. */
void scan_init(verify_scan_t *s, const audit_args_t *a,
               verify_scan_line_fn line_fn, void *ctx, apr_pool_t *p);
/* verify_chain_scan(), saying why when it could not finish. */
int scan_run(verify_scan_t *s);
/* The same with the lines' work spread over threads
 * (verify_chain_scan_par; par->threads from scan_threads). */
int scan_run_par(verify_scan_t *s, const verify_par_t *par);
/* par->threads and par->window from the environment: VERIFY_AUDIT_THREADS
 * (threads checking lines; 1: the one-thread scan; default: the online
 * CPUs, at most AUDIT_THREADS_DEFAULT_MAX: env_threads.h) and
 * VERIFY_AUDIT_WINDOW (lines of a window). 0, or -1 with the fault said
 * (a usage error). */
int scan_threads(verify_par_t *par);
/* scan_run() refusing a broken chain: 0, or 1 with the reason printed. */
int scan_intact(verify_scan_t *s, const char *cmd);
/* "files:" and "chain:" lines of a text header. */
void chain_header(const verify_scan_t *s, apr_pool_t *p);
/* "audit-2026-11-01.jsonl .. audit-2026-11-27.jsonl" */
const char *files_span(const apr_array_header_t *files, apr_pool_t *p);

/* -- what a line says (line.c) -------------------------------------- */

/* A string member, or NULL. */
const char *jstr(json_t *j, const char *key);
/* A member as text: a string as it is, null or absent as NULL, any other
 * value as compact JSON. *len receives the length. */
const char *member_text(json_t *j, const char *key, size_t *len,
                        apr_pool_t *p);
/* The masked subject; anything that is not a mask shows "*". */
const char *safe_subject(json_t *j, apr_pool_t *p);
/* The checks asked, comma-separated; NULL when none. */
const char *checks_text(json_t *j, apr_pool_t *p);
/* "2026-11-27 14:55:06" of a ts; another text as it is; NULL as NULL. */
const char *ts_readable(const char *ts, apr_pool_t *p);
/* ts_readable() of the line's ts. */
const char *line_ts(json_t *j, apr_pool_t *p);
/* "200", or "403 check_not_permitted". */
const char *status_text(json_t *j, apr_pool_t *p);
/* The cells request_id, client, operator, case, reason, checks of a
 * table row (QUERY_CELLS of raw and len, for table_add()). */
#define QUERY_CELLS 6
#define QUERY_HEAD "request_id", "client", "operator", "case", "reason", \
                   "checks"
#define QUERY_MAXW 0, 20, 20, 24, 30, 30
void query_cells(json_t *j, const char **raw, size_t *len, apr_pool_t *p);
/* A query line (op "verify")? */
int is_query(json_t *j);
/* A query answered (status 200)? */
int answered_line(json_t *j);

/* -- who queried from where: roster and ip-review (callers.c) -------- */

/* Shown for a query refused before a client was known. */
#define NO_CLIENT "(none: unknown_client)"

/* A text member kept as bytes: s NULL when null or absent. */
typedef struct bstr_t {
    const char *s;
    size_t len;
} bstr_t;

/* One address of one client. */
typedef struct iprow_t {
    bstr_t client;
    const char *ip;
    char last[33];              /* last query in the period */
    char last_any[33];          /* last query in the files */
    uint64_t n;                 /* queries in the period */
    int registered;             /* listed for this client in the config */
    int dup_same;               /* listed twice for this client */
} iprow_t;

bstr_t member_bytes(json_t *j, const char *key, apr_pool_t *p);
/* An unambiguous hash key of two values (*klen its length). */
const char *key2(bstr_t a, const char *b, size_t blen, apr_size_t *klen,
                 apr_pool_t *p);
int cmp_bstr(bstr_t a, bstr_t b);
/* The row of (client, ip) in @p h, made when new. */
iprow_t *ip_row(apr_hash_t *h, bstr_t client, const char *ip,
                apr_pool_t *p);
/* For hash_sorted(): by client, then address. */
int cmp_iprow(const void *a, const void *b);
/* Keep a ts in a row ("" for none). */
void copy_ts(char out[33], const char *ts);
/* The client cell of a row: its bytes, or NO_CLIENT. */
void client_cell(bstr_t client, const char **raw, size_t *len);
/* A kept ts as shown: NULL when there is none. */
const char *row_ts(const char *ts, apr_pool_t *p);

#endif /* VERIFY_AUDIT_TOOL_H */
