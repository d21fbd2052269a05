/*
 * month.h -- a month's queries, shared by sample and report (month.c).
 *
 * sample and report read a month's query lines twice: once to count,
 * check and rank them, once more (by offset, each line checked against
 * the digest of the first reading) to print them. So nothing but a few
 * bytes per query stays in memory, however long the month.
 */
#ifndef VERIFY_AUDIT_MONTH_H
#define VERIFY_AUDIT_MONTH_H

#include "tool.h"

/* One query line of the month: where it is, and what it was. */
typedef struct qline_t {
    uint64_t seq;
    apr_off_t off;
    int file;
    int bad;                    /* refused by the chain check */
    unsigned char digest[32];   /* SHA-256 of the line as first read */
    unsigned char rank[32];     /* the sample's rank (with a seed) */
} qline_t;

/* One row of a summary table. */
typedef struct tally_t {
    const char *key;            /* TALLY_OTHER for the lumped rest */
    uint64_t n, answered;
} tally_t;

/* The key of the tally that lumps the values past the first TALLY_MAX. */
#define TALLY_OTHER "\x7f(other)"

typedef struct month_t month_t;

/* One line as the scan saw it, for month_t.each. */
typedef struct month_seen_t {
    json_t *j;                  /* a line that is not a query, parsed;
                                   NULL for a query, or not JSON */
    const verify_flat_t *flat;  /* the line indexed; NULL if not JSON */
    const char *line;           /* its bytes, without the newline */
    size_t len;
    int bad;                    /* refused by the chain check */
    int file;
    apr_off_t off;
    int in_month;               /* its ts is in the month */
    qline_t *q;                 /* the query it was counted as, or NULL */
} month_seen_t;

struct month_t {
    const char *month;          /* "YYYY-MM" */
    const unsigned char *seed;  /* sample: rank by it; NULL: no rank */
    size_t seed_len;
    int summary;                /* report: count by error, client, check */
    audit_walk_t *walk;         /* report: every line read a leaf of it
                                   (NULL: none); the walk is the hashing
                                   thread's until month_scan() returns */
    int threads;                /* VERIFY_AUDIT_THREADS (0 or 1: hash
                                   on the reading thread) */
    struct hash_ahead_t *ahead; /* the hashes (hash_ahead.c) */
    qline_t *q;                 /* the queries, in chain order */
    size_t n, cap;
    uint64_t answered, bad;
    uint64_t *file_lines;       /* lines of the month, per file */
    verify_chain_t end;         /* the last line up to the month's end */
    apr_hash_t *by_status, *by_client, *by_check, *by_service;
    apr_hash_t *by_checks_text; /* tally_t by the text of "checks" */
    verify_flat_t *flat;        /* a line after a fault, indexed */
    char *buf;                  /* unescaped members of the line */
    apr_array_header_t *recovers;   /* json_t * of audit_recover lines */
    /* report: called with every line after it is counted; 0 to go on,
     * -1 to stop (having said why) */
    int (*each)(month_t *m, const month_seen_t *l);
    void *each_ctx;
    apr_pool_t *p;
};

/* Reads query lines a second time, by offset. */
typedef struct reader_t {
    const apr_array_header_t *files;    /* const char * */
    int fd;                     /* of file fi, or -1 */
    int fi;
    char *line;                 /* VERIFY_AUDIT_LINE_MAX bytes */
    size_t len;
    apr_pool_t *p;
} reader_t;

/* Scan the files for month @p month (with @p m's seed and summary set);
 * prints why when the files cannot be read.
 * @return as verify_chain_scan() */
int month_scan(verify_scan_t *s, month_t *m, const audit_args_t *a,
               int keep_going, apr_pool_t *p);
void month_free(month_t *m);
/* Queries by rank (the sample first), and back in chain order. */
void month_sort_by_rank(month_t *m);
void month_sort_by_place(month_t *m, size_t k);
/* A note when the month is not over yet (Taipei time), else NULL. */
const char *month_note(const char *month, apr_pool_t *p);

void reader_init(reader_t *r, const apr_array_header_t *files,
                 apr_pool_t *p);
/* The line of @p q again, or NULL with a message when it is not the
 * line the scan read (the file changed in between). */
json_t *reread(reader_t *r, const qline_t *q);
void reader_close(reader_t *r);

#endif /* VERIFY_AUDIT_MONTH_H */
