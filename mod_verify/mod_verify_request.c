/*
 * mod_verify_request.c -- one /verify request: the body (form or JSON),
 * its validation, the decision from the store, the JSON answer and the
 * audit members of its line.
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

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_config.h"
#include "mod_verify_request.h"
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

verify_req_t *verify_request_create(request_rec *r)
{
    verify_req_t *q = apr_pcalloc(r->pool, sizeof(*q));

    q->r = r;
    q->status = HTTP_OK;
    q->check_list = apr_array_make(r->pool, 4, sizeof(verify_field_t));
    apr_snprintf(q->request_id, sizeof(q->request_id), "%s%08x",
                 id_prefix, apr_atomic_inc32(&id_counter));
    return q;
}

static const char *const field_names[VERIFY_F_COUNT] = {
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
static const char *media_type(const char *ct, const char *type)
{
    size_t n = strlen(type);

    if (ct && !strncasecmp(ct, type, n)
        && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '
            || ct[n] == '\t')) {
        return ct + n;
    }
    return NULL;
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

/* The media type's parameters (RFC 9110 8.3.1): each a token=token or
 * token="quoted string". The body is read as UTF-8, so a charset must
 * say so (case-insensitive, quotes allowed); any other, a second one or
 * a malformed list is refused rather than read as something it is not.
 * Other parameters are ignored. 0 if acceptable. */
static int charset_ok(const char *params, apr_pool_t *p)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    const char *s = skip_ows(params), *name;
    char *val, *o;
    size_t nlen;
    int charsets = 0;

    while (*s) {
        if (*s++ != ';') {
            return -1;
        }
        s = skip_ows(s);
        if (!*s) {
            break;              /* "type;" : an empty parameter list */
        }
        for (name = s; apr_isalnum(*s) || (*s && strchr(tchar, *s)); s++) {
        }
        nlen = (size_t)(s - name);
        if (nlen == 0 || *s++ != '=') {
            return -1;
        }
        val = o = apr_palloc(p, strlen(s) + 1);
        if (*s == '"') {
            for (s++; *s && *s != '"'; s++) {
                if (*s == '\\' && s[1]) {
                    s++;
                }
                *o++ = *s;
            }
            if (*s++ != '"') {
                return -1;
            }
        }
        else {
            while (apr_isalnum(*s) || (*s && strchr(tchar, *s))) {
                *o++ = *s++;
            }
        }
        *o = '\0';
        if (nlen == 7 && !strncasecmp(name, "charset", 7)
            && (charsets++ || strcasecmp(val, "utf-8"))) {
            return -1;
        }
        s = skip_ows(s);
    }
    return 0;
}

/* Read the whole body, at most @p max bytes. */
static int read_body(verify_req_t *q, apr_off_t max, char **buf,
                     apr_size_t *len)
{
    request_rec *r = q->r;
    apr_size_t got = 0;
    long n;
    char *b;

    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field", "unreadable body");
        return -1;
    }
    if (r->remaining > max) {
        q->body_unread = 1;
        refuse(q, HTTP_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
               apr_psprintf(r->pool, "body larger than %" APR_OFF_T_FMT
                            " bytes", max));
        return -1;
    }
    b = apr_palloc(r->pool, (apr_size_t)max + 1);
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, b + got,
                                        (apr_size_t)max + 1 - got)) > 0) {
            got += (apr_size_t)n;
            if (got > (apr_size_t)max) {
                q->body_unread = 1;
                refuse(q, HTTP_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                       apr_psprintf(r->pool, "body larger than %"
                                    APR_OFF_T_FMT " bytes", max));
                return -1;
            }
        }
        if (n < 0) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field", "body cut short");
            return -1;
        }
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return 0;
}

static int field_index(const char *name, size_t len)
{
    int i;

    for (i = 0; i < VERIFY_F_COUNT; i++) {
        if (strlen(field_names[i]) == len
            && !memcmp(field_names[i], name, len)) {
            return i;
        }
    }
    return -1;
}

