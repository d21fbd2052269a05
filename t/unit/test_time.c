/*
 * test_time.c -- ISO and ROC dates, months, the Taipei day, timestamps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tap.h"
#include "verify.h"

#define PA(s) verify_date_parse_any((s), strlen(s))
#define PI(s) verify_date_parse_iso((s), strlen(s))

/* seconds since the epoch of a UTC wall-clock time (libc, not the lib) */
static apr_time_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return apr_time_from_sec(timegm(&tm));
}

static void test_iso(void)
{
    static const struct { const char *s; verify_date_t want; } good[] = {
        { "2024-02-29", 20240229 }, { "2000-02-29", 20000229 },
        { "2026-11-20", 20261120 }, { "2026-01-31", 20260131 },
        { "2026-03-31", 20260331 }, { "2026-04-30", 20260430 },
        { "2026-12-31", 20261231 }, { "1996-02-29", 19960229 },
        { "2023-02-28", 20230228 }, { "1900-02-28", 19000228 },
        { "1950-01-02", 19500102 }, { "9999-12-31", 99991231 },
    };
    static const char *const bad[] = {
        "2023-02-29", "1900-02-29", "2100-02-29", "2026-02-30",
        "2026-04-31", "2026-06-31", "2026-09-31", "2026-11-31",
        "2026-01-32", "2026-13-01", "2026-00-10", "2026-01-00",
        "0000-01-01", "2026-99-99",
        /* formats */
        "", "2026", "2026-11", "2026-11-2", "2026-1-20", "26-11-20",
        "2026/11/20", "2026.11.20", "20261120", "2026-11-200",
        " 2026-11-20", "2026-11-20 ", "2026-11-20\n", "2026-11-2a",
        "2026-1a-20", "202a-11-20", "+026-11-20", "-026-11-20",
        "2026-+1-20", "2026-11-+1", "2026-11--1", "2026_11_20",
        "2026-11 20", "x026-11-20", "1131025", "113/10/25",
        "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96-11-20",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        is_int(PI(good[i].s), good[i].want, "iso %s", good[i].s);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        is_int(PI(bad[i]), 0, "iso \"%s\" refused", bad[i]);
    }
    /* length is what counts, not a NUL */
    is_int(verify_date_parse_iso("2026-11-20XYZ", 10), 20261120,
           "iso reads only len bytes");
    is_int(verify_date_parse_iso("2026-11-20", 9), 0, "iso with len 9 refused");
    is_int(verify_date_parse_iso("2026-11\0" "20", 10), 0,
           "iso with embedded NUL refused");
}

