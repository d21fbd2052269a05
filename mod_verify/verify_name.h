/*
 * verify_name.h -- names as people write them: the one normal form of a
 * personal name, shared by the importer (the name tags it stores) and
 * the module (identity_match), built on utf8proc (verify_name.c).
 */
#ifndef VERIFY_NAME_H
#define VERIFY_NAME_H

#include <stddef.h>
#include "verify_key.h"
#include "verify_record.h"

/** Longest name, in characters after normalisation. */
#define VERIFY_NAME_MAX_CHARS 64
/** Room for a normalised name (64 characters of up to 4 bytes, and
 *  what casefolding can add). */
#define VERIFY_NAME_NORM_MAX 512

/**
 * The normal form of a name (format 2 of the household record):
 * Unicode NFC; full-width ASCII (U+FF01-U+FF5E) to ASCII and the
 * ideographic space (U+3000), no-break space and tab to a space; case
 * folded (Unicode casefolding: a romanised name matches in any case);
 * spaces at both ends dropped and runs of them folded into one.
 * @p in must be valid UTF-8.
 * @return the length written to @p out (NUL-terminated), 0 when nothing
 *         remains, or (size_t)-1 when @p in is not valid UTF-8 or the
 *         result does not fit in @p outlen bytes.
 */
size_t verify_name_fold(const char *in, size_t len, char *out,
                        size_t outlen);

/**
 * The name tag of @p in as the household record of format @p format
 * (rec->name_form: 1 or 2) stores it: format 1 with the old normal form
 * (verify_name_normalise: ends trimmed, ASCII upper case), 2 with
 * verify_name_fold(). 0, or -1 when the name has no normal form.
 */
int verify_name_tag(const verify_keys_t *keys, int format, const char *in,
                    size_t len, unsigned char tag[VERIFY_NAME_TAG_LEN]);

/**
 * Does the name @p in (as sent, valid UTF-8) match the household record
 * @p rec: its Han name, or its romanised name when it has one? Compared
 * in the normal form of the record's format.
 */
int verify_name_matches(const verify_keys_t *keys, const verify_record_t *rec,
                        const char *in, size_t len);

#endif /* VERIFY_NAME_H */
