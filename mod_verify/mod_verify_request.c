/*
 * mod_verify_request.c -- one /verify request: its validation, the
 * decision from the store, the JSON answer and the audit members of its
 * line. Reading and parsing the body is mod_verify_body.c.
 */
#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_filter.h"
#include <apr_atomic.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <openssl/rand.h>
#include <jansson.h>
#include "verify_name.h"

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_config.h"
#include "mod_verify_notes.h"
#include "mod_verify_request.h"
#include "mod_verify_sources.h"
#include "mod_verify_status.h"
#include "mod_verify_store.h"

#define CASE_MAX_CHARS 64
#define REASON_MAX_CHARS 200
#define OPERATOR_MAX_CHARS 64
#define NAME_MAX_CHARS 64

/* The generation's key (pconf), read as root in post_config. */
static verify_keys_t *keys;
static unsigned char key_check[VERIFY_KEY_CHECK_LEN];
/* per child: request ids */
static char id_prefix[17];
static apr_uint32_t id_counter;

/* The key goes with the configuration pool it lives in. */
static apr_status_t keys_cleanup(void *data)
{
    keys = NULL;
    return APR_SUCCESS;
}

apr_status_t verify_request_post_config(server_rec *s, apr_pool_t *pconf)
{
    char *err = NULL;
    apr_status_t rv;

    rv = verify_keys_load(&keys, verify_config_key_file(), &err, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(19)
                     "%s", err);
        keys = NULL;
        return rv;
    }
    verify_keys_check(keys, key_check);
    apr_pool_cleanup_register(pconf, NULL, keys_cleanup,
                              apr_pool_cleanup_null);
    return APR_SUCCESS;
}

void verify_request_child_init(void)
{
    unsigned char rnd[8];

    /* ids need uniqueness, not secrecy: one draw per child */
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        apr_generate_random_bytes(rnd, sizeof(rnd));
    }
    verify_hex(rnd, sizeof(rnd), id_prefix);
}

int verify_request_ready(void)
{
    return keys != NULL;
}

int verify_request_key_matches(const verify_batch_t *b)
{
    return !b->have_key_check
           || !memcmp(b->key_check, key_check, VERIFY_KEY_CHECK_LEN);
}

/* The child's prefix and @p n as 8 hex digits ("%s%08x", without the
 * formatter: once a request). */
static void request_id(char out[VERIFY_REQUEST_ID_LEN + 1], apr_uint32_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = strlen(id_prefix);     /* 16 once child_init has run */
    int i;

    memcpy(out, id_prefix, len);
    for (i = 7; i >= 0; i--) {
        out[len + (size_t)i] = hex[n & 15];
        n >>= 4;
    }
    out[len + 8] = '\0';
}

verify_req_t *verify_request_create(request_rec *r)
{
    verify_req_t *q = apr_pcalloc(r->pool, sizeof(*q));

    q->r = r;
    q->status = HTTP_OK;
    q->age_n = -1;
    q->check_list = apr_array_make(r->pool, 4, sizeof(verify_field_t));
    request_id(q->request_id, apr_atomic_inc32(&id_counter));
    return q;
}

const char *const verify_request_field_names[VERIFY_F_COUNT] = {
    "id", "check", "case", "reason", "operator", "name", "birth_date"
};

static void refuse(verify_req_t *q, int status, const char *error,
                   const char *message)
{
    if (!q->error) {            /* the first fault found is the one told */
        q->status = status;
        q->error = error;
        q->message = message;
    }
}

void verify_request_refuse(verify_req_t *q, int status, const char *error,
                           const char *message)
{
    refuse(q, status, error, message);
}

/* The parameters of @p ct ("; charset=utf-8 ...") when its media type
 * is @p type; NULL when it is another type. */

static int text_ok(const verify_field_t *f, size_t max_chars)
{
    return f->len > 0 && verify_utf8_clean(f->v, f->len)
           && verify_utf8_chars(f->v, f->len) <= max_chars;
}

