/*
 * test_store.c -- keys and pseudonyms, record encoding, batch intake
 * (CSV to records) and the LMDB store.
 *
 * Pseudonyms are recomputed here with OpenSSL's HMAC(); check digits of
 * generated IDs with the Ministry's rules; the store's contents are
 * re-read through the LMDB API directly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "verify.h"

#define TODAY 20261120u

static apr_pool_t *pool;
static char *base;
static verify_keys_t *keys;

/* the secret written to the key file (hex in the file) */
static unsigned char secret[32];

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw)
{
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static char *write_file(const char *name, const void *data, size_t len)
{
    char *path = apr_pstrcat(pool, base, "/", name, NULL);
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        diag("cannot write %s", path);
        exit(2);
    }
    return path;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = apr_palloc(pool, (size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* HMAC-SHA256(HMAC-SHA256(secret, label), data), with OpenSSL's HMAC() */
static void ref_tag(const char *label, const void *data, size_t len,
                    const unsigned char *sec, size_t seclen,
                    unsigned char out[32])
{
    unsigned char k[32];
    unsigned int kl = 0, ol = 0;

    HMAC(EVP_sha256(), sec, (int)seclen, (const unsigned char *)label,
         strlen(label), k, &kl);
    HMAC(EVP_sha256(), k, (int)kl, data, len, out, &ol);
}

static void store_key(const char *id, unsigned char out[32])
{
    ref_tag("mod_verify/store/v1", id, strlen(id), secret, 32, out);
}

static void name_tag(const char *norm, unsigned char out[32])
{
    ref_tag("mod_verify/name/v1", norm, strlen(norm), secret, 32, out);
}

static void sha256(const void *d, size_t n, unsigned char out[32])
{
    unsigned int l;

    EVP_Digest(d, n, out, &l, EVP_sha256(), NULL);
}

/* --- IDs with independently computed check digits ------------------ */

static int code_of(char c)
{
    static const char order[] = "ABCDEFGHJKLMNPQRSTUVXYWZIO";
    return 10 + (int)(strchr(order, c) - order);
}

static void make_id(char out[11], char letter, char second,
                    const char *seven)
{
    int code = code_of(letter), s, sum, i;

    s = (second >= '0' && second <= '9') ? second - '0'
                                          : code_of(second) % 10;
    sum = code / 10 + (code % 10) * 9 + s * 8;
    for (i = 0; i < 7; i++) {
        sum += (seven[i] - '0') * (7 - i);
    }
    out[0] = letter;
    out[1] = second;
    memcpy(out + 2, seven, 7);
    out[9] = (char)('0' + (10 - sum % 10) % 10);
    out[10] = '\0';
}

static const char *gen_id(unsigned i)
{
    static char id[11];
    char seven[8];

    snprintf(seven, sizeof(seven), "%07u", i % 10000000u);
    make_id(id, (char)('A' + i % 26), (i & 1) ? '2' : '1', seven);
    return id;
}

/* ------------------------------------------------------------------ */
/* keys                                                                */
/* ------------------------------------------------------------------ */

static void test_keys(void)
{
    char hex[80], *path, *err;
    unsigned char got[32], want[32];
    static const char *labels[VERIFY_KEY_COUNT] = {
        "mod_verify/store/v1", "mod_verify/subject/v1", "mod_verify/name/v1"
    };
    apr_status_t rv;
    verify_keys_t *k;
    char *big;
    int i, u, all;

    for (i = 0; i < 32; i++) {
        secret[i] = (unsigned char)(i * 37 + 11);
        sprintf(hex + 2 * i, "%02x", secret[i]);
    }
    strcat(hex, "\n");
    path = write_file("key.hex", hex, strlen(hex));
    err = NULL;
    rv = verify_keys_load(&keys, path, &err, pool);
    ok(rv == APR_SUCCESS && keys != NULL, "load a 64-hex-digit key file");
    if (rv != APR_SUCCESS) {
        diag("error: %s", err);
        exit(1);
    }

    all = 1;
    for (u = 0; u < VERIFY_KEY_COUNT; u++) {
        static const char *data[] = { "A123456789", "", "\xe7\x8e\x8b" };
        for (i = 0; i < 3; i++) {
            verify_keys_tag(keys, (verify_key_use_t)u, data[i],
                            strlen(data[i]), got);
            ref_tag(labels[u], data[i], strlen(data[i]), secret, 32, want);
            if (memcmp(got, want, 32) != 0) {
                all = 0;
                diag("use %d, data \"%s\": tag differs", u, data[i]);
            }
        }
    }
    ok(all, "verify_keys_tag = HMAC(HMAC(secret, label), data) for all "
       "three uses");
    {
        char *longdata = apr_palloc(pool, 5000);
        memset(longdata, 'q', 5000);
        verify_keys_tag(keys, VERIFY_KEY_STORE, longdata, 5000, got);
        ref_tag(labels[0], longdata, 5000, secret, 32, want);
        ok(memcmp(got, want, 32) == 0, "tag of 5000 bytes of data");
    }
    verify_keys_tag(keys, VERIFY_KEY_STORE, "A123456789", 10, got);
    verify_keys_tag(keys, VERIFY_KEY_SUBJECT, "A123456789", 10, want);
    ok(memcmp(got, want, 32) != 0, "store and subject tags differ");
    {
        char h[65];
        verify_hex((const unsigned char *)"\x00\x01\xab\xff", 4, h);
        is_str(h, "0001abff", "verify_hex");
    }

    /* the same secret as upper-case hex with whitespace */
    {
        char spaced[200];
        size_t n = 0;
        verify_keys_t *k2;
        for (i = 0; i < 32; i++) {
            n += (size_t)sprintf(spaced + n, "%02X%s", secret[i],
                                 i % 4 == 3 ? "\r\n" : " ");
        }
        path = write_file("key.spaced", spaced, n);
        rv = verify_keys_load(&k2, path, &err, pool);
        verify_keys_tag(k2 ? k2 : keys, VERIFY_KEY_STORE, "x", 1, got);
        verify_keys_tag(keys, VERIFY_KEY_STORE, "x", 1, want);
        ok(rv == APR_SUCCESS && k2 && memcmp(got, want, 32) == 0,
           "upper-case hex with spaces and CRLF: same secret");
    }

    /* a raw (non-hex) secret: its bytes as they are */
    {
        static const char raw[] = "correct horse battery staple -- and more";
        path = write_file("key.raw", raw, sizeof(raw) - 1);
        rv = verify_keys_load(&k, path, &err, pool);
        ok(rv == APR_SUCCESS && k, "a raw 40-byte secret loads");
        if (k) {
            verify_keys_tag(k, VERIFY_KEY_STORE, "A123456789", 10, got);
            ref_tag(labels[0], "A123456789", 10, (const unsigned char *)raw,
                    sizeof(raw) - 1, want);
            ok(memcmp(got, want, 32) == 0, "raw secret: its bytes are the "
               "HMAC key");
        }
        else {
            ok(0, "raw secret: its bytes are the HMAC key");
        }
    }
    {
        static const char raw32[] = "0123456789 is not hex: !!!!!!!!!";
        path = write_file("key.raw32", raw32, 32);
        rv = verify_keys_load(&k, path, &err, pool);
        ok(rv == APR_SUCCESS && k, "a raw secret of exactly 32 bytes loads");
        if (k) {
            verify_keys_tag(k, VERIFY_KEY_STORE, "A123456789", 10, got);
            ref_tag(labels[0], "A123456789", 10,
                    (const unsigned char *)raw32, 32, want);
            ok(memcmp(got, want, 32) == 0,
               "raw secret starting with hex digits and spaces: its bytes "
               "as they are are the HMAC key");
        }
        else {
            ok(0, "raw secret starting with hex digits: bytes as they are");
        }
    }

    /* faults */
    err = NULL;
    k = (verify_keys_t *)1;
    rv = verify_keys_load(&k, apr_pstrcat(pool, base, "/no-such.key", NULL),
                          &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err && strstr(err, "no-such.key"),
       "missing key file: error naming it (%s)", err ? err : "-");

    err = NULL;
    path = write_file("key.short", "0123456789abcdefghijklmnopqrstu", 31);
    rv = verify_keys_load(&k, path, &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err != NULL,
       "31 raw bytes: too short (%s)", err ? err : "-");

    err = NULL;
    path = write_file("key.short.hex", hex, 62);      /* 31 bytes */
    rv = verify_keys_load(&k, path, &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err != NULL,
       "62 hex digits (31 bytes): too short");

    err = NULL;
    path = write_file("key.empty", "", 0);
    rv = verify_keys_load(&k, path, &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err != NULL, "empty key file refused");

    err = NULL;
    big = apr_palloc(pool, 4097);
    memset(big, 'k', 4097);
    path = write_file("key.big", big, 4097);
    rv = verify_keys_load(&k, path, &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err != NULL,
       "key file over 4096 bytes refused");

    err = NULL;
    rv = verify_keys_load(&k, base, &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err != NULL,
       "a directory as key file refused");

    /* name normalisation */
    {
        char out[64];
        size_t n;
        n = verify_name_normalise("  wang xiao-ming\t", 17, out, sizeof(out));
        ok(n == 14 && strcmp(out, "WANG XIAO-MING") == 0,
           "name: trimmed and upper-cased");
        n = verify_name_normalise("\xe3\x80\x80\xe7\x8e\x8b\xe3\x80\x80 ", 10,
                                  out, sizeof(out));
        ok(n == 3 && strcmp(out, "\xe7\x8e\x8b") == 0,
           "name: ideographic spaces trimmed");
        n = verify_name_normalise(" \xe3\x80\x80\t", 5, out, sizeof(out));
        ok(n == 0 && out[0] == '\0', "name: only spaces -> 0");
        n = verify_name_normalise("abcdef", 6, out, 4);
        ok(n == 3 && strcmp(out, "ABC") == 0, "name: cut to outlen - 1");
    }
}

/* ------------------------------------------------------------------ */
/* records                                                             */
/* ------------------------------------------------------------------ */

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
    ok(buf[0] == VERIFY_RECORD_VERSION && buf[1] == 2
       && buf[2] == (19500102u >> 24) && buf[3] == ((19500102u >> 16) & 255)
       && buf[4] == ((19500102u >> 8) & 255) && buf[5] == (19500102u & 255)
       && memcmp(buf + 6, r.name_tag, 16) == 0,
       "household layout: version, indigenous, birth big-endian, name tag");
    memset(&d, 0xaa, sizeof(d));
    ok(verify_record_decode(VERIFY_SRC_HOUSEHOLD, buf, n, &d) == 0
       && rec_eq(&r, &d), "household round trip (fields it lacks are 0)");

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
            if (l != n && verify_record_decode(s, buf, l, &d) != -1) {
                bad_ok = 0;
                diag("%s: length %zu accepted", verify_source_name(s), l);
            }
        }
        ok(bad_ok, "%s: every length but %zu refused", verify_source_name(s),
           want_len[s]);
        bad_ok = 1;
        for (v = 0; v < 256; v++) {
            buf[0] = (unsigned char)v;
            if ((verify_record_decode(s, buf, n, &d) == 0)
                != (v == VERIFY_RECORD_VERSION)) {
                bad_ok = 0;
                diag("%s: version %d", verify_source_name(s), v);
            }
        }
        ok(bad_ok, "%s: only version %d accepted", verify_source_name(s),
           VERIFY_RECORD_VERSION);
    }
    memset(&r, 0, sizeof(r));
    is_int((long long)verify_record_encode(VERIFY_SRC_COUNT, &r, buf), 0,
           "encode for an unknown source gives 0");
    buf[0] = 1;
    is_int(verify_record_decode(VERIFY_SRC_COUNT, buf, 5, &d), -1,
           "decode for an unknown source fails");
}

