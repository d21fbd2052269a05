/*
 * verify_audit_dir.h -- the audit directory: day files, the chain head (verify_audit_dir.c).
 */
#ifndef VERIFY_AUDIT_DIR_H
#define VERIFY_AUDIT_DIR_H

#include <apr_pools.h>
#include <apr_file_io.h>
#include "verify_audit_line.h"
#include "verify_time.h"

/** "audit-YYYY-MM-DD.jsonl" for a Taipei date into @p out (32 bytes). */
void verify_audit_filename(verify_date_t day, char out[32]);

/**
 * Find the chain head in @p dir: the last complete line of the newest
 * audit file that has one. *file and *size name the newest file; a
 * trailing incomplete line in it is reported through *partial_at (its
 * offset; -1 when none). chain->seq is 0 when no line exists yet.
 */
apr_status_t verify_audit_find_head(const char *dir, verify_chain_t *chain,
                                    const char **file, apr_off_t *size,
                                    apr_off_t *partial_at, char **err,
                                    apr_pool_t *p);

#endif /* VERIFY_AUDIT_DIR_H */
