/*
 * mod_verify_health.c -- SetHandler verify-health: 200 when /verify can
 * answer, 503 when it cannot, with a JSON body saying why. It reads the
 * store (the batches of the snapshot a lookup would hold, in one read
 * transaction), writes a block to the audit volume as the run-time user
 * (an unnamed O_TMPFILE file: nothing enters the chain, and no name
 * appears in the directory), measures the volume, and compares each
 * source's age with VerifyMaxDataAge. It looks nobody up and writes no
 * audit line: it is not a query, and holds no personal data.
 */
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_audit.h"
#include "mod_verify_health.h"
#include "mod_verify_request.h"
#include "mod_verify_sources.h"
#include "mod_verify_volume.h"

typedef struct {
    request_rec *r;
    verify_jbuf_t b;
    int fail;
    apr_array_header_t *problems;   /* const char * */
} health_t;

static void problem(health_t *h, int fails, const char *text)
{
    h->fail |= fails;
    APR_ARRAY_PUSH(h->problems, const char *) = text;
}

static void jbool(verify_jbuf_t *b, int v)
{
    if (v) {
        VERIFY_JRAW(b, "true");
    }
    else {
        VERIFY_JRAW(b, "false");
    }
}

static void jstr(verify_jbuf_t *b, const char *s)
{
    verify_jbuf_str(b, s, strlen(s), 400);
}

static void store_json(health_t *h, const verify_sources_t *src)
{
    VERIFY_JRAW(&h->b, ",\"store\":{\"ok\":");
    jbool(&h->b, src->ok);
    VERIFY_JRAW(&h->b, ",\"snapshot\":");
    if (src->snapshot) {
        jstr(&h->b, src->snapshot);
    }
    else {
        VERIFY_JRAW(&h->b, "null");
    }
    VERIFY_JRAW(&h->b, "}");
    if (!src->ok) {
        problem(h, 1, src->fault);
    }
}

static void audit_json(health_t *h)
{
    apr_pool_t *p = h->r->pool;
    const char *why = NULL;
    verify_volume_t v;
    int fd = verify_volume_open();
    int writable = verify_volume_writable(fd, &why, p);
    char num[32];

    verify_volume_measure(h->r->server, fd, &v);
    if (fd >= 0) {
        close(fd);
    }
    VERIFY_JRAW(&h->b, ",\"audit\":{\"ok\":");
    jbool(&h->b, writable && v.ok);
    VERIFY_JRAW(&h->b, ",\"writable\":");
    jbool(&h->b, writable);
    VERIFY_JRAW(&h->b, ",\"free_bytes\":");
    verify_jbuf_u64(&h->b, v.free_bytes);
    VERIFY_JRAW(&h->b, ",\"used_percent\":");
    apr_snprintf(num, sizeof(num), "%.1f", v.used_percent);
    verify_jbuf_raw(&h->b, num, strlen(num));
    VERIFY_JRAW(&h->b, "}");
    if (!writable) {
        problem(h, 1, why);
    }
    else if (!v.ok) {
        problem(h, 1, "the audit volume cannot be measured");
    }
    else if (v.level) {
        /* a warning: the check still passes */
        problem(h, 0, apr_psprintf(p, "the audit volume is %.1f%% full "
                                   "(past %d%%)", v.used_percent, v.level));
    }
}

static void source_json(health_t *h, int k, const verify_batch_t *b,
                        verify_date_t today)
{
    apr_pool_t *p = h->r->pool;
    const char *name = verify_source_name(k);
    apr_interval_time_t max = verify_sources_max_age(k);
    apr_int64_t age = verify_sources_age(b, h->r->request_time);
    int stale = max && age > apr_time_sec(max);
    int ended = b->approved_until && b->approved_until < today;
    int key = verify_request_key_matches(b);
    char date[11];

    verify_jbuf_key(&h->b, name);
    VERIFY_JRAW(&h->b, "{\"ok\":");
    jbool(&h->b, !stale && !ended && key);
    VERIFY_JRAW(&h->b, ",\"age_seconds\":");
    verify_jbuf_u64(&h->b, (uint64_t)age);
    VERIFY_JRAW(&h->b, ",\"max_age_seconds\":");
    if (max) {
        verify_jbuf_u64(&h->b, (uint64_t)apr_time_sec(max));
    }
    else {
        VERIFY_JRAW(&h->b, "null");
    }
    VERIFY_JRAW(&h->b, ",\"approved_until\":");
    if (b->approved_until) {
        verify_date_format(b->approved_until, date);
        jstr(&h->b, date);
    }
    else {
        VERIFY_JRAW(&h->b, "null");
    }
    VERIFY_JRAW(&h->b, "}");
    if (stale) {
        problem(h, 1, apr_psprintf(p, "the %s data is %" APR_INT64_T_FMT
                                   " s old, more than VerifyMaxDataAge %s "
                                   "(%s)", name, age, name,
                                   verify_duration_format(max, p)));
    }
    if (ended) {
        problem(h, 1, apr_psprintf(p, "the approved usage period of the %s "
                                   "data ended on %s", name, date));
    }
    if (!key) {
        /* /verify answers store_unavailable from it (VFY27) */
        problem(h, 1, apr_psprintf(p, "the %s data was imported with "
                                   "another pseudonym key than "
                                   "VerifyKeyFile", name));
    }
}