/* ------------------------------------------------------------------ */
/* intake                                                              */
/* ------------------------------------------------------------------ */

static apr_status_t intake_src(verify_source_t src, const char *csv,
                               size_t len, verify_import_rec_t **recs,
                               size_t *n, char **err)
{
    *err = NULL;
    return verify_intake(src, csv, len, keys, TODAY, recs, n, err, pool);
}

static apr_status_t intake(const char *csv, verify_import_rec_t **recs,
                           size_t *n, char **err)
{
    return intake_src(VERIFY_SRC_HOUSEHOLD, csv, strlen(csv), recs, n, err);
}

/* Does record i of recs carry this id/name/birth/indigenous and line? */
static int rec_is(const verify_import_rec_t *r, unsigned long line,
                  const char *id, const char *norm_name, verify_date_t birth,
                  int indigenous)
{
    unsigned char k[32], nt[32];
    verify_record_t d;

    store_key(id, k);
    name_tag(norm_name, nt);
    if (r->line != line || memcmp(r->key, k, 32) != 0 || r->vlen != 22
        || verify_record_decode(VERIFY_SRC_HOUSEHOLD, r->val, r->vlen, &d)
        || d.birth != birth || d.indigenous != indigenous
        || memcmp(d.name_tag, nt, 16) != 0) {
        diag("record of line %lu (want %lu, %s, %s, %u, %d) differs",
             r->line, line, id, norm_name, birth, indigenous);
        return 0;
    }
    return 1;
}

