/*
 * verify_audit.c -- the audit line: JSON formatting with its own
 * escaping, the SHA-256 chain, and checking lines against the chain.
 *
 * Hand-written on purpose: a line must have one exact byte form for its
 * hash, a hard size bound, and no allocation on the request path.
 */
#include <string.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_tables.h>
#include "verify.h"

/* `,"hash":"` + 64 hex + `"}` */
#define HASH_TAIL (9 + VERIFY_HASH_HEX + 2)
/* `,"prev":"` + 64 hex + `"` */
#define PREV_PART (9 + VERIFY_HASH_HEX + 1)

void verify_jbuf_init(verify_jbuf_t *b, char *mem, size_t cap)
{
    b->buf = mem;
    b->len = 0;
    b->cap = cap;
    b->overflow = 0;
}

void verify_jbuf_raw(verify_jbuf_t *b, const char *s, size_t len)
{
    if (b->overflow || b->len + len > b->cap) {
        b->overflow = 1;
        return;
    }
    memcpy(b->buf + b->len, s, len);
    b->len += len;
}

void verify_jbuf_key(verify_jbuf_t *b, const char *key)
{
    VERIFY_JRAW(b, "\"");
    verify_jbuf_raw(b, key, strlen(key));
    VERIFY_JRAW(b, "\":");
}

void verify_jbuf_u64(verify_jbuf_t *b, uint64_t v)
{
    char tmp[21];
    int n = 20;

    tmp[n] = '\0';
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    verify_jbuf_raw(b, tmp + n, 20 - (size_t)n);
}

size_t verify_utf8_decode(const char *str, size_t len, uint32_t *cp_out)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    size_t n, i;
    uint32_t cp;

    if (c < 0x80) {
        *cp_out = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    }
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    }
    else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    }
    else {
        return 0;
    }
    if (len < n) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    *cp_out = cp;
    return n;
}

/* Length of the valid UTF-8 sequence at @p s (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
    uint32_t cp;

    return verify_utf8_decode((const char *)s, len, &cp);
}

int verify_utf8_clean(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n;

    while (i < len) {
        if (u[i] < 0x20 || u[i] == 0x7f) {
            return 0;
        }
        n = utf8_seq(u + i, len - i);
        if (n == 0) {
            return 0;
        }
        i += n;
    }
    return 1;
}

size_t verify_utf8_scan(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n;

    while (i < len) {
        n = utf8_seq(u + i, len - i);
        if (n == 0) {
            return i;
        }
        i += n;
    }
    return len;
}

size_t verify_utf8_chars(const char *s, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            n++;
        }
    }
    return n;
}

void verify_jbuf_str(verify_jbuf_t *b, const char *s, size_t len,
                     size_t max_out)
{
    static const char hx[] = "0123456789abcdef";
    static const char ellipsis[] = "\xe2\x80\xa6";      /* U+2026 */
    static const char fffd[] = "\xef\xbf\xbd";          /* U+FFFD */
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, used = 0, n, elen;
    char esc[6];
    const char *e;

    VERIFY_JRAW(b, "\"");
    while (i < len) {
        n = 1;
        e = esc;
        if (u[i] == '"' || u[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char)u[i];
            elen = 2;
        }
        else if (u[i] < 0x20 || u[i] == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hx[u[i] >> 4];
            esc[5] = hx[u[i] & 15];
            elen = 6;
        }
        else if (u[i] < 0x80) {
            e = (const char *)u + i;
            elen = 1;
        }
        else if ((n = utf8_seq(u + i, len - i)) != 0) {
            e = (const char *)u + i;
            elen = n;
        }
        else {
            n = 1;
            e = fffd;
            elen = 3;
        }
        if (used + elen > max_out) {
            verify_jbuf_raw(b, ellipsis, 3);
            break;
        }
        verify_jbuf_raw(b, e, elen);
        used += elen;
        i += n;
    }
    VERIFY_JRAW(b, "\"");
}

static int sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int olen;

    return EVP_Digest(data, len, out, &olen, EVP_sha256(), NULL);
}

