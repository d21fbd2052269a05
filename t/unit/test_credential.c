/*
 * test_credential.c -- a client certificate read as the module reads
 * it (fingerprint, key, dates; the hashes independently from the
 * openssl command), the limits of a credential, the Verify-Warning text
 * and the durations of the directives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "verify.h"

static apr_pool_t *pool;

/* `openssl ca -startdate 20260101000000Z -enddate 20260401120000Z`, a
 * P-256 key; the hashes below are what the admin-guide's commands print:
 *   openssl x509 -in c.crt -outform DER | sha256sum
 *   openssl x509 -in c.crt -noout -pubkey \
 *       | openssl pkey -pubin -outform DER | sha256sum */
static const char cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBBTCBqwICEAAwCgYIKoZIzj0EAwIwDTELMAkGA1UEAwwCY2EwHhcNMjYwMTAx\n"
    "MDAwMDAwWhcNMjYwNDAxMTIwMDAwWjAPMQ0wCwYDVQQDDAR1bml0MFkwEwYHKoZI\n"
    "zj0CAQYIKoZIzj0DAQcDQgAEr6BBbzZELWLv78PAPOWpUU7SeqNAjpterc1Z93VT\n"
    "2zUwmAoER7G2lZGjctQ4DBblJeic8WP5nLERxbfCOR009DAKBggqhkjOPQQDAgNJ\n"
    "ADBGAiEAqkPZYVZK0+BL2247KEWfjqAEkWQ2SwvE8sbDn83XMT0CIQDZ6zK4VBlh\n"
    "+zSvmfgPbVotE3sbqfJ4hcgLq6gVSgwbJA==\n"
    "-----END CERTIFICATE-----\n";
#define CERT_SHA256 \
    "d31fa996b6350d7ebedf12697103be772a61664944d884a5d79ca60dee57f2b6"
#define SPKI_SHA256 \
    "3e7744c5c2b0a0cb433feec051fc4012ad2d26cfe96116dbacde5619ac451095"

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

#define DAY apr_time_from_sec(86400)

static void test_cert(void)
{
    verify_cert_t c;
    char hex[65];

    ok(verify_cert_read_pem(&c, cert_pem) == 0, "a PEM certificate reads");
    verify_hex(c.fpr, 32, hex);
    is_str(hex, CERT_SHA256, "fingerprint as sha256sum of the DER");
    verify_hex(c.spki, 32, hex);
    is_str(hex, SPKI_SHA256, "key as sha256sum of `openssl pkey -pubin "
           "-outform DER`");
    ok(c.not_before == utc(2026, 1, 1, 0, 0, 0), "notBefore");
    ok(c.not_after == utc(2026, 4, 1, 12, 0, 0), "notAfter");
    ok(verify_cert_read_pem(&c, "-----BEGIN CERTIFICATE-----\nAAAA\n"
                            "-----END CERTIFICATE-----\n") == -1,
       "garbage is no certificate");
    ok(verify_cert_read_pem(&c, "") == -1, "nothing is no certificate");
}

static void test_limits(void)
{
    verify_cert_t c;
    verify_limits_t l;
    apr_time_t now;

    verify_cert_read_pem(&c, cert_pem);
    verify_limits_set(&l, &c, 90 * DAY, 20261231);
    ok(l.at[VERIFY_LIMIT_AGE] == utc(2026, 4, 1, 0, 0, 0),
       "age limit: notBefore + 90 days");
    ok(l.at[VERIFY_LIMIT_EXPIRY] == utc(2026, 4, 1, 12, 0, 0),
       "expiry: notAfter");
    ok(l.at[VERIFY_LIMIT_APPROVAL] == utc(2026, 12, 31, 16, 0, 0),
       "approval end: the Taipei midnight after the last day");
    ok(verify_date_taipei_start(20260301) == utc(2026, 2, 28, 16, 0, 0),
       "a Taipei day starts at 16:00 UTC the day before");

    now = utc(2026, 3, 1, 0, 0, 0);
    is_int(verify_limits_near(&l, now, 14 * DAY), 0,
           "a month before: nothing near");
    now = utc(2026, 3, 20, 0, 0, 0);
    is_int(verify_limits_near(&l, now, 14 * DAY),
           (1u << VERIFY_LIMIT_AGE) | (1u << VERIFY_LIMIT_EXPIRY),
           "twelve days before: age and expiry");
    is_str(verify_limits_format(&l, verify_limits_near(&l, now, 14 * DAY),
                                pool),
           "credential-age 2026-04-01T08:00:00+08:00, certificate-expiry "
           "2026-04-01T20:00:00+08:00", "the header text, Taipei time");
    is_int(verify_limits_near(&l, now, 0), 0, "warnings off");
    now = utc(2026, 4, 1, 0, 0, 0);
    is_int(verify_limits_near(&l, now, 14 * DAY), 1u << VERIFY_LIMIT_EXPIRY,
           "a limit reached is no warning: it is a refusal");
    now = utc(2026, 12, 20, 0, 0, 0);
    is_str(verify_limits_format(&l, verify_limits_near(&l, now, 14 * DAY),
                                pool), "approval-end 2027-01-01T00:00:00+08:00",
           "approval end alone");
    is_str(verify_limits_format(&l, 7, pool),
           "credential-age 2026-04-01T08:00:00+08:00, certificate-expiry "
           "2026-04-01T20:00:00+08:00, approval-end "
           "2027-01-01T00:00:00+08:00", "all three, in a fixed order");
    ok(verify_limits_format(&l, 0, pool) == NULL, "none: no header");

    verify_limits_set(&l, NULL, 90 * DAY, 20261231);
    ok(l.at[VERIFY_LIMIT_AGE] == 0 && l.at[VERIFY_LIMIT_EXPIRY] == 0,
       "no certificate: no certificate limits");
    is_str(verify_limit_name(VERIFY_LIMIT_EXPIRY), "certificate-expiry",
           "limit names");
}

static void test_durations(void)
{
    static const struct { const char *s; apr_int64_t sec; } good[] = {
        { "90d", 90 * 86400 }, { "36h", 36 * 3600 }, { "5min", 300 },
        { "1s", 1 }, { "3650d", 3650 * 86400LL }, { "87600h", 3650 * 86400LL },
    };
    static const char *const bad[] = {
        "90", "d", "", "90 d", "90days", "-1d", "0d", "3651d", "1.5d",
        "90D", "1w", "99999999999999999999d",
    };
    apr_interval_time_t d;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        d = 0;
        is_str(verify_duration_parse(good[i].s, &d), NULL, "%s parses",
               good[i].s);
        ok(d == apr_time_from_sec(good[i].sec), "%s is %lld s", good[i].s,
           (long long)good[i].sec);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(verify_duration_parse(bad[i], &d) != NULL, "\"%s\" refused",
           bad[i]);
    }
    is_str(verify_duration_parse("90", &d), "a duration is a whole number "
           "and a unit: d (days), h, min or s, as in 90d",
           "a bare number: 90 what?");
    is_str(verify_duration_parse("0d", &d), "a duration must be from 1s "
           "to 3650d", "the range");
    is_str(verify_duration_format(90 * DAY, pool), "90d", "format days");
    is_str(verify_duration_format(apr_time_from_sec(7200), pool), "2h",
           "format hours");
    is_str(verify_duration_format(apr_time_from_sec(90), pool), "90s",
           "format seconds");
    is_str(verify_duration_format(apr_time_from_sec(120), pool), "2min",
           "format minutes");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_cert();
    test_limits();
    test_durations();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
