/*
 * hash_ahead.h -- the hashes of a month's reading done by a second
 * thread (hash_ahead.c): each line's RFC 6962 leaf for the report's
 * walk, and each query's SHA-256 (qline_t.digest), while the reading
 * goes on. The leaves reach the walk in the lines' order; nothing else
 * is shared with the reading thread until hash_ahead_end().
 */
#ifndef VERIFY_AUDIT_HASH_AHEAD_H
#define VERIFY_AUDIT_HASH_AHEAD_H

#include "month.h"

typedef struct hash_ahead_t hash_ahead_t;

/* No query: a line only hashed as a leaf. */
#define HASH_AHEAD_NO_QUERY ((size_t)-1)

/* Hash the lines given into @p walk (NULL: no leaves) and the digests
 * into (*qs)[i] (read at hand-over: *qs may be moved by realloc in
 * between). @p threads 1 hashes each line when it is given, as a
 * single thread did; 2 or more, on one more thread.
 * @return NULL when out of memory or no thread could start (said). */
hash_ahead_t *hash_ahead_start(audit_walk_t *walk, qline_t **qs,
                               int threads);
/* The line @p line (@p len bytes, no newline): a leaf when there is a
 * walk; the digest of query @p qi unless HASH_AHEAD_NO_QUERY. The
 * bytes are copied: the caller's buffer may change on return.
 * @return 0, or -1 when a hash failed (said). */
int hash_ahead_line(hash_ahead_t *h, const char *line, size_t len,
                    size_t qi);
/* Wait for every line given, put the last digests in place, stop the
 * thread and free @p h (NULL: nothing).
 * @return 0, or -1 when a hash failed (said). */
int hash_ahead_end(hash_ahead_t *h);

#endif /* VERIFY_AUDIT_HASH_AHEAD_H */