static int days_in(int y, int m)
{
    static const int md[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                              31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return md[m - 1] + (m == 2 && leap);
}

/* Every day 1900-2100 in ISO and (from 1912) both ROC forms; every day
 * one past the end of its month refused. */
static void test_calendar_sweep(void)
{
    char s[48];
    int y, m, d, iso_bad = 0, roc_bad = 0, past_bad = 0, days = 0;

    for (y = 1900; y <= 2100; y++) {
        for (m = 1; m <= 12; m++) {
            for (d = 1; d <= days_in(y, m) + 1; d++) {
                verify_date_t want = d <= days_in(y, m)
                                     ? (verify_date_t)(y * 10000 + m * 100 + d)
                                     : 0;
                verify_date_t got;
                snprintf(s, sizeof(s), "%04d-%02d-%02d", y, m, d);
                got = PI(s);
                if (want == 0) {
                    if (got != 0 || PA(s) != 0) {
                        past_bad++;
                        diag("%s accepted", s);
                    }
                    continue;
                }
                days++;
                if (got != want || PA(s) != want) {
                    iso_bad++;
                    diag("%s -> %u", s, got);
                }
                if (y >= 1912) {
                    snprintf(s, sizeof(s), "%03d%02d%02d", y - 1911, m, d);
                    got = PA(s);
                    snprintf(s, sizeof(s), "%03d/%02d/%02d", y - 1911, m, d);
                    if (got != want || PA(s) != want) {
                        roc_bad++;
                        diag("ROC %s -> %u", s, got);
                    }
                }
            }
        }
    }
    is_int(iso_bad, 0, "every day 1900-2100 (%d days) parses as ISO", days);
    is_int(roc_bad, 0, "every day 1912-2100 parses as ROC YYYMMDD and "
           "YYY/MM/DD");
    is_int(past_bad, 0, "the day after every month's end is refused");
}

static void test_roc(void)
{
    static const struct { const char *s; verify_date_t want; } cases[] = {
        { "0390102", 19500102 },    /* YYYMMDD */
        { "390102", 19500102 },     /* YYMMDD */
        { "039/01/02", 19500102 },  /* YYY/MM/DD */
        { "39/01/02", 19500102 },   /* YY/MM/DD */
        { "113/10/25", 20241025 },
        { "1131025", 20241025 },
        { "1130229", 20240229 },    /* ROC 113 = 2024, a leap year */
        { "113/02/29", 20240229 },
        { "1120229", 0 },           /* 2023 */
        { "112/02/29", 0 },
        { "0890229", 20000229 },    /* 2000 */
        { "0010101", 19120101 },    /* ROC year 1 */
        { "01/01/01", 19120101 },
        { "0000101", 0 },           /* no year 0 */
        { "000/01/01", 0 },
        { "000101", 0 },
        { "9991231", 29101231 },
        { "1131325", 0 },
        { "1131000", 0 },
        { "113/02/30", 0 },
        { "113/13/01", 0 },
        { "113-10-25", 0 },
        { "113.10.25", 0 },
        { "113/1/25", 0 },
        { "113/10/5", 0 },
        { "1a31025", 0 },
        { "113102", 0 },            /* YY=11, MM=31 */
        { "11310250", 0 },
        { "20241025", 0 },
        { "11310", 0 },
        { "1/10/25", 0 },
        { "1131/10/25", 0 },
        { "", 0 },
        { "2024-10-25", 20241025 }, /* ISO through parse_any */
        { "2023-02-29", 0 },
        { "2024/10/25", 0 },
    };
    char out[11];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_int(PA(cases[i].s), cases[i].want, "parse_any \"%s\"",
               cases[i].s);
    }
    verify_date_format(PA("0390102"), out);
    is_str(out, "1950-01-02", "0390102 formats as 1950-01-02");
    verify_date_format(PA("113/10/25"), out);
    is_str(out, "2024-10-25", "113/10/25 formats as 2024-10-25");
    verify_date_format(19120101, out);
    is_str(out, "1912-01-01", "format 19120101");
    verify_date_format(99991231, out);
    is_str(out, "9999-12-31", "format 99991231");
}

static void test_taipei_day(void)
{
    apr_time_t t;

    t = utc(2026, 11, 26, 15, 59, 59);
    is_int(apr_time_sec(t), 1795708799, "helper: epoch of 2026-11-26T15:59:59Z");
    is_int(verify_date_taipei(t), 20261126,
           "2026-11-26T15:59:59Z is 23:59:59 on the 26th in Taipei");
    is_int(verify_date_taipei(t + 999999), 20261126,
           "2026-11-26T15:59:59.999999Z still the 26th");
    is_int(verify_date_taipei(utc(2026, 11, 26, 16, 0, 0)), 20261127,
           "2026-11-26T16:00:00Z is the 27th in Taipei");
    is_int(verify_date_taipei(utc(2026, 11, 26, 0, 0, 0)), 20261126,
           "2026-11-26T00:00:00Z is the 26th (08:00 Taipei)");
    is_int(verify_date_taipei(utc(2026, 11, 25, 16, 0, 0)), 20261126,
           "2026-11-25T16:00:00Z is the 26th");
    is_int(verify_date_taipei(utc(2026, 11, 25, 15, 59, 59)), 20261125,
           "2026-11-25T15:59:59Z is the 25th");
    is_int(verify_date_taipei(utc(2023, 12, 31, 15, 59, 59)), 20231231,
           "year end: 15:59:59Z on Dec 31 is still 2023");
    is_int(verify_date_taipei(utc(2023, 12, 31, 16, 0, 0)), 20240101,
           "year end: 16:00:00Z on Dec 31 is 2024-01-01");
    is_int(verify_date_taipei(utc(2024, 2, 28, 16, 0, 0)), 20240229,
           "2024-02-28T16:00:00Z is Feb 29 in Taipei");
    is_int(verify_date_taipei(utc(2024, 2, 29, 16, 0, 0)), 20240301,
           "2024-02-29T16:00:00Z is Mar 1 in Taipei");
    is_int(verify_date_taipei(0), 19700101, "the epoch is 1970-01-01 08:00");

    /* the process's TZ plays no part */
    setenv("TZ", "America/New_York", 1);
    tzset();
    is_int(verify_date_taipei(utc(2026, 11, 26, 16, 0, 0)), 20261127,
           "TZ=America/New_York: 16:00:00Z still the 27th");
    is_int(verify_date_taipei(utc(2026, 11, 26, 15, 59, 59)), 20261126,
           "TZ=America/New_York: 15:59:59Z still the 26th");
    setenv("TZ", "UTC", 1);
    tzset();
}

