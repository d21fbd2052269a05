/*
 * test_chain_par.c -- the chain scan with worker threads
 * (verify_chain_scan_par) against the one-thread scan: for intact and
 * broken files, notes, a callback that stops, keep_going, and windows
 * of 1 to 2,048 lines with 2 to 4 threads, the same return, faults,
 * notes, counts, head, and the same lines handed on in the same order
 * (each line either to s->line_fn or, with the workers' findings, to
 * the fast callback).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "audit_files.h"
#include "verify.h"
#include "verify_chain_par.h"
#include "verify_merkle.h"

static apr_pool_t *pool;
static char dir[] = "/tmp/test_chain_par.XXXXXX";

/* Sealed lines of @p op after @p chain into FILE (appended), a second
 * apart from @p secs. */
static void write_lines(const char *name, verify_chain_t *chain, int n,
                        const char *op, int secs)
{
    seal_into(dir, name, chain, n, op, ",\"seqs\":[1]", secs, 1);
}

static void append_raw(const char *name, const char *text)
{
    file_put(dir, name, text, "ab");
}

/* What a scan said and handed on. */
typedef struct seen_t {
    char *log;                  /* each line and note, in order */
    int stop_at, lines, fast;
    int leaf;                   /* the workers were asked for leaves */
} seen_t;

static void say(seen_t *x, const char *what)
{
    x->log = apr_pstrcat(pool, x->log ? x->log : "", what, "\n", NULL);
}

static int on_line(verify_scan_t *s, const char *line, size_t len,
                   json_t *j, int bad, int file, apr_off_t off)
{
    seen_t *x = s->ctx;

    say(x, apr_psprintf(pool, "line %d@%" APR_OFF_T_FMT " %.*s bad=%d",
                        file, off, (int)len, line, bad));
    return x->stop_at && ++x->lines == x->stop_at ? -1 : 0;
}

static int on_fast(verify_scan_t *s, const char *line, size_t len,
                   const void *extra, int file, apr_off_t off)
{
    seen_t *x = s->ctx;
    const size_t *pre = extra;

    x->fast++;
    if (pre[0] != len) {
        say(x, "the workers' findings are not this line's");
    }
    if (pre[1] != (size_t)x->leaf) {
        say(x, x->leaf ? "the workers' leaf is missing or not this line's"
                       : "a leaf was given unasked");
    }
    say(x, apr_psprintf(pool, "line %d@%" APR_OFF_T_FMT " %.*s bad=0",
                        file, off, (int)len, line));
    return x->stop_at && ++x->lines == x->stop_at ? -1 : 0;
}

/* The workers' findings: the line's length, and its leaf when asked
 * for (0 none given, 1 the line's, 2 not the line's). */
static int pre(void *ctx, const char *line, size_t len, uint64_t seq,
               const unsigned char *leaf, const verify_flat_t *flat,
               void *extra, apr_pool_t *p)
{
    size_t *x = extra;
    unsigned char want[32];

    x[0] = len;
    if (leaf) {
        verify_merkle_leaf_hash(line, len, want);
        x[1] = memcmp(leaf, want, 32) ? 2 : 1;
    }
    return 0;
}

static void on_note(verify_scan_t *s, const char *msg)
{
    say(s->ctx, msg);
}

/* The scan's whole answer as text. */
static const char *answer(verify_scan_t *s, int rc, seen_t *x)
{
    char hex[65];
    const char *out;
    int i;

    verify_hex(s->chain.hash, 32, hex);
    out = apr_psprintf(pool, "rc=%d lines=%" APR_UINT64_T_FMT " first=%"
                       APR_UINT64_T_FMT " head=%" APR_UINT64_T_FMT " %s "
                       "faults=%" APR_UINT64_T_FMT " fault=%s nread=%d "
                       "from_cp=%d rec=%" APR_UINT64_T_FMT " unc=%"
                       APR_UINT64_T_FMT " warn=%" APR_UINT64_T_FMT
                       " error=%s\n%s", rc, s->lines, s->first_seq,
                       s->chain.seq, hex, s->faults,
                       s->fault ? s->fault : "-", s->nread,
                       s->from_checkpoint, s->recovers, s->unconfirmed,
                       s->warnings, s->error ? s->error : "-",
                       x->log ? x->log : "");
    for (i = 0; s->files && i < s->paths->nelts; i++) {
        out = apr_psprintf(pool, "%sfile %d: %" APR_UINT64_T_FMT " lines %"
                           APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT "\n",
                           out, i, s->files[i].lines, s->files[i].first_seq,
                           s->files[i].last_seq);
    }
    return out;
}

