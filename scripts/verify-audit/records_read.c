/*
 * records_read.c -- the R5.2 records log read: its chain checked with the
 * audit log's own scan (verify_chain_scan), every record kept parsed;
 * and the small helpers the records commands share.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include "print.h"
#include "records.h"

const char *records_dir(const audit_args_t *a)
{
    return a->records ? a->records : RECORDS_DEFAULT;
}

const char *rec_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

uint64_t rec_seq(json_t *o)
{
    json_t *v = json_object_get(o, "seq");

    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

const char *rec_mask(const char *s, int *masked, apr_pool_t *p)
{
    unsigned found = 0;
    const char *m;

    if (!s) {
        return NULL;
    }
    m = verify_pii_mask(s, strlen(s), VERIFY_PII_ID | VERIFY_PII_PHONE,
                        NULL, &found, p);
    if (found && masked) {
        *masked = 1;
    }
    return m;
}

const char *rec_name_fault(const char *s, apr_pool_t *p)
{
    size_t i, l = strlen(s);

    if (l == 0 || l > 64) {
        return "must be 1 to 64 bytes";
    }
    for (i = 0; i < l; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == ',') {
            return "must hold no comma or control character";
        }
    }
    if (verify_audit_line_bytes_fault(s, l, p) != NULL) {
        return "must be UTF-8";
    }
    return NULL;
}

/* -- reading -------------------------------------------------------- */

static apr_status_t decref(void *j)
{
    json_decref(j);
    return APR_SUCCESS;
}

static int keep_line(verify_scan_t *s, const char *line, size_t len,
                     json_t *j, int bad, int fi, apr_off_t off)
{
    records_t *r = s->ctx;
    verify_chain_t h;

    (void)bad; (void)fi; (void)off;
    if (!j || verify_audit_line_head(line, len, &h) != 0) {
        return 0;       /* the scan says what is wrong with it */
    }
    json_incref(j);
    apr_pool_cleanup_register(s->p, j, decref, apr_pool_cleanup_null);
    APR_ARRAY_PUSH(r->lines, json_t *) = j;
    APR_ARRAY_PUSH(r->raw, const char *) = apr_pstrmemdup(s->p, line, len);
    memcpy(apr_array_push(r->hashes), h.hash, 32);
    return 0;
}

/* Say why the records log cannot be read, unless quiet (no @p cmd). */
static int load_failed(records_t *r, int rc, const char *cmd,
                       const char *why, apr_pool_t *p)
{
    r->why = why;
    if (cmd && rc > 0) {
        fprintf(stderr, PROG ": %s refused: the records log %s: %s\n(`"
                PROG " verify --records %s` shows it; keep a copy and "
                "investigate, R5.2)\n", cmd, safe_str(p, r->path),
                safe_str(p, why), safe_str(p, r->dir));
    }
    else if (cmd) {
        fprintf(stderr, PROG ": %s refused: the records log %s: %s\n", cmd,
                safe_str(p, r->path), safe_str(p, why));
    }
    return rc;
}

int records_load(records_t *r, const char *dir, const char *cmd,
                 apr_pool_t *p)
{
    apr_array_header_t *paths;
    verify_scan_t s;
    struct stat st;

    memset(r, 0, sizeof(*r));
    r->dir = dir;
    r->path = apr_pstrcat(p, dir, "/" RECORDS_FILE, NULL);
    r->lines = apr_array_make(p, 64, sizeof(json_t *));
    r->raw = apr_array_make(p, 64, sizeof(const char *));
    r->hashes = apr_array_make(p, 64, 32);
    if (lstat(r->path, &st) != 0) {
        if (errno == ENOENT) {
            return 0;   /* nothing recorded yet */
        }
        return load_failed(r, -1, cmd, apr_psprintf(p, "cannot be read: "
                           "%s", strerror(errno)), p);
    }
    if (!S_ISREG(st.st_mode)) {
        return load_failed(r, -1, cmd, "not a regular file (a link or a "
                           "device planted there?)", p);
    }
    r->exists = 1;
    paths = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(paths, const char *) = r->path;
    memset(&s, 0, sizeof(s));
    s.paths = paths;
    s.line_fn = keep_line;
    s.ctx = r;
    s.p = p;
    switch (verify_chain_scan(&s)) {
    case 0:
        break;
    case 1:
        return load_failed(r, 1, cmd, apr_pstrcat(p, "its chain is broken: ",
                                                  s.fault, NULL), p);
    default:
        return load_failed(r, -1, cmd, apr_pstrcat(
                               p, "cannot be read: ",
                               s.error ? s.error : "unknown error", NULL), p);
    }
    if (s.lines && s.first_seq != 1) {
        return load_failed(r, 1, cmd, apr_psprintf(
                               p, "it starts at seq %" APR_UINT64_T_FMT
                               ", not 1: records were removed",
                               s.first_seq), p);
    }
    r->head = s.chain;
    return 0;
}
