/*
 * test_audit_body.c -- the bodies of the chain's service lines.
 *
 * Each body is compared byte for byte with the form mod_verify wrote
 * with snprintf before the library owned it, and parsed with jansson.
 */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "tap.h"
#include "verify.h"

static char out[1024];

/* NUL-terminate what @p b holds. */
static const char *text(verify_jbuf_t *b)
{
    memcpy(out, b->buf, b->len);
    out[b->len] = '\0';
    return out;
}

/* The body wrapped in braces parses, and member @p key is @p want. */
static int member_is(const char *body, const char *key, const char *want)
{
    char wrapped[1100];
    json_t *j;
    const char *got;
    int ok_ = 0;

    snprintf(wrapped, sizeof(wrapped), "{%s}", body + 1);
    j = json_loads(wrapped, 0, NULL);
    got = j ? json_string_value(json_object_get(j, key)) : NULL;
    ok_ = got && strcmp(got, want) == 0;
    json_decref(j);
    return ok_;
}

static void test_recover(void)
{
    static const char detail[] = "writer died inside the chain step: pid "
                                 "2124; partial line removed";
    verify_jbuf_t b;
    char mem[512], want[512], longer[300];

    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_audit_body_recover(&b, 2125, detail);
    snprintf(want, sizeof(want), ",\"op\":\"audit_recover\",\"pid\":%ld,"
             "\"detail\":\"%s\"", 2125L, detail);
    is_str(text(&b), want, "audit_recover body");
    ok(member_is(out, "detail", detail), "audit_recover body is JSON");

    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    longer[3] = '\t';
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_audit_body_recover(&b, 7, longer);
    text(&b);
    ok(strstr(out, "\"detail\":\"xxx\\u0009xx") != NULL
       && strstr(out, "\xe2\x80\xa6\"") != NULL
       && b.len < 200 + sizeof(",\"op\":\"audit_recover\",\"pid\":7,"
                               "\"detail\":\"\xe2\x80\xa6\""),
       "detail escaped and cut at 200 bytes");
}

static void test_withdrawn(void)
{
    verify_jbuf_t b;
    char mem[512], want[512];

    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_audit_body_withdrawn(&b, "Zq3x0000000000000000001a", 42);
    snprintf(want, sizeof(want), ",\"op\":\"withdrawn\",\"request_id\":"
             "\"%s\",\"withdrawn_seq\":%llu,\"status\":503,\"detail\":"
             "\"the line could not be synced; its answer was not sent\"",
             "Zq3x0000000000000000001a", 42ULL);
    is_str(text(&b), want, "withdrawn body");
    ok(member_is(out, "op", "withdrawn"), "withdrawn body is JSON");

    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_audit_body_withdrawn(&b, NULL, 18446744073709551615ULL);
    ok(strstr(text(&b), "\"request_id\":\"\",\"withdrawn_seq\":"
              "18446744073709551615,") != NULL,
       "no request id: empty string; seq in full");
}

int main(void)
{
    test_recover();
    test_withdrawn();
    return done_testing();
}