static const char *scan(apr_array_header_t *files, int threads,
                        size_t window, int stop_at, int keep_going,
                        int *fast)
{
    verify_par_t par;
    verify_scan_t s;
    seen_t x;
    int rc;

    memset(&s, 0, sizeof(s));
    memset(&x, 0, sizeof(x));
    memset(&par, 0, sizeof(par));
    x.stop_at = stop_at;
    s.paths = files;
    s.lazy = 1;
    s.keep_going = keep_going;
    s.line_fn = on_line;
    s.note_fn = on_note;
    s.ctx = &x;
    s.p = pool;
    par.threads = threads;
    par.window = window;
    par.extra_size = 2 * sizeof(size_t);
    /* the leaves with the chain hashes on 2 and 4 threads, not on 3 */
    par.leaf = x.leaf = threads != 3;
    par.pre_fn = pre;
    par.line_fn = on_fast;
    rc = threads ? verify_chain_scan_par(&s, &par) : verify_chain_scan(&s);
    if (fast) {
        *fast = x.fast;
    }
    return answer(&s, rc, &x);
}

static apr_array_header_t *files_of(const char *a, const char *b,
                                    const char *c)
{
    apr_array_header_t *arr = apr_array_make(pool, 3, sizeof(char *));
    const char *names[3] = { a, b, c };
    int i;

    for (i = 0; i < 3; i++) {
        if (names[i]) {
            APR_ARRAY_PUSH(arr, const char *) =
                apr_pstrcat(pool, dir, "/", names[i], NULL);
        }
    }
    return arr;
}

/* The one-thread answer, then the same from every threads x window. */
static void same(const char *what, apr_array_header_t *files, int stop_at,
                 int keep_going, int want_rc)
{
    static const size_t windows[] = { 1, 2, 3, 7, 64, 0 };
    const char *one = scan(files, 0, 0, stop_at, keep_going, NULL);
    int t, w, bad = 0, fast = 0, f;

    ok(!strncmp(one, apr_psprintf(pool, "rc=%d ", want_rc), 5),
       "%s: the one-thread scan returns %d", what, want_rc);
    for (t = 2; t <= 4; t++) {
        for (w = 0; w < (int)(sizeof(windows) / sizeof(windows[0])); w++) {
            const char *got = scan(files, t, windows[w], stop_at,
                                   keep_going, &f);
            fast += f;
            if (strcmp(got, one)) {
                diag("threads %d, window %d:\n%s\n-- one thread:\n%s", t,
                     (int)windows[w], got, one);
                bad++;
            }
        }
    }
    ok(!bad, "%s: the same with 2..4 threads, windows 1..2048", what);
    if (!keep_going) {
        ok(fast > 0, "%s: lines went the workers' way (%d)", what, fast);
    }
}

int main(void)
{
    verify_chain_t c;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    memset(&c, 0, sizeof(c));
    write_lines("audit-2026-11-01.jsonl", &c, 40, "verify", 0);
    write_lines("audit-2026-11-02.jsonl", &c, 3, "verify", 100);
    write_lines("audit-2026-11-02.jsonl", &c, 1, "unconfirmed", 110);
    write_lines("audit-2026-11-02.jsonl", &c, 1, "audit_recover", 120);
    write_lines("audit-2026-11-02.jsonl", &c, 30, "verify", 130);
    write_lines("audit-2026-11-03.jsonl", &c, 5, "verify", 10);
    same("intact, with notes and ts going back",
         files_of("audit-2026-11-01.jsonl", "audit-2026-11-02.jsonl",
                  "audit-2026-11-03.jsonl"), 0, 0, 0);
    same("from the second file", files_of("audit-2026-11-02.jsonl",
                                          "audit-2026-11-03.jsonl", NULL),
         0, 0, 0);
    same("the callback stops at line 33",
         files_of("audit-2026-11-01.jsonl", "audit-2026-11-02.jsonl",
                  "audit-2026-11-03.jsonl"), 33, 0, -1);
    same("files out of order",
         files_of("audit-2026-11-02.jsonl", "audit-2026-11-01.jsonl",
                  NULL), 0, 0, 1);
    same("keep_going over files out of order",
         files_of("audit-2026-11-02.jsonl", "audit-2026-11-01.jsonl",
                  NULL), 0, 1, 1);

    /* a line altered mid-file, then a file that is not there */
    memset(&c, 0, sizeof(c));
    write_lines("audit-2026-11-05.jsonl", &c, 20, "verify", 0);
    append_raw("audit-2026-11-05.jsonl", "{\"seq\":21,\"ts\":\"x\"}\n");
    write_lines("audit-2026-11-05.jsonl", &c, 5, "verify", 30);
    same("a line that is no audit line",
         files_of("audit-2026-11-05.jsonl", "audit-2026-11-06.jsonl",
                  NULL), 0, 0, 1);
    same("a file that cannot be opened after an intact one",
         files_of("audit-2026-11-01.jsonl", "audit-2026-11-09.jsonl",
                  NULL), 0, 0, -1);
    /* a last line without its newline */
    memset(&c, 0, sizeof(c));
    write_lines("audit-2026-11-07.jsonl", &c, 9, "verify", 0);
    append_raw("audit-2026-11-07.jsonl", "{\"seq\":10");
    same("a last line cut short", files_of("audit-2026-11-07.jsonl", NULL,
                                           NULL), 0, 0, 1);
    return done_testing();
}
