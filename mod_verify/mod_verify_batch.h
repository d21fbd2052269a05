/*
 * mod_verify_batch.h -- one request about many people
 * (mod_verify_batch.c): a JSON body with subjects.
 */
#ifndef MOD_VERIFY_BATCH_H
#define MOD_VERIFY_BATCH_H

#include "httpd.h"
#include "verify.h"

struct verify_req_t;

/** Bytes of body each subject of VerifyBatchMax may take beyond
 * VerifyMaxBody (an ID, a name of 64 characters escaped, a date). */
#define VERIFY_BATCH_SUBJECT_BYTES 512

/**
 * The most a JSON body may be: VerifyMaxBody, and room for VerifyBatchMax
 * subjects when the connection is a registered client's (an unknown
 * address gets no more than VerifyMaxBody). A body that is no batch is
 * held to @p max all the same (mod_verify_body.c).
 */
apr_off_t verify_batch_body_max(request_rec *r, apr_off_t max);

/**
 * A request with subjects, once its client is known: when the request
 * as a whole is fine, each subject is validated, gated, looked up (one
 * snapshot for all) and audited as a single request is, the lines are
 * appended all or none, and the answer sent (*rc): 1. When the request
 * as a whole is refused (or was already), 0: the caller answers it as
 * a single request, with one audit line ("items" in it); the shared
 * fields are validated (and an ID in case or reason masked) either way.
 */
int verify_batch_answer(struct verify_req_t *q, verify_date_t today,
                        int *rc);

#endif /* MOD_VERIFY_BATCH_H */
