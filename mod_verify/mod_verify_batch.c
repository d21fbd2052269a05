/*
 * mod_verify_batch.c -- one request about many people: a JSON body
 * whose subjects (each an id, perhaps a name and a birth date) share
 * check, case, reason and operator. Each subject is a query of its own
 * through the single request's code (validation, the identity gate,
 * the lookup, the audit members), with one audit line each; the lines
 * go into the chain all or none, and nothing is answered unless all
 * are written. The request as a whole (its shape, the shared fields,
 * the permission, the rate) is checked first; a fault there is
 * answered as a single request's, with one line.
 */
#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include <apr_strings.h>

#include <jansson.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_audit.h"
#include "mod_verify_batch.h"
#include "mod_verify_client.h"
#include "mod_verify_config.h"
#include "mod_verify_handler.h"
#include "mod_verify_request.h"
#include "mod_verify_store.h"

/* What an item of the answer may take: results or an error and its
 * message (at most 400 bytes), and a receipt. */
#define ITEM_ANSWER_MAX 1200

/* The members a subject may have, and their fields. */
static const struct {
    const char *name;
    int field;
} subject_members[] = {
    { "id", VERIFY_F_ID },
    { "name", VERIFY_F_NAME },
    { "birth_date", VERIFY_F_BIRTH },
};

apr_off_t verify_batch_body_max(request_rec *r, apr_off_t max)
{
    verify_client_id_t id;

    verify_client_identify(r, &id);
    if (!id.client) {
        return max;
    }
    return max + (apr_off_t)VERIFY_BATCH_SUBJECT_BYTES
                 * verify_config_batch_max(r->server);
}

static int member_field(const char *key)
{
    size_t k;

    for (k = 0; k < sizeof(subject_members) / sizeof(subject_members[0]);
         k++) {
        if (!strcmp(key, subject_members[k].name)) {
            return subject_members[k].field;
        }
    }
    return -1;
}

/* Is the batch well formed: subjects 1 to VerifyBatchMax objects of
 * string members id, name, birth_date, and no person beside them? A
 * fault of form is the client program's, not a person's: the request
 * is refused as a whole, naming the item. */
static void check_shape(verify_req_t *q)
{
    apr_pool_t *p = q->r->pool;
    int max = verify_config_batch_max(q->r->server);
    json_t *item, *val;
    const char *key;
    size_t i;

    if (q->f[VERIFY_F_ID].present || q->f[VERIFY_F_NAME].present
        || q->f[VERIFY_F_BIRTH].present) {
        verify_request_refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                              "id, name and birth_date go in each subject "
                              "of subjects, not beside them");
        return;
    }
    if (q->items == 0) {
        verify_request_refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                              "subjects is empty");
        return;
    }
    if (q->items > (size_t)max) {
        verify_request_refuse(q, HTTP_REQUEST_ENTITY_TOO_LARGE,
                              "too_many_subjects",
                              apr_psprintf(p, "%" APR_SIZE_T_FMT " subjects;"
                                           " at most %d per request",
                                           q->items, max));
        return;
    }
    json_array_foreach((json_t *)q->subjects, i, item) {
        if (!json_is_object(item)) {
            verify_request_refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                                  apr_psprintf(p, "subjects[%" APR_SIZE_T_FMT
                                               "] must be an object", i));
            return;
        }
        json_object_foreach(item, key, val) {
            int f = member_field(key);
            if (f < 0) {
                /* the member's name may be anything: not repeated */
                verify_request_refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                                      apr_psprintf(p, "subjects[%"
                                                   APR_SIZE_T_FMT "] has "
                                                   "a member other than id,"
                                                   " name and birth_date",
                                                   i));
                return;
            }
            if (!json_is_string(val)
                || memchr(json_string_value(val), '\0',
                          json_string_length(val))) {
                verify_request_refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                                      apr_psprintf(p, "subjects[%"
                                                   APR_SIZE_T_FMT "].%s "
                                                   "must be a string "
                                                   "without NUL bytes", i,
                                                   key));
                return;
            }
            if (f != VERIFY_F_ID) {
                q->want_match = 1;      /* for the permission */
            }
        }
    }
}

/* Each subject counts against the client's rate: the request took one
 * token, the batch takes the rest, all or none. */
static void take_rate(verify_req_t *q)
{
    const verify_client_t *cl = q->client;

    if (q->items < 2
        || verify_client_rate_take_n(cl, q->r->request_time,
                                     (double)(q->items - 1))) {
        return;
    }
    verify_request_refuse(q, HTTP_TOO_MANY_REQUESTS, "rate_limited",
                          (double)q->items > cl->burst
                          ? apr_psprintf(q->r->pool, "each subject counts "
                                         "as a request: at most %.0f "
                                         "subjects per request at the "
                                         "client's approved rate",
                                         cl->burst)
                          : "each subject counts as a request: more than "
                            "the client's approved rate; retry later");
}