static void test_intake_ok(void)
{
    verify_import_rec_t *recs;
    size_t n;
    char *err;
    apr_status_t rv;
    char id1[11], id2[11], id3[11], id4[11], id5[11], csv[2048];

    make_id(id1, 'A', '1', "2345678");        /* A123456789 */
    make_id(id2, 'F', '2', "0012345");
    make_id(id3, 'M', '8', "0000123");
    make_id(id4, 'Z', 'C', "7654321");
    make_id(id5, 'I', '1', "1111111");
    is_str(id1, "A123456789", "helper makes A123456789");

    snprintf(csv, sizeof(csv),
             "id,name,birth_date,indigenous\n"
             "%s,\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e,1950-01-02,\n"
             "%s, Lee Mei-ling ,0390102,mountain\n"
             "%s,Chen,113/10/25,plain\n"
             "%s,\xe6\x9e\x97,2026-11-20,\xe5\xb1\xb1\xe5\x9c\xb0\n"
             "%s,Wu,39/01/02,\xe5\xb9\xb3\xe5\x9c\xb0\n",
             id1, id2, id3, id4, id5);
    rv = intake(csv, &recs, &n, &err);
    ok(rv == APR_SUCCESS && n == 5, "English header, 5 records (%s)",
       err ? err : "no error");
    if (rv == APR_SUCCESS && n == 5) {
        ok(rec_is(&recs[0], 2, id1, "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e",
                  19500102, VERIFY_INDIGENOUS_NONE),
           "line 2: CJK name, ISO date, no indigenous status");
        ok(rec_is(&recs[1], 3, id2, "LEE MEI-LING", 19500102,
                  VERIFY_INDIGENOUS_MOUNTAIN),
           "line 3: name trimmed and upper-cased, ROC YYYMMDD, mountain");
        ok(rec_is(&recs[2], 4, id3, "CHEN", 20241025,
                  VERIFY_INDIGENOUS_PLAIN),
           "line 4: resident number, ROC YYY/MM/DD, plain");
        ok(rec_is(&recs[3], 5, id4, "\xe6\x9e\x97", TODAY,
                  VERIFY_INDIGENOUS_MOUNTAIN),
           "line 5: old resident number, born today, 山地");
        ok(rec_is(&recs[4], 6, id5, "WU", 19500102, VERIFY_INDIGENOUS_PLAIN),
           "line 6: letter I, ROC YY/MM/DD, 平地");
    }

    /* Chinese header, other column order, BOM, CRLF, quoting, blank
     * lines, lower-case ID, no final newline */
    snprintf(csv, sizeof(csv),
             "\xef\xbb\xbf"
             "\xe5\xa7\x93\xe5\x90\x8d,"                      /* 姓名 */
             "\xe5\x8e\x9f\xe4\xbd\x8f\xe6\xb0\x91\xe8\xba\xab\xe5\x88\x86"
             "\xe5\x88\xa5,"                                  /* 原住民身分別 */
             "\xe7\xb5\xb1\xe4\xb8\x80\xe7\xb7\xa8\xe8\x99\x9f,"  /* 統一編號 */
             "\xe5\x87\xba\xe7\x94\x9f\xe6\x97\xa5\xe6\x9c\x9f"   /* 出生日期 */
             "\r\n"
             "\"Wang, Xiao-ming\",\"\",\"%s\",\"1950-01-02\"\r\n"
             "\r\n"
             "\"O\"\"Brien\",MOUNTAIN,%c%s,1131025\r\n"
             "\"\xe9\x99\xb3\",\xe5\xb1\xb1\xe5\x9c\xb0\xe5\x8e\x9f\xe4\xbd"
             "\x8f\xe6\xb0\x91,%s,2000-02-29",
             id1, id2[0] + 32, id2 + 1, id3);
    rv = intake(csv, &recs, &n, &err);
    ok(rv == APR_SUCCESS && n == 3, "Chinese header with BOM and CRLF, "
       "3 records (%s)", err ? err : "no error");
    if (rv == APR_SUCCESS && n == 3) {
        ok(rec_is(&recs[0], 2, id1, "WANG, XIAO-MING", 19500102, 0),
           "line 2: quoted fields, comma inside a quoted name");
        ok(rec_is(&recs[1], 4, id2, "O\"BRIEN", 20241025,
                  VERIFY_INDIGENOUS_MOUNTAIN),
           "line 4 (after a blank line): doubled quote, lower-case ID, "
           "MOUNTAIN in capitals");
        ok(rec_is(&recs[2], 5, id3, "\xe9\x99\xb3", 20000229,
                  VERIFY_INDIGENOUS_MOUNTAIN),
           "line 5: no final newline, 山地原住民");
    }

    /* header names with spaces and in capitals */
    snprintf(csv, sizeof(csv), " ID , Name ,BIRTH_DATE,Indigenous\n"
             "%s,x,1990-12-31,\n", id1);
    rv = intake(csv, &recs, &n, &err);
    ok(rv == APR_SUCCESS && n == 1 && rec_is(&recs[0], 2, id1, "X", 19901231, 0),
       "header names trimmed and case-insensitive");

    /* other Chinese header names */
    snprintf(csv, sizeof(csv),
             "\xe8\xba\xab\xe5\x88\x86\xe8\xad\x89\xe5\xad\x97\xe8\x99\x9f,"
             "\xe5\xa7\x93\xe5\x90\x8d,"
             "\xe5\x87\xba\xe7\x94\x9f\xe5\xb9\xb4\xe6\x9c\x88\xe6\x97\xa5,"
             "\xe5\x8e\x9f\xe4\xbd\x8f\xe6\xb0\x91\xe5\x88\xa5\n"
             "%s,x,0390102,\xe5\xb9\xb3\n", id1);
    rv = intake(csv, &recs, &n, &err);
    ok(rv == APR_SUCCESS && n == 1
       && rec_is(&recs[0], 2, id1, "X", 19500102, VERIFY_INDIGENOUS_PLAIN),
       "身分證字號/出生年月日/原住民別 and 平");

    /* header only */
    rv = intake("id,name,birth_date,indigenous\n", &recs, &n, &err);
    ok(rv == APR_SUCCESS && n == 0, "header only: success, no records");

    /* 64-character name is fine */
    {
        char name[64 * 3 + 1];
        int i;
        for (i = 0; i < 64; i++) {
            memcpy(name + 3 * i, "\xe7\x8e\x8b", 3);
        }
        name[64 * 3] = '\0';
        snprintf(csv, sizeof(csv), "id,name,birth_date,indigenous\n"
                 "%s,%s,1990-12-31,\n", id1, name);
        rv = intake(csv, &recs, &n, &err);
        ok(rv == APR_SUCCESS && n == 1, "a 64-character name is accepted");
    }

    /* elderly_alone and disability */
    snprintf(csv, sizeof(csv), "id,valid_until\n%s,2027-12-31\n%s,1161231\n",
             id1, id2);
    rv = intake_src(VERIFY_SRC_ELDERLY_ALONE, csv, strlen(csv), &recs, &n,
                    &err);
    {
        verify_record_t d;
        unsigned char k[32];
        store_key(id2, k);
        ok(rv == APR_SUCCESS && n == 2
           && verify_record_decode(VERIFY_SRC_ELDERLY_ALONE, recs[1].val,
                                   recs[1].vlen, &d) == 0
           && d.valid_until == 20271231 && memcmp(recs[1].key, k, 32) == 0,
           "elderly_alone intake (valid_until, ROC date)");
    }
    snprintf(csv, sizeof(csv),
             "\xe8\xba\xab\xe5\x88\x86\xe8\xad\x89\xe5\xad\x97\xe8\x99\x9f,"
             "\xe9\x9a\x9c\xe7\xa4\x99\xe7\xad\x89\xe7\xb4\x9a,"  /* 障礙等級 */
             "\xe6\x9c\x89\xe6\x95\x88\xe6\x9c\x9f\xe9\x99\x90\n" /* 有效期限 */
             "%s,\xe9\x87\x8d\xe5\xba\xa6,115/12/31\n"            /* 重度 */
             "%s,2,2030-01-01\n", id1, id2);
    rv = intake_src(VERIFY_SRC_DISABILITY, csv, strlen(csv), &recs, &n, &err);
    {
        verify_record_t d0, d1;
        ok(rv == APR_SUCCESS && n == 2
           && verify_record_decode(VERIFY_SRC_DISABILITY, recs[0].val,
                                   recs[0].vlen, &d0) == 0
           && verify_record_decode(VERIFY_SRC_DISABILITY, recs[1].val,
                                   recs[1].vlen, &d1) == 0
           && d0.level == 3 && d0.valid_until == 20261231 && d1.level == 2,
           "disability intake (重度 = 3, level 2)");
    }
}

