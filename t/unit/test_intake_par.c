/*
 * test_intake_par.c -- a batch taken in by several threads
 * (verify_intake_par.c): the same records, in the same order, as one
 * thread takes in; the same fault for a bad batch (the first in file
 * order, whichever thread found it); record sets joined across threads,
 * in memory and spilled (verify_recset.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "verify_recset.h"

#define ROWS 4000

/* The records of a set, walked in key order, copied out. */
typedef struct got_t {
    verify_import_rec_t *r;
    size_t n, cap;
} got_t;

static int collect(void *ctx, const verify_import_rec_t *recs, size_t n)
{
    got_t *g = ctx;

    if (g->n + n > g->cap) {
        g->cap = (g->n + n) * 2;
        g->r = realloc(g->r, g->cap * sizeof(*g->r));
    }
    memcpy(g->r + g->n, recs, n * sizeof(*recs));
    g->n += n;
    return 0;
}

/* One intake of @p csv with @p threads (0: verify_intake_set itself),
 * spilling after @p mem records into the scratch directory (0: never);
 * then its walk. The fault (or NULL) and, if none, the records. */
typedef struct run_t {
    apr_status_t rv;
    char *err;
    unsigned used;
    got_t got;
} run_t;

static void run(const char *csv, size_t len, unsigned threads, size_t mem,
                run_t *out)
{
    verify_recset_t *set;
    verify_intake_par_t par;
    int dirfd = -1, fn_rc;

    memset(out, 0, sizeof(*out));
    if (mem) {
        dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    verify_recset_create(&set, dirfd, mem, pool);
    if (threads == 0) {
        out->rv = verify_intake_set(VERIFY_SRC_HOUSEHOLD, csv, len, keys,
                                    TODAY, set, NULL, NULL, &out->err, pool);
        out->used = 1;
    }
    else {
        memset(&par, 0, sizeof(par));
        par.threads = threads;
        out->rv = verify_intake_set_par(VERIFY_SRC_HOUSEHOLD, csv, len, keys,
                                        TODAY, set, &par, &out->err, pool);
        out->used = par.used;
    }
    if (out->rv == APR_SUCCESS) {
        out->rv = verify_recset_walk(set, collect, &out->got, &fn_rc,
                                     &out->err, pool);
    }
    /* the descriptors of the spill files go with the pool's cleanups;
     * the directory's is not needed past the walk */
    if (dirfd >= 0) {
        close(dirfd);
    }
}

static int same_records(const run_t *a, const run_t *b)
{
    size_t i;

    if (a->got.n != b->got.n) {
        diag("%zu records, against %zu", a->got.n, b->got.n);
        return 0;
    }
    for (i = 0; i < a->got.n; i++) {
        const verify_import_rec_t *x = &a->got.r[i], *y = &b->got.r[i];
        if (memcmp(x->key, y->key, sizeof(x->key)) || x->vlen != y->vlen
            || memcmp(x->val, y->val, x->vlen) || x->line != y->line) {
            diag("record %zu differs (lines %lu, %lu)", i, x->line, y->line);
            return 0;
        }
    }
    return 1;
}

/* A household batch of @p rows records (and a blank line or two, CRLF
 * on some lines, a quoted name), each row's ID distinct; *len. */
static char *batch(size_t rows, size_t *len)
{
    size_t cap = rows * 64 + 128, i, at;
    char *b = apr_palloc(pool, cap), id[11], seven[8];

    at = (size_t)snprintf(b, cap, "\xef\xbb\xbfid,name,birth_date,"
                          "indigenous\n");
    for (i = 0; i < rows; i++) {
        snprintf(seven, sizeof(seven), "%07zu", i * 7 + 1);
        make_id(id, (char)('A' + i % 20), (char)('1' + i % 2), seven);
        at += (size_t)snprintf(b + at, cap - at, "%s,%s%s%zu%s,19%02zu-0%zu"
                               "-1%zu,%s%s", id, i % 5 ? "" : "\"",
                               i % 3 ? "王小明" : "Lin Mei ", i % 97,
                               i % 5 ? "" : "\"", i % 100, i % 9 + 1,
                               i % 10, i % 7 ? "" : "mountain",
                               i % 11 ? "\n" : "\r\n");
        if (i % 1000 == 500) {
            b[at++] = '\n';
        }
    }
    b[at] = '\0';
    *len = at;
    return b;
}

/* The byte offset of line @p line of @p b (@p len bytes, NUL bytes
 * and all). */
static size_t line_off(const char *b, size_t len, unsigned long line)
{
    const char *q = b;

    while (--line > 0) {
        q = (const char *)memchr(q, '\n', len - (size_t)(q - b)) + 1;
    }
    return (size_t)(q - b);
}

static unsigned long line_of(const char *b, size_t off)
{
    return verify_line_at(b, off);
}

static void test_same_records(void)
{
    size_t len;
    char *b = batch(ROWS, &len);
    static const unsigned threads[] = { 1, 2, 3, 8 };
    run_t one, par;
    size_t k;

    run(b, len, 0, 0, &one);
    ok(one.rv == APR_SUCCESS && one.got.n == ROWS,
       "one thread: %zu records (%s)", one.got.n, one.err ? one.err : "ok");
    for (k = 0; k < sizeof(threads) / sizeof(threads[0]); k++) {
        run(b, len, threads[k], 0, &par);
        ok(par.rv == APR_SUCCESS && par.used == threads[k],
           "%u threads asked, %u used (%s)", threads[k], par.used,
           par.err ? par.err : "ok");
        ok(same_records(&one, &par), "%u threads: the same records, lines "
           "and order as one", threads[k]);
        free(par.got.r);
        /* spilled: each thread's set into partitions of its own */
        run(b, len, threads[k], 300, &par);
        ok(par.rv == APR_SUCCESS && same_records(&one, &par),
           "%u threads, spilled: the same records as one", threads[k]);
        free(par.got.r);
    }
    free(one.got.r);
}

/* @p b with the text of line @p line replaced by @p text (same line
 * count). */
static char *with_line(const char *b, size_t len, unsigned long line,
                       const char *text, size_t tlen, size_t *olen)
{
    size_t at = line_off(b, len, line), end = line_off(b, len, line + 1);
    char *o = apr_palloc(pool, len - (end - at) + tlen + 2);

    memcpy(o, b, at);
    memcpy(o + at, text, tlen);
    o[at + tlen] = '\n';
    memcpy(o + at + tlen + 1, b + end, len - end);
    *olen = len - (end - at) + tlen + 1;
    o[*olen] = '\0';
    return o;
}

/* Faults (by kind) for a line: a record that is wrong in that way. */
static const char *fault_text(const char *kind, size_t *tlen)
{
    static char text[128];
    char id[11];

    make_id(id, 'Z', '1', "9876543");
    if (!strcmp(kind, "check digit")) {
        id[9] = (char)('0' + (id[9] - '0' + 1) % 10);
        snprintf(text, sizeof(text), "%s,王大明,1970-01-01,", id);
    }
    else if (!strcmp(kind, "date")) {
        snprintf(text, sizeof(text), "%s,王大明,1970-02-30,", id);
    }
    else if (!strcmp(kind, "fields")) {
        snprintf(text, sizeof(text), "%s,王大明,1970-01-01,,", id);
    }
    else if (!strcmp(kind, "quote")) {
        snprintf(text, sizeof(text), "%s,王\"大明,1970-01-01,", id);
    }
    else if (!strcmp(kind, "quoted line feed")) {
        /* a quoted name with a line feed: a cut may fall inside it */
        snprintf(text, sizeof(text), "%s,\"王\n大明\",1970-01-01,", id);
    }
    else if (!strcmp(kind, "NUL")) {
        /* a NUL byte inside the name */
        snprintf(text, sizeof(text), "%s,王#大明,1970-01-01,", id);
        *tlen = strlen(text);
        *strchr(text, '#') = '\0';
        return text;
    }
    else if (!strcmp(kind, "UTF-8")) {
        snprintf(text, sizeof(text), "%s,王\xff大明,1970-01-01,", id);
    }
    *tlen = strlen(text);
    return text;
}

static void fault_pair(const char *k1, unsigned long l1, const char *k2,
                       unsigned long l2)
{
    size_t len, len1, len2, t1, t2;
    char *b = batch(ROWS, &len), *f1, *f2;
    const char *x;
    run_t one, two;
    static const unsigned threads[] = { 2, 3, 8 };
    size_t k;

    x = fault_text(k1, &t1);
    f1 = with_line(b, len, l1, apr_pstrmemdup(pool, x, t1), t1, &len1);
    if (k2) {
        x = fault_text(k2, &t2);
        f2 = with_line(f1, len1, l2, apr_pstrmemdup(pool, x, t2), t2, &len2);
    }
    else {
        f2 = f1;
        len2 = len1;
    }
    run(f2, len2, 0, 0, &one);
    ok(one.rv != APR_SUCCESS && one.err, "%s on line %lu%s%s: refused by "
       "one thread (%s)", k1, l1, k2 ? ", and " : "", k2 ? k2 : "",
       one.err ? one.err : "accepted");
    for (k = 0; k < sizeof(threads) / sizeof(threads[0]); k++) {
        run(f2, len2, threads[k], 0, &two);
        ok(two.rv != APR_SUCCESS && two.err && one.err
           && !strcmp(one.err, two.err), "  %u threads: the same fault (%s)",
           threads[k], two.err ? two.err : "accepted");
        free(two.got.r);
    }
    free(one.got.r);
}

static void test_faults(void)
{
    size_t len;
    char *b = batch(ROWS, &len);
    unsigned long half = line_of(b, len / 2), last = line_of(b, len - 1);
    run_t one;

    /* one fault, in the first or the second half */
    fault_pair("check digit", 300, NULL, 0);
    fault_pair("check digit", half + 300, NULL, 0);
    /* faults in both halves: the first is named */
    fault_pair("check digit", 300, "date", half + 300);
    fault_pair("date", 301, "check digit", half + 2);
    fault_pair("fields", 1200, "quote", last - 5);
    fault_pair("quote", 40, "fields", half + 1);
    /* the checks of the whole batch (UTF-8, NUL) come before those of
     * its records, with one thread as with several */
    fault_pair("date", 30, "NUL", half + 100);
    fault_pair("date", 30, "UTF-8", last - 1);
    fault_pair("UTF-8", 700, "NUL", half + 5);
    fault_pair("NUL", 700, "UTF-8", half + 5);
    fault_pair("NUL", half + 9, NULL, 0);
    /* a quoted field with a line feed, near and at a cut */
    fault_pair("quoted line feed", half - 1, NULL, 0);
    fault_pair("quoted line feed", half, NULL, 0);
    fault_pair("quoted line feed", half + 1, "date", half + 20);
    /* the fault named is the first: check it once, by its line */
    {
        size_t l1, t;
        const char *x = fault_text("date", &t);
        char *f = with_line(b, len, 77, apr_pstrmemdup(pool, x, t), t, &l1);
        x = fault_text("check digit", &t);
        f = with_line(f, l1, half + 77, apr_pstrmemdup(pool, x, t), t, &l1);
        run(f, l1, 2, 0, &one);
        ok(one.err && !strncmp(one.err, "line 77: ", 9),
           "two threads, faults on lines 77 and %lu: line 77 named (%s)",
           half + 77, one.err ? one.err : "accepted");
    }
}

/* A duplicate ID across the halves is found by the walk of the joined
 * sets, in memory and spilled, and named as by one thread. */
static void test_duplicate_across(void)
{
    size_t len, l1;
    char *b = batch(ROWS, &len), *f, id[11], row[64];
    unsigned long half = line_of(b, len / 2);
    static const size_t mems[] = { 0, 200 };
    run_t one, two;
    size_t m;

    /* line 10's ID again, far into the second half */
    memcpy(id, b + line_off(b, len, 10), 10);
    id[10] = '\0';
    snprintf(row, sizeof(row), "%s,王二明,1980-01-01,", id);
    f = with_line(b, len, half + 500, row, strlen(row), &l1);
    for (m = 0; m < sizeof(mems) / sizeof(mems[0]); m++) {
        run(f, l1, 0, mems[m], &one);
        run(f, l1, 2, mems[m], &two);
        ok(one.err && two.err && !strcmp(one.err, two.err)
           && strstr(two.err, "duplicate ID")
           && strstr(two.err, apr_psprintf(pool, "line %lu:", half + 500))
           && strstr(two.err, "same as line 10)"),
           "a duplicate across the halves%s: the same fault (%s)",
           mems[m] ? ", spilled" : "", two.err ? two.err : "accepted");
        free(one.got.r);     /* records walked before the duplicate */
        free(two.got.r);
    }
}

/* Joined sets: one in memory, one spilled, one empty: walked as one. */
static void test_join(void)
{
    verify_recset_t *a, *b, *c, *ref;
    verify_import_rec_t r;
    got_t g1, g2;
    char *err = NULL, id[24];
    int dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fn_rc;
    size_t i;
    run_t x, y;

    memset(&g1, 0, sizeof(g1));
    memset(&g2, 0, sizeof(g2));
    verify_recset_create(&ref, dirfd, 0, pool);
    verify_recset_create(&a, dirfd, 100000, pool);
    verify_recset_create_like(&b, a, 1000, pool);   /* 100 in memory */
    verify_recset_create_like(&c, a, 2, pool);
    for (i = 0; i < 3000; i++) {
        memset(&r, 0, sizeof(r));
        snprintf(id, sizeof(id), "J%09zu", i);
        store_key(id, r.key);
        r.vlen = 3;
        r.val[0] = (unsigned char)i;
        r.line = i + 2;
        verify_recset_add(ref, &r, &err);
        verify_recset_add(i < 1000 ? a : b, &r, &err);
    }
    verify_recset_join(a, b);
    verify_recset_join(a, c);
    ok(verify_recset_count(a) == 3000 && verify_recset_spilled(a)
       && !verify_recset_spilled(c), "joined: 3000 records, one set "
       "spilled");
    ok(verify_recset_walk(ref, collect, &g1, &fn_rc, &err, pool)
       == APR_SUCCESS
       && verify_recset_walk(a, collect, &g2, &fn_rc, &err, pool)
          == APR_SUCCESS, "both walked");
    memset(&x, 0, sizeof(x));
    memset(&y, 0, sizeof(y));
    x.got = g1;
    y.got = g2;
    ok(same_records(&x, &y), "joined sets walk as the one set");
    g2.n = 0;
    ok(verify_recset_walk(a, collect, &g2, &fn_rc, &err, pool)
       == APR_SUCCESS && g2.n == 3000, "and can be walked again");
    free(g1.r);
    free(g2.r);
    close(dirfd);
}

/* Batches smaller than the threads asked for: a range may hold nothing
 * (the cut falls past the last line feed), and an empty range has no
 * fault. One record, and none at all, with 2 to 8 threads. */
static void test_tiny(void)
{
    static const unsigned threads[] = { 2, 3, 8 };
    size_t rows, len, k;
    run_t one, par;

    for (rows = 0; rows <= 2; rows++) {
        char *b = batch(rows, &len);

        run(b, len, 0, 0, &one);
        for (k = 0; k < sizeof(threads) / sizeof(threads[0]); k++) {
            run(b, len, threads[k], 0, &par);
            ok(par.rv == one.rv && par.got.n == rows
               && (one.err == NULL) == (par.err == NULL)
               && same_records(&one, &par),
               "%zu record(s), %u threads: as one thread (%s)", rows,
               threads[k], par.err ? par.err : "ok");
            free(par.got.r);
        }
        free(one.got.r);
    }
}

int main(void)
{
    unit_begin();
    need_keys();
    test_same_records();
    test_faults();
    test_duplicate_across();
    test_join();
    test_tiny();
    return unit_end();
}
