/*
 * test_flat.c -- the in-place JSON object checker (verify_flat.c): it
 * must accept exactly what jansson accepts for an audit line (json_loadb
 * with VERIFY_SCAN_JSON_FLAGS, an object), on chosen texts and on a
 * great many mutations of a real line, and find members as jansson does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "tap.h"
#include "verify.h"

static verify_flat_t flat;

static int jansson_accepts(const char *s, size_t len)
{
    json_error_t err;
    json_t *j = json_loadb(s, len, VERIFY_SCAN_JSON_FLAGS, &err);
    int ok = json_is_object(j);

    json_decref(j);
    return ok;
}

static int flat_accepts(const char *s, size_t len)
{
    const char *why;
    size_t at;

    return verify_flat_parse(&flat, s, len, &why, &at) == 0;
}

/* Both agree on @p s; the name says what it is. */
static void agree(const char *s, size_t len, int want, const char *name)
{
    int j = jansson_accepts(s, len), f = flat_accepts(s, len);

    ok(j == want && f == want, "%s: %s (jansson %d, flat %d)", name,
       want ? "accepted" : "refused", j, f);
}

#define AGREE(lit, want) agree(lit, sizeof(lit) - 1, want, #lit)

static void test_chosen(void)
{
    AGREE("{}", 1);
    AGREE(" {\"a\":1} \r\n\t", 1);
    AGREE("[]", 0);
    AGREE("\"x\"", 0);
    AGREE("1", 0);
    AGREE("", 0);
    AGREE("{", 0);
    AGREE("{\"a\":1,}", 0);
    AGREE("{\"a\" 1}", 0);
    AGREE("{\"a\":1}{}", 0);
    AGREE("{\"a\":1} x", 0);
    AGREE("{\"a\":1,\"a\":2}", 0);
    AGREE("{\"a\":1,\"\\u0061\":2}", 0);            /* the same key */
    AGREE("{\"a\":{\"b\":1,\"b\":2}}", 0);          /* at depth too */
    AGREE("{\"a\":{\"b\":1},\"c\":{\"b\":2}}", 1);  /* other objects */
    AGREE("{\"a\":[{\"b\":1},{\"b\":2}]}", 1);
    AGREE("{\"\":1}", 1);
    AGREE("{\"a\\u0000b\":1}", 0);                  /* NUL in a key */
    AGREE("{\"a\":\"x\\u0000y\"}", 1);              /* NUL in a value */
    AGREE("{\"a\":\"\\ud83d\\ude00\"}", 1);         /* a pair */
    AGREE("{\"a\":\"\\ud83d\"}", 0);                /* high alone */
    AGREE("{\"a\":\"\\ud83dx\"}", 0);
    AGREE("{\"a\":\"\\ud83d\\u0041\"}", 0);
    AGREE("{\"a\":\"\\ude00\"}", 0);                /* low alone */
    AGREE("{\"a\":\"\\u00e9\\u00E9\"}", 1);
    AGREE("{\"a\":\"\\u00g9\"}", 0);
    AGREE("{\"a\":\"\\x\"}", 0);
    AGREE("{\"a\":\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"}", 1);
    AGREE("{\"a\":\"tab\there\"}", 0);              /* raw control */
    AGREE("{\"a\":\"del\x7f ok\"}", 1);
    AGREE("{\"a\":\"\xe4\xb8\xad\"}", 1);
    AGREE("{\"a\":\"\xe4\xb8\"}", 0);               /* cut UTF-8 */
    AGREE("{\"a\":\"\xc0\x80\"}", 0);               /* overlong */
    AGREE("{\"a\":\"\xed\xa0\x80\"}", 0);           /* a surrogate */
    AGREE("{\"a\":\"\xf4\x90\x80\x80\"}", 0);       /* past U+10FFFF */
    AGREE("{\"a\":-0}", 1);
    AGREE("{\"a\":01}", 0);
    AGREE("{\"a\":-}", 0);
    AGREE("{\"a\":1.}", 0);
    AGREE("{\"a\":.5}", 0);
    AGREE("{\"a\":1.5e}", 0);
    AGREE("{\"a\":1.5e+3}", 1);
    AGREE("{\"a\":1E-3}", 1);
    AGREE("{\"a\":+1}", 0);
    AGREE("{\"a\":9223372036854775807}", 1);
    AGREE("{\"a\":9223372036854775808}", 0);        /* too big */
    AGREE("{\"a\":-9223372036854775808}", 1);
    AGREE("{\"a\":-9223372036854775809}", 0);
    AGREE("{\"a\":1e308}", 1);
    AGREE("{\"a\":1e309}", 0);                      /* overflow */
    AGREE("{\"a\":-1e400}", 0);
    AGREE("{\"a\":1e-400}", 1);                     /* underflow is fine */
    AGREE("{\"a\":true,\"b\":false,\"c\":null}", 1);
    AGREE("{\"a\":tru}", 0);
    AGREE("{\"a\":truex}", 0);
    AGREE("{\"a\":nul}", 0);
    AGREE("{\"a\":[1,2,]}", 0);
    AGREE("{\"a\":[,]}", 0);
    AGREE("{\"a\":[1 2]}", 0);
    AGREE("{\"a\":[[[]]]}", 1);
    AGREE("{'a':1}", 0);
    AGREE("{a:1}", 0);
    agree("{\"a\":\"x\0y\"}", 9, 0, "a raw NUL byte");
}