/* The checks asked, each known and asked once. */
static void validate_checks(verify_req_t *q)
{
    int i, k, n;

    for (i = 0; i < q->check_list->nelts; i++) {
        const verify_field_t *c = &APR_ARRAY_IDX(q->check_list, i,
                                                 verify_field_t);
        k = verify_check_index(c->v, c->len);
        n = verify_check_age(c->v, c->len);
        if (n == -2) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_check",
                   "age_at_least:N needs N a whole number from 0 to 120, "
                   "without leading zeros");
        }
        else if (n >= 0 && q->age_n >= 0) {
            /* one N per request: each age asked is its own audit line */
            refuse(q, HTTP_BAD_REQUEST, "invalid_check",
                   "only one age_at_least check per request");
        }
        else if (n >= 0) {
            q->age_n = n;
            q->checks |= VERIFY_PERMIT_AGE;
        }
        else if (c->len == 0) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "check has an empty item");
        }
        else if (k < 0) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "unknown check (resident, indigenous, elderly_alone, "
                   "disability, age_at_least:N)");
        }
        else if (q->checks & (1u << k)) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "check listed twice");
        }
        else {
            q->checks |= 1u << k;
        }
    }
}

/* A case, reason or operator holding what looks like an ID number is
 * refused (an account named by its holder's ID number is personal data
 * in every line of the log),
 * and whatever fault is told, its audit line holds the field with the
 * number masked: the log never keeps an ID in clear, whoever typed it
 * where. Nothing of it reaches the error log or the answer. */
static void refuse_id_in_text(verify_req_t *q, int field)
{
    verify_field_t *f = &q->f[field];
    const char *name = verify_request_field_names[field];
    unsigned found = 0;
    size_t len;

    if (!f->present || !f->len) {
        return;
    }
    f->v = verify_pii_mask(f->v, f->len, VERIFY_PII_ID, &len, &found,
                           q->r->pool);
    f->len = len;
    if (!found) {
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, VERIFY_LOGNO(130)
                  "request %s: %s holds what looks like a national ID "
                  "number; refused (400 invalid_field), masked in the "
                  "audit line", q->request_id, name);
    refuse(q, HTTP_BAD_REQUEST, "invalid_field",
           apr_psprintf(q->r->pool, "%s holds what looks like a national "
                        "ID number (valid check digit): send the %s "
                        "without personal data", name, name));
}

/* The free-text and identity fields. */
static void validate_texts(verify_req_t *q)
{
    refuse_id_in_text(q, VERIFY_F_CASE);
    refuse_id_in_text(q, VERIFY_F_REASON);
    refuse_id_in_text(q, VERIFY_F_OPERATOR);
    if (q->f[VERIFY_F_CASE].present && q->f[VERIFY_F_CASE].len
        && !text_ok(&q->f[VERIFY_F_CASE], CASE_MAX_CHARS)) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               "case must be 1-64 characters of text");
    }
    if (q->f[VERIFY_F_REASON].present && q->f[VERIFY_F_REASON].len
        && !text_ok(&q->f[VERIFY_F_REASON], REASON_MAX_CHARS)) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               "reason must be 1-200 characters of text");
    }
    if (q->f[VERIFY_F_OPERATOR].present && q->f[VERIFY_F_OPERATOR].len
        && !text_ok(&q->f[VERIFY_F_OPERATOR], OPERATOR_MAX_CHARS)) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               "operator must be 1-64 characters of text");
    }
}

/* The identity fields: name and birth_date. */
static void validate_identity(verify_req_t *q)
{
    if (q->f[VERIFY_F_NAME].present) {
        q->want_match = 1;
        if (!text_ok(&q->f[VERIFY_F_NAME], NAME_MAX_CHARS)) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "name must be 1-64 characters of text");
        }
    }
    if (q->f[VERIFY_F_BIRTH].present) {
        q->want_match = 1;
        if (!verify_date_parse_iso(q->f[VERIFY_F_BIRTH].v,
                                   q->f[VERIFY_F_BIRTH].len)) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "birth_date must be a date YYYY-MM-DD");
        }
    }
}

/* Fields @p from to @p to (VERIFY_F_*) that must be there. */
static void require(verify_req_t *q, int from, int to)
{
    int i;

    for (i = from; i <= to; i++) {
        if (!q->f[i].present || (q->f[i].len == 0 && i != VERIFY_F_CHECK)
            || (i == VERIFY_F_CHECK && q->check_list->nelts == 0)) {
            refuse(q, HTTP_BAD_REQUEST, "missing_field",
                   apr_psprintf(q->r->pool, "field %s is required",
                                verify_request_field_names[i]));
        }
    }
}

