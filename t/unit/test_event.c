/*
 * test_event.c -- administrative events as the chain records them: the
 * import, purge and spool_refused bodies byte for byte, faults cleaned
 * of what a batch held, and the client register's state and changes.
 */
#include <jansson.h>
#include "unit.h"

static char out[VERIFY_AUDIT_LINE_MAX];

static const char *text(verify_jbuf_t *b)
{
    memcpy(out, b->buf, b->len);
    out[b->len] = '\0';
    return out;
}

/* The body wrapped in braces: a JSON object (NULL if not). */
static json_t *parsed(const char *body)
{
    char *wrapped = apr_psprintf(pool, "{%s}", body + 1);

    return json_loads(wrapped, JSON_REJECT_DUPLICATES, NULL);
}

static void test_import(void)
{
    static const char *const forced[] = {
        VERIFY_FORCED_SAME_FILE, VERIFY_FORCED_OLDER, NULL
    };
    static const char *const no_force[] = { NULL };
    verify_event_import_t e;
    unsigned char sha[32];
    char mem[VERIFY_EVENT_MAX], hex[65], want[1024], signer[3000];
    verify_jbuf_t b;
    json_t *j;
    size_t i;

    for (i = 0; i < sizeof(sha); i++) {
        sha[i] = (unsigned char)(i * 37 + 1);
    }
    verify_hex(sha, 32, hex);
    memset(&e, 0, sizeof(e));
    e.accepted = 1;
    e.src = VERIFY_SRC_HOUSEHOLD;
    e.batch_id = "b93733c1c168b8698f359442d8851a30";
    e.have_records = 1;
    e.records = 123456789012ULL;
    e.sha256 = sha;
    e.imported_at = "2026-11-27T14:15:33+08:00";
    e.approved_until = 20270630;
    e.signer = "/C=TW/O=Household Registration/CN=batch-signer";
    /* 2026-11-27T06:00:00Z */
    e.signed_at = apr_time_from_sec(1795759200);
    e.encrypted = 1;
    e.plain = 0;
    e.forced = forced;
    e.input = "destroyed";
    e.user = "clerk";
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_import(&b, &e);
    snprintf(want, sizeof(want), ",\"op\":\"import\",\"result\":\"accepted\","
             "\"source\":\"household\",\"batch_id\":\"%s\",\"records\":"
             "123456789012,\"sha256\":\"%s\",\"imported_at\":\"%s\","
             "\"approved_until\":\"2027-06-30\",\"signer\":\"%s\","
             "\"signed_at\":\"2026-11-27T14:00:00+08:00\",\"encrypted\":true,"
             "\"plain\":false,\"forced\":[\"same_sha256\","
             "\"older_signing_time\"],"
             "\"input\":\"destroyed\",\"user\":\"clerk\"", e.batch_id, hex,
             e.imported_at, e.signer);
    is_str(text(&b), want, "an accepted import, byte for byte");
    ok(!b.overflow, "no overflow");

    e.forced = no_force;
    e.plain = 1;
    e.encrypted = 0;
    e.signed_at = 0;
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_import(&b, &e);
    ok(strstr(text(&b), ",\"signed_at\":null,\"encrypted\":false,"
              "\"plain\":true,\"forced\":[],") != NULL,
       "--allow-plain, --force overriding nothing: plain true, forced []");

    memset(&e, 0, sizeof(e));
    e.src = VERIFY_SRC_DISABILITY;
    e.encrypted = -1;
    e.input = "kept";
    e.fault = "line 7: invalid id: check digit mismatch";
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_import(&b, &e);
    is_str(text(&b), ",\"op\":\"import\",\"result\":\"refused\",\"source\":"
           "\"disability\",\"batch_id\":null,\"records\":null,\"sha256\":"
           "null,\"imported_at\":null,\"approved_until\":null,\"signer\":"
           "null,\"signed_at\":null,\"encrypted\":null,\"plain\":false,"
           "\"forced\":null,\"input\":\"kept\",\"fault\":\"line 7: invalid "
           "id: check digit mismatch\",\"user\":null",
           "a refused import before its input was read: nulls, the fault");
    j = parsed(out);
    ok(j && json_is_null(json_object_get(j, "batch_id"))
       && !strcmp(json_string_value(json_object_get(j, "result")),
                  "refused"), "it is JSON");
    json_decref(j);

    /* the longest signer and fault still leave room for at and id */
    memset(signer, 'S', sizeof(signer) - 1);
    signer[sizeof(signer) - 1] = '\0';
    e.signer = signer;
    e.fault = signer;
    e.user = signer;
    e.have_records = 1;
    e.records = UINT64_MAX;
    e.sha256 = sha;
    e.batch_id = e.imported_at = signer;
    e.forced = forced;
    e.signed_at = apr_time_from_sec(1795759200);
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_import(&b, &e);
    ok(!b.overflow && b.len + 120 < VERIFY_EVENT_MAX,
       "every text is bounded (%lu bytes)", (unsigned long)b.len);
}