static void test_format(void)
{
    char us[VERIFY_TS_LEN + 8], s[26 + 8];
    apr_time_t t = utc(2026, 11, 19, 18, 0, 0);

    is_int(apr_time_sec(t), 1795111200, "helper: epoch of 2026-11-19T18:00Z");

    memset(us, 'X', sizeof(us));
    verify_time_format_us(t + 123456, us);
    is_str(us, "2026-11-20T02:00:00.123456+08:00", "format_us with usec");
    is_int((long long)strlen(us), VERIFY_TS_LEN, "format_us length 32");
    is_int(us[VERIFY_TS_LEN + 1], 'X', "format_us writes 33 bytes only");

    verify_time_format_us(t, us);
    is_str(us, "2026-11-20T02:00:00.000000+08:00", "format_us, zero usec");
    verify_time_format_us(t + 999999, us);
    is_str(us, "2026-11-20T02:00:00.999999+08:00", "format_us, 999999 usec");
    verify_time_format_us(t + 7, us);
    is_str(us, "2026-11-20T02:00:00.000007+08:00", "format_us, 7 usec");
    verify_time_format_us(utc(2026, 11, 26, 15, 59, 59) + 500000, us);
    is_str(us, "2026-11-26T23:59:59.500000+08:00", "format_us before midnight");
    verify_time_format_us(utc(2026, 11, 26, 16, 0, 0), us);
    is_str(us, "2026-11-27T00:00:00.000000+08:00", "format_us at midnight");
    verify_time_format_us(0, us);
    is_str(us, "1970-01-01T08:00:00.000000+08:00", "format_us at the epoch");

    memset(s, 'X', sizeof(s));
    verify_time_format_s(t + 123456, s);
    is_str(s, "2026-11-20T02:00:00+08:00", "format_s drops the fraction");
    is_int((long long)strlen(s), 25, "format_s length 25");
    is_int(s[26], 'X', "format_s writes 26 bytes only");
    verify_time_format_s(utc(2026, 11, 26, 15, 59, 59), s);
    is_str(s, "2026-11-26T23:59:59+08:00", "format_s before midnight");
    verify_time_format_s(utc(2026, 11, 26, 16, 0, 0), s);
    is_str(s, "2026-11-27T00:00:00+08:00", "format_s at midnight");
    verify_time_format_s(utc(2024, 2, 28, 16, 30, 5), s);
    is_str(s, "2024-02-29T00:30:05+08:00", "format_s on a leap day");
    verify_time_format_s(utc(2023, 12, 31, 23, 59, 59), s);
    is_str(s, "2024-01-01T07:59:59+08:00", "format_s across the year");

    setenv("TZ", "Asia/Kolkata", 1);
    tzset();
    verify_time_format_s(t, s);
    is_str(s, "2026-11-20T02:00:00+08:00", "format_s ignores TZ");
    setenv("TZ", "UTC", 1);
    tzset();
}