/* The ID: valid, normalised, and its keyed subject tag. */
static void validate_id(verify_req_t *q)
{
    verify_id_status_t st;

    if (q->f[VERIFY_F_ID].present && q->f[VERIFY_F_ID].len) {
        st = verify_id_normalise(q->f[VERIFY_F_ID].v, q->f[VERIFY_F_ID].len,
                                 q->id, NULL);
        if (st == VERIFY_ID_OK) {
            q->id_valid = 1;
            verify_keys_tag(keys, VERIFY_KEY_SUBJECT, q->id, VERIFY_ID_LEN,
                            q->subject_tag);
        }
        else {
            refuse(q, HTTP_BAD_REQUEST, "invalid_id",
                   verify_id_strerror(st));
        }
    }
}

/* Everything about the request that needs no store. */
void verify_request_validate(verify_req_t *q)
{
    require(q, VERIFY_F_ID, VERIFY_F_OPERATOR);
    validate_id(q);
    validate_checks(q);
    validate_texts(q);
    validate_identity(q);
}

void verify_request_validate_shared(verify_req_t *q)
{
    require(q, VERIFY_F_CHECK, VERIFY_F_OPERATOR);
    validate_checks(q);
    validate_texts(q);
}

void verify_request_validate_subject(verify_req_t *q)
{
    require(q, VERIFY_F_ID, VERIFY_F_ID);
    validate_id(q);
    validate_identity(q);
}

/* The sources the asked checks (and an identity match) need. */
static unsigned sources_needed(const verify_req_t *q)
{
    unsigned sources = 0;
    int k;

    for (k = 0; k < VERIFY_CHECK_COUNT; k++) {
        if (q->checks & (1u << k)) {
            sources |= 1u << verify_check_source(k);
        }
    }
    if (q->want_match || q->age_n >= 0) {
        sources |= 1u << VERIFY_SRC_HOUSEHOLD;
    }
    return sources;
}

/* May the batches of @p sources answer today? Every source must be
 * there (store_unavailable) before any expiry is told (data_expired),
 * whatever their order. */
static void check_batches(verify_req_t *q, unsigned sources,
                          verify_date_t today)
{
    static int said;
    const char *stale;
    int k;

    for (k = 0; k < VERIFY_SRC_COUNT; k++) {
        if (!(sources & (1u << k))) {
            continue;
        }
        if (!q->lk.have_batch[k]) {
            refuse(q, HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
                   apr_psprintf(q->r->pool, "no %s data has been imported",
                                verify_source_name(k)));
        }
        else if (q->lk.batch[k].have_key_check
                 && memcmp(q->lk.batch[k].key_check, key_check,
                           VERIFY_KEY_CHECK_LEN)) {
            /* With the wrong key nobody would be found: every answer
             * would be a confident "no". Refuse instead. */
            if (!said) {
                said = 1;
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                              VERIFY_LOGNO(27) "the %s batch was imported "
                              "with another key than VerifyKeyFile; not "
                              "answering from it", verify_source_name(k));
            }
            refuse(q, HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
                   apr_psprintf(q->r->pool, "the %s data was imported "
                                "with another pseudonym key",
                                verify_source_name(k)));
        }
    }
    for (k = 0; !q->error && k < VERIFY_SRC_COUNT; k++) {
        if ((sources & (1u << k)) && q->lk.batch[k].approved_until
            && q->lk.batch[k].approved_until < today) {
            refuse(q, HTTP_SERVICE_UNAVAILABLE, "data_expired",
                   apr_psprintf(q->r->pool, "the approved usage period of "
                                "the %s data has ended",
                                verify_source_name(k)));
        }
        else if ((sources & (1u << k))
                 && (stale = verify_sources_stale(q->r, k, &q->lk.batch[k],
                                                  q->r->request_time))) {
            refuse(q, HTTP_SERVICE_UNAVAILABLE, "data_expired", stale);
        }
    }
}

/* Does every given identity field match the household record? */
static int identity_matches(const verify_req_t *q)
{
    const verify_field_t *name = &q->f[VERIFY_F_NAME];
    const verify_field_t *birth = &q->f[VERIFY_F_BIRTH];
    const verify_record_t *hh = &q->lk.rec[VERIFY_SRC_HOUSEHOLD];

    if (!q->lk.found[VERIFY_SRC_HOUSEHOLD]) {
        return 0;
    }
    /* the Han name or the romanised one, in the record's normal form
     * (verify_name.h): as people write them */
    if (name->present
        && !verify_name_matches(keys, hh, name->v, name->len)) {
        return 0;
    }
    return !birth->present
           || verify_date_parse_iso(birth->v, birth->len) == hh->birth;
}

