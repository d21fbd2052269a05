/*
 * mod_verify_status.c -- the module's section of server-status: answers
 * and refusals by code, audit lines and syncs, checkpoints, the store
 * snapshot in use, each source's batch age and approved-until, and the
 * audit volume. The counters are words of shared memory made once in
 * the parent's life, so that every child adds to the same count and a
 * restart keeps them; each answer costs one atomic add. Lines and syncs
 * are the chain head's own numbers.
 */
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "mod_status.h"
#include <apr_optional_hooks.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_audit.h"
#include "mod_verify_sources.h"
#include "mod_verify_status.h"
#include "mod_verify_shm.h"
#include "mod_verify_volume.h"

#define USERDATA_KEY "mod_verify_status_counts"

/* Every error code /verify answers with (api.md); a code not listed
 * counts as "other". */
static const char *const codes[] = {
    "not_found", "method_not_allowed", "invalid_field", "missing_field",
    "invalid_id", "invalid_check", "body_too_large",
    "unsupported_media_type", "unknown_client", "credential_reused",
    "credential_expired", "approval_expired", "check_not_permitted",
    "rate_limited", "store_unavailable", "data_expired",
    "audit_unavailable", "other"
};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

typedef struct {
    apr_time_t since;               /* when the counts started */
    uint64_t answered;
    uint64_t refused[NCODES];
    uint64_t checkpoints;           /* signed by the parent */
    uint64_t checkpoint_size;       /* of the newest */
    apr_time_t checkpoint_at;
} counts_t;

static counts_t *counts;

apr_status_t verify_status_post_config(server_rec *s)
{
    void *data = NULL;
    apr_status_t rv;
    int fresh;

    rv = verify_shm_lifelong(s, USERDATA_KEY, sizeof(*counts), &data,
                             &fresh);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(135)
                     "cannot create shared memory for the status counts");
        return rv;
    }
    counts = data;
    if (fresh) {
        counts->since = apr_time_now();
    }
    return APR_SUCCESS;
}

void verify_status_count(int answered, const char *error)
{
    size_t i;

    if (!counts) {
        return;
    }
    if (answered || !error) {
        __atomic_add_fetch(&counts->answered, 1, __ATOMIC_RELAXED);
        return;
    }
    for (i = 0; i < NCODES - 1 && strcmp(codes[i], error); i++) {
    }
    __atomic_add_fetch(&counts->refused[i], 1, __ATOMIC_RELAXED);
}

void verify_status_checkpoint(apr_uint64_t size)
{
    if (!counts) {
        return;
    }
    /* only the parent signs: plain stores, read by children at will */
    __atomic_store_n(&counts->checkpoint_size, size, __ATOMIC_RELAXED);
    __atomic_store_n(&counts->checkpoint_at, apr_time_now(),
                     __ATOMIC_RELAXED);
    __atomic_add_fetch(&counts->checkpoints, 1, __ATOMIC_RELEASE);
}

static uint64_t load(const uint64_t *w)
{
    return __atomic_load_n(w, __ATOMIC_RELAXED);
}

/* One "name: value" of ?auto, or one row of the table. */
static void item(request_rec *r, int flags, const char *key,
                 const char *label, const char *value)
{
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "%s: %s\n", key, value);
    }
    else {
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td></tr>\n", label,
                   ap_escape_html(r->pool, value));
    }
}

static const char *u64(request_rec *r, uint64_t v)
{
    return apr_psprintf(r->pool, "%" APR_UINT64_T_FMT, v);
}

static void counts_items(request_rec *r, int flags)
{
    uint64_t refused = 0, n;
    char ts[26];
    size_t i;

    for (i = 0; i < NCODES; i++) {
        refused += load(&counts->refused[i]);
    }
    verify_time_format_s(counts->since, ts);
    item(r, flags, "VerifyCountsSince", "counted since", ts);
    item(r, flags, "VerifyAnswered", "answered",
         u64(r, load(&counts->answered)));
    item(r, flags, "VerifyRefused", "refused", u64(r, refused));
    for (i = 0; i < NCODES; i++) {
        n = load(&counts->refused[i]);
        if ((flags & AP_STATUS_SHORT) || n) {
            item(r, flags, apr_pstrcat(r->pool, "VerifyRefused_", codes[i],
                                       NULL),
                 apr_pstrcat(r->pool, "&nbsp;&nbsp;", codes[i], NULL),
                 u64(r, n));
        }
    }
}