static void test_months(void)
{
    static const struct { const char *s; verify_date_t want; } parse[] = {
        { "2026-11", 20261101 }, { "2026-01", 20260101 },
        { "2026-12", 20261201 }, { "1800-01", 18000101 },
        { "9999-12", 99991201 },
        { "2026-13", 0 }, { "2026-00", 0 }, { "2026-1", 0 },
        { "26-11", 0 }, { "2026/11", 0 }, { "2026-11-01", 0 },
        { "2026-1x", 0 }, { "+026-11", 0 }, { "1799-12", 0 }, { "", 0 },
    };
    static const struct { verify_date_t d, want; } ends[] = {
        { 20260101, 20260131 }, { 20260215, 20260228 },
        { 20240201, 20240229 }, { 20000210, 20000229 },
        { 21000201, 21000228 }, { 20260430, 20260430 },
        { 20261231, 20261231 }, { 20260601, 20260630 },
    };
    static const struct {
        verify_date_t d;
        unsigned n;
        verify_date_t want;
    } before[] = {
        { 20261127, 0, 20261127 },
        { 20261127, 1, 20261027 },
        { 20261127, 6, 20260527 },
        { 20261127, 11, 20251227 },
        { 20261127, 12, 20251127 },
        { 20260131, 1, 20251231 },      /* across the year */
        { 20260331, 1, 20260228 },      /* a shorter month: its end */
        { 20240331, 1, 20240229 },      /* ... in a leap year */
        { 20260531, 1, 20260430 },
        { 20260831, 6, 20260228 },
        { 20240229, 60, 20190228 },     /* 5 years from a leap day */
        { 20240229, 48, 20200229 },
        { 20261127, 60, 20211127 },
        { 20261127, 120, 20161127 },
        { 20261127, 24314, 0 },         /* before year 1 */
    };
    size_t i;

    for (i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
        is_int(verify_date_parse_month(parse[i].s, strlen(parse[i].s)),
               parse[i].want, "month \"%s\"", parse[i].s);
    }
    is_int(verify_date_parse_month("2026-11-05", 7), 20261101,
           "a month reads only len bytes");
    for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        is_int(verify_date_month_end(ends[i].d), ends[i].want,
               "the month of %u ends on %u", ends[i].d, ends[i].want);
    }
    for (i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
        is_int(verify_date_months_before(before[i].d, before[i].n),
               before[i].want, "%u months before %u is %u", before[i].n,
               before[i].d, before[i].want);
    }
}

static void test_readable(void)
{
    char out[20];

    memset(out, 'X', sizeof(out));
    is_int(verify_time_readable("2026-11-27T14:55:06.123456+08:00", out),
           0, "a ts is readable");
    is_str(out, "2026-11-27 14:55:06", "readable: no T, fraction, offset");
    is_int(verify_time_readable("2026-11-27T14:55:06", out), 0,
           "19 characters are enough");
    is_str(out, "2026-11-27 14:55:06", "readable of the bare form");
    strcpy(out, "untouched");
    is_int(verify_time_readable("2026-11-27 14:55:06", out), -1,
           "no T: not a ts");
    is_int(verify_time_readable("2026-11-27T14:55", out), -1,
           "too short: not a ts");
    is_int(verify_time_readable("", out), -1, "empty: not a ts");
    is_str(out, "untouched", "out untouched when not a ts");
}

/* A ts parses back to the time it was formatted from, and only the
 * exact form parses. */
static void test_parse_us(void)
{
    static const char *const bad[] = {
        "2026-11-27T14:55:06.123456+09:00", "2026-11-27T14:55:06.123456Z",
        "2026-11-27 14:55:06.123456+08:00", "2026-02-30T14:55:06.123456+08:00",
        "2026-11-27T24:00:00.000000+08:00", "2026-11-27T14:60:06.123456+08:00",
        "2026-11-27T14:55:60.123456+08:00", "2026-11-27T14:55:06.12345x+08:00",
        "2026-11-27T14:55:06+08:00", "",
    };
    apr_time_t ts[] = {
        utc(2026, 11, 26, 15, 59, 59) + 999999, utc(2026, 11, 26, 16, 0, 0),
        utc(2024, 2, 28, 16, 30, 5) + 7, utc(1999, 12, 31, 23, 59, 59),
        utc(2026, 11, 27, 6, 55, 6) + 123456, 0,
    };
    char us[VERIFY_TS_LEN + 1];
    apr_time_t t;
    size_t i;

    for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
        verify_time_format_us(ts[i], us);
        t = -1;
        is_int(verify_time_parse_us(us, strlen(us), &t), 0, "parse %s", us);
        ok(t == ts[i], "%s parses back to its time", us);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        is_int(verify_time_parse_us(bad[i], strlen(bad[i]), &t), -1,
               "not a ts: \"%s\"", bad[i]);
    }
    ok(verify_date_start_taipei(20261127) == utc(2026, 11, 26, 16, 0, 0),
       "Taipei's 2026-11-27 starts at 16:00 UTC the day before");
    ok(verify_date_start_taipei(20240301) == utc(2024, 2, 29, 16, 0, 0),
       "after a leap day");
    ok(verify_date_taipei(verify_date_start_taipei(20261231) - 1)
       == 20261230, "the microsecond before a day is the day before");
}

