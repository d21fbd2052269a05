/*
 * test_operators.c -- the operator register (verify_operators.c, R4.3):
 * a good file read whole, each fault named with its line, the lookup on
 * each side of a period's ends, and VerifyOperators lines in a register
 * file as verify-audit reads them.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"

/* Parse @p text as file "ops": NULL and *reg, or the fault. */
static const char *parse(const char *text, verify_operators_t **reg)
{
    *reg = NULL;
    return verify_operators_parse(reg, text, strlen(text), "ops", pool);
}

/* The fault of @p text, or "(accepted)". */
static const char *fault(const char *text, size_t len)
{
    verify_operators_t *reg = NULL;
    const char *err = verify_operators_parse(&reg, text, len, "ops", pool);

    return err ? err : "(accepted)";
}

#define F(s) fault(s, sizeof(s) - 1)

/* @p text into the scratch directory as @p name: its path. */
static char *wf(const char *name, const char *text)
{
    return write_file(tmpdir, name, text, strlen(text));
}

static void test_good(void)
{
    verify_operators_t *reg;
    const verify_operator_t *op;
    const char *err;

    err = parse("# operators of gov-1 (UTF-8)\n"
                "\n"
                "clerk.a   caseworker  2026-01-01..2026-12-31\n"
                "  \t# an indented comment\n"
                "\t王小明\t社工\t2026-03-01..2026-03-01  \r\n"
                "Clerk.A supervisor 2025-01-01..2030-12-31", &reg);
    is_str(err, NULL, "a good file parses (comments, blanks, tabs, CRLF, "
           "no newline at the end)");
    if (!reg) {
        return;
    }
    is_int(reg->list->nelts, 3, "three operators");
    op = APR_ARRAY_IDX(reg->list, 1, verify_operator_t *);
    is_str(op->account, "王小明", "account in UTF-8");
    is_str(op->role, "社工", "role in UTF-8");
    is_int(op->valid_from, 20260301, "one-day period: from");
    is_int(op->valid_to, 20260301, "one-day period: to");
    is_int(op->line, 5, "its line number");
    is_str(reg->path, "ops", "the file's name is kept");

    is_int(verify_operators_check(reg, "clerk.a", 7, 20260101, &op),
           VERIFY_OPERATOR_OK, "first day of the period");
    is_str(op ? op->role : NULL, "caseworker", "its entry");
    is_int(verify_operators_check(reg, "clerk.a", 7, 20261231, NULL),
           VERIFY_OPERATOR_OK, "last day of the period");
    is_int(verify_operators_check(reg, "clerk.a", 7, 20251231, &op),
           VERIFY_OPERATOR_NOT_YET, "the day before: not yet");
    is_int(verify_operators_check(reg, "clerk.a", 7, 20270101, &op),
           VERIFY_OPERATOR_ENDED, "the day after: ended");
    is_int(verify_operators_check(reg, "Clerk.A", 7, 20270101, &op),
           VERIFY_OPERATOR_OK, "case counts: Clerk.A is another account");
    is_int(verify_operators_check(reg, "clerk.b", 7, 20260601, &op),
           VERIFY_OPERATOR_UNKNOWN, "unknown account");
    ok(op == NULL, "no entry for an unknown account");
    is_int(verify_operators_check(reg, "clerk.a ", 8, 20260601, NULL),
           VERIFY_OPERATOR_UNKNOWN, "a trailing space is another account");
    is_int(verify_operators_check(reg, "clerk", 5, 20260601, NULL),
           VERIFY_OPERATOR_UNKNOWN, "a prefix is another account");

    err = parse("", &reg);
    ok(!err && reg && reg->list->nelts == 0, "an empty file: nobody");
    err = parse("# nobody yet\n\n", &reg);
    ok(!err && reg && reg->list->nelts == 0, "comments only: nobody");
}

/* The digest the register lines record: entries sorted by account
 * (bytes), as "ACCOUNT ROLE FROM..TO\n"; the expected value computed
 * apart (Python's hashlib over those three lines). */
