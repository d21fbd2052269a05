/*
 * test_record.c -- sources, records and batch metadata, and their byte
 * codec (verify_record.c).
 */
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "verify.h"

static int rec_eq(const verify_record_t *a, const verify_record_t *b)
{
    return a->indigenous == b->indigenous && a->level == b->level
           && a->birth == b->birth && a->valid_until == b->valid_until
           && memcmp(a->name_tag, b->name_tag, VERIFY_NAME_TAG_LEN) == 0;
}

static void test_records(void)
{
    verify_record_t r, d;
    unsigned char buf[VERIFY_RECORD_MAX + 4];
    size_t n;
    int i, s;
    static const size_t want_len[VERIFY_SRC_COUNT] = { 22, 5, 6 };

    is_str(verify_source_name(VERIFY_SRC_HOUSEHOLD), "household", "name 0");
    is_str(verify_source_name(VERIFY_SRC_ELDERLY_ALONE), "elderly_alone",
           "name 1");
    is_str(verify_source_name(VERIFY_SRC_DISABILITY), "disability", "name 2");
    is_str(verify_source_name(VERIFY_SRC_COUNT), "?", "name out of range");
    for (s = 0; s < VERIFY_SRC_COUNT; s++) {
        is_int(verify_source_from_name(verify_source_name(s)), s,
               "from_name(%s)", verify_source_name(s));
    }
    is_int(verify_source_from_name("Household"), -1, "from_name is exact");
    is_int(verify_source_from_name(""), -1, "from_name empty");
    is_int(verify_source_from_name("meta"), -1, "from_name meta");

    /* household */
    memset(&r, 0, sizeof(r));
    r.indigenous = VERIFY_INDIGENOUS_PLAIN;
    r.birth = 19500102;
    for (i = 0; i < VERIFY_NAME_TAG_LEN; i++) {
        r.name_tag[i] = (unsigned char)(0xf0 ^ i);
    }
    n = verify_record_encode(VERIFY_SRC_HOUSEHOLD, &r, buf);
    is_int((long long)n, 22, "household record is 22 bytes");
    ok(buf[0] == VERIFY_RECORD_HOUSEHOLD_VERSION && buf[1] == 2
       && buf[2] == (19500102u >> 24) && buf[3] == ((19500102u >> 16) & 255)
       && buf[4] == ((19500102u >> 8) & 255) && buf[5] == (19500102u & 255)
       && memcmp(buf + 6, r.name_tag, 16) == 0,
       "household layout: version, indigenous, birth big-endian, name tag");
    memset(&d, 0xaa, sizeof(d));
    r.name_form = VERIFY_RECORD_HOUSEHOLD_VERSION;   /* as decoded */
    ok(verify_record_decode(VERIFY_SRC_HOUSEHOLD, buf, n, &d) == 0
       && rec_eq(&r, &d) && d.name_form == 2 && !d.has_romanised,
       "household round trip (fields it lacks are 0)");

    /* household format 2 with a romanised name: 38 bytes */
    for (i = 0; i < VERIFY_NAME_TAG_LEN; i++) {
        r.romanised_tag[i] = (unsigned char)(0x0f ^ i);
    }
    r.has_romanised = 1;
    n = verify_record_encode(VERIFY_SRC_HOUSEHOLD, &r, buf);
    is_int((long long)n, 38, "household record with a romanised name is "
           "38 bytes");
    memset(&d, 0xaa, sizeof(d));
    ok(verify_record_decode(VERIFY_SRC_HOUSEHOLD, buf, n, &d) == 0
       && d.has_romanised && d.name_form == 2
       && memcmp(d.romanised_tag, r.romanised_tag, 16) == 0
       && memcmp(d.name_tag, r.name_tag, 16) == 0,
       "household with a romanised name: round trip");
    buf[0] = 1;
    ok(verify_record_decode(VERIFY_SRC_HOUSEHOLD, buf, n, &d) == -1,
       "household format 1 has no romanised name: 38 bytes refused");
    /* format 1 (stores of earlier versions) is still read, old form */
    n = 22;
    ok(verify_record_decode(VERIFY_SRC_HOUSEHOLD, buf, n, &d) == 0
       && d.name_form == 1 && !d.has_romanised
       && memcmp(d.name_tag, r.name_tag, 16) == 0,
       "household format 1 still read, its names in the old normal form");

    /* elderly_alone */
    memset(&r, 0, sizeof(r));
    r.valid_until = 20271231;
    n = verify_record_encode(VERIFY_SRC_ELDERLY_ALONE, &r, buf);
    is_int((long long)n, 5, "elderly_alone record is 5 bytes");
    ok(buf[0] == 1 && buf[1] == (20271231u >> 24) && buf[4] == (20271231u & 255),
       "elderly_alone layout");
    memset(&d, 0xaa, sizeof(d));
    ok(verify_record_decode(VERIFY_SRC_ELDERLY_ALONE, buf, n, &d) == 0
       && rec_eq(&r, &d), "elderly_alone round trip");

    /* disability */
    memset(&r, 0, sizeof(r));
    r.level = 4;
    r.valid_until = 20280630;
    n = verify_record_encode(VERIFY_SRC_DISABILITY, &r, buf);
    is_int((long long)n, 6, "disability record is 6 bytes");
    ok(buf[0] == 1 && buf[1] == 4 && buf[5] == (20280630u & 255),
       "disability layout");
    memset(&d, 0xaa, sizeof(d));
    ok(verify_record_decode(VERIFY_SRC_DISABILITY, buf, n, &d) == 0
       && rec_eq(&r, &d), "disability round trip");

    /* every source: wrong lengths and versions refused */
    for (s = 0; s < VERIFY_SRC_COUNT; s++) {
        size_t l;
        int bad_ok = 1, v;
        memset(&r, 0, sizeof(r));
        r.level = 1;
        r.valid_until = 20300101;
        r.birth = 20000101;
        n = verify_record_encode(s, &r, buf);
        if (n != want_len[s]) {
            bad_ok = 0;
        }
        for (l = 0; l <= VERIFY_RECORD_MAX; l++) {
            /* household: 38 is the form with a romanised name */
            if (l != n && !(s == VERIFY_SRC_HOUSEHOLD && l == 38)
                && verify_record_decode(s, buf, l, &d) != -1) {
                bad_ok = 0;
                diag("%s: length %zu accepted", verify_source_name(s), l);
            }
        }
        ok(bad_ok, "%s: every length but %zu refused", verify_source_name(s),
           want_len[s]);
        bad_ok = 1;
        for (v = 0; v < 256; v++) {
            buf[0] = (unsigned char)v;
            int good = s == VERIFY_SRC_HOUSEHOLD
                       ? v == 1 || v == VERIFY_RECORD_HOUSEHOLD_VERSION
                       : v == VERIFY_RECORD_VERSION;
            if ((verify_record_decode(s, buf, n, &d) == 0) != good) {
                bad_ok = 0;
                diag("%s: version %d", verify_source_name(s), v);
            }
        }
        ok(bad_ok, "%s: only its versions accepted (%s)",
           verify_source_name(s), s == VERIFY_SRC_HOUSEHOLD ? "1 and 2" : "1");
    }
    memset(&r, 0, sizeof(r));
    is_int((long long)verify_record_encode(VERIFY_SRC_COUNT, &r, buf), 0,
           "encode for an unknown source gives 0");
    buf[0] = 1;
    is_int(verify_record_decode(VERIFY_SRC_COUNT, buf, 5, &d), -1,
           "decode for an unknown source fails");
}

