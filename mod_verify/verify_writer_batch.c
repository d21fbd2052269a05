/*
 * verify_writer_batch.c -- the lines of one request, appended as one:
 * every line or none. Under one hold of the chain lock the lines are
 * sealed one after the other into one buffer (consecutive seqs, each
 * line's prev the hash of the one before) and written with one write;
 * the head and the tree's edge move only once all of them are in the
 * file. A short write (a full volume, a file size limit) is cut off
 * again, so a batch that fails leaves the files as they were.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "verify_writer_private.h"

/* What sealing adds to a body: seq, ts, prev, hash and their keys
 * (at most 20 digits, 32 characters, 64 and 64 hex digits). */
#define SEAL_OVERHEAD 256

/* The lines sealed one after the other into one buffer of @p p (the
 * request's pool: its allocator keeps the memory for the next request,
 * where a malloc of this size would map and unmap it each time), their
 * leaf hashes in @p leaves. @return the buffer, its length in *len;
 * NULL when a line is too long (*toolong set) or a hash fails. */
static char *seal_all(const verify_writer_body_t *lines, size_t n,
                      apr_time_t now, verify_chain_t *next,
                      unsigned char (*leaves)[VERIFY_MERKLE_HASH_LEN],
                      size_t *len, int *toolong, apr_pool_t *p)
{
    size_t cap = 0, used = 0, k, l, room;
    char *buf;

    *toolong = 0;
    for (k = 0; k < n; k++) {
        cap += lines[k].len + SEAL_OVERHEAD;
    }
    buf = apr_palloc(p, cap);
    for (k = 0; k < n; k++) {
        /* a line within the limit always fits its share */
        room = lines[k].len + SEAL_OVERHEAD;
        l = verify_audit_seal(next, now, lines[k].body, lines[k].len,
                              buf + used, room < VERIFY_AUDIT_LINE_MAX
                                          ? room : VERIFY_AUDIT_LINE_MAX);
        if (l == 0) {
            *toolong = 1;
            return NULL;
        }
        /* the leaf is the line without its newline */
        if (verify_merkle_leaf_hash(buf + used, l - 1, leaves[k])
            != APR_SUCCESS) {
            return NULL;
        }
        used += l;
    }
    *len = used;
    return buf;
}

/* Write the lines (the lock is held): all, or none and the head
 * unchanged. */
static apr_status_t append_all_locked(verify_writer_t *w,
                                      const verify_writer_body_t *lines,
                                      size_t n, apr_time_t now,
                                      unsigned char (*leaves)
                                          [VERIFY_MERKLE_HASH_LEN],
                                      apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    verify_chain_t next = h->chain;
    verify_date_t day;
    apr_off_t offset;
    apr_status_t rv;
    size_t len = 0, k;
    int toolong;
    ssize_t wrote;
    int err;
    char *buf;

    rv = writer_file_at(w, now, &day, &offset, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    buf = seal_all(lines, n, now, &next, leaves, &len, &toolong, p);
    if (!buf) {
        if (toolong) {
            WLOG(w, VERIFY_LOG_ERR, 0, VERIFY_MSGNO(127),
                 "an audit line of a batch of %lu is too long; none of "
                 "its lines was written", (unsigned long)n);
            return APR_EGENERAL;
        }
        return APR_ENOMEM;
    }
    /* One write: a regular file takes it whole unless the volume (or a
     * limit) runs out, and then what did reach the file is cut off. */
    do {
        wrote = write(w->fd, buf, len);
    } while (wrote < 0 && errno == EINTR);
    err = errno;
    if (wrote != (ssize_t)len) {
        return writer_write_failed(w, day, offset, wrote, n, err, p);
    }
    /* the edge first, the head after, as for one line: a writer killed
     * in between leaves the edge apart from the chain, and the next
     * step rebuilds it from the files (tree_catch_up) */
    for (k = 0; h->tree_ok && k < n; k++) {
        (void)verify_merkle_edge_append(&h->edge, leaves[k]);
    }
    writer_written(w, &next, day, offset + (apr_off_t)len, now);
    return APR_SUCCESS;
}

apr_status_t verify_writer_append_batch(verify_writer_t *w,
                                        const verify_writer_body_t *lines,
                                        size_t n, const char *request_id,
                                        verify_writer_receipt_t *receipts,
                                        apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    unsigned char (*leaves)[VERIFY_MERKLE_HASH_LEN];
    verify_writer_flight_t *fl = NULL;
    apr_time_t now = 0;
    uint64_t first = 0, last = 0;
    apr_status_t rv;
    int locked;
    size_t k;

    if (n == 0) {
        return APR_EINVAL;
    }
    leaves = apr_palloc(p, n * sizeof(*leaves));
    rv = writer_step_begin(w, &now, &locked, p);
    if (!locked) {
        return rv;
    }
    if (rv == APR_SUCCESS) {
        first = h->chain.seq + 1;
        /* in flight before the write, as for one line (recover() drops
         * the seq if the lines never reached the file) */
        if (receipts && w->flights && (fl = writer_flight_slot(w)) != NULL) {
            fl->seq = first;
        }
        rv = append_all_locked(w, lines, n, now, leaves, p);
        last = h->chain.seq;
        if (rv != APR_SUCCESS && fl) {
            fl->seq = 0;
        }
    }
    rv = writer_step_end(w, rv, last, request_id, p);
    if (rv == APR_SUCCESS && receipts) {
        for (k = 0; k < n; k++) {
            receipts[k].seq = first + k;
            memcpy(receipts[k].leaf, leaves[k], VERIFY_MERKLE_HASH_LEN);
        }
    }
    return rv;
}
