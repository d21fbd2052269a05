/*
 * verify_sample.c -- how many of a month's queries the auditors check,
 * and which (R5.1).
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "verify_sample.h"

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
