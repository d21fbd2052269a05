/*
 * mod_verify_config.h -- the directives and their settings
 * (mod_verify_config.c). Read settings through the accessors: they
 * apply the defaults.
 */
#ifndef MOD_VERIFY_CONFIG_H
#define MOD_VERIFY_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "verify.h"

/** Settings of the whole module (GLOBAL_ONLY directives). */
typedef struct verify_mod_conf_t {
    const char *store_dir;          /* VerifyStore; NULL unset */
    const char *key_file;           /* VerifyKeyFile; NULL unset */
    const char *audit_dir;          /* VerifyAuditLog; NULL unset */
    int audit_sync;                 /* VerifyAuditSync; -1 unset */
    int audit_lock;                 /* VerifyAuditLock; -1 unset */
    int bucket_count;               /* rate buckets handed out */
    int client_count;               /* VerifyClient lines (their slots) */
    int mismatch_limit;             /* VerifyIdentityMismatchLimit; -1 unset */
} verify_mod_conf_t;

/** Settings of one server (merged into virtual hosts). */
typedef struct verify_srv_conf_t {
    verify_mod_conf_t *mc;          /* the module's, shared */
    apr_off_t max_body;             /* VerifyMaxBody; -1 unset */
    int batch_max;                  /* VerifyBatchMax; -1 unset */
    apr_array_header_t *clients;    /* verify_client_t *; NULL unset */
    apr_interval_time_t max_cred_age;   /* VerifyMaxCredentialAge; -1 unset */
    apr_interval_time_t cred_warn;  /* VerifyCredentialWarn; 0 off,
                                       -1 unset */
} verify_srv_conf_t;

extern const command_rec verify_cmds[];

void *verify_config_create_srv(apr_pool_t *p, server_rec *s);
void *verify_config_merge_srv(apr_pool_t *p, void *basev, void *addv);

/**
 * check_config (so configtest and the signalling `-k graceful` too):
 * refuse what start would refuse. The three paths all set or none (and
 * then no SetHandler verify), none inside another, the key file
 * readable, long enough and protected, an existing audit directory
 * owned as it must be. Logs what is wrong.
 */
apr_status_t verify_config_check(server_rec *s, apr_pool_t *ptemp);

/** VerifyStore, VerifyKeyFile, VerifyAuditLog; NULL when not given. */
const char *verify_config_store_dir(void);
const char *verify_config_key_file(void);
const char *verify_config_audit_dir(void);

/** VerifyAuditSync: 1 on; default off. */
int verify_config_audit_sync(void);

/** VerifyAuditLock: a VERIFY_WRITER_LOCK_*; default the futex. */
int verify_config_audit_lock(void);

/** How many VerifyClient lines have rate=: one bucket each. */
int verify_config_bucket_count(void);

/** How many VerifyClient lines there are: verify_client_t.slot is below. */
int verify_config_client_count(void);

/** VerifyMaxCredentialAge of @p s: how long after its notBefore a client
 * certificate is accepted; default 90 days (R3.5). */
apr_interval_time_t verify_config_max_credential_age(server_rec *s);

/** VerifyCredentialWarn of @p s: how long before a limit answers carry
 * Verify-Warning; default 14 days, 0 when off. */
apr_interval_time_t verify_config_credential_warn(server_rec *s);

/** VerifyIdentityMismatchLimit: identity mismatches one client may get
 * about one person in a Taipei day; default 5. */
int verify_config_mismatch_limit(void);

/** VerifyMaxBody of @p s; default 8192 bytes. */
apr_off_t verify_config_max_body(server_rec *s);

/** VerifyBatchMax: its default and the most it may be. */
#define VERIFY_BATCH_MAX_DEFAULT 1000
#define VERIFY_BATCH_MAX_LIMIT 10000

/** VerifyBatchMax of @p s: subjects one request may ask about; default
 * 1000. */
int verify_config_batch_max(server_rec *s);

/** The register of @p s: verify_client_t *; NULL when empty. */
const apr_array_header_t *verify_config_clients(server_rec *s);

#endif /* MOD_VERIFY_CONFIG_H */
