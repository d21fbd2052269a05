/*
 * test_sha256.c -- a SHA-256 state as a plain value (verify_sha256.c),
 * against FIPS 180-2's examples and OpenSSL's EVP: a state copied by
 * assignment and resumed gives what an unbroken hash gives.
 */
#include <string.h>
#include <openssl/evp.h>
#include "unit.h"
#include "verify_sha256.h"

static void evp(const void *d, size_t n, unsigned char out[32])
{
    EVP_Digest(d, n, out, NULL, EVP_sha256(), NULL);
}

static int hex_is(const unsigned char md[32], const char *want)
{
    char hex[65];
    int i;

    for (i = 0; i < 32; i++) {
        sprintf(hex + 2 * i, "%02x", md[i]);
    }
    return !strcmp(hex, want);
}

int main(void)
{
    static const char two_blocks[] =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    unsigned char buf[1000], got[32], want[32];
    verify_sha256_t s, saved;
    size_t n, cut, all = 1;

    unit_begin();
    verify_sha256_once("abc", 3, got);
    ok(hex_is(got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61"
                   "f20015ad"), "FIPS 180-2: \"abc\"");
    verify_sha256_once("", 0, got);
    ok(hex_is(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
                   "7852b855"), "the empty string");
    verify_sha256_once(two_blocks, strlen(two_blocks), got);
    ok(hex_is(got, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd4"
                   "19db06c1"), "FIPS 180-2: two blocks");

    for (n = 0; n < sizeof(buf); n++) {
        buf[n] = (unsigned char)(n * 7 + 3);
    }
    /* every length to 200 and some beyond, cut at every place: the state
     * saved at the cut (a struct assignment), the original spoilt, the
     * copy resumed */
    for (n = 0; n < sizeof(buf); n += n < 200 ? 1 : 97) {
        evp(buf, n, want);
        for (cut = 0; cut <= n; cut += n < 70 ? 1 : 13) {
            verify_sha256_init(&s);
            verify_sha256_update(&s, buf, cut);
            saved = s;
            verify_sha256_update(&s, "spoil", 5);
            s = saved;
            verify_sha256_update(&s, buf + cut, n - cut);
            verify_sha256_final(&s, got);
            if (memcmp(got, want, 32)) {
                diag("length %zu cut at %zu differs", n, cut);
                all = 0;
            }
        }
    }
    ok(all, "a saved state resumed equals EVP's digest (lengths 0..999, "
            "every cut)");
    /* one saved state resumed twice: the HMAC pads' use */
    verify_sha256_init(&saved);
    verify_sha256_update(&saved, buf, 64);
    s = saved;
    verify_sha256_update(&s, "first", 5);
    verify_sha256_final(&s, got);
    s = saved;
    verify_sha256_update(&s, "second", 6);
    verify_sha256_final(&s, want);
    ok(memcmp(got, want, 32) != 0, "two resumptions of one state differ");
    memcpy(buf + 64, "second", 6);
    evp(buf, 70, got);
    ok(!memcmp(got, want, 32), "and the second is the digest of its input");
    return unit_end();
}
