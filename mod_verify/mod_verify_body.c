/*
 * mod_verify_body.c -- the body of one /verify request: its media type
 * and charset, reading it within VerifyMaxBody, and its fields from a
 * form or a JSON object. Strict: whatever is ambiguous is refused,
 * naming the field.
 */
#include <string.h>

#include "httpd.h"
#include "http_protocol.h"
#include "util_filter.h"
#include <apr_lib.h>
#include <apr_strings.h>

#include <jansson.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_batch.h"
#include "mod_verify_request.h"

/* The request's first fault is the one told (mod_verify_request.c). */
static void refuse(verify_req_t *q, int status, const char *error,
                   const char *message)
{
    verify_request_refuse(q, status, error, message);
}

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

/* Read the whole body, at most @p max bytes, into a buffer of its
 * Content-Length (a chunked body's grows as it comes): a batch's limit
 * is large, most bodies are not. */
static int read_body(verify_req_t *q, apr_off_t max, char **buf,
                     apr_size_t *len)
{
    request_rec *r = q->r;
    apr_size_t got = 0, cap, limit = (apr_size_t)max + 1;
    long n = 0;
    char *b, *grown;

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
    cap = r->remaining > 0 ? (apr_size_t)r->remaining + 1
                           : limit < 8193 ? limit : 8193;
    b = apr_palloc(r->pool, cap);
    if (ap_should_client_block(r)) {
        for (;;) {
            if (got == cap) {
                /* full, and not over the limit yet: grow */
                cap = cap * 2 < limit ? cap * 2 : limit;
                grown = apr_palloc(r->pool, cap);
                memcpy(grown, b, got);
                b = grown;
            }
            n = ap_get_client_block(r, b + got, cap - got);
            if (n <= 0) {
                break;
            }
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
        if (strlen(verify_request_field_names[i]) == len
            && !memcmp(verify_request_field_names[i], name, len)) {
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
                            verify_request_field_names[i]));
        return;
    }
    if (memchr(v, '\0', vlen)) {
        /* a C string would end there: what follows must not vanish */
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               apr_psprintf(q->r->pool, "field %s contains a NUL byte",
                            verify_request_field_names[i]));
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
                              verify_request_field_names[i])
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
        if (!strcmp(key, "subjects")) {
            /* a batch (mod_verify_batch.c reads the subjects) */
            if (json_is_array(val)) {
                q->subjects = val;
                q->items = json_array_size(val);
            }
            else {
                refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                       "subjects must be an array of objects");
            }
            continue;
        }
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
    else if (form && read_body(q, max, &in, &inlen) == 0) {
        parse_form(q, in, inlen);
    }
    else if (json && read_body(q, verify_batch_body_max(q->r, max), &in,
                               &inlen) == 0) {
        /* room for a batch's subjects: only a batch may use it */
        parse_json(q, in, inlen);
        if (!q->subjects && inlen > (apr_size_t)max) {
            refuse(q, HTTP_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                   apr_psprintf(q->r->pool, "body larger than %"
                                APR_OFF_T_FMT " bytes", max));
        }
    }
    split_checks(q);
}