/* Age by Taiwan's Civil Code (art. 124, art. 121 para. 2): a year older
 * on the birthday; one born on 29 February on 1 March of common years. */
static void test_age(void)
{
    static const struct {
        verify_date_t birth, today;
        int want;
    } cases[] = {
        /* around a birthday */
        { 19600315, 20250314, 64 }, { 19600315, 20250315, 65 },
        { 19600315, 20250316, 65 }, { 19600315, 20260314, 65 },
        { 19600315, 20260315, 66 },
        /* year ends: born 31 December, 1 January */
        { 19601231, 20251230, 64 }, { 19601231, 20251231, 65 },
        { 19601231, 20260101, 65 }, { 19610101, 20251231, 64 },
        { 19610101, 20260101, 65 },
        /* 29 February, common years: 28 Feb no, 1 Mar yes */
        { 20000229, 20010228, 0 }, { 20000229, 20010301, 1 },
        { 19600229, 20250228, 64 }, { 19600229, 20250301, 65 },
        { 19600229, 20270228, 66 }, { 19600229, 20270301, 67 },
        /* 29 February, leap years: the day itself */
        { 19600229, 20240228, 63 }, { 19600229, 20240229, 64 },
        { 19600229, 20240301, 64 }, { 20000229, 20040229, 4 },
        { 20000229, 20040228, 3 },
        /* 2100 is no leap year, 2000 was */
        { 19960229, 21000228, 103 }, { 19960229, 21000301, 104 },
        { 19800229, 20000228, 19 }, { 19800229, 20000229, 20 },
        /* others born around 29 February in a leap year */
        { 20000228, 20010228, 1 }, { 20000301, 20010228, 0 },
        { 20000301, 20010301, 1 }, { 20040301, 20080229, 3 },
        /* N = 0: from the day of birth */
        { 20261201, 20261201, 0 }, { 20261130, 20261201, 0 },
        /* 120 */
        { 19061201, 20261130, 119 }, { 19061201, 20261201, 120 },
        { 19040229, 20240229, 120 }, { 19040229, 20240228, 119 },
        { 19050301, 20250228, 119 }, { 19050301, 20250301, 120 },
        /* no answer */
        { 20261202, 20261201, -1 }, { 0, 20261201, -1 },
        { 19600315, 0, -1 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_int(verify_date_age(cases[i].birth, cases[i].today),
               cases[i].want, "age of %u on %u", (unsigned)cases[i].birth,
               (unsigned)cases[i].today);
    }
    /* ROC dates are stored as the Gregorian date they name: ROC 89 is
     * 2000 (a leap year), ROC 49 is 1960 */
    is_int(verify_date_age(PA("0890229"), PA("0900228")), 0,
           "ROC 089/02/29 on ROC 090/02/28");
    is_int(verify_date_age(PA("089/02/29"), PA("090/03/01")), 1,
           "ROC 089/02/29 on ROC 090/03/01");
    is_int(verify_date_age(PA("049/02/29"), PI("2024-02-29")), 64,
           "ROC 049/02/29 in 2024, a leap year");
    is_int(verify_date_age(PA("0490229"), PI("2025-02-28")), 64,
           "ROC 0490229 on 2025-02-28");
    is_int(verify_date_age(PA("0490229"), PI("2025-03-01")), 65,
           "ROC 0490229 on 2025-03-01");
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    test_iso();
    test_calendar_sweep();
    test_roc();
    test_taipei_day();
    test_format();
    test_months();
    test_readable();
    test_parse_us();
    test_age();
    return done_testing();
}
