/*
 * verify_register.c -- the client register: one VerifyClient line at a
 * time, from httpd's configuration or from a register file.
 */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_network_io.h>
#include "verify_text.h"
#include "verify_register.h"
#include "verify_operators.h"

/* httpd refuses longer configuration lines (MAX_STRING_LEN) */
#define REGISTER_LINE_MAX 8192

static const char *const check_names[VERIFY_CHECK_COUNT] = {
    "resident", "indigenous", "elderly_alone", "disability"
};

static const verify_source_t check_sources[VERIFY_CHECK_COUNT] = {
    VERIFY_SRC_HOUSEHOLD, VERIFY_SRC_HOUSEHOLD,
    VERIFY_SRC_ELDERLY_ALONE, VERIFY_SRC_DISABILITY
};

const char *verify_check_name(verify_check_t k)
{
    return check_names[k];
}

verify_source_t verify_check_source(verify_check_t k)
{
    return check_sources[k];
}

int verify_check_index(const char *s, size_t len)
{
    int k;

    for (k = 0; k < VERIFY_CHECK_COUNT; k++) {
        if (strlen(check_names[k]) == len && !memcmp(check_names[k], s, len)) {
            return k;
        }
    }
    return -1;
}

int verify_check_age(const char *s, size_t len)
{
    size_t pre = sizeof(VERIFY_AGE_CHECK) - 1, i;
    int n = 0;

    if (len < pre || memcmp(s, VERIFY_AGE_CHECK, pre)) {
        return -1;
    }
    s += pre;
    len -= pre;
    /* ':' then 1 to 3 digits; "07" is refused, not read as 7, so one
     * question has one spelling in the audit log */
    if (len < 2 || len > 4 || s[0] != ':' || (s[1] == '0' && len > 2)) {
        return -2;
    }
    for (i = 1; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -2;
        }
        n = n * 10 + (s[i] - '0');
    }
    return n > VERIFY_AGE_MAX ? -2 : n;
}

static const char *parse_name(const char *name, apr_pool_t *p)
{
    int i;

    for (i = 0; name[i]; i++) {
        if (!apr_isalnum(name[i]) && !strchr("-_.", name[i])) {
            return apr_psprintf(p, "client name \"%s\" may hold only "
                                "letters, digits, '-', '_' and '.'", name);
        }
    }
    if (i == 0 || i > 64) {
        return "client name must come first, 1-64 characters";
    }
    return NULL;
}

/* One address as 16 bytes: IPv6, or IPv4 mapped into IPv6 (as a
 * dual-stack socket sees it), so that one host has one form. */
static int parse_addr(const char *item, unsigned char out[16])
{
    static const unsigned char mapped[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };

    if (inet_pton(AF_INET, item, out + 12) == 1) {
        memcpy(out, mapped, 12);
        return 0;
    }
    return inet_pton(AF_INET6, item, out) == 1 ? 0 : -1;
}

/* Exact addresses only: R3.7 wants fixed IPs. inet_pton takes the
 * dotted quad and the IPv6 forms and nothing else: no subnet, no
 * partial address ("127.0", which apr_ipsubnet_create takes as a /16),
 * no host name, no zone; and APR refuses IPv4-mapped IPv6 (write
 * IPv4 as IPv4). */
static const char *parse_ips(verify_client_t *cl, char *list,
                             apr_pool_t *p)
{
    char *item, *last;
    apr_ipsubnet_t *sub;
    unsigned char *a;

    for (item = apr_strtok(list, ",", &last); item;
         item = apr_strtok(NULL, ",", &last)) {
        a = apr_array_push(cl->addrs);
        if (parse_addr(item, a) != 0
            || apr_ipsubnet_create(&sub, item, NULL, p) != APR_SUCCESS) {
            return apr_psprintf(p, "ip \"%s\" is not an exact IPv4 or IPv6 "
                                "address", item);
        }
        APR_ARRAY_PUSH(cl->ips, const char *) = item;
        APR_ARRAY_PUSH(cl->subnets, apr_ipsubnet_t *) = sub;
    }
    return NULL;
}

