/*
 * verify_operators.c -- a client's operator register (R4.3): the strict
 * file format, the lookup the request path makes, and the
 * VerifyOperators line shared by the module and verify-audit.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "verify_text.h"
#include "verify_register.h"
#include "verify_operators.h"

/* a register line is short; a longer one is a wrong file */
#define LINE_MAX_BYTES 1024

static int is_sep(char c)
{
    return c == ' ' || c == '\t';
}

/* The next field of @p s (up to @p end): its start and length; *s moves
 * past it and the separators after it. */
static const char *next_field(const char **s, const char *end, size_t *len)
{
    const char *f = *s, *e = f;

    while (e < end && !is_sep(*e)) {
        e++;
    }
    *len = (size_t)(e - f);
    while (e < end && is_sep(*e)) {
        e++;
    }
    *s = e;
    return f;
}

/* A field of text: UTF-8 without control characters, 1 to
 * VERIFY_OPERATOR_MAX_CHARS characters. NULL, or the fault. */
static const char *text_field(const char *what, const char *f, size_t len,
                              apr_pool_t *p)
{
    if (!verify_utf8_clean(f, len)) {
        return apr_psprintf(p, "%s is not UTF-8 text", what);
    }
    if (verify_utf8_chars(f, len) > VERIFY_OPERATOR_MAX_CHARS) {
        return apr_psprintf(p, "%s longer than %d characters", what,
                            VERIFY_OPERATOR_MAX_CHARS);
    }
    return NULL;
}

/* "FROM..TO", both dates YYYY-MM-DD, FROM not after TO. */
static const char *period_field(verify_operator_t *op, const char *f,
                                size_t len, apr_pool_t *p)
{
    const char *dots = len >= 2 ? memmem(f, len, "..", 2) : NULL;

    if (dots) {
        op->valid_from = verify_date_parse_iso(f, (size_t)(dots - f));
        op->valid_to = verify_date_parse_iso(dots + 2,
                                             len - (size_t)(dots - f) - 2);
    }
    if (!dots || !op->valid_from || !op->valid_to) {
        return apr_psprintf(p, "period \"%s\" is not YYYY-MM-DD..YYYY-MM-DD",
                            apr_pstrmemdup(p, f, len));
    }
    if (op->valid_from > op->valid_to) {
        return apr_psprintf(p, "period \"%s\" starts after it ends",
                            apr_pstrmemdup(p, f, len));
    }
    return NULL;
}

/* One line without its end (@p s .. @p end, UTF-8 and control
 * characters checked): an operator into *op, or nothing (*op NULL) for
 * a blank or comment line. NULL, or the fault. */
static const char *parse_line(verify_operator_t **op, const char *s,
                              const char *end, apr_pool_t *p)
{
    verify_operator_t *o;
    const char *f[3], *err;
    size_t flen[3];
    int n = 0;

    *op = NULL;
    while (s < end && is_sep(*s)) {
        s++;
    }
    if (s == end || *s == '#') {
        return NULL;
    }
    while (s < end && n < 3) {
        f[n] = next_field(&s, end, &flen[n]);
        n++;
    }
    if (n < 3) {
        return apr_psprintf(p, "%d field%s where ACCOUNT ROLE "
                            "FROM..TO are three", n, n == 1 ? "" : "s");
    }
    if (s < end) {
        return "more than three fields (ACCOUNT ROLE FROM..TO; a comment "
               "is a line of its own, starting with #)";
    }
    o = apr_pcalloc(p, sizeof(*o));
    if ((err = text_field("account", f[0], flen[0], p))
        || (err = text_field("role", f[1], flen[1], p))
        || (err = period_field(o, f[2], flen[2], p))) {
        return err;
    }
    o->account = apr_pstrmemdup(p, f[0], flen[0]);
    o->role = apr_pstrmemdup(p, f[1], flen[1]);
    *op = o;
    return NULL;
}

/* What is wrong with the bytes of one line, before its fields: NULL, or
 * the fault. Tabs separate; every other control character is refused,
 * so a line means what it shows. */
static const char *line_bytes(const char *s, size_t len, apr_pool_t *p)
{
    size_t bad = verify_utf8_scan(s, len), i;

    if (bad < len) {
        return apr_psprintf(p, "not UTF-8 (byte %" APR_SIZE_T_FMT " of the "
                            "line)", bad + 1);
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return apr_psprintf(p, "control character 0x%02x (byte %"
                                APR_SIZE_T_FMT " of the line)", c, i + 1);
        }
    }
    return len > LINE_MAX_BYTES
           ? apr_psprintf(p, "line longer than %d bytes", LINE_MAX_BYTES)
           : NULL;
}

