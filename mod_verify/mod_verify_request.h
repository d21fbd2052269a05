/*
 * mod_verify_request.h -- one /verify request (mod_verify_request.c):
 * its body, the checks asked, the decision, the answer and its audit
 * line's members.
 */
#ifndef MOD_VERIFY_REQUEST_H
#define MOD_VERIFY_REQUEST_H

#include "httpd.h"
#include "verify.h"

/* request ids: 16 hex digits drawn per child, then an 8-digit counter */
#define VERIFY_REQUEST_ID_LEN 24

/** The fields of a request body. */
enum {
    VERIFY_F_ID, VERIFY_F_CHECK, VERIFY_F_CASE, VERIFY_F_REASON,
    VERIFY_F_OPERATOR, VERIFY_F_NAME, VERIFY_F_BIRTH, VERIFY_F_COUNT
};

/** One field of the body, as given (not NUL-terminated). */
typedef struct verify_field_t {
    const char *v;
    size_t len;
    int present;
} verify_field_t;

/** One request in flight; everything lives in r->pool. */
typedef struct verify_req_t {
    request_rec *r;
    char request_id[VERIFY_REQUEST_ID_LEN + 1];
    verify_field_t f[VERIFY_F_COUNT];
    apr_array_header_t *check_list;     /* verify_field_t: as given */
    unsigned checks;                    /* bit per valid verify_check_t,
                                           VERIFY_PERMIT_AGE if asked */
    int age_n;                          /* N of age_at_least:N, or -1 */
    const verify_client_t *client;
    char id[VERIFY_ID_LEN + 1];         /* normalised, valid */
    int id_valid;
    unsigned char subject_tag[VERIFY_TAG_LEN];  /* of id, when valid */
    /* outcome */
    int status;
    const char *error;
    const char *message;
    int answered;
    int body_unread;                    /* close: the rest is not read */
    const char *retry_after;            /* seconds, with a 429; NULL: 1 */
    const char *flag;                   /* for the auditor, or NULL */
    const char *warning;                /* Verify-Warning, or NULL */
    int mismatch_taken;                 /* counted as a possible mismatch */
    int results[VERIFY_CHECK_COUNT];
    int age_result;                     /* of age_at_least:N */
    int want_match;
    int identity_match;
    verify_lookup_t lk;
    verify_writer_receipt_t receipt;    /* of its audit line, once written */
    /* a batch (mod_verify_batch.c) */
    void *subjects;                     /* json_t array of the body's
                                           subjects, or NULL */
    size_t items;                       /* its size: "items" in the audit
                                           line(s) when subjects is set */
    int is_item;                        /* one subject of a batch: */
    size_t item;                        /* its index, "item" in its line */
} verify_req_t;

/** post_config, as root: read the pseudonym key. Logs why it fails. */
apr_status_t verify_request_post_config(server_rec *s, apr_pool_t *pconf);

/** child_init: this child's request id prefix. */
void verify_request_child_init(void);

/** 1 once the key of this generation is read. */
int verify_request_ready(void);

/** Does batch @p b carry the key check of this generation's key (or no
 * key check at all: format v1)? */
int verify_request_key_matches(const verify_batch_t *b);

/** A new request with its id. */
verify_req_t *verify_request_create(request_rec *r);

/** Refuse with @p status and @p error; the first fault found is told. */
void verify_request_refuse(verify_req_t *q, int status, const char *error,
                           const char *message);

/** The names of the fields, by VERIFY_F_* index ("id", "check", …). */
extern const char *const verify_request_field_names[VERIFY_F_COUNT];

/** Read and parse the body by its media type (form or JSON), at most
 * @p max bytes (mod_verify_body.c). */
void verify_request_parse(verify_req_t *q, apr_off_t max);

/** Everything about the request that needs no store. */
void verify_request_validate(verify_req_t *q);

/** What verify_request_validate checks of the fields a batch shares:
 * check, case, reason, operator. */
void verify_request_validate_shared(verify_req_t *q);

/** What verify_request_validate checks of the fields about the person:
 * id, name, birth_date. */
void verify_request_validate_subject(verify_req_t *q);

/** Look the person up and decide every asked check. */
void verify_request_decide(verify_req_t *q, verify_date_t today);

/** verify_request_decide from the snapshot @p snap the caller holds
 * (NULL: none could be held, store_unavailable). */
void verify_request_decide_in(verify_req_t *q, verify_snap_t *snap,
                              verify_date_t today);

/** The members "results":{…} (and "identity_match") of an answer, no
 * leading comma. */
void verify_request_json_results(verify_jbuf_t *b, verify_req_t *q);

/** The member "as_of":{…} of an answer, no leading comma. */
void verify_request_json_as_of(verify_jbuf_t *b, verify_req_t *q);

/** The answer's headers (status, media type, caching, Retry-After,
 * Verify-Warning, closing after an unread body). */
void verify_request_headers(verify_req_t *q);

/** Send @p len bytes of answer at @p buf (headers set) and flush. */
int verify_request_send(verify_req_t *q, const char *buf, size_t len);

/** The audit members of the request (R4.2.5), starting with ','; 0 if
 * they do not fit in @p cap. */
size_t verify_request_audit_body(verify_req_t *q, char *buf, size_t cap);

/** Send the JSON answer (or error). */
int verify_request_respond(verify_req_t *q);

#endif /* MOD_VERIFY_REQUEST_H */