/* A field name as the client wrote it, for a message: short clean
 * text only (the message is no place for anything else), or "?". */
static const char *shown_name(verify_req_t *q, const char *key, size_t klen)
{
    return verify_utf8_clean(key, klen) && klen <= 32
           ? apr_pstrmemdup(q->r->pool, key, klen) : "?";
}

static void set_field(verify_req_t *q, const char *key, size_t klen,
                      const char *v, size_t vlen)
{
    int i = field_index(key, klen);

    if (i < 0) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               apr_psprintf(q->r->pool, "unknown field \"%s\"",
                            shown_name(q, key, klen)));
        return;
    }
    if (q->f[i].present) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               apr_psprintf(q->r->pool, "field %s given twice",
                            field_names[i]));
        return;
    }
    if (memchr(v, '\0', vlen)) {
        /* a C string would end there: what follows must not vanish */
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               apr_psprintf(q->r->pool, "field %s contains a NUL byte",
                            field_names[i]));
        return;
    }
    q->f[i].present = 1;
    q->f[i].v = v;
    q->f[i].len = vlen;
}

static void add_check(verify_req_t *q, const char *v, size_t len)
{
    verify_field_t *c = apr_array_push(q->check_list);

    c->v = v;
    c->len = len;
    c->present = 1;
}

/* check given as one string (form, or JSON string): comma-separated. A
 * JSON array has filled check_list already and left the field empty.
 * Every item counts, an empty one too ("resident,"): validation refuses
 * it rather than the request meaning something it did not say. */
static void split_checks(verify_req_t *q)
{
    const char *v = q->f[VERIFY_F_CHECK].v, *end, *comma;

    if (!q->f[VERIFY_F_CHECK].present || q->check_list->nelts
        || q->f[VERIFY_F_CHECK].len == 0) {
        return;                 /* an empty check is a missing one */
    }
    end = v + q->f[VERIFY_F_CHECK].len;
    for (;;) {
        comma = memchr(v, ',', (size_t)(end - v));
        add_check(q, v, (size_t)((comma ? comma : end) - v));
        if (!comma) {
            break;
        }
        v = comma + 1;
    }
}

/* One form item, @p len bytes at @p item (NUL-terminated after them):
 * name=value, both percent-decoded with httpd's own unescaper. Every
 * fault names the field it is in. */
static void form_item(verify_req_t *q, char *item, size_t len)
{
    apr_pool_t *p = q->r->pool;
    char *eq = memchr(item, '=', len);
    char *nul = memchr(item, '\0', len);
    size_t nlen = eq ? (size_t)(eq - item) : len;
    const char *name;
    int rv;

    if (nul && nul < item + nlen) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               apr_psprintf(p, "field name \"%s\" contains a NUL byte",
                            shown_name(q, item, (size_t)(nul - item))));
        return;
    }
    if (!eq) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field", len == 0
               ? "empty form item (a stray '&')"
               : apr_psprintf(p, "form item \"%s\" without '='",
                              shown_name(q, item, len)));
        return;
    }
    *eq++ = '\0';
    name = shown_name(q, item, nlen);
    /* ap_unescape_urlencoded: HTTP_NOT_FOUND for %00, HTTP_BAD_REQUEST
     * for a bad escape */
    rv = ap_unescape_urlencoded(item);
    if (rv != OK) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               apr_psprintf(p, "field name \"%s\": %s", name,
                            rv == HTTP_NOT_FOUND ? "contains a NUL byte"
                            : "bad %-escape"));
        return;
    }
    name = shown_name(q, item, strlen(item));
    if (nul) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               apr_psprintf(p, "field %s contains a NUL byte", name));
        return;
    }
    rv = ap_unescape_urlencoded(eq);
    if (rv != OK) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               apr_psprintf(p, "field %s %s", name, rv == HTTP_NOT_FOUND
                            ? "contains a NUL byte" : "has a bad %-escape"));
        return;
    }
    set_field(q, item, strlen(item), eq, strlen(eq));
}