const char *verify_operators_parse(verify_operators_t **out,
                                   const char *buf, size_t len,
                                   const char *name, apr_pool_t *p)
{
    verify_operators_t *reg = apr_pcalloc(p, sizeof(*reg));
    const char *s = buf, *end = buf + len, *nl, *le, *err;
    verify_operator_t *op, *other;
    int line = 0;

    reg->path = name;
    reg->list = apr_array_make(p, 16, sizeof(verify_operator_t *));
    reg->by_account = apr_hash_make(p);
    if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
        return apr_psprintf(p, "%s:1: starts with a byte-order mark: save "
                            "it as UTF-8 without one", name);
    }
    while (s < end) {
        line++;
        nl = memchr(s, '\n', (size_t)(end - s));
        le = nl ? nl : end;
        if (le > s && le[-1] == '\r') {
            le--;               /* CRLF: the line ends the same */
        }
        err = line_bytes(s, (size_t)(le - s), p);
        if (!err) {
            err = parse_line(&op, s, le, p);
        }
        if (!err && op) {
            other = apr_hash_get(reg->by_account, op->account,
                                 APR_HASH_KEY_STRING);
            if (other) {
                err = apr_psprintf(p, "account %s is listed already on "
                                   "line %d", op->account, other->line);
            }
        }
        if (err) {
            return apr_psprintf(p, "%s:%d: %s", name, line, err);
        }
        if (op) {
            op->line = line;
            APR_ARRAY_PUSH(reg->list, verify_operator_t *) = op;
            apr_hash_set(reg->by_account, op->account, APR_HASH_KEY_STRING,
                         op);
        }
        s = nl ? nl + 1 : end;
    }
    *out = reg;
    return NULL;
}

const char *verify_operators_read_file(verify_operators_t **out,
                                       const char *path, apr_pool_t *p)
{
    struct stat st;
    char *buf = NULL;
    const char *err = NULL;
    size_t got = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        return apr_psprintf(p, "%s: cannot open: %s", path,
                            strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = apr_psprintf(p, "%s: not a regular file", path);
        goto cleanup;
    }
    if (st.st_size > VERIFY_OPERATORS_FILE_MAX) {
        err = apr_psprintf(p, "%s: larger than %d bytes", path,
                           VERIFY_OPERATORS_FILE_MAX);
        goto cleanup;
    }
    buf = apr_palloc(p, (apr_size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            err = apr_psprintf(p, "%s: cannot read: %s", path,
                               n < 0 ? strerror(errno) : "file shrank");
            goto cleanup;
        }
        got += (size_t)n;
    }
    err = verify_operators_parse(out, buf, got, path, p);

cleanup:
    close(fd);
    return err;
}

verify_operator_status_t verify_operators_check(
    const verify_operators_t *reg, const char *account, size_t len,
    verify_date_t today, const verify_operator_t **op)
{
    const verify_operator_t *o = apr_hash_get(reg->by_account, account,
                                              (apr_ssize_t)len);

    if (op) {
        *op = o;
    }
    if (!o) {
        return VERIFY_OPERATOR_UNKNOWN;
    }
    if (today < o->valid_from) {
        return VERIFY_OPERATOR_NOT_YET;
    }
    return today > o->valid_to ? VERIFY_OPERATOR_ENDED : VERIFY_OPERATOR_OK;
}

const char *verify_operators_why(verify_operator_status_t st,
                                 const verify_operator_t *op,
                                 apr_pool_t *p)
{
    char from[11], to[11];

    if (st == VERIFY_OPERATOR_UNKNOWN || !op) {
        return "the operator is not in the client's operator register";
    }
    verify_date_format(op->valid_from, from);
    verify_date_format(op->valid_to, to);
    return apr_psprintf(p, "the operator's registered period %s..%s %s "
                        "(Taipei date)", from, to,
                        st == VERIFY_OPERATOR_NOT_YET ? "has not begun"
                                                      : "has ended");
}

static int cmp_account(const void *a, const void *b)
{
    return strcmp((*(const verify_operator_t *const *)a)->account,
                  (*(const verify_operator_t *const *)b)->account);
}

const char *verify_operators_digest(const verify_operators_t *reg,
                                    apr_pool_t *p)
{
    const verify_operator_t **ops;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[32];
    char hex[65], line[32];
    unsigned int mdlen = 0;
    int n = reg->list->nelts, i, ok = ctx != NULL;

    ops = apr_pmemdup(p, reg->list->elts, sizeof(*ops) * (size_t)(n ? n : 1));
    qsort(ops, (size_t)n, sizeof(*ops), cmp_account);
    ok = ok && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (i = 0; ok && i < n; i++) {
        char f[11], t[11];

        verify_date_format(ops[i]->valid_from, f);
        verify_date_format(ops[i]->valid_to, t);
        apr_snprintf(line, sizeof(line), " %s..%s\n", f, t);
        ok = EVP_DigestUpdate(ctx, ops[i]->account, strlen(ops[i]->account))
             && EVP_DigestUpdate(ctx, " ", 1)
             && EVP_DigestUpdate(ctx, ops[i]->role, strlen(ops[i]->role))
             && EVP_DigestUpdate(ctx, line, strlen(line));
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        /* never equal to a real digest: the next state differs again */
        return apr_psprintf(p, "accounts=%d sha256=unavailable", n);
    }
    verify_hex(md, 32, hex);
    return apr_psprintf(p, "accounts=%d sha256=%s", n, hex);
}

const char *verify_operators_add(apr_array_header_t *clients,
                                 const char *client, const char *path,
                                 const char *where, apr_pool_t *p)
{
    verify_client_t *cl = verify_register_find(clients, client);
    verify_operators_t *reg = NULL;
    const char *err;

    if (!cl) {
        return apr_psprintf(p, "no VerifyClient %s above this line: an "
                            "operator register is given below its client",
                            client);
    }
    if (cl->operators) {
        return apr_psprintf(p, "client %s has an operator register already "
                            "(%s): one file per client", client,
                            cl->operators->where);
    }
    err = verify_operators_read_file(&reg, path, p);
    if (err) {
        return err;
    }
    reg->where = where;
    cl->operators = reg;
    return NULL;
}
