/*
 * verify.h -- the mod_verify core library.
 *
 * Shared by the httpd module and the companion tools. No httpd headers:
 * APR, OpenSSL, LMDB and jansson only. Logging is the caller's business;
 * functions report faults through return codes and message strings.
 */
#ifndef VERIFY_H
#define VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_time.h>
#include <sys/types.h>

/* ------------------------------------------------------------------ */
/* National ID numbers (verify_id.c)                                   */
/* ------------------------------------------------------------------ */

/** Length of every normalised ID number. */
#define VERIFY_ID_LEN 10

/** Why an ID was refused; VERIFY_ID_OK when it is valid. */
typedef enum {
    VERIFY_ID_OK = 0,
    VERIFY_ID_EMPTY,        /**< nothing given */
    VERIFY_ID_LENGTH,       /**< not 10 characters */
    VERIFY_ID_LETTER,       /**< first character is not a letter A-Z */
    VERIFY_ID_KIND,         /**< second character fits no kind of number */
    VERIFY_ID_DIGITS,       /**< characters 3-10 are not all digits */
    VERIFY_ID_CHECKSUM      /**< check digit does not match */
} verify_id_status_t;

/** The kinds of number the Ministry of the Interior issues. */
typedef enum {
    VERIFY_ID_KIND_NONE = 0,
    VERIFY_ID_KIND_CITIZEN,      /**< letter, 1 or 2, eight digits */
    VERIFY_ID_KIND_RESIDENT,     /**< letter, 8 or 9, eight digits (2021-) */
    VERIFY_ID_KIND_RESIDENT_OLD  /**< two letters, eight digits */
} verify_id_kind_t;

/**
 * Validate an ID number and write its normalised (upper-case) form.
 * @param in   the number as given (either letter case, no spaces)
 * @param len  its length in bytes
 * @param out  receives the normalised number, NUL-terminated
 * @param kind receives the kind (may be NULL)
 */
verify_id_status_t verify_id_normalise(const char *in, size_t len,
                                       char out[VERIFY_ID_LEN + 1],
                                       verify_id_kind_t *kind);

/** A short English phrase for a status, e.g. "check digit mismatch". */
const char *verify_id_strerror(verify_id_status_t st);

/**
 * Mask an ID for logs: the first three and last two characters are kept,
 * the rest become '*' ("A12*****89"). Input of any other length than 10,
 * or with bytes outside [0-9A-Za-z], gives "*" (nothing of it is shown).
 */
void verify_id_mask(const char *in, size_t len, char out[VERIFY_ID_LEN + 1]);

/* ------------------------------------------------------------------ */
/* Keys and pseudonyms (verify_key.c)                                  */
/* ------------------------------------------------------------------ */

/** Bytes of a pseudonym (HMAC-SHA256). */
#define VERIFY_TAG_LEN 32
/** Bytes of the name tag kept in household records. */
#define VERIFY_NAME_TAG_LEN 16

/** The three uses of the secret; each gets its own derived key. */
typedef enum {
    VERIFY_KEY_STORE = 0,   /**< LMDB keys: pseudonym of the ID */
    VERIFY_KEY_SUBJECT,     /**< audit subject_tag */
    VERIFY_KEY_NAME,        /**< name tag inside household records */
    VERIFY_KEY_COUNT
} verify_key_use_t;

typedef struct verify_keys_t verify_keys_t;

/**
 * Read the secret from a file (at least 32 bytes; a file of hex digits
 * is decoded) and derive one HMAC key per use. The keys live in memory
 * allocated from @p p and are wiped when @p p is cleared.
 * @return APR_SUCCESS, or an error with *err set to a message.
 */
apr_status_t verify_keys_load(verify_keys_t **keys, const char *path,
                              char **err, apr_pool_t *p);

/** HMAC-SHA256 of @p data under the key for @p use. Thread-safe. */
void verify_keys_tag(const verify_keys_t *keys, verify_key_use_t use,
                     const void *data, size_t len,
                     unsigned char out[VERIFY_TAG_LEN]);

