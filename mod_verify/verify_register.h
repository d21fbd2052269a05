/*
 * verify_register.h -- the client register: the checks and the grammar
 * of a VerifyClient line (verify_register.c).
 */
#ifndef VERIFY_REGISTER_H
#define VERIFY_REGISTER_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "verify_record.h"
#include "verify_time.h"

/** The checks a client may ask; each answered from one source. */
typedef enum {
    VERIFY_CHECK_RESIDENT = 0,
    VERIFY_CHECK_INDIGENOUS,
    VERIFY_CHECK_ELDERLY_ALONE,
    VERIFY_CHECK_DISABILITY,
    VERIFY_CHECK_COUNT
} verify_check_t;

/** A register permission beyond the checks: `identity` lets the client
 * send `name`/`birth_date` and be answered `identity_match`. A bit of
 * verify_client_t.checks above every verify_check_t. */
#define VERIFY_PERMIT_IDENTITY (1u << VERIFY_CHECK_COUNT)

/** The name of check @p k ("resident", …). */
const char *verify_check_name(verify_check_t k);

/** The source that answers check @p k. */
verify_source_t verify_check_source(verify_check_t k);

/** The check named by @p s (@p len bytes, not NUL-terminated); -1 if none. */
int verify_check_index(const char *s, size_t len);

/** One approved client system of the register (R3.3, R3.7, R4.1.2). */
typedef struct verify_client_t {
    const char *name;               /**< register name, logged as client */
    apr_array_header_t *ips;        /**< const char *: as written */
    apr_array_header_t *subnets;    /**< apr_ipsubnet_t *: the same, parsed */
    apr_array_header_t *addrs;      /**< unsigned char[16]: the same, IPv6
                                         (IPv4 mapped) */
    unsigned checks;                /**< bit per verify_check_t it may ask,
                                         and VERIFY_PERMIT_IDENTITY */
    const char *approval;           /**< approval record id (R3.3) */
    verify_date_t valid_from;       /**< approved usage period */
    verify_date_t valid_to;
    apr_array_header_t *certs;      /**< unsigned char[32]: SHA-256 of DER */
    double rate;                    /**< requests per second; 0: no limit */
    double burst;                   /**< bucket size (one period's worth) */
    const char *where;              /**< "file:line"; set by the caller */
    int bucket;                     /**< the caller's rate bucket index */
} verify_client_t;

/**
 * Parse the arguments of one VerifyClient line (the words after the
 * directive: NAME ip=… checks=… approval=… valid=A..B [cert-sha256=…]
 * [rate=N/s|N/min]). The whole line is checked: the request path only
 * reads the result.
 * @return NULL and *out, or the fault (without file or line).
 */
const char *verify_register_parse(verify_client_t **out, int argc,
                                  char *const argv[], apr_pool_t *p);

/**
 * Can @p cl join a register that holds @p other? Not under the same
 * name; with @p addresses, not on an address of @p other unless both
 * are bound to certificates (then the certificate tells them apart).
 * @return NULL, or the fault (naming @p other's `where`).
 */
const char *verify_register_conflict(const verify_client_t *cl,
                                     const verify_client_t *other,
                                     int addresses, apr_pool_t *p);

/**
 * An address of @p cl off the loopback network when @p cl is bound to
 * no certificate (anyone on that address is that client); else NULL.
 */
const char *verify_register_unbound_remote(const verify_client_t *cl);

/**
 * The canonical form of @p cl, what it grants and nothing of where it
 * was written: "NAME ip=A,B checks=C,D approval=X valid=F..T" and, when
 * given, " cert-sha256=H,H" (lower case) and " rate=N/s" or " rate=N/min";
 * addresses and certificates in their order, checks in the order of
 * verify_check_t with "identity" last. Two lines that grant the same
 * have the same form.
 */
const char *verify_register_canonical(const verify_client_t *cl,
                                      apr_pool_t *p);

/**
 * Read a register file: lines `VerifyClient …`, tokenised as Apache
 * tokenises configuration lines (quotes, a backslash at the end of a
 * line continues it), blank lines and `#` comments skipped. Anything
 * else, or a client named twice, is refused.
 * @param clients out: verify_client_t *, in file order, `where` set
 * @return APR_SUCCESS, or an error with *err naming file, line and fault
 */
apr_status_t verify_register_read_file(apr_array_header_t **clients,
                                       const char *path, char **err,
                                       apr_pool_t *p);

#endif /* VERIFY_REGISTER_H */