size_t verify_audit_seal(verify_chain_t *chain, apr_time_t now,
                         const char *body, size_t body_len,
                         char *out, size_t cap)
{
    verify_jbuf_t b;
    char ts[VERIFY_TS_LEN + 1];
    char hex[VERIFY_HASH_HEX + 1];
    unsigned char hash[32];

    verify_jbuf_init(&b, out, cap);
    VERIFY_JRAW(&b, "{\"seq\":");
    verify_jbuf_u64(&b, chain->seq + 1);
    VERIFY_JRAW(&b, ",\"ts\":\"");
    verify_time_format_us(now, ts);
    verify_jbuf_raw(&b, ts, VERIFY_TS_LEN);
    VERIFY_JRAW(&b, "\"");
    verify_jbuf_raw(&b, body, body_len);
    VERIFY_JRAW(&b, ",\"prev\":\"");
    verify_hex(chain->hash, 32, hex);
    verify_jbuf_raw(&b, hex, VERIFY_HASH_HEX);
    VERIFY_JRAW(&b, "\"");
    if (b.overflow || b.len + HASH_TAIL + 1 > cap
        || b.len + HASH_TAIL + 1 >= VERIFY_AUDIT_LINE_MAX) {
        return 0;
    }
    if (!sha256(out, b.len, hash)) {
        return 0;
    }
    VERIFY_JRAW(&b, ",\"hash\":\"");
    verify_hex(hash, 32, hex);
    verify_jbuf_raw(&b, hex, VERIFY_HASH_HEX);
    VERIFY_JRAW(&b, "\"}\n");
    chain->seq++;
    memcpy(chain->hash, hash, 32);
    return b.len;
}

/* Parse the sealed frame: seq at the start, prev and hash at the end. */
static int parse_frame(const char *line, size_t len, uint64_t *seq,
                       unsigned char prev[32], unsigned char hash[32])
{
    const char *p;
    uint64_t v = 0;
    int digits = 0;

    if (len < 8 + PREV_PART + HASH_TAIL || memcmp(line, "{\"seq\":", 7)) {
        return -1;
    }
    for (p = line + 7; p < line + len && *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (++digits > 20 || v > (UINT64_MAX - d) / 10) {
            return -1;          /* more than a seq can be */
        }
        v = v * 10 + d;
    }
    if (digits == 0 || *p != ',') {
        return -1;
    }
    p = line + len - HASH_TAIL;
    if (memcmp(p, ",\"hash\":\"", 9) || memcmp(line + len - 2, "\"}", 2)
        || verify_unhex(p + 9, 32, hash, 0)) {
        return -1;
    }
    p -= PREV_PART;
    if (memcmp(p, ",\"prev\":\"", 9) || p[9 + 64] != '"'
        || verify_unhex(p + 9, 32, prev, 0)) {
        return -1;
    }
    *seq = v;
    return 0;
}

int verify_audit_line_head(const char *line, size_t len, verify_chain_t *out)
{
    unsigned char prev[32];

    return parse_frame(line, len, &out->seq, prev, out->hash);
}

verify_line_status_t verify_audit_check_line(verify_chain_t *chain,
                                             const char *line, size_t len,
                                             int first)
{
    unsigned char prev[32], hash[32], calc[32];
    uint64_t seq;

    if (memchr(line, '\n', len) || parse_frame(line, len, &seq, prev, hash)) {
        return VERIFY_LINE_SYNTAX;
    }
    if (!sha256(line, len - HASH_TAIL, calc) || memcmp(calc, hash, 32)) {
        return VERIFY_LINE_HASH;
    }
    if (!first) {
        if (memcmp(prev, chain->hash, 32)) {
            return VERIFY_LINE_PREV;
        }
        if (seq != chain->seq + 1) {
            return VERIFY_LINE_SEQ;
        }
    }
    chain->seq = seq;
    memcpy(chain->hash, hash, 32);
    return VERIFY_LINE_OK;
}

void verify_audit_filename(verify_date_t day, char out[32])
{
    char d[11];

    verify_date_format(day, d);
    apr_snprintf(out, 32, "audit-%s.jsonl", d);
}

/* Is @p name an audit file name (audit-YYYY-MM-DD.jsonl)? */
static int is_audit_name(const char *name)
{
    return strlen(name) == 22 && strncmp(name, "audit-", 6) == 0
           && strcmp(name + 16, ".jsonl") == 0
           && verify_date_parse_iso(name + 6, 10) != 0;
}

