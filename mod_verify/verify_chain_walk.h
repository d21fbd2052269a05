/*
 * verify_chain_walk.h -- the inside of the chain scan (verify_chain_scan.c)
 * that its parallel driver (verify_chain_par.c) shares: the reading of a
 * file line by line, and the check of one line in order. Private to those
 * two files: everyone else calls verify_chain_scan() or
 * verify_chain_scan_par().
 */
#ifndef VERIFY_CHAIN_WALK_H
#define VERIFY_CHAIN_WALK_H

#include "verify_chain_scan.h"
#include "verify_time.h"

/* Bytes read from a file at a time. */
#define READ_CHUNK 65536
/* Bytes of a line kept: one more than a line may have, so that a line
 * too long is known as such however long it is. */
#define LINE_KEEP (VERIFY_AUDIT_LINE_MAX - 1)

/* One file read in chunks, line by line, in bounded memory. */
typedef struct in_t {
    int fd;
    char *buf;                  /* READ_CHUNK bytes */
    size_t pos, end;            /* the unread part of buf */
    int eof;
} in_t;

/* One line as next_line() found it. */
typedef struct rline_t {
    char *text;                 /* its first bytes (LINE_KEEP at most) */
    size_t kept;                /* bytes in text */
    apr_off_t size;             /* bytes in the file, newline included */
    int newline;                /* it ends in a newline */
} rline_t;

/* The state of one walk across the files. */
typedef struct walk_t {
    verify_scan_t *s;
    verify_chain_t cp;          /* the checkpoint's last purged line */
    int have_cp;
    int first;                  /* no line read yet */
    int any;                    /* the next line may start the chain */
    const char *path;           /* the file being read */
    unsigned long lno;          /* its line number */
    apr_time_t ts;              /* ts of the last sound line, or 0 */
    char ts_text[VERIFY_TS_LEN + 1];    /* as written */
    verify_flat_t *flat;        /* lazy: the line's members */
} walk_t;


/* Set the walk up as verify_chain_scan() does (s->fault_list, s->files,
 * the purge checkpoint, the buffers): 0, or -1 (s->error). */
int verify_walk_begin(verify_scan_t *s, walk_t *w, in_t *in, rline_t *rl);
/* The next line of @p in into @p rl (rl->text: LINE_KEEP bytes of room):
 * 1 a line, 0 the end of the file, -1 a read error (errno). */
int verify_walk_next_line(in_t *in, rline_t *rl);
/* Open a file to read (a regular file only): the descriptor, or -1 with
 * s->error said. */
int verify_walk_open(verify_scan_t *s, const char *path);
/* Check one line of file @p fi in order, w->path and w->lno set; hand it
 * to s->line_fn. 0 go on, 1 stop at a fault, -1 the callback stopped. */
int verify_walk_line(walk_t *w, int fi, const rline_t *rl, apr_off_t at);
/* The ts rule of a sound line whose ts (VERIFY_TS_LEN bytes, no escapes)
 * is @p ts, or NULL when it has none such. */
void verify_walk_ts(walk_t *w, const char *ts);
/* The same, @p ts already parsed (verify_time_parse_us) into @p t. */
void verify_walk_ts_parsed(walk_t *w, const char *ts, apr_time_t t);

#endif /* VERIFY_CHAIN_WALK_H */
