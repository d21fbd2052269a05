/*
 * verify_sha256_pair.c -- two SHA-256 digests computed together: the
 * rounds of the two messages interleaved with the x86 SHA extensions
 * (SHA-NI), or, where the CPU lacks them, one after the other.
 *
 * The compression follows FIPS 180-4 as the SHA extensions state it:
 * the working variables held as ABEF and CDGH, SHA256RNDS2 doing two
 * rounds, SHA256MSG1/MSG2 the message schedule. Only this file is
 * built for them (a target attribute, not a flag for the whole build),
 * and it is only called after the CPU has been asked.
 */
#include <stdint.h>
#include <string.h>
#include "verify_sha256_pair.h"

#define BLOCK 64

/* A message as the compression reads it: pre, data, the 0x80 byte,
 * zeros and the length in bits, in whole blocks. */
typedef struct {
    const unsigned char *pre, *data;
    size_t pre_len, len, total, blocks;
    unsigned long long done;    /* bytes hashed before (m->from) */
    unsigned char buf[BLOCK];   /* a block that is not all data */
} src_t;

/* @p done: the bytes m->from has hashed. */
static void src_init(src_t *s, const verify_sha256_msg_t *m,
                     unsigned long long done)
{
    s->done = done;
    s->pre = m->pre;
    s->pre_len = m->pre_len;
    s->data = m->data;
    s->len = m->len;
    s->total = m->pre_len + m->len;
    s->blocks = (s->total + 1 + 8 + BLOCK - 1) / BLOCK;
}

/* Block @p k: in place when it lies within the data, else assembled. */
static const unsigned char *src_block(src_t *s, size_t k)
{
    size_t o = k * BLOCK, from, to, i;
    uint64_t bits;

    if (o >= s->pre_len && o + BLOCK <= s->total) {
        return s->data + (o - s->pre_len);
    }
    memset(s->buf, 0, BLOCK);
    for (i = o; i < s->pre_len && i < o + BLOCK; i++) {
        s->buf[i - o] = s->pre[i];
    }
    from = o > s->pre_len ? o : s->pre_len;
    to = o + BLOCK < s->total ? o + BLOCK : s->total;
    if (from < to) {
        memcpy(s->buf + (from - o), s->data + (from - s->pre_len), to - from);
    }
    if (s->total >= o && s->total < o + BLOCK) {
        s->buf[s->total - o] = 0x80;
    }
    if (k + 1 == s->blocks) {
        bits = ((uint64_t)s->done + s->total) * 8;
        for (i = 0; i < 8; i++) {
            s->buf[BLOCK - 1 - i] = (unsigned char)(bits >> (8 * i));
        }
    }
    return s->buf;
}

void verify_sha256_pair_serial(const verify_sha256_msg_t *a,
                               const verify_sha256_msg_t *b,
                               unsigned char out_a[VERIFY_SHA256_LEN],
                               unsigned char out_b[VERIFY_SHA256_LEN])
{
    const verify_sha256_msg_t *m[2] = { a, b };
    unsigned char *out[2] = { out_a, out_b };
    verify_sha256_t s;
    int i;

    for (i = 0; i < 2; i++) {
        if (m[i]->from) {
            s = *m[i]->from;
        }
        else {
            verify_sha256_init(&s);
        }
        verify_sha256_update(&s, m[i]->pre, m[i]->pre_len);
        verify_sha256_update(&s, m[i]->data, m[i]->len);
        verify_sha256_final(&s, out[i]);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

#define SHANI __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t K[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

/* The working variables as the instructions hold them. */
typedef struct {
    __m128i abef, cdgh;
} lane_t;

/* H0 of FIPS 180-4. */
static const unsigned int H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
};

/* From the chaining words A..H: A B E F and C D G H, high word first. */
SHANI static inline void lane_init(lane_t *l, const unsigned int h[8])
{
    l->abef = _mm_set_epi32((int)h[0], (int)h[1], (int)h[4], (int)h[5]);
    l->cdgh = _mm_set_epi32((int)h[2], (int)h[3], (int)h[6], (int)h[7]);
}

SHANI static inline void lane_out(const lane_t *l,
                                  unsigned char out[VERIFY_SHA256_LEN])
{
    /* back to A..H, each word big-endian */
    const __m128i be = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11,
                                    4, 5, 6, 7, 0, 1, 2, 3);
    __m128i feba = _mm_shuffle_epi32(l->abef, 0x1b);
    __m128i dchg = _mm_shuffle_epi32(l->cdgh, 0xb1);
    __m128i dcba = _mm_blend_epi16(feba, dchg, 0xf0);
    __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);

    _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(dcba, be));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(hgfe, be));
}

