/*
 * verify_sha256_pair.h -- two SHA-256 digests computed together
 * (verify_sha256_pair.c).
 *
 * Every audit line is hashed twice, by the format: its chain hash (the
 * line up to its "hash" member) and its RFC 6962 leaf (0x00, then the
 * whole line). With the CPU's SHA extensions one hash is bound by the
 * latency of its rounds, not by the unit's throughput: the rounds of
 * two independent messages interleaved run in little more time than
 * one's. Where the CPU lacks them, the two are hashed one after the
 * other by verify_sha256.h, with the same results.
 */
#ifndef VERIFY_SHA256_PAIR_H
#define VERIFY_SHA256_PAIR_H

#include <stddef.h>
#include "verify_sha256.h"

/** One message: @p pre (pre_len bytes, under 64; NULL when 0), then
 *  @p data (len bytes), hashed on from the state @p from (a saved
 *  state, such as an HMAC key's pad; NULL: from the start). */
typedef struct {
    const void *pre;
    size_t pre_len;
    const void *data;
    size_t len;
    const verify_sha256_t *from;
} verify_sha256_msg_t;

/** SHA-256 of @p a into @p out_a and of @p b into @p out_b. */
void verify_sha256_pair(const verify_sha256_msg_t *a,
                        const verify_sha256_msg_t *b,
                        unsigned char out_a[VERIFY_SHA256_LEN],
                        unsigned char out_b[VERIFY_SHA256_LEN]);

/** SHA-256 of four messages (@p m, into @p out in the same order):
 *  two audit lines' chain hashes and leaves. With the CPU's SHA
 *  extensions the four are interleaved, else as two pairs. */
void verify_sha256_quad(const verify_sha256_msg_t *const m[4],
                        unsigned char *const out[4]);

/** verify_sha256_pair() one message after the other through
 *  verify_sha256.h, whatever the CPU (the unit tests compare the two). */
void verify_sha256_pair_serial(const verify_sha256_msg_t *a,
                               const verify_sha256_msg_t *b,
                               unsigned char out_a[VERIFY_SHA256_LEN],
                               unsigned char out_b[VERIFY_SHA256_LEN]);

/** 1 when verify_sha256_pair() uses the CPU's SHA extensions. */
int verify_sha256_pair_native(void);

#endif
