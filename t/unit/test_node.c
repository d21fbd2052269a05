/*
 * test_node.c -- the node id (verify_node.c) and its "node" member in
 * sealed audit lines (verify_audit_seal): which names are ids, and that a
 * line with the member still checks against the chain.
 */
#include <string.h>
#include <jansson.h>
#include "unit.h"
#include "verify_node.h"
#include "verify_audit_line.h"

static void test_valid(void)
{
    static const char *const good[] = {
        "a", "node-a", "n1", "Node_2.east", "0",
        "abcdefghijklmnopqrstuvwxyz012345"          /* 32 bytes */
    };
    static const char *const bad[] = {
        "", "-a", ".a", "_a", "node a", "node\"a", "node\\a", "n\xc3\xa9",
        "node/a", "node+a", "node\na",
        "abcdefghijklmnopqrstuvwxyz0123456"         /* 33 bytes */
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ok(verify_node_valid(good[i]), "'%s' is a node id", good[i]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(!verify_node_valid(bad[i]), "bad node id %zu refused", i);
    }
    ok(!verify_node_valid(NULL), "NULL is no node id");
    verify_node_set("node-b");
    is_str(verify_node_get(), "node-b", "set then get");
    verify_node_set("bad id");
    ok(verify_node_get() == NULL, "an invalid id clears it");
    verify_node_set(NULL);
    ok(verify_node_get() == NULL, "NULL clears it");
}

static void test_seal(void)
{
    apr_time_t t0 = apr_time_from_sec(1795708799);
    const char *body = ",\"op\":\"verify\",\"status\":200";
    verify_chain_t w = { 0, { 0 } }, r = { 0, { 0 } };
    char out[VERIFY_AUDIT_LINE_MAX];
    json_t *j;
    size_t n;

    verify_node_set("node-a");
    n = verify_audit_seal(&w, t0, body, strlen(body), out, sizeof(out));
    ok(n > 0 && strstr(out, "\",\"node\":\"node-a\",\"op\":\"verify\"")
       && strncmp(out, "{\"seq\":1,\"ts\":\"", 15) == 0,
       "node sealed after ts, before the body");
    ok(verify_audit_check_line(&r, out, n - 1, 0) == VERIFY_LINE_OK,
       "a line with node checks against the chain");
    j = json_loadb(out, n - 1, JSON_REJECT_DUPLICATES, NULL);
    is_str(j ? json_string_value(json_object_get(j, "node")) : NULL,
           "node-a", "jansson reads node");
    json_decref(j);

    verify_node_set(NULL);
    n = verify_audit_seal(&w, t0, body, strlen(body), out, sizeof(out));
    ok(n > 0 && !strstr(out, "\"node\""), "no id: no node member");
    ok(verify_audit_check_line(&r, out, n - 1, 0) == VERIFY_LINE_OK
       && r.seq == 2, "the chain goes on across lines with and without node");
}

int main(void)
{
    unit_begin();
    test_valid();
    test_seal();
    return unit_end();
}
