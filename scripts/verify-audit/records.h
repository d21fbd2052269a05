/*
 * records.h -- the R5.2 records log: who audits whom (assign), what each
 * auditor found (finding, investigation) and the whitelist reviews
 * (ip-review --record, R3.8), kept for five years in a chained log of
 * its own (records_log.c), each append attested in the audit chain
 * through the event spool (records_spool.c), checked by `verify
 * --records` (records_verify.c).
 *
 * The records log is one file, RECORDS_FILE, in a root-owned directory
 * that only root can write. Its lines are chained exactly as the audit
 * log's (verify_audit_seal: seq, ts, prev, hash), so the chain scan of
 * the audit log reads it. The signed checkpoints are made by the httpd
 * parent over the audit log only: after every append the tool leaves an
 * event "records" naming the records log's new head (seq and hash) in
 * the event spool, which httpd writes into the audit chain, so the
 * signed audit tree commits to the records log up to that head.
 */
#ifndef VERIFY_AUDIT_RECORDS_H
#define VERIFY_AUDIT_RECORDS_H

#include "tool.h"

/* The records directory of conf/directories (--records DIR). */
#define RECORDS_DEFAULT "/var/lib/verify/records"
/* The records log inside it. */
#define RECORDS_FILE "records.jsonl"
/* A whitelist review older than this many months is warned about. */
#define REVIEW_MONTHS 6

/* The records log, read. */
typedef struct records_t {
    const char *dir;            /* the directory, as given */
    const char *path;           /* DIR/records.jsonl */
    int exists;                 /* the file exists */
    apr_array_header_t *lines;  /* json_t *, in chain order (decref'd
                                   when the pool is cleared) */
    apr_array_header_t *raw;    /* const char *: each line's bytes */
    verify_chain_t head;        /* seq 0: no records */
    apr_array_header_t *hashes; /* unsigned char[32] of each line */
    const char *why;            /* why it could not be read */
} records_t;

/* The records directory of the command line: --records or the default. */
const char *records_dir(const audit_args_t *a);

/* Read the records log of @p dir (no file: no records): 0 read with
 * the chain intact; 1 the chain is broken or a line unreadable; -1
 * cannot read. r->why says why, and so does stderr unless @p cmd (what
 * is refused) is NULL. */
int records_load(records_t *r, const char *dir, const char *cmd,
                 apr_pool_t *p);

/* An append in progress: the log locked, its head known. */
typedef struct records_writer_t {
    records_t r;
    int dirfd, fd, spool;
    const char *cmd;
    char *buf;                  /* the sealed lines waiting */
    size_t len, cap;
    verify_chain_t next;        /* the head once they are written */
    uint64_t first;             /* seq of the first waiting line */
    unsigned char genesis[32];  /* the hash of seq 1: names the log */
    apr_pool_t *p;
} records_writer_t;

/*
 * Start an append for @p cmd: only root; the records directory (made
 * when missing, in a parent only root can write) and the file owned by
 * root and writable by nobody else, never through a symbolic link; the
 * event spool (--events, default VERIFY_SPOOL_DEFAULT) open; the log
 * locked against other appends and read, its chain intact. 0, or the
 * exit status with the reason said (nothing changed).
 */
int records_begin(records_writer_t *w, const audit_args_t *a,
                  const char *cmd, apr_pool_t *p);
/* One record: @p o's members (no seq, ts, prev, hash: the chain adds
 * them), "user" added. 0, or 1 with the reason said (too long). */
int records_add(records_writer_t *w, json_t *o);
/* Write the waiting lines (one write, synced), then the event naming
 * the new head into the spool; print what was recorded. 0, or 1 with
 * the reason said. Unlocks and closes in every case. */
int records_commit(records_writer_t *w);
/* Unlock and close without writing. */
void records_abort(records_writer_t *w);

/* A record's member as a C string, or NULL. */
const char *rec_str(json_t *o, const char *key);
/* Its seq in the records log. */
uint64_t rec_seq(json_t *o);
/* @p s with national ID numbers and phone numbers masked (verify_pii);
 * *masked set when one was. */
const char *rec_mask(const char *s, int *masked, apr_pool_t *p);
/* Is @p s fit as a name in a record (an auditor, a reviewer, the Ethics
 * Office's member): 1..64 bytes of UTF-8 without control characters or
 * commas. NULL, or why not. */
const char *rec_name_fault(const char *s, apr_pool_t *p);

/* The latest record of month @p month of op @p op: of the line
 * @p line_seq, or with @p client set of that person (client, @p oper). */
json_t *records_find(const records_t *r, const char *op, const char *month,
                     uint64_t line_seq, const char *client,
                     const char *oper);
/* --ethics, --ethics-date, --conclusion: all three (or, unless @p need,
 * none). 0, or 2 with the fault said. */
int investigation_args(const audit_args_t *a, int need, apr_pool_t *p);
/* The investigation as a record's member, its texts masked. */
json_t *investigation_json(const audit_args_t *a, int *masked,
                           apr_pool_t *p);

/* -- the month's official sample, as `sample --json` draws it
 *    (records_sample.c) ------------------------------------------- */

/* One line of the sample. */
typedef struct sline_t {
    uint64_t seq;
    const char *request_id;     /* NULL when none */
    const char *client;         /* "" when none */
    const char *op;             /* the operator; "" when none */
    int drawn;                  /* 0: joined by an anomaly flag */
} sline_t;

typedef struct sample_lines_t {
    apr_array_header_t *lines;  /* sline_t */
    const char *seed;           /* hex */
    uint64_t cp_size;           /* the seed's checkpoint */
} sample_lines_t;

/* Draw the official sample of a->month (never a preview) by the code of
 * `sample --json`: 0, or 1 with the reason said. */
int records_sample(const audit_args_t *a, sample_lines_t *out,
                   apr_pool_t *p);
/* A person's key: client, NUL, operator. */
const char *person_key(const char *client, const char *op, apr_pool_t *p);
/* "client / operator" as shown. */
const char *person_text(const char *client, const char *op, apr_pool_t *p);

/* -- the whitelist review's age (review_age.c) ------------------------ */

/* Warn on stderr when the records log of the command line shows no
 * whitelist review (R3.8) in the last REVIEW_MONTHS months. */
void review_age_warn(const audit_args_t *a, apr_pool_t *p);

/* -- the records commands ---------------------------------------------- */

int cmd_assign(const audit_args_t *a, apr_pool_t *p);
int cmd_finding(const audit_args_t *a, apr_pool_t *p);
int cmd_investigation(const audit_args_t *a, apr_pool_t *p);
int cmd_findings(const audit_args_t *a, apr_pool_t *p);
/* verify, and with --records the records log against the audit files. */
int cmd_verify_records(const audit_args_t *a, apr_pool_t *p);
/* ip-review --record: the review into the records log. */
int ip_review_record(const audit_args_t *a, json_t *review, apr_pool_t *p);

#endif /* VERIFY_AUDIT_RECORDS_H */