static const char *parse_checks(verify_client_t *cl, char *list,
                                apr_pool_t *p)
{
    char *item, *last;
    int k;

    for (item = apr_strtok(list, ",", &last); item;
         item = apr_strtok(NULL, ",", &last)) {
        k = verify_check_index(item, strlen(item));
        if (!strcmp(item, "identity")) {
            cl->checks |= VERIFY_PERMIT_IDENTITY;
        }
        else if (!strcmp(item, "age")) {
            cl->checks |= VERIFY_PERMIT_AGE;
        }
        else if (k < 0) {
            return apr_psprintf(p, "unknown check \"%s\" (resident, "
                                "indigenous, elderly_alone, disability, "
                                "age, identity)", item);
        }
        else {
            cl->checks |= 1u << k;
        }
    }
    return NULL;
}

static const char *parse_valid(verify_client_t *cl, const char *v,
                               apr_pool_t *p)
{
    const char *dots = strstr(v, "..");

    if (dots) {
        cl->valid_from = verify_date_parse_iso(v, (size_t)(dots - v));
        cl->valid_to = verify_date_parse_iso(dots + 2, strlen(dots + 2));
    }
    if (!dots || !cl->valid_from || !cl->valid_to
        || cl->valid_from > cl->valid_to) {
        return apr_psprintf(p, "valid=\"%s\" is not YYYY-MM-DD..YYYY-MM-DD "
                            "with a start not after its end", v);
    }
    return NULL;
}

/* One SHA-256 value, 64 hex digits in either case. */
static const char *parse_hash(unsigned char out[32], const char *key,
                              const char *item, apr_pool_t *p)
{
    memset(out, 0, 32);
    if (strlen(item) != 64 || verify_unhex(item, 32, out, 1) != 0) {
        return apr_psprintf(p, "%s \"%s\" is not 64 hex digits", key,
                            item);
    }
    return NULL;
}

/* cert-sha256= or spki-sha256=: at most VERIFY_CERTS_MAX values, none
 * twice. Two are for the overlap of a rotation; a third would keep a
 * credential alive that should have been retired (R3.5). */
static const char *parse_hashes(apr_array_header_t *arr, const char *key,
                                char *list, apr_pool_t *p)
{
    char *item, *last;
    unsigned char *f;
    const char *err;
    int k;

    for (item = apr_strtok(list, ",", &last); item;
         item = apr_strtok(NULL, ",", &last)) {
        if (arr->nelts == VERIFY_CERTS_MAX) {
            return apr_psprintf(p, "%s lists more than %d values: a client "
                                "holds one certificate, and a second while "
                                "they overlap; retire the old one with "
                                "VerifyClientRetired", key,
                                VERIFY_CERTS_MAX);
        }
        f = apr_array_push(arr);
        if ((err = parse_hash(f, key, item, p)) != NULL) {
            return err;
        }
        for (k = 0; k < arr->nelts - 1; k++) {
            if (!memcmp(arr->elts + 32 * k, f, 32)) {
                return apr_psprintf(p, "%s lists %s twice%s", key, item,
                                    strcmp(key, "spki-sha256") ? ""
                                    : ": the two certificates have one "
                                      "key, and a new certificate needs a "
                                      "new key (R3.5)");
            }
        }
    }
    return NULL;
}

/* rate=N/s or N/min: a bucket of N requests refilled evenly over the
 * period */
static const char *parse_rate(verify_client_t *cl, const char *v,
                              apr_pool_t *p)
{
    char *end;
    long nreq = strtol(v, &end, 10);
    double period = !strcmp(end, "/s") ? 1.0
                    : !strcmp(end, "/min") ? 60.0 : 0.0;

    if (nreq < 1 || nreq > 1000000 || period == 0.0) {
        return apr_psprintf(p, "rate=\"%s\" is not N/s or N/min with N "
                            "from 1 to 1000000", v);
    }
    cl->burst = (double)nreq;
    cl->rate = (double)nreq / period;
    return NULL;
}

/* The items of a line, in the order of the usage message. */
static const char *const item_names[] = {
    "ip", "checks", "approval", "valid", "cert-sha256", "spki-sha256", "rate"
};
#define ITEM_COUNT (sizeof(item_names) / sizeof(item_names[0]))

