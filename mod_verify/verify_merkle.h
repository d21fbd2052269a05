/*
 * verify_merkle.h -- RFC 6962 Merkle tree hashing, the tree's right
 * edge, and inclusion and consistency proofs (verify_merkle.c).
 *
 * Leaf i of the audit log's tree is audit line seq i+1 without its
 * newline. Hashes follow RFC 6962 section 2.1 (RFC 9162 section 2.1):
 *   leaf hash  SHA-256(0x00 || data)
 *   node hash  SHA-256(0x01 || left || right)
 *   empty tree SHA-256("")
 */
#ifndef VERIFY_MERKLE_H
#define VERIFY_MERKLE_H

#include <stddef.h>
#include <stdint.h>
#include <apr_errno.h>
#include "verify_sha256_pair.h"

/** Bytes of a tree hash (SHA-256). */
#define VERIFY_MERKLE_HASH_LEN 32
/** Hashes in a right edge: one per bit of the tree size. */
#define VERIFY_MERKLE_EDGE_MAX 64
/**
 * Hashes in a proof at the most: an inclusion proof has one per level
 * (64), a consistency proof one per level and the subtree it starts
 * from (65).
 */
#define VERIFY_MERKLE_PROOF_MAX 65

/**
 * The right edge of a tree (its compact range from 0): for each bit k
 * set in @c size, the root of the complete subtree of 2^k leaves that
 * bit stands for. Fixed-size and without pointers, so that it can live
 * in shared memory and be copied with memcpy.
 */
typedef struct {
    uint64_t size;              /**< leaves in the tree */
    unsigned char hash[VERIFY_MERKLE_EDGE_MAX][VERIFY_MERKLE_HASH_LEN];
                                /**< hash[k]: valid when bit k of size is set */
} verify_merkle_edge_t;

/** A proof: @c count hashes, in the order RFC 6962 lists them. */
typedef struct {
    size_t count;
    unsigned char hash[VERIFY_MERKLE_PROOF_MAX][VERIFY_MERKLE_HASH_LEN];
} verify_merkle_proof_t;

/** The leaves [begin, end): a subtree whose root is one hash of a proof. */
typedef struct {
    uint64_t begin;
    uint64_t end;
} verify_merkle_range_t;

/** The subtrees of a proof: @c count of them, in the order of its hashes. */
typedef struct {
    size_t count;
    verify_merkle_range_t range[VERIFY_MERKLE_PROOF_MAX];
} verify_merkle_ranges_t;

/**
 * Yields the leaf hash of leaf @p index into @p hash; a tool reading a
 * log hashes line seq index+1. Any status other than APR_SUCCESS stops
 * the computation and is returned by it.
 */
typedef apr_status_t (*verify_merkle_leaf_fn)(void *ctx, uint64_t index,
                      unsigned char hash[VERIFY_MERKLE_HASH_LEN]);

/** Plain SHA-256 of @p data (the audit chain's line hash), computed as
 * the tree's hashes are.
 * @return APR_SUCCESS, or APR_ENOMEM (OpenSSL). */
apr_status_t verify_sha256(const void *data, size_t len,
                           unsigned char out[VERIFY_MERKLE_HASH_LEN]);
/** SHA-256(0x00 || data). @return APR_SUCCESS, or APR_ENOMEM (OpenSSL). */
apr_status_t verify_merkle_leaf_hash(const void *data, size_t len,
                                     unsigned char out[VERIFY_MERKLE_HASH_LEN]);
/** The message verify_merkle_leaf_hash() hashes (0x00, then @p data), to
 *  hash it with another by verify_sha256_pair(). */
verify_sha256_msg_t verify_merkle_leaf_msg(const void *data, size_t len);

/** SHA-256(0x01 || left || right); @p out may alias either input. */
apr_status_t verify_merkle_node_hash(
    const unsigned char left[VERIFY_MERKLE_HASH_LEN],
    const unsigned char right[VERIFY_MERKLE_HASH_LEN],
    unsigned char out[VERIFY_MERKLE_HASH_LEN]);

/** The root of the empty tree, SHA-256 of the empty string. */
void verify_merkle_empty_root(unsigned char out[VERIFY_MERKLE_HASH_LEN]);

/** Make @p e the right edge of the empty tree. */
void verify_merkle_edge_init(verify_merkle_edge_t *e);

