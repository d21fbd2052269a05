/*
 * verify_event.h -- administrative events as the audit chain records
 * them (verify_event.c): imports and purges (made by the tools, carried
 * by the spool, verify_event_spool.h), changes of the client register
 * (made by the httpd parent) and refused spool entries.
 *
 * Each builder appends the members of one event starting with ','
 * (what verify_audit_seal() and verify_spool_put() take) to a
 * verify_jbuf_t; the caller checks its overflow flag. No event holds
 * personal data: batches are named by id, digest and counts, faults are
 * cleaned of record contents (verify_event_fault), clients by name.
 */
#ifndef VERIFY_EVENT_H
#define VERIFY_EVENT_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "verify_json.h"
#include "verify_record.h"
#include "verify_register.h"
#include "verify_time.h"

/** An import attempt, accepted or refused. */
typedef struct verify_event_import_t {
    int accepted;                   /**< the store took the batch */
    verify_source_t src;
    const char *batch_id;           /**< NULL: none (refused) */
    int have_records;               /**< records counted (intake passed) */
    uint64_t records;
    const unsigned char *sha256;    /**< 32 bytes of the input as
                                         received; NULL: not read */
    const char *imported_at;        /**< as_of of the batch; NULL: none */
    verify_date_t approved_until;   /**< 0: none */
    const char *signer;             /**< CMS signer's subject; NULL */
    apr_time_t signed_at;           /**< its CMS signing time; 0: none */
    int encrypted;                  /**< 1 the file was CMS-encrypted,
                                         0 not, -1 not known (not read) */
    int plain;                      /**< --allow-plain was given */
    const char *const *forced;      /**< NULL: no --force; else the
                                         checks it overrode, NULL-ended
                                         (VERIFY_FORCED_*) */
    const char *input;              /**< "destroyed", "kept", … */
    const char *fault;              /**< why refused (verify_event_fault);
                                         NULL when accepted */
    const char *user;               /**< verify_event_user(); NULL */
} verify_event_import_t;

/** The replay checks --force can override, as "forced" names them. */
#define VERIFY_FORCED_SAME_FILE   "same_sha256"
#define VERIFY_FORCED_OLDER       "older_signing_time"
#define VERIFY_FORCED_NO_TIME     "no_signing_time"

/**
 * ,"op":"import","result":"accepted"|"refused","source":…,"batch_id":…,
 * "records":…,"sha256":…,"imported_at":…,"approved_until":…,"signer":…,
 * "signed_at":…,"encrypted":…,"plain":…,"forced":null|[…],
 * "input":…[,"fault":…],"user":… (null where unknown).
 */
void verify_event_import(verify_jbuf_t *b, const verify_event_import_t *e);

/** What the next run of verify-import did with a record, left by a run
 *  killed during its import, that an input file was to be destroyed. */
typedef struct verify_event_recovery_t {
    int committed;                  /**< the killed run's batch went in */
    verify_source_t src;
    const char *batch_id;
    int have_records;               /**< committed: records known */
    uint64_t records;
    const unsigned char *sha256;    /**< 32 bytes: the input as read */
    const char *imported_at;        /**< committed: as_of; else NULL */
    const char *file;               /**< the input's path */
    const char *input;              /**< what became of it now */
    const char *pending_since;      /**< when the record was made */
    const char *import_user;        /**< who ran the killed import */
    const char *user;               /**< who ran this one */
} verify_event_recovery_t;

/**
 * ,"op":"import_recovery","committed":…,"source":…,"batch_id":…,
 * "records":…,"sha256":…,"imported_at":…,"file":…,"input":…,
 * "pending_since":…,"import_user":…,"user":….
 */
void verify_event_recovery(verify_jbuf_t *b,
                           const verify_event_recovery_t *e);

/**
 * ,"op":"intake_policy","require_signed":…,"previous":…,"store":…,
 * "user":…: verify-import --require-signed set or lifted the store's
 * requirement of signed and encrypted batches.
 */
