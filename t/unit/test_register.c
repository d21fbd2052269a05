/*
 * test_register.c -- the VerifyClient grammar: good lines, each fault
 * with its message, and register files tokenised as httpd does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "verify.h"

static apr_pool_t *pool;

/* Parse a line of space-separated words (no quoting needed here). */
static const char *parse(const char *line, verify_client_t **cl)
{
    char *copy = apr_pstrdup(pool, line), *w, *last;
    char *argv[32];
    int argc = 0;

    for (w = apr_strtok(copy, " ", &last); w && argc < 32;
         w = apr_strtok(NULL, " ", &last)) {
        argv[argc++] = w;
    }
    *cl = NULL;
    return verify_register_parse(cl, argc, argv, pool);
}

#define BASE "ip=192.0.2.1 checks=resident approval=A-1 " \
             "valid=2026-01-01..2026-12-31"

static void test_good(void)
{
    verify_client_t *cl;
    const char *err;
    static const unsigned char fpr0[2] = { 0xab, 0x01 };

    err = parse("gov-1 ip=192.0.2.1,2001:db8::7 checks=resident,disability "
                "approval=MOI-2026-7 valid=2026-01-01..2026-12-31 "
                "cert-sha256=ab01" "000000000000000000000000000000"
                "000000000000000000000000000000,"
                "FFEEDDCCBBAA99887766554433221100ffeeddccbbaa9988776655443322"
                "1100 rate=5/s", &cl);
    is_str(err, NULL, "a full line parses");
    if (!cl) {
        return;
    }
    is_str(cl->name, "gov-1", "name");
    is_int(cl->ips->nelts, 2, "two addresses");
    is_str(APR_ARRAY_IDX(cl->ips, 1, const char *), "2001:db8::7",
           "addresses kept as written");
    is_int(cl->subnets->nelts, 2, "and parsed");
    is_int(cl->checks, (1u << VERIFY_CHECK_RESIDENT)
                       | (1u << VERIFY_CHECK_DISABILITY), "checks");
    is_str(cl->approval, "MOI-2026-7", "approval");
    is_int(cl->valid_from, 20260101, "valid from");
    is_int(cl->valid_to, 20261231, "valid to");
    is_int(cl->certs->nelts, 2, "two certificates");
    ok(!memcmp(cl->certs->elts, fpr0, 2), "fingerprint decoded");
    ok(((unsigned char *)cl->certs->elts)[32] == 0xff,
       "upper-case hex accepted");
    ok(cl->rate == 5.0 && cl->burst == 5.0, "rate=5/s");

    err = parse("a.b_c " BASE " rate=30/min", &cl);
    is_str(err, NULL, "rate per minute");
    ok(cl && cl->rate == 0.5 && cl->burst == 30.0, "30/min: 0.5/s, 30");
    err = parse("x valid=2026-02-01..2026-02-01 approval=A checks="
                "indigenous,elderly_alone ip=10.0.0.1", &cl);
    is_str(err, NULL, "items in any order, one-day period");
    ok(cl && cl->rate == 0.0 && cl->certs->nelts == 0,
       "no rate, no certificate");
    err = parse("x ip=10.0.0.1 checks=resident,identity approval=A "
                "valid=2026-01-01..2026-12-31", &cl);
    is_str(err, NULL, "identity is a permission of the register");
    ok(cl && cl->checks == ((1u << VERIFY_CHECK_RESIDENT)
                            | VERIFY_PERMIT_IDENTITY),
       "identity: its own bit, above every check");
    err = parse("x ip=10.0.0.1 checks=resident approval=A "
                "valid=2026-01-01..2026-12-31", &cl);
    ok(cl && !(cl->checks & VERIFY_PERMIT_IDENTITY),
       "without it, no identity permission");
    is_int(verify_check_index("identity", 8), -1,
           "identity is no check a request asks in check=");
    err = parse("x ip=10.0.0.1 checks=age,resident approval=A "
                "valid=2026-01-01..2026-12-31", &cl);
    is_str(err, NULL, "age is a permission of the register");
    ok(cl && cl->checks == ((1u << VERIFY_CHECK_RESIDENT)
                            | VERIFY_PERMIT_AGE),
       "age: its own bit, not identity's");
    is_str(verify_register_canonical(cl, pool),
           "x ip=10.0.0.1 checks=resident,age approval=A "
           "valid=2026-01-01..2026-12-31", "canonical: age after checks");
    err = parse("x ip=10.0.0.1 checks=identity,age approval=A "
                "valid=2026-01-01..2026-12-31", &cl);
    is_str(verify_register_canonical(cl, pool),
           "x ip=10.0.0.1 checks=age,identity approval=A "
           "valid=2026-01-01..2026-12-31", "canonical: identity last");
    err = parse("x ip=10.0.0.1 checks=resident approval=A "
                "valid=2026-01-01..2026-12-31", &cl);
    ok(cl && !(cl->checks & VERIFY_PERMIT_AGE), "without it, no age");
}

