/*
 * verify_audit_dir.h -- the audit directory: day files, the chain head,
 * purge checkpoints (verify_audit_dir.c).
 */
#ifndef VERIFY_AUDIT_DIR_H
#define VERIFY_AUDIT_DIR_H

#include <sys/types.h>
#include <apr_pools.h>
#include <apr_file_io.h>
#include <apr_tables.h>
#include "verify_audit_line.h"
#include "verify_merkle.h"
#include "verify_time.h"

/** "audit-YYYY-MM-DD.jsonl" for a Taipei date into @p out (32 bytes). */
void verify_audit_filename(verify_date_t day, char out[32]);

/**
 * The one test of an audit file name: the date of "audit-YYYY-MM-DD.jsonl"
 * (a real date), or 0 for any other name. Of a path, only the last
 * component counts.
 */
verify_date_t verify_audit_name_date(const char *name);

/**
 * "purged-through-YYYY-MM-DD.json" into @p out (32 bytes): the purge
 * checkpoint naming the last day purged.
 */
void verify_audit_checkpoint_filename(verify_date_t day, char out[32]);

/** The date of a purge checkpoint's file name, or 0 (as above). */
verify_date_t verify_audit_checkpoint_name_date(const char *name);

/**
 * The audit files of @p n arguments, in chain order, into @p paths
 * (const char *). A file argument is taken as given; a directory gives
 * its audit files in date order. *checkpoint receives the newest purge
 * checkpoint of the directories (by the date in its name), or NULL.
 * @return APR_SUCCESS, or an error with *err saying why
 */
apr_status_t verify_audit_collect(int n, const char *const *args,
                                  apr_array_header_t *paths,
                                  const char **checkpoint, char **err,
                                  apr_pool_t *p);

/**
 * Read a purge checkpoint: seq and hash of the last line purged, from
 * which the chain resumes.
 * @return APR_SUCCESS, or an error with *err saying why
 */
apr_status_t verify_audit_checkpoint_read(const char *path,
                                          verify_chain_t *last, char **err,
                                          apr_pool_t *p);

/**
 * The tree's right edge at the last purged line, as a purge checkpoint
 * keeps it ("tree_size" and "edge": the hex hashes of the complete
 * subtrees, left to right). The file must be a regular file owned by
 * @p owner ((uid_t)-1: any), opened without following a link.
 * @return APR_SUCCESS; APR_ENOENT when the checkpoint keeps no edge (made
 *         before purges kept one); another error with *err saying why
 */
apr_status_t verify_audit_checkpoint_edge(const char *path, uid_t owner,
                                          verify_merkle_edge_t *e,
                                          char **err, apr_pool_t *p);

/**
 * The "edge" member of a purge checkpoint for @p e, as JSON text (an
 * array of hex strings, left to right), from @p p.
 */
char *verify_audit_edge_json(const verify_merkle_edge_t *e, apr_pool_t *p);

/** A file refused by verify_audit_openat's rule (see there). */
#define VERIFY_AUDIT_REFUSED (APR_OS_START_USERERR + 0x5646)

/**
 * Open @p name inside the directory @p dirfd the way root must open
 * anything in a directory another user can write: never following a
 * symbolic link (O_NOFOLLOW, and O_CLOEXEC, added), and only a regular
 * file with exactly one link, owned by @p owner ((uid_t)-1: any owner).
 * With O_CREAT in @p flags a missing file is created (O_EXCL: a new
 * file nobody else can have linked) with @p mode and, when running as
 * root, handed to @p owner:@p group through its descriptor; with
 * O_CREAT|O_EXCL an existing file is refused.
 * @return the descriptor, or -1 with errno set and, when the file was
 *         refused by the rule (rather than failing to open), *why saying
 *         what is wrong with it
 */
int verify_audit_openat(int dirfd, const char *name, int flags, mode_t mode,
                        uid_t owner, gid_t group, const char **why,
                        apr_pool_t *p);

/**
 * Find the chain head in @p dir: the last complete line of the newest
 * audit file that has one. *file and *size name the newest file; a
 * trailing incomplete line in it is reported through *partial_at (its
 * offset; -1 when none). chain->seq is 0 when no line exists yet. The
 * files are opened as verify_audit_openat() does, owned by @p owner
 * ((uid_t)-1: any); a file that breaks that rule is an error,
 * VERIFY_AUDIT_REFUSED.
 */
apr_status_t verify_audit_find_head(const char *dir, uid_t owner,
                                    verify_chain_t *chain, const char **file,
                                    apr_off_t *size, apr_off_t *partial_at,
                                    char **err, apr_pool_t *p);

/**
 * verify_audit_find_head(), and *ts the head line's ts (0 when there is
 * no line, or its ts is not of the writer's form).
 */
apr_status_t verify_audit_find_head_ts(const char *dir, uid_t owner,
                                       verify_chain_t *chain, apr_time_t *ts,
                                       const char **file, apr_off_t *size,
                                       apr_off_t *partial_at, char **err,
                                       apr_pool_t *p);

#endif /* VERIFY_AUDIT_DIR_H */
