/*
 * test_sample.c -- the R5.1 sample: how many queries, by which rule, and
 * the rank that draws them.
 */
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "tap.h"
#include "verify.h"

static void test_size(void)
{
    static const struct { size_t n, want; } cases[] = {
        { 0, 0 }, { 1, 1 }, { 9, 9 },               /* all when < 10 */
        { 10, 10 }, { 11, 10 },                     /* at least 10 */
        { 333, 10 },                                /* ceil(9.99) */
        { 334, 11 },                                /* ceil(10.02) */
        { 1000, 30 }, { 100000, 3000 },
        { 100001, 3001 },                           /* ceil, not round */
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_int((long long)verify_sample_size(cases[i].n),
               (long long)cases[i].want, "sample size of %zu is %zu",
               cases[i].n, cases[i].want);
    }
    is_int((long long)verify_sample_share(334), 11, "3 %% of 334 is 11");
    is_int((long long)verify_sample_share(0), 0, "3 %% of 0 is 0");
    is_int((long long)verify_sample_share(100), 3, "3 %% of 100 is 3");
    is_int((long long)verify_sample_share(101), 4, "3 %% of 101 is 4");
}

static void test_rule(void)
{
    is_str(verify_sample_rule(0), "all (fewer than 10)", "rule for 0");
    is_str(verify_sample_rule(9), "all (fewer than 10)", "rule for 9");
    is_str(verify_sample_rule(10), "3 % (min 10)", "rule for 10");
    is_str(verify_sample_rule(100000), "3 % (min 10)", "rule for 100000");
}

static void test_rank(void)
{
    static const unsigned char seed[] = { 0x00, 0xff, 0x10 };
    unsigned char a[32], b[32], want[32];
    unsigned int wl = 0;

    verify_sample_rank(seed, sizeof(seed), "rid-1", 5, a);
    HMAC(EVP_sha256(), seed, sizeof(seed), (const unsigned char *)"rid-1",
         5, want, &wl);
    ok(wl == 32 && memcmp(a, want, 32) == 0,
       "the rank is HMAC-SHA256(seed, request_id)");
    verify_sample_rank(seed, sizeof(seed), "rid-1", 5, b);
    ok(memcmp(a, b, 32) == 0, "the same seed ranks alike");
    verify_sample_rank(seed, 2, "rid-1", 5, b);
    ok(memcmp(a, b, 32) != 0, "another seed ranks otherwise");
    verify_sample_rank(seed, sizeof(seed), "", 0, b);
    HMAC(EVP_sha256(), seed, sizeof(seed), (const unsigned char *)"", 0,
         want, &wl);
    ok(memcmp(b, want, 32) == 0, "an empty request_id ranks too");
}

/* The ranker draws exactly what verify_sample_rank() draws. */
static void test_ranker(void)
{
    static const unsigned char seed[32] = { 1, 2, 3, 4, 5 };
    unsigned char a[32], b[32];
    verify_sample_ranker_t *r;
    apr_pool_t *p;
    char rid[32];
    int i, same = 1;

    apr_initialize();
    apr_pool_create(&p, NULL);
    ok(verify_sample_ranker_make(&r, seed, sizeof(seed), p) == APR_SUCCESS,
       "a ranker is made");
    for (i = 0; i < 1000; i++) {
        snprintf(rid, sizeof(rid), "%024x", i * 7919);
        verify_sample_rank(seed, sizeof(seed), rid, strlen(rid), a);
        if (verify_sample_ranker_rank(r, rid, i % 50 == 7 ? 0 : strlen(rid),
                                      b) != APR_SUCCESS) {
            same = 0;
        }
        if (i % 50 == 7) {
            verify_sample_rank(seed, sizeof(seed), rid, 0, a);
        }
        same = same && !memcmp(a, b, 32);
    }
    ok(same, "1000 ranks by the ranker are the one-shot HMAC's");
    ok(verify_sample_ranker_make(&r, seed, 0, p) == APR_SUCCESS
       && verify_sample_ranker_rank(r, "x", 1, b) == APR_SUCCESS,
       "an empty seed is a key too");
    verify_sample_rank(seed, 0, "x", 1, a);
    ok(!memcmp(a, b, 32), "and ranks alike");
    apr_pool_destroy(p);
    apr_terminate();
}

/* A subject of a batch is ranked by request_id "/" item. */
static void test_item_suffix(void)
{
    char out[VERIFY_SAMPLE_SUFFIX_MAX];

    is_int(verify_sample_item_suffix(-1, out), 0, "no item: no suffix");
    is_str(out, "", "and an empty one");
    is_int(verify_sample_item_suffix(0, out), 2, "item 0: /0");
    is_str(out, "/0", "written");
    is_int(verify_sample_item_suffix(999, out), 4, "item 999");
    is_str(out, "/999", "in decimal");
    is_int(verify_sample_item_suffix(INT64_MAX, out), 20,
           "the largest item fits");
}

int main(void)
{
    test_size();
    test_rule();
    test_rank();
    test_ranker();
    test_item_suffix();
    return done_testing();
}