static void test_faults(void)
{
    static const struct { const char *line; const char *err; } bad[] = {
        { "", "missing client name" },
        { "bad/name " BASE, "client name \"bad/name\" may hold only "
          "letters, digits, '-', '_' and '.'" },
        { "ip=192.0.2.1 checks=resident", "client name \"ip=192.0.2.1\" "
          "may hold only letters, digits, '-', '_' and '.'" },
        { "n1234567890123456789012345678901234567890123456789012345678901234"
          " " BASE, "client name must come first, 1-64 characters" },
        { "c " BASE " junk", "\"junk\" is not key=value" },
        { "c " BASE " =x", "\"=x\" is not key=value" },
        { "c " BASE " rate=", "\"rate=\" is not key=value" },
        { "c " BASE " colour=red", "unknown item \"colour\" (ip, checks, "
          "approval, valid, cert-sha256, spki-sha256, rate)" },
        { "c " BASE " ip=192.0.2.2", "item ip given twice" },
        { "c ip=192.0.2.0/24 checks=resident approval=A "
          "valid=2026-01-01..2026-12-31",
          "ip \"192.0.2.0/24\" is not an exact IPv4 or IPv6 address" },
        { "c ip=example.org checks=resident approval=A "
          "valid=2026-01-01..2026-12-31",
          "ip \"example.org\" is not an exact IPv4 or IPv6 address" },
        { "c ip=192.0.2.1 checks=resident,aged approval=A "
          "valid=2026-01-01..2026-12-31", "unknown check \"aged\" "
          "(resident, indigenous, elderly_alone, disability, age, identity)" },
        { "c ip=192.0.2.1 checks=resident approval=A valid=2026-12-31",
          "valid=\"2026-12-31\" is not YYYY-MM-DD..YYYY-MM-DD with a start "
          "not after its end" },
        { "c ip=192.0.2.1 checks=resident approval=A "
          "valid=2026-12-31..2026-01-01", "valid=\"2026-12-31..2026-01-01\" "
          "is not YYYY-MM-DD..YYYY-MM-DD with a start not after its end" },
        { "c ip=192.0.2.1 checks=resident approval=A "
          "valid=2026-02-01..2026-02-30", "valid=\"2026-02-01..2026-02-30\" "
          "is not YYYY-MM-DD..YYYY-MM-DD with a start not after its end" },
        { "c " BASE " cert-sha256=abcd", "cert-sha256 \"abcd\" is not 64 "
          "hex digits" },
        { "c " BASE " cert-sha256=zz000000000000000000000000000000000000000"
          "00000000000000000000000", "cert-sha256 \"zz000000000000000000000"
          "00000000000000000000000000000000000000000\" is not 64 hex "
          "digits" },
        { "c " BASE " rate=5/h", "rate=\"5/h\" is not N/s or N/min with N "
          "from 1 to 1000000" },
        { "c " BASE " rate=0/s", "rate=\"0/s\" is not N/s or N/min with N "
          "from 1 to 1000000" },
        { "c " BASE " rate=1000001/s", "rate=\"1000001/s\" is not N/s or "
          "N/min with N from 1 to 1000000" },
        { "c checks=resident approval=A valid=2026-01-01..2026-12-31",
          "ip= is required (R3.7: fixed IP whitelist)" },
        { "c ip=192.0.2.1 checks=, approval=A valid=2026-01-01..2026-12-31",
          "checks= is required" },
        { "c ip=192.0.2.1 checks=resident valid=2026-01-01..2026-12-31",
          "approval= is required (R3.3)" },
        { "c ip=192.0.2.1 checks=resident approval=A",
          "valid= is required (R4.1.2)" },
    };
    verify_client_t *cl;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = parse(bad[i].line, &cl);
        is_str(err, bad[i].err, "fault %d: %.50s", (int)i, bad[i].line);
        ok(cl == NULL, "fault %d: no client", (int)i);
    }
}