/* Nesting: jansson's limit is 2048 levels, every value counting (the
 * object, each array, the number inside). */
static void test_depth(void)
{
    static char buf[2 * 2100 + 64];
    int levels[] = { 100, 2047, 2048, 2049 };
    size_t i, n;
    int k;

    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        n = 0;
        n += (size_t)sprintf(buf, "{\"a\":");
        for (k = 1; k < levels[i]; k++) {
            buf[n++] = '[';
        }
        buf[n++] = '1';
        for (k = 1; k < levels[i]; k++) {
            buf[n++] = ']';
        }
        buf[n++] = '}';
        agree(buf, n, levels[i] < 2048, levels[i] < 2048 ? "nesting within the limit" : "nesting past the limit");
    }
}

static const char LINE[] =
    "{\"seq\":12,\"ts\":\"2026-11-27T14:15:50.753740+08:00\","
    "\"request_id\":\"4c1e168c52fc09f32f05cf56\",\"client\":\"demo\","
    "\"operator\":\"cl\\u0065rk07\",\"ip\":\"127.0.0.1\",\"op\":\"verify\","
    "\"method\":\"POST\",\"checks\":[\"resident\",\"indigenous\"],"
    "\"subject\":\"A12*****89\",\"subject_tag\":\"da0cadda\","
    "\"case\":\"113-CASE-0042\",\"reason\":\"\xe6\x95\xac\xe8\x80\x81 "
    "\\u202e\",\"match_fields\":[\"name\",\"birth_date\"],"
    "\"status\":200,\"results\":{\"resident\":true,\"indigenous\":false},"
    "\"identity_match\":false,\"as_of\":{\"household\":"
    "\"2026-11-27T14:15:33+08:00\"},\"big\":-12.5e3,\"none\":null,"
    "\"prev\":\"e8a7\",\"hash\":\"322e\"}";

