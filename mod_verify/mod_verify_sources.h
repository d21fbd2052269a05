/*
 * mod_verify_sources.h -- the sources' batches as operations see them
 * (mod_verify_sources.c): VerifyMaxDataAge, and each source's age and
 * approved-until read from the snapshot in use, for /verify, the health
 * check and the status page.
 */
#ifndef MOD_VERIFY_SOURCES_H
#define MOD_VERIFY_SOURCES_H

#include "httpd.h"
#include "http_config.h"
#include "verify.h"

/** VerifyMaxDataAge SOURCE DURATION (global, once per source). */
const char *verify_sources_set_max_age(cmd_parms *cmd, void *dc,
                                       const char *source,
                                       const char *duration);

/** VerifyMaxDataAge of @p src; 0 when not set (no limit). */
apr_interval_time_t verify_sources_max_age(verify_source_t src);

/** A batch is older than VerifyMaxDataAge allows at @p now: the
 * message of its 503 data_expired, else NULL. Logs it (VFY137) once
 * per child and source. */
const char *verify_sources_stale(request_rec *r, verify_source_t src,
                                 const verify_batch_t *b, apr_time_t now);

/** What the snapshot in use holds: its name and every source's batch. */
typedef struct verify_sources_t {
    int ok;                         /* the store was read */
    const char *snapshot;           /* "snap-…", "" old layout; NULL */
    const char *fault;              /* why not ok (no personal data) */
    verify_lookup_t lk;             /* have_batch, batch */
} verify_sources_t;

/** Read the batches of the published snapshot (one read transaction),
 * as /verify would hold it. */
void verify_sources_read(request_rec *r, verify_sources_t *out);

/** Age of @p b at @p now in whole seconds (from its import). */
apr_int64_t verify_sources_age(const verify_batch_t *b, apr_time_t now);

#endif /* MOD_VERIFY_SOURCES_H */