static void test_digest(void)
{
    verify_operators_t *a, *b;

    parse("# operators of gov-1 (UTF-8)\n"
          "clerk.a   caseworker  2026-01-01..2026-12-31\n"
          "\t王小明\t社工\t2026-03-01..2026-03-01  \r\n"
          "Clerk.A supervisor 2025-01-01..2030-12-31", &a);
    is_str(a ? verify_operators_digest(a, pool) : NULL,
           "accounts=3 sha256=009d59d214f85a239f2a07c04e1901d01770998b9293"
           "1235c2365d52e2c71ba0", "the digest of three accounts");
    parse("Clerk.A  supervisor 2025-01-01..2030-12-31\n"
          "# reordered, respaced, commented\n"
          "王小明 社工 2026-03-01..2026-03-01\n"
          "clerk.a caseworker 2026-01-01..2026-12-31\n", &b);
    is_str(b ? verify_operators_digest(b, pool) : NULL,
           a ? verify_operators_digest(a, pool) : "",
           "order, spacing and comments do not change it");
    parse("Clerk.A  supervisor 2025-01-01..2030-12-31\n"
          "王小明 社工 2026-03-01..2026-03-02\n"
          "clerk.a caseworker 2026-01-01..2026-12-31\n", &b);
    ok(b && a && strcmp(verify_operators_digest(b, pool),
                        verify_operators_digest(a, pool)),
       "a period does");
    parse("Clerk.A  caseworker 2025-01-01..2030-12-31\n"
          "王小明 社工 2026-03-01..2026-03-01\n"
          "clerk.a caseworker 2026-01-01..2026-12-31\n", &b);
    ok(b && a && strcmp(verify_operators_digest(b, pool),
                        verify_operators_digest(a, pool)), "a role does");
    parse("", &b);
    is_str(b ? verify_operators_digest(b, pool) : NULL,
           "accounts=0 sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b"
           "934ca495991b7852b855", "an empty register");
}

static void test_why(void)
{
    verify_operator_t op;

    memset(&op, 0, sizeof(op));
    op.valid_from = 20260101;
    op.valid_to = 20260630;
    is_str(verify_operators_why(VERIFY_OPERATOR_UNKNOWN, NULL, pool),
           "the operator is not in the client's operator register",
           "unknown");
    is_str(verify_operators_why(VERIFY_OPERATOR_ENDED, &op, pool),
           "the operator's registered period 2026-01-01..2026-06-30 has "
           "ended (Taipei date)", "ended");
    is_str(verify_operators_why(VERIFY_OPERATOR_NOT_YET, &op, pool),
           "the operator's registered period 2026-01-01..2026-06-30 has "
           "not begun (Taipei date)", "not yet");
}