static void test_members(void)
{
    char buf[256];
    const char *s, *why = NULL;
    size_t len, at = 0;
    int64_t v;

    ok(verify_flat_parse(&flat, LINE, sizeof(LINE) - 1, &why, &at) == 0,
       "a real line parses (%s at %zu)", why ? why : "-", at);
    is_int((long long)flat.n, 22, "all its top-level members are indexed");
    ok(verify_flat_int(&flat, "seq", &v) == 0 && v == 12, "seq is 12");
    ok(verify_flat_int(&flat, "status", &v) == 0 && v == 200, "status");
    ok(verify_flat_int(&flat, "op", &v) == -1, "op is not an integer");
    ok(verify_flat_int(&flat, "big", &v) == -1, "a real is not an integer");
    s = verify_flat_str(&flat, "op", buf, sizeof(buf), &len);
    ok(s && len == 6 && !memcmp(s, "verify", 6) && s != buf,
       "a plain string is read in place");
    s = verify_flat_str(&flat, "operator", buf, sizeof(buf), &len);
    ok(s == buf && len == 7 && !memcmp(s, "clerk07", 7),
       "an escaped string is unescaped");
    s = verify_flat_str(&flat, "reason", buf, sizeof(buf), &len);
    ok(s && len == 10 && !memcmp(s, "\xe6\x95\xac\xe8\x80\x81 "
                                     "\xe2\x80\xae", 10),
       "\\u202e unescaped to UTF-8");
    ok(verify_flat_str(&flat, "checks", buf, sizeof(buf), &len) == NULL,
       "an array is not a string");
    ok(verify_flat_str(&flat, "none", buf, sizeof(buf), &len) == NULL,
       "null is not a string");
    ok(verify_flat_str(&flat, "nope", buf, sizeof(buf), &len) == NULL,
       "an absent member");
    is_int(verify_flat_bool(&flat, "identity_match"), 0, "false");
    is_int(verify_flat_bool(&flat, "status"), -1, "not a boolean");
    ok(verify_flat_get(&flat, "results")->type == VERIFY_FLAT_OBJECT,
       "an object member");
    ok(verify_flat_get(&flat, "resident") == NULL,
       "nested members are not top-level members");
    ok(verify_flat_get(&flat, "hash")->val.len == 4, "the last member");
    len = verify_flat_unescape("a\\u00e9\\ud83d\\ude00\\n", 20, buf, 3);
    is_int((long long)len, 8, "the unescaped length, even when cut");
}

/* Random mutations of a real line: the verdicts always agree. */
static void test_mutations(void)
{
    static const char alphabet[] = "{}[]\":,\\u0123456789abcdefABCDEF-+.eE"
                                   " tnrfl\x7f\xc3\xa9\xe2\x80\xae\xed\xa0";
    char buf[sizeof(LINE) + 8];
    unsigned long seed = 12345;
    size_t len, pos;
    int i, k, edits, j, f, accepted = 0, disagree = 0;

    for (i = 0; i < 200000; i++) {
        memcpy(buf, LINE, sizeof(LINE) - 1);
        len = sizeof(LINE) - 1;
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        edits = 1 + (int)((seed >> 60) & 3);
        for (k = 0; k < edits; k++) {
            seed = seed * 6364136223846793005UL + 1442695040888963407UL;
            pos = (size_t)((seed >> 33) % len);
            switch ((seed >> 20) % 3) {
            case 0:             /* replace a byte */
                buf[pos] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
                break;
            case 1:             /* delete a byte */
                memmove(buf + pos, buf + pos + 1, len - pos - 1);
                len--;
                break;
            default:            /* insert a byte */
                memmove(buf + pos + 1, buf + pos, len - pos);
                buf[pos] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
                len++;
                break;
            }
        }
        j = jansson_accepts(buf, len);
        f = flat_accepts(buf, len);
        accepted += j;
        if (j != f && disagree++ < 5) {
            diag("disagree (jansson %d, flat %d): %.*s", j, f, (int)len,
                 buf);
        }
    }
    ok(disagree == 0, "200000 mutated lines: the same verdict (%d differ; "
       "%d accepted)", disagree, accepted);
    ok(accepted > 1000, "some mutations stay valid (%d)", accepted);
}

int main(void)
{
    test_chosen();
    test_depth();
    test_members();
    test_mutations();
    return done_testing();
}