SHANI static inline __m128i load_words(const unsigned char *p)
{
    const __m128i be = _mm_set_epi64x(0x0c0d0e0f08090a0bULL,
                                      0x0405060700010203ULL);

    return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), be);
}

/* The next four words of the schedule from the four before them. */
SHANI static inline __m128i schedule(__m128i w0, __m128i w1, __m128i w2,
                                     __m128i w3)
{
    return _mm_sha256msg2_epu32(
        _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1),
                      _mm_alignr_epi8(w3, w2, 4)), w3);
}

/* Four rounds of @p l with the words @p w. */
#define ROUNDS4(l, w, k) do {                                        \
        __m128i wk_ = _mm_add_epi32((w), (k));                       \
        (l).cdgh = _mm_sha256rnds2_epu32((l).cdgh, (l).abef, wk_);   \
        wk_ = _mm_shuffle_epi32(wk_, 0x0e);                          \
        (l).abef = _mm_sha256rnds2_epu32((l).abef, (l).cdgh, wk_);   \
    } while (0)

/* Four rounds of group g, with the schedule's next words first. */
#define GROUP(l, w0, w1, w2, w3, g) do {                              \
        if ((g) >= 4) {                                              \
            w0 = schedule(w0, w1, w2, w3);                           \
        }                                                            \
        ROUNDS4(l, w0, _mm_load_si128((const __m128i *)(K + 4 * (g)))); \
    } while (0)

/* Group g of the lanes a and b (compress2's), one after the other in
 * the code: the CPU overlaps them, as neither waits on the other. */
#define GROUP2(g, a0, a1, a2, a3, b0, b1, b2, b3) do {               \
        GROUP(a, a0, a1, a2, a3, g);                                 \
        GROUP(b, b0, b1, b2, b3, g);                                 \
    } while (0)

/* One block into each of @p x and @p y, their rounds interleaved. */
SHANI static void compress2(lane_t *x, const unsigned char *bx,
                            lane_t *y, const unsigned char *by)
{
    lane_t a = *x, b = *y;
    __m128i w0 = load_words(bx), w1 = load_words(bx + 16),
            w2 = load_words(bx + 32), w3 = load_words(bx + 48);
    __m128i v0 = load_words(by), v1 = load_words(by + 16),
            v2 = load_words(by + 32), v3 = load_words(by + 48);
    int g;

    for (g = 0; g < 16; g += 4) {
        GROUP2(g, w0, w1, w2, w3, v0, v1, v2, v3);
        GROUP2(g + 1, w1, w2, w3, w0, v1, v2, v3, v0);
        GROUP2(g + 2, w2, w3, w0, w1, v2, v3, v0, v1);
        GROUP2(g + 3, w3, w0, w1, w2, v3, v0, v1, v2);
    }
    x->abef = _mm_add_epi32(x->abef, a.abef);
    x->cdgh = _mm_add_epi32(x->cdgh, a.cdgh);
    y->abef = _mm_add_epi32(y->abef, b.abef);
    y->cdgh = _mm_add_epi32(y->cdgh, b.cdgh);
}

/* One block into @p x. */
SHANI static void compress1(lane_t *x, const unsigned char *bx)
{
    lane_t a = *x;
    __m128i w0 = load_words(bx), w1 = load_words(bx + 16),
            w2 = load_words(bx + 32), w3 = load_words(bx + 48);
    int g;

    for (g = 0; g < 16; g += 4) {
        GROUP(a, w0, w1, w2, w3, g);
        GROUP(a, w1, w2, w3, w0, g + 1);
        GROUP(a, w2, w3, w0, w1, g + 2);
        GROUP(a, w3, w0, w1, w2, g + 3);
    }
    x->abef = _mm_add_epi32(x->abef, a.abef);
    x->cdgh = _mm_add_epi32(x->cdgh, a.cdgh);
}

