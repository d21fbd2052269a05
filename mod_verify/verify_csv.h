/*
 * verify_csv.h -- batch intake: CSV to validated import records (verify_csv.c).
 */
#ifndef VERIFY_CSV_H
#define VERIFY_CSV_H

#include <stddef.h>
#include <apr_pools.h>
#include "verify_key.h"
#include "verify_record.h"
#include "verify_store.h"
#include "verify_time.h"

/** The 1-based line of byte offset @p off in @p buf (for messages). */
unsigned long verify_line_at(const char *buf, size_t off);

/** Largest number of columns a batch file may have. */
#define VERIFY_CSV_MAX_FIELDS 16

/**
 * Called for each record of a CSV file (RFC 4180 quoting; LF or CRLF).
 * @return 0 to go on, non-zero to stop (the parse then returns it).
 */
typedef int (*verify_csv_row_fn)(void *ctx, unsigned long line,
                                 const char *const *fields,
                                 const size_t *lens, int n);

/**
 * Parse @p buf (UTF-8; a leading BOM is skipped). Blank lines are
 * skipped. Syntax faults (a stray quote, an unterminated quoted field,
 * too many fields, a NUL byte) set *err to "line N: …".
 * @return 0, the callback's non-zero value, or -1 on a syntax fault.
 */
int verify_csv_parse(const char *buf, size_t len, verify_csv_row_fn fn,
                     void *ctx, char **err, apr_pool_t *p);

/** Told how far a parse has come: the bytes before @p off are done. */
typedef void (*verify_csv_progress_fn)(void *ctx, size_t off);

/** verify_csv_parse() of a buffer known to hold no NUL byte (not
 *  checked again), telling @p progress (if not NULL) every 16 MiB or so
 *  how far it has come (with the row callback's @p ctx). */
int verify_csv_parse_ex(const char *buf, size_t len, verify_csv_row_fn fn,
                        verify_csv_progress_fn progress, void *ctx,
                        char **err, apr_pool_t *p);

/**
 * Turn a whole batch file for @p src into import records: the header is
 * required (English or Chinese column names), every record is
 * validated, IDs are pseudonymised with @p keys. The first fault stops
 * it: *err names the line, the fault and the masked ID.
 * @param today records are checked against this date (birth dates
 *              in the future are refused)
 */
apr_status_t verify_intake(verify_source_t src, const char *buf, size_t len,
                           const verify_keys_t *keys, verify_date_t today,
                           verify_import_rec_t **recs, size_t *n,
                           char **err, apr_pool_t *p);

/** Told that the bytes of the batch before @p off will not be read
 *  again (a mapped file can let them go). */
typedef void (*verify_intake_drop_fn)(void *ctx, size_t off);

/**
 * verify_intake() into @p set (verify_recset.h), for a batch of any
 * size: the records are not checked for duplicate IDs here (the set
 * is, when it is walked), and @p drop (may be NULL) is told as the
 * batch is read through.
 */
apr_status_t verify_intake_set(verify_source_t src, const char *buf,
                               size_t len, const verify_keys_t *keys,
                               verify_date_t today, verify_recset_t *set,
                               verify_intake_drop_fn drop, void *drop_ctx,
                               char **err, apr_pool_t *p);

/** Told that bytes [@p from, @p to) of the batch will not be read
 *  again (called from any thread of a parallel intake). */
typedef void (*verify_intake_span_fn)(void *ctx, size_t from, size_t to);

/** Runs @p fn(@p arg) for one thread of a parallel intake and returns
 *  its value; anything but 0, -1, 1 or 2 when it stopped it instead
 *  (the batch is then refused, that value in guard_rc). */
typedef int (*verify_intake_guard_fn)(void *ctx, int (*fn)(void *arg),
                                      void *arg);

/** Most threads a parallel intake uses. */
#define VERIFY_INTAKE_MAX_THREADS 8

/** How a batch is taken in parallel (verify_intake_set_par). */
typedef struct verify_intake_par_t {
    unsigned threads;           /* 1: in this thread, as
                                   verify_intake_set(); at most
                                   VERIFY_INTAKE_MAX_THREADS */
    verify_intake_span_fn drop; /* may be NULL */
    void *drop_ctx;
    verify_intake_guard_fn guard; /* each other thread's work runs in it
                                     (may be NULL) */
    void *guard_ctx;
    int guard_rc;               /* out: what the guard said, or 0 */
    unsigned used;              /* out: threads that parsed records */
} verify_intake_par_t;

/**
 * verify_intake_set() in @p par->threads threads: the batch is cut at
 * line feeds into one range each, and each range is checked (UTF-8,
 * NUL), parsed, validated and pseudonymised into a record set of its
 * own (verify_recset_create_like), joined to @p set in file order
 * (verify_recset_join). The result, and the fault reported for a bad
 * batch (the first in file order), are those of verify_intake_set();
 * should a cut fall inside a quoted field, the records are parsed again
 * in this thread. The calling thread does the first range: if it runs
 * under a guard, that guard covers it.
 * @return APR_SUCCESS; APR_EINVAL with *err; APR_EGENERAL when a guard
 *         stopped a thread (par->guard_rc)
 */
apr_status_t verify_intake_set_par(verify_source_t src, const char *buf,
                                   size_t len, const verify_keys_t *keys,
                                   verify_date_t today, verify_recset_t *set,
                                   verify_intake_par_t *par, char **err,
                                   apr_pool_t *p);

#endif /* VERIFY_CSV_H */
