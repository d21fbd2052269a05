/*
 * proof.c -- reading the text of a consistency proof, as `consistency`
 * prints it (docs/data-formats.md section 4), for a witness that has no
 * log:
 *
 *   consistency
 *   size1 M1
 *   root1 BASE64
 *   size2 M2
 *   root2 BASE64
 *   hashes K
 *   K lines of base64, one hash each
 *
 * Strictly: these lines in this order, each ending in a newline, sizes
 * in decimal without leading zeros, hashes in canonical base64 of 32
 * bytes. What follows the K hashes is ignored, as the format says.
 */
#include <string.h>
#include <apr_strings.h>
#include "tool.h"

typedef struct reader_t {
    const char *at, *end;
    int lno;
    apr_pool_t *p;
} reader_t;

/* The next line (without its newline) into *line, *len; NULL, or why. */
static const char *next(reader_t *r, const char **line, size_t *len)
{
    const char *nl = memchr(r->at, '\n', (size_t)(r->end - r->at));

    r->lno++;
    if (!nl) {
        return apr_psprintf(r->p, "line %d: %s", r->lno,
                            r->at == r->end ? "missing"
                                            : "no newline at its end");
    }
    *line = r->at;
    *len = (size_t)(nl - r->at);
    r->at = nl + 1;
    return NULL;
}

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0 || len > 20 || (len > 1 && s[0] == '0')) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');

        if (d > 9 || v > (UINT64_MAX - d) / 10) {
            return 0;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int parse_hash(const char *s, size_t len,
                      unsigned char out[VERIFY_MERKLE_HASH_LEN],
                      apr_pool_t *p)
{
    unsigned char *h;
    size_t n = 0;

    h = verify_note_b64_decode(s, len, &n, p);
    if (!h || n != VERIFY_MERKLE_HASH_LEN) {
        return 0;
    }
    memcpy(out, h, VERIFY_MERKLE_HASH_LEN);
    return 1;
}

/* The line "KEY VALUE": its value, or NULL with *why set. */
static const char *field(reader_t *r, const char *key, size_t *vlen,
                         const char **why)
{
    size_t klen = strlen(key), len;
    const char *line;

    *why = next(r, &line, &len);
    if (*why) {
        return NULL;
    }
    if (len <= klen + 1 || memcmp(line, key, klen) || line[klen] != ' ') {
        *why = apr_psprintf(r->p, "line %d: not \"%s VALUE\"", r->lno, key);
        return NULL;
    }
    *vlen = len - klen - 1;
    return line + klen + 1;
}

const char *proof_parse(const char *text, size_t len, audit_cproof_t *out,
                        apr_pool_t *p)
{
    static const char *const sizes[2] = { "size1", "size2" };
    static const char *const roots[2] = { "root1", "root2" };
    reader_t r;
    const char *why, *v, *line;
    uint64_t k, *size[2];
    unsigned char *root[2];
    size_t vlen, l;
    int i;

    memset(out, 0, sizeof(*out));
    r.at = text;
    r.end = text + len;
    r.lno = 0;
    r.p = p;
    size[0] = &out->size1;
    size[1] = &out->size2;
    root[0] = out->root1;
    root[1] = out->root2;
    why = next(&r, &line, &l);
    if (why) {
        return why;
    }
    if (l != 11 || memcmp(line, "consistency", 11)) {
        return "line 1: not \"consistency\" (the text `" PROG
               " consistency` prints)";
    }
    for (i = 0; i < 2; i++) {
        if (!(v = field(&r, sizes[i], &vlen, &why))) {
            return why;
        }
        if (!parse_u64(v, vlen, size[i])) {
            return apr_psprintf(p, "line %d: %s is not a decimal number",
                                r.lno, sizes[i]);
        }
        if (!(v = field(&r, roots[i], &vlen, &why))) {
            return why;
        }
        if (!parse_hash(v, vlen, root[i], p)) {
            return apr_psprintf(p, "line %d: %s is not the base64 of 32 "
                                "bytes", r.lno, roots[i]);
        }
    }
    if (!(v = field(&r, "hashes", &vlen, &why))) {
        return why;
    }
    if (!parse_u64(v, vlen, &k) || k > VERIFY_MERKLE_PROOF_MAX) {
        return apr_psprintf(p, "line %d: hashes is not a number up to %d",
                            r.lno, VERIFY_MERKLE_PROOF_MAX);
    }
    for (out->proof.count = 0; out->proof.count < k; out->proof.count++) {
        why = next(&r, &line, &l);
        if (why) {
            return why;
        }
        if (!parse_hash(line, l, out->proof.hash[out->proof.count], p)) {
            return apr_psprintf(p, "line %d: not the base64 of a 32-byte "
                                "hash", r.lno);
        }
    }
    return NULL;
}