static const char *parse_item(verify_client_t *cl, unsigned *seen,
                              const char *arg, apr_pool_t *p)
{
    const char *eq = strchr(arg, '=');
    const char *key, *val;
    unsigned i;

    if (!eq || eq == arg || !eq[1]) {
        return apr_psprintf(p, "\"%s\" is not key=value", arg);
    }
    key = apr_pstrmemdup(p, arg, (apr_size_t)(eq - arg));
    val = eq + 1;
    for (i = 0; i < ITEM_COUNT && strcmp(key, item_names[i]); i++) {
    }
    if (i == ITEM_COUNT) {
        return apr_psprintf(p, "unknown item \"%s\" (ip, checks, approval, "
                            "valid, cert-sha256, spki-sha256, rate)", key);
    }
    if (*seen & (1u << i)) {
        return apr_psprintf(p, "item %s given twice", key);
    }
    *seen |= 1u << i;
    switch (i) {
    case 0:
        return parse_ips(cl, apr_pstrdup(p, val), p);
    case 1:
        return parse_checks(cl, apr_pstrdup(p, val), p);
    case 2:
        cl->approval = val;
        return NULL;
    case 3:
        return parse_valid(cl, val, p);
    case 4:
        return parse_hashes(cl->certs, key, apr_pstrdup(p, val), p);
    case 5:
        return parse_hashes(cl->spkis, key, apr_pstrdup(p, val), p);
    default:
        return parse_rate(cl, val, p);
    }
}

const char *verify_register_parse(verify_client_t **out, int argc,
                                  char *const argv[], apr_pool_t *p)
{
    verify_client_t *cl;
    unsigned seen = 0;
    const char *err;
    int i;

    if (argc < 1) {
        return "missing client name";
    }
    cl = apr_pcalloc(p, sizeof(*cl));
    cl->name = argv[0];
    cl->ips = apr_array_make(p, 2, sizeof(const char *));
    cl->subnets = apr_array_make(p, 2, sizeof(apr_ipsubnet_t *));
    cl->addrs = apr_array_make(p, 2, 16);
    cl->certs = apr_array_make(p, VERIFY_CERTS_MAX, 32);
    cl->spkis = apr_array_make(p, VERIFY_CERTS_MAX, 32);
    cl->retired = apr_array_make(p, 4, sizeof(verify_retired_t));
    err = parse_name(cl->name, p);
    for (i = 1; !err && i < argc; i++) {
        err = parse_item(cl, &seen, argv[i], p);
    }
    if (err) {
        return err;
    }
    if (cl->ips->nelts == 0) {
        return "ip= is required (R3.7: fixed IP whitelist)";
    }
    if (cl->checks == 0) {
        return "checks= is required";
    }
    if (!cl->approval) {
        return "approval= is required (R3.3)";
    }
    if (!cl->valid_from) {
        return "valid= is required (R4.1.2)";
    }
    if (cl->spkis->nelts && cl->spkis->nelts != cl->certs->nelts) {
        return apr_psprintf(p, "spki-sha256= lists %d public key%s for %d "
                            "certificate%s (cert-sha256=): give one for "
                            "each, in the same order", cl->spkis->nelts,
                            cl->spkis->nelts == 1 ? "" : "s",
                            cl->certs->nelts,
                            cl->certs->nelts == 1 ? "" : "s");
    }
    *out = cl;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The history of retired certificates (R3.4, R3.5)                    */
/* ------------------------------------------------------------------ */

const char *verify_register_parse_retired(const char **name,
                                          verify_retired_t *out, int argc,
                                          char *const argv[], apr_pool_t *p)
{
    static const char *const keys[2] = { "cert-sha256", "spki-sha256" };
    unsigned char *slot[2];
    unsigned seen = 0;
    const char *err, *eq;
    int i, k;

    memset(out, 0, sizeof(*out));
    slot[0] = out->cert;
    slot[1] = out->spki;
    if (argc < 1) {
        return "missing client name";
    }
    if ((err = parse_name(argv[0], p)) != NULL) {
        return err;
    }
    for (i = 1; i < argc; i++) {
        eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i] || !eq[1]) {
            return apr_psprintf(p, "\"%s\" is not key=value", argv[i]);
        }
        for (k = 0; k < 2; k++) {
            if (strlen(keys[k]) == (size_t)(eq - argv[i])
                && !memcmp(keys[k], argv[i], (size_t)(eq - argv[i]))) {
                break;
            }
        }
        if (k == 2) {
            return apr_psprintf(p, "unknown item \"%.*s\" (cert-sha256, "
                                "spki-sha256)", (int)(eq - argv[i]),
                                argv[i]);
        }
        if (seen & (1u << k)) {
            return apr_psprintf(p, "item %s given twice: one retired "
                                "certificate per line", keys[k]);
        }
        seen |= 1u << k;
        if ((err = parse_hash(slot[k], keys[k], eq + 1, p)) != NULL) {
            return err;
        }
    }
    if (seen != 3) {
        return apr_psprintf(p, "%s= is required: a retired certificate is "
                            "remembered by its fingerprint and its public "
                            "key", keys[(seen & 1) ? 1 : 0]);
    }
    *name = argv[0];
    return NULL;
}

