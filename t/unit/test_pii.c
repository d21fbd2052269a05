/*
 * test_pii.c -- ID numbers and phone numbers found in free text, and
 * masked (verify_pii.c): every form verify_id.c accepts, full-width
 * input, the phone forms, and the near misses that must stay as they
 * are.
 */
#include "unit.h"

/* "ID" and "phone" spans of @p s, as "kind:start-end" joined by ' '. */
static const char *spans(const char *s)
{
    static char out[512];
    verify_pii_span_t sp;
    size_t at = 0, o = 0;

    out[0] = '\0';
    while (verify_pii_next(s, strlen(s), at,
                           VERIFY_PII_ID | VERIFY_PII_PHONE, &sp)) {
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s:%zu-%zu",
                              o ? " " : "", sp.kind == VERIFY_PII_ID
                              ? "id" : "phone", sp.start, sp.end);
        at = sp.end;
    }
    return out;
}

static const char *masked(const char *s, unsigned kinds, unsigned *found)
{
    return verify_pii_mask(s, strlen(s), kinds, NULL, found, pool);
}

/* Every kind of number verify_id.c accepts, in either case, alone and
 * inside text; a wrong check digit, a digit after it: left alone. */
static void test_ids(void)
{
    char id[11], low[11], text[128], bad[11];
    const char *m;
    unsigned found;
    int i;
    static const char seconds[] = "1289ABCD";

    for (i = 0; seconds[i]; i++) {
        char want[11];
        make_id(id, (char)('A' + 3 * i), seconds[i], "1234567");
        memcpy(want, id, 3);
        memcpy(want + 3, "*****", 5);
        memcpy(want + 8, id + 8, 3);
        is_str(spans(id), "id:0-10", "%s alone", id);
        strcpy(low, id);
        low[0] = (char)(low[0] - 'A' + 'a');
        if (low[1] >= 'A') {
            low[1] = (char)(low[1] - 'A' + 'a');
        }
        snprintf(text, sizeof(text), "查詢%s的資格", low);
        is_str(spans(text), "id:6-16", "%s (lower case) inside CJK text",
               low);
        m = masked(text, VERIFY_PII_ID, &found);
        snprintf(text, sizeof(text), "查詢%s的資格", want);
        is_str(m, text, "%s masked as verify_id_mask does", low);
        is_int((int)found, VERIFY_PII_ID, "found: an ID");
        strcpy(bad, id);
        bad[9] = (char)('0' + (bad[9] - '0' + 1) % 10);
        is_str(spans(bad), "", "%s: wrong check digit", bad);
        snprintf(text, sizeof(text), "%s7", id);
        is_str(spans(text), "", "%s followed by a digit", text);
        snprintf(text, sizeof(text), "ID:%s, 2nd", id);
        is_str(spans(text), "id:3-13", "%s between punctuation", id);
        snprintf(text, sizeof(text), "x%sy", id);
        is_str(spans(text), "id:1-11", "%s between letters", id);
    }
}