/** Bytes of a key check. */
#define VERIFY_KEY_CHECK_LEN 16

/**
 * A fingerprint of the store key that reveals nothing of it: stored
 * with every batch, so that a server configured with another key file
 * refuses to answer instead of finding nobody.
 */
void verify_keys_check(const verify_keys_t *keys,
                       unsigned char out[VERIFY_KEY_CHECK_LEN]);

/** Lower-case hex of @p len bytes into @p out (2*len+1 bytes). */
void verify_hex(const unsigned char *in, size_t len, char *out);

/**
 * Decode exactly 2*@p len hex digits of @p s into @p out.
 * @param any_case also accept A-F (configuration); audit lines are
 *                 lower case only, so their form stays canonical
 * @return 0, or -1 at the first character that is not a hex digit
 */
int verify_unhex(const char *s, size_t len, unsigned char *out,
                 int any_case);

/**
 * Normalise a personal name for tagging: trims ASCII and ideographic
 * spaces at both ends and folds ASCII letters to upper case.
 * @return the normalised length written to @p out (at most @p outlen-1),
 *         or 0 when nothing remains.
 */
size_t verify_name_normalise(const char *in, size_t len, char *out,
                             size_t outlen);

/* ------------------------------------------------------------------ */
/* Dates and times (verify_time.c)                                     */
/* ------------------------------------------------------------------ */

/** Dates are packed as YYYYMMDD integers; 0 means "none". */
typedef uint32_t verify_date_t;

/** Parse "YYYY-MM-DD" exactly; 0 when invalid (incl. 2026-02-30). */
verify_date_t verify_date_parse_iso(const char *s, size_t len);

/** Parse ISO, ROC "YYYMMDD" or ROC "YYY/MM/DD" (also 2-digit years). */
verify_date_t verify_date_parse_any(const char *s, size_t len);

/** Today's date in Taiwan (UTC+8) at time @p t. */
verify_date_t verify_date_taipei(apr_time_t t);

/** "YYYY-MM-DD" of a packed date into @p out (11 bytes). */
void verify_date_format(verify_date_t d, char out[11]);

/** Length of a Taipei ISO 8601 timestamp with microseconds. */
#define VERIFY_TS_LEN 32

/** "2026-11-20T02:00:00.123456+08:00" into @p out (33 bytes). */
void verify_time_format_us(apr_time_t t, char out[VERIFY_TS_LEN + 1]);

/** "2026-11-20T02:00:00+08:00" (seconds) into @p out (26 bytes). */
void verify_time_format_s(apr_time_t t, char out[26]);

/* ------------------------------------------------------------------ */
/* The store (verify_store.c)                                          */
/* ------------------------------------------------------------------ */

/** The data sources; each has its own LMDB database. */
typedef enum {
    VERIFY_SRC_HOUSEHOLD = 0,
    VERIFY_SRC_ELDERLY_ALONE,
    VERIFY_SRC_DISABILITY,
    VERIFY_SRC_COUNT
} verify_source_t;

/** "household", "elderly_alone", "disability". */
const char *verify_source_name(verify_source_t src);
/** The source of a name; -1 when unknown. */
int verify_source_from_name(const char *name);

/** Indigenous status as recorded. */
typedef enum {
    VERIFY_INDIGENOUS_NONE = 0,
    VERIFY_INDIGENOUS_MOUNTAIN = 1,
    VERIFY_INDIGENOUS_PLAIN = 2
} verify_indigenous_t;

/** Current record format version. */
#define VERIFY_RECORD_VERSION 1

/** One decoded record of any source (fields a source lacks are 0). */
typedef struct verify_record_t {
    unsigned char indigenous;     /**< verify_indigenous_t (household) */
    unsigned char level;          /**< disability level 1-4 */
    verify_date_t birth;          /**< birth date (household) */
    verify_date_t valid_until;    /**< elderly_alone, disability */
    unsigned char name_tag[VERIFY_NAME_TAG_LEN]; /**< household */
} verify_record_t;

