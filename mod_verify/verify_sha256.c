/*
 * verify_sha256.c -- a SHA-256 state that is a plain value: OpenSSL's
 * SHA256_CTX behind an opaque struct of the caller's.
 *
 * OpenSSL 3 marks the low-level digest functions deprecated in favour
 * of EVP; they remain in libcrypto 3.x and are what EVP's own SHA-256
 * provider calls. They are used here, and only here, so the rest of
 * the code sees one small interface.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <string.h>
#include <openssl/sha.h>
#include "verify_sha256.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(verify_sha256_t),
               "verify_sha256_t must hold a SHA256_CTX");
_Static_assert(_Alignof(SHA256_CTX) <= _Alignof(verify_sha256_t),
               "verify_sha256_t must be aligned as a SHA256_CTX");

void verify_sha256_init(verify_sha256_t *s)
{
    SHA256_Init((SHA256_CTX *)s);
}

void verify_sha256_update(verify_sha256_t *s, const void *data, size_t len)
{
    if (len) {
        SHA256_Update((SHA256_CTX *)s, data, len);
    }
}

void verify_sha256_final(verify_sha256_t *s,
                         unsigned char out[VERIFY_SHA256_LEN])
{
    /* SHA256_Final wipes its block buffer; what stays in the chaining
     * words is the digest just returned, not a resumable key state */
    SHA256_Final(out, (SHA256_CTX *)s);
}

int verify_sha256_midstate(const verify_sha256_t *s, unsigned int h[8],
                           unsigned long long *bytes)
{
    const SHA256_CTX *c = (const SHA256_CTX *)s;
    int i;

    if (c->num != 0) {
        return -1;
    }
    for (i = 0; i < 8; i++) {
        h[i] = c->h[i];
    }
    *bytes = ((unsigned long long)c->Nh << 32 | c->Nl) / 8;
    return 0;
}

void verify_sha256_once(const void *data, size_t len,
                        unsigned char out[VERIFY_SHA256_LEN])
{
    verify_sha256_t s;

    verify_sha256_init(&s);
    verify_sha256_update(&s, data, len);
    verify_sha256_final(&s, out);
}
