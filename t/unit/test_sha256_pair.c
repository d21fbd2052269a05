/*
 * test_sha256_pair.c -- two SHA-256 digests computed together
 * (verify_sha256_pair.c) against OpenSSL's EVP, one message at a time:
 * every length across the block and padding edges, prefixes of 0..63
 * bytes, messages of different block counts in either place, data
 * that is not aligned; on this CPU's SHA extensions when it has them,
 * and through the serial path always.
 */
#include <string.h>
#include <openssl/evp.h>
#include "unit.h"
#include "verify_sha256_pair.h"

static void evp2(const void *pre, size_t np, const void *d, size_t n,
                 unsigned char out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int len;

    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    EVP_DigestUpdate(c, pre, np);
    EVP_DigestUpdate(c, d, n);
    EVP_DigestFinal_ex(c, out, &len);
    EVP_MD_CTX_free(c);
}

typedef void (*pair_fn)(const verify_sha256_msg_t *,
                        const verify_sha256_msg_t *,
                        unsigned char *, unsigned char *);

/* Every length of a against lengths of b that cross the block edges,
 * with prefixes: how many pairs differed from EVP. */
static int sweep(pair_fn fn, const unsigned char *buf, size_t max)
{
    static const size_t lens_b[] = { 0, 1, 54, 55, 56, 63, 64, 65, 119,
                                     120, 128, 600, 1000 };
    unsigned char ga[32], gb[32], wa[32], wb[32];
    verify_sha256_msg_t a, b;
    size_t n, i, pre;
    int bad = 0;

    for (n = 0; n <= max; n++) {
        for (i = 0; i < sizeof(lens_b) / sizeof(lens_b[0]); i++) {
            pre = (n + i) % 64;
            a.pre = buf + 2000;
            a.pre_len = pre;
            a.data = buf + (n & 7);     /* unaligned, too */
            a.len = n;
            b.pre = pre % 2 ? "\x00" : NULL;
            b.pre_len = pre % 2;
            b.data = buf + 3;
            b.len = lens_b[i];
            fn(&a, &b, ga, gb);
            evp2(a.pre, a.pre_len, a.data, a.len, wa);
            evp2(b.pre, b.pre_len, b.data, b.len, wb);
            if (memcmp(ga, wa, 32) || memcmp(gb, wb, 32)) {
                if (bad++ < 5) {
                    diag("a: %zu+%zu bytes, b: %zu+%zu bytes differ",
                         a.pre_len, a.len, b.pre_len, b.len);
                }
            }
        }
    }
    return bad;
}

int main(void)
{
    static unsigned char buf[4096];
    unsigned char got_a[32], got_b[32], want[32];
    verify_sha256_msg_t a = { NULL, 0, "abc", 3 };
    verify_sha256_msg_t b = { NULL, 0, "", 0 };
    size_t i;

    unit_begin();
    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char)(i * 131 + 7);
    }
    diag("this CPU's SHA extensions: %s",
         verify_sha256_pair_native() ? "used" : "absent (serial only)");
    verify_sha256_pair(&a, &b, got_a, got_b);
    evp2("", 0, "abc", 3, want);
    ok(!memcmp(got_a, want, 32), "FIPS 180-2 \"abc\" as the first message");
    evp2("", 0, "", 0, want);
    ok(!memcmp(got_b, want, 32), "the empty string as the second");
    ok(sweep(verify_sha256_pair, buf, 700) == 0,
       "verify_sha256_pair: lengths 0..700 against 13 others, prefixes "
       "0..63: EVP's digests");
    ok(sweep(verify_sha256_pair_serial, buf, 200) == 0,
       "verify_sha256_pair_serial: the same, lengths 0..200");
    /* an audit line's two hashes: the chain's and the RFC 6962 leaf */
    a.pre = NULL;
    a.pre_len = 0;
    a.data = buf;
    a.len = 520;
    b.pre = "\x00";
    b.pre_len = 1;
    b.data = buf;
    b.len = 595;
    verify_sha256_pair(&a, &b, got_a, got_b);
    evp2("\x00", 1, buf, 595, want);
    ok(!memcmp(got_b, want, 32), "a leaf (0x00 then the line) paired with "
                                 "the chain hash of its head");
    evp2("", 0, buf, 520, want);
    ok(!memcmp(got_a, want, 32), "and that chain hash");
    return unit_end();
}
