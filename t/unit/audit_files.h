/*
 * audit_files.h -- audit files written for the tests of reading them
 * (test_chain_scan.c, test_chain_par.c, test_audit_dir.c): sealed lines
 * appended to a file, or raw text.
 */
#ifndef AUDIT_FILES_H
#define AUDIT_FILES_H

#include <stdio.h>
#include "tap.h"
#include "verify.h"

/* @p text into DIR/NAME, fopen()ed with @p mode ("w" or "ab"). */
static TAP_UNUSED void file_put(const char *dir, const char *name,
                                const char *text, const char *mode)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, mode);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* @p n lines of @p op sealed after @p chain, appended to DIR/NAME: each
 * a request_id, the op, a detail and @p extra (members, or ""), at
 * 2026-11-30T23:59:59Z plus @p secs, plus @p step seconds a line. */
static TAP_UNUSED void seal_into(const char *dir, const char *name,
                                 verify_chain_t *chain, int n,
                                 const char *op, const char *extra,
                                 int secs, int step)
{
    char path[512], line[VERIFY_AUDIT_LINE_MAX], body[256];
    FILE *f;
    int i;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "ab");
    for (i = 0; f && i < n; i++) {
        int blen = snprintf(body, sizeof(body),
                            ",\"request_id\":\"r%llu\",\"op\":\"%s\","
                            "\"detail\":\"d\"%s",
                            (unsigned long long)chain->seq + 1, op, extra);
        size_t len = verify_audit_seal(chain, apr_time_from_sec(
                                           1795708799 + secs + i * step),
                                       body, (size_t)blen, line,
                                       sizeof(line));
        fwrite(line, 1, len, f);
    }
    if (f) {
        fclose(f);
    }
}

#endif /* AUDIT_FILES_H */
