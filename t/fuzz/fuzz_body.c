/*
 * fuzz_body.c -- libFuzzer target: the request body parser of /verify
 * (mod_verify/mod_verify_body.c: media type and charset, reading within
 * VerifyMaxBody, form and JSON fields, the check list).
 *
 * Input: the Content-Type header, a newline, then the body. The parser
 * is compiled in as it is in the module; what it calls of httpd is
 * played here: the body comes from the input in pieces of 1 to 61 bytes
 * through ap_get_client_block(), and ap_unescape_urlencoded() decodes
 * as httpd's does ('+' to space, %XX; a bad escape is 400, %00 is 404,
 * both after decoding the rest). verify_request_refuse() keeps the first
 * fault, as mod_verify_request.c's does.
 *
 * Invariants checked (abort() on violation):
 *  - accepted (no fault): every field given is one of the seven names,
 *    once, its value holds no NUL byte; the check items hold no NUL
 *    byte, and from a form no comma; the media type was form or JSON
 *    with at most one charset, utf-8.
 *  - refused: status 400, 413 or 415 with its error code
 *    (invalid_field, body_too_large, unsupported_media_type), and a
 *    message of printable UTF-8 (it goes to the client and the log).
 *  - a body longer than the limit is always refused 413, never parsed.
 *  - the same input parsed again gives the same outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mod_verify_body.c"

static const unsigned char *body_in;
static size_t body_len, body_pos;

const char *const verify_request_field_names[VERIFY_F_COUNT] = {
    "id", "check", "case", "reason", "operator", "name", "birth_date"
};

/* mod_verify_batch.c: a batch from a registered client may be larger;
 * played as a caller no register line names, so the limit is the one
 * given */
apr_off_t verify_batch_body_max(request_rec *r, apr_off_t max)
{
    (void)r;
    return max;
}

void verify_request_refuse(verify_req_t *q, int status, const char *error,
                           const char *message)
{
    if (!q->error) {
        q->status = status;
        q->error = error;
        q->message = message;
    }
}

int ap_setup_client_block(request_rec *r, int read_policy)
{
    r->remaining = (apr_off_t)body_len;
    return OK;
}

int ap_should_client_block(request_rec *r)
{
    return 1;
}

long ap_get_client_block(request_rec *r, char *buffer, apr_size_t bufsiz)
{
    size_t n = body_len - body_pos, piece = 1 + body_pos % 61;

    if (n > piece) {
        n = piece;
    }
    if (n > bufsiz) {
        n = bufsiz;
    }
    memcpy(buffer, body_in + body_pos, n);
    body_pos += n;
    return (long)n;
}

int ap_discard_request_body(request_rec *r)
{
    body_pos = body_len;
    return OK;
}

static int hexdigit(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int ap_unescape_urlencoded(char *query)
{
    char *in = query, *out = query;
    int bad_escape = 0, nul = 0;

    for (; *in; in++, out++) {
        if (*in == '+') {
            *out = ' ';
        }
        else if (*in == '%' && hexdigit(in[1]) >= 0 && hexdigit(in[2]) >= 0) {
            *out = (char)(hexdigit(in[1]) * 16 + hexdigit(in[2]));
            nul |= *out == '\0';
            in += 2;
        }
        else {
            bad_escape |= *in == '%';
            *out = *in;
        }
    }
    *out = '\0';
    return bad_escape ? HTTP_BAD_REQUEST : nul ? HTTP_NOT_FOUND : OK;
}

static void die(const char *what)
{
    fprintf(stderr, "fuzz_body: invariant violated: %s\n", what);
    abort();
}

static int printable_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    for (; *u; u++) {
        if (*u < 0x20 || *u == 0x7f) {
            return 0;
        }
    }
    return verify_utf8_clean(s, strlen(s));
}

typedef struct {
    int status;
    const char *error;
    char message[512];
} outcome_t;

