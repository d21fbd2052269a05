/*
 * verify_sample.h -- the auditors' monthly sample, R5.1 (verify_sample.c).
 */
#ifndef VERIFY_SAMPLE_H
#define VERIFY_SAMPLE_H

#include <stddef.h>
#include <stdint.h>
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
 * The rank of one query in the draw: HMAC-SHA256(seed, request_id and
 * its item suffix, verify_sample_item_suffix) into @p rank. The sample is the sample size smallest ranks, so the
 * same seed and lines always draw the same sample.
 */
void verify_sample_rank(const unsigned char *seed, size_t seed_len,
                        const char *request_id, size_t id_len,
                        unsigned char rank[32]);

/** Longest suffix verify_sample_item_suffix() writes, its NUL included. */
#define VERIFY_SAMPLE_SUFFIX_MAX 24

/**
 * What follows the request_id in the text a query is ranked by: nothing
 * for a request about one person; "/ITEM" for a line of a batch (its
 * "item", from 0), so that each subject of a batch is ranked apart and
 * a batch is not drawn all together or not at all. @p item < 0: none.
 * @return the suffix's length (0 for none), NUL-terminated in @p out.
 */
size_t verify_sample_item_suffix(int64_t item,
                                 char out[VERIFY_SAMPLE_SUFFIX_MAX]);

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