/* What is kept of a subject once its line's members are made: its
 * answer's item up to the receipt, and its count of a possible
 * mismatch. (One request state serves every subject in turn: a batch of
 * a thousand keeps a few hundred bytes each.) */
typedef struct item_t {
    const char *json;               /* {"results":… or {"error":… */
    size_t len;
    int mismatch_taken;             /* counted before the lookup */
    int no_mismatch;                /* …and was none: given back */
    unsigned char subject_tag[VERIFY_TAG_LEN];
} item_t;

/* Subject @p i of @p q as a single request in @p s: the batch's shared
 * fields, this subject's id, name and birth date, nothing decided. */
static void subject_request(verify_req_t *s, verify_req_t *q, size_t i)
{
    json_t *item = json_array_get(q->subjects, i), *val;
    const char *key;
    int f;

    memcpy(s, q, sizeof(*s));
    s->f[VERIFY_F_ID].present = 0;
    s->f[VERIFY_F_NAME].present = 0;
    s->f[VERIFY_F_BIRTH].present = 0;
    s->want_match = 0;
    s->id_valid = 0;
    s->status = HTTP_OK;
    s->error = NULL;
    s->message = NULL;
    s->answered = 0;
    s->flag = NULL;
    s->retry_after = NULL;
    s->mismatch_taken = 0;
    s->identity_match = 0;
    s->age_result = 0;
    memset(s->results, 0, sizeof(s->results));
    memset(&s->lk, 0, sizeof(s->lk));
    s->is_item = 1;
    s->item = i;
    json_object_foreach(item, key, val) {
        f = member_field(key);
        s->f[f].present = 1;
        s->f[f].v = json_string_value(val);
        s->f[f].len = json_string_length(val);
    }
}

/* The item of @p s in the answer, without its receipt. */
static void keep_item(verify_req_t *s, item_t *it)
{
    char buf[ITEM_ANSWER_MAX];
    verify_jbuf_t b;

    verify_jbuf_init(&b, buf, sizeof(buf));
    VERIFY_JRAW(&b, "{");
    if (s->answered) {
        verify_request_json_results(&b, s);
    }
    else {
        VERIFY_JRAW(&b, "\"error\":");
        verify_jbuf_str(&b, s->error, strlen(s->error), 64);
        VERIFY_JRAW(&b, ",\"message\":");
        verify_jbuf_str(&b, s->message, strlen(s->message), 400);
    }
    it->json = apr_pmemdup(s->r->pool, buf, b.len);
    it->len = b.len;
    it->mismatch_taken = s->mismatch_taken;
    it->no_mismatch = !s->answered || s->identity_match;
    memcpy(it->subject_tag, s->subject_tag, VERIFY_TAG_LEN);
}

/* The answer: as_of of every source looked up, then one item per
 * subject in order, each with its receipt. */
static int respond(verify_req_t *q, verify_req_t *asof, const item_t *items,
                   const verify_writer_receipt_t *rc)
{
    char hex[2 * VERIFY_MERKLE_HASH_LEN + 1];
    size_t cap = 1024, i;
    verify_jbuf_t b;
    char *buf;

    for (i = 0; i < q->items; i++) {
        cap += items[i].len + 128;      /* ,{…,"receipt":{…}} */
    }
    buf = apr_palloc(q->r->pool, cap);
    verify_jbuf_init(&b, buf, cap);
    VERIFY_JRAW(&b, "{\"request_id\":\"");
    verify_jbuf_raw(&b, q->request_id, strlen(q->request_id));
    VERIFY_JRAW(&b, "\",");
    verify_request_json_as_of(&b, asof);
    VERIFY_JRAW(&b, ",\"answers\":[");
    for (i = 0; i < q->items; i++) {
        if (i) {
            VERIFY_JRAW(&b, ",");
        }
        verify_jbuf_raw(&b, items[i].json, items[i].len);
        VERIFY_JRAW(&b, ",\"receipt\":{\"seq\":");
        verify_jbuf_u64(&b, rc[i].seq);
        VERIFY_JRAW(&b, ",\"leaf\":\"");
        verify_hex(rc[i].leaf, VERIFY_MERKLE_HASH_LEN, hex);
        verify_jbuf_raw(&b, hex, 2 * VERIFY_MERKLE_HASH_LEN);
        VERIFY_JRAW(&b, "\"}}");
    }
    VERIFY_JRAW(&b, "]}\n");
    q->status = HTTP_OK;
    verify_request_headers(q);
    return verify_request_send(q, buf, b.len);
}