static const char *hex32(const unsigned char *h, apr_pool_t *p)
{
    char *s = apr_palloc(p, 65);

    verify_hex(h, 32, s);
    return s;
}

const char *verify_register_retire(verify_client_t *cl,
                                   const verify_retired_t *rt,
                                   apr_pool_t *p)
{
    const verify_retired_t *old;
    int k;

    for (k = 0; k < cl->certs->nelts; k++) {
        if (!memcmp(cl->certs->elts + 32 * k, rt->cert, 32)) {
            return apr_psprintf(p, "certificate %s is still current for "
                                "client %s (%s): take it out of its "
                                "cert-sha256= first",
                                hex32(rt->cert, p), cl->name, cl->where);
        }
    }
    for (k = 0; k < cl->retired->nelts; k++) {
        old = &APR_ARRAY_IDX(cl->retired, k, verify_retired_t);
        if (!memcmp(old->cert, rt->cert, 32)) {
            return apr_psprintf(p, "certificate %s of client %s is retired "
                                "already (%s)", hex32(rt->cert, p),
                                cl->name, old->where);
        }
    }
    APR_ARRAY_PUSH(cl->retired, verify_retired_t) = *rt;
    return NULL;
}

const verify_retired_t *verify_register_retired_key(
    const verify_client_t *cl, const unsigned char spki[32])
{
    const verify_retired_t *rt;
    int k, from = cl->retired->nelts - VERIFY_RETIRED_CHECKED;

    for (k = cl->retired->nelts - 1; k >= 0 && k >= from; k--) {
        rt = &APR_ARRAY_IDX(cl->retired, k, verify_retired_t);
        if (!memcmp(rt->spki, spki, 32)) {
            return rt;
        }
    }
    return NULL;
}

const char *verify_register_reused(const verify_client_t *cl,
                                   apr_pool_t *p)
{
    static const char *const nth[VERIFY_RETIRED_CHECKED] = {
        "the latest", "the one before the latest", "the third latest"
    };
    const verify_retired_t *rt;
    const unsigned char *spki;
    int i, k;

    for (i = 0; i < cl->spkis->nelts; i++) {
        spki = (const unsigned char *)cl->spkis->elts + 32 * i;
        rt = verify_register_retired_key(cl, spki);
        if (!rt) {
            continue;
        }
        k = (int)(cl->retired->nelts - 1
                  - (rt - (const verify_retired_t *)cl->retired->elts));
        return apr_psprintf(p, "client %s (%s): certificate %s has the "
                            "public key (spki-sha256 %s) of the "
                            "certificate %s retired at %s, %s of its last "
                            "%d: a certificate re-issued for the same key "
                            "is the same password (R3.5); make a new key",
                            cl->name, cl->where,
                            hex32((const unsigned char *)cl->certs->elts
                                  + 32 * i, p),
                            hex32(spki, p), hex32(rt->cert, p), rt->where,
                            nth[k], VERIFY_RETIRED_CHECKED);
    }
    return NULL;
}

