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
    verify_sha256_msg_t a = { 0 }, b = { 0 };
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

/* Messages hashed on from saved states (an HMAC pad's block, or more
 * blocks; one with part of a block pending goes the serial way): what
 * the whole input gives. */
static void test_from(const unsigned char *buf)
{
    verify_sha256_t sa, sb;
    verify_sha256_msg_t a = { 0 }, b = { 0 };
    unsigned char got_a[32], got_b[32], want_a[32], want_b[32];
    size_t n, head_a, head_b;
    int bad = 0, bad_serial = 0;

    for (n = 0; n <= 200; n++) {
        head_a = 64 * (1 + n % 3);
        head_b = n % 5 ? 64 : 100;      /* 100: 36 bytes pending */
        verify_sha256_init(&sa);
        verify_sha256_update(&sa, buf, head_a);
        verify_sha256_init(&sb);
        verify_sha256_update(&sb, buf + 7, head_b);
        a.from = &sa;
        a.data = buf + head_a;
        a.len = n;
        b.from = &sb;
        b.data = buf + 7 + head_b;
        b.len = 200 - n;
        evp2("", 0, buf, head_a + n, want_a);
        evp2("", 0, buf + 7, head_b + 200 - n, want_b);
        verify_sha256_pair(&a, &b, got_a, got_b);
        bad += memcmp(got_a, want_a, 32) || memcmp(got_b, want_b, 32);
        verify_sha256_pair_serial(&a, &b, got_a, got_b);
        bad_serial += memcmp(got_a, want_a, 32) || memcmp(got_b, want_b, 32);
    }
    ok(!bad, "hashed on from saved states of 1-3 blocks (and one with 36 "
             "bytes pending): the whole input's digests");
    ok(!bad_serial, "the same through the serial path");
}

/* Four at once: lengths that end in different blocks, in every order,
 * prefixes of none and one byte (an audit line's four hashes), against
 * EVP. */
static void test_quad(const unsigned char *buf)
{
    verify_sha256_msg_t m[4];
    const verify_sha256_msg_t *mp[4] = { &m[0], &m[1], &m[2], &m[3] };
    unsigned char got[4][32], want[32];
    unsigned char *out[4] = { got[0], got[1], got[2], got[3] };
    size_t n, i;
    int bad = 0;

    memset(m, 0, sizeof(m));
    for (n = 0; n < 300; n++) {
        for (i = 0; i < 4; i++) {
            m[i].pre = i % 2 ? "\x00" : NULL;
            m[i].pre_len = i % 2;
            m[i].data = buf + 11 * i + n % 7;
            m[i].len = (n * (i + 3) + 37 * i) % 700;
        }
        verify_sha256_quad(mp, out);
        for (i = 0; i < 4; i++) {
            evp2(m[i].pre, m[i].pre_len, m[i].data, m[i].len, want);
            if (memcmp(got[i], want, 32) && bad++ < 3) {
                diag("quad: message %zu (%zu+%zu bytes) of round %zu "
                     "differs", i, m[i].pre_len, m[i].len, n);
            }
        }
    }
    ok(!bad, "verify_sha256_quad: 300 rounds of four messages of 0..699 "
             "bytes, the shortest in any place: EVP's digests");
}

int main(void)
{
    static unsigned char buf[4096];
    unsigned char got_a[32], got_b[32], want[32];
    verify_sha256_msg_t a = { .data = "abc", .len = 3 };
    verify_sha256_msg_t b = { .data = "", .len = 0 };
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
    test_from(buf);
    test_quad(buf);
    return unit_end();
}