static void run(apr_pool_t *p, const char *ct, apr_off_t max, int form,
                outcome_t *out)
{
    request_rec r;
    verify_req_t *q;
    int i, j;

    memset(&r, 0, sizeof(r));
    r.pool = p;
    r.headers_in = apr_table_make(p, 2);
    if (ct) {
        apr_table_setn(r.headers_in, "Content-Type", ct);
    }
    body_pos = 0;
    q = apr_pcalloc(p, sizeof(*q));
    q->r = &r;
    q->status = HTTP_OK;
    q->age_n = -1;
    q->check_list = apr_array_make(p, 4, sizeof(verify_field_t));
    verify_request_parse(q, max);

    out->status = q->status;
    out->error = q->error;
    snprintf(out->message, sizeof(out->message), "%s",
             q->message ? q->message : "");
    if (!q->error) {
        if (q->status != HTTP_OK || form < 0) {
            die("accepted without a form or JSON media type");
        }
        if ((apr_off_t)body_len > max) {
            die("a body over the limit accepted");
        }
        for (i = 0; i < VERIFY_F_COUNT; i++) {
            if (q->f[i].present && (!q->f[i].v
                                    || memchr(q->f[i].v, '\0', q->f[i].len))) {
                die("accepted a field with a NUL byte");
            }
        }
        for (j = 0; j < q->check_list->nelts; j++) {
            const verify_field_t *c = &APR_ARRAY_IDX(q->check_list, j,
                                                     verify_field_t);
            if (memchr(c->v, '\0', c->len)
                || (form && memchr(c->v, ',', c->len))) {
                die("a check item with a NUL byte or (form) a comma");
            }
        }
        if (q->check_list->nelts && !q->f[VERIFY_F_CHECK].present) {
            die("check items without a check field");
        }
        return;
    }
    if (!q->message || !printable_utf8(q->message)) {
        die("a refusal without a printable UTF-8 message");
    }
    if (!((q->status == HTTP_BAD_REQUEST
           && !strcmp(q->error, "invalid_field"))
          || (q->status == HTTP_REQUEST_ENTITY_TOO_LARGE
              && !strcmp(q->error, "body_too_large"))
          || (q->status == HTTP_UNSUPPORTED_MEDIA_TYPE
              && !strcmp(q->error, "unsupported_media_type")))) {
        die("a refusal with an unexpected status or error code");
    }
    if (form >= 0 && q->status == HTTP_OK) {
        die("refused with status 200");
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static apr_pool_t *root;
    apr_pool_t *p;
    const unsigned char *nl = memchr(data, '\n', size);
    char *ct;
    apr_off_t max;
    outcome_t a, b;
    int form;

    if (!root) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    if (!nl) {
        return 0;
    }
    apr_pool_create(&p, root);
    ct = apr_pstrmemdup(p, (const char *)data, (size_t)(nl - data));
    body_in = nl + 1;
    body_len = size - (size_t)(nl + 1 - data);
    /* the limit: VerifyMaxBody's default order, or small enough that
     * the fuzzer reaches it */
    max = (body_len % 3 == 0) ? 64 : 8192;
    form = media_type(ct, "application/x-www-form-urlencoded") ? 1
           : media_type(ct, "application/json") ? 0 : -1;
    run(p, ct, max, form, &a);
    if ((apr_off_t)body_len > max && form >= 0
        && a.status != HTTP_UNSUPPORTED_MEDIA_TYPE
        && a.status != HTTP_REQUEST_ENTITY_TOO_LARGE) {
        die("a body over the limit not refused 413");
    }
    ct = apr_pstrmemdup(p, (const char *)data, (size_t)(nl - data));
    run(p, ct, max, form, &b);
    if (a.status != b.status || (a.error != b.error)
        || strcmp(a.message, b.message)) {
        die("the same input gave another outcome");
    }
    apr_pool_destroy(p);
    return 0;
}