/* Batch metadata: format 3 round trip, formats 2 and 1 still read, the
 * rest refused. */
static void test_batch_meta(void)
{
    verify_batch_t b, d;
    unsigned char buf[VERIFY_BATCH_META_LEN + 1];
    char as_of[26];
    size_t l;
    int i, bad_ok = 1;

    memset(&b, 0, sizeof(b));
    strcpy(b.batch_id, "0123456789abcdef0123456789abcdef");
    b.records = 0x0102030405060708ULL;
    b.imported_at = apr_time_from_sec(1795708799) + 5;
    b.approved_until = 20270630;
    b.signed_at = apr_time_from_sec(1795708000);
    b.flags = VERIFY_BATCH_PLAIN | VERIFY_BATCH_FORCED;
    for (i = 0; i < 32; i++) {
        b.sha256[i] = (unsigned char)(255 - i);
    }
    for (i = 0; i < VERIFY_KEY_CHECK_LEN; i++) {
        b.key_check[i] = (unsigned char)(i + 1);
    }
    is_int(VERIFY_BATCH_META_LEN, 110, "format 3 is 110 bytes");
    verify_batch_encode(&b, buf);
    ok(buf[0] == 3 && buf[1] == 1 && buf[8] == 8
       && memcmp(buf + 53, b.batch_id, 32) == 0
       && memcmp(buf + 85, b.key_check, VERIFY_KEY_CHECK_LEN) == 0
       && buf[109] == 3,
       "batch metadata layout: version 3, records big-endian, id, key "
       "check, flags last");
    memset(&d, 0xaa, sizeof(d));
    verify_time_format_s(b.imported_at, as_of);
    ok(verify_batch_decode(buf, VERIFY_BATCH_META_LEN, &d) == 0
       && d.records == b.records && d.imported_at == b.imported_at
       && d.approved_until == b.approved_until
       && memcmp(d.sha256, b.sha256, 32) == 0
       && strcmp(d.batch_id, b.batch_id) == 0 && d.have_key_check
       && memcmp(d.key_check, b.key_check, VERIFY_KEY_CHECK_LEN) == 0
       && d.signed_at == b.signed_at && d.flags == b.flags
       && strcmp(d.as_of, as_of) == 0,
       "batch metadata round trip, as_of from imported_at");

    buf[0] = 2;
    memset(&d, 0xaa, sizeof(d));
    ok(verify_batch_decode(buf, 101, &d) == 0 && d.have_key_check
       && d.signed_at == 0 && d.flags == 0
       && memcmp(d.key_check, b.key_check, VERIFY_KEY_CHECK_LEN) == 0,
       "format 2 (101 bytes, no signing time, no flags) is still read");
    buf[0] = 1;
    memset(&d, 0xaa, sizeof(d));
    ok(verify_batch_decode(buf, 85, &d) == 0 && !d.have_key_check
       && d.signed_at == 0 && d.flags == 0
       && d.records == b.records && strcmp(d.batch_id, b.batch_id) == 0,
       "format 1 (85 bytes, no key check) is still read");
    for (l = 0; l <= sizeof(buf); l++) {
        for (i = 1; i <= 3; i++) {
            size_t want = i == 1 ? 85 : i == 2 ? 101 : VERIFY_BATCH_META_LEN;
            buf[0] = (unsigned char)i;
            if (l != want && verify_batch_decode(buf, l, &d) == 0) {
                bad_ok = 0;
                diag("length %zu accepted as format %d", l, i);
            }
        }
    }
    buf[0] = 4;
    ok(bad_ok && verify_batch_decode(buf, VERIFY_BATCH_META_LEN, &d) != 0,
       "other lengths and versions refused");
}

int main(void)
{
    test_records();
    test_batch_meta();
    return done_testing();
}
