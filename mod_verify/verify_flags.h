/*
 * verify_flags.h -- anomaly flags on a month's queries, for the
 * auditors (R5.2): which query lines an auditor must look at whatever
 * the random draw picks, and why (verify_flags.c).
 *
 * The caller reads the log in chain order and hands over each query
 * line: those before the month (only to learn who queried before), then
 * those of the month; at the month's end the flags that need the whole
 * month are added. Every flag names its rule and the numbers that broke
 * it. Queries refused before a client was known (client null) are not
 * looked at: they are counted apart by the caller.
 */
#ifndef VERIFY_FLAGS_H
#define VERIFY_FLAGS_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>

/** The anomalies flagged. */
typedef enum {
    VERIFY_FLAG_OFF_HOURS,      /**< outside office days and hours */
    VERIFY_FLAG_BURST,          /**< many queries by one operator at once */
    VERIFY_FLAG_MANY_SUBJECTS,  /**< one operator, many people in a day */
    VERIFY_FLAG_MANY_CLIENTS,   /**< one person, many client systems */
    VERIFY_FLAG_NOT_FOUND_RUN,  /**< nobody found, again and again: someone
                                     trying ID numbers */
    VERIFY_FLAG_MISMATCH,       /**< identity_match false */
    VERIFY_FLAG_REASON_REUSE,   /**< one reason for (almost) everything */
    VERIFY_FLAG_NEW_OPERATOR,   /**< an operator never seen before */
    VERIFY_FLAG_KINDS
} verify_flag_kind_t;

/** The thresholds (a thresholds file sets them by name). */
typedef struct verify_flags_conf_t {
    int off_hours;              /**< flag off-hours queries */
    unsigned office_days;       /**< bit d set: weekday d (0 Sunday) is
                                     an office day */
    unsigned office_start;      /**< office hours: minutes after midnight */
    unsigned office_end;        /**< ... up to (not including) this */
    unsigned burst_queries;     /**< more than this many queries ... */
    unsigned burst_seconds;     /**< ... within this many seconds */
    unsigned day_subjects;      /**< more distinct people a day than this */
    unsigned subject_clients;   /**< more distinct clients a month */
    unsigned not_found_run;     /**< more not_found in a row than this */
    int identity_mismatch;      /**< flag identity_match false */
    unsigned reason_share;      /**< one reason in this percent ... */
    unsigned reason_min;        /**< ... of at least this many queries */
    int new_operator;           /**< flag an operator not seen before */
} verify_flags_conf_t;

/** One query line as the flags see it (text as in the line, unescaped;
 * NULL when absent or null). */
typedef struct verify_flags_query_t {
    uint64_t seq;
    const char *ts;             /**< "YYYY-MM-DDTHH:MM:SS.ffffff+08:00" */
    size_t ts_len;
    const char *client;
    size_t client_len;
    const char *operator_;
    size_t operator_len;
    const char *subject_tag;
    size_t tag_len;
    const char *reason;
    size_t reason_len;
    int status;                 /**< the HTTP status (0 when absent) */
    int not_found;              /**< it found nobody: an answer whose
                                     results are all false, or the
                                     error not_found */
    int identity_match;         /**< 1, 0, or -1 when absent */
} verify_flags_query_t;

/** One line flagged for one anomaly. */
typedef struct verify_flag_t {
    uint64_t seq;
    verify_flag_kind_t kind;
    const char *why;            /**< "<name>: <the numbers and the rule>" */
} verify_flag_t;

typedef struct verify_flags_t verify_flags_t;

/** The built-in thresholds into @p c. */
void verify_flags_conf_default(verify_flags_conf_t *c);

/**
 * Read a thresholds file's text (@p len bytes): "name = value" lines,
 * '#' starting a comment, blank lines ignored; each name at most once;
 * what is not set keeps its value in @p c (start from the defaults).
 * @return APR_SUCCESS, or APR_EINVAL with *err naming the line and the
 *         fault
 */
apr_status_t verify_flags_conf_parse(verify_flags_conf_t *c,
                                     const char *text, size_t len,
                                     char **err, apr_pool_t *p);

/** @p c as a thresholds file, every setting with its comment. */
char *verify_flags_conf_format(const verify_flags_conf_t *c, apr_pool_t *p);

/** The name of a flag ("off_hours", "burst", ...). */
const char *verify_flag_name(verify_flag_kind_t kind);

/** The rule of a flag under @p c, in words with its numbers, or NULL
 * when @p c turns it off. */
const char *verify_flags_rule(const verify_flags_conf_t *c,
                              verify_flag_kind_t kind, apr_pool_t *p);

/** A new set of flags under @p c (copied), its memory from @p p. */
verify_flags_t *verify_flags_make(const verify_flags_conf_t *c,
                                  apr_pool_t *p);

/** How a flag's text names line @p seq (see verify_flags_name_lines). */
typedef const char *verify_flags_line_name_fn(void *ctx, uint64_t seq,
                                              apr_pool_t *p);

/**
 * Name lines in the flags' texts by @p fn ("seq 12" by default): the
 * months of several nodes' logs are fed with numbers of their own, which
 * @p fn turns back into the node and seq of each line.
 */
void verify_flags_name_lines(verify_flags_t *f, verify_flags_line_name_fn *fn,
                             void *ctx);

/** A query line before the month: who queried is remembered. */
void verify_flags_before(verify_flags_t *f, const verify_flags_query_t *q);

/** A query line of the month, in chain order. */
void verify_flags_add(verify_flags_t *f, const verify_flags_query_t *q);

/** The month is over: add the flags of the whole month and sort. */
void verify_flags_end(verify_flags_t *f);

/** The flags (verify_flag_t), by seq, then kind (after _end). */
const apr_array_header_t *verify_flags_found(const verify_flags_t *f);

/** Lines flagged for @p kind. */
uint64_t verify_flags_count(const verify_flags_t *f, verify_flag_kind_t kind);

#endif /* VERIFY_FLAGS_H */
