/*
 * verify_operators.h -- a client's operator register (R4.3): the accounts
 * inside one client system that may query, each with a role and a valid
 * period (verify_operators.c). The file format is docs/data-formats.md
 * section "Operator register".
 */
#ifndef VERIFY_OPERATORS_H
#define VERIFY_OPERATORS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_hash.h>
#include "verify_time.h"

/** The longest account and role, in characters (the request's
 * `operator` field takes at most 64). */
#define VERIFY_OPERATOR_MAX_CHARS 64

/** The largest register file read, in bytes. */
#define VERIFY_OPERATORS_FILE_MAX (4 * 1024 * 1024)

/** One registered operator: a line of the register file. */
typedef struct verify_operator_t {
    const char *account;        /**< as the client sends `operator` */
    const char *role;
    verify_date_t valid_from;   /**< first Taipei day it may query */
    verify_date_t valid_to;     /**< last Taipei day it may query */
    int line;                   /**< its line in the file */
} verify_operator_t;

/** One client's register, as read from its file. */
typedef struct verify_operators_t {
    const char *path;           /**< the file read */
    const char *where;          /**< the VerifyOperators line: "file:line";
                                     set by the caller */
    apr_array_header_t *list;   /**< verify_operator_t *, in file order */
    apr_hash_t *by_account;     /**< verify_operator_t * by account */
} verify_operators_t;

/** What the register says of one account on one day. */
typedef enum {
    VERIFY_OPERATOR_OK = 0,     /**< registered, the day in its period */
    VERIFY_OPERATOR_UNKNOWN,    /**< not in the register */
    VERIFY_OPERATOR_NOT_YET,    /**< registered from a later day */
    VERIFY_OPERATOR_ENDED       /**< registered until an earlier day */
} verify_operator_status_t;

/**
 * Parse a register held in memory (@p len bytes; @p name is the file
 * name used in messages). Strict: UTF-8 without a byte-order mark or
 * control characters (tab excepted), lines `ACCOUNT ROLE FROM..TO`
 * separated by spaces or tabs, `#` comment lines and blank lines, LF or
 * CRLF line ends, each account once.
 * @return NULL and *out, or the fault as "NAME:LINE: fault".
 */
const char *verify_operators_parse(verify_operators_t **out,
                                   const char *buf, size_t len,
                                   const char *name, apr_pool_t *p);

/**
 * Read and parse the register file @p path (a regular file of at most
 * VERIFY_OPERATORS_FILE_MAX bytes).
 * @return NULL and *out, or the fault, naming the file (and line).
 */
const char *verify_operators_read_file(verify_operators_t **out,
                                       const char *path, apr_pool_t *p);

/**
 * What @p reg says of account @p account (@p len bytes) on Taipei day
 * @p today; *op (when not NULL) is its entry, or NULL when unknown.
 * Accounts compare byte for byte: case and spaces count.
 */
verify_operator_status_t verify_operators_check(
    const verify_operators_t *reg, const char *account, size_t len,
    verify_date_t today, const verify_operator_t **op);

/**
 * The message of a refusal for @p st (not VERIFY_OPERATOR_OK) of entry
 * @p op (NULL when unknown): says which of the three it is, and the
 * registered period when there is one. Names no account.
 */
const char *verify_operators_why(verify_operator_status_t st,
                                 const verify_operator_t *op,
                                 apr_pool_t *p);

/**
 * The register's content as the audit log's `register` lines record it
 * (part of its client's canonical form, verify_register_canonical()):
 * "accounts=N sha256=HEX", HEX the SHA-256 of its entries as lines
 * "ACCOUNT ROLE FROM..TO\n", sorted by account (bytes). Comments,
 * spacing and the order of lines do not change it; any account, role or
 * period does.
 */
const char *verify_operators_digest(const verify_operators_t *reg,
                                    apr_pool_t *p);

/**
 * A `VerifyOperators CLIENT FILE` line: read FILE (@p path, as the
 * caller resolved it) and give its register to the client @p client of
 * @p clients (verify_client_t *), which must be listed there already
 * (above the line) and have no register yet.
 * @param where the line, "file:line", kept in the register
 * @return NULL, or the fault (without the line's own file and line).
 */
const char *verify_operators_add(apr_array_header_t *clients,
                                 const char *client, const char *path,
                                 const char *where, apr_pool_t *p);

#endif /* VERIFY_OPERATORS_H */