static int name_desc(const void *a, const void *b)
{
    return strcmp(*(const char *const *)b, *(const char *const *)a);
}

/* Read the chain head at the end of one file; *found 0 when it has no
 * complete line. */
static apr_status_t file_head(const char *path, verify_chain_t *chain,
                              apr_off_t *size, apr_off_t *partial_at,
                              int *found, char **err, apr_pool_t *p)
{
    apr_file_t *f = NULL;
    apr_finfo_t fi;
    char *buf;
    apr_off_t off, start;
    apr_size_t n;
    apr_status_t rv;
    size_t i, end;

    *found = 0;
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    }
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read %s: %pm", path, &rv);
        goto cleanup;
    }
    *size = fi.size;
    if (fi.size == 0) {
        goto cleanup;
    }
    /* The last line fits in the last two line lengths of the file. */
    start = fi.size > 2 * VERIFY_AUDIT_LINE_MAX
            ? fi.size - 2 * VERIFY_AUDIT_LINE_MAX : 0;
    off = start;
    rv = apr_file_seek(f, APR_SET, &off);
    n = (apr_size_t)(fi.size - start);
    buf = apr_palloc(p, n + 1);
    if (rv == APR_SUCCESS) {
        rv = apr_file_read_full(f, buf, n, &n);
    }
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read %s: %pm", path, &rv);
        goto cleanup;
    }
    end = n;
    if (buf[end - 1] != '\n') {
        /* a line cut short: a writer died mid-write */
        while (end > 0 && buf[end - 1] != '\n') {
            end--;
        }
        *partial_at = start + (apr_off_t)end;
    }
    if (end == 0) {
        if (start != 0) {
            rv = APR_EGENERAL;
            *err = apr_psprintf(p, "%s: last line longer than %d bytes",
                                path, VERIFY_AUDIT_LINE_MAX);
        }
        goto cleanup;
    }
    i = end - 1;                /* the newline ending the last line */
    while (i > 0 && buf[i - 1] != '\n') {
        i--;
    }
    if ((i == 0 && start != 0)
        || verify_audit_line_head(buf + i, end - 1 - i, chain) != 0) {
        rv = APR_EGENERAL;
        *err = apr_psprintf(p, "%s: last line is not a sealed audit line",
                            path);
        memset(chain, 0, sizeof(*chain));
        goto cleanup;
    }
    *found = 1;

cleanup:
    if (f) {
        apr_file_close(f);
    }
    return rv;
}

apr_status_t verify_audit_find_head(const char *dir, verify_chain_t *chain,
                                    const char **file, apr_off_t *size,
                                    apr_off_t *partial_at, char **err,
                                    apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 64, sizeof(char *));
    apr_dir_t *d = NULL;
    apr_finfo_t fi;
    apr_status_t rv;
    int i, found;

    memset(chain, 0, sizeof(*chain));
    *file = NULL;
    *size = 0;
    *partial_at = -1;
    rv = apr_dir_open(&d, dir, p);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot open audit directory %s: %pm", dir,
                            &rv);
        return rv;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
           == APR_SUCCESS) {
        if (fi.filetype == APR_REG && is_audit_name(fi.name)) {
            APR_ARRAY_PUSH(names, char *) = apr_pstrdup(p, fi.name);
        }
    }
    apr_dir_close(d);
    qsort(names->elts, (size_t)names->nelts, sizeof(char *), name_desc);
    /* The newest file with a complete line holds the head; newer empty
     * files were opened at a day change before any line was written. */
    for (i = 0; i < names->nelts; i++) {
        const char *path = apr_pstrcat(p, dir, "/",
                                       APR_ARRAY_IDX(names, i, char *),
                                       NULL);
        apr_off_t psz = -1, fsize = 0;
        rv = file_head(path, chain, &fsize, &psz, &found, err, p);
        if (i == 0) {
            *file = path;
            *size = fsize;
            *partial_at = psz;
        }
        if (rv != APR_SUCCESS || found) {
            return rv;
        }
    }
    return APR_SUCCESS;
}