/* The next run's record of a killed import, and a change of the
 * store's intake policy: byte for byte, bounded. */
static void test_recovery_and_policy(void)
{
    verify_event_recovery_t e;
    unsigned char sha[32];
    char mem[VERIFY_EVENT_MAX], hex[65], want[1024], big[3000];
    verify_jbuf_t b;
    size_t i;

    for (i = 0; i < sizeof(sha); i++) {
        sha[i] = (unsigned char)i;
    }
    verify_hex(sha, 32, hex);
    memset(&e, 0, sizeof(e));
    e.committed = 1;
    e.src = VERIFY_SRC_ELDERLY_ALONE;
    e.batch_id = "b93733c1c168b8698f359442d8851a30";
    e.have_records = 1;
    e.records = 12;
    e.sha256 = sha;
    e.imported_at = "2026-11-27T14:15:33+08:00";
    e.file = "/srv/in/elderly.p7m";
    e.input = "destroyed";
    e.pending_since = "2026-11-27T14:15:32.000001+08:00";
    e.import_user = "clerk";
    e.user = "root";
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_recovery(&b, &e);
    snprintf(want, sizeof(want), ",\"op\":\"import_recovery\","
             "\"committed\":true,\"source\":\"elderly_alone\",\"batch_id\":"
             "\"%s\",\"records\":12,\"sha256\":\"%s\",\"imported_at\":\"%s\","
             "\"file\":\"/srv/in/elderly.p7m\",\"input\":\"destroyed\","
             "\"pending_since\":\"%s\",\"import_user\":\"clerk\","
             "\"user\":\"root\"", e.batch_id, hex, e.imported_at,
             e.pending_since);
    is_str(text(&b), want, "an import recovery, byte for byte");

    memset(big, 'F', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    e.committed = 0;
    e.have_records = 0;
    e.imported_at = NULL;
    e.file = e.input = e.pending_since = e.import_user = e.user = big;
    e.batch_id = big;
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_recovery(&b, &e);
    ok(!b.overflow && b.len + 120 < VERIFY_EVENT_MAX
       && strstr(text(&b), "\"committed\":false,") != NULL
       && strstr(text(&b), "\"records\":null,") != NULL
       && strstr(text(&b), "\"imported_at\":null,") != NULL,
       "not committed: nulls; every text bounded (%lu bytes)",
       (unsigned long)b.len);

    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_intake_policy(&b, 1, 0, "/var/lib/verify/store", "root");
    is_str(text(&b), ",\"op\":\"intake_policy\",\"require_signed\":true,"
           "\"previous\":false,\"store\":\"/var/lib/verify/store\","
           "\"user\":\"root\"", "an intake policy change, byte for byte");
}

static void test_purge(void)
{
    verify_event_purge_t e;
    char mem[VERIFY_EVENT_MAX];
    verify_jbuf_t b;

    memset(&e, 0, sizeof(e));
    e.result = "purged";
    e.audit_dir = "/var/log/verify";
    e.before = "2021-01-01";
    e.purged_through = "2020-12-31";
    e.files = 3;
    e.have_last = 1;
    e.last_seq = 977;
    e.last_hash = "ab";
    e.checkpoint = "purged-through-2020-12-31.json";
    e.user = "root";
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_purge(&b, &e);
    is_str(text(&b), ",\"op\":\"purge\",\"result\":\"purged\",\"audit_dir\":"
           "\"/var/log/verify\",\"before\":\"2021-01-01\",\"purged_through\":"
           "\"2020-12-31\",\"files\":3,\"last_seq\":977,\"last_hash\":\"ab\","
           "\"checkpoint\":\"purged-through-2020-12-31.json\",\"user\":"
           "\"root\"", "a purge, byte for byte");

    memset(&e, 0, sizeof(e));
    e.result = "refused";
    e.audit_dir = "/a\"b";
    e.before = "2025-01-01";
    e.fault = "less than 5 years before today";
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_purge(&b, &e);
    is_str(text(&b), ",\"op\":\"purge\",\"result\":\"refused\",\"audit_dir\":"
           "\"/a\\\"b\",\"before\":\"2025-01-01\",\"purged_through\":null,"
           "\"files\":0,\"last_seq\":null,\"last_hash\":null,\"checkpoint\":"
           "null,\"fault\":\"less than 5 years before today\",\"user\":null",
           "a refused purge: nulls, the fault");

    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_spool_refused(&b, "a symbolic link (not followed)",
                               "refused/20261119T080640.123456Z-0000");
    is_str(text(&b), ",\"op\":\"spool_refused\",\"fault\":\"a symbolic link "
           "(not followed)\",\"kept_as\":\"refused/20261119T080640.123456Z-"
           "0000\"", "a refused spool entry");
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_spool_refused(&b, "x", NULL);
    ok(strstr(text(&b), "\"kept_as\":null") != NULL, "left in place: null");
}

static void test_fault(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "line 7: invalid id: check digit mismatch (id A12*****88)",
          "line 7: invalid id: check digit mismatch" },
        { "line 1: header: unknown column \"Chen Mei Ling\" (column 2) for "
          "source household", "line 1: header: unknown column \"\xe2\x80\xa6"
          "\" (column 2) for source household" },
        { "line 3: header: column \"id\" given twice",
          "line 3: header: column \"\xe2\x80\xa6\" given twice" },
        { "line 9: name is empty (id A12*****89) tail",
          "line 9: name is empty tail" },
        { "an open \"quote", "an open \"\xe2\x80\xa6\"" },
        { "an open (id A12", "an open" },
        { "signature check failed: certificate verify error",
          "signature check failed: certificate verify error" },
        { "", "" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_str(verify_event_fault(cases[i].in, pool), cases[i].want,
               "fault cleaned: %s", cases[i].in);
    }
}