/**
 * Append the leaf with hash @p leaf. Costs one node hash per trailing
 * one bit of the size (one on average).
 * @return APR_SUCCESS; APR_EINVAL if the tree is full (2^64-1 leaves);
 *         APR_ENOMEM if OpenSSL fails (then @p e is unchanged)
 */
apr_status_t verify_merkle_edge_append(verify_merkle_edge_t *e,
                    const unsigned char leaf[VERIFY_MERKLE_HASH_LEN]);

/** The root of the tree of @p e's size (the empty root if 0). */
apr_status_t verify_merkle_edge_root(const verify_merkle_edge_t *e,
                    unsigned char out[VERIFY_MERKLE_HASH_LEN]);

/**
 * MTH(D[begin:end]): the root of the tree over leaves @p begin up to
 * (not including) @p end, each asked of @p fn once, in order.
 * @return APR_SUCCESS, APR_EINVAL if begin > end, or @p fn's status
 */
apr_status_t verify_merkle_range_root(uint64_t begin, uint64_t end,
                    verify_merkle_leaf_fn fn, void *ctx,
                    unsigned char out[VERIFY_MERKLE_HASH_LEN]);

/**
 * RFC 6962 section 2.1.1 PATH(index, D[0:size]): the inclusion proof of
 * leaf @p index in the tree of @p size leaves. Reads every leaf once.
 * @return APR_SUCCESS, APR_EINVAL unless index < size, or @p fn's status
 */
apr_status_t verify_merkle_inclusion_proof(uint64_t index, uint64_t size,
                    verify_merkle_leaf_fn fn, void *ctx,
                    verify_merkle_proof_t *proof);

/**
 * RFC 6962 section 2.1.2 PROOF(size1, D[0:size2]): the consistency
 * proof from the tree of @p size1 leaves to the tree of @p size2. Empty
 * when size1 is 0 or equals size2.
 * @return APR_SUCCESS, APR_EINVAL if size1 > size2, or @p fn's status
 */
apr_status_t verify_merkle_consistency_proof(uint64_t size1, uint64_t size2,
                    verify_merkle_leaf_fn fn, void *ctx,
                    verify_merkle_proof_t *proof);

/**
 * The subtrees whose roots make up the inclusion proof of leaf @p index
 * in the tree of @p size leaves, in the proof's order, without hashing
 * anything: a reader that sees each leaf once, in order (a log too large
 * to keep), computes each root as its leaves go by. The ranges are
 * disjoint and none holds leaf @p index.
 * @return APR_SUCCESS, or APR_EINVAL unless index < size
 */
apr_status_t verify_merkle_inclusion_ranges(uint64_t index, uint64_t size,
                    verify_merkle_ranges_t *ranges);

/**
 * The subtrees whose roots make up the consistency proof from the tree
 * of @p size1 leaves to that of @p size2, as above (none when size1 is
 * 0 or equals size2). The ranges are disjoint.
 * @return APR_SUCCESS, or APR_EINVAL if size1 > size2
 */
apr_status_t verify_merkle_consistency_ranges(uint64_t size1, uint64_t size2,
                    verify_merkle_ranges_t *ranges);

/**
 * Check that the leaf with hash @p leaf is leaf @p index of the tree of
 * @p size leaves whose root is @p root (RFC 9162 section 2.1.3.2).
 * @return NULL if the proof holds, else what is wrong, in words
 */
const char *verify_merkle_inclusion_check(uint64_t index, uint64_t size,
                    const unsigned char leaf[VERIFY_MERKLE_HASH_LEN],
                    const verify_merkle_proof_t *proof,
                    const unsigned char root[VERIFY_MERKLE_HASH_LEN]);

/**
 * Check that the tree of @p size1 leaves with root @p root1 is a prefix
 * of the tree of @p size2 leaves with root @p root2 (RFC 9162 section
 * 2.1.4.2; the empty tree is a prefix of every tree, and a tree of
 * itself, with an empty proof).
 * @return NULL if the proof holds, else what is wrong, in words
 */
const char *verify_merkle_consistency_check(uint64_t size1, uint64_t size2,
                    const unsigned char root1[VERIFY_MERKLE_HASH_LEN],
                    const unsigned char root2[VERIFY_MERKLE_HASH_LEN],
                    const verify_merkle_proof_t *proof);

#endif /* VERIFY_MERKLE_H */
