/*
 * hash_ahead.h -- the hashes of a month's reading done by a second
 * thread (hash_ahead.c): each line's RFC 6962 leaf for the report's
 * walk, each query's SHA-256 (qline_t.digest), and the anomaly flags'
 * count of each query (verify_flags_add), while the reading goes on.
 * The leaves and the queries reach the walk and the flags in the
 * lines' order; neither is the reading thread's until hash_ahead_end().
 */
#ifndef VERIFY_AUDIT_HASH_AHEAD_H
#define VERIFY_AUDIT_HASH_AHEAD_H

#include "month.h"
#include "verify_flags.h"

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
/* The query @p fq for the flags @p f: verify_flags_before() (@p before
 * 1) or verify_flags_add(), here (one thread) or on the hashing thread
 * after the lines given before it. Its strings are copied. @p f must
 * not share an APR pool or allocator with anything this thread uses
 * until hash_ahead_end(). */
void hash_ahead_flags(hash_ahead_t *h, verify_flags_t *f,
                      const verify_flags_query_t *fq, int before);
/* Wait for every line given, put the last digests in place, stop the
 * thread and free @p h (NULL: nothing).
 * @return 0, or -1 when a hash failed (said). */
int hash_ahead_end(hash_ahead_t *h);

#endif /* VERIFY_AUDIT_HASH_AHEAD_H */
