/*
 * verify_recset.h -- the records of one batch on their way into the
 * store, in bounded memory (verify_recset.c).
 *
 * A small batch stays in memory. A large one (more than the set's
 * memory limit) is spilled into partitions by the first byte of the
 * key -- keys are keyed hashes, so the partitions are of even size --
 * in unnamed temporary files (O_TMPFILE) in a directory the caller
 * trusts (the store directory). Each partition is then read back,
 * sorted and checked for duplicate IDs alone: together they are the
 * batch in key order, ready for MDB_APPEND.
 */
#ifndef VERIFY_RECSET_H
#define VERIFY_RECSET_H

#include <stddef.h>
#include <apr_pools.h>
#include "verify_store.h"


/** Records kept in memory before a set spills (about 80 MB). */
#define VERIFY_RECSET_MEM_DEFAULT ((size_t)1 << 20)

/**
 * A new, empty set, freed with @p p. @p spill_dirfd: the directory the
 * partitions go to (-1: everything stays in memory); @p mem_records:
 * how many records stay in memory before it spills (0: the default).
 */
apr_status_t verify_recset_create(verify_recset_t **out, int spill_dirfd,
                                  size_t mem_records, apr_pool_t *p);

/**
 * A new, empty set like @p like (the same spill directory), keeping
 * 1/@p share of its records in memory: for one of @p share threads
 * that fill a set each, to be joined.
 */
apr_status_t verify_recset_create_like(verify_recset_t **out,
                                       const verify_recset_t *like,
                                       unsigned share, apr_pool_t *p);

/**
 * Join @p next (and whatever is joined to it) after the last set joined
 * to @p s: from now on @p s stands for all of them, its records first
 * (as if added to @p s in that order). @p next is then only used
 * through @p s; each set is still freed with its own pool, which must
 * last as long as @p s is used.
 */
void verify_recset_join(verify_recset_t *s, verify_recset_t *next);

/** Add a record (copied). 0, or -1 with *err set. */
int verify_recset_add(verify_recset_t *s, const verify_import_rec_t *r,
                      char **err);

/** Records added so far (to the sets joined too). */
size_t verify_recset_count(const verify_recset_t *s);

/** Did the set spill to temporary files? */
int verify_recset_spilled(const verify_recset_t *s);

/** Called with the records in key order, a run at a time; non-zero
 *  stops the walk (and is returned). */
typedef int (*verify_recset_fn)(void *ctx, const verify_import_rec_t *recs,
                                size_t n);

/**
 * Walk the set in key order (@p fn may be NULL: a check only). A
 * duplicate ID stops it: APR_EINVAL with *err "line N: duplicate ID
 * (same as line M)". @p fn's non-zero value stops it too: APR_EGENERAL,
 * *err untouched. Can be walked again.
 */
apr_status_t verify_recset_walk(verify_recset_t *s, verify_recset_fn fn,
                                void *ctx, int *fn_rc, char **err,
                                apr_pool_t *p);

#endif /* VERIFY_RECSET_H */
