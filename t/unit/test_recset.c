/*
 * test_recset.c -- a batch's records in bounded memory (verify_recset.c):
 * kept in memory, or spilled into partitions by key; walked in key
 * order either way; a duplicate ID found (with both lines) in either.
 */
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include "unit.h"
#include "verify_recset.h"

#define N 20000

static void rec_of(size_t i, verify_import_rec_t *r)
{
    char id[24];

    memset(r, 0, sizeof(*r));
    snprintf(id, sizeof(id), "R%09zu", i);
    store_key(id, r->key);
    r->vlen = 5;
    r->val[0] = 1;
    r->val[1] = (unsigned char)i;
    r->line = i + 2;
}

typedef struct walk_t {
    unsigned char last[32];
    size_t seen;
    int ordered;
    int runs;
} walk_t;

static int walked(void *ctx, const verify_import_rec_t *recs, size_t n)
{
    walk_t *w = ctx;
    size_t i;

    w->runs++;
    for (i = 0; i < n; i++) {
        if (w->seen && memcmp(w->last, recs[i].key, 32) >= 0) {
            w->ordered = 0;
        }
        memcpy(w->last, recs[i].key, 32);
        w->seen++;
    }
    return 0;
}

static int stop_at_first(void *ctx, const verify_import_rec_t *recs,
                         size_t n)
{
    return 7;
}

/* A set of N records (with a duplicate of record @p dup_of as the last
 * one, if >= 0), in memory or spilling after @p mem records. */
static verify_recset_t *make_set(int dirfd, size_t mem, long dup_of)
{
    verify_recset_t *s;
    verify_import_rec_t r;
    char *err = NULL;
    size_t i;
    int bad = 0;

    verify_recset_create(&s, dirfd, mem, pool);
    for (i = 0; i < N; i++) {
        rec_of(i, &r);
        bad |= verify_recset_add(s, &r, &err) != 0;
    }
    if (dup_of >= 0) {
        rec_of((size_t)dup_of, &r);
        r.line = N + 2;
        bad |= verify_recset_add(s, &r, &err) != 0;
    }
    ok(!bad, "%zu records added (%s)", verify_recset_count(s),
       err ? err : "no error");
    return s;
}

static void test_walk(const char *what, int dirfd, size_t mem, int spills)
{
    verify_recset_t *s = make_set(dirfd, mem, -1);
    walk_t w;
    char *err = NULL;
    int rc;

    memset(&w, 0, sizeof(w));
    w.ordered = 1;
    is_int(verify_recset_spilled(s), spills, "%s: spilled %d", what, spills);
    ok(verify_recset_walk(s, walked, &w, &rc, &err, pool) == APR_SUCCESS
       && w.seen == N && w.ordered, "%s: all %d records in key order (%zu "
       "in %d runs)", what, N, w.seen, w.runs);
    memset(&w, 0, sizeof(w));
    w.ordered = 1;
    ok(verify_recset_walk(s, walked, &w, &rc, &err, pool) == APR_SUCCESS
       && w.seen == N && w.ordered, "%s: walked again", what);
    ok(verify_recset_walk(s, stop_at_first, NULL, &rc, &err, pool)
       == APR_EGENERAL && rc == 7, "%s: the callback's stop is returned",
       what);
}

static void test_dup(const char *what, int dirfd, size_t mem)
{
    verify_recset_t *s = make_set(dirfd, mem, 123);
    char *err = NULL;
    int rc;

    ok(verify_recset_walk(s, NULL, NULL, &rc, &err, pool) == APR_EINVAL
       && err && strcmp(err, apr_psprintf(pool, "line %d: duplicate ID "
                                          "(same as line 125)", N + 2)) == 0,
       "%s: a duplicate named with both lines (%s)", what,
       err ? err : "none");
}

int main(void)
{
    int dfd, entries = 0;
    DIR *d;
    struct dirent *e;

    unit_begin();
    need_keys();
    dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
    test_walk("in memory (no spill directory)", -1, 100, 0);
    test_walk("in memory (under the limit)", dfd, N + 1, 0);
    test_walk("spilled", dfd, 1000, 1);
    test_dup("in memory", -1, 0);
    test_dup("spilled", dfd, 1000);
    /* the partitions have no name: nothing is left in the directory */
    d = opendir(tmpdir);
    while (d && (e = readdir(d)) != NULL) {
        entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..")
                   && strcmp(e->d_name, "key.hex");
    }
    if (d) {
        closedir(d);
    }
    is_int(entries, 0, "no temporary file is left with a name");
    close(dfd);
    {
        /* the spill directory gone: a clear error, nothing added */
        char *gone = apr_pstrcat(pool, tmpdir, "/gone", NULL);
        verify_recset_t *s;
        verify_import_rec_t r;
        char *err = NULL;
        int fd, rc = 0;
        size_t i;

        mkdir(gone, 0700);
        fd = open(gone, O_RDONLY | O_DIRECTORY);
        rmdir(gone);
        verify_recset_create(&s, fd, 10, pool);
        for (i = 0; i < 11 && rc == 0; i++) {
            rec_of(i, &r);
            rc = verify_recset_add(s, &r, &err);
        }
        ok(rc == -1 && i == 11 && err
           && !strncmp(err, "cannot create a temporary file of the import "
                       "in the store directory: ", 66),
           "no room for the partitions: refused (%s)", err ? err : "none");
        close(fd);
    }
    return unit_end();
}
