/*
 * verify_flat.h -- one JSON object checked as strictly as jansson reads
 * an audit line, with its top-level members indexed where they stand,
 * no tree built (verify_flat.c).
 *
 * jansson spends some ten microseconds building the tree of one audit
 * line; a month of a million lines is then seconds of it. The tools
 * that read every line (the sample) check each line with this instead
 * and look its few members up in place. It accepts exactly what
 * json_loadb() accepts with VERIFY_SCAN_JSON_FLAGS (JSON_REJECT_DUPLICATES
 * | JSON_ALLOW_NUL) when the text is one object: the same grammar, the
 * same duplicate rule (keys compared after unescaping, at every depth),
 * integers in 64 bits, reals that do not overflow, surrogate pairs only
 * as pairs, no NUL in a key, at most 2048 levels.
 */
#ifndef VERIFY_FLAT_H
#define VERIFY_FLAT_H

#include <stddef.h>
#include <stdint.h>

/** Keys open at once, at all depths: more than a 4096-byte line holds. */
#define VERIFY_FLAT_KEYS 1024
/** Levels of values at the most, each value a level (jansson's limit). */
#define VERIFY_FLAT_DEPTH 2048

/** The type of a member's value. */
typedef enum {
    VERIFY_FLAT_NULL,
    VERIFY_FLAT_FALSE,
    VERIFY_FLAT_TRUE,
    VERIFY_FLAT_INT,
    VERIFY_FLAT_REAL,
    VERIFY_FLAT_STRING,
    VERIFY_FLAT_ARRAY,
    VERIFY_FLAT_OBJECT
} verify_flat_type_t;

/** A JSON string as written, between its quotes. */
typedef struct {
    const char *s;
    size_t len;
    int esc;                    /**< it holds escapes: unescape to read */
} verify_flat_span_t;

/** One top-level member. */
typedef struct {
    verify_flat_span_t key;
    verify_flat_type_t type;
    verify_flat_span_t val;     /**< a string: its text between the
                                     quotes; anything else: its JSON */
    int64_t i;                  /**< VERIFY_FLAT_INT: the value */
} verify_flat_member_t;

/** A parsed object: its members in order (about 70 kB: keep one). */
typedef struct {
    size_t n;
    verify_flat_member_t m[VERIFY_FLAT_KEYS];
    verify_flat_span_t keys[VERIFY_FLAT_KEYS];  /**< scratch */
} verify_flat_t;

/**
 * Check that @p text (@p len bytes) is one JSON object as described
 * above and index its top-level members into @p f. The members point
 * into @p text.
 * @return 0, or -1 with *why saying what is wrong (a static string)
 *         and *at its byte offset
 */
int verify_flat_parse(verify_flat_t *f, const char *text, size_t len,
                      const char **why, size_t *at);

/** The member named @p key (NUL-terminated, no escapes needed), or NULL
 * when there is none. */
const verify_flat_member_t *verify_flat_get(const verify_flat_t *f,
                                            const char *key);

/**
 * The string member @p key: NULL when absent or not a string; else its
 * text and *len its bytes: in place when it has no escapes, else
 * unescaped into @p buf (@p size bytes; cut at @p size, which a caller
 * sizing @p buf as the line cannot meet). Unescaped text may hold NUL
 * bytes (\u0000).
 */
const char *verify_flat_str(const verify_flat_t *f, const char *key,
                            char *buf, size_t size, size_t *len);

/** The integer member @p key into *v: 0, or -1 when absent or not an
 * integer. */
int verify_flat_int(const verify_flat_t *f, const char *key, int64_t *v);

/** The boolean member @p key: 1 true, 0 false, -1 absent or not a
 * boolean. */
int verify_flat_bool(const verify_flat_t *f, const char *key);

/**
 * Unescape the JSON string text @p s (@p len bytes, checked by
 * verify_flat_parse) into @p out (@p size bytes).
 * @return the bytes of the whole unescaped text (more than @p size when
 *         it was cut)
 */
size_t verify_flat_unescape(const char *s, size_t len, char *out,
                            size_t size);

#endif /* VERIFY_FLAT_H */