/* Exact addresses only: every partial or other form of an address that
 * inet_aton or apr_ipsubnet_create would take is refused. */
static void test_exact_addresses(void)
{
    static const char *const bad[] = {
        "127.0", "127.1", "10", "127.0.0", "0x7f000001", "2130706433",
        "127.0.0.1/32", "127.0.0.01", "1.2.3.4.5", "1.2.3.256",
        "fe80::1%eth0", "::ffff:1.2.3", "2001:db8::/64", "localhost", "*",
        "all", "::ffff:192.0.2.1",  /* write IPv4 as IPv4 */
    };
    static const char *const good[] = {
        "127.0.0.1", "192.0.2.255", "::1", "2001:db8::7",
        "2001:0db8:0000:0000:0000:0000:0000:0007",
    };
    verify_client_t *cl;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = parse(apr_psprintf(pool, "c ip=%s checks=resident approval=A "
                                 "valid=2026-01-01..2026-12-31", bad[i]),
                    &cl);
        is_str(err, apr_psprintf(pool, "ip \"%s\" is not an exact IPv4 or "
                                 "IPv6 address", bad[i]),
               "ip=%s refused", bad[i]);
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        err = parse(apr_psprintf(pool, "c ip=%s checks=resident approval=A "
                                 "valid=2026-01-01..2026-12-31", good[i]),
                    &cl);
        is_str(err, NULL, "ip=%s taken", good[i]);
    }
}

#define CERT_A "cert-sha256=" \
    "aa00000000000000000000000000000000000000000000000000000000000000"
#define CERT_B "cert-sha256=" \
    "bb00000000000000000000000000000000000000000000000000000000000000"

static verify_client_t *client(const char *line, const char *where)
{
    verify_client_t *cl = NULL;
    const char *err = parse(line, &cl);

    if (err) {
        diag("%s: %s", line, err);
        return NULL;
    }
    cl->where = where;
    return cl;
}

/* Two clients on one address: only when both bound to certificates. */
static void test_conflicts(void)
{
    verify_client_t *a = client("a ip=192.0.2.1,192.0.2.9 checks=resident "
                                "approval=A valid=2026-01-01..2026-12-31",
                                "f:1");
    verify_client_t *b = client("b ip=192.0.2.7,192.0.2.9 checks=resident "
                                "approval=A valid=2026-01-01..2026-12-31",
                                "f:2");
    verify_client_t *ac = client("ac ip=192.0.2.9 checks=resident approval=A "
                                 "valid=2026-01-01..2026-12-31 " CERT_A,
                                 "f:3");
    verify_client_t *bc = client("bc ip=192.0.2.9 checks=resident approval=A "
                                 "valid=2026-01-01..2026-12-31 " CERT_B,
                                 "f:4");
    verify_client_t *a2 = client("a ip=192.0.2.50 checks=resident "
                                 "approval=A valid=2026-01-01..2026-12-31",
                                 "f:6");
    verify_client_t *c = client("c ip=192.0.2.50 checks=resident approval=A "
                                "valid=2026-01-01..2026-12-31", "f:7");

    if (!a || !b || !ac || !bc || !a2 || !c) {
        ok(0, "conflict fixtures parse");
        return;
    }
    is_str(verify_register_conflict(b, a, 1, pool), "ip 192.0.2.9 is also "
           "client a's (f:1): two clients may share an address only when "
           "both are bound to certificates (cert-sha256=)",
           "a shared address without certificates");
    is_str(verify_register_conflict(ac, a, 1, pool), "ip 192.0.2.9 is also "
           "client a's (f:1): two clients may share an address only when "
           "both are bound to certificates (cert-sha256=)",
           "one bound, one not: still a conflict");
    is_str(verify_register_conflict(a, ac, 1, pool), "ip 192.0.2.9 is also "
           "client ac's (f:3): two clients may share an address only when "
           "both are bound to certificates (cert-sha256=)",
           "in either order");
    is_str(verify_register_conflict(bc, ac, 1, pool), NULL,
           "both bound to certificates: they may share");
    is_str(verify_register_conflict(c, b, 1, pool), NULL,
           "no shared address");
    is_str(verify_register_conflict(b, a, 0, pool), NULL,
           "addresses not compared when not asked (register readers)");
    is_str(verify_register_conflict(a2, a, 0, pool), "client a already "
           "registered at f:1", "a name is one client");
}