/* One fault: rv, line, no clear ID, masked ID shown where expected. */
static void fault_case(const char *what, const char *csv, size_t len,
                       unsigned long line, const char *clear_id,
                       const char *masked, const char *phrase)
{
    verify_import_rec_t *recs = (verify_import_rec_t *)1;
    size_t n = 99;
    char *err = NULL, prefix[32];
    apr_status_t rv;
    int good;

    rv = intake_src(VERIFY_SRC_HOUSEHOLD, csv, len, &recs, &n, &err);
    snprintf(prefix, sizeof(prefix), "line %lu: ", line);
    good = rv != APR_SUCCESS && err != NULL && recs == NULL && n == 0
           && strncmp(err, prefix, strlen(prefix)) == 0;
    ok(good, "%s: refused, names line %lu", what, line);
    if (!good) {
        diag("rv %d, err: %s", rv, err ? err : "NULL");
    }
    if (clear_id) {
        char lower[11];
        size_t i;
        for (i = 0; i < 10; i++) {
            lower[i] = (char)((clear_id[i] >= 'A' && clear_id[i] <= 'Z')
                              ? clear_id[i] + 32 : clear_id[i]);
        }
        lower[10] = '\0';
        if (!ok(err && !strstr(err, clear_id) && !strstr(err, lower)
                && !strstr(err, apr_pstrndup(pool, clear_id + 3, 5)),
                "%s: the clear ID is not in the message", what)) {
            diag("err: %s", err ? err : "NULL");
        }
    }
    if (masked) {
        char *want = apr_psprintf(pool, "(id %s)", masked);
        ok(err && strstr(err, want), "%s: the masked ID %s is", what, want);
        if (err && !strstr(err, want)) {
            diag("err: %s", err);
        }
    }
    if (phrase) {
        ok(err && strstr(err, phrase), "%s: says \"%s\"", what, phrase);
        if (err && !strstr(err, phrase)) {
            diag("err: %s", err);
        }
    }
}

static void test_intake_faults(void)
{
    char good1[11], good2[11], bad_id[11], id[11];
    const char *hdr = "id,name,birth_date,indigenous\n";
    char *pre, *csv;

    make_id(good1, 'B', '1', "1111111");
    make_id(good2, 'C', '2', "2222222");
    make_id(id, 'D', '1', "3141592");
    strcpy(bad_id, id);
    bad_id[9] = (char)('0' + (bad_id[9] - '0' + 3) % 10);
    /* header, two good records and a blank line: the fault is on line 5 */
    pre = apr_psprintf(pool, "%s%s,Good One,1960-05-05,\n\n"
                       "%s,Good Two,1961-06-06,plain\n", hdr, good1, good2);

#define FAULT(what, row, clear, mask, phrase)                               \
    do {                                                                    \
        csv = apr_pstrcat(pool, pre, row, NULL);                            \
        fault_case(what, csv, strlen(csv), 5, clear, mask, phrase);         \
    } while (0)

    FAULT("bad checksum", apr_psprintf(pool, "%s,Bad Sum,1970-01-01,\n",
                                       bad_id),
          bad_id, apr_psprintf(pool, "D13*****%c%c", bad_id[8], bad_id[9]),
          "check digit");
    {
        char low[11];
        strcpy(low, bad_id);
        low[0] = 'd';
        FAULT("bad checksum, lower case",
              apr_psprintf(pool, "%s,Bad Sum,1970-01-01,\n", low),
              bad_id, apr_psprintf(pool, "D13*****%c%c", bad_id[8],
                                   bad_id[9]), "check digit");
    }
    FAULT("ID of 11 characters", apr_psprintf(pool, "%s7,X,1970-01-01,\n", id),
          id, "*", "10 characters");
    FAULT("ID with a bad second character",
          apr_psprintf(pool, "D3%s,X,1970-01-01,\n", id + 2), NULL,
          apr_psprintf(pool, "D3%c*****%c%c", id[2], id[8], id[9]), "kind");
    FAULT("empty ID", ",X,1970-01-01,\n", NULL, "*", "empty");
    FAULT("bad date", apr_psprintf(pool, "%s,X,2023-02-29,\n", id), id,
          apr_psprintf(pool, "D13*****%c%c", id[8], id[9]), "birth_date");
    FAULT("bad ROC date", apr_psprintf(pool, "%s,X,1120229,\n", id), id,
          apr_psprintf(pool, "D13*****%c%c", id[8], id[9]), "birth_date");
    FAULT("date in another format", apr_psprintf(pool, "%s,X,02/01/1950,\n",
                                                 id),
          id, NULL, "birth_date");
    FAULT("empty date", apr_psprintf(pool, "%s,X,,\n", id), id, NULL,
          "birth_date");
    FAULT("future birth date", apr_psprintf(pool, "%s,X,2026-11-21,\n", id),
          id, apr_psprintf(pool, "D13*****%c%c", id[8], id[9]), "future");
    FAULT("future ROC birth date", apr_psprintf(pool, "%s,X,1151121,\n", id),
          id, NULL, "future");
    FAULT("unknown indigenous value",
          apr_psprintf(pool, "%s,X,1970-01-01,forest\n", id), id,
          apr_psprintf(pool, "D13*****%c%c", id[8], id[9]), "indigenous");
    FAULT("indigenous 'yes'", apr_psprintf(pool, "%s,X,1970-01-01,yes\n", id),
          id, NULL, "indigenous");
    FAULT("wrong field count (3)", apr_psprintf(pool, "%s,X,1970-01-01\n", id),
          id, NULL, "fields");
    FAULT("wrong field count (5)",
          apr_psprintf(pool, "%s,X,1970-01-01,,extra\n", id), id, NULL,
          "fields");
    FAULT("wrong field count (1)", apr_psprintf(pool, "%s\n", id), id, NULL,
          "fields");
    FAULT("empty name", apr_psprintf(pool, "%s,,1970-01-01,\n", id), id,
          apr_psprintf(pool, "D13*****%c%c", id[8], id[9]), "empty");
    FAULT("name of spaces", apr_psprintf(pool, "%s,   ,1970-01-01,\n", id), id,
          NULL, "empty");
    FAULT("name of ideographic spaces",
          apr_psprintf(pool, "%s,\xe3\x80\x80\xe3\x80\x80,1970-01-01,\n", id),
          id, NULL, "empty");
    FAULT("name with a control character",
          apr_psprintf(pool, "%s,\"a\x01z\",1970-01-01,\n", id), id,
          apr_psprintf(pool, "D13*****%c%c", id[8], id[9]), "UTF-8");
    {
        char name[65 * 3 + 1];
        int i;
        for (i = 0; i < 65; i++) {
            memcpy(name + 3 * i, "\xe7\x8e\x8b", 3);
        }
        name[65 * 3] = '\0';
        FAULT("65-character name",
              apr_psprintf(pool, "%s,%s,1970-01-01,\n", id, name), id, NULL,
              "longer");
    }
    FAULT("invalid UTF-8 in the name",
          apr_psprintf(pool, "%s,W\xff" "ng,1970-01-01,\n", id), id, NULL,
          "UTF-8");
    FAULT("Big5 bytes in the name",
          apr_psprintf(pool, "%s,\xa4\xfd\xa4\x70\xa9\xfa,1970-01-01,\n", id),
          id, NULL, "UTF-8");
    FAULT("overlong UTF-8", apr_psprintf(pool, "%s,\xc0\xaf,1970-01-01,\n", id),
          id, NULL, "UTF-8");
    FAULT("stray quote", apr_psprintf(pool, "%s,Wa\"ng,1970-01-01,\n", id),
          id, NULL, "quote");
    FAULT("text after a closing quote",
          apr_psprintf(pool, "%s,\"Wang\"x,1970-01-01,\n", id), id, NULL,
          "quote");
    FAULT("unterminated quote",
          apr_psprintf(pool, "%s,\"Wang,1970-01-01,\n", id), id, NULL,
          "quote");
    FAULT("17 fields", apr_psprintf(pool, "%s,a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p\n",
                                    id), id, NULL, "fields");
#undef FAULT

    /* a NUL byte */
    {
        const char *row = apr_psprintf(pool, "%s,Wa", id);
        size_t pl = strlen(pre), rl = strlen(row);
        char *buf = apr_palloc(pool, pl + rl + 20);
        memcpy(buf, pre, pl);
        memcpy(buf + pl, row, rl);
        memcpy(buf + pl + rl, "\0ng,1970-01-01,\n", 16);
        fault_case("NUL byte", buf, pl + rl + 16, 5, id, NULL, "NUL");
    }

    /* header faults: line 1 */
    fault_case("missing column", "id,name,birth_date\nA123456789,X,1970-01-01\n",
               strlen("id,name,birth_date\nA123456789,X,1970-01-01\n"), 1,
               "A123456789", NULL, "missing column indigenous");
    csv = "id,name,birth_date,indigenous,phone\n";
    fault_case("unknown column", csv, strlen(csv), 1, NULL, NULL,
               "unknown column \"phone\"");
    csv = "id,name,birth_date,indigenous,level\n";
    fault_case("column of another source", csv, strlen(csv), 1, NULL, NULL,
               "unknown column");
    csv = "id,name,birth_date,id\n";
    fault_case("column given twice", csv, strlen(csv), 1, NULL, NULL, "twice");
    csv = "\xe7\xb5\xb1\xe4\xb8\x80\xe7\xb7\xa8\xe8\x99\x9f,id,name,"
          "birth_date,indigenous\n";
    fault_case("統一編號 and id both", csv, strlen(csv), 1, NULL, NULL,
               "twice");
    csv = "A123456789,X,1970-01-01,\n";
    fault_case("no header", csv, strlen(csv), 1, "A123456789", NULL, "header");
    fault_case("empty file", "", 0, 1, NULL, NULL, "empty");
    csv = "\xef\xbb\xbf\n\r\n\n";
    fault_case("only a BOM and blank lines", csv, strlen(csv), 1, NULL, NULL,
               "empty");
    /* a blank line before the header counts */
    csv = apr_psprintf(pool, "\n%s%s,X,1970-01-01,nope\n", hdr, id);
    fault_case("fault after a leading blank line", csv, strlen(csv), 3, id,
               NULL, "indigenous");
    /* a quoted name spanning lines: the record's first line is named */
    csv = apr_psprintf(pool, "%s%s,X,1970-01-01,\n\"%s\",\"two\nlines\","
                       "1970-01-01,\n", hdr, good1, id);
    fault_case("a name spanning two lines", csv, strlen(csv), 3, id,
               apr_psprintf(pool, "D13*****%c%c", id[8], id[9]), "UTF-8");
}

