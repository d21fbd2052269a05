/*
 * mod_verify_handler.c -- the /verify handler. The request path: parse
 * body -> identify client -> may it ask this? -> store lookup -> audit
 * line (sealed into the shared chain, written) -> JSON answer. Nothing
 * is answered unless its audit line is written.
 */
#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_audit.h"
#include "mod_verify_batch.h"
#include "mod_verify_client.h"
#include "mod_verify_config.h"
#include "mod_verify_credential.h"
#include "mod_verify_handler.h"
#include "mod_verify_operators.h"
#include "mod_verify_request.h"

/* A fault that outranks whatever was found before. */
static void overrule(verify_req_t *q, int status, const char *error,
                     const char *message)
{
    q->error = NULL;
    verify_request_refuse(q, status, error, message);
}

/* What is wrong with the request line itself; the body is parsed only
 * when nothing is. */
static void read_request(verify_req_t *q)
{
    request_rec *r = q->r;

    if (r->path_info && *r->path_info) {
        verify_request_refuse(q, HTTP_NOT_FOUND, "not_found",
                              "no such resource");
        ap_discard_request_body(r);
    }
    else if (r->args && *r->args) {
        /* access logs and proxies record URLs: personal data must not
         * travel there, so a query string is refused, not ignored */
        verify_request_refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                              "send every field in the body, never in "
                              "the URL");
        ap_discard_request_body(r);
    }
    else if (r->method_number != M_POST) {
        r->allowed = AP_METHOD_BIT << M_POST;
        verify_request_refuse(q, HTTP_METHOD_NOT_ALLOWED,
                              "method_not_allowed", "use POST");
        ap_discard_request_body(r);
    }
    else {
        verify_request_parse(q, verify_config_max_body(r->server));
    }
}

/* Who is asking comes before what is wrong with the question: an
 * unregistered or expired client learns nothing else. */
static void check_client(verify_req_t *q, verify_date_t today)
{
    verify_client_id_t id;
    verify_limits_t lim;
    const char *old;

    verify_client_identify(q->r, &id);
    q->client = id.client;
    if (!q->client) {
        overrule(q, HTTP_FORBIDDEN, "unknown_client", id.cert_mismatch
                 ? "client certificate not registered for this address"
                 : "this address is not a registered client");
        return;
    }
    verify_credential_limits(q->r, q->client, id.cert, &lim);
    old = id.cert ? verify_credential_too_old(q->r, &lim) : NULL;
    if (id.reused) {
        /* R3.5: a certificate for a retired key is that key again */
        overrule(q, HTTP_FORBIDDEN, "credential_reused",
                 "the client certificate has the key of one of the "
                 "client's last retired certificates: a new certificate "
                 "needs a new key");
    }
    else if (id.cert_expired) {
        /* mod_ssl refuses an expired certificate at the handshake, but
         * a keep-alive connection can outlive it (or the vhost may not
         * verify): the register's binding is only as good as the
         * certificate's validity */
        overrule(q, HTTP_FORBIDDEN, "credential_expired",
                 "the client certificate is outside its validity period");
        q->flag = "certificate_validity";
    }
    else if (old) {
        /* R3.5 applied to machine credentials: VerifyMaxCredentialAge */
        overrule(q, HTTP_FORBIDDEN, "credential_expired", old);
        q->flag = "credential_age";
    }
    else if (today < q->client->valid_from || today > q->client->valid_to) {
        overrule(q, HTTP_FORBIDDEN, "approval_expired",
                 "the client's approved period does not cover today");
    }
    else {
        q->warning = verify_credential_warning(q->r, q->client, &lim);
        if (!verify_client_rate_take(q->client, q->r->request_time)) {
            overrule(q, HTTP_TOO_MANY_REQUESTS, "rate_limited",
                     "more requests than the client's approved rate; "
                     "retry later");
        }
    }
}

/* Every answer is a permission: each check asked, age_at_least:N only
 * with `age` and identity_match (name, birth_date) only with `identity`
 * in the register line. The
 * refusal names everything refused. */