/* application/x-www-form-urlencoded: items split at '&' by length, not
 * as a C string, so a NUL byte cannot hide what follows it. */
static void parse_form(verify_req_t *q, char *body, apr_size_t len)
{
    char *item = body, *end = body + len, *amp;

    while (len > 0) {
        amp = memchr(item, '&', (size_t)(end - item));
        if (!amp) {
            amp = end;
        }
        *amp = '\0';            /* end is the body's terminating NUL */
        form_item(q, item, (size_t)(amp - item));
        if (amp == end) {
            break;
        }
        item = amp + 1;
    }
}

static apr_status_t json_release(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* Why the body is not one JSON object of fields. A member given twice
 * is named as a form field given twice is; jansson's other texts may
 * quote the body, so only the position is told. */
static void json_fault(verify_req_t *q, const json_error_t *jerr)
{
    const char *key = strstr(jerr->text, "near '\"");
    const char *end = key ? strchr(key + 7, '"') : NULL;
    int i = end ? field_index(key + 7, (size_t)(end - key - 7)) : -1;

    if (json_error_code(jerr) == json_error_duplicate_key) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field", i >= 0
               ? apr_psprintf(q->r->pool, "field %s given twice",
                              field_names[i])
               : "a JSON member given twice");
        return;
    }
    refuse(q, HTTP_BAD_REQUEST, "invalid_field",
           apr_psprintf(q->r->pool, "malformed JSON at line %d column %d",
                        jerr->line, jerr->column));
}

/* application/json: one object of strings; check may be an array. */
static void parse_json(verify_req_t *q, const char *body, apr_size_t len)
{
    json_error_t jerr;
    json_t *root, *val, *item;
    const char *key;
    size_t i;

    /* NUL allowed by the parser only to be refused by set_field,
     * naming the field */
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                      &jerr);
    if (!root) {
        json_fault(q, &jerr);
        return;
    }
    apr_pool_cleanup_register(q->r->pool, root, json_release,
                              apr_pool_cleanup_null);
    if (!json_is_object(root)) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               "body must be a JSON object");
        return;
    }
    json_object_foreach(root, key, val) {
        if (json_is_string(val)) {
            set_field(q, key, strlen(key), json_string_value(val),
                      json_string_length(val));
        }
        else if (!strcmp(key, "check") && json_is_array(val)) {
            set_field(q, key, strlen(key), "", 0);
            json_array_foreach(val, i, item) {
                if (!json_is_string(item)
                    || memchr(json_string_value(item), '\0',
                              json_string_length(item))) {
                    refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                           "check must hold strings without NUL bytes");
                    continue;
                }
                add_check(q, json_string_value(item),
                          json_string_length(item));
            }
        }
        else {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   apr_psprintf(q->r->pool, "field %s must be a string",
                                field_index(key, strlen(key)) >= 0
                                ? key : "(unknown)"));
        }
    }
}

void verify_request_parse(verify_req_t *q, apr_off_t max)
{
    const char *ct = apr_table_get(q->r->headers_in, "Content-Type");
    const char *form = media_type(ct, "application/x-www-form-urlencoded");
    const char *json = media_type(ct, "application/json");
    char *in = NULL;
    apr_size_t inlen = 0;

    if (!form && !json) {
        refuse(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
               "send application/x-www-form-urlencoded or "
               "application/json");
        ap_discard_request_body(q->r);
    }
    else if (charset_ok(form ? form : json, q->r->pool) != 0) {
        refuse(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
               "the body must be UTF-8: a charset parameter may only say "
               "utf-8");
        ap_discard_request_body(q->r);
    }
    else if (read_body(q, max, &in, &inlen) == 0) {
        if (form) {
            parse_form(q, in, inlen);
        }
        else {
            parse_json(q, in, inlen);
        }
    }
    split_checks(q);
}

static int text_ok(const verify_field_t *f, size_t max_chars)
{
    return f->len > 0 && verify_utf8_clean(f->v, f->len)
           && verify_utf8_chars(f->v, f->len) <= max_chars;
}