static void test_unbound_remote(void)
{
    static const struct { const char *ips; const char *cert; const char *want; }
    cases[] = {
        { "127.0.0.1", "", NULL },
        { "127.255.3.4,::1", "", NULL },
        { "127.0.0.1,192.0.2.4", "", "192.0.2.4" },
        { "2001:db8::7", "", "2001:db8::7" },
        { "192.0.2.4", " " CERT_A, NULL },
        { "128.0.0.1", "", "128.0.0.1" },
    };
    verify_client_t *cl;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cl = client(apr_psprintf(pool, "c ip=%s checks=resident approval=A "
                                 "valid=2026-01-01..2026-12-31%s",
                                 cases[i].ips, cases[i].cert), "f:1");
        is_str(cl ? verify_register_unbound_remote(cl) : "(no parse)",
               cases[i].want, "unbound remote address of ip=%s%s",
               cases[i].ips, cases[i].cert[0] ? " with a certificate" : "");
    }
}

static void test_checks(void)
{
    int k;

    for (k = 0; k < VERIFY_CHECK_COUNT; k++) {
        const char *n = verify_check_name(k);
        is_int(verify_check_index(n, strlen(n)), k, "check %s", n);
    }
    is_int(verify_check_index("resident", 7), -1, "a prefix is no check");
    is_int(verify_check_index("age", 3), -1, "unknown check");
    {
        static const struct { const char *s; int want; } ages[] = {
            { "age_at_least:0", 0 }, { "age_at_least:1", 1 },
            { "age_at_least:18", 18 }, { "age_at_least:65", 65 },
            { "age_at_least:100", 100 }, { "age_at_least:120", 120 },
            { "age_at_least:121", -2 }, { "age_at_least:999", -2 },
            { "age_at_least:1000", -2 }, { "age_at_least:00", -2 },
            { "age_at_least:018", -2 }, { "age_at_least:065", -2 },
            { "age_at_least:", -2 }, { "age_at_least", -2 },
            { "age_at_least:-1", -2 }, { "age_at_least:+5", -2 },
            { "age_at_least: 5", -2 }, { "age_at_least:5 ", -2 },
            { "age_at_least:1e2", -2 }, { "age_at_least:６５", -2 },
            { "age_at_least=65", -2 }, { "age_at_leastx:5", -2 },
            { "age_at_least:65:1", -2 }, { "age", -1 },
            { "resident", -1 }, { "AGE_AT_LEAST:65", -1 },
            { "age_at_leas:65", -1 }, { "", -1 },
        };
        size_t i;

        for (i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
            is_int(verify_check_age(ages[i].s, strlen(ages[i].s)),
                   ages[i].want, "age check \"%s\"", ages[i].s);
        }
        is_int(verify_check_age("age_at_least:65x", 15), 65,
               "only len bytes are read");
    }
    is_int(verify_check_source(VERIFY_CHECK_INDIGENOUS),
           VERIFY_SRC_HOUSEHOLD, "indigenous comes from household");
    is_int(verify_check_source(VERIFY_CHECK_DISABILITY),
           VERIFY_SRC_DISABILITY, "disability from its own source");
}