static void test_faults(void)
{
    char longacc[80];

    is_str(F("a r 2026-01-01..2026-12-31\nb r\n"),
           "ops:2: 2 fields where ACCOUNT ROLE FROM..TO are three",
           "two fields");
    is_str(F("a\n"), "ops:1: 1 field where ACCOUNT ROLE FROM..TO are three",
           "one field");
    is_str(F("a r 2026-01-01..2026-12-31 # note\n"),
           "ops:1: more than three fields (ACCOUNT ROLE FROM..TO; a "
           "comment is a line of its own, starting with #)",
           "a trailing comment");
    is_str(F("a r 2026-01-01\n"),
           "ops:1: period \"2026-01-01\" is not YYYY-MM-DD..YYYY-MM-DD",
           "a date, not a period");
    is_str(F("a r 2026-02-30..2026-12-31\n"),
           "ops:1: period \"2026-02-30..2026-12-31\" is not "
           "YYYY-MM-DD..YYYY-MM-DD", "no such day");
    is_str(F("a r 2026-01-01..\n"),
           "ops:1: period \"2026-01-01..\" is not YYYY-MM-DD..YYYY-MM-DD",
           "an open end");
    is_str(F("a r 2026/01/01..2026/12/31\n"),
           "ops:1: period \"2026/01/01..2026/12/31\" is not "
           "YYYY-MM-DD..YYYY-MM-DD", "slashes");
    is_str(F("a r 2026-12-31..2026-01-01\n"),
           "ops:1: period \"2026-12-31..2026-01-01\" starts after it ends",
           "a reversed period");
    is_str(F("# c\na r 2026-01-01..2026-12-31\n\na s 2027-01-01..2027-12-31\n"),
           "ops:4: account a is listed already on line 2",
           "an account twice");
    is_str(F("\xef\xbb\xbf" "a r 2026-01-01..2026-12-31\n"),
           "ops:1: starts with a byte-order mark: save it as UTF-8 "
           "without one", "a byte-order mark");
    is_str(F("a r 2026-01-01..2026-12-31\n\xa4\xa4 r "
             "2026-01-01..2026-12-31\n"),
           "ops:2: not UTF-8 (byte 1 of the line)", "Big5 bytes");
    is_str(F("a\x01 r 2026-01-01..2026-12-31\n"),
           "ops:1: control character 0x01 (byte 2 of the line)",
           "a control character");
    is_str(F("a r 2026-01-01..2026-12-31\rb r 2026-01-01..2026-12-31\n"),
           "ops:1: control character 0x0d (byte 27 of the line)",
           "a lone CR (old Mac line ends)");
    is_str(F("a\0 r 2026-01-01..2026-12-31\n"),
           "ops:1: control character 0x00 (byte 2 of the line)",
           "a NUL byte");
    memset(longacc, 'x', 65);
    longacc[65] = '\0';
    is_str(fault(apr_pstrcat(pool, longacc, " r 2026-01-01..2026-12-31\n",
                             NULL), 65 + 26),
           "ops:1: account longer than 64 characters", "a long account");
    longacc[64] = '\0';
    is_str(fault(apr_pstrcat(pool, longacc, " r 2026-01-01..2026-12-31\n",
                             NULL), 64 + 26),
           "(accepted)", "64 characters are enough");
    is_str(fault(apr_pstrcat(pool, "a ", longacc, "y 2026-01-01..2026-12-31\n",
                             NULL), 2 + 65 + 23),
           "ops:1: role longer than 64 characters", "a long role");
    is_str(fault(apr_pstrcat(pool, "# ", apr_pstrcat(pool, longacc, longacc,
                                                   longacc, longacc, longacc,
                                                   longacc, longacc, longacc,
                                                   longacc, longacc, longacc,
                                                   longacc, longacc, longacc,
                                                   longacc, longacc, longacc,
                                                   NULL), "\n", NULL),
                 2 + 17 * 64 + 1),
           "ops:1: line longer than 1024 bytes", "a long line");
}

static void test_read_file(void)
{
    verify_operators_t *reg = NULL;
    const char *path, *err;

    path = wf("ops.txt", "a r 2026-01-01..2026-12-31\n"
              "b r 2026-01-01..2026-12-31\n");
    err = verify_operators_read_file(&reg, path, pool);
    ok(!err && reg && reg->list->nelts == 2, "a file read");
    is_str(reg ? reg->path : NULL, path, "its path kept");

    path = wf("bad.txt", "a r 2026-01-01..2026-12-31\nb\n");
    err = verify_operators_read_file(&reg, path, pool);
    is_str(err, apr_psprintf(pool, "%s:2: 1 field where ACCOUNT ROLE "
                             "FROM..TO are three", path),
           "a fault names the file and line");

    {
        size_t big = VERIFY_OPERATORS_FILE_MAX + 1, i;
        char *text = apr_palloc(pool, big + 1);

        memset(text, '#', big);
        for (i = 99; i < big; i += 100) {
            text[i] = '\n';            /* comment lines of 99 bytes */
        }
        text[big] = '\0';
        path = wf("big.txt", text);
        err = verify_operators_read_file(&reg, path, pool);
        is_str(err, apr_psprintf(pool, "%s: larger than %d bytes", path,
                                 VERIFY_OPERATORS_FILE_MAX),
               "a file too large");
        text[big - 1] = '\0';
        path = wf("notbig.txt", text);
        err = verify_operators_read_file(&reg, path, pool);
        ok(!err && reg && reg->list->nelts == 0,
           "comments up to the largest size are read");
    }
    err = verify_operators_read_file(&reg, tmpdir, pool);
    is_str(err, apr_psprintf(pool, "%s: not a regular file", tmpdir),
           "a directory");
    err = verify_operators_read_file(&reg, "/nonexistent/ops", pool);
    ok(err && strstr(err, "/nonexistent/ops: cannot open: "),
       "a missing file");
}