/** Largest encoded record. */
#define VERIFY_RECORD_MAX 32

/** Encode @p rec for @p src; returns the encoded length. */
size_t verify_record_encode(verify_source_t src, const verify_record_t *rec,
                            unsigned char out[VERIFY_RECORD_MAX]);
/** Decode; returns 0 on success, -1 on a malformed or unknown version. */
int verify_record_decode(verify_source_t src, const void *data, size_t len,
                         verify_record_t *rec);

/** Metadata of the batch that last replaced a source. */
typedef struct verify_batch_t {
    char batch_id[33];            /**< 32 hex characters */
    uint64_t records;             /**< records in the batch */
    apr_time_t imported_at;       /**< when the import committed */
    verify_date_t approved_until; /**< R4.1.2 usage period end; 0 = none */
    unsigned char sha256[32];     /**< of the input file as received */
    char as_of[26];               /**< imported_at, Taipei, seconds */
    unsigned char key_check[16];  /**< verify_keys_check() of the key
                                       the batch was imported with */
    int have_key_check;           /**< 0 for batches of format v1 */
} verify_batch_t;

typedef struct verify_store_t verify_store_t;

/** Flags for verify_store_open. */
#define VERIFY_STORE_READONLY 1   /**< MDB_RDONLY|MDB_NOTLS (httpd) */

/**
 * Open the LMDB environment in @p dir. Read-only opens never create
 * anything; read-write opens create the directory files (mode 0660 for
 * the lock file, 0640 for the data file).
 * @param maxreaders reader slots wanted if the lock file is new (0: 126)
 */
apr_status_t verify_store_open(verify_store_t **st, const char *dir,
                               int flags, unsigned maxreaders,
                               char **err, apr_pool_t *p);

/** Close; also registered as a cleanup of the open's pool. */
void verify_store_close(verify_store_t *st);

/** Clear stale reader slots of dead processes; returns how many. */
int verify_store_reader_check(verify_store_t *st);

/** What one lookup found, copied out of the read transaction. */
typedef struct verify_lookup_t {
    int have_batch[VERIFY_SRC_COUNT];     /**< source ever imported */
    verify_batch_t batch[VERIFY_SRC_COUNT];
    int found[VERIFY_SRC_COUNT];          /**< record present */
    verify_record_t rec[VERIFY_SRC_COUNT];
} verify_lookup_t;

/**
 * Look up one pseudonymised ID in the sources of mask @p sources
 * (bit 1<<verify_source_t) inside one read transaction.
 * @return APR_SUCCESS, or an error with *err set (static string).
 */
apr_status_t verify_store_lookup(verify_store_t *st,
                                 const unsigned char key[VERIFY_TAG_LEN],
                                 unsigned sources, verify_lookup_t *out,
                                 const char **err);

/** Read the batch metadata of one source; APR_NOTFOUND if none. */
apr_status_t verify_store_batch(verify_store_t *st, verify_source_t src,
                                verify_batch_t *out, const char **err);

/** One record to import: pseudonym key, encoded value, source line. */
typedef struct verify_import_rec_t {
    unsigned char key[VERIFY_TAG_LEN];
    unsigned char val[VERIFY_RECORD_MAX];
    unsigned char vlen;
    unsigned long line;
} verify_import_rec_t;

/**
 * Sort @p recs by key and refuse duplicates: a duplicate ID fails the
 * whole batch and *err names both lines. Needs no store.
 */
apr_status_t verify_import_check(verify_import_rec_t *recs, size_t n,
                                 char **err, apr_pool_t *p);

/**
 * Replace every record of @p src with @p recs (checked and sorted here)
 * and the batch metadata, in one write transaction: all or nothing.
 * @param dry_run check only; write nothing
 */
