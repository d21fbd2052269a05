/*
 * test_sample.c -- the R5.1 sample: how many queries, by which rule, and
 * the rank that draws them.
 */
#include <string.h>
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

int main(void)
{
    test_size();
    test_rule();
    test_rank();
    return done_testing();
}