const char *verify_register_canonical(const verify_client_t *cl,
                                      apr_pool_t *p)
{
    char from[11], to[11], hex[65];
    const char *s, *sep = "";
    int i;

    s = apr_pstrcat(p, cl->name, " ip=", NULL);
    for (i = 0; i < cl->ips->nelts; i++) {
        s = apr_pstrcat(p, s, i ? "," : "",
                        APR_ARRAY_IDX(cl->ips, i, const char *), NULL);
    }
    s = apr_pstrcat(p, s, " checks=", NULL);
    for (i = 0; i < VERIFY_CHECK_COUNT; i++) {
        if (cl->checks & (1u << i)) {
            s = apr_pstrcat(p, s, sep, check_names[i], NULL);
            sep = ",";
        }
    }
    if (cl->checks & VERIFY_PERMIT_AGE) {
        s = apr_pstrcat(p, s, sep, "age", NULL);
        sep = ",";
    }
    if (cl->checks & VERIFY_PERMIT_IDENTITY) {
        s = apr_pstrcat(p, s, sep, "identity", NULL);
    }
    verify_date_format(cl->valid_from, from);
    verify_date_format(cl->valid_to, to);
    s = apr_pstrcat(p, s, " approval=", cl->approval, " valid=", from, "..",
                    to, NULL);
    for (i = 0; i < cl->certs->nelts; i++) {
        verify_hex((const unsigned char *)cl->certs->elts + 32 * i, 32, hex);
        s = apr_pstrcat(p, s, i ? "," : " cert-sha256=", hex, NULL);
    }
    for (i = 0; i < cl->spkis->nelts; i++) {
        verify_hex((const unsigned char *)cl->spkis->elts + 32 * i, 32, hex);
        s = apr_pstrcat(p, s, i ? "," : " spki-sha256=", hex, NULL);
    }
    if (cl->rate > 0) {
        /* rate = N / period, burst = N (parse_rate) */
        s = apr_psprintf(p, "%s rate=%.0f/%s", s, cl->burst,
                         cl->rate * 2 > cl->burst ? "s" : "min");
    }
    /* the history is part of the record: removing a retired line, to
     * let an old key back in, changes the register as much as adding a
     * certificate does */
    for (i = 0; i < cl->retired->nelts; i++) {
        const verify_retired_t *rt = &APR_ARRAY_IDX(cl->retired, i,
                                                    verify_retired_t);
        s = apr_pstrcat(p, s, "\n", cl->name, " retired cert-sha256=",
                        hex32(rt->cert, p), " spki-sha256=",
                        hex32(rt->spki, p), NULL);
    }
    /* who may query inside the client is part of what it is granted */
    if (cl->operators) {
        s = apr_pstrcat(p, s, "\n", cl->name, " operators ",
                        verify_operators_digest(cl->operators, p), NULL);
    }
    return s;
}

/* The first address @p a and @p b share, or -1. */
static int shared_addr(const verify_client_t *a, const verify_client_t *b)
{
    int i, k;

    for (i = 0; i < a->addrs->nelts; i++) {
        for (k = 0; k < b->addrs->nelts; k++) {
            if (!memcmp(a->addrs->elts + 16 * i, b->addrs->elts + 16 * k,
                        16)) {
                return i;
            }
        }
    }
    return -1;
}

const char *verify_register_conflict(const verify_client_t *cl,
                                     const verify_client_t *other,
                                     int addresses, apr_pool_t *p)
{
    int i;

    if (!strcmp(other->name, cl->name)) {
        return apr_psprintf(p, "client %s already registered at %s",
                            cl->name, other->where);
    }
    if (!addresses || (cl->certs->nelts && other->certs->nelts)
        || (i = shared_addr(cl, other)) < 0) {
        return NULL;
    }
    return apr_psprintf(p, "ip %s is also client %s's (%s): two clients may "
                        "share an address only when both are bound to "
                        "certificates (cert-sha256=)",
                        APR_ARRAY_IDX(cl->ips, i, const char *), other->name,
                        other->where);
}

