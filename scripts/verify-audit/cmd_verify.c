/*
 * cmd_verify.c -- is the hash chain of the audit log intact, and if not,
 * where does it break?
 */
#include <stdio.h>
#include "print.h"
#include "tool.h"

/* Notes and faults as the scan finds them: they hold file names and
 * log text (an audit_recover line's detail). */
static void print_note(verify_scan_t *s, const char *msg)
{
    printf("%s\n", safe_str(s->p, msg));
}

int cmd_verify(const audit_args_t *a, apr_pool_t *p)
{
    verify_scan_t s;
    char hex[65];

    scan_init(&s, a, NULL, NULL, p);
    s.note_fn = print_note;
    if (scan_run(&s) != 0) {
        return 1;
    }
    if (s.lines == 0) {
        printf("no audit lines found\n");
        return 1;
    }
    verify_hex(s.chain.hash, 32, hex);
    printf("OK: %" APR_UINT64_T_FMT " lines in %d file(s), seq %"
           APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT ", chain intact, head %s"
           "%s\n", s.lines, a->files->nelts, s.first_seq, s.chain.seq, hex,
           s.recovers ? " (with recovery notes above)" : "");
    return 0;
}