/* Group g of the lanes a, b, c and d (compress4's). */
#define GROUP4(g, a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3,      \
               d0, d1, d2, d3) do {                                  \
        GROUP(a, a0, a1, a2, a3, g);                                 \
        GROUP(b, b0, b1, b2, b3, g);                                 \
        GROUP(c, c0, c1, c2, c3, g);                                 \
        GROUP(d, d0, d1, d2, d3, g);                                 \
    } while (0)

/* One block into each of four lanes, their rounds interleaved: more
 * than two still gain, although their words no longer all fit the
 * sixteen registers. */
SHANI static void compress4(lane_t *l, const unsigned char *const bl[4])
{
    lane_t a = l[0], b = l[1], c = l[2], d = l[3];
    __m128i w0 = load_words(bl[0]), w1 = load_words(bl[0] + 16),
            w2 = load_words(bl[0] + 32), w3 = load_words(bl[0] + 48);
    __m128i v0 = load_words(bl[1]), v1 = load_words(bl[1] + 16),
            v2 = load_words(bl[1] + 32), v3 = load_words(bl[1] + 48);
    __m128i x0 = load_words(bl[2]), x1 = load_words(bl[2] + 16),
            x2 = load_words(bl[2] + 32), x3 = load_words(bl[2] + 48);
    __m128i y0 = load_words(bl[3]), y1 = load_words(bl[3] + 16),
            y2 = load_words(bl[3] + 32), y3 = load_words(bl[3] + 48);
    int g;

    for (g = 0; g < 16; g += 4) {
        GROUP4(g, w0, w1, w2, w3, v0, v1, v2, v3, x0, x1, x2, x3,
               y0, y1, y2, y3);
        GROUP4(g + 1, w1, w2, w3, w0, v1, v2, v3, v0, x1, x2, x3, x0,
               y1, y2, y3, y0);
        GROUP4(g + 2, w2, w3, w0, w1, v2, v3, v0, v1, x2, x3, x0, x1,
               y2, y3, y0, y1);
        GROUP4(g + 3, w3, w0, w1, w2, v3, v0, v1, v2, x3, x0, x1, x2,
               y3, y0, y1, y2);
    }
    l[0].abef = _mm_add_epi32(l[0].abef, a.abef);
    l[0].cdgh = _mm_add_epi32(l[0].cdgh, a.cdgh);
    l[1].abef = _mm_add_epi32(l[1].abef, b.abef);
    l[1].cdgh = _mm_add_epi32(l[1].cdgh, b.cdgh);
    l[2].abef = _mm_add_epi32(l[2].abef, c.abef);
    l[2].cdgh = _mm_add_epi32(l[2].cdgh, c.cdgh);
    l[3].abef = _mm_add_epi32(l[3].abef, d.abef);
    l[3].cdgh = _mm_add_epi32(l[3].cdgh, d.cdgh);
}

/* Hash @p n (2 or 4) messages whose sources and lanes are set up: the
 * blocks all of them have, n at a time; the rest two or one at a time.
 * The digests into @p out; the staged blocks wiped. */
SHANI static void run_lanes(src_t *s, lane_t *l, int n,
                            unsigned char *const out[])
{
    const unsigned char *bl[4];
    size_t k[4] = { 0, 0, 0, 0 }, all = (size_t)-1;
    int i, j, left[4], m;

    for (i = 0; i < n; i++) {
        all = s[i].blocks < all ? s[i].blocks : all;
    }
    if (n == 4) {
        for (; k[0] < all; k[0]++, k[1]++, k[2]++, k[3]++) {
            for (i = 0; i < 4; i++) {
                bl[i] = src_block(&s[i], k[i]);
            }
            compress4(l, bl);
        }
    }
    for (;;) {
        for (m = 0, i = 0; i < n; i++) {
            if (k[i] < s[i].blocks) {
                left[m++] = i;
            }
        }
        if (m == 0) {
            break;
        }
        i = left[0];
        if (m == 1) {
            compress1(&l[i], src_block(&s[i], k[i]++));
            continue;
        }
        j = left[1];
        compress2(&l[i], src_block(&s[i], k[i]), &l[j],
                  src_block(&s[j], k[j]));
        k[i]++;
        k[j]++;
    }
    for (i = 0; i < n; i++) {
        lane_out(&l[i], out[i]);
        /* the last blocks held the messages' tails (an ID, a name) */
        explicit_bzero(s[i].buf, sizeof(s[i].buf));
    }
}