/* A client of @p line (the words of a VerifyClient line). */
static verify_client_t *client(const char *line, const char *where)
{
    char *words[16], *copy = apr_pstrdup(pool, line), *last, *w;
    verify_client_t *cl = NULL;
    const char *err;
    int n = 0;

    for (w = apr_strtok(copy, " ", &last); w && n < 16;
         w = apr_strtok(NULL, " ", &last)) {
        words[n++] = w;
    }
    err = verify_register_parse(&cl, n, words, pool);
    if (err) {
        diag("%s: %s", line, err);
        exit(2);
    }
    cl->where = where;
    return cl;
}

static apr_array_header_t *reg(const char *const *lines, int n)
{
    apr_array_header_t *a = apr_array_make(pool, n, sizeof(void *));
    int i;

    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(a, verify_client_t *) = client(lines[i], "f:1");
    }
    return a;
}

static const char *const base[] = {
    "b ip=10.0.0.2 checks=resident approval=A2 valid=2020-01-01..2030-01-01",
    "a ip=10.0.0.1,10.0.0.9 checks=identity,resident approval=A1 "
    "valid=2020-01-01..2030-01-01 rate=5/min",
    "c ip=10.0.0.3 checks=disability approval=A3 valid=2020-01-01..2030-01-01"
    " cert-sha256=" "ABCDEF0123456789ABCDEF0123456789"
    "ABCDEF0123456789ABCDEF0123456789",
};