/* Full-width letters and digits, as a Chinese input method types them. */
static void test_full_width(void)
{
    char id[11], fw[64], *o = fw, text[128];
    const char *m;
    int i;

    make_id(id, 'F', '1', "3145192");
    for (i = 0; i < 10; i++) {
        /* U+FF21.. for letters, U+FF10.. for digits */
        unsigned cp = (unsigned)id[i] + 0xfee0;
        *o++ = (char)(0xe0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    *o = '\0';
    snprintf(text, sizeof(text), "事由%s。", fw);
    is_str(spans(text), "id:6-36", "a full-width ID");
    m = masked(text, VERIFY_PII_ID, NULL);
    ok(strstr(m, "F13*****") != NULL && strstr(m, "\xef\xbc") == NULL,
       "masked as ASCII: %s", m);
    is_str(spans("電話０９１２－３４５－６７８"), "phone:6-42",
           "a full-width mobile number with full-width dashes");
    is_str(masked("電話０９１２－３４５－６７８", VERIFY_PII_PHONE, NULL),
           "電話０９**－***－***", "masked, full-width separators kept");
}

static void test_phones(void)
{
    static const struct {
        const char *in, *spans, *masked;
    } t[] = {
        { "0912345678", "phone:0-10", "09********" },
        { "0912-345-678", "phone:0-12", "09**-***-***" },
        { "0912 345 678", "phone:0-12", "09** *** ***" },
        { "0912.345.678", "phone:0-12", "09**.***.***" },
        { "0912-345678", "phone:0-11", "09**-******" },
        { "call 0912345678 now", "phone:5-15", "call 09******** now" },
        { "+886912345678", "phone:0-13", "+8869********" },
        { "+886 912 345 678", "phone:0-16", "+886 9** *** ***" },
        { "+886-912-345-678", "phone:0-16", "+886-9**-***-***" },
        { "+886 (0)912 345 678", "phone:0-19", "+886 (0)9** *** ***" },
        { "02-2345-6789", "phone:0-12", "02-****-****" },
        { "(02)2345-6789", "phone:0-13", "(02)****-****" },
        { "(02) 2345 6789", "phone:0-14", "(02) **** ****" },
        { "0223456789", "phone:0-10", "02********" },
        { "03-1234567", "phone:0-10", "03-*******" },
        { "04-2345-6789", "phone:0-12", "04-****-****" },
        { "049-2345678", "phone:0-11", "04*-*******" },
        { "089-123456", "phone:0-10", "08*-******" },
        { "+886-2-2345-6789", "phone:0-16", "+886-2-****-****" },
        { "+886 2 2345 6789", "phone:0-16", "+886 2 **** ****" },
        { "tel:02-2345-6789;", "phone:4-16", "tel:02-****-****;" },
        { "0912345678, 02-2345-6789", "phone:0-10 phone:12-24",
          "09********, 02-****-****" },
        /* "(0" inside a +886 number is its last digit, not the
         * national 0 of "+886 (0)": masked (found by fuzz_text) */
        { "+886 (0)2 2345-67-9(0)2 2345-6789", "phone:0-21",
          "+886 (0)2 ****-**-*(*)2 2345-6789" },
        { "+886 2 2345-679(0", "phone:0-17", "+886 2 ****-***(*" },
        /* a number right after another: a digit precedes it, until
         * that digit is masked (found by fuzz_text) */
        { "0223456789+886 2 2345 6789", "phone:0-10",
          "02********+886 2 **** ****" },
        /* near misses: stay as they are */
        { "A180-017", "", NULL },
        { "2026-11-27", "", NULL },
        { "0123456789", "", NULL },         /* 01: no such area */
        { "091234567", "", NULL },          /* a mobile has 10 digits */
        { "09123456789", "", NULL },        /* one too many */
        { "10912345678", "", NULL },        /* a digit before */
        { "02-2345-67890", "", NULL },
        { "02--2345", "", NULL },
        { "+885912345678", "", NULL },
        { "case 112-0001234", "", NULL },
        { "0000123456", "", NULL },
        { "", "", NULL },
    };
    size_t i;
    unsigned found;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const char *m;
        is_str(spans(t[i].in), t[i].spans, "spans of \"%s\"", t[i].in);
        m = masked(t[i].in, VERIFY_PII_PHONE, &found);
        is_str(m, t[i].masked ? t[i].masked : t[i].in, "\"%s\" masked",
               t[i].in);
        is_int((int)found, t[i].masked ? (int)VERIFY_PII_PHONE : 0,
               "\"%s\": found", t[i].in);
    }
}

/* The kinds asked for, and both in one text; invalid UTF-8 and a text
 * cut in the middle of a character are read without harm. */
static void test_kinds_and_bytes(void)
{
    char id[11], text[128];
    const char *m;
    unsigned found;
    size_t len;

    make_id(id, 'A', '2', "7654321");
    snprintf(text, sizeof(text), "%s 0912345678", id);
    is_str(masked(text, VERIFY_PII_ID, &found), apr_psprintf(
               pool, "%.3s*****%s 0912345678", id, id + 8), "IDs only");
    is_int((int)found, VERIFY_PII_ID, "found: ID");
    m = masked(text, VERIFY_PII_ID | VERIFY_PII_PHONE, &found);
    is_str(m, apr_psprintf(pool, "%.3s*****%s 09********", id, id + 8),
           "both");
    is_int((int)found, VERIFY_PII_ID | VERIFY_PII_PHONE, "found: both");
    is_str(verify_pii_kind_name(found), "personal data", "kind name");
    snprintf(text, sizeof(text), "\xff\xfe%s\xc3", id);
    len = strlen(text);
    m = verify_pii_mask(text, len, VERIFY_PII_ID, &len, &found, pool);
    ok(found == VERIFY_PII_ID && len == 13 && !memcmp(m + 5, "*****", 5),
       "between invalid bytes");
    ok(masked("short 12", VERIFY_PII_ID | VERIFY_PII_PHONE, &found)
       == (const char *)NULL || found == 0, "nothing found: no copy");
    m = "no digits here";
    ok(verify_pii_mask(m, strlen(m), 3, NULL, NULL, pool) == m,
       "nothing found: the text itself");
}

int main(void)
{
    unit_begin();
    test_ids();
    test_full_width();
    test_phones();
    test_kinds_and_bytes();
    return unit_end();
}
