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

/** A register permission: `age` lets the client ask `age_at_least:N`
 * (a yes/no from the birth date, never the date). A bit of
 * verify_client_t.checks above VERIFY_PERMIT_IDENTITY. */
#define VERIFY_PERMIT_AGE (1u << (VERIFY_CHECK_COUNT + 1))

/** The name of the age check, before its ":N". */
#define VERIFY_AGE_CHECK "age_at_least"

/** The largest N of `age_at_least:N`. */
#define VERIFY_AGE_MAX 120

/** The name of check @p k ("resident", …). */
const char *verify_check_name(verify_check_t k);

/** The source that answers check @p k. */
verify_source_t verify_check_source(verify_check_t k);

/** The check named by @p s (@p len bytes, not NUL-terminated); -1 if none. */
int verify_check_index(const char *s, size_t len);

/**
 * The N of an age check "age_at_least:N" (@p len bytes): N a whole
 * number 0 to VERIFY_AGE_MAX in decimal, without sign, spaces or a
 * leading zero (except "0" itself).
 * @return N; -1 when @p s does not start with "age_at_least" (another
 *         check, or none); -2 when it does but is not of that form
 */
int verify_check_age(const char *s, size_t len);

/** Certificates one client may hold at once: the current one and, while
 * they overlap, its successor (R3.5: credentials are rotated). */
#define VERIFY_CERTS_MAX 2

/** How many of a client's latest retired certificates the reuse rule
 * covers: no new key may be one of the last 3 (R3.5). */
#define VERIFY_RETIRED_CHECKED 3

struct verify_operators_t;

/** A certificate a client no longer holds (VerifyClientRetired). */
typedef struct verify_retired_t {
    unsigned char cert[32];         /**< SHA-256 of the DER certificate */
    unsigned char spki[32];         /**< SHA-256 of its DER public key */
    const char *where;              /**< "file:line"; set by the caller */
} verify_retired_t;

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
    apr_array_header_t *certs;      /**< unsigned char[32]: SHA-256 of DER,
                                         at most VERIFY_CERTS_MAX */
    apr_array_header_t *spkis;      /**< unsigned char[32]: SHA-256 of the
                                         DER SubjectPublicKeyInfo of each
                                         of certs, in its order; empty when
                                         spki-sha256= is not given */
    apr_array_header_t *retired;    /**< verify_retired_t: the history,
                                         oldest first */
    double rate;                    /**< requests per second; 0: no limit */
    double burst;                   /**< bucket size (one period's worth) */
    const char *where;              /**< "file:line"; set by the caller */
    const struct verify_operators_t *operators; /**< VerifyOperators: its
                                         operator register, or NULL (any
                                         operator) */
    int bucket;                     /**< the caller's rate bucket index */
    int slot;                       /**< the caller's index of the client */
} verify_client_t;

/**
 * Parse the arguments of one VerifyClient line (the words after the
 * directive: NAME ip=… checks=… approval=… valid=A..B [cert-sha256=…
 * [spki-sha256=…]] [rate=N/s|N/min]). The whole line is checked: the
 * request path only reads the result.
 * @return NULL and *out, or the fault (without file or line).
 */
const char *verify_register_parse(verify_client_t **out, int argc,
                                  char *const argv[], apr_pool_t *p);

/**
 * Parse the arguments of one VerifyClientRetired line (NAME
 * cert-sha256=HEX spki-sha256=HEX, both required, one certificate).
 * @param name out: the client it belongs to
 * @return NULL and *out, or the fault (without file or line).
 */
const char *verify_register_parse_retired(const char **name,
                                          verify_retired_t *out, int argc,
                                          char *const argv[],
                                          apr_pool_t *p);

/**
 * Add @p rt (its `where` set) to the history of @p cl, after the entries
 * it holds. Refused when it is one of @p cl's current certificates (by
 * certificate or, when given, by public key) or is retired already.
 * @return NULL, or the fault (naming the other line).
 */
const char *verify_register_retire(verify_client_t *cl,
                                   const verify_retired_t *rt,
                                   apr_pool_t *p);

/**
 * The retired entry among the last VERIFY_RETIRED_CHECKED of @p cl whose
 * public key is @p spki (a certificate's SPKI SHA-256), or NULL.
 */
const verify_retired_t *verify_register_retired_key(
    const verify_client_t *cl, const unsigned char spki[32]);

/**
 * Does a current certificate of @p cl reuse a retired one (R3.4, R3.5)?
 * Its public key (spki-sha256=, when given) or the certificate itself is
 * one of the last VERIFY_RETIRED_CHECKED retired: a certificate
 * re-issued for the same key is the same password. Run it once the
 * whole register is read: later retired lines push older ones out.
 * @return NULL, or the fault naming the client and the retired line.
 */
const char *verify_register_reused(const verify_client_t *cl,
                                   apr_pool_t *p);

/** The client named @p name in @p clients (verify_client_t *), or NULL. */
verify_client_t *verify_register_find(const apr_array_header_t *clients,
                                      const char *name);

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
 * given, " cert-sha256=H,H", " spki-sha256=H,H" (lower case) and
 * " rate=N/s" or " rate=N/min"; addresses and certificates in their
 * order, checks in the order of verify_check_t, then "age", then
 * "identity";
 * then for each retired certificate, oldest first, a line
 * "\nNAME retired cert-sha256=H spki-sha256=H"; then, with an operator
 * register, "\nNAME operators " and verify_operators_digest(). Two
 * registrations that grant and remember the same have the same form.
 */
const char *verify_register_canonical(const verify_client_t *cl,
                                      apr_pool_t *p);

/**
 * Read a register file: lines `VerifyClient …`, `VerifyClientRetired
 * …` and `VerifyOperators CLIENT FILE` (below its client; FILE an
 * absolute path, read by verify_operators_add()), tokenised as Apache tokenises configuration
 * lines (quotes, a backslash at the end of a line continues it), blank
 * lines and `#` comments skipped. Anything else, a client named twice,
 * or a reused key (verify_register_reused()) is refused.
 * @param clients out: verify_client_t *, in file order, `where` set
 * @return APR_SUCCESS, or an error with *err naming file, line and fault
 */
apr_status_t verify_register_read_file(apr_array_header_t **clients,
                                       const char *path, char **err,
                                       apr_pool_t *p);

#endif /* VERIFY_REGISTER_H */
