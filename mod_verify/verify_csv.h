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

#endif /* VERIFY_CSV_H */
