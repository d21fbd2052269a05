/*
 * verify_time.c -- dates (ISO and ROC) and Taipei timestamps.
 *
 * Taiwan has kept UTC+8 without daylight saving since 1980, so times
 * are formatted with a fixed offset instead of the process's TZ, which
 * httpd children do not reliably share with the admin's shell.
 */
#include <string.h>
#include <time.h>
#include "verify_time.h"

#define TAIPEI_OFFSET_SEC (8 * 3600)
/* ROC year 1 is 1912 */
#define ROC_OFFSET 1911

static int leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days in month @p m (1-12) of year @p y. */
static unsigned month_days(unsigned y, unsigned m)
{
    static const unsigned char mdays[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    return mdays[m - 1] + (m == 2 && leap(y));
}

static verify_date_t make_date(unsigned y, unsigned m, unsigned d)
{
    if (y < 1800 || y > 9999 || m < 1 || m > 12 || d < 1) {
        return 0;
    }
    if (d > month_days(y, m)) {
        return 0;
    }
    return (verify_date_t)(y * 10000 + m * 100 + d);
}

/* Parse exactly @p n digits; -1 if any is not a digit. */
static long digits(const char *s, size_t n)
{
    long v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

verify_date_t verify_date_parse_iso(const char *s, size_t len)
{
    long y, m, d;

    if (len != 10 || s[4] != '-' || s[7] != '-') {
        return 0;
    }
    y = digits(s, 4);
    m = digits(s + 5, 2);
    d = digits(s + 8, 2);
    if (y < 0 || m < 0 || d < 0) {
        return 0;
    }
    return make_date((unsigned)y, (unsigned)m, (unsigned)d);
}

verify_date_t verify_date_parse_any(const char *s, size_t len)
{
    long y, m, d;
    size_t ylen;

    if (len == 10 && s[4] == '-') {
        return verify_date_parse_iso(s, len);
    }
    /* ROC with slashes: YYY/MM/DD or YY/MM/DD */
    if ((len == 9 || len == 8) && s[len - 3] == '/' && s[len - 6] == '/') {
        ylen = len - 6;
        y = digits(s, ylen);
        m = digits(s + ylen + 1, 2);
        d = digits(s + ylen + 4, 2);
    }
    /* ROC compact: YYYMMDD or YYMMDD */
    else if (len == 7 || len == 6) {
        ylen = len - 4;
        y = digits(s, ylen);
        m = digits(s + ylen, 2);
        d = digits(s + ylen + 2, 2);
    }
    else {
        return 0;
    }
    if (y < 1 || m < 0 || d < 0) {
        return 0;
    }
    return make_date((unsigned)(y + ROC_OFFSET), (unsigned)m, (unsigned)d);
}

verify_date_t verify_date_parse_month(const char *s, size_t len)
{
    long y, m;

    if (len != 7 || s[4] != '-') {
        return 0;
    }
    y = digits(s, 4);
    m = digits(s + 5, 2);
    if (y < 0 || m < 0) {
        return 0;
    }
    return make_date((unsigned)y, (unsigned)m, 1);
}

verify_date_t verify_date_month_end(verify_date_t d)
{
    unsigned y = d / 10000, m = d / 100 % 100;

    return (verify_date_t)(y * 10000 + m * 100 + month_days(y, m));
}

verify_date_t verify_date_months_before(verify_date_t d, unsigned months)
{
    long y = (long)(d / 10000), m = (long)(d / 100 % 100);
    unsigned day = d % 100, last;

    /* months counted from year 0, month 0 */
    m = y * 12 + (m - 1) - (long)months;
    if (m < 12) {
        return 0;
    }
    y = m / 12;
    m = m % 12 + 1;
    last = month_days((unsigned)y, (unsigned)m);
    if (day > last) {
        day = last;
    }
    return (verify_date_t)(y * 10000 + m * 100 + day);
}

int verify_date_age(verify_date_t birth, verify_date_t today)
{
    int age;

    if (!birth || !today || today < birth) {
        return -1;
    }
    age = (int)(today / 10000) - (int)(birth / 10000);
    /* Month and day compared as MMDD: a birthday of 0229 is reached on
     * 0229 in a leap year and, since 0228 < 0229 < 0301, on 1 March in
     * any other year, which is art. 121's last-day rule. */
    if (today % 10000 < birth % 10000) {
        age--;
    }
    return age;
}

static void taipei_tm(apr_time_t t, struct tm *tm)
{
    time_t secs = (time_t)apr_time_sec(t) + TAIPEI_OFFSET_SEC;

    gmtime_r(&secs, tm);
}

verify_date_t verify_date_taipei(apr_time_t t)
{
    struct tm tm;

    taipei_tm(t, &tm);
    return (verify_date_t)((tm.tm_year + 1900) * 10000
                           + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

/* Write @p n digits of @p v, zero-padded. */
static void put_digits(char *out, unsigned long v, int n)
{
    while (n-- > 0) {
        out[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

void verify_date_format(verify_date_t d, char out[11])
{
    put_digits(out, d / 10000, 4);
    out[4] = '-';
    put_digits(out + 5, (d / 100) % 100, 2);
    out[7] = '-';
    put_digits(out + 8, d % 100, 2);
    out[10] = '\0';
}

static void format_tm(const struct tm *tm, char *out)
{
    put_digits(out, (unsigned long)tm->tm_year + 1900, 4);
    out[4] = '-';
    put_digits(out + 5, (unsigned long)tm->tm_mon + 1, 2);
    out[7] = '-';
    put_digits(out + 8, (unsigned long)tm->tm_mday, 2);
    out[10] = 'T';
    put_digits(out + 11, (unsigned long)tm->tm_hour, 2);
    out[13] = ':';
    put_digits(out + 14, (unsigned long)tm->tm_min, 2);
    out[16] = ':';
    put_digits(out + 17, (unsigned long)tm->tm_sec, 2);
}

void verify_time_format_us(apr_time_t t, char out[VERIFY_TS_LEN + 1])
{
    struct tm tm;

    taipei_tm(t, &tm);
    format_tm(&tm, out);
    out[19] = '.';
    put_digits(out + 20, (unsigned long)apr_time_usec(t), 6);
    memcpy(out + 26, "+08:00", 7);
}

void verify_time_format_s(apr_time_t t, char out[26])
{
    struct tm tm;

    taipei_tm(t, &tm);
    format_tm(&tm, out);
    memcpy(out + 19, "+08:00", 7);
}

/* Days from 1970-01-01 to @p y-@p m-@p d (proleptic Gregorian:
 * H. Hinnant's days_from_civil), without the process's TZ. */
static long days_from_civil(long y, unsigned m, unsigned d)
{
    long era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

apr_time_t verify_date_start_taipei(verify_date_t d)
{
    long days = days_from_civil((long)(d / 10000), (d / 100) % 100, d % 100);

    return apr_time_from_sec((apr_time_t)days * 86400 - TAIPEI_OFFSET_SEC);
}

int verify_time_parse_us(const char *s, size_t len, apr_time_t *out)
{
    verify_date_t d;
    long hh, mi, ss, us;

    if (len != VERIFY_TS_LEN || s[10] != 'T' || s[13] != ':'
        || s[16] != ':' || s[19] != '.' || memcmp(s + 26, "+08:00", 6)) {
        return -1;
    }
    d = verify_date_parse_iso(s, 10);
    hh = digits(s + 11, 2);
    mi = digits(s + 14, 2);
    ss = digits(s + 17, 2);
    us = digits(s + 20, 6);
    if (!d || hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59
        || us < 0) {
        return -1;
    }
    *out = verify_date_start_taipei(d)
           + apr_time_from_sec((apr_time_t)(hh * 3600 + mi * 60 + ss)) + us;
    return 0;
}

int verify_time_readable(const char *ts, char out[20])
{
    if (strlen(ts) < 19 || ts[10] != 'T') {
        return -1;
    }
    memcpy(out, ts, 19);
    out[10] = ' ';
    out[19] = '\0';
    return 0;
}
