/*
 * verify-audit -- the auditor's tool. This version has `verify`: is the
 * hash chain of the audit log intact, and if not, where does it break?
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_tables.h>
#include <jansson.h>
#include "verify.h"

#define PROG "verify-audit"

static void usage(FILE *to)
{
    fprintf(to,
        "usage: " PROG " COMMAND [options] FILE|DIR...\n"
        "  verify    check the hash chain; exit 0 if intact, else name the\n"
        "            first bad line\n"
        "  sample, report, ip-review, roster, subject, purge: not in this\n"
        "            version yet (they arrive with the auditor tools)\n");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Audit files of the arguments, in chain order. */
static int collect(int argc, const char *const *argv, int from,
                   apr_array_header_t *files, apr_pool_t *p)
{
    apr_finfo_t fi;
    apr_dir_t *d;
    int i, start;

    for (i = from; i < argc; i++) {
        if (apr_stat(&fi, argv[i], APR_FINFO_TYPE, p) != APR_SUCCESS) {
            fprintf(stderr, PROG ": cannot read %s\n", argv[i]);
            return -1;
        }
        if (fi.filetype != APR_DIR) {
            APR_ARRAY_PUSH(files, const char *) = argv[i];
            continue;
        }
        if (apr_dir_open(&d, argv[i], p) != APR_SUCCESS) {
            fprintf(stderr, PROG ": cannot open directory %s\n", argv[i]);
            return -1;
        }
        start = files->nelts;
        while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
               == APR_SUCCESS) {
            size_t l = strlen(fi.name);
            if (fi.filetype == APR_REG && !strncmp(fi.name, "audit-", 6)
                && l > 6 && !strcmp(fi.name + l - 6, ".jsonl")) {
                APR_ARRAY_PUSH(files, const char *) =
                    apr_pstrcat(p, argv[i], "/", fi.name, NULL);
            }
        }
        apr_dir_close(d);
        qsort(files->elts + start * sizeof(char *),
              (size_t)(files->nelts - start), sizeof(char *), cmp_str);
    }
    return 0;
}

static const char *line_fault(verify_line_status_t st)
{
    switch (st) {
    case VERIFY_LINE_SYNTAX: return "not a sealed audit line";
    case VERIFY_LINE_HASH:   return "hash does not match the line's content "
                                    "(line altered)";
    case VERIFY_LINE_PREV:   return "prev is not the previous line's hash "
                                    "(line removed, inserted or reordered)";
    case VERIFY_LINE_SEQ:    return "seq does not follow the previous line "
                                    "(gap or repeat)";
    default:                 return "ok";
    }
}

static int cmd_verify(apr_array_header_t *files, apr_pool_t *p)
{
    static const unsigned char zero[32];
    verify_chain_t chain, first_head;
    verify_line_status_t st;
    uint64_t lines = 0, first_seq = 0, recovers = 0;
    char hex[65];
    int i, first = 1;

    memset(&chain, 0, sizeof(chain));
    for (i = 0; i < files->nelts; i++) {
        const char *path = APR_ARRAY_IDX(files, i, const char *);
        FILE *f = fopen(path, "rb");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        unsigned long lno = 0;

        if (!f) {
            fprintf(stderr, PROG ": cannot open %s\n", path);
            return 1;
        }
        while ((n = getline(&line, &cap, f)) > 0) {
            json_error_t jerr;
            json_t *j;
            lno++;
            if (line[n - 1] != '\n') {
                printf("%s:%lu: BROKEN: last line is incomplete (no "
                       "newline)\n", path, lno);
                free(line);
                fclose(f);
                return 1;
            }
            n--;
            if ((size_t)n + 1 >= VERIFY_AUDIT_LINE_MAX) {
                printf("%s:%lu: BROKEN: line longer than %d bytes\n", path,
                       lno, VERIFY_AUDIT_LINE_MAX);
                free(line);
                fclose(f);
                return 1;
            }
            st = verify_audit_check_line(&chain, line, (size_t)n, first);
            j = st == VERIFY_LINE_OK
                ? json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr)
                : NULL;
            if (st == VERIFY_LINE_OK && !j) {
                st = VERIFY_LINE_SYNTAX;
            }
            if (st != VERIFY_LINE_OK) {
                verify_chain_t h;
                if (verify_audit_line_head(line, (size_t)n, &h) == 0) {
                    printf("%s:%lu: BROKEN at seq %" APR_UINT64_T_FMT
                           ": %s\n", path, lno, h.seq, line_fault(st));
                }
                else {
                    printf("%s:%lu: BROKEN: %s\n", path, lno,
                           line_fault(st));
                }
                free(line);
                fclose(f);
                return 1;
            }
            if (!strcmp(json_string_value(json_object_get(j, "op"))
                        ? json_string_value(json_object_get(j, "op")) : "",
                        "audit_recover")) {
                recovers++;
                printf("%s:%lu: note: seq %" APR_UINT64_T_FMT ": a writer "
                       "died inside the chain step (%s)\n", path, lno,
                       chain.seq,
                       json_string_value(json_object_get(j, "detail"))
                       ? json_string_value(json_object_get(j, "detail"))
                       : "");
            }
            json_decref(j);
            if (first) {
                first_seq = chain.seq;
                first_head = chain;
                (void)first_head;
                if (chain.seq != 1) {
                    printf("%s:%lu: note: chain starts at seq %"
                           APR_UINT64_T_FMT " (earlier lines not given)\n",
                           path, lno, chain.seq);
                }
                else {
                    /* the genesis line must link to nothing */
                    unsigned char prev[32];
                    const char *pp = line + n - 75 - 65;
                    int k;
                    for (k = 0; k < 32; k++) {
                        unsigned v;
                        sscanf(pp + 2 * k, "%2x", &v);
                        prev[k] = (unsigned char)v;
                    }
                    if (memcmp(prev, zero, 32)) {
                        printf("%s:%lu: BROKEN at seq 1: prev of the first "
                               "line is not zero\n", path, lno);
                        free(line);
                        fclose(f);
                        return 1;
                    }
                }
                first = 0;
            }
            lines++;
        }
        free(line);
        fclose(f);
    }
    if (lines == 0) {
        printf("no audit lines found\n");
        return 1;
    }
    verify_hex(chain.hash, 32, hex);
    printf("OK: %" APR_UINT64_T_FMT " lines in %d file(s), seq %"
           APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT ", chain intact, head %s"
           "%s\n", lines, files->nelts, first_seq, chain.seq, hex,
           recovers ? " (with recovery notes above)" : "");
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    apr_array_header_t *files;
    int rc;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "verify")) {
        fprintf(stderr, PROG ": command \"%s\" is not available in this "
                "version\n", argv[1]);
        usage(stderr);
        return 2;
    }
    if (argc < 3) {
        usage(stderr);
        return 2;
    }
    files = apr_array_make(p, 16, sizeof(const char *));
    if (collect(argc, argv, 2, files, p) != 0) {
        return 1;
    }
    if (files->nelts == 0) {
        fprintf(stderr, PROG ": no audit files given\n");
        return 1;
    }
    rc = cmd_verify(files, p);
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
