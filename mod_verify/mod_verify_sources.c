/*
 * mod_verify_sources.c -- the sources' batches as operations see them.
 * VerifyMaxDataAge SOURCE DURATION bounds how old a source's batch may
 * be (counted from its import, the one time every batch records): an
 * older one answers 503 data_expired at /verify, as an ended approved
 * period does, and fails the health check. The health check and the
 * status page read the batches here, from the snapshot a lookup would
 * hold.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include <apr_strings.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_sources.h"
#include "mod_verify_store.h"

/* One per reading of the configuration, as the module's other global
 * settings are (the configuration pool's cleanup clears it). */
static apr_interval_time_t *max_age;

static apr_status_t max_age_cleanup(void *data)
{
    max_age = NULL;
    return APR_SUCCESS;
}

const char *verify_sources_set_max_age(cmd_parms *cmd, void *dc,
                                       const char *source,
                                       const char *duration)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_interval_time_t d;
    int src;

    if (err) {
        return err;
    }
    src = verify_source_from_name(source);
    if (src < 0) {
        return apr_psprintf(cmd->pool, "VerifyMaxDataAge: unknown source "
                            "%s (household, elderly_alone, disability)",
                            source);
    }
    err = verify_duration_parse(duration, &d);
    if (err) {
        return apr_psprintf(cmd->pool, "VerifyMaxDataAge %s %s: %s", source,
                            duration, err);
    }
    if (!max_age) {
        max_age = apr_pcalloc(cmd->pool, VERIFY_SRC_COUNT * sizeof(*max_age));
        apr_pool_cleanup_register(cmd->pool, NULL, max_age_cleanup,
                                  apr_pool_cleanup_null);
    }
    if (max_age[src]) {
        return apr_psprintf(cmd->pool, "VerifyMaxDataAge %s given twice",
                            source);
    }
    max_age[src] = d;
    return NULL;
}

apr_interval_time_t verify_sources_max_age(verify_source_t src)
{
    return max_age && src < VERIFY_SRC_COUNT ? max_age[src] : 0;
}

apr_int64_t verify_sources_age(const verify_batch_t *b, apr_time_t now)
{
    apr_int64_t s = apr_time_sec(now - b->imported_at);

    return s < 0 ? 0 : s;
}

const char *verify_sources_stale(request_rec *r, verify_source_t src,
                                 const verify_batch_t *b, apr_time_t now)
{
    static int said[VERIFY_SRC_COUNT];
    apr_interval_time_t max = verify_sources_max_age(src);
    const char *limit;

    if (!max || now - b->imported_at <= max) {
        return NULL;
    }
    limit = verify_duration_format(max, r->pool);
    if (!said[src]) {
        said[src] = 1;
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, VERIFY_LOGNO(137)
                      "the %s batch was imported %s, longer ago than "
                      "VerifyMaxDataAge %s %s: answering 503 data_expired "
                      "for it until a newer batch is imported",
                      verify_source_name(src), b->as_of,
                      verify_source_name(src), limit);
    }
    return apr_psprintf(r->pool, "the %s data is older than the service "
                        "allows (%s); a newer batch is needed",
                        verify_source_name(src), limit);
}

void verify_sources_read(request_rec *r, verify_sources_t *out)
{
    verify_snap_t *snap;
    const char *err = NULL;

    memset(out, 0, sizeof(*out));
    snap = verify_store_hold(r);
    if (!snap) {
        out->fault = "the verification store is not available";
        return;
    }
    out->snapshot = apr_pstrdup(r->pool, verify_snap_name(snap));
    if (verify_store_batches(verify_snap_store(snap), &out->lk, &err)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, VERIFY_LOGNO(138)
                      "cannot read the batches of store snapshot %s: %s",
                      out->snapshot, err);
        out->fault = "the verification store could not be read";
    }
    else {
        out->ok = 1;
    }
    verify_store_drop(snap);
}