/* The checks asked, each known and asked once. */
static void validate_checks(verify_req_t *q)
{
    int i, k;

    for (i = 0; i < q->check_list->nelts; i++) {
        const verify_field_t *c = &APR_ARRAY_IDX(q->check_list, i,
                                                 verify_field_t);
        k = verify_check_index(c->v, c->len);
        if (c->len == 0) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "check has an empty item");
        }
        else if (k < 0) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "unknown check (resident, indigenous, elderly_alone, "
                   "disability)");
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

/* The free-text and identity fields. */
static void validate_texts(verify_req_t *q)
{
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

/* Everything about the request that needs no store. */
void verify_request_validate(verify_req_t *q)
{
    apr_pool_t *p = q->r->pool;
    verify_id_status_t st;
    int i;

    for (i = 0; i < VERIFY_F_OPERATOR + 1; i++) {
        if (!q->f[i].present || (q->f[i].len == 0 && i != VERIFY_F_CHECK)
            || (i == VERIFY_F_CHECK && q->check_list->nelts == 0)) {
            refuse(q, HTTP_BAD_REQUEST, "missing_field",
                   apr_psprintf(p, "field %s is required", field_names[i]));
        }
    }
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
    validate_checks(q);
    validate_texts(q);
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
    if (q->want_match) {
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
    }
}

/* Does every given identity field match the household record? */
static int identity_matches(const verify_req_t *q)
{
    const verify_field_t *name = &q->f[VERIFY_F_NAME];
    const verify_field_t *birth = &q->f[VERIFY_F_BIRTH];
    const verify_record_t *hh = &q->lk.rec[VERIFY_SRC_HOUSEHOLD];
    unsigned char tag[VERIFY_TAG_LEN];
    char norm[512];
    size_t n;

    if (!q->lk.found[VERIFY_SRC_HOUSEHOLD]) {
        return 0;
    }
    if (name->present) {
        n = verify_name_normalise(name->v, name->len, norm, sizeof(norm));
        verify_keys_tag(keys, VERIFY_KEY_NAME, norm, n, tag);
        if (memcmp(tag, hh->name_tag, VERIFY_NAME_TAG_LEN)) {
            return 0;
        }
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
    q->status = HTTP_OK;
    q->answered = 1;
}

void verify_request_decide(verify_req_t *q, verify_date_t today)
{
    verify_snap_t *snap = verify_store_hold(q->r);
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
    verify_store_drop(snap);
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

/* results and as_of members, shared by the answer and the audit line */
static void results_json(verify_jbuf_t *b, verify_req_t *q)
{
    int k, first = 1;

    VERIFY_JRAW(b, ",\"results\":{");
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
    VERIFY_JRAW(b, "}");
    if (q->want_match) {
        VERIFY_JRAW(b, ",\"identity_match\":");
        json_bool(b, q->identity_match);
    }
    VERIFY_JRAW(b, ",\"as_of\":{");
    first = 1;
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
        const char *known = k < 0 ? "?" : verify_check_name(k);
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
    return b.overflow ? 0 : b.len;
}

int verify_request_respond(verify_req_t *q)
{
    request_rec *r = q->r;
    char buf[1024], hex[2 * VERIFY_MERKLE_HASH_LEN + 1];
    verify_jbuf_t b;
    apr_bucket_brigade *bb;

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
    if (q->body_unread) {
        /* whatever the answer (another fault may outrank the 413), the
         * rest of an oversized body is not read: close the connection */
        r->connection->keepalive = AP_CONN_CLOSE;
    }
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
    ap_set_content_length(r, (apr_off_t)b.len);
    /* Flush now, as the static-file path does: the answer leaves while
     * the request is still being finished, so a keep-alive client's next
     * request is often already there when the worker looks, and the
     * connection need not go back through the event loop. */
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    if (!r->header_only) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_transient_create(
                                    buf, b.len, bb->bucket_alloc));
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
           ? OK : AP_FILTER_ERROR;
}