/* verify_csv_parse itself: fields, quoting and line numbers */
typedef struct {
    char got[1024];
    size_t len;
    int stop_at;
    int rows;
} csv_ctx_t;

static int csv_row(void *ctx, unsigned long line, const char *const *f,
                   const size_t *lens, int n)
{
    csv_ctx_t *c = ctx;
    int i;

    c->len += (size_t)snprintf(c->got + c->len, sizeof(c->got) - c->len,
                               "%lu:", line);
    for (i = 0; i < n; i++) {
        c->len += (size_t)snprintf(c->got + c->len, sizeof(c->got) - c->len,
                                   "[%.*s]", (int)lens[i], f[i]);
    }
    c->len += (size_t)snprintf(c->got + c->len, sizeof(c->got) - c->len,
                               ";");
    return ++c->rows == c->stop_at ? 42 : 0;
}

static void test_csv_parse(void)
{
    static const struct {
        const char *in, *want, *err;
    } cases[] = {
        { "a,b\nc,d\n", "1:[a][b];2:[c][d];", NULL },
        { "a,b\r\nc,d", "1:[a][b];2:[c][d];", NULL },
        { "\xef\xbb\xbf" "a\n", "1:[a];", NULL },
        { "\n\r\n\na\n\n", "4:[a];", NULL },
        { "a,,\n", "1:[a][][];", NULL },
        { ",\n", "1:[][];", NULL },
        { "\"a,b\",\"c\"\"d\"\n", "1:[a,b][c\"d];", NULL },
        { "\"\"\n", "1:[];", NULL },
        { "x,\"two\nlines\",y\nz\n", "1:[x][two\nlines][y];3:[z];", NULL },
        { "x,\"a\r\nb\"\r\nz\r\n", "1:[x][a\r\nb];3:[z];", NULL },
        { "a b , c\n", "1:[a b ][ c];", NULL },
        { "a,b\"c\n", "", "line 1: quote inside an unquoted field" },
        { "ok\nx,\"two\nlines\"\nbad\"\n", "1:[ok];2:[x][two\nlines];",
          "line 4: quote inside an unquoted field" },
        { "ok\n\"abc\"d\n", "1:[ok];", "line 2: text after a closing quote" },
        { "ok\n\"abc\n", "1:[ok];", "line 2: quoted field not closed" },
        { "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n",
          "1:[1][2][3][4][5][6][7][8][9][10][11][12][13][14][15][16];", NULL },
        { "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n", "",
          "line 1: more than 16 fields" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        csv_ctx_t c;
        char *err = NULL;
        int rc;
        memset(&c, 0, sizeof(c));
        rc = verify_csv_parse(cases[i].in, strlen(cases[i].in), csv_row, &c,
                              &err, pool);
        ok(rc == (cases[i].err ? -1 : 0) && strcmp(c.got, cases[i].want) == 0
           && (cases[i].err ? err && strcmp(err, cases[i].err) == 0 : 1),
           "csv case %zu", i + 1);
        if (strcmp(c.got, cases[i].want) != 0
            || (cases[i].err && (!err || strcmp(err, cases[i].err)))) {
            diag("got rows \"%s\" rc %d err %s", c.got, rc, err ? err : "-");
        }
    }
    {
        csv_ctx_t c;
        char *err = NULL;
        memset(&c, 0, sizeof(c));
        c.stop_at = 2;
        is_int(verify_csv_parse("a\nb\nc\n", 6, csv_row, &c, &err, pool), 42,
               "csv: a callback's non-zero value stops the parse");
        is_str(c.got, "1:[a];2:[b];", "csv: no row after the stop");
        memset(&c, 0, sizeof(c));
        is_int(verify_csv_parse("a\nb\0c\n", 6, csv_row, &c, &err, pool), -1,
               "csv: NUL byte refused");
        is_str(err, "line 2: NUL byte in file", "csv: NUL names its line");
        is_str(c.got, "", "csv: nothing delivered before a NUL fault");
    }
}

/* ------------------------------------------------------------------ */
/* the store                                                           */
/* ------------------------------------------------------------------ */

static int lookup1(verify_store_t *st, const char *id, verify_lookup_t *lk)
{
    unsigned char k[32];
    const char *err = NULL;

    store_key(id, k);
    if (verify_store_lookup(st, k, 7, lk, &err) != APR_SUCCESS) {
        diag("lookup failed: %s", err ? err : "?");
        return -1;
    }
    return lk->found[VERIFY_SRC_HOUSEHOLD];
}

static int batch_eq(const verify_batch_t *a, const verify_batch_t *b)
{
    return strcmp(a->batch_id, b->batch_id) == 0 && a->records == b->records
           && a->imported_at == b->imported_at
           && a->approved_until == b->approved_until
           && memcmp(a->sha256, b->sha256, 32) == 0
           && strcmp(a->as_of, b->as_of) == 0;
}

static int as_of_shape(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd+08:00";
    size_t i;

    if (strlen(s) != 25) {
        return 0;
    }
    for (i = 0; i < 25; i++) {
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9')
                            : s[i] != shape[i]) {
            return 0;
        }
    }
    return 1;
}