static void sources_json(health_t *h, const verify_sources_t *src)
{
    verify_date_t today = verify_date_taipei(h->r->request_time);
    int k, first = 1;

    VERIFY_JRAW(&h->b, ",\"sources\":{");
    for (k = 0; k < VERIFY_SRC_COUNT; k++) {
        if (src->ok && src->lk.have_batch[k]) {
            if (!first) {
                VERIFY_JRAW(&h->b, ",");
            }
            first = 0;
            source_json(h, k, &src->lk.batch[k], today);
        }
        else if (src->ok && verify_sources_max_age(k)) {
            problem(h, 1, apr_psprintf(h->r->pool, "no %s data has been "
                                       "imported, and VerifyMaxDataAge %s "
                                       "is set", verify_source_name(k),
                                       verify_source_name(k)));
        }
    }
    VERIFY_JRAW(&h->b, "}");
}

static int respond(health_t *h, char *head, size_t hcap)
{
    request_rec *r = h->r;
    verify_jbuf_t top;
    char ts[26];
    int i;

    VERIFY_JRAW(&h->b, ",\"problems\":[");
    for (i = 0; i < h->problems->nelts; i++) {
        if (i) {
            VERIFY_JRAW(&h->b, ",");
        }
        jstr(&h->b, APR_ARRAY_IDX(h->problems, i, const char *));
    }
    VERIFY_JRAW(&h->b, "]}\n");
    verify_jbuf_init(&top, head, hcap);
    VERIFY_JRAW(&top, "{\"status\":");
    if (h->fail) {
        VERIFY_JRAW(&top, "\"fail\"");
    }
    else {
        VERIFY_JRAW(&top, "\"ok\"");
    }
    verify_time_format_s(r->request_time, ts);
    VERIFY_JRAW(&top, ",\"checked_at\":\"");
    verify_jbuf_raw(&top, ts, strlen(ts));
    VERIFY_JRAW(&top, "\"");
    r->status = h->fail ? HTTP_SERVICE_UNAVAILABLE : HTTP_OK;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (h->b.overflow || top.overflow) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_set_content_length(r, (apr_off_t)(top.len + h->b.len));
    if (!r->header_only) {
        ap_rwrite(head, (int)top.len, r);
        ap_rwrite(h->b.buf, (int)h->b.len, r);
    }
    return OK;
}

int verify_health_handler(request_rec *r)
{
    char body[8192], head[128];
    verify_sources_t src;
    health_t h;

    if (!r->handler || strcmp(r->handler, VERIFY_HEALTH_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        static const char refusal[] = "{\"error\":\"method_not_allowed\","
                                      "\"message\":\"use GET or HEAD\"}\n";

        ap_discard_request_body(r);
        r->status = HTTP_METHOD_NOT_ALLOWED;
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        ap_set_content_type(r, "application/json");
        ap_set_content_length(r, sizeof(refusal) - 1);
        ap_rwrite(refusal, sizeof(refusal) - 1, r);
        return OK;
    }
    ap_discard_request_body(r);
    memset(&h, 0, sizeof(h));
    h.r = r;
    h.problems = apr_array_make(r->pool, 4, sizeof(const char *));
    verify_jbuf_init(&h.b, body, sizeof(body));
    if (!verify_auditlog_ready() || !verify_request_ready()) {
        problem(&h, 1, "mod_verify is not configured (VerifyStore, "
                "VerifyKeyFile, VerifyAuditLog)");
        VERIFY_JRAW(&h.b, ",\"store\":{\"ok\":false,\"snapshot\":null},"
                    "\"audit\":{\"ok\":false,\"writable\":false,"
                    "\"free_bytes\":0,\"used_percent\":0},\"sources\":{}");
        return respond(&h, head, sizeof(head));
    }
    verify_sources_read(r, &src);
    store_json(&h, &src);
    audit_json(&h);
    sources_json(&h, &src);
    return respond(&h, head, sizeof(head));
}