/* Counts of identity mismatches that were none given back; with
 * @p all, every count (nothing was answered). */
static void give_back(verify_req_t *q, const item_t *items, size_t n,
                      verify_date_t today, int all)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (items[i].mismatch_taken && (all || items[i].no_mismatch)) {
            verify_client_mismatch_give_back(q->client,
                                             items[i].subject_tag, today);
        }
    }
}

/* Every subject decided and its line's members made, as a single
 * request's; the sources looked up gathered in @p asof (one snapshot
 * for all: a source's as_of is the same for each subject that needed
 * it). *done: how many were. 0 when a line's members do not fit (never
 * expected). */
static int decide_all(verify_req_t *q, verify_snap_t *snap,
                      verify_date_t today, item_t *items,
                      verify_writer_body_t *lines, verify_req_t *asof,
                      size_t *done)
{
    verify_req_t *s = apr_palloc(q->r->pool, sizeof(*s));
    char body[VERIFY_AUDIT_LINE_MAX];
    size_t i, blen;
    int k;

    for (i = 0; i < q->items; i++) {
        subject_request(s, q, i);
        verify_request_validate_subject(s);
        verify_handler_identity_gate(s, today);
        if (!s->error) {
            verify_request_decide_in(s, snap, today);
        }
        for (k = 0; k < VERIFY_SRC_COUNT; k++) {
            if (s->lk.have_batch[k] && !asof->lk.have_batch[k]) {
                asof->lk.have_batch[k] = 1;
                asof->lk.batch[k] = s->lk.batch[k];
            }
        }
        keep_item(s, &items[i]);
        *done = i + 1;
        blen = verify_request_audit_body(s, body, sizeof(body));
        if (blen == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, VERIFY_LOGNO(126)
                          "request %s: the audit line of subject %"
                          APR_SIZE_T_FMT " does not fit; nothing of the "
                          "batch is answered", q->request_id, i);
            return 0;
        }
        lines[i].body = apr_pmemdup(q->r->pool, body, blen);
        lines[i].len = blen;
    }
    return 1;
}

int verify_batch_answer(verify_req_t *q, verify_date_t today, int *rc)
{
    request_rec *r = q->r;
    verify_writer_receipt_t *receipts;
    verify_writer_body_t *lines;
    verify_req_t *asof;
    verify_snap_t *snap;
    item_t *items;
    size_t done = 0;
    int ok;

    if (!q->error) {
        check_shape(q);
    }
    /* whatever is told, as for a single request: an ID in the case or
     * reason is masked in the line */
    verify_request_validate_shared(q);
    if (!q->error) {
        verify_handler_permission(q);
    }
    if (!q->error) {
        take_rate(q);
    }
    if (q->error) {
        return 0;
    }
    snap = verify_store_hold(r);
    if (!snap) {
        verify_request_refuse(q, HTTP_SERVICE_UNAVAILABLE,
                              "store_unavailable",
                              "the verification store is not available");
        return 0;
    }
    items = apr_pcalloc(r->pool, q->items * sizeof(*items));
    lines = apr_palloc(r->pool, q->items * sizeof(*lines));
    receipts = apr_palloc(r->pool, q->items * sizeof(*receipts));
    asof = apr_pcalloc(r->pool, sizeof(*asof));
    /* one snapshot: the whole batch is answered from the same data */
    ok = decide_all(q, snap, today, items, lines, asof, &done);
    verify_store_drop(snap);
    if (!ok || verify_auditlog_append_batch(r->server, lines, q->items,
                                            q->request_id, receipts,
                                            r->pool) != APR_SUCCESS) {
        /* no lines, no answer: not one subject's */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, VERIFY_LOGNO(125)
                      "request %s: the %" APR_SIZE_T_FMT " audit lines of "
                      "a batch could not be written; none of its subjects "
                      "was answered (503)", q->request_id, q->items);
        give_back(q, items, done, today, 1);
        q->error = NULL;
        verify_request_refuse(q, HTTP_SERVICE_UNAVAILABLE,
                              "audit_unavailable",
                              "the audit log cannot be written; nothing was "
                              "answered");
        *rc = verify_request_respond(q);
        verify_auditlog_answered();
        return 1;
    }
    give_back(q, items, q->items, today, 0);
    *rc = respond(q, asof, items, receipts);
    /* the answer has left: the lines need no longer be marked */
    verify_auditlog_answered();
    return 1;
}