/* The batch metadata of @p src, as a lookup of no ID sees it;
 * APR_NOTFOUND if the source was never imported. */
static apr_status_t store_batch(verify_store_t *st, verify_source_t src,
                                verify_batch_t *out)
{
    static const unsigned char nokey[VERIFY_TAG_LEN];
    verify_lookup_t lk;
    const char *err;
    apr_status_t rv;

    rv = verify_store_lookup(st, nokey, 1u << src, &lk, &err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!lk.have_batch[src]) {
        return APR_NOTFOUND;
    }
    *out = lk.batch[src];
    return APR_SUCCESS;
}

/* Keys of one database, read with the LMDB API (store closed). */
static size_t lmdb_count(const char *dir, const char *db,
                         unsigned char (*keys_out)[32], size_t max)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    size_t n = 0;

    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8)
        || mdb_env_open(env, dir, MDB_RDONLY, 0)) {
        return (size_t)-1;
    }
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
        if (mdb_dbi_open(txn, db, 0, &dbi) == 0
            && mdb_cursor_open(txn, dbi, &cur) == 0) {
            while (mdb_cursor_get(cur, &k, &v,
                                  n ? MDB_NEXT : MDB_FIRST) == 0) {
                if (keys_out && n < max && k.mv_size == 32) {
                    memcpy(keys_out[n], k.mv_data, 32);
                }
                n++;
            }
            mdb_cursor_close(cur);
        }
        mdb_txn_abort(txn);
    }
    mdb_env_close(env);
    return n;
}

#define BIG 3000

