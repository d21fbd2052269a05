/*
 * import.h -- verify-import's parts: the options (main.c), the batch in
 * memory (input.c) and the import itself (import.c).
 */
#ifndef IMPORT_H
#define IMPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <apr_pools.h>
#include "verify.h"

#define PROG "verify-import"

/** What the command line asked for, checked and parsed. */
typedef struct import_opts_t {
    const char *store_dir;        /* --store */
    const char *key_file;         /* --key */
    verify_source_t src;          /* --source */
    verify_date_t approved_until; /* --approved-until; 0 = none */
    int big5;                     /* --encoding big5 */
    int dry_run;                  /* --dry-run: validate only */
    int keep_input;               /* --keep-input */
    const char *group;            /* --group, or NULL */
    const char *decrypt_cert;     /* --decrypt-cert, or NULL */
    const char *decrypt_key;      /* --decrypt-key (with the cert) */
    const char *signer_ca;        /* --signer-ca, or NULL */
    const char *file;             /* the batch file */
} import_opts_t;

/** The batch in the clear, in memory wiped by input_release(). */
typedef struct input_t {
    char *buf;                    /* malloc'd UTF-8 batch */
    size_t len;                   /* its length */
    size_t cap;                   /* bytes of buf to wipe */
    unsigned char sha256[32];     /* of the file as received */
    int have_sha256;              /* the file was read */
    char *signer;                 /* CMS signer's subject, or NULL */
    int fd;                       /* the file read, kept open to destroy
                                     it; -1 */
    dev_t dev;                    /* and which file that is */
    ino_t ino;
} input_t;

/** Import the batch @p o names; returns the exit code. */
int import_run(const import_opts_t *o, apr_pool_t *p);

/**
 * Read, decrypt, check the signature of and decode the batch into
 * @p in. Prints why it failed.
 * @return 0, or the exit code
 */
int input_read(input_t *in, const import_opts_t *o, apr_pool_t *p);

/** Wipe and free the clear batch (idempotent). */
void input_release(input_t *in);

/** Close the input file (idempotent). */
void input_close(input_t *in);

/** What input_destroy() did. */
#define INPUT_DESTROYED 0         /* overwritten, synced, unlinked */
#define INPUT_REPLACED  1         /* overwritten and synced; the path
                                     names another file now: kept */
#define INPUT_FAILED   (-1)

/**
 * Destroy the file read (R4.4): overwrite it with zeros and sync it
 * through the descriptor it was read from, then unlink @p path only if
 * it still names that file.
 */
int input_destroy(input_t *in, const char *path);

/** "FILE: rejected, store unchanged: MSG" on stderr, and MSG noted as
 * the fault of the attempt (import_fault); returns 1. */
int import_fail(const char *file, const char *msg);

/** Note @p msg (kept as given: a literal or pool memory) as why the
 * attempt failed; the event of a refused import records it, cleaned of
 * the batch's contents (verify_event_fault). The last one noted counts. */
void import_fault(const char *msg);

#endif /* IMPORT_H */