/* The answer to every check, from the records found. */
static void answer(verify_req_t *q, verify_date_t today)
{
    const verify_lookup_t *lk = &q->lk;
    int in_hh = lk->found[VERIFY_SRC_HOUSEHOLD];

    q->results[VERIFY_CHECK_RESIDENT] = in_hh;
    q->results[VERIFY_CHECK_INDIGENOUS] =
        in_hh && lk->rec[VERIFY_SRC_HOUSEHOLD].indigenous
                 != VERIFY_INDIGENOUS_NONE;
    q->results[VERIFY_CHECK_ELDERLY_ALONE] =
        lk->found[VERIFY_SRC_ELDERLY_ALONE]
        && lk->rec[VERIFY_SRC_ELDERLY_ALONE].valid_until >= today;
    q->results[VERIFY_CHECK_DISABILITY] =
        lk->found[VERIFY_SRC_DISABILITY]
        && lk->rec[VERIFY_SRC_DISABILITY].valid_until >= today;
    if (q->want_match) {
        q->identity_match = identity_matches(q);
    }
    if (q->age_n >= 0) {
        /* not found, or no birth date: "no", as for every check */
        q->age_result = in_hh
            && verify_date_age(lk->rec[VERIFY_SRC_HOUSEHOLD].birth, today)
               >= q->age_n;
    }
    q->status = HTTP_OK;
    q->answered = 1;
}

void verify_request_decide(verify_req_t *q, verify_date_t today)
{
    verify_snap_t *snap = verify_store_hold(q->r);

    verify_request_decide_in(q, snap, today);
    if (snap) {
        verify_store_drop(snap);
    }
}

void verify_request_decide_in(verify_req_t *q, verify_snap_t *snap,
                              verify_date_t today)
{
    unsigned char key[VERIFY_TAG_LEN];
    unsigned sources = sources_needed(q);
    const char *err = NULL;
    apr_status_t rv;

    if (!snap) {
        refuse(q, HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
               "the verification store is not available");
        return;
    }
    verify_keys_tag(keys, VERIFY_KEY_STORE, q->id, VERIFY_ID_LEN, key);
    /* one lookup: the whole answer comes from this one snapshot */
    rv = verify_store_lookup(verify_snap_store(snap), key, sources, &q->lk,
                             &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, VERIFY_LOGNO(24)
                      "store lookup failed: %s", err);
        refuse(q, HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
               "the verification store could not be read");
        return;
    }
    check_batches(q, sources, today);
    if (!q->error) {
        answer(q, today);
    }
}

static void jstr_field(verify_jbuf_t *b, const char *key,
                       const verify_field_t *f, size_t max_out)
{
    verify_jbuf_key(b, key);
    if (f->present) {
        verify_jbuf_str(b, f->v, f->len, max_out);
    }
    else {
        VERIFY_JRAW(b, "null");
    }
}

static void json_bool(verify_jbuf_t *b, int v)
{
    if (v) {
        VERIFY_JRAW(b, "true");
    }
    else {
        VERIFY_JRAW(b, "false");
    }
}

void verify_request_json_results(verify_jbuf_t *b, verify_req_t *q)
{
    int k, first = 1;

    VERIFY_JRAW(b, "\"results\":{");
    for (k = 0; k < VERIFY_CHECK_COUNT; k++) {
        if (q->checks & (1u << k)) {
            if (!first) {
                VERIFY_JRAW(b, ",");
            }
            first = 0;
            verify_jbuf_key(b, verify_check_name(k));
            json_bool(b, q->results[k]);
        }
    }
    if (q->age_n >= 0) {
        char name[sizeof(VERIFY_AGE_CHECK) + 8];

        apr_snprintf(name, sizeof(name), VERIFY_AGE_CHECK ":%d", q->age_n);
        if (!first) {
            VERIFY_JRAW(b, ",");
        }
        verify_jbuf_key(b, name);
        json_bool(b, q->age_result);
    }
    VERIFY_JRAW(b, "}");
    if (q->want_match) {
        VERIFY_JRAW(b, ",\"identity_match\":");
        json_bool(b, q->identity_match);
    }
}

void verify_request_json_as_of(verify_jbuf_t *b, verify_req_t *q)
{
    int k, first = 1;

    VERIFY_JRAW(b, "\"as_of\":{");
    for (k = 0; k < VERIFY_SRC_COUNT; k++) {
        if (q->lk.have_batch[k]) {
            if (!first) {
                VERIFY_JRAW(b, ",");
            }
            first = 0;
            verify_jbuf_key(b, verify_source_name(k));
            verify_jbuf_str(b, q->lk.batch[k].as_of,
                            strlen(q->lk.batch[k].as_of), 64);
        }
    }
    VERIFY_JRAW(b, "}");
}