/* Four messages from the start (no saved state). */
SHANI static void quad_shani(const verify_sha256_msg_t *const m[4],
                             unsigned char *const out[4])
{
    src_t s[4];
    lane_t l[4];
    int i;

    for (i = 0; i < 4; i++) {
        src_init(&s[i], m[i], 0);
        lane_init(&l[i], H0);
    }
    run_lanes(s, l, 4, out);
}

SHANI static void pair_shani(const verify_sha256_msg_t *a,
                             const verify_sha256_msg_t *b,
                             unsigned char out_a[VERIFY_SHA256_LEN],
                             unsigned char out_b[VERIFY_SHA256_LEN])
{
    const verify_sha256_msg_t *m[2] = { a, b };
    unsigned char *const out[2] = { out_a, out_b };
    src_t s[2];
    lane_t l[2];
    unsigned int h[2][8];
    unsigned long long done[2] = { 0, 0 };
    int i;

    for (i = 0; i < 2; i++) {
        /* a saved state with part of a block pending: the serial path */
        if (m[i]->from
            && verify_sha256_midstate(m[i]->from, h[i], &done[i]) != 0) {
            verify_sha256_pair_serial(a, b, out_a, out_b);
            return;
        }
        src_init(&s[i], m[i], done[i]);
        lane_init(&l[i], m[i]->from ? h[i] : H0);
    }
    run_lanes(s, l, 2, out);
}

int verify_sha256_pair_native(void)
{
    static int has = -1;        /* every thread finds the same */
    int h = __atomic_load_n(&has, __ATOMIC_RELAXED);
    unsigned a, b, c, d;

    if (h < 0) {
        /* CPUID: leaf 1 ECX bit 9 SSSE3, bit 19 SSE4.1; leaf 7 EBX bit
         * 29 SHA (GCC and Clang do not name it alike for
         * __builtin_cpu_supports) */
        h = __get_cpuid(1, &a, &b, &c, &d) && (c >> 9 & 1) && (c >> 19 & 1)
            && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 29 & 1);
        __atomic_store_n(&has, h, __ATOMIC_RELAXED);
    }
    return h;
}

void verify_sha256_pair(const verify_sha256_msg_t *a,
                        const verify_sha256_msg_t *b,
                        unsigned char out_a[VERIFY_SHA256_LEN],
                        unsigned char out_b[VERIFY_SHA256_LEN])
{
    if (verify_sha256_pair_native()) {
        pair_shani(a, b, out_a, out_b);
    }
    else {
        verify_sha256_pair_serial(a, b, out_a, out_b);
    }
}

void verify_sha256_quad(const verify_sha256_msg_t *const m[4],
                        unsigned char *const out[4])
{
    int i;

    for (i = 0; i < 4; i++) {
        if (m[i]->from) {       /* not needed yet: two pairs */
            break;
        }
    }
    if (i == 4 && verify_sha256_pair_native()) {
        quad_shani(m, out);
        return;
    }
    verify_sha256_pair(m[0], m[1], out[0], out[1]);
    verify_sha256_pair(m[2], m[3], out[2], out[3]);
}

#else /* not x86-64 with GCC or Clang: one after the other */

void verify_sha256_quad(const verify_sha256_msg_t *const m[4],
                        unsigned char *const out[4])
{
    verify_sha256_pair_serial(m[0], m[1], out[0], out[1]);
    verify_sha256_pair_serial(m[2], m[3], out[2], out[3]);
}


int verify_sha256_pair_native(void)
{
    return 0;
}

void verify_sha256_pair(const verify_sha256_msg_t *a,
                        const verify_sha256_msg_t *b,
                        unsigned char out_a[VERIFY_SHA256_LEN],
                        unsigned char out_b[VERIFY_SHA256_LEN])
{
    verify_sha256_pair_serial(a, b, out_a, out_b);
}

#endif
