/*
 * verify_json.h -- the JSON line writer (verify_json.c).
 */
#ifndef VERIFY_JSON_H
#define VERIFY_JSON_H

#include <stddef.h>
#include <stdint.h>

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
 * A JSON string: quotes, escaping of '"', '\\', every C0 and C1
 * control character, U+2028, U+2029 and the bidi controls (U+061C,
 * U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) as \uXXXX, so that the
 * result is one line for any reader; invalid UTF-8 replaced by U+FFFD;
 * cut at a character
 * boundary with "…" once the escaped form would pass @p max_out bytes.
 */
void verify_jbuf_str(verify_jbuf_t *b, const char *s, size_t len,
                     size_t max_out);
/** Raw string literal, its length counted by the compiler. */
#define VERIFY_JRAW(b, lit) verify_jbuf_raw((b), (lit), sizeof(lit) - 1)
/** Is code point @p cp one verify_jbuf_str() writes as \uXXXX although
 * JSON allows it raw (C1, U+2028, U+2029, the bidi controls)? */
int verify_json_escaped_cp(uint32_t cp);
/** `"key":` */
void verify_jbuf_key(verify_jbuf_t *b, const char *key);
/** An unsigned decimal. */
void verify_jbuf_u64(verify_jbuf_t *b, uint64_t v);

#endif /* VERIFY_JSON_H */