static const char *write_file(const char *text)
{
    char *path = apr_pstrdup(pool, "/tmp/test_register.XXXXXX");
    int fd = mkstemp(path);

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        diag("cannot write %s", path);
    }
    close(fd);
    return path;
}

/* Two clients over five lines: a comment, a blank line, a continued
 * line with a CRLF, quotes and a tab. */
#define REGISTER_HEAD \
    "# the register\n" \
    "\n" \
    "   VerifyClient one ip=192.0.2.1 checks=resident approval=A \\\n" \
    "                valid=2026-01-01..2026-12-31\r\n" \
    "verifyclient \"two\" 'ip=192.0.2.2' checks=resident,disability\t" \
    "\"approval=B \\\" 2\" valid=2026-01-01..2026-12-31   \n"

static void test_file(void)
{
    apr_array_header_t *all = NULL;
    const verify_client_t *cl;
    char *err = NULL;
    const char *path;
    apr_status_t rv;

    path = write_file(
        REGISTER_HEAD
        "VerifyClient three ip=192.0.2.3 checks=aged approval=C "
        "valid=2026-01-01..2026-12-31");
    rv = verify_register_read_file(&all, path, &err, pool);
    ok(rv != APR_SUCCESS, "a bad line refuses the file");
    is_str(err, apr_psprintf(pool, "VerifyClient (%s:6): unknown check "
                             "\"aged\" (resident, indigenous, elderly_alone, "
                             "disability, age, identity)", path),
           "names file and line");
    unlink(path);

    path = write_file(
        REGISTER_HEAD
        "VerifyClient three ip=192.0.2.3 checks=resident approval=C "
        "valid=2026-01-01..2026-12-31");
    err = NULL;
    rv = verify_register_read_file(&all, path, &err, pool);
    is_int(rv, APR_SUCCESS, "a good file reads");
    is_str(err, NULL, "no fault");
    if (rv == APR_SUCCESS) {
        is_int(all->nelts, 3, "three clients");
        cl = APR_ARRAY_IDX(all, 0, const verify_client_t *);
        is_str(cl->name, "one", "continued line");
        ok(cl->valid_to == 20261231, "continuation joins the next line");
        is_str(cl->where, apr_psprintf(pool, "%s:4", path),
               "numbered by its last line, as httpd does");
        cl = APR_ARRAY_IDX(all, 1, const verify_client_t *);
        is_str(cl->name, "two", "quoted name");
        is_str(cl->approval, "B \" 2", "quotes and an escaped quote");
        is_int(cl->checks, (1u << VERIFY_CHECK_RESIDENT)
                           | (1u << VERIFY_CHECK_DISABILITY), "tab splits");
        cl = APR_ARRAY_IDX(all, 2, const verify_client_t *);
        is_str(cl->name, "three", "last line without a newline");
    }
    unlink(path);

    path = write_file("VerifyClient a ip=192.0.2.1 checks=resident "
                      "approval=A valid=2026-01-01..2026-12-31\n"
                      "VerifyClient a ip=192.0.2.2 checks=resident "
                      "approval=A valid=2026-01-01..2026-12-31\n");
    rv = verify_register_read_file(&all, path, &err, pool);
    is_str(rv == APR_SUCCESS ? NULL : err,
           apr_psprintf(pool, "VerifyClient (%s:2): client a already "
                        "registered at %s:1", path, path),
           "a client named twice");
    unlink(path);

    path = write_file("Require ip 192.0.2.1\n");
    rv = verify_register_read_file(&all, path, &err, pool);
    is_str(rv == APR_SUCCESS ? NULL : err,
           apr_psprintf(pool, "VerifyClient (%s:1): Require: only "
                        "VerifyClient, VerifyClientRetired and "
                        "VerifyOperators lines belong in a register file",
                        path), "another directive");
    unlink(path);

    rv = verify_register_read_file(&all, "/nonexistent/register", &err,
                                   pool);
    ok(rv != APR_SUCCESS && strstr(err, "/nonexistent/register: cannot "
                                   "open"), "a missing file");
}

#define H64(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
    c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define HA H64("a")
