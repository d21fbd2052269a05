/*
 * fuzz_event.c -- libFuzzer target: what root reads back from the event
 * spool, on arbitrary bytes: an event file (verify_spool_event_check)
 * and the register state (verify_register_state_parse).
 *
 * Invariants checked (abort() on violation):
 *  - an event file accepted ends in "}\n", holds no byte below 0x20
 *    before it, begins with {"op":", and the body made of it
 *    (',' and the bytes between the braces) wrapped in braces again
 *    parses as one JSON object whose op is import or purge, with
 *    event_id equal to the id checked, without seq/ts/prev/hash.
 *  - a register state accepted formats back to exactly its bytes, and
 *    its digest is 64 hex digits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "verify.h"

static const char id[] = "20261119T080640.123456Z-0000";

static void die(const char *what)
{
    fprintf(stderr, "fuzz_event: invariant violated: %s\n", what);
    abort();
}

static void check_event(const char *buf, size_t len)
{
    const char *op;
    json_t *j;
    size_t i;

    if (verify_spool_event_check(buf, len, id) != NULL) {
        return;
    }
    if (len < 9 || buf[len - 1] != '\n' || buf[len - 2] != '}'
        || strncmp(buf, "{\"op\":\"", 7) != 0) {
        die("an accepted event is not {\"op\":\"…}\\n");
    }
    for (i = 0; i + 1 < len; i++) {
        if ((unsigned char)buf[i] < 0x20) {
            die("an accepted event holds a control character");
        }
    }
    /* what the chain line will carry between ts and prev */
    j = json_loadb(buf, len - 1, JSON_REJECT_DUPLICATES, NULL);
    if (!j || !json_is_object(j)) {
        die("an accepted event is not one JSON object");
    }
    op = json_string_value(json_object_get(j, "op"));
    /* the administrative events a tool spools (docs/audit-guide.md):
     * the records heads (R5.2) and the intake events came after the
     * first two */
    if (!op || (strcmp(op, "import") && strcmp(op, "purge")
                && strcmp(op, "import_recovery")
                && strcmp(op, "intake_policy") && strcmp(op, "records"))
        || json_object_get(j, "seq") || json_object_get(j, "ts")
        || json_object_get(j, "prev") || json_object_get(j, "hash")
        || !json_string_value(json_object_get(j, "event_id"))
        || strcmp(json_string_value(json_object_get(j, "event_id")), id)) {
        die("an accepted event has the wrong members");
    }
    json_decref(j);
}

static void check_state(const char *buf, size_t len, apr_pool_t *p)
{
    verify_register_state_t *st = NULL;
    char *err = NULL, *text;
    size_t tlen = 0;

    if (verify_register_state_parse(buf, len, &st, &err, p)
        != APR_SUCCESS) {
        if (!err) {
            die("a refused state without a reason");
        }
        return;
    }
    text = verify_register_state_format(st, &tlen, p);
    if (tlen != len || memcmp(text, buf, len) != 0) {
        die("an accepted state does not format back to its bytes");
    }
    if (strlen(st->digest) != 64) {
        die("a digest that is not 64 hex digits");
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static apr_pool_t *root;
    apr_pool_t *p;

    if (!root) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    apr_pool_create(&p, root);
    check_event((const char *)data, size);
    check_state((const char *)data, size, p);
    apr_pool_destroy(p);
    return 0;
}
