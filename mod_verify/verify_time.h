/*
 * verify_time.h -- dates and times, Taipei (verify_time.c).
 */
#ifndef VERIFY_TIME_H
#define VERIFY_TIME_H

#include <stdint.h>
#include <apr_time.h>

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

/** Parse a month "YYYY-MM" exactly: its first day, or 0 when invalid. */
verify_date_t verify_date_parse_month(const char *s, size_t len);

/** The last day of the month of @p d (28 to 31). */
verify_date_t verify_date_month_end(verify_date_t d);

/**
 * The same day @p months months before @p d; when that month is
 * shorter, its last day (31 May less 3 months is 28 or 29 February).
 * 0 when the year would fall below 1.
 */
verify_date_t verify_date_months_before(verify_date_t d, unsigned months);

/**
 * Age in whole years on @p today of a person born on @p birth, as
 * Taiwan's Civil Code counts it: from the day of birth (art. 124), a
 * year ending the day before its corresponding day, or on the last day
 * of the month when there is none (art. 121 para. 2). So one born on
 * 29 February is a year older on 29 February in a leap year and on
 * 1 March otherwise.
 * @return the age, or -1 when either date is 0 or @p today < @p birth
 */
int verify_date_age(verify_date_t birth, verify_date_t today);

/** Length of a Taipei ISO 8601 timestamp with microseconds. */
#define VERIFY_TS_LEN 32

/** "2026-11-20T02:00:00.123456+08:00" into @p out (33 bytes). */
void verify_time_format_us(apr_time_t t, char out[VERIFY_TS_LEN + 1]);

/**
 * Parse a timestamp exactly as verify_time_format_us() writes it
 * ("2026-11-20T02:00:00.123456+08:00", a real date and time).
 * @return 0 with *out set, or -1 when @p s is not of that form
 */
int verify_time_parse_us(const char *s, size_t len, apr_time_t *out);

/** The first microsecond of Taipei day @p d (a valid date). */
apr_time_t verify_date_start_taipei(verify_date_t d);

/** "2026-11-20T02:00:00+08:00" (seconds) into @p out (26 bytes). */
void verify_time_format_s(apr_time_t t, char out[26]);

/**
 * A timestamp as people read it: "2026-11-20 02:00:00" (no fraction, no
 * offset) of "2026-11-20T02:00:00…" into @p out (20 bytes).
 * @return 0, or -1 (@p out untouched) when @p ts is not of that form.
 */
int verify_time_readable(const char *ts, char out[20]);

#endif /* VERIFY_TIME_H */
