/*
 * test_name.c -- names as people write them (verify_name.c): the normal
 * form (NFC, full-width, spaces, case), the tags of both record formats,
 * a romanised name beside the Han name, and a Big5 batch's names after
 * their conversion.
 */
#include <stdio.h>
#include <string.h>
#include <apr_xlate.h>
#include "unit.h"
#include "verify_name.h"

/* verify_name_fold(@p in) is @p want */
static void folds(const char *in, const char *want, const char *what)
{
    char out[VERIFY_NAME_NORM_MAX];
    size_t n = verify_name_fold(in, strlen(in), out, sizeof(out));

    ok(n != (size_t)-1 && n == strlen(want) && strcmp(out, want) == 0,
       "%s", what);
    if (n == (size_t)-1 || strcmp(out, want) != 0) {
        diag("got %zu \"%s\"", n, n == (size_t)-1 ? "" : out);
    }
}

static void test_fold(void)
{
    char out[VERIFY_NAME_NORM_MAX], big[400];
    size_t n;

    /* é precomposed (NFC) and e + U+0301 (NFD) */
    folds("Jos\xc3\xa9", "jos\xc3\xa9", "NFC stays NFC (case folded)");
    folds("Jose\xcc\x81", "jos\xc3\xa9", "NFD composed to NFC");
    /* a CJK compatibility ideograph (U+F9A8 令) is its unified one */
    folds("\xef\xa6\xa8", "\xe4\xbb\xa4", "CJK compatibility ideograph to "
          "its unified form (NFC)");
    /* full-width ASCII and the ideographic space */
    folds("\xef\xbc\xb7\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x93"
          "\xe3\x80\x80\xef\xbc\xae\xef\xbd\x8f\xef\xbd\x8b\xef\xbd\x81"
          "\xef\xbd\x8e", "walis nokan", "full-width letters and U+3000 to "
          "half-width");
    folds("\xe7\x93\xa6\xe6\xad\xb7\xe6\x96\xaf\xef\xbc\x8e\xe8\xab\xbe"
          "\xe5\xb9\xb9", "\xe7\x93\xa6\xe6\xad\xb7\xe6\x96\xaf.\xe8\xab\xbe"
          "\xe5\xb9\xb9", "full-width full stop in a transcribed name");
    /* spaces */
    folds("  Walis   Nokan\t", "walis nokan", "surrounding spaces dropped, "
          "a run folded into one");
    folds("\xe3\x80\x80\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e\xc2\xa0 ",
          "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e", "ideographic and no-break "
          "spaces around a Han name");
    folds("Walis\t \xe3\x80\x80Nokan", "walis nokan", "mixed spaces inside "
          "fold into one");
    /* case */
    folds("WALIS NOKAN", "walis nokan", "upper case");
    folds("walis nokan", "walis nokan", "lower case");
    folds("\xc3\x89MILE", "\xc3\xa9mile", "case beyond ASCII");
    folds("\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e",
          "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e", "a Han name is itself");
    /* the short cut for names already in the normal form (CJK unified
     * ideographs, lower-case ASCII) gives what utf8proc gives */
    folds("\xe4\xb8\x80\xe9\xbf\xbf", "\xe4\xb8\x80\xe9\xbf\xbf",
          "U+4E00 and U+9FFF, the ends of the short cut, as they are");
    folds("\xe4\xb7\xbf\xe4\xb8\x80", "\xe4\xb7\xbf\xe4\xb8\x80",
          "U+4DFF (outside the short cut) beside U+4E00");
    folds("lee mei-ling", "lee mei-ling", "a space: through utf8proc");
    folds("o'brien-lin", "o'brien-lin", "lower-case ASCII as it is");
    folds("\xe7\x8e\x8b\xcc\x81", "\xe7\x8e\x8b\xcc\x81",
          "a combining mark after an ideograph: through utf8proc, kept");
    n = verify_name_fold("\xe7\x8e\x8b", 3, out, 3);
    ok(n == (size_t)-1, "short cut: no room is no normal form");
    /* nothing left, bad input, no room */
    n = verify_name_fold(" \xe3\x80\x80\t", 5, out, sizeof(out));
    is_int((long long)n, 0, "only spaces: nothing remains");
    n = verify_name_fold("a\xff" "b", 3, out, sizeof(out));
    ok(n == (size_t)-1, "invalid UTF-8: no normal form");
    n = verify_name_fold("abcdef", 6, out, 4);
    ok(n == (size_t)-1, "no room: no normal form (never cut short)");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    n = verify_name_fold(big, strlen(big), out, sizeof(out));
    is_int((long long)n, 399, "a long name fits the buffer");
}

