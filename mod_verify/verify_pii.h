/*
 * verify_pii.h -- personal data in free text: national ID numbers and
 * Taiwanese phone numbers that a client typed into a case number, a
 * reason or an operator name (verify_pii.c).
 *
 * The module refuses a case or reason holding an ID number (and writes
 * it masked into the audit line); the monthly sheet masks both kinds
 * and flags them "possible personal data". Both find them here, the
 * same way.
 */
#ifndef VERIFY_PII_H
#define VERIFY_PII_H

#include <stddef.h>
#include <apr_pools.h>

/** A national ID or resident certificate number: 10 characters in a
 * form verify_id_normalise() accepts (either letter case), with a valid
 * check digit, not followed by a digit. */
#define VERIFY_PII_ID 1u
/**
 * A Taiwanese phone number: a mobile number 09XX-XXX-XXX or a landline
 * 0X-XXXXXXX / 0X-XXXX-XXXX / 0XX-XXXXXX (9 or 10 digits from 0 and
 * 2-8), written with or without separators (space, '-', '.', brackets
 * as in "(02) 2345-6789"), or in the +886 form without the leading 0
 * ("+886 912 345 678", "+886-2-2345-6789", "+886 (0)2 ..."); not
 * preceded or followed by a digit.
 */
#define VERIFY_PII_PHONE 2u

/** One stretch of text that looks like personal data. */
typedef struct {
    size_t start;               /**< byte offset of its first character */
    size_t end;                 /**< byte offset just after its last */
    unsigned kind;              /**< VERIFY_PII_ID or VERIFY_PII_PHONE */
} verify_pii_span_t;

/**
 * The first span of @p kinds in @p s (@p len bytes, any bytes) that
 * starts at or after byte @p from. Letters, digits and separators may
 * also be written full-width (U+FF01-FF5E, U+3000), as Chinese input
 * methods write them; invalid UTF-8 is never part of a span.
 * @return 1 with *span set, or 0 when there is none
 */
int verify_pii_next(const char *s, size_t len, size_t from, unsigned kinds,
                    verify_pii_span_t *span);

/**
 * @p s with every span of @p kinds masked: an ID as verify_id_mask()
 * shows it ("A12*****89"), a phone number with every digit but the
 * first two of its national form ("09", "02"; "+8869" in the +886 form)
 * replaced by '*' and its separators kept ("09**-***-***").
 * @param outlen receives the length of the result (may be NULL)
 * @param found  receives the kinds found, 0 for none (may be NULL)
 * @return @p s itself when nothing was found, else a NUL-terminated copy
 *         from @p p
 */
const char *verify_pii_mask(const char *s, size_t len, unsigned kinds,
                            size_t *outlen, unsigned *found, apr_pool_t *p);

/** "national ID number", "phone number" or "personal data" (both). */
const char *verify_pii_kind_name(unsigned kinds);

#endif /* VERIFY_PII_H */
