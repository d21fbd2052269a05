/*
 * verify_text.h -- UTF-8, hex and the normal form of names (verify_text.c).
 */
#ifndef VERIFY_TEXT_H
#define VERIFY_TEXT_H

#include <stddef.h>
#include <stdint.h>

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
 * verify_unhex(@p s, @p len, @p out, 0) of text that holds all 2*@p len
 * bytes (it may read them all before it finds a fault): sixteen digits
 * at a time where the CPU can, for the two hashes of every audit line.
 */
int verify_unhex_whole(const char *s, size_t len, unsigned char *out);

/**
 * The earlier normal form of a personal name, kept for the name tags of
 * household records of format 1 (verify_name.h has the current one):
 * trims ASCII and ideographic spaces at both ends and folds ASCII
 * letters to upper case.
 * @return the normalised length written to @p out (at most @p outlen-1),
 *         or 0 when nothing remains.
 */
size_t verify_name_normalise(const char *in, size_t len, char *out,
                             size_t outlen);

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

#endif /* VERIFY_TEXT_H */