apr_status_t verify_store_replace(verify_store_t *st, verify_source_t src,
                                  verify_import_rec_t *recs, size_t n,
                                  verify_batch_t *batch, int dry_run,
                                  char **err, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* Audit lines (verify_audit.c)                                        */
/* ------------------------------------------------------------------ */

/** Every audit line is shorter than this, newline included. */
#define VERIFY_AUDIT_LINE_MAX 4096
/** Hex SHA-256 length. */
#define VERIFY_HASH_HEX 64

/** A growable-free buffer for building one JSON line. */
typedef struct verify_jbuf_t {
    char *buf;
    size_t len;
    size_t cap;
    int overflow;      /**< set when something did not fit */
} verify_jbuf_t;

void verify_jbuf_init(verify_jbuf_t *b, char *mem, size_t cap);
/** Raw bytes, no escaping (caller guarantees JSON syntax). */
void verify_jbuf_raw(verify_jbuf_t *b, const char *s, size_t len);
/**
 * A JSON string: quotes, escaping of '"', '\\' and every control
 * character, invalid UTF-8 replaced by U+FFFD; cut at a character
 * boundary with "…" once the escaped form would pass @p max_out bytes.
 */
void verify_jbuf_str(verify_jbuf_t *b, const char *s, size_t len,
                     size_t max_out);
/** Raw string literal, its length counted by the compiler. */
#define VERIFY_JRAW(b, lit) verify_jbuf_raw((b), (lit), sizeof(lit) - 1)
/** `"key":` */
void verify_jbuf_key(verify_jbuf_t *b, const char *key);
/** An unsigned decimal. */
void verify_jbuf_u64(verify_jbuf_t *b, uint64_t v);

/** True if @p s is valid UTF-8 without control characters (C0, DEL). */
int verify_utf8_clean(const char *s, size_t len);
/**
 * Decode the UTF-8 sequence at @p s: its length (1-4) with the code point
 * in *cp, or 0 if invalid (overlong forms, surrogates and code points
 * above U+10FFFF are invalid). @p len must be at least 1.
 */
size_t verify_utf8_decode(const char *s, size_t len, uint32_t *cp);
/** Offset of the first invalid UTF-8 byte in @p s; @p len if valid. */
size_t verify_utf8_scan(const char *s, size_t len);
/** Number of code points in valid UTF-8 @p s. */
size_t verify_utf8_chars(const char *s, size_t len);

/** The chain state: last seq and hash. */
typedef struct verify_chain_t {
    uint64_t seq;
    unsigned char hash[32];
} verify_chain_t;

/**
 * Finish one audit line. @p body holds the members after ts, starting
 * with ',' (e.g. ",\"request_id\":\"…\",…"). Writes
 * {"seq":N,"ts":"…"BODY,"prev":"…","hash":"…"}\n into @p out and
 * advances @p chain. `hash` is SHA-256 of the line's bytes from '{' up
 * to and including the closing quote of the prev value.
 * @return the line length, or 0 if it would not fit in @p cap.
 */
size_t verify_audit_seal(verify_chain_t *chain, apr_time_t now,
                         const char *body, size_t body_len,
                         char *out, size_t cap);

/** Outcome of checking one line against the chain. */
typedef enum {
    VERIFY_LINE_OK = 0,
    VERIFY_LINE_SYNTAX,     /**< not a sealed audit line */
    VERIFY_LINE_HASH,       /**< hash does not cover the content */
    VERIFY_LINE_PREV,       /**< prev is not the previous line's hash */
    VERIFY_LINE_SEQ         /**< seq is not previous seq + 1 */
} verify_line_status_t;

/**
 * Check one line (without its newline). With @p chain->seq == 0 and
 * @p first set, any seq/prev is accepted (a chain picked up mid-way).
 * On success @p chain advances to this line.
 */
verify_line_status_t verify_audit_check_line(verify_chain_t *chain,
                                             const char *line, size_t len,
                                             int first);

/** Read seq and hash of a sealed line; 0 on success. */
int verify_audit_line_head(const char *line, size_t len,
                           verify_chain_t *out);

/** "audit-YYYY-MM-DD.jsonl" for a Taipei date into @p out (32 bytes). */
void verify_audit_filename(verify_date_t day, char out[32]);

/**
 * Find the chain head in @p dir: the last complete line of the newest
 * audit file that has one. *file and *size name the newest file; a
 * trailing incomplete line in it is reported through *partial_at (its
 * offset; -1 when none). chain->seq is 0 when no line exists yet.
 */
apr_status_t verify_audit_find_head(const char *dir, verify_chain_t *chain,
                                    const char **file, apr_off_t *size,
                                    apr_off_t *partial_at, char **err,
                                    apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* Batch intake: CSV to records (verify_csv.c)                         */
/* ------------------------------------------------------------------ */

/** The 1-based line of byte offset @p off in @p buf (for messages). */
unsigned long verify_line_at(const char *buf, size_t off);

/** Largest number of columns a batch file may have. */
#define VERIFY_CSV_MAX_FIELDS 16

/**
 * Called for each record of a CSV file (RFC 4180 quoting; LF or CRLF).
 * @return 0 to go on, non-zero to stop (the parse then returns it).
 */
typedef int (*verify_csv_row_fn)(void *ctx, unsigned long line,
                                 const char *const *fields,
                                 const size_t *lens, int n);

/**
 * Parse @p buf (UTF-8; a leading BOM is skipped). Blank lines are
 * skipped. Syntax faults (a stray quote, an unterminated quoted field,
 * too many fields, a NUL byte) set *err to "line N: …".
 * @return 0, the callback's non-zero value, or -1 on a syntax fault.
 */
int verify_csv_parse(const char *buf, size_t len, verify_csv_row_fn fn,
                     void *ctx, char **err, apr_pool_t *p);

/**
 * Turn a whole batch file for @p src into import records: the header is
 * required (English or Chinese column names), every record is
 * validated, IDs are pseudonymised with @p keys. The first fault stops
 * it: *err names the line, the fault and the masked ID.
 * @param today records are checked against this date (birth dates
 *              in the future are refused)
 */
apr_status_t verify_intake(verify_source_t src, const char *buf, size_t len,
                           const verify_keys_t *keys, verify_date_t today,
                           verify_import_rec_t **recs, size_t *n,
                           char **err, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* A robust lock in shared memory (verify_lock.c)                      */
/* ------------------------------------------------------------------ */

/** A lock word; 0 is unlocked. Lives in memory shared by processes. */
typedef uint32_t verify_lock_t;

/**
 * Take the lock for process @p me (its pid): spin briefly, then sleep.
 * @return 0, or 1 when it was taken over from an owner that died
 *         holding it (the caller must repair the shared state).
 */
int verify_lock_acquire(verify_lock_t *w, pid_t me);

/** Release; wakes one sleeper if any. */
void verify_lock_release(verify_lock_t *w);

/** Take the lock only if free (or its owner died); 1 if taken. */
int verify_lock_try(verify_lock_t *w, pid_t me);

/**
 * An event counter in shared memory: verify_event_post() increments it
 * and wakes every waiter; verify_event_wait() sleeps while it still
 * reads @p seen, at most @p nsec nanoseconds.
 */
void verify_event_wait(uint32_t *counter, uint32_t seen, long nsec);
void verify_event_post(uint32_t *counter);

/* ------------------------------------------------------------------ */
/* Encrypted and signed batches (verify_cms.c)                         */
/* ------------------------------------------------------------------ */

/**
 * Open a CMS EnvelopedData batch (DER, PEM or S/MIME) with the import
 * certificate and its private key (PEM files), in memory.
 * @return APR_SUCCESS with the content in *out, or *err set.
 */
apr_status_t verify_cms_decrypt(const char *in, size_t len,
                                const char *cert_file, const char *key_file,
                                char **out, size_t *outlen, char **err,
                                apr_pool_t *p);

/**
 * Check a CMS SignedData batch (content attached) against the CAs in
 * @p ca_file and return its content and the signer's subject.
 */
apr_status_t verify_cms_verify(const char *in, size_t len,
                               const char *ca_file, char **out,
                               size_t *outlen, char **signer, char **err,
                               apr_pool_t *p);

#endif /* VERIFY_H */