#define HB H64("b")
#define HC H64("c")
#define HD H64("d")
#define H1 H64("1")
#define H2 H64("2")
#define H3 H64("3")
#define H4 H64("4")
#define H5 H64("5")

/* Two certificates at most, each once, and their keys in step. */
static void test_rotation_items(void)
{
    static const struct { const char *tail; const char *err; } bad[] = {
        { " cert-sha256=" HA "," HB "," HC, "cert-sha256 lists more than 2 "
          "values: a client holds one certificate, and a second while they "
          "overlap; retire the old one with VerifyClientRetired" },
        { " cert-sha256=" HA "," HA, "cert-sha256 lists " HA " twice" },
        { " cert-sha256=" HA "," HB " spki-sha256=" H1 "," H1,
          "spki-sha256 lists " H1 " twice: the two certificates have one "
          "key, and a new certificate needs a new key (R3.5)" },
        { " cert-sha256=" HA "," HB " spki-sha256=" H1,
          "spki-sha256= lists 1 public key for 2 certificates "
          "(cert-sha256=): give one for each, in the same order" },
        { " spki-sha256=" H1, "spki-sha256= lists 1 public key for 0 "
          "certificates (cert-sha256=): give one for each, in the same "
          "order" },
        { " cert-sha256=" HA " spki-sha256=xyz", "spki-sha256 \"xyz\" is "
          "not 64 hex digits" },
        { " cert-sha256=" HA " spki-sha256=" H1 " spki-sha256=" H2,
          "item spki-sha256 given twice" },
    };
    verify_client_t *cl;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = parse(apr_pstrcat(pool, "c " BASE, bad[i].tail, NULL), &cl);
        is_str(err, bad[i].err, "rotation fault %d", (int)i);
        ok(cl == NULL, "rotation fault %d: no client", (int)i);
    }
    err = parse("c " BASE " cert-sha256=" HA "," HB " spki-sha256=" H1
                "," H2, &cl);
    is_str(err, NULL, "two certificates with their keys");
    ok(cl && cl->spkis->nelts == 2
       && ((unsigned char *)cl->spkis->elts)[32] == 0x22,
       "keys in the order of the certificates");
    if (cl) {
        cl->where = "f:1";
        is_str(verify_register_canonical(cl, pool), "c ip=192.0.2.1 "
               "checks=resident approval=A-1 valid=2026-01-01..2026-12-31 "
               "cert-sha256=" HA "," HB " spki-sha256=" H1 "," H2,
               "canonical form with the keys");
    }
}

static const char *retired(const char *line, const char **name,
                           verify_retired_t *rt)
{
    char *copy = apr_pstrdup(pool, line), *w, *last;
    char *argv[16];
    int argc = 0;

    for (w = apr_strtok(copy, " ", &last); w && argc < 16;
         w = apr_strtok(NULL, " ", &last)) {
        argv[argc++] = w;
    }
    *name = NULL;
    return verify_register_parse_retired(name, rt, argc, argv, pool);
}

static void test_retired_grammar(void)
{
    static const struct { const char *line; const char *err; } bad[] = {
        { "", "missing client name" },
        { "a/b cert-sha256=" HA " spki-sha256=" H1, "client name \"a/b\" "
          "may hold only letters, digits, '-', '_' and '.'" },
        { "c cert-sha256=" HA, "spki-sha256= is required: a retired "
          "certificate is remembered by its fingerprint and its public "
          "key" },
        { "c spki-sha256=" H1, "cert-sha256= is required: a retired "
          "certificate is remembered by its fingerprint and its public "
          "key" },
        { "c", "cert-sha256= is required: a retired certificate is "
          "remembered by its fingerprint and its public key" },
        { "c cert-sha256=" HA "," HB " spki-sha256=" H1, "cert-sha256 \""
          HA "," HB "\" is not 64 hex digits" },
        { "c cert-sha256=" HA " spki-sha256=" H1 " cert-sha256=" HB,
          "item cert-sha256 given twice: one retired certificate per "
          "line" },
        { "c cert-sha256=" HA " spki-sha256=" H1 " ip=192.0.2.1",
          "unknown item \"ip\" (cert-sha256, spki-sha256)" },
        { "c cert-sha256=" HA " spki-sha256=" H1 " junk",
          "\"junk\" is not key=value" },
        { "c cert-sha256= spki-sha256=" H1, "\"cert-sha256=\" is not "
          "key=value" },
    };
    verify_retired_t rt;
    const char *name, *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = retired(bad[i].line, &name, &rt);
        is_str(err, bad[i].err, "retired fault %d: %.40s", (int)i,
               bad[i].line);
        ok(name == NULL, "retired fault %d: nothing taken", (int)i);
    }
    err = retired("c spki-sha256=" H1 " cert-sha256=" HA, &name, &rt);
    is_str(err, NULL, "a retired line, items in any order");
    is_str(name, "c", "its client");
    ok(rt.cert[0] == 0xaa && rt.spki[31] == 0x11, "both hashes decoded");
}