void verify_event_intake_policy(verify_jbuf_t *b, int require_signed,
                                int previous, const char *store,
                                const char *user);

/** A purge of audit files (verify-audit purge). */
typedef struct verify_event_purge_t {
    const char *result;             /**< "purged", "refused" or "failed" */
    const char *audit_dir;
    const char *before;             /**< --before as given (a date) */
    const char *purged_through;     /**< last day purged; NULL */
    int files;                      /**< files deleted */
    int have_last;                  /**< the last line purged is known */
    uint64_t last_seq;
    const char *last_hash;          /**< hex */
    const char *checkpoint;         /**< its file name; NULL */
    const char *fault;              /**< refused or failed: why */
    const char *user;
} verify_event_purge_t;

/**
 * ,"op":"purge","result":…,"audit_dir":…,"before":…,"purged_through":…,
 * "files":N,"last_seq":…,"last_hash":…,"checkpoint":…[,"fault":…],
 * "user":….
 */
void verify_event_purge(verify_jbuf_t *b, const verify_event_purge_t *e);

/**
 * ,"op":"spool_refused","fault":@p why,"kept_as":@p kept_as (or null):
 * an entry of the spool was not taken as an event (the parent's line).
 */
void verify_event_spool_refused(verify_jbuf_t *b, const char *why,
                                const char *kept_as);

/**
 * A fault message fit for the chain: every double-quoted text replaced
 * by "…" and every "(id …)" left out, so that what a batch held (an ID,
 * even masked, a word of a header line that may be a name) never
 * reaches the log; the rest (line numbers, the kind of fault, file
 * names of the administrator's choosing) stays.
 */
const char *verify_event_fault(const char *msg, apr_pool_t *p);

/**
 * Who runs this tool: the login user of the session (the kernel's
 * /proc/self/loginuid, which su and sudo keep), else the user of the
 * terminal (getlogin), else the name of the real uid.
 */
const char *verify_event_user(apr_pool_t *p);

/* -- the client register ------------------------------------------- */

/** The register, as the parent keeps it between starts: each client's
 * name and a digest of its VerifyClient lines, in name order. */
typedef struct verify_register_state_t {
    apr_array_header_t *names;      /**< const char *, sorted, unique */
    apr_array_header_t *entries;    /**< const char *: 64 hex each */
    char digest[65];                /**< hex SHA-256 of the register */
} verify_register_state_t;

/**
 * The state of @p clients (verify_client_t *; a name may come more than
 * once, from several virtual hosts: its entry then covers every line of
 * that name, in the order given). An entry is the hex SHA-256 of the
 * canonical form of its lines (verify_register_canonical); the
 * register's digest is the SHA-256 of the lines "NAME ENTRY\n" in name
 * order.
 */
verify_register_state_t *verify_register_state(
    const apr_array_header_t *clients, apr_pool_t *p);

/** The state file's text (*len its length):
 * "mod_verify register state 1\ndigest HEX\n" and "client NAME HEX\n"
 * per client in name order. */
char *verify_register_state_format(const verify_register_state_t *st,
                                   size_t *len, apr_pool_t *p);

/**
 * Parse a state file, strictly (the lines above, names as the register
 * allows them, in order, the digest matching the clients).
 * @return APR_SUCCESS, or APR_EINVAL with *err saying what is wrong
 */
apr_status_t verify_register_state_parse(const char *buf, size_t len,
                                         verify_register_state_t **st,
                                         char **err, apr_pool_t *p);

/**
 * The bodies (const char *, each starting with ',') of the lines that
 * record the change from @p old (NULL: not known, e.g. the first start)
 * to @p cur; none when the digests are equal. One line,
 * ,"op":"register","digest":…,"previous":…|null,"clients":N,
 * "added":[…],"removed":[…],"changed":[…], unless the names do not fit
 * one line: then several, each with "part":K,"parts":N.
 */
apr_array_header_t *verify_event_register(const verify_register_state_t *old,
                                          const verify_register_state_t *cur,
                                          apr_pool_t *p);

#endif /* VERIFY_EVENT_H */
