/*
 * verify_id.h -- national ID numbers: validation, normal form and masking (verify_id.c).
 */
#ifndef VERIFY_ID_H
#define VERIFY_ID_H

#include <stddef.h>

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

#endif /* VERIFY_ID_H */
