/*
 * roster.h -- what roster's files share: a row of the log per client and
 * operator (cmd_roster.c), the register it is joined with (--config,
 * roster_register.c) and the clients' certificates (--certs,
 * roster_certs.c).
 */
#ifndef VERIFY_AUDIT_ROSTER_H
#define VERIFY_AUDIT_ROSTER_H

#include "tool.h"

/* One client and operator of the log. */
typedef struct rrow_t {
    bstr_t client, oper;
    char first[33], last[33];
    uint64_t n, answered;
} rrow_t;

/* The register given with --config, and what --certs says of it. */
typedef struct roster_reg_t {
    const char *config;         /* --config FILE */
    apr_array_header_t *clients;    /* verify_client_t * */
    const char *certs_dir;      /* --certs DIR, or NULL */
    apr_hash_t *certs;          /* verify_cert_t * by SHA-256 (32 bytes) */
    verify_date_t today;        /* Taipei */
} roster_reg_t;

/* Read --config (and --certs) before the log: 0, or 1 with the fault
 * said. */
int roster_register_load(roster_reg_t *g, const audit_args_t *a,
                         apr_pool_t *p);

/* The register joined with the log's rows (rrow_t *, sorted by client
 * and operator): clients, operators, who never queried, who queried
 * unregistered. */
void roster_register_print(const roster_reg_t *g,
                           const apr_array_header_t *rows, apr_pool_t *p);

/* Every certificate of --certs DIR (files *.pem and *.crt, one PEM
 * certificate each) into g->certs: 0, or 1 with the fault said. */
int roster_certs_load(roster_reg_t *g, apr_pool_t *p);

/* "2027-03-01" (and " (expired)", " (N days)" when within 30) of each
 * certificate of @p cl, joined by ", "; what is not known says why. */
const char *roster_cert_expiry(const roster_reg_t *g,
                               const verify_client_t *cl, apr_pool_t *p);

#endif /* VERIFY_AUDIT_ROSTER_H */
