/*
 * verify_audit_line.h -- the sealed audit line and its chain (verify_audit_line.c).
 */
#ifndef VERIFY_AUDIT_LINE_H
#define VERIFY_AUDIT_LINE_H

#include <stddef.h>
#include <stdint.h>
#include <apr_time.h>
#include <apr_pools.h>

/** Every audit line is shorter than this, newline included. */
#define VERIFY_AUDIT_LINE_MAX 4096
/** Hex SHA-256 length. */
#define VERIFY_HASH_HEX 64





/** The chain state: last seq and hash. */
typedef struct verify_chain_t {
    uint64_t seq;
    unsigned char hash[32];
} verify_chain_t;

/**
 * Finish one audit line. @p body holds the members after ts, starting
 * with ',' (e.g. ",\"request_id\":\"…\",…"). Writes
 * {"seq":N,"ts":"…"BODY,"prev":"…","hash":"…"}\n into @p out and
 * advances @p chain; with a node id set (verify_node_set), ,"node":"…"
 * comes between ts and BODY. `hash` is SHA-256 of the line's bytes from '{' up
 * to and including the closing quote of the prev value.
 * @return the line length, or 0 if it would not fit in @p cap.
 */
size_t verify_audit_seal(verify_chain_t *chain, apr_time_t now,
                         const char *body, size_t body_len,
                         char *out, size_t cap);

/** Outcome of checking one line against the chain. */
typedef enum {
    VERIFY_LINE_OK = 0,
    VERIFY_LINE_SYNTAX,     /**< not a sealed audit line */
    VERIFY_LINE_HASH,       /**< hash does not cover the content */
    VERIFY_LINE_PREV,       /**< prev is not the previous line's hash */
    VERIFY_LINE_SEQ         /**< seq is not previous seq + 1 */
} verify_line_status_t;

/**
 * Check one line (without its newline). With @p chain->seq == 0 and
 * @p first set, any seq/prev is accepted (a chain picked up mid-way).
 * On success @p chain advances to this line.
 */
verify_line_status_t verify_audit_check_line(verify_chain_t *chain,
                                             const char *line, size_t len,
                                             int first);

/**
 * verify_audit_check_line() that also gives the line's prev (@p prev)
 * and, unless @p leaf is NULL, its RFC 6962 leaf hash, computed with
 * the chain hash (verify_sha256_pair.h): into @p leaf whatever the
 * line's status, once its frame parsed (not VERIFY_LINE_SYNTAX).
 */
verify_line_status_t verify_audit_check_line_leaf(verify_chain_t *chain,
                                                  const char *line,
                                                  size_t len, int first,
                                                  unsigned char prev[32],
                                                  unsigned char *leaf);

/**
 * Two lines, each as verify_audit_check_line_leaf() with @p first set
 * checks it by itself, the four hashes computed together
 * (verify_sha256_quad): line[k]'s status into st[k], its prev, leaf and
 * chain state into prev[k], leaf[k] and chain[k].
 */
void verify_audit_check_two_leaf(verify_chain_t chain[2],
                                 const char *const line[2],
                                 const size_t len[2],
                                 unsigned char *const prev[2],
                                 unsigned char *const leaf[2],
                                 verify_line_status_t st[2]);

/** Read seq and hash of a sealed line; 0 on success. */
int verify_audit_line_head(const char *line, size_t len,
                           verify_chain_t *out);

/**
 * Why the bytes of @p line (@p len, no newline) cannot be an audit line:
 * a NUL byte, a raw control character or invalid UTF-8, with the byte
 * position, from @p p; NULL when none. The writer never writes such a
 * line; the chain scan and the parent's follower refuse one alike.
 */
const char *verify_audit_line_bytes_fault(const char *line, size_t len,
                                          apr_pool_t *p);

#endif /* VERIFY_AUDIT_LINE_H */