/* A client with a history: @p current its cert-sha256/spki-sha256 tail,
 * @p hist "CERT:SPKI" pairs (single letters of HA.., digits of H1..). */
static verify_client_t *with_history(const char *current,
                                     const char *const *hist, int n,
                                     const char **fault)
{
    verify_client_t *cl = client(apr_pstrcat(pool, "c " BASE, current,
                                              NULL), "f:1");
    verify_retired_t rt;
    const char *name;
    int i;

    *fault = NULL;
    for (i = 0; cl && !*fault && i < n; i++) {
        *fault = retired(hist[i], &name, &rt);
        if (!*fault) {
            rt.where = apr_psprintf(pool, "f:%d", i + 2);
            *fault = verify_register_retire(cl, &rt, pool);
        }
    }
    return cl;
}

static void test_retire_and_reuse(void)
{
    static const char *const hist[] = {
        "c cert-sha256=" HC " spki-sha256=" H3,
        "c cert-sha256=" HD " spki-sha256=" H4,
        "c cert-sha256=" H64("e") " spki-sha256=" H5,
        "c cert-sha256=" H64("f") " spki-sha256=" H64("6"),
    };
    static const unsigned char k3[32] = {
        0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
        0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
        0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33
    };
    static const unsigned char k4[32] = {
        0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
        0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
        0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44
    };
    const verify_retired_t *rt;
    verify_client_t *cl;
    const char *fault;

    cl = with_history(" cert-sha256=" HA " spki-sha256=" H1, hist, 3,
                      &fault);
    is_str(fault, NULL, "three retired certificates");
    ok(cl && cl->retired->nelts == 3, "kept in order");
    is_str(cl ? verify_register_reused(cl, pool) : "", NULL,
           "a new key reuses nothing");
    rt = cl ? verify_register_retired_key(cl, k3) : NULL;
    ok(rt && !strcmp(rt->where, "f:2"), "the oldest of three is found");
    if (cl) {
        is_str(verify_register_canonical(cl, pool), "c ip=192.0.2.1 "
               "checks=resident approval=A-1 valid=2026-01-01..2026-12-31 "
               "cert-sha256=" HA " spki-sha256=" H1 "\n"
               "c retired cert-sha256=" HC " spki-sha256=" H3 "\n"
               "c retired cert-sha256=" HD " spki-sha256=" H4 "\n"
               "c retired cert-sha256=" H64("e") " spki-sha256=" H5,
               "the history is part of the canonical form");
    }

    cl = with_history(" cert-sha256=" HA " spki-sha256=" H4, hist, 3,
                      &fault);
    is_str(cl ? verify_register_reused(cl, pool) : "",
           "client c (f:1): certificate " HA " has the public key "
           "(spki-sha256 " H4 ") of the certificate " HD " retired at f:3, "
           "the one before the latest of its last 3: a certificate "
           "re-issued for the same key is the same password (R3.5); make "
           "a new key", "a current key that is a retired one");

    cl = with_history(" cert-sha256=" HA "," HB " spki-sha256=" H1 "," H5,
                      hist, 3, &fault);
    ok(cl && strstr(verify_register_reused(cl, pool) ? verify_register_reused(
                        cl, pool) : "", "certificate " HB " has the public "
                    "key (spki-sha256 " H5 ") of the certificate " H64("e")
                    " retired at f:4, the latest of its last 3"),
       "the second certificate of an overlap is checked too");

    cl = with_history(" cert-sha256=" HA " spki-sha256=" H3, hist, 4,
                      &fault);
    is_str(fault, NULL, "a fourth retired certificate");
    is_str(cl ? verify_register_reused(cl, pool) : "", NULL,
           "the fourth-latest key may come back (R3.5: the last 3)");
    ok(cl && !verify_register_retired_key(cl, k3)
       && verify_register_retired_key(cl, k4),
       "only the last three are looked at");

    cl = with_history(" cert-sha256=" HA, hist, 1, &fault);
    is_str(cl ? verify_register_reused(cl, pool) : "", NULL,
           "without spki-sha256= configtest cannot compare keys");

    cl = with_history(" cert-sha256=" HC " spki-sha256=" H1, hist, 1,
                      &fault);
    is_str(fault, "certificate " HC " is still current for client c (f:1): "
           "take it out of its cert-sha256= first",
           "a current certificate cannot be retired");
    cl = with_history(" cert-sha256=" HA, (const char *const[]){
                          hist[0], hist[1], hist[0] }, 3, &fault);
    is_str(fault, "certificate " HC " of client c is retired already (f:2)",
           "a certificate is retired once");
}