void verify_handler_permission(verify_req_t *q)
{
    apr_pool_t *p = q->r->pool;
    unsigned refused = q->checks & ~q->client->checks;
    const char *no = NULL;
    int k;

    for (k = 0; k < VERIFY_CHECK_COUNT; k++) {
        if (refused & (1u << k)) {
            no = no ? apr_pstrcat(p, no, ", ", verify_check_name(k), NULL)
                    : verify_check_name(k);
        }
    }
    if (refused & VERIFY_PERMIT_AGE) {
        no = apr_pstrcat(p, no ? no : "", no ? ", " : "",
                         apr_psprintf(p, "age (" VERIFY_AGE_CHECK ":%d)",
                                      q->age_n), NULL);
    }
    if (q->want_match && !(q->client->checks & VERIFY_PERMIT_IDENTITY)) {
        no = apr_pstrcat(p, no ? no : "", no ? ", " : "",
                         "identity (name, birth_date)", NULL);
    }
    if (no) {
        verify_request_refuse(q, HTTP_FORBIDDEN, "check_not_permitted",
                              apr_pstrcat(p, "the client is not approved "
                                          "for: ", no, NULL));
    }
}

/* Seconds until the next Taipei midnight, when the day's identity
 * mismatch counts start anew. */
static const char *until_taipei_midnight(request_rec *r)
{
    apr_int64_t t = (apr_int64_t)apr_time_sec(r->request_time) + 8 * 3600;

    return apr_psprintf(r->pool, "%" APR_INT64_T_FMT, 86400 - t % 86400);
}

/* An identity_match of false tells the client one more name or date
 * that is not this person's: counted per client and person, so that a
 * search (366 birth dates) stops after a few. Counted before the lookup
 * so that concurrent requests cannot pass the limit together. */
void verify_handler_identity_gate(verify_req_t *q, verify_date_t today)
{
    verify_mismatch_t m;

    if (q->error || !q->want_match) {
        return;
    }
    m = verify_client_mismatch_take(q->client, q->subject_tag, today,
                                    verify_config_mismatch_limit());
    if (m == VERIFY_MISMATCH_TAKEN) {
        q->mismatch_taken = 1;
        return;
    }
    q->flag = m == VERIFY_MISMATCH_LIMIT ? "identity_mismatch_limit"
                                         : "identity_mismatch_table_full";
    q->retry_after = until_taipei_midnight(q->r);
    verify_request_refuse(q, HTTP_TOO_MANY_REQUESTS, "rate_limited",
                          m == VERIFY_MISMATCH_LIMIT
                          ? "too many identity mismatches about this "
                            "person today; retry after midnight (Taipei)"
                          : "no room to count identity checks today; retry "
                            "after midnight (Taipei)");
}

int verify_handler(request_rec *r)
{
    char body[VERIFY_AUDIT_LINE_MAX];
    verify_date_t today;
    verify_req_t *q;
    size_t blen;
    int rc;

    if (!r->handler || strcmp(r->handler, VERIFY_HANDLER)) {
        return DECLINED;
    }
    q = verify_request_create(r);
    if (!verify_auditlog_ready() || !verify_request_ready()) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, VERIFY_LOGNO(25)
                      "SetHandler verify without VerifyStore, VerifyKeyFile "
                      "and VerifyAuditLog");
        verify_request_refuse(q, HTTP_SERVICE_UNAVAILABLE,
                              "audit_unavailable",
                              "the audit log is not configured");
        return verify_request_respond(q);
    }
    today = verify_date_taipei(r->request_time);
    read_request(q);
    check_client(q, today);
    verify_operators_gate(q, today);
    if (!q->subjects) {
        verify_request_validate(q);
    }
    else if (verify_batch_answer(q, today, &rc)) {
        return rc;              /* answered subject by subject */
    }
    if (!q->error) {
        verify_handler_permission(q);
    }
    verify_handler_identity_gate(q, today);
    if (!q->error) {
        verify_request_decide(q, today);
    }
    blen = verify_request_audit_body(q, body, sizeof(body));
    if (blen == 0 || verify_auditlog_append(r->server, body, blen,
                                            q->request_id, &q->receipt,
                                            r->pool)
                     != APR_SUCCESS) {
        /* no line, no answer */
        q->answered = 0;
        overrule(q, HTTP_SERVICE_UNAVAILABLE, "audit_unavailable",
                 "the audit log cannot be written; nothing was answered");
    }
    if (q->mismatch_taken && (!q->answered || q->identity_match)) {
        /* no mismatch was told */
        verify_client_mismatch_give_back(q->client, q->subject_tag, today);
    }
    rc = verify_request_respond(q);
    /* respond flushed the answer to the connection: it has left, and
     * the line need no longer be marked if this process dies */
    verify_auditlog_answered();
    return rc;
}
