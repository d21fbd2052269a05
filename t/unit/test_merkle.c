/*
 * test_merkle.c -- RFC 6962 tree hashing, the right edge, proofs.
 *
 * The expected roots and proofs of the eight-leaf tree were computed
 * apart from this code, with Python's hashlib and RFC 6962's recursive
 * definitions (they are also the Certificate Transparency test vectors).
 */
#include "unit.h"

#define N 64

/* the RFC 6962 test leaves */
static const char *const ct_leaf_hex[8] = {
    "", "00", "10", "2021", "3031", "40414243",
    "5051525354555657", "606162636465666768696a6b6c6d6e6f"
};

static const char *const ct_root[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
};

/* known proofs over the test leaves: kind, a, b, hashes */
static const struct {
    char kind;                  /* 'i' inclusion of a in b, 'c' a to b */
    uint64_t a, b;
    const char *hex[4];
} ct_proof[] = {
    { 'i', 0, 8, {
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
    { 'i', 5, 8, {
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
    { 'i', 2, 3, {
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
    { 'c', 6, 8, {
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
    { 'c', 4, 8, {
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
    { 'c', 3, 7, {
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e" } },
};

typedef struct {
    unsigned char (*leaf)[32];
    uint64_t calls;
    uint64_t fail_at;           /* index whose read fails; UINT64_MAX: none */
} leaves_t;

static apr_status_t leaf_cb(void *ctx, uint64_t i, unsigned char out[32])
{
    leaves_t *l = ctx;

    l->calls++;
    if (i == l->fail_at) {
        return APR_EBADF;
    }
    memcpy(out, l->leaf[i], 32);
    return APR_SUCCESS;
}

static unsigned char ct_hash[8][32];
static unsigned char big_hash[N][32];
/* root[n]: the root of the first n of big_hash */
static unsigned char root[N + 1][32];

static void unhex_or_die(const char *hex, unsigned char *out)
{
    if (verify_unhex(hex, strlen(hex) / 2, out, 0) != 0) {
        diag("bad hex in the test: %s", hex);
        exit(2);
    }
}

static char *hexof(const unsigned char *h)
{
    char *s = apr_palloc(pool, 65);

    verify_hex(h, 32, s);
    return s;
}

static void test_hashes(void)
{
    unsigned char h[32], data[16];
    verify_merkle_edge_t e;
    leaves_t l = { ct_hash, 0, UINT64_MAX };
    int n, i, bad = 0;

    verify_merkle_empty_root(h);
    is_str(hexof(h), ct_root[0], "the empty root is SHA-256 of nothing");
    verify_merkle_edge_init(&e);
    verify_merkle_edge_root(&e, h);
    is_str(hexof(h), ct_root[0], "an empty edge has the empty root");
    verify_merkle_range_root(3, 3, leaf_cb, &l, h);
    is_str(hexof(h), ct_root[0], "an empty range has the empty root");

    for (i = 0; i < 8; i++) {
        size_t len = strlen(ct_leaf_hex[i]) / 2;

        unhex_or_die(ct_leaf_hex[i], data);
        verify_merkle_leaf_hash(data, len, ct_hash[i]);
    }
    is_str(hexof(ct_hash[0]), ct_root[1], "leaf hash of the empty leaf");
    for (n = 1; n <= 8; n++) {
        verify_merkle_edge_append(&e, ct_hash[n - 1]);
        verify_merkle_edge_root(&e, h);
        is_str(hexof(h), ct_root[n], "edge root of %d test leaves", n);
        verify_merkle_range_root(0, (uint64_t)n, leaf_cb, &l, h);
        is_str(hexof(h), ct_root[n], "range root of %d test leaves", n);
    }
    is_int((long long)e.size, 8, "the edge counts its leaves");

    /* node hash: SHA-256(0x01 || l || r), aliasing allowed */
    memcpy(h, ct_hash[0], 32);
    verify_merkle_node_hash(h, ct_hash[1], h);
    is_str(hexof(h), ct_root[2], "node hash may write over its input");

    /* the edge agrees with the range root at every size up to N */
    verify_merkle_edge_init(&e);
    for (n = 1; n <= N; n++) {
        unsigned char r1[32], r2[32];
        leaves_t bl = { big_hash, 0, UINT64_MAX };

        verify_merkle_edge_append(&e, big_hash[n - 1]);
        verify_merkle_edge_root(&e, r1);
        verify_merkle_range_root(0, (uint64_t)n, leaf_cb, &bl, r2);
        bad += memcmp(r1, r2, 32) != 0 || bl.calls != (uint64_t)n;
    }
    is_int(bad, 0, "edge root = range root at every size 1..%d, "
           "each leaf read once", N);

    ok(sizeof(verify_merkle_edge_t) == 8 + 64 * 32,
       "the edge is a flat struct of %zu bytes",
       sizeof(verify_merkle_edge_t));
    e.size = UINT64_MAX;
    is_int(verify_merkle_edge_append(&e, h), APR_EINVAL,
           "a full tree takes no more leaves");
    is_int((long long)(e.size == UINT64_MAX), 1, "and is left as it was");
}

static void test_known_proofs(void)
{
    verify_merkle_proof_t pr;
    leaves_t l = { ct_hash, 0, UINT64_MAX };
    unsigned char r1[32], r2[32];
    size_t i, j;

    for (i = 0; i < sizeof(ct_proof) / sizeof(ct_proof[0]); i++) {
        int same = 1;
        size_t want = 0;
        const char *why;

        while (want < 4 && ct_proof[i].hex[want]) {
            want++;
        }
        if (ct_proof[i].kind == 'i') {
            verify_merkle_inclusion_proof(ct_proof[i].a, ct_proof[i].b,
                                          leaf_cb, &l, &pr);
        }
        else {
            verify_merkle_consistency_proof(ct_proof[i].a, ct_proof[i].b,
                                            leaf_cb, &l, &pr);
        }
        same = pr.count == want;
        for (j = 0; same && j < want; j++) {
            same = strcmp(hexof(pr.hash[j]), ct_proof[i].hex[j]) == 0;
        }
        ok(same, "%s proof %llu, %llu is RFC 6962's",
           ct_proof[i].kind == 'i' ? "inclusion" : "consistency",
           (unsigned long long)ct_proof[i].a,
           (unsigned long long)ct_proof[i].b);
        unhex_or_die(ct_root[ct_proof[i].b], r2);
        if (ct_proof[i].kind == 'i') {
            why = verify_merkle_inclusion_check(ct_proof[i].a, ct_proof[i].b,
                                                ct_hash[ct_proof[i].a], &pr,
                                                r2);
        }
        else {
            unhex_or_die(ct_root[ct_proof[i].a], r1);
            why = verify_merkle_consistency_check(ct_proof[i].a,
                                                  ct_proof[i].b, r1, r2, &pr);
        }
        is_str(why, NULL, "and it checks");
    }
}

/* Every inclusion proof in every tree up to N leaves checks; every
 * mutation of one fails. */
static void test_all_inclusion(void)
{
    unsigned char other[32];
    leaves_t l = { big_hash, 0, UINT64_MAX };
    verify_merkle_proof_t pr, m;
    uint64_t n, i;
    size_t j;
    int good = 0, bad = 0, caught = 0, tried = 0;

    for (n = 1; n <= N; n++) {
        for (i = 0; i < n; i++) {
            if (verify_merkle_inclusion_proof(i, n, leaf_cb, &l, &pr)
                != APR_SUCCESS) {
                bad++;
                continue;
            }
            if (verify_merkle_inclusion_check(i, n, big_hash[i], &pr,
                                              root[n]) == NULL) {
                good++;
            }
            else {
                bad++;
                diag("inclusion %llu in %llu fails",
                     (unsigned long long)i, (unsigned long long)n);
            }
            /* one flipped bit in each hash */
            for (j = 0; j < pr.count; j++) {
                m = pr;
                m.hash[j][j % 32] ^= 0x01;
                tried++;
                caught += verify_merkle_inclusion_check(i, n, big_hash[i],
                                                        &m, root[n]) != NULL;
            }
            /* a hash removed, a hash added */
            if (pr.count > 0) {
                m = pr;
                m.count--;
                tried++;
                caught += verify_merkle_inclusion_check(i, n, big_hash[i],
                                                        &m, root[n]) != NULL;
            }
            m = pr;
            memcpy(m.hash[m.count++], big_hash[0], 32);
            tried++;
            caught += verify_merkle_inclusion_check(i, n, big_hash[i], &m,
                                                    root[n]) != NULL;
            /* another leaf, another index, another tree */
            tried += 3;
            caught += verify_merkle_inclusion_check(i, n,
                                                    big_hash[(i + 1) % N],
                                                    &pr, root[n]) != NULL;
            caught += verify_merkle_inclusion_check((i + 1) % n == i ? n
                                                    : (i + 1) % n, n,
                                                    big_hash[i], &pr,
                                                    root[n]) != NULL;
            memcpy(other, root[n], 32);
            other[31] ^= 0x80;
            caught += verify_merkle_inclusion_check(i, n, big_hash[i], &pr,
                                                    other) != NULL;
        }
    }
    is_int(bad, 0, "every inclusion proof in trees of 1..%d leaves checks "
           "(%d)", N, good);
    is_int(caught, tried, "every mutated inclusion proof fails (%d)", tried);

    is_int(verify_merkle_inclusion_proof(5, 5, leaf_cb, &l, &pr), APR_EINVAL,
           "no inclusion proof for a leaf past the tree");
    ok(verify_merkle_inclusion_check(5, 5, big_hash[5], &pr, root[5])
       != NULL, "nor does one check");
    l.fail_at = 3;
    is_int(verify_merkle_inclusion_proof(0, 9, leaf_cb, &l, &pr), APR_EBADF,
           "a leaf that cannot be read stops the proof");
}

static void test_all_consistency(void)
{
    unsigned char other[32];
    leaves_t l = { big_hash, 0, UINT64_MAX };
    verify_merkle_proof_t pr, m;
    uint64_t a, b;
    size_t j;
    int good = 0, bad = 0, caught = 0, tried = 0;

    for (b = 0; b <= N; b++) {
        for (a = 0; a <= b; a++) {
            if (verify_merkle_consistency_proof(a, b, leaf_cb, &l, &pr)
                != APR_SUCCESS
                || verify_merkle_consistency_check(a, b, root[a], root[b],
                                                   &pr) != NULL) {
                bad++;
                diag("consistency %llu to %llu fails",
                     (unsigned long long)a, (unsigned long long)b);
                continue;
            }
            good++;
            for (j = 0; j < pr.count; j++) {
                m = pr;
                m.hash[j][(j * 7) % 32] ^= 0x04;
                tried++;
                caught += verify_merkle_consistency_check(a, b, root[a],
                                                          root[b], &m)
                          != NULL;
            }
            if (pr.count > 0) {
                m = pr;
                m.count--;
                tried++;
                caught += verify_merkle_consistency_check(a, b, root[a],
                                                          root[b], &m)
                          != NULL;
            }
            m = pr;
            memcpy(m.hash[m.count++], root[a], 32);
            tried++;
            caught += verify_merkle_consistency_check(a, b, root[a], root[b],
                                                      &m) != NULL;
            /* the other root changed: a fork or a rewritten past */
            memcpy(other, root[a], 32);
            other[0] ^= 0x10;
            tried += 2;
            caught += verify_merkle_consistency_check(a, b, other, root[b],
                                                      &pr) != NULL;
            /* (the empty tree is a prefix of any tree) */
            memcpy(other, root[b], 32);
            other[0] ^= 0x10;
            caught += a == 0 || verify_merkle_consistency_check(a, b,
                                         root[a], other, &pr) != NULL;
            /* the proof for one pair of sizes used for another */
            if (a > 0 && a < b && b < N) {
                tried++;
                caught += verify_merkle_consistency_check(a, b + 1, root[a],
                                                          root[b + 1], &pr)
                          != NULL;
            }
        }
    }
    is_int(bad, 0, "every consistency proof between trees of 0..%d leaves "
           "checks (%d)", N, good);
    is_int(caught, tried, "every mutated consistency proof fails (%d)",
           tried);
    is_int(verify_merkle_consistency_proof(5, 4, leaf_cb, &l, &pr),
           APR_EINVAL, "no consistency proof from a larger tree");
    ok(verify_merkle_consistency_check(5, 4, root[5], root[4], &pr) != NULL,
       "nor does one check");
}

int main(void)
{
    int i;

    unit_begin();
    for (i = 0; i < N; i++) {
        char line[64];
        int len = snprintf(line, sizeof(line), "{\"seq\":%d,\"op\":\"t\"}",
                           i + 1);
        verify_merkle_leaf_hash(line, (size_t)len, big_hash[i]);
    }
    for (i = 0; i <= N; i++) {
        leaves_t l = { big_hash, 0, UINT64_MAX };

        verify_merkle_range_root(0, (uint64_t)i, leaf_cb, &l, root[i]);
    }
    test_hashes();
    test_known_proofs();
    test_all_inclusion();
    test_all_consistency();
    return unit_end();
}
