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
    int allow_plain;              /* --allow-plain: the strict rules
                                     (encrypted, signed, approved-until)
                                     lifted, and recorded */
    int force;                    /* --force: the replay checks
                                     overridden, and recorded */
    int require_signed;           /* --require-signed on (1) / off (0);
                                     -1: not given (an import) */
    const char *watch;            /* --watch INBOX, or NULL */
    const char *quarantine;       /* --quarantine DIR (with --watch) */
    const char *file;             /* the batch file; NULL with
                                     --require-signed */
    unsigned threads;             /* --threads or VERIFY_IMPORT_THREADS;
                                     0: the CPUs online */
} import_opts_t;

/** The batch in the clear, in memory wiped by input_release(). */
typedef struct input_t {
    char *buf;                    /* the UTF-8 batch: malloc'd, or the
                                     file mapped read-only (mapped) */
    int mapped;                   /* buf is the file's mapping */
    size_t dropped;               /* its pages before this let go */
    size_t len;                   /* its length */
    size_t cap;                   /* bytes of buf to wipe */
    unsigned char sha256[32];     /* of the file as received */
    int have_sha256;              /* the file was read */
    char *signer;                 /* CMS signer's subject, or NULL */
    apr_time_t signed_at;         /* its CMS signing time, or 0 */
    int encrypted;                /* 1 CMS-encrypted, 0 not, -1 not
                                     known yet */
    int fd;                       /* the file read, kept open to destroy
                                     it; -1 */
    dev_t dev;                    /* and which file that is */
    ino_t ino;
    off_t size;                   /* its size when read */
    const char *dir;              /* the absolute directory it is in and */
    const char *name;             /* its name there, for the record of its
                                     pending destruction; NULL when it is
                                     not to be destroyed */
} input_t;

/** What the command line asks for: import the batch @p o names, watch
 * an inbox, or set the store's intake policy; returns the exit code. */
int import_run(const import_opts_t *o, apr_pool_t *p);

/** @p arg as a thread count (1 to VERIFY_INTAKE_MAX_THREADS) into
 * *out; 0, or 2 with the reason said (naming @p from). */
int import_threads_parse(const char *arg, const char *from, unsigned *out);

/** The threads a batch is taken in with (threads.c): o->threads, or
 * the CPUs online, fewer if the process may not open the spill files
 * of that many (its soft limit of descriptors is raised first). */
unsigned import_threads(const import_opts_t *o);

/** Import the one batch o->file; *accepted: the store took it (the
 * exit code may still be 1: not destroyed). Returns the exit code. */
int import_one(const import_opts_t *o, int *accepted, apr_pool_t *p);

/** The fault of the last refused attempt, as noted (or NULL). */
const char *import_last_fault(void);

/**
 * --watch INBOX (watch.c): import every file renamed into INBOX (and
 * those there at start), one at a time, as import_one() does; move a
 * refused one to --quarantine with a .reason file beside it; carry on
 * until SIGTERM or SIGINT. Returns the exit code.
 */
int watch_run(const import_opts_t *o, apr_pool_t *p);

/**
 * Read the batch file into @p in (and its SHA-256), as received.
 * Prints why it failed.
 * @return 0, or the exit code
 */
int input_read(input_t *in, const import_opts_t *o, apr_pool_t *p);

/**
 * Open the CMS layers of the batch read (decrypt, check the signature)
 * as the options and the strict intake rules say, then decode it to
 * UTF-8. A layer the options do not expect, or a missing one without
 * --allow-plain, is refused with a message that names the fix.
 * @return 0, or the exit code
 */
int input_open(input_t *in, const import_opts_t *o, apr_pool_t *p);

/** The batch's bytes before @p off will not be read again: a mapped
 *  file lets their pages go (they no longer count in the importer's
 *  memory). */
void input_drop(input_t *in, size_t off);

/** Bytes [@p from, @p to) of the batch will not be read again: their
 *  whole pages are let go (from any thread). */
void input_drop_span(input_t *in, size_t from, size_t to);

/** input_guarded(): the mapped file shrank under a read. */
#define INPUT_SHRANK (-2)

/** Run @p fn(@p ctx), its return value; INPUT_SHRANK instead if it read
 *  the mapped batch past the end of a file truncated meanwhile. Each
 *  thread may run its own (a thread of the intake under the importer's:
 *  the same handler, a jump of each thread's own). */
int input_guarded(input_t *in, int (*fn)(void *ctx), void *ctx);

/** The refusal of a batch whose file shrank while it was read; 1. */
int input_shrank(const char *file);

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

/** Overwrite the regular file @p fd with zeros, whole, and sync it;
 * 0 or -1. */
int input_wipe(int fd);

/** Unlink @p name in directory @p dfd only if it is still the file
 * @p dev / @p ino: INPUT_DESTROYED, INPUT_REPLACED (another file, or
 * none) or INPUT_FAILED. */
int input_unlink_at(int dfd, const char *name, dev_t dev, ino_t ino);

/* -- pending destructions (pending.c) ---------------------------------
 * Between the commit of a batch and the destruction of its input, a
 * record in <store>/pending/ says that the destruction is due, so that
 * an importer killed in between leaves it to the next run. */

/** The directory of the records, inside the store. */
#define PENDING_DIR "pending"

/**
 * Record, before the batch @p batch_id is published, that the input
 * @p in is to be destroyed once it is. 0, or 1 with the reason said
 * (then nothing is published: an import whose destruction could not be
 * finished by a later run is not made).
 */
int pending_write(verify_snap_lock_t *l, const input_t *in,
                  verify_source_t src, const char *batch_id,
                  const char *user, apr_pool_t *p);

/** The destruction was finished (or left for good): the record goes. */
void pending_remove(verify_snap_lock_t *l, const char *batch_id);

/** The destruction failed after the commit: the record stays, marked
 * committed, for the next run to try again. */
void pending_keep(verify_snap_lock_t *l, const char *batch_id,
                  apr_pool_t *p);

/**
 * Finish what killed runs left: for each record, if its batch was
 * committed, destroy its input (if the path still names the file that
 * was read, or what is left of it after a partial overwrite); if not,
 * leave the input alone. Each is recorded in the spool @p spool as an
 * import_recovery event (and on stdout) and said on stderr.
 * @return 0, or 1 when a destruction could not be finished
 */
int pending_recover(verify_snap_lock_t *l, int spool, const char *user,
                    apr_pool_t *p);

/** Put the event body in @p b (from its ',') into the spool and print
 * the spooled line on stdout; 0, or 1 with the reason said. */
int import_record(int spool, const char *body, size_t len, apr_pool_t *p);

/** "FILE: rejected, store unchanged: MSG" on stderr, and MSG noted as
 * the fault of the attempt (import_fault); returns 1. */
int import_fail(const char *file, const char *msg);

/** Note @p msg (kept as given: a literal or pool memory) as why the
 * attempt failed; the event of a refused import records it, cleaned of
 * the batch's contents (verify_event_fault). The last one noted counts. */
void import_fault(const char *msg);

#endif /* IMPORT_H */
