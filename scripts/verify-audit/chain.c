/*
 * chain.c -- the commands' reading of the chain: the scan set up from
 * the command line, its failures said, and the header of a text answer.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "tool.h"

void scan_init(verify_scan_t *s, const audit_args_t *a,
               verify_scan_line_fn line_fn, void *ctx, apr_pool_t *p)
{
    memset(s, 0, sizeof(*s));
    s->paths = a->files;
    s->checkpoint = a->checkpoint;
    s->line_fn = line_fn;
    s->ctx = ctx;
    s->p = p;
}

int scan_run(verify_scan_t *s)
{
    int rc = verify_chain_scan(s);

    if (rc < 0 && s->error) {
        fprintf(stderr, PROG ": %s\n", safe_str(s->p, s->error));
    }
    return rc;
}

int scan_run_par(verify_scan_t *s, const verify_par_t *par)
{
    int rc = verify_chain_scan_par(s, par);

    if (rc < 0 && s->error) {
        fprintf(stderr, PROG ": %s\n", safe_str(s->p, s->error));
    }
    return rc;
}

int scan_intact(verify_scan_t *s, const char *cmd)
{
    switch (scan_run(s)) {
    case 0:
        return 0;
    case 1:
        fprintf(stderr, PROG ": %s refused: the audit chain is broken, and "
                "the answer must come from an intact log:\n  %s\n(`" PROG
                " verify` on the same files shows it; keep a copy and "
                "investigate, R5.2)\n", cmd, safe_str(s->p, s->fault));
        return 1;
    default:
        return 1;
    }
}

const char *files_span(const apr_array_header_t *files, apr_pool_t *p)
{
    const char *a = safe_str(p, APR_ARRAY_IDX(files, 0, const char *));
    const char *b = safe_str(p, APR_ARRAY_IDX(files, files->nelts - 1,
                                              const char *));

    return files->nelts == 1 ? a : apr_pstrcat(p, a, " .. ", b, NULL);
}

void chain_header(const verify_scan_t *s, apr_pool_t *p)
{
    char hex[65];

    verify_hex(s->chain.hash, 32, hex);
    printf("files:        %d: %s\n", s->nread, files_span(s->paths, p));
    if (s->lines) {
        printf("chain:        intact, seq %" APR_UINT64_T_FMT "..%"
               APR_UINT64_T_FMT "%s, head %s\n", s->first_seq, s->chain.seq,
               s->from_checkpoint ? " (after the purge checkpoint)" : "",
               hex);
    }
    else {
        printf("chain:        no audit lines\n");
    }
}