/* the tag of normal form @p norm, as the record keeps it */
static void ref_name_tag(const char *norm, unsigned char out[16])
{
    unsigned char full[32];

    name_tag(norm, full);
    memcpy(out, full, 16);
}

static void test_tags(void)
{
    unsigned char t[16], want[16];
    verify_record_t rec;

    ok(verify_name_tag(keys, 2, " Walis  NOKAN ", 14, t) == 0, "tag, form 2");
    ref_name_tag("walis nokan", want);
    ok(memcmp(t, want, 16) == 0, "form 2: the tag of the folded name");
    ok(verify_name_tag(keys, 1, " Walis  NOKAN ", 14, t) == 0, "tag, form 1");
    ref_name_tag("WALIS  NOKAN", want);
    ok(memcmp(t, want, 16) == 0, "form 1: the old normal form (trimmed, "
       "ASCII upper case, inner spaces kept)");
    ok(verify_name_tag(keys, 2, "\xff", 1, t) == -1, "invalid UTF-8: no "
       "tag");

    /* a record with a Han name and a romanised one */
    memset(&rec, 0, sizeof(rec));
    rec.name_form = 2;
    ref_name_tag("\xe7\x93\xa6\xe6\xad\xb7\xe6\x96\xaf.\xe8\xab\xbe\xe5\xb9"
                 "\xb9", rec.name_tag);
    ref_name_tag("walis nokan", rec.romanised_tag);
    rec.has_romanised = 1;
    ok(verify_name_matches(keys, &rec, "\xe7\x93\xa6\xe6\xad\xb7\xe6\x96\xaf"
                           "\xef\xbc\x8e\xe8\xab\xbe\xe5\xb9\xb9", 18),
       "the Han name matches (full-width stop)");
    ok(verify_name_matches(keys, &rec, "WALIS NOKAN", 11),
       "the romanised name matches in capitals");
    ok(verify_name_matches(keys, &rec, "\xef\xbc\xb7\xef\xbd\x81\xef\xbd\x8c"
                           "\xef\xbd\x89\xef\xbd\x93 Nokan", 21),
       "the romanised name matches half full-width");
    ok(!verify_name_matches(keys, &rec, "Walis Nokana", 12),
       "another name does not match");
    ok(!verify_name_matches(keys, &rec, "", 0), "an empty name does not "
       "match");
    rec.has_romanised = 0;
    ok(!verify_name_matches(keys, &rec, "walis nokan", 11),
       "without a romanised name, the romanised form does not match");

    /* a record of format 1: compared in the old normal form */
    memset(&rec, 0, sizeof(rec));
    rec.name_form = 1;
    ref_name_tag("LEE MEI-LING", rec.name_tag);
    ok(verify_name_matches(keys, &rec, " lee mei-ling ", 14),
       "format 1 record: matched as before (trimmed, ASCII case)");
    ok(!verify_name_matches(keys, &rec, "lee  mei-ling", 13),
       "format 1 record: the old form kept inner spaces");
}

/* A Big5 batch is converted to UTF-8 before intake (verify-import
 * --encoding big5): its names reach the same normal form. */
static void test_big5(void)
{
    /* 王小明 and full-width "ＡＢ" in Big5 */
    static const char big5[] = "\xa4\xfd\xa4\x70\xa9\xfa\xa1\x40\xa2\xcf"
                               "\xa2\xd0";
    char utf8[64], out[VERIFY_NAME_NORM_MAX];
    apr_size_t inleft = sizeof(big5) - 1, outleft = sizeof(utf8);
    apr_xlate_t *x = NULL;
    size_t n;

    if (apr_xlate_open(&x, "UTF-8", "BIG5", pool) != APR_SUCCESS
        || apr_xlate_conv_buffer(x, big5, &inleft, utf8, &outleft)
           != APR_SUCCESS || inleft != 0) {
        ok(0, "Big5 converts");
        return;
    }
    n = verify_name_fold(utf8, sizeof(utf8) - outleft, out, sizeof(out));
    ok(n != (size_t)-1 && strcmp(out, "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e"
                                 " ab") == 0,
       "Big5 name with a full-width space and letters: the same normal "
       "form as the UTF-8 one");
}

int main(void)
{
    unit_begin();
    need_keys();
    test_fold();
    test_tags();
    test_big5();
    return unit_end();
}