static void test_store(void)
{
    verify_store_t *st;
    verify_import_rec_t *recs;
    verify_batch_t batch, got;
    verify_lookup_t lk;
    char *dir = apr_pstrcat(pool, base, "/store/sub", NULL);
    char *err = NULL, *csv, *datafile;
    const char *cerr = NULL;
    apr_status_t rv;
    size_t n, i, clen, snap_len, now_len;
    char *snap, *now;
    apr_time_t before, after_t;
    struct stat sb;
    unsigned char k[32];
    int all;
    static const char hdr[] = "id,name,birth_date,indigenous\n";
    char *ids[BIG];

    /* batch 1: BIG generated IDs */
    {
        char *p;
        csv = apr_palloc(pool, BIG * 64 + 64);
        p = csv + sprintf(csv, "%s", hdr);
        for (i = 0; i < BIG; i++) {
            ids[i] = apr_pstrdup(pool, gen_id((unsigned)i * 7919u + 13u));
            p += sprintf(p, "%s,Person %zu,19%02zu-0%zu-1%zu,%s\n", ids[i], i,
                         i % 100, 1 + i % 9, i % 10,
                         i % 3 == 0 ? "" : i % 3 == 1 ? "mountain" : "plain");
        }
        clen = (size_t)(p - csv);
    }
    rv = verify_intake(VERIFY_SRC_HOUSEHOLD, csv, clen, keys, TODAY, &recs,
                       &n, &err, pool);
    ok(rv == APR_SUCCESS && n == BIG, "intake of %d generated records (%s)",
       BIG, err ? err : "ok");
    if (rv != APR_SUCCESS) {
        return;
    }

    umask(007);
    rv = verify_store_open(&st, dir, 0, 0, &err, pool);
    ok(rv == APR_SUCCESS && st, "read-write open creates %s (%s)", dir,
       rv ? err : "ok");
    if (rv != APR_SUCCESS) {
        return;
    }
    datafile = apr_pstrcat(pool, dir, "/data.mdb", NULL);
    ok(stat(datafile, &sb) == 0 && (sb.st_mode & 0777) == 0640,
       "data.mdb mode 0640 (%o)", (unsigned)(sb.st_mode & 0777));
    ok(stat(apr_pstrcat(pool, dir, "/lock.mdb", NULL), &sb) == 0
       && (sb.st_mode & 0777) == 0660, "lock.mdb mode 0660 (%o)",
       (unsigned)(sb.st_mode & 0777));

    /* never imported */
    store_key(ids[0], k);
    rv = verify_store_lookup(st, k, 7, &lk, &cerr);
    ok(rv == APR_SUCCESS && !lk.have_batch[0] && !lk.have_batch[1]
       && !lk.have_batch[2] && !lk.found[0],
       "fresh store: lookup succeeds, no batch, nothing found");
    is_int(store_batch(st, VERIFY_SRC_HOUSEHOLD, &got),
           APR_NOTFOUND, "fresh store: no household batch");

    memset(&batch, 0, sizeof(batch));
    strcpy(batch.batch_id, "0123456789abcdef0123456789abcdef");
    batch.approved_until = 20261231;
    sha256(csv, clen, batch.sha256);
    before = apr_time_now();
    rv = verify_store_replace(st, VERIFY_SRC_HOUSEHOLD, recs, n, &batch,
                              &err, pool);
    after_t = apr_time_now();
    ok(rv == APR_SUCCESS, "replace household with %zu records (%s)", n,
       rv ? err : "ok");
    is_int((long long)batch.records, BIG, "batch.records filled in");
    ok(batch.imported_at >= before && batch.imported_at <= after_t,
       "batch.imported_at is the commit time");
    {
        char s[26];
        verify_time_format_s(batch.imported_at, s);
        ok(as_of_shape(batch.as_of) && strcmp(s, batch.as_of) == 0,
           "batch.as_of is imported_at in Taipei, seconds (%s)", batch.as_of);
    }

    /* every record found with its values, and the batch metadata */
    all = 1;
    for (i = 0; i < BIG; i++) {
        verify_record_t d;
        unsigned char nt[32];
        char nm[32];
        int f = lookup1(st, ids[i], &lk);
        snprintf(nm, sizeof(nm), "PERSON %zu", i);
        name_tag(nm, nt);
        if (f != 1 || !lk.have_batch[0] || !batch_eq(&lk.batch[0], &batch)
            || lk.have_batch[1] || lk.found[1] || lk.have_batch[2]) {
            all = 0;
            diag("lookup %s: found %d", ids[i], f);
            break;
        }
        d = lk.rec[0];
        if (d.birth != 19000000u + (unsigned)(i % 100) * 10000u
                       + (unsigned)(1 + i % 9) * 100u + 10u + (unsigned)(i % 10)
            || d.indigenous != i % 3 || memcmp(d.name_tag, nt, 16) != 0) {
            all = 0;
            diag("record %s differs", ids[i]);
            break;
        }
    }
    ok(all, "all %d records found with birth, indigenous, name tag and "
       "batch metadata", BIG);
    {
        char absent[11];
        make_id(absent, 'Q', '2', "9999999");
        is_int(lookup1(st, absent, &lk), 0, "an absent ID is not found");
        ok(lk.have_batch[0] && batch_eq(&lk.batch[0], &batch),
           "but the batch metadata is there");
        ok(lk.batch[0].records == BIG && lk.batch[0].approved_until == 20261231
           && memcmp(lk.batch[0].sha256, batch.sha256, 32) == 0
           && strcmp(lk.batch[0].batch_id, batch.batch_id) == 0,
           "metadata: records, approved_until, sha256, batch_id as given");
    }
    store_key(ids[5], k);
    rv = verify_store_lookup(st, k, 0, &lk, &cerr);
    ok(rv == APR_SUCCESS && !lk.have_batch[0] && !lk.found[0],
       "source mask 0: nothing looked at");
    rv = verify_store_lookup(st, k, 1u << VERIFY_SRC_DISABILITY, &lk, &cerr);
    ok(rv == APR_SUCCESS && !lk.have_batch[0] && !lk.found[0],
       "mask of another source: household not looked at");
    rv = store_batch(st, VERIFY_SRC_HOUSEHOLD, &got);
    ok(rv == APR_SUCCESS && batch_eq(&got, &batch),
       "batch metadata alone (a lookup of no ID)");
    is_int(store_batch(st, VERIFY_SRC_DISABILITY, &got),
           APR_NOTFOUND, "batch metadata of a never-imported source");

    /* another source alongside */
    {
        verify_import_rec_t dr[2];
        verify_record_t r;
        verify_batch_t db;
        memset(dr, 0, sizeof(dr));
        memset(&r, 0, sizeof(r));
        r.level = 3;
        r.valid_until = 20271231;
        store_key(ids[5], dr[0].key);
        dr[0].vlen = (unsigned char)verify_record_encode(VERIFY_SRC_DISABILITY,
                                                         &r, dr[0].val);
        dr[0].line = 2;
        r.level = 1;
        store_key(ids[6], dr[1].key);
        dr[1].vlen = (unsigned char)verify_record_encode(VERIFY_SRC_DISABILITY,
                                                         &r, dr[1].val);
        dr[1].line = 3;
        memset(&db, 0, sizeof(db));
        strcpy(db.batch_id, "ffffffffffffffffffffffffffffffff");
        rv = verify_store_replace(st, VERIFY_SRC_DISABILITY, dr, 2, &db,
                                  &err, pool);
        ok(rv == APR_SUCCESS, "replace disability with 2 records");
        store_key(ids[5], k);
        rv = verify_store_lookup(st, k, 7, &lk, &cerr);
        ok(rv == APR_SUCCESS && lk.found[0] && lk.found[2] && !lk.found[1]
           && lk.rec[2].level == 3 && lk.rec[2].valid_until == 20271231
           && lk.have_batch[2] && lk.batch[2].records == 2
           && lk.batch[2].approved_until == 0 && !lk.have_batch[1],
           "one lookup reads household and disability");
    }

    /* a duplicate ID fails the batch and leaves everything as it was */
    snap = read_file(datafile, &snap_len);
    {
        char id_a[11], id_b[11], *dup;
        verify_import_rec_t *drecs;
        size_t dn;
        verify_batch_t b2 = batch;

        make_id(id_a, 'E', '1', "5550001");
        make_id(id_b, 'E', '2', "5550002");
        dup = apr_psprintf(pool, "%s%s,A,1980-01-01,\n%s,B,1980-01-01,\n"
                           "%s,C,1980-01-01,\n\n%c%s,D,1981-01-01,plain\n",
                           hdr, id_b, id_a, ids[1], id_a[0] + 32, id_a + 1);
        rv = verify_intake(VERIFY_SRC_HOUSEHOLD, dup, strlen(dup), keys,
                           TODAY, &drecs, &dn, &err, pool);
        ok(rv == APR_SUCCESS && dn == 4, "intake of a batch with a duplicate "
           "(case differs) passes intake");
        strcpy(b2.batch_id, "22222222222222222222222222222222");
        err = NULL;
        rv = verify_store_replace(st, VERIFY_SRC_HOUSEHOLD, drecs, dn, &b2,
                                  &err, pool);
        ok(rv != APR_SUCCESS, "a duplicate ID rejects the batch");
        is_str(err, "line 6: duplicate ID (same as line 3)",
               "the message names both lines");
        ok(err && !strstr(err, id_a), "the message holds no ID");
        now = read_file(datafile, &now_len);
        ok(now_len == snap_len && memcmp(snap, now, snap_len) == 0,
           "data.mdb byte for byte as before");
        ok(lookup1(st, ids[1], &lk) == 1 && batch_eq(&lk.batch[0], &batch)
           && lookup1(st, id_a, &lk) == 0 && lookup1(st, id_b, &lk) == 0,
           "lookups give the old contents and old batch metadata");

        /* dry run of the duplicate batch fails too */
        err = NULL;
        rv = verify_import_check(drecs, dn, &err, pool);
        ok(rv != APR_SUCCESS && err && strstr(err, "duplicate"),
           "dry run finds the duplicate too");
    }

    /* dry run (verify_import_check alone) of a valid batch writes
     * nothing */
    {
        char id_a[11], *b;
        verify_import_rec_t *drecs;
        size_t dn;
        make_id(id_a, 'G', '1', "7770001");
        b = apr_psprintf(pool, "%s%s,A,1980-01-01,\n", hdr, id_a);
        rv = verify_intake(VERIFY_SRC_HOUSEHOLD, b, strlen(b), keys, TODAY,
                           &drecs, &dn, &err, pool);
        rv = verify_import_check(drecs, dn, &err, pool);
        ok(rv == APR_SUCCESS, "dry run of a valid batch succeeds");
        now = read_file(datafile, &now_len);
        ok(now_len == snap_len && memcmp(snap, now, snap_len) == 0,
           "dry run: data.mdb byte for byte as before");
        ok(lookup1(st, id_a, &lk) == 0 && lookup1(st, ids[0], &lk) == 1
           && batch_eq(&lk.batch[0], &batch),
           "dry run: new ID absent, old present, old metadata");
    }

    /* a second replace fully replaces */
    {
        char *b, *p;
        verify_import_rec_t *nrecs;
        size_t nn;
        verify_batch_t b4;
        b = apr_palloc(pool, 200 * 64 + 64);
        p = b + sprintf(b, "%s", hdr);
        for (i = 0; i < 200; i++) {
            p += sprintf(p, "%s,New %zu,2001-02-03,\n",
                         gen_id(900000u + (unsigned)i), i);
        }
        /* one ID carried over with changed values */
        p += sprintf(p, "%s,Person 7,1999-09-09,mountain\n", ids[7]);
        rv = verify_intake(VERIFY_SRC_HOUSEHOLD, b, (size_t)(p - b), keys,
                           TODAY, &nrecs, &nn, &err, pool);
        memset(&b4, 0, sizeof(b4));
        strcpy(b4.batch_id, "44444444444444444444444444444444");
        b4.approved_until = 0;
        sha256(b, (size_t)(p - b), b4.sha256);
        rv = verify_store_replace(st, VERIFY_SRC_HOUSEHOLD, nrecs, nn, &b4,
                                  &err, pool);
        ok(rv == APR_SUCCESS && nn == 201, "second replace with 201 records");
        all = 0;
        for (i = 0; i < BIG; i++) {
            if (i != 7 && lookup1(st, ids[i], &lk) != 0) {
                all++;
            }
        }
        is_int(all, 0, "none of the %d old IDs (but the carried one) found",
               BIG - 1);
        all = 1;
        for (i = 0; i < 200; i++) {
            if (lookup1(st, gen_id(900000u + (unsigned)i), &lk) != 1) {
                all = 0;
            }
        }
        ok(all, "all 200 new IDs found");
        ok(lookup1(st, ids[7], &lk) == 1 && lk.rec[0].birth == 19990909
           && lk.rec[0].indigenous == VERIFY_INDIGENOUS_MOUNTAIN,
           "the carried-over ID has its new values");
        ok(batch_eq(&lk.batch[0], &b4) && lk.batch[0].records == 201
           && lk.batch[0].approved_until == 0,
           "new batch metadata (records 201, no approved_until)");
        store_key(ids[5], k);
        rv = verify_store_lookup(st, k, 7, &lk, &cerr);
        ok(rv == APR_SUCCESS && lk.found[2] && lk.rec[2].level == 3,
           "the disability source is untouched");
    }

    /* read-only: close, reopen read-only */
    verify_store_close(st);
    is_int((long long)lmdb_count(dir, "household", NULL, 0), 201,
           "LMDB itself holds exactly 201 household records");
    is_int((long long)lmdb_count(dir, "disability", NULL, 0), 2,
           "and 2 disability records");
    is_int((long long)lmdb_count(dir, "meta", NULL, 0), 2,
           "and 2 metadata entries");
    {
        static unsigned char ks[300][32];
        size_t cnt = lmdb_count(dir, "household", ks, 300), j;
        int sorted = 1, present = 1;
        unsigned char want[32];
        for (j = 1; j < cnt && j < 300; j++) {
            if (memcmp(ks[j - 1], ks[j], 32) >= 0) {
                sorted = 0;
            }
        }
        store_key(ids[7], want);
        present = 0;
        for (j = 0; j < cnt && j < 300; j++) {
            if (memcmp(ks[j], want, 32) == 0) {
                present = 1;
            }
        }
        ok(sorted && present, "keys are 32-byte pseudonyms HMAC(store key, "
           "ID), strictly ascending");
    }

    rv = verify_store_open(&st, dir, VERIFY_STORE_READONLY, 0, &err, pool);
    ok(rv == APR_SUCCESS && st, "read-only open of the store");
    if (rv == APR_SUCCESS) {
        verify_batch_t b5;
        ok(lookup1(st, ids[7], &lk) == 1 && lk.rec[0].birth == 19990909,
           "read-only lookup");
        memset(&b5, 0, sizeof(b5));
        err = NULL;
        rv = verify_store_replace(st, VERIFY_SRC_HOUSEHOLD, recs, 1, &b5,
                                  &err, pool);
        ok(rv != APR_SUCCESS && err && strstr(err, "read-only"),
           "replace on a read-only store refused (%s)", err ? err : "-");
        ok(verify_store_reader_check(st) >= 0, "reader check runs");
        verify_store_close(st);
        verify_store_close(st);
        ok(1, "closing twice is harmless");
    }

    /* read-only open of directories without a store */
    {
        char *none = apr_pstrcat(pool, base, "/no-store", NULL);
        char *empty = apr_pstrcat(pool, base, "/empty-store", NULL);
        char *bare = apr_pstrcat(pool, base, "/bare-env", NULL);
        err = NULL;
        st = (verify_store_t *)1;
        rv = verify_store_open(&st, none, VERIFY_STORE_READONLY, 0, &err,
                               pool);
        ok(rv != APR_SUCCESS && st == NULL && err && strstr(err, none),
           "read-only open of a missing directory fails (%s)",
           err ? err : "-");
        ok(stat(none, &sb) != 0, "and creates nothing");

        mkdir(empty, 0700);
        err = NULL;
        st = (verify_store_t *)1;
        rv = verify_store_open(&st, empty, VERIFY_STORE_READONLY, 0, &err,
                               pool);
        ok(rv != APR_SUCCESS && st == NULL && err,
           "read-only open of an empty directory fails (%s)",
           err ? err : "-");
        is_int(dir_entries(empty), 0, "and leaves it empty");

        /* an LMDB environment without our databases */
        {
            MDB_env *env;
            MDB_txn *txn;
            MDB_dbi dbi;
            mkdir(bare, 0700);
            mdb_env_create(&env);
            mdb_env_set_maxdbs(env, 4);
            mdb_env_open(env, bare, 0, 0600);
            mdb_txn_begin(env, NULL, 0, &txn);
            mdb_dbi_open(txn, "unrelated", MDB_CREATE, &dbi);
            mdb_txn_commit(txn);
            mdb_env_close(env);
        }
        err = NULL;
        st = (verify_store_t *)1;
        rv = verify_store_open(&st, bare, VERIFY_STORE_READONLY, 0, &err,
                               pool);
        ok(rv != APR_SUCCESS && st == NULL && err
           && strstr(err, "no databases"),
           "read-only open of an LMDB without our databases fails (%s)",
           err ? err : "-");
    }
}

