/*
 * verify_sha256.h -- a SHA-256 state that is a plain value
 * (verify_sha256.c).
 *
 * The hot paths hash short inputs millions of times: the chain and leaf
 * hash of every audit line, the tree's nodes, two keyed tags for every
 * household record imported and every query answered. Through EVP each
 * hash pays the provider's dispatch, and each resumed HMAC state an
 * allocation and a wipe (EVP_MD_CTX_copy_ex duplicates the provider's
 * context). Here a state is 128 bytes the caller owns: resuming one is
 * an assignment, and the compression is OpenSSL's own (SHA-NI where the
 * CPU has it).
 */
#ifndef VERIFY_SHA256_H
#define VERIFY_SHA256_H

#include <stddef.h>

#define VERIFY_SHA256_LEN 32

/** A SHA-256 state; copy it by assignment to save or resume it. */
typedef struct {
    unsigned long long opaque[16];
} verify_sha256_t;

void verify_sha256_init(verify_sha256_t *s);
void verify_sha256_update(verify_sha256_t *s, const void *data, size_t len);
/** The digest into @p out; @p s is then spent (init it again to reuse). */
void verify_sha256_final(verify_sha256_t *s,
                         unsigned char out[VERIFY_SHA256_LEN]);
/** The chaining words of @p s and the bytes it has hashed, when those
 *  are whole blocks. @return 0, or -1 when part of a block is pending. */
int verify_sha256_midstate(const verify_sha256_t *s, unsigned int h[8],
                           unsigned long long *bytes);
/** SHA-256 of one buffer. */
void verify_sha256_once(const void *data, size_t len,
                        unsigned char out[VERIFY_SHA256_LEN]);

#endif
