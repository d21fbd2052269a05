/*
 * verify_chain_scan.h -- reading audit files in chain order and checking
 * the chain line by line (verify_chain_scan.c).
 */
#ifndef VERIFY_CHAIN_SCAN_H
#define VERIFY_CHAIN_SCAN_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "verify_audit_line.h"
#include "verify_flat.h"

/** json_loadb flags for an audit line: \u0000 is a valid escape. */
#define VERIFY_SCAN_JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)
/** Faults kept in verify_scan_t.fault_list (all are counted). */
#define VERIFY_SCAN_FAULTS_LISTED 20

typedef struct verify_scan_t verify_scan_t;

/**
 * Called for every line read (without its newline): @p j is the parsed
 * line (NULL when it is not JSON), @p bad is set on a line the chain
 * check refused (only with keep_going), @p file (an index of paths) and
 * @p off say where the line starts. Of a line too long only its first
 * VERIFY_AUDIT_LINE_MAX - 1 bytes are given (and @p j is NULL).
 * @return 0 to go on, -1 to stop (the callback says why)
 */
typedef int (*verify_scan_line_fn)(verify_scan_t *s, const char *line,
                                   size_t len, json_t *j, int bad, int file,
                                   apr_off_t off);

/** Called with each note and fault as it is found (no newline). */
typedef void (*verify_scan_note_fn)(verify_scan_t *s, const char *msg);

/** What the scan saw of one file. */
typedef struct verify_scan_file_t {
    const char *path;
    uint64_t lines;             /**< lines read */
    uint64_t first_seq;         /**< seq of its first line */
    uint64_t last_seq;          /**< seq of its last line */
    verify_chain_t end;         /**< seq and hash of its last line */
} verify_scan_file_t;

struct verify_scan_t {
    /* set by the caller (zero what is not used) */
    const apr_array_header_t *paths;  /**< const char *, in chain order */
    const char *checkpoint;     /**< a purge checkpoint file, or NULL */
    int keep_going;             /**< after a fault, check on from there */
    int lazy;                   /**< check each line as jansson would read
                                     it, but hand line_fn a NULL json_t:
                                     s->flat indexes the line (without
                                     keep_going) */
    verify_scan_line_fn line_fn;    /**< every line read, or NULL */
    verify_scan_note_fn note_fn;    /**< notes and faults, or NULL */
    void *ctx;                  /**< for the callbacks */
    apr_pool_t *p;
    /* what was found */
    verify_scan_file_t *files;  /**< one per path */
    verify_chain_t chain;       /**< seq and hash of the last line read */
    uint64_t lines;             /**< lines read */
    uint64_t first_seq;         /**< seq of the first line */
    uint64_t recovers;          /**< audit_recover lines */
    uint64_t unconfirmed;       /**< unconfirmed lines */
    uint64_t warnings;          /**< sound lines warned about: a ts
                                 * before the previous line's */
    uint64_t faults;            /**< lines that fail the check */
    const char *fault;          /**< the first fault, or NULL */
    apr_array_header_t *fault_list; /**< the first FAULTS_LISTED faults */
    int nread;                  /**< files opened */
    int from_checkpoint;        /**< the first line links to checkpoint */
    const char *error;          /**< why the scan could not finish */
    const verify_flat_t *flat;  /**< lazy: the members of the line given
                                     to line_fn (see verify_flat.h) */
};

/**
 * Read the files in order and check the chain: every line's hash, its
 * prev link and seq, a zero prev on seq 1, a JSON object under the size
 * bound, a complete last line; a first line whose seq follows the
 * checkpoint's must link to it. A line that cannot be read as an audit
 * line (too long, cut short, a NUL byte, invalid UTF-8, a raw control
 * character, not a JSON object) is a fault naming file, line and
 * reason, never the end of the file; memory stays bounded however long
 * a line is. Only regular files are read. Without keep_going the first
 * fault ends the scan. A ts before the previous line's is a warning
 * (s->warnings, and a message through note_fn): the chain still holds,
 * but its times went back, which the writer never does. Messages hold
 * file names and log text as they are: escape them before showing them.
 * @return 0 intact, 1 broken (s->fault says where), -1 a file could
 *         not be read (s->error says why) or the callback stopped
 */
int verify_chain_scan(verify_scan_t *s);

#endif /* VERIFY_CHAIN_SCAN_H */
