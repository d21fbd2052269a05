/*
 * sheet.h -- the monthly query record sheet (R5.1): what cmd_report.c
 * shares with the parts that make the sheet.
 *
 *   cmd_report.c    the command: the head, the counts, the queries
 *   sheet_cell.c    one cell: masked, cut to its column, its notes
 *   sheet_events.c  the month's service lines
 *   sheet_cp.c      checkpoints: found in the chain, checked with keys
 *   draw.c          the sample the sheet marks
 *   csv.c           the same rows for spreadsheets
 *
 * The sheet is HTML printed on A4 (landscape): every row of its tables
 * is one line (cells are cut to their column; what was cut is printed
 * in full under the tables), so that a page holds well over 30 rows,
 * and no identifier or hash is ever broken across lines.
 */
#ifndef VERIFY_AUDIT_SHEET_H
#define VERIFY_AUDIT_SHEET_H

#include <stdio.h>
#include "month.h"
#include "flags_line.h"

/* -- the CSV (csv.c) ---------------------------------------------------- */

/* A CSV file being written: RFC 4180 (CRLF, quotes where needed),
 * UTF-8 with a byte-order mark for spreadsheets, every cell safe text
 * and never a formula. */
typedef struct csv_t {
    FILE *f;
    const char *path;
    int col;                    /* cells written in the current row */
} csv_t;

/* Open @p path and write the header row of @p ncols @p head. 0, or 1
 * with the reason said. */
int csv_open(csv_t *c, const char *path, const char *const *head, int ncols,
             apr_pool_t *p);
/* Where a sheet goes: the HTML to --output (else stdout) into *o, the CSV
 * to --csv, or beside --output as NAME.csv, opened into *c with @p head
 * (cmd_report.c; one node or several). 0, or the exit status (said). */
int sheet_files(const audit_args_t *a, FILE **o, csv_t *c,
                const char *const *head, int ncols, apr_pool_t *p);
/* One cell (NULL: empty): made safe as the sheet shows text, quoted
 * when it holds , " or a line break, and prefixed with ' when it starts
 * with = + - @ (so no spreadsheet runs it as a formula). */
void csv_cell(csv_t *c, const char *s, size_t len, apr_pool_t *p);
void csv_end_row(csv_t *c);
/* Close: 0, or 1 with the reason said. */
int csv_close(csv_t *c);

/* -- checkpoints (sheet_cp.c) ------------------------------------------- */

/* A checkpoint line of the chain, as kept. */
typedef struct cpline_t {
    uint64_t seq;               /* of the line */
    uint64_t size;              /* the tree size it covers */
    const char *ts;             /* the line's ts */
    const char *made;           /* the signed note's time extension */
    const char *reason;         /* start, interval, day, month, stop ... */
    const char *root;           /* base64, as the line says */
    const char *note;           /* the signed note, or NULL */
    int bad;                    /* the line failed the chain check */
    /* what a check found (sheet_cp_check) */
    int checked;                /* 1 verified, -1 failed, 0 not checked */
    const char *signer;         /* NAME+KEYID of the key that verified */
    const char *fault;          /* why it failed */
    const char *root_note;      /* why the root was not recomputed */
} cpline_t;

typedef struct sheet_cp_t {
    cpline_t *newest;           /* the last checkpoint line read */
    cpline_t *seed;             /* the first made after the month that
                                   covers its last line */
    uint64_t lines;             /* checkpoint lines in the files */
    apr_pool_t *p, *spare;      /* newest lives in p; swapped */
    apr_pool_t *keep;           /* seed lives here */
} sheet_cp_t;

void sheet_cp_init(sheet_cp_t *c, apr_pool_t *p);
/* A checkpoint line of the scan, @p month_end the month's last seq so
 * far and @p month its "YYYY-MM". */
void sheet_cp_line(sheet_cp_t *c, json_t *j, int bad, uint64_t month_end,
                   const char *month);
/* The keys of every --verifier (a key string, or a file of them) into
 * *keys (verify_note_verifier_t): 0, or 2 with the fault said. */
int sheet_cp_keys(const audit_args_t *a, apr_array_header_t **keys,
                  apr_pool_t *p);