/* The one body of @p old -> @p cur, parsed. */
static json_t *change(const verify_register_state_t *old,
                      const verify_register_state_t *cur)
{
    apr_array_header_t *b = verify_event_register(old, cur, pool);

    if (b->nelts != 1) {
        diag("%d bodies", b->nelts);
        return NULL;
    }
    return parsed(APR_ARRAY_IDX(b, 0, const char *));
}

static const char *names(json_t *j, const char *key)
{
    json_t *a = json_object_get(j, key), *v;
    const char *s = "";
    size_t i;

    json_array_foreach(a, i, v) {
        s = apr_pstrcat(pool, s, i ? "," : "", json_string_value(v), NULL);
    }
    return s;
}

static void test_register(void)
{
    const char *moved[3], *more[4], *text_;
    verify_register_state_t *st, *st2, *back, *st3;
    apr_array_header_t *a, *bodies;
    char *err = NULL, *bad;
    size_t len;
    json_t *j;
    int i;

    is_str(verify_register_canonical(client(base[1], "x:1"), pool),
           "a ip=10.0.0.1,10.0.0.9 checks=resident,identity approval=A1 "
           "valid=2020-01-01..2030-01-01 rate=5/min",
           "the canonical form: checks in order, identity last");
    ok(strstr(verify_register_canonical(client(base[2], "x:1"), pool),
              " cert-sha256=abcdef0123456789abcdef") != NULL,
       "certificates in lower case");
    ok(strstr(verify_register_canonical(client("d ip=::1 checks=resident "
                                               "approval=X valid=2020-01-01.."
                                               "2020-01-02 rate=7/s", "x"),
                                        pool), " rate=7/s") != NULL,
       "a rate per second");

    st = verify_register_state(reg(base, 3), pool);
    ok(st->names->nelts == 3
       && !strcmp(APR_ARRAY_IDX(st->names, 0, const char *), "a")
       && !strcmp(APR_ARRAY_IDX(st->names, 2, const char *), "c"),
       "the state in name order");
    moved[0] = base[2];
    moved[1] = base[0];
    moved[2] = base[1];
    a = reg(moved, 3);
    APR_ARRAY_IDX(a, 0, verify_client_t *)->where = "other.conf:40";
    st2 = verify_register_state(a, pool);
    is_str(st2->digest, st->digest, "the order and place of the lines do "
           "not change the digest");

    text_ = verify_register_state_format(st, &len, pool);
    ok(!strncmp(text_, "mod_verify register state 1\ndigest ", 35)
       && strstr(text_, "\nclient a ") && strlen(text_) == len,
       "the state file's text");
    is_int(verify_register_state_parse(text_, len, &back, &err, pool),
           APR_SUCCESS, "parsed back");
    ok(!strcmp(back->digest, st->digest) && back->names->nelts == 3,
       "the same state");
    bad = apr_pstrdup(pool, text_);
    bad[strlen(bad) - 3] ^= 1;
    ok(verify_register_state_parse(bad, len, &back, &err, pool)
       != APR_SUCCESS && strstr(err, "digest"), "an entry changed: %s", err);
    ok(verify_register_state_parse(text_, len - 1, &back, &err, pool)
       != APR_SUCCESS && strstr(err, "newline"), "cut: %s", err);
    ok(verify_register_state_parse("mod_verify register state 2\n", 28,
                                   &back, &err, pool) != APR_SUCCESS,
       "another version: %s", err);
    bad = apr_pstrcat(pool, text_, "client a ", st->digest, "\n", NULL);
    ok(verify_register_state_parse(bad, strlen(bad), &back, &err, pool)
       != APR_SUCCESS && strstr(err, "order"), "a name twice: %s", err);
    bad = apr_pstrcat(pool, text_, "client b/x ", st->digest, "\n", NULL);
    ok(verify_register_state_parse(bad, strlen(bad), &back, &err, pool)
       != APR_SUCCESS && strstr(err, "client NAME HEX"),
       "a name the register refuses: %s", err);

    /* the first start: everything added, no previous digest */
    j = change(NULL, st);
    ok(j && !strcmp(names(j, "added"), "a,b,c") && !*names(j, "removed")
       && !*names(j, "changed")
       && json_is_null(json_object_get(j, "previous"))
       && json_integer_value(json_object_get(j, "clients")) == 3
       && !strcmp(json_string_value(json_object_get(j, "digest")),
                  st->digest)
       && !json_object_get(j, "part"), "the first start: all added");
    json_decref(j);
    is_int(verify_event_register(st, st2, pool)->nelts, 0,
           "no change: no line");

    /* b removed, c changed (another approval), d added */
    more[0] = base[1];
    more[1] = "c ip=10.0.0.3 checks=disability approval=A3-renewed "
              "valid=2020-01-01..2030-01-01";
    more[2] = "d ip=10.0.0.4 checks=resident approval=A4 "
              "valid=2020-01-01..2030-01-01";
    st3 = verify_register_state(reg(more, 3), pool);
    j = change(st, st3);
    ok(j && !strcmp(names(j, "added"), "d") && !strcmp(names(j, "removed"),
                                                       "b")
       && !strcmp(names(j, "changed"), "c")
       && !strcmp(json_string_value(json_object_get(j, "previous")),
                  st->digest), "added, removed, changed by name");
    json_decref(j);
    ok(!strstr(APR_ARRAY_IDX(verify_event_register(st, st3, pool), 0,
                             const char *), "10.0.0"),
       "no address, approval or certificate in the line");

    /* two virtual hosts defining one name: one entry, both lines */
    a = reg(base, 3);
    APR_ARRAY_PUSH(a, verify_client_t *) =
        client("a ip=10.0.0.7 checks=resident approval=A9 "
               "valid=2020-01-01..2030-01-01", "vhost.conf:2");
    st2 = verify_register_state(a, pool);
    j = change(st, st2);
    ok(j && st2->names->nelts == 3 && !strcmp(names(j, "changed"), "a")
       && !*names(j, "added"), "a second definition changes the entry");
    json_decref(j);

    /* a register too large for one line: parts */
    a = apr_array_make(pool, 200, sizeof(void *));
    for (i = 0; i < 200; i++) {
        APR_ARRAY_PUSH(a, verify_client_t *) =
            client(apr_psprintf(pool, "client-with-a-long-name-%03d-xxxxxxxx"
                                "xxxxxxxxxxxxxxxxxxxxxxxxxx ip=10.1.%d.%d "
                                "checks=resident approval=A valid=2020-01-"
                                "01..2030-01-01", i, i / 250, i % 250 + 1),
                   "f:1");
    }
    st2 = verify_register_state(a, pool);
    bodies = verify_event_register(NULL, st2, pool);
    ok(bodies->nelts > 1, "200 long names: %d lines", bodies->nelts);
    {
        int total = 0, k;
        for (k = 0; k < bodies->nelts; k++) {
            const char *bd = APR_ARRAY_IDX(bodies, k, const char *);
            j = bd ? parsed(bd) : NULL;
            ok(j && strlen(bd) < VERIFY_AUDIT_LINE_MAX - 250
               && json_integer_value(json_object_get(j, "part")) == k + 1
               && json_integer_value(json_object_get(j, "parts"))
                  == bodies->nelts
               && !strcmp(json_string_value(json_object_get(j, "digest")),
                          st2->digest), "part %d fits a line", k + 1);
            total += (int)json_array_size(json_object_get(j, "added"));
            json_decref(j);
        }
        is_int(total, 200, "every name in one of them");
    }
}

static void test_user(void)
{
    const char *u = verify_event_user(pool);

    ok(u && *u, "the user running this: %s", u ? u : "(none)");
}

int main(void)
{
    unit_begin();
    test_import();
    test_recovery_and_policy();
    test_purge();
    test_fault();
    test_register();
    test_user();
    return unit_end();
}