/* VerifyClientRetired in a register file: below its client. */
static void test_file_history(void)
{
    apr_array_header_t *all = NULL;
    const verify_client_t *cl;
    char *err = NULL;
    const char *path;
    apr_status_t rv;

    path = write_file(
        "VerifyClient c ip=192.0.2.1 checks=resident approval=A "
        "valid=2026-01-01..2026-12-31 cert-sha256=" HA " spki-sha256=" H1
        "\n"
        "VerifyClientRetired c cert-sha256=" HC " \\\n"
        "    spki-sha256=" H3 "\n");
    rv = verify_register_read_file(&all, path, &err, pool);
    is_int(rv, APR_SUCCESS, "a register file with a history");
    if (rv == APR_SUCCESS) {
        cl = APR_ARRAY_IDX(all, 0, const verify_client_t *);
        ok(cl->retired->nelts == 1
           && !strcmp(APR_ARRAY_IDX(cl->retired, 0, verify_retired_t).where,
                      apr_psprintf(pool, "%s:3", path)),
           "the retired line joins its client, with its place");
    }
    unlink(path);

    path = write_file(
        "VerifyClientRetired c cert-sha256=" HC " spki-sha256=" H3 "\n"
        "VerifyClient c ip=192.0.2.1 checks=resident approval=A "
        "valid=2026-01-01..2026-12-31\n");
    rv = verify_register_read_file(&all, path, &err, pool);
    is_str(rv == APR_SUCCESS ? NULL : err,
           apr_psprintf(pool, "VerifyClientRetired (%s:1): no VerifyClient "
                        "c above this line: a retired certificate is "
                        "listed below its client", path),
           "a retired line above its client");
    unlink(path);

    path = write_file(
        "VerifyClient c ip=192.0.2.1 checks=resident approval=A "
        "valid=2026-01-01..2026-12-31 cert-sha256=" HA " spki-sha256=" H3
        "\n"
        "VerifyClientRetired c cert-sha256=" HC " spki-sha256=" H3 "\n");
    rv = verify_register_read_file(&all, path, &err, pool);
    ok(rv != APR_SUCCESS && err && strstr(err, apr_psprintf(
           pool, "client c (%s:1): certificate " HA " has the public key "
           "(spki-sha256 " H3 ") of the certificate " HC " retired at "
           "%s:2, the latest of its last 3", path, path)),
       "a reused key refuses the file: %s", err ? err : "(accepted)");
    unlink(path);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_good();
    test_faults();
    test_exact_addresses();
    test_conflicts();
    test_unbound_remote();
    test_checks();
    test_file();
    test_rotation_items();
    test_retired_grammar();
    test_retire_and_reuse();
    test_file_history();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