/* Check newest and seed with @p keys (none: nothing checked):
 * signature, origin, size and root against the log: the roots from
 * @p w, the report's reading of every line (@p first its scan), or,
 * when one is further back than @p w keeps, a second reading of the
 * files up to the larger size. @return 0, 1 when one of them failed,
 * -1 when the files could not be read (said on stderr). */
int sheet_cp_check(sheet_cp_t *c, const audit_args_t *a,
                   const apr_array_header_t *keys, const audit_walk_t *w,
                   const verify_scan_t *first, apr_pool_t *p);
/* The 32 bytes of a checkpoint's root: 0, or -1 when its line holds no
 * root. */
int sheet_cp_seed(const cpline_t *c, unsigned char seed[32]);

/* -- the sample (draw.c) ------------------------------------------------ */

/* The month's sample as the sheet marks it. */
typedef struct draw_t {
    size_t population;          /* the answered queries it is drawn from */
    size_t k;                   /* its size (R5.1) */
    const char *rule;           /* how k was reached */
    const char *seed_hex;       /* NULL: no draw yet */
    const cpline_t *from;       /* the checkpoint the seed is the root of */
    const char *why_none;       /* no draw: why, in words */
    unsigned char *marked;      /* per query of the month: sampled */
    apr_array_header_t *rids;   /* const char *: each query's request_id
                                   ("" for a refusal: not drawn from) */
} draw_t;

void draw_init(draw_t *d, apr_pool_t *p);
/* A query of the month (index @p i of month_t.q), from the scan: its
 * request_id (@p len bytes) when it was answered, else NULL, and its
 * item in a batch (-1: none). */
void draw_query(draw_t *d, size_t i, const char *rid, size_t len,
                int64_t item);
/* Draw once the scan is done, from the seed checkpoint @p seed (NULL:
 * none). */
void draw_make(draw_t *d, month_t *m, const cpline_t *seed, apr_pool_t *p);
/* The command that prints the same sample, for the sheet. */
const char *draw_command(const draw_t *d, const audit_args_t *a,
                         apr_pool_t *p);

/* -- the anomaly flags (sheet_flags.c) ---------------------------------- */

typedef struct sheet_flags_t {
    verify_flags_conf_t fc;     /* the thresholds, as sample reads them */
    const char *fc_file;        /* --flags, or NULL: built in */
    const char *month;
    verify_flags_t *f;
    char *buf;                  /* its unescaped members */
    const apr_array_header_t *found;    /* verify_flag_t, by seq */
    size_t lines;               /* query lines of the month flagged */
    size_t extra;               /* ... of which not drawn at random */
} sheet_flags_t;

/* The thresholds (--flags); 0, or 2 having said why (1: out of
 * memory). The flags get a pool of their own (see hash_ahead_flags). */
int sheet_flags_init(sheet_flags_t *sf, const audit_args_t *a,
                     apr_pool_t *p);
/* Every line of the scan: the query lines up to the month's end feed
 * the flags, as sample's do; through @p ahead (hash_ahead_flags), or
 * here when it is NULL. */
void sheet_flags_line(sheet_flags_t *sf, const month_seen_t *l,
                      struct hash_ahead_t *ahead);
/* The scan is over: the month's flags, counted against the random
 * draw @p d (flagged lines join the sample on top of it). */
void sheet_flags_end(sheet_flags_t *sf, const month_t *m, draw_t *d,
                     apr_pool_t *p);
/* Is line @p seq flagged; its flags' reasons in words (PII masked). */
int sheet_flags_has(const sheet_flags_t *sf, uint64_t seq);
const char *sheet_flags_text(const sheet_flags_t *sf, uint64_t seq,
                             apr_pool_t *p);
/* The table of the month's flags. */
void sheet_flags_print(FILE *o, const sheet_flags_t *sf, apr_pool_t *p);

/* -- one cell (sheet_cell.c) -------------------------------------------- */

/* Most notes of each kind listed under the tables; the CSV has all. */
#define NOTES_MAX 2000

