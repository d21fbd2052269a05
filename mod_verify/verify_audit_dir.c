/*
 * verify_audit_dir.c -- the audit directory: day file names, and finding
 * the chain head in the newest file.
 */
#include <string.h>
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_tables.h>
#include "verify_audit_dir.h"
#include "verify_audit_line.h"
#include "verify_time.h"

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