/* results and as_of members, shared by the answer and the audit line */
static void results_json(verify_jbuf_t *b, verify_req_t *q)
{
    VERIFY_JRAW(b, ",");
    verify_request_json_results(b, q);
    VERIFY_JRAW(b, ",");
    verify_request_json_as_of(b, q);
}

/* subject and subject_tag: the ID masked and as a keyed pseudonym;
 * never in clear. */
static void subject_json(verify_jbuf_t *b, const verify_req_t *q)
{
    char masked[VERIFY_ID_LEN + 1];
    char taghex[2 * VERIFY_TAG_LEN + 1];

    if (q->id_valid) {
        verify_id_mask(q->id, VERIFY_ID_LEN, masked);
        verify_jbuf_str(b, masked, VERIFY_ID_LEN, 16);
        verify_hex(q->subject_tag, VERIFY_TAG_LEN, taghex);
        VERIFY_JRAW(b, ",\"subject_tag\":\"");
        verify_jbuf_raw(b, taghex, 2 * VERIFY_TAG_LEN);
        VERIFY_JRAW(b, "\"");
    }
    else if (q->f[VERIFY_F_ID].present) {
        /* an invalid ID may be a typo of a real one: masked only */
        verify_id_mask(q->f[VERIFY_F_ID].v, q->f[VERIFY_F_ID].len, masked);
        verify_jbuf_str(b, masked, strlen(masked), 16);
        VERIFY_JRAW(b, ",\"subject_tag\":null");
    }
    else {
        VERIFY_JRAW(b, "null,\"subject_tag\":null");
    }
}

/* The audit members of one request (R4.2.5): who, what about whom, why,
 * and the outcome. Never the ID in clear, the name or the birth date. */
size_t verify_request_audit_body(verify_req_t *q, char *buf, size_t cap)
{
    verify_jbuf_t b;
    int i, n;

    verify_jbuf_init(&b, buf, cap);
    VERIFY_JRAW(&b, ",\"request_id\":\"");
    verify_jbuf_raw(&b, q->request_id, strlen(q->request_id));
    VERIFY_JRAW(&b, "\",\"client\":");
    if (q->client) {
        verify_jbuf_str(&b, q->client->name, strlen(q->client->name), 128);
    }
    else {
        VERIFY_JRAW(&b, "null");
    }
    VERIFY_JRAW(&b, ",");
    jstr_field(&b, "operator", &q->f[VERIFY_F_OPERATOR], 256);
    /* the TCP peer the register identified, never a forwarded header */
    VERIFY_JRAW(&b, ",\"ip\":");
    verify_jbuf_str(&b, q->r->connection->client_ip,
                    strlen(q->r->connection->client_ip), 64);
    VERIFY_JRAW(&b, ",\"op\":\"verify\",\"method\":");
    verify_jbuf_str(&b, q->r->method, strlen(q->r->method), 16);
    VERIFY_JRAW(&b, ",\"checks\":[");
    /* Only known check names: an unknown one may be anything the
     * client put there, even an ID. */
    n = q->check_list->nelts > 8 ? 8 : q->check_list->nelts;
    for (i = 0; i < n; i++) {
        const verify_field_t *c = &APR_ARRAY_IDX(q->check_list, i,
                                                 verify_field_t);
        int k = verify_check_index(c->v, c->len);
        int age = verify_check_age(c->v, c->len);
        const char *known = k >= 0 ? verify_check_name(k)
                            : age >= 0 ? apr_psprintf(q->r->pool,
                                                      VERIFY_AGE_CHECK ":%d",
                                                      age)
                            : "?";
        if (i) {
            VERIFY_JRAW(&b, ",");
        }
        verify_jbuf_str(&b, known, strlen(known), 32);
    }
    VERIFY_JRAW(&b, "],\"subject\":");
    subject_json(&b, q);
    VERIFY_JRAW(&b, ",");
    jstr_field(&b, "case", &q->f[VERIFY_F_CASE], 300);
    VERIFY_JRAW(&b, ",");
    jstr_field(&b, "reason", &q->f[VERIFY_F_REASON], 1000);
    /* which identity fields were asked about, never their values */
    VERIFY_JRAW(&b, ",\"match_fields\":[");
    if (q->f[VERIFY_F_NAME].present) {
        VERIFY_JRAW(&b, "\"name\"");
    }
    if (q->f[VERIFY_F_BIRTH].present) {
        if (q->f[VERIFY_F_NAME].present) {
            VERIFY_JRAW(&b, ",");
        }
        VERIFY_JRAW(&b, "\"birth_date\"");
    }
    VERIFY_JRAW(&b, "],\"status\":");
    verify_jbuf_u64(&b, (uint64_t)q->status);
    if (q->answered) {
        results_json(&b, q);
    }
    else {
        VERIFY_JRAW(&b, ",\"error\":");
        verify_jbuf_str(&b, q->error, strlen(q->error), 64);
        VERIFY_JRAW(&b, ",\"as_of\":null");
    }
    if (q->flag) {
        VERIFY_JRAW(&b, ",\"flag\":");
        verify_jbuf_str(&b, q->flag, strlen(q->flag), 64);
    }
    if (q->is_item) {
        /* one subject of a batch: a query of its own, joined to the
         * others by request_id */
        VERIFY_JRAW(&b, ",\"item\":");
        verify_jbuf_u64(&b, (uint64_t)q->item);
    }
    if (q->subjects) {
        VERIFY_JRAW(&b, ",\"items\":");
        verify_jbuf_u64(&b, (uint64_t)q->items);
    }
    return b.overflow ? 0 : b.len;
}