/* VerifyOperators in a register file, as verify-audit reads it. */
static void test_register_file(void)
{
    apr_array_header_t *all = NULL;
    const verify_client_t *cl;
    const char *ops, *reg;
    char *err = NULL;
    apr_status_t rv;

#define CLIENT "VerifyClient c ip=192.0.2.1 checks=resident approval=A " \
               "valid=2026-01-01..2026-12-31\n"
    ops = wf("c.ops", "x clerk 2026-01-01..2026-12-31\n");
    reg = wf("reg1", apr_pstrcat(pool, CLIENT,
                                                 "VerifyOperators c \"", ops,
                                                 "\"\n", NULL));
    rv = verify_register_read_file(&all, reg, &err, pool);
    ok(rv == APR_SUCCESS, "a register file with VerifyOperators: %s",
       rv == APR_SUCCESS ? "read" : err);
    cl = all ? verify_register_find(all, "c") : NULL;
    ok(cl && cl->operators && cl->operators->list->nelts == 1,
       "the client holds its register");
    ok(cl && strstr(verify_register_canonical(cl, pool),
                    "\nc operators accounts=1 sha256="),
       "its canonical form records the register");
    is_str(cl && cl->operators ? cl->operators->where : NULL,
           apr_psprintf(pool, "%s:2", reg), "where its line stands");
    is_str(cl && cl->operators ? cl->operators->path : NULL, ops,
           "the file it read");

    reg = wf("reg2", apr_pstrcat(pool, "VerifyOperators c ",
                                                 ops, "\n", CLIENT, NULL));
    rv = verify_register_read_file(&all, reg, &err, pool);
    is_str(rv == APR_SUCCESS ? NULL : err,
           apr_psprintf(pool, "VerifyOperators (%s:1): no VerifyClient c "
                        "above this line: an operator register is given "
                        "below its client", reg), "an unknown client");

    reg = wf("reg3", apr_pstrcat(pool, CLIENT,
                                                 "VerifyOperators c ", ops,
                                                 "\nVerifyOperators c ", ops,
                                                 "\n", NULL));
    rv = verify_register_read_file(&all, reg, &err, pool);
    is_str(rv == APR_SUCCESS ? NULL : err,
           apr_psprintf(pool, "VerifyOperators (%s:3): client c has an "
                        "operator register already (%s:2): one file per "
                        "client", reg, reg), "a second register");

    reg = wf("reg4", CLIENT "VerifyOperators c c.ops\n");
    rv = verify_register_read_file(&all, reg, &err, pool);
    is_str(rv == APR_SUCCESS ? NULL : err,
           apr_psprintf(pool, "VerifyOperators (%s:2): c.ops: give the "
                        "file's absolute path (httpd reads a relative one "
                        "from its ServerRoot)", reg), "a relative path");

    reg = wf("reg5", CLIENT "VerifyOperators c\n");
    rv = verify_register_read_file(&all, reg, &err, pool);
    is_str(rv == APR_SUCCESS ? NULL : err,
           apr_psprintf(pool, "VerifyOperators (%s:2): takes two "
                        "arguments, CLIENT FILE", reg), "one argument");

    ops = wf("bad.ops", "x clerk 2026-01-01\n");
    reg = wf("reg6", apr_pstrcat(pool, CLIENT,
                                                 "VerifyOperators c ", ops,
                                                 "\n", NULL));
    rv = verify_register_read_file(&all, reg, &err, pool);
    is_str(rv == APR_SUCCESS ? NULL : err,
           apr_psprintf(pool, "VerifyOperators (%s:2): %s:1: period "
                        "\"2026-01-01\" is not YYYY-MM-DD..YYYY-MM-DD",
                        reg, ops), "a bad register names both lines");
#undef CLIENT
}

int main(void)
{
    unit_begin();
    test_good();
    test_digest();
    test_why();
    test_faults();
    test_read_file();
    test_register_file();
    return unit_end();
}
