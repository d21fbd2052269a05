/*
 * test_csv.c -- batch intake: the CSV parser and CSV to validated,
 * pseudonymised import records (verify_csv.c).
 *
 * Pseudonyms and name tags are recomputed with OpenSSL's HMAC(); check
 * digits of IDs with the Ministry's rules.
 */
#include <stdio.h>
#include <string.h>
#include "unit.h"

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
        ok(rec_is(&recs[1], 3, id2, "lee mei-ling", 19500102,
                  VERIFY_INDIGENOUS_MOUNTAIN),
           "line 3: name trimmed and case-folded, ROC YYYMMDD, mountain");
        ok(rec_is(&recs[2], 4, id3, "chen", 20241025,
                  VERIFY_INDIGENOUS_PLAIN),
           "line 4: resident number, ROC YYY/MM/DD, plain");
        ok(rec_is(&recs[3], 5, id4, "\xe6\x9e\x97", TODAY,
                  VERIFY_INDIGENOUS_MOUNTAIN),
           "line 5: old resident number, born today, 山地");
        ok(rec_is(&recs[4], 6, id5, "wu", 19500102, VERIFY_INDIGENOUS_PLAIN),
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
        ok(rec_is(&recs[0], 2, id1, "wang, xiao-ming", 19500102, 0),
           "line 2: quoted fields, comma inside a quoted name");
        ok(rec_is(&recs[1], 4, id2, "o\"brien", 20241025,
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
    ok(rv == APR_SUCCESS && n == 1 && rec_is(&recs[0], 2, id1, "x", 19901231, 0),
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
       && rec_is(&recs[0], 2, id1, "x", 19500102, VERIFY_INDIGENOUS_PLAIN),
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

int main(void)
{
    unit_begin();
    need_keys();
    test_intake_ok();
    test_intake_faults();
    test_csv_parse();
    return unit_end();
}
