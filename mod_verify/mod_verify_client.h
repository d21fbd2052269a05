/*
 * mod_verify_client.h -- who is asking (mod_verify_client.c): the
 * register entry of a connection, and its rate limit.
 */
#ifndef MOD_VERIFY_CLIENT_H
#define MOD_VERIFY_CLIENT_H

#include "httpd.h"
#include "verify.h"

/** The outcome of identifying a request's client. */
typedef struct verify_client_id_t {
    const verify_client_t *client;  /* the register entry, or NULL */
    const verify_cert_t *cert;      /* its certificate, when it has one */
    int cert_mismatch;              /* an address matched, the cert not */
    int cert_expired;               /* the matching cert is out of date */
    const verify_retired_t *reused; /* the retired certificate whose key
                                       the matching one has, or NULL */
} verify_client_id_t;

/** post_config: shared memory for the rate buckets of this generation. */
apr_status_t verify_client_post_config(server_rec *s, apr_pool_t *pconf);

/** child_init: remember this process for the shared locks. */
void verify_client_child_init(void);

/**
 * Which register entry is this request's connection? By certificate
 * when the entry binds one, and always by address (R3.7).
 */
void verify_client_identify(request_rec *r, verify_client_id_t *id);

/** What verify_client_mismatch_take() found. */
typedef enum {
    VERIFY_MISMATCH_TAKEN,      /**< counted: the identity may be answered */
    VERIFY_MISMATCH_LIMIT,      /**< the day's limit is reached: refuse */
    VERIFY_MISMATCH_FULL        /**< no room to count it: refuse */
} verify_mismatch_t;

/**
 * Count one identity answer of @p cl about the person of @p subject
 * (the audit subject tag, VERIFY_TAG_LEN bytes) on Taipei day @p today,
 * before it is looked up, unless @p limit are counted already. The
 * counters are shared by all children and kept across restarts; a
 * request that matched (or was not answered) gives its count back.
 */
verify_mismatch_t verify_client_mismatch_take(const verify_client_t *cl,
                                              const unsigned char *subject,
                                              verify_date_t today,
                                              int limit);

/** Undo one verify_client_mismatch_take() that was no mismatch. */
void verify_client_mismatch_give_back(const verify_client_t *cl,
                                      const unsigned char *subject,
                                      verify_date_t today);

/** Take one token from @p cl's bucket at @p now; 0 when it is empty. */
int verify_client_rate_take(const verify_client_t *cl, apr_time_t now);

/** Take @p n tokens from @p cl's bucket at @p now, all or none (a batch:
 * each subject counts); 0 when fewer are there. */
int verify_client_rate_take_n(const verify_client_t *cl, apr_time_t now,
                              double n);

#endif /* MOD_VERIFY_CLIENT_H */
