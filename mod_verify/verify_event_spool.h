/*
 * verify_event_spool.h -- the event spool (verify_event_spool.c): a
 * root-only directory where the root tools (verify-import,
 * verify-audit purge) leave one file per administrative event, and
 * from which the httpd parent writes them into the audit chain, in
 * order, removing each file once its line is written.
 *
 * Only httpd processes can append to the chain (its head and lock are
 * in httpd's shared memory); the spool is how a tool that runs outside
 * httpd gets its event into the chain at the time it happens.
 */
#ifndef VERIFY_EVENT_SPOOL_H
#define VERIFY_EVENT_SPOOL_H

#include <sys/types.h>
#include <apr_pools.h>
#include <apr_time.h>

/** The spool's name inside VerifyStore. */
#define VERIFY_SPOOL_NAME "events"

/** The default spool of verify-audit purge: that of the default
 * VerifyStore. */
#define VERIFY_SPOOL_DEFAULT "/var/lib/verify/store/events"

/** Where refused entries are moved to, inside the spool. */
#define VERIFY_SPOOL_REFUSED "refused"

/** The httpd parent's record of the client register, inside the spool
 * (verify_event.h). */
#define VERIFY_SPOOL_STATE "register.state"

/** Largest event file, its newline included: the chain line made of it
 * (seq, ts, prev and hash added) stays under VERIFY_AUDIT_LINE_MAX. */
#define VERIFY_EVENT_MAX 3584

/** An event id: "20261120T020000.123456Z-0001" (UTC time of the event
 * in microseconds, a counter); ids sort in the order of the events. */
#define VERIFY_EVENT_ID_LEN 28

/** An event file's name is its id and this suffix. */
#define VERIFY_EVENT_SUFFIX ".json"

/**
 * Open the spool directory @p path, creating it (mode 0700) when
 * @p create is set and it is missing. Its parent directory must be a
 * directory of @p owner that group and others cannot write (so nobody
 * else can replace the spool), the spool itself a directory of
 * @p owner that group and others can neither read, write nor search;
 * neither is reached through a symbolic link.
 * @param fd out: a descriptor of the spool (O_CLOEXEC)
 * @return APR_SUCCESS; APR_ENOENT when it (or its parent) is missing
 *         and not created; else an error; *err says why in each failure
 */
apr_status_t verify_spool_open(const char *path, int create, uid_t owner,
                               int *fd, char **err, apr_pool_t *p);

/**
 * Leave one event in the spool @p fd. @p body holds the event's members
 * starting with ',' (",\"op\":\"import\",…"); the file written is
 * {BODY without its comma,"at":"<Taipei time of @p now>","event_id":"<id>"}
 * and a newline: a temporary file (O_EXCL, mode 0600) written, synced
 * and renamed to <id>.json without replacing anything, then the
 * directory synced. The id is @p now in UTC, or just after the newest
 * id already waiting when the clock went back, so ids keep their order.
 * @param content out, may be NULL: the file's bytes (NUL-terminated)
 * @param id out, may be NULL: the event id
 * @return APR_SUCCESS, or an error with *err saying why
 */
apr_status_t verify_spool_put(int fd, const char *body, size_t blen,
                              apr_time_t now, const char **content,
                              const char **id, char **err, apr_pool_t *p);

/** Is @p name an event file's name (<id>.json, the id well formed)? */
int verify_spool_event_name(const char *name);

/**
 * Is @p buf (@p len bytes, a whole event file) a well-formed event of
 * id @p id? One line ending in a newline, UTF-8 without control
 * characters, one JSON object without repeated members whose first
 * member is "op", an operation the tools spool ("import", "import_recovery",
 * "intake_policy", "purge" or "records"),
 * with "at" and "event_id" (equal to @p id), and without the members
 * the chain adds (seq, ts, prev, hash). Its body is then ',' followed
 * by the bytes between the braces.
 * @return NULL, or what is wrong (a fixed text)
 */
const char *verify_spool_event_check(const char *buf, size_t len,
                                     const char *id);

/** Where verify_spool_drain() hands what it finds. */
typedef struct verify_spool_sink_t {
    /** Write the line of event @p id, body @p body (as
     * verify_writer_append() takes it); anything but APR_SUCCESS stops
     * the drain, and the file stays for the next one. */
    apr_status_t (*event)(void *baton, const char *id, const char *body,
                          size_t blen, apr_pool_t *p);
    /** Entry @p name was refused for @p why (a fixed text) and moved to
     * @p kept_as (VERIFY_SPOOL_REFUSED "/…"), or left where it is when
     * that failed (@p kept_as NULL, @p why then says so too). Anything
     * but APR_SUCCESS stops the drain. */
    apr_status_t (*refused)(void *baton, const char *name, const char *why,
                            const char *kept_as, apr_pool_t *p);
    void *baton;
} verify_spool_sink_t;

/**
 * Hand every event waiting in the spool @p fd to @p sink, in the order
 * of their names (= ids), and remove each file once its line is
 * written. Temporary files (names starting with '.'), the register
 * state and the refused directory are passed over. Every other entry
 * is taken only if it has an event file's name and is a regular file of
 * @p owner with one link, no permission for group or others and at most
 * VERIFY_EVENT_MAX bytes holding a well-formed event
 * (verify_spool_event_check); that is checked without following a
 * symbolic link or opening anything but a regular file. Anything else
 * is refused: moved, never opened, to the refused directory under a
 * name of the spool's choosing, and reported.
 * @param count out, may be NULL: events written
 * @return APR_SUCCESS, the first failure of @p sink, or an error with
 *         *err saying why
 */
apr_status_t verify_spool_drain(int fd, uid_t owner,
                                const verify_spool_sink_t *sink,
                                unsigned *count, char **err, apr_pool_t *p);

/**
 * Read file @p name of the spool @p fd: a regular file of @p owner with
 * one link and no permission for group or others, at most @p max bytes,
 * never through a symbolic link. *buf is NUL-terminated.
 * @return APR_SUCCESS; APR_ENOENT when missing; else an error with
 *         *err saying why
 */
apr_status_t verify_spool_read_file(int fd, const char *name, uid_t owner,
                                    size_t max, char **buf, size_t *len,
                                    char **err, apr_pool_t *p);

/**
 * Replace file @p name of the spool @p fd by @p len bytes of @p buf,
 * atomically (temporary file, sync, rename, directory sync).
 * @return APR_SUCCESS, or an error with *err saying why
 */
apr_status_t verify_spool_write_file(int fd, const char *name,
                                     const char *buf, size_t len,
                                     char **err, apr_pool_t *p);

#endif /* VERIFY_EVENT_SPOOL_H */
