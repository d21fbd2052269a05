/*
 * verify_sample.h -- the auditors' monthly sample, R5.1 (verify_sample.c).
 */
#ifndef VERIFY_SAMPLE_H
#define VERIFY_SAMPLE_H

#include <stddef.h>
#include <apr_pools.h>

/** R5.1: at least this share (percent) of a month's queries ... */
#define VERIFY_SAMPLE_PERCENT 3
/** ... and never fewer than this many (all of them when fewer). */
#define VERIFY_SAMPLE_MIN 10

/** ceil(VERIFY_SAMPLE_PERCENT % of @p n). */
size_t verify_sample_share(size_t n);

/**
 * How many of @p n queries the auditors check: all of them when fewer
 * than VERIFY_SAMPLE_MIN, else max(VERIFY_SAMPLE_MIN, the share).
 */
size_t verify_sample_size(size_t n);

/** The rule that gave verify_sample_size(@p n), in words. */
const char *verify_sample_rule(size_t n);

/**
 * The rank of one query in the draw: HMAC-SHA256(seed, request_id)
 * into @p rank. The sample is the sample size smallest ranks, so the
 * same seed and lines always draw the same sample.
 */
void verify_sample_rank(const unsigned char *seed, size_t seed_len,
                        const char *request_id, size_t id_len,
                        unsigned char rank[32]);

/** A seed made ready to rank many queries (private to verify_sample.c). */
typedef struct verify_sample_ranker_t verify_sample_ranker_t;

/**
 * A ranker for @p seed (@p seed_len bytes, copied): the same ranks as
 * verify_sample_rank(), several times faster for a month of queries (the
 * key is set up once). Freed with @p p.
 * @return APR_SUCCESS, or APR_ENOMEM (OpenSSL)
 */
apr_status_t verify_sample_ranker_make(verify_sample_ranker_t **r,
                                       const unsigned char *seed,
                                       size_t seed_len, apr_pool_t *p);

/** The rank of one query (as verify_sample_rank()).
 * @return APR_SUCCESS, or APR_ENOMEM (OpenSSL) */
apr_status_t verify_sample_ranker_rank(verify_sample_ranker_t *r,
                                       const char *request_id, size_t id_len,
                                       unsigned char rank[32]);

#endif /* VERIFY_SAMPLE_H */