typedef struct sheet_notes_t {
    apr_array_header_t *hashes; /* const char *: full hashes, [H1].. */
    apr_array_header_t *texts;  /* note_t: cut cells in full, [T1].. */
    apr_array_header_t *pii;    /* note_t: possible personal data */
    uint64_t texts_over, pii_over, hashes_over;  /* past NOTES_MAX:
                                                    counted only */
    uint64_t pii_cells;         /* cells flagged in all */
    apr_pool_t *p;
} sheet_notes_t;

typedef struct note_t {
    uint64_t seq;
    const char *rid;            /* request_id, or NULL */
    const char *field;
    const char *text;           /* the cell's text as logged */
    size_t len;
    int mask;                   /* shown masked */
    const char *kind;           /* pii: what it looks like */
} note_t;

/* Where a cell's text came from, for its notes. */
typedef struct cell_src_t {
    uint64_t seq;
    const char *rid;
    const char *field;
} cell_src_t;

void notes_init(sheet_notes_t *n, apr_pool_t *p);
/*
 * One text cell (<td> written by the caller): @p s of @p len bytes
 * (NULL: a dash), masked when @p mask (ID and phone numbers, flagged
 * "possible personal data"), cut to @p cols columns with a note of the
 * whole. @return the text as the CSV shows it (masked, whole, safe);
 * NULL for NULL.
 */
const char *sheet_text(FILE *o, sheet_notes_t *n, const char *s, size_t len,
                       int cols, int mask, const cell_src_t *src,
                       unsigned *found, apr_pool_t *p);
/* "27 14:55:06" of a ts (the day and time: the month is the sheet's);
 * another text as it is (safe, for HTML); NULL as "". */
const char *day_time(const char *ts, apr_pool_t *p);
/* A note of the whole of a cut cell: its number, 0 when the list is
 * full (counted). */
int notes_text(sheet_notes_t *n, const cell_src_t *src, const char *s,
               size_t len);
/* The marker of note @p num ("[T3]"; 0: "[T*]"). */
void notes_mark(FILE *o, const char *cls, char letter, int num);
/* Columns @p s takes as shown. */
int text_cols(const char *s, size_t len, apr_pool_t *p);
/* Columns a shortened hash and its marker take. */
#define HASH_COLS 18
/* A hash (hex or base64) shortened, with its full form as a note. */
void sheet_hash(FILE *o, sheet_notes_t *n, const char *hash);
/* Is @p s a hash sheet_hash() should shorten (hex of 32 or more
 * digits, base64 of 32 bytes)? */
int is_hash_text(const char *s, size_t len);
/* The notes under the tables. */
void notes_print(FILE *o, const sheet_notes_t *n, apr_pool_t *p);

/* -- the service lines (sheet_events.c) --------------------------------- */

typedef struct sheet_events_t {
    apr_array_header_t *lines;  /* qline_t of the month's service lines */
    uint64_t interval;          /* "interval" checkpoint lines, in one row */
    uint64_t interval_first, interval_last;     /* their seq */
    uint64_t interval_min, interval_max;        /* their sizes */
} sheet_events_t;

void events_init(sheet_events_t *e, apr_pool_t *p);
/* A line of the month that is not a query. -1 out of memory. */
int events_line(sheet_events_t *e, const month_seen_t *l, apr_pool_t *p);
/* Their table; each row to the CSV too. @return 0, or -1 when a line
 * changed since the scan. */
int events_print(FILE *o, csv_t *csv, sheet_notes_t *n,
                 const sheet_events_t *e, reader_t *r, apr_pool_t *p);
/* Rows the events table has. */
uint64_t events_rows(const sheet_events_t *e);

/* The sheet's style sheet (cmd_report.c). */
extern const char report_css[];

/* report given several nodes' directories (a->nodes): one population
 * (report_nodes.c). */
int report_nodes(const audit_args_t *a, apr_pool_t *p);

/* The CSV's columns: one table for the queries and the service lines. */
#define CSV_COLS 16
#define CSV_HEAD "section", "sampled", "seq", "ts", "client", "operator", \
                 "case", "reason", "checks", "subject", "status", "error", \
                 "request_id", "flags", "op", "details"

#endif /* VERIFY_AUDIT_SHEET_H */