const char *verify_register_unbound_remote(const verify_client_t *cl)
{
    static const unsigned char v6_loopback[16] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
    };
    static const unsigned char v4_mapped[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };
    const unsigned char *a;
    int i;

    if (cl->certs->nelts) {
        return NULL;
    }
    for (i = 0; i < cl->addrs->nelts; i++) {
        a = (const unsigned char *)cl->addrs->elts + 16 * i;
        if (memcmp(a, v6_loopback, 16)
            && (memcmp(a, v4_mapped, 12) || a[12] != 127)) {
            return APR_ARRAY_IDX(cl->ips, i, const char *);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Register files                                                      */
/* ------------------------------------------------------------------ */

/* One word of a configuration line, as httpd's ap_getword_conf takes
 * it: quoted with " or ' (a backslash escapes the quote or itself), or
 * up to the next white space; then the white space after it. */
static char *getword_conf(const char **line, apr_pool_t *p)
{
    const char *s = *line, *end;
    char quote = 0, *word, *o;

    while (apr_isspace(*s)) {
        s++;
    }
    if (*s == '"' || *s == '\'') {
        quote = *s++;
    }
    for (end = s; *end && (quote ? *end != quote : !apr_isspace(*end));
         end++) {
        if (*end == '\\' && (end[1] == '\\' || (quote && end[1] == quote))) {
            end++;
        }
    }
    word = o = apr_palloc(p, (apr_size_t)(end - s) + 1);
    for (; s < end; s++) {
        if (*s == '\\' && (s[1] == '\\' || (quote && s[1] == quote))) {
            s++;
        }
        *o++ = *s;
    }
    *o = '\0';
    if (quote && *end == quote) {
        end++;
    }
    while (apr_isspace(*end)) {
        end++;
    }
    *line = end;
    return word;
}

/* The next logical line: a backslash right before the newline joins the
 * next physical line; leading and trailing white space goes. *lineno
 * is the last physical line read, as httpd numbers directives. */
static apr_status_t read_line(apr_file_t *f, char *buf, apr_size_t cap,
                              int *lineno, char **out)
{
    apr_size_t len = 0, n;
    apr_status_t rv;
    char *s;

    for (;;) {
        rv = apr_file_gets(buf + len, (int)(cap - len), f);
        if (rv != APR_SUCCESS) {
            if (APR_STATUS_IS_EOF(rv) && len > 0) {
                break;
            }
            return rv;
        }
        ++*lineno;
        n = len + strlen(buf + len);
        if (n == cap - 1 && buf[n - 1] != '\n') {
            return APR_ENOSPC;
        }
        while (n > len && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
            n--;
        }
        len = n;
        buf[len] = '\0';
        if (len == 0 || buf[len - 1] != '\\') {
            break;
        }
        buf[--len] = '\0';
    }
    while (len > 0 && apr_isspace(buf[len - 1])) {
        buf[--len] = '\0';
    }
    for (s = buf; apr_isspace(*s); s++) {
    }
    *out = s;
    return APR_SUCCESS;
}

verify_client_t *verify_register_find(const apr_array_header_t *clients,
                                      const char *name)
{
    int k;

    for (k = 0; clients && k < clients->nelts; k++) {
        if (!strcmp(APR_ARRAY_IDX(clients, k, verify_client_t *)->name,
                    name)) {
            return APR_ARRAY_IDX(clients, k, verify_client_t *);
        }
    }
    return NULL;
}

/* A retired certificate, below its client's line in @p all. */
static const char *retired_line(apr_array_header_t *all, int argc,
                                char *const argv[], const char *where,
                                apr_pool_t *p)
{
    verify_retired_t rt;
    verify_client_t *cl;
    const char *name, *err;

    err = verify_register_parse_retired(&name, &rt, argc, argv, p);
    if (err) {
        return err;
    }
    cl = verify_register_find(all, name);
    if (!cl) {
        return apr_psprintf(p, "no VerifyClient %s above this line: a "
                            "retired certificate is listed below its "
                            "client", name);
    }
    rt.where = where;
    return verify_register_retire(cl, &rt, p);
}

/* An operator register, below its client's line in @p all. Its file
 * must be named by an absolute path: httpd reads a relative one from
 * its ServerRoot, which a reader of the file does not know. */
static const char *operators_line(apr_array_header_t *all, int argc,
                                  char *const argv[], const char *where,
                                  apr_pool_t *p)
{
    if (argc != 2) {
        return "takes two arguments, CLIENT FILE";
    }
    if (argv[1][0] != '/') {
        return apr_psprintf(p, "%s: give the file's absolute path (httpd "
                            "reads a relative one from its ServerRoot)",
                            argv[1]);
    }
    return verify_operators_add(all, argv[0], argv[1], where, p);
}

/* One logical line: a client (*cl), a retired certificate added to its
 * client in @p all, or nothing for a blank line or a comment. */
static const char *register_line(verify_client_t **cl, const char **dir,
                                 apr_array_header_t *all, const char *line,
                                 const char *where, apr_pool_t *p)
{
    apr_array_header_t *words;
    const char *directive;

    *cl = NULL;
    *dir = "VerifyClient";
    if (*line == '\0' || *line == '#') {
        return NULL;
    }
    directive = getword_conf(&line, p);
    words = apr_array_make(p, 8, sizeof(char *));
    while (*line) {
        APR_ARRAY_PUSH(words, char *) = getword_conf(&line, p);
    }
    if (!strcasecmp(directive, "VerifyClientRetired")) {
        *dir = "VerifyClientRetired";
        return retired_line(all, words->nelts, (char *const *)words->elts,
                            where, p);
    }
    if (!strcasecmp(directive, "VerifyOperators")) {
        *dir = "VerifyOperators";
        return operators_line(all, words->nelts, (char *const *)words->elts,
                              where, p);
    }
    if (strcasecmp(directive, "VerifyClient")) {
        return apr_psprintf(p, "%s: only VerifyClient, VerifyClientRetired "
                            "and VerifyOperators lines belong in a register "
                            "file", directive);
    }
    return verify_register_parse(cl, words->nelts, (char *const *)words->elts,
                                 p);
}

apr_status_t verify_register_read_file(apr_array_header_t **clients,
                                       const char *path, char **err,
                                       apr_pool_t *p)
{
    char *buf = apr_palloc(p, REGISTER_LINE_MAX);
    apr_array_header_t *all = apr_array_make(p, 16, sizeof(verify_client_t *));
    verify_client_t *cl, *other;
    apr_file_t *f = NULL;
    const char *fault, *dir, *where;
    char *line;
    apr_status_t rv;
    int lineno = 0, k;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BUFFERED,
                       APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "%s: cannot open: %pm", path, &rv);
        return rv;
    }
    while ((rv = read_line(f, buf, REGISTER_LINE_MAX, &lineno, &line))
           == APR_SUCCESS) {
        where = apr_psprintf(p, "%s:%d", path, lineno);
        fault = register_line(&cl, &dir, all, line, where, p);
        /* shared addresses are the reader's to judge (ip-review
         * flags them); a name is one client */
        for (k = 0; !fault && cl && k < all->nelts; k++) {
            other = APR_ARRAY_IDX(all, k, verify_client_t *);
            fault = verify_register_conflict(cl, other, 0, p);
        }
        if (fault) {
            *err = apr_psprintf(p, "%s (%s): %s", dir, where, fault);
            rv = APR_EINVAL;
            goto cleanup;
        }
        if (cl) {
            cl->where = where;
            APR_ARRAY_PUSH(all, verify_client_t *) = cl;
        }
    }
    if (!APR_STATUS_IS_EOF(rv)) {
        *err = rv == APR_ENOSPC
               ? apr_psprintf(p, "%s:%d: line too long", path, lineno + 1)
               : apr_psprintf(p, "%s:%d: cannot read: %pm", path,
                              lineno + 1, &rv);
        goto cleanup;
    }
    /* the reuse rule looks at the last retired lines: the whole file */
    for (k = 0; k < all->nelts; k++) {
        fault = verify_register_reused(APR_ARRAY_IDX(all, k,
                                                     verify_client_t *), p);
        if (fault) {
            *err = apr_pstrdup(p, fault);
            rv = APR_EINVAL;
            goto cleanup;
        }
    }
    rv = APR_SUCCESS;
    *clients = all;

cleanup:
    apr_file_close(f);
    return rv;
}