static void audit_items(request_rec *r, int flags)
{
    const verify_writer_head_t *h = verify_auditlog_head();
    uint64_t cps = __atomic_load_n(&counts->checkpoints, __ATOMIC_ACQUIRE);
    verify_volume_t v;
    char ts[26];
    int fd;

    if (h) {
        item(r, flags, "VerifyAuditLines", "audit lines (the chain's size)",
             u64(r, __atomic_load_n(&h->chain.seq, __ATOMIC_RELAXED)));
        item(r, flags, "VerifyAuditSyncs", "audit syncs (group commits)",
             u64(r, __atomic_load_n(&h->sync_gen, __ATOMIC_RELAXED)));
    }
    item(r, flags, "VerifyCheckpoints", "checkpoints signed", u64(r, cps));
    if (cps) {
        item(r, flags, "VerifyCheckpointSize", "newest checkpoint's size",
             u64(r, load(&counts->checkpoint_size)));
        verify_time_format_s(counts->checkpoint_at, ts);
        item(r, flags, "VerifyCheckpointAt", "newest checkpoint signed at",
             ts);
    }
    fd = verify_volume_open();
    verify_volume_measure(r->server, fd, &v);
    if (fd >= 0) {
        close(fd);
    }
    if (v.ok) {
        item(r, flags, "VerifyAuditVolumeUsedPercent", "audit volume used %",
             apr_psprintf(r->pool, "%.1f", v.used_percent));
        item(r, flags, "VerifyAuditVolumeFreeBytes", "audit volume free "
             "bytes", u64(r, v.free_bytes));
        item(r, flags, "VerifyAuditVolumeLevel", "audit volume threshold "
             "passed (75, 90)", apr_itoa(r->pool, v.level));
    }
}

static void source_items(request_rec *r, int flags)
{
    verify_sources_t src;
    char date[11];
    int k;

    verify_sources_read(r, &src);
    item(r, flags, "VerifySnapshot", "store snapshot in use",
         !src.snapshot ? "none" : *src.snapshot ? src.snapshot
                                                : "(old layout)");
    for (k = 0; src.ok && k < VERIFY_SRC_COUNT; k++) {
        const char *name = verify_source_name(k);
        const verify_batch_t *b = &src.lk.batch[k];

        if (!src.lk.have_batch[k]) {
            continue;
        }
        item(r, flags, apr_pstrcat(r->pool, "VerifySourceAge_", name, NULL),
             apr_pstrcat(r->pool, name, ": batch age (s)", NULL),
             apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                          verify_sources_age(b, r->request_time)));
        if (verify_sources_max_age(k)) {
            item(r, flags, apr_pstrcat(r->pool, "VerifySourceMaxAge_", name,
                                       NULL),
                 apr_pstrcat(r->pool, name, ": VerifyMaxDataAge (s)", NULL),
                 apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                              apr_time_sec(verify_sources_max_age(k))));
        }
        if (b->approved_until) {
            verify_date_format(b->approved_until, date);
        }
        item(r, flags, apr_pstrcat(r->pool, "VerifySourceApprovedUntil_",
                                   name, NULL),
             apr_pstrcat(r->pool, name, ": approved until", NULL),
             b->approved_until ? date : "none");
    }
}

static int status_hook(request_rec *r, int flags)
{
    if (!counts || !verify_auditlog_ready()) {
        return OK;
    }
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs("<hr />\n<h2>mod_verify</h2>\n<table border=\"0\">\n", r);
    }
    counts_items(r, flags);
    audit_items(r, flags);
    source_items(r, flags);
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs("</table>\n", r);
    }
    return OK;
}

void verify_status_register_hooks(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