/* verify_store_share: the names and modes of a shared store */
static void test_store_share(void)
{
    char *dir = apr_pstrcat(pool, base, "/shared", NULL);
    char *lock = apr_pstrcat(pool, dir, "/" VERIFY_STORE_LOCK_FILE, NULL);
    char *data = apr_pstrcat(pool, dir, "/" VERIFY_STORE_DATA_FILE, NULL);
    int errs[VERIFY_STORE_PARTS];
    struct stat sb;
    gid_t gid = getegid();

    mkdir(dir, 0700);
    is_int(verify_store_share(dir, (uid_t)-1, gid, errs), 0,
           "share a store directory without a data file");
    ok(stat(dir, &sb) == 0 && (sb.st_mode & 07777) == 02750
       && sb.st_gid == gid, "directory setgid 02750 (%o)",
       (unsigned)(sb.st_mode & 07777));
    ok(stat(lock, &sb) == 0 && (sb.st_mode & 0777) == 0660
       && sb.st_gid == gid, "lock file created, 0660 (%o)",
       (unsigned)(sb.st_mode & 0777));
    ok(stat(data, &sb) != 0, "no data file created");
    ok(errs[0] == 0 && errs[1] == 0 && errs[2] == 0, "no part failed");

    close(open(data, O_WRONLY | O_CREAT, 0666));
    chmod(lock, 0600);
    is_int(verify_store_share(dir, geteuid(), gid, NULL), 0,
           "share again, with a data file");
    ok(stat(data, &sb) == 0 && (sb.st_mode & 0777) == 0640
       && sb.st_gid == gid, "data file 0640 (%o)",
       (unsigned)(sb.st_mode & 0777));
    ok(stat(lock, &sb) == 0 && (sb.st_mode & 0777) == 0660
       && sb.st_uid == geteuid(), "lock file back to 0660, owner given");

    unlink(data);
    symlink(lock, data);
    is_int(verify_store_share(dir, (uid_t)-1, gid, errs), ELOOP,
           "a data file that is a link is not followed");
    ok(errs[0] == 0 && errs[1] == 0 && errs[2] == ELOOP,
       "only that part failed");

    is_int(verify_store_share(apr_pstrcat(pool, base, "/none", NULL),
                              (uid_t)-1, gid, errs), ENOENT,
           "a missing directory");
    ok(errs[0] == ENOENT && errs[1] == ENOENT && errs[2] == ENOENT,
       "fails every part");
}

int main(void)
{
    char tmpl[] = "/tmp/vfy-store-XXXXXX";

    apr_initialize();
    apr_pool_create(&pool, NULL);
    base = mkdtemp(tmpl);
    if (!base) {
        perror("mkdtemp");
        return 2;
    }

    test_keys();
    test_records();
    test_intake_ok();
    test_intake_faults();
    test_csv_parse();
    test_store();
    test_store_share();

    apr_pool_destroy(pool);     /* closes the store, wipes the keys */
    rm_rf(tmpl);
    apr_terminate();
    return done_testing();
}