void verify_request_headers(verify_req_t *q)
{
    request_rec *r = q->r;

    verify_notes_set(q);
    verify_status_count(q->answered, q->error);
    r->status = q->status;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (q->status == HTTP_METHOD_NOT_ALLOWED) {
        apr_table_setn(r->headers_out, "Allow", "POST");
    }
    if (q->status == HTTP_TOO_MANY_REQUESTS) {
        apr_table_setn(r->headers_out, "Retry-After",
                       q->retry_after ? q->retry_after : "1");
    }
    if (q->warning) {
        /* a credential limit is near: the client's admins can act */
        apr_table_setn(r->headers_out, "Verify-Warning", q->warning);
    }
    if (q->body_unread) {
        /* whatever the answer (another fault may outrank the 413), the
         * rest of an oversized body is not read: close the connection */
        r->connection->keepalive = AP_CONN_CLOSE;
    }
}

int verify_request_send(verify_req_t *q, const char *buf, size_t len)
{
    request_rec *r = q->r;
    apr_bucket_brigade *bb;

    ap_set_content_length(r, (apr_off_t)len);
    /* Flush now, as the static-file path does: the answer leaves while
     * the request is still being finished, so a keep-alive client's next
     * request is often already there when the worker looks, and the
     * connection need not go back through the event loop. */
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    if (!r->header_only) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_transient_create(
                                    buf, len, bb->bucket_alloc));
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
           ? OK : AP_FILTER_ERROR;
}

int verify_request_respond(verify_req_t *q)
{
    char buf[1024], hex[2 * VERIFY_MERKLE_HASH_LEN + 1];
    verify_jbuf_t b;

    verify_request_headers(q);
    verify_jbuf_init(&b, buf, sizeof(buf) - 1);
    VERIFY_JRAW(&b, "{\"request_id\":\"");
    verify_jbuf_raw(&b, q->request_id, strlen(q->request_id));
    VERIFY_JRAW(&b, "\"");
    if (q->answered) {
        results_json(&b, q);
        /* only an answer has a receipt: a refusal's line is in the log
         * too, but a client keeps receipts for the answers it acted on */
        VERIFY_JRAW(&b, ",\"receipt\":{\"seq\":");
        verify_jbuf_u64(&b, q->receipt.seq);
        VERIFY_JRAW(&b, ",\"leaf\":\"");
        verify_hex(q->receipt.leaf, VERIFY_MERKLE_HASH_LEN, hex);
        verify_jbuf_raw(&b, hex, 2 * VERIFY_MERKLE_HASH_LEN);
        VERIFY_JRAW(&b, "\"}");
    }
    else {
        VERIFY_JRAW(&b, ",\"error\":");
        verify_jbuf_str(&b, q->error, strlen(q->error), 64);
        VERIFY_JRAW(&b, ",\"message\":");
        verify_jbuf_str(&b, q->message, strlen(q->message), 400);
    }
    VERIFY_JRAW(&b, "}\n");
    return verify_request_send(q, buf, b.len);
}
