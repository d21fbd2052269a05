/*
 * verify_intake_private.h -- what the intake of a batch in one thread
 * (verify_csv.c) and in several (verify_intake_par.c) share.
 */
#ifndef VERIFY_INTAKE_PRIVATE_H
#define VERIFY_INTAKE_PRIVATE_H

#include "verify_csv.h"
#include "verify_recset.h"

/* Column roles of the sources. */
enum { COL_ID, COL_NAME, COL_BIRTH, COL_INDIGENOUS, COL_VALID, COL_LEVEL,
       COL_ROMANISED, COL_COUNT };

/* One parse: records starting in [start, end) of @p buf (of @p len
 * bytes: a record may go on past @p end), the first on line @p line.
 * *stop: where the next record (or blank line) would begin. */
typedef struct span_t {
    size_t start, end;
    unsigned long line;
    size_t stop;
} span_t;

/* One intake of a batch (or of a part of it, verify_intake_par.c). */
typedef struct intake_t {
    verify_source_t src;
    const verify_keys_t *keys;
    verify_date_t today;
    int pos[COL_COUNT];         /* column index of each role, -1 none */
    int nfields;
    int have_header;
    verify_import_rec_t *recs;
    size_t n, cap;
    verify_recset_t *set;       /* or into this set */
    verify_intake_span_fn drop; /* told what of the batch has been read */
    void *drop_ctx;
    size_t done;                /* the parse had told it up to here */
    int *first_bad;             /* a parallel intake: the first part with
                                   a fault so far (or INT_MAX) */
    int part;                   /* and this one */
    char *err;
    apr_pool_t *p;
} intake_t;

/* A part of a parallel intake stopped: an earlier part has a fault. */
#define PART_STOPPED 1

/* The parse stopped after the header (verify_intake_par.c). */
#define HEADER_READ 2

/** The records of [sp->start, sp->end) of @p buf (verify_csv_parse_ex
 *  of a part; a record may run on to @p len); sp->stop, sp->line: where
 *  it stopped. */
int verify_csv_parse_span(const char *buf, size_t len, span_t *sp,
                          verify_csv_row_fn fn,
                          verify_csv_progress_fn progress, void *ctx,
                          char **err, apr_pool_t *p);

/** A record of the batch into the intake @p ctx (verify_csv_row_fn). */
int verify_intake_row(void *ctx, unsigned long line, const char *const *f,
                      const size_t *lens, int n);

/** [@p from, @p to) is UTF-8 without NUL: the offset of the first fault
 *  (*nul: a NUL byte), or (size_t)-1; its line feeds added to *lines
 *  (if not NULL), each window counted before it is told to @p drop. */
size_t verify_intake_scan(const char *buf, size_t from, size_t to, int *nul,
                          unsigned long *lines, verify_intake_span_fn drop,
                          void *drop_ctx);

/** The message of a scan fault at @p off. */
char *verify_intake_scan_fault(const char *buf, size_t off, int nul,
                               apr_pool_t *p);

/** The records of @p sp into @p in (its header read), *err the fault. */
int verify_intake_records(intake_t *in, const char *buf, size_t len,
                          span_t *sp, char **err);

/** The whole batch in this thread: scanned, then parsed. */
apr_status_t verify_intake_serial(intake_t *in, const char *buf, size_t len,
                                  char **err);

#endif /* VERIFY_INTAKE_PRIVATE_H */
