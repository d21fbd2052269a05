/*
 * verify_sample.c -- how many of a month's queries the auditors check,
 * and which (R5.1).
 */
#include <stdio.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include "verify_sample.h"

struct verify_sample_ranker_t {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

size_t verify_sample_share(size_t n)
{
    return (n * VERIFY_SAMPLE_PERCENT + 99) / 100;
}

size_t verify_sample_size(size_t n)
{
    size_t k;

    if (n < VERIFY_SAMPLE_MIN) {
        return n;
    }
    k = verify_sample_share(n);
    return k < VERIFY_SAMPLE_MIN ? VERIFY_SAMPLE_MIN : k;
}

const char *verify_sample_rule(size_t n)
{
    return n < VERIFY_SAMPLE_MIN ? "all (fewer than 10)" : "3 % (min 10)";
}

void verify_sample_rank(const unsigned char *seed, size_t seed_len,
                        const char *request_id, size_t id_len,
                        unsigned char rank[32])
{
    HMAC(EVP_sha256(), seed, (int)seed_len,
         (const unsigned char *)request_id, id_len, rank, NULL);
}

static apr_status_t ranker_free(void *data)
{
    verify_sample_ranker_t *r = data;

    EVP_MAC_CTX_free(r->ctx);
    EVP_MAC_free(r->mac);
    return APR_SUCCESS;
}

apr_status_t verify_sample_ranker_make(verify_sample_ranker_t **out,
                                       const unsigned char *seed,
                                       size_t seed_len, apr_pool_t *p)
{
    verify_sample_ranker_t *r = apr_pcalloc(p, sizeof(*r));
    OSSL_PARAM params[2];
    char digest[] = "SHA256";

    apr_pool_cleanup_register(p, r, ranker_free, apr_pool_cleanup_null);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    r->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    r->ctx = r->mac ? EVP_MAC_CTX_new(r->mac) : NULL;
    /* an empty key is a key: OpenSSL needs a pointer to it all the same */
    if (!r->ctx || EVP_MAC_init(r->ctx, seed_len ? seed
                                : (const unsigned char *)"", seed_len,
                                params) != 1) {
        return APR_ENOMEM;
    }
    *out = r;
    return APR_SUCCESS;
}

apr_status_t verify_sample_ranker_rank(verify_sample_ranker_t *r,
                                       const char *request_id, size_t id_len,
                                       unsigned char rank[32])
{
    size_t out = 0;

    /* init without a key starts a new message under the same key */
    if (EVP_MAC_init(r->ctx, NULL, 0, NULL) != 1
        || EVP_MAC_update(r->ctx, (const unsigned char *)request_id,
                          id_len) != 1
        || EVP_MAC_final(r->ctx, rank, &out, 32) != 1 || out != 32) {
        return APR_ENOMEM;
    }
    return APR_SUCCESS;
}

size_t verify_sample_item_suffix(int64_t item,
                                 char out[VERIFY_SAMPLE_SUFFIX_MAX])
{
    int n = 0;

    if (item >= 0) {
        n = snprintf(out, VERIFY_SAMPLE_SUFFIX_MAX, "/%lld", (long long)item);
    }
    out[n > 0 ? n : 0] = '\0';
    return n > 0 ? (size_t)n : 0;
}
