/*
 * test_audit_find_head.c -- finding the chain's head in an audit
 * directory (verify_audit_find_head, verify_audit_dir.c).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "unit.h"
#include "audit_lines.h"

static char *join_lines(int from, int to, size_t *len)
{
    size_t n = 0;
    int i;
    char *s;

    for (i = from; i < to; i++) {
        n += lens[i] + 1;
    }
    s = apr_palloc(pool, n + 1);
    n = 0;
    for (i = from; i < to; i++) {
        memcpy(s + n, lines[i], lens[i] + 1);
        n += lens[i] + 1;
    }
    s[n] = '\0';
    *len = n;
    return s;
}

static char *mkdir_in(const char *base, const char *name)
{
    char *d = apr_pstrcat(pool, base, "/", name, NULL);

    mkdir(d, 0700);
    return d;
}

static void test_find_head(const char *base)
{
    verify_chain_t c;
    const char *file;
    apr_off_t size, partial;
    char *err = NULL, *d, name[32];
    apr_status_t rv;
    size_t len;
    char *data;

    verify_audit_filename(20261127, name);
    is_str(name, "audit-2026-11-27.jsonl", "verify_audit_filename");

    /* no such directory */
    err = NULL;
    rv = verify_audit_find_head(apr_pstrcat(pool, base, "/nope", NULL),
                                (uid_t)-1, &c, &file, &size, &partial, &err,
                                pool);
    ok(rv != APR_SUCCESS && err != NULL, "missing directory: error (%s)",
       err ? err : "no message");

    /* empty */
    d = mkdir_in(base, "empty");
    memset(&c, 0xee, sizeof(c));
    rv = verify_audit_find_head(d, (uid_t)-1, &c, &file, &size, &partial,
                                &err, pool);
    ok(rv == APR_SUCCESS && c.seq == 0 && file == NULL && size == 0
       && partial == -1, "empty directory: seq 0, no file, no partial");
    {
        static const unsigned char zero[32];
        ok(memcmp(c.hash, zero, 32) == 0, "empty directory: zero hash");
    }

    /* only files that are not audit logs */
    d = mkdir_in(base, "other");
    data = join_lines(0, 2, &len);
    write_file(d, "notes.txt", data, len);
    write_file(d, "audit-2026-02-30.jsonl", data, len);
    write_file(d, "audit-2026-11-20.jsonl.bak", data, len);
    write_file(d, "audit-2026-11-20.json", data, len);
    write_file(d, "Audit-2026-11-20.jsonl", data, len);
    mkdir_in(d, "audit-2026-12-01.jsonl");
    rv = verify_audit_find_head(d, (uid_t)-1, &c, &file, &size, &partial,
                                &err, pool);
    ok(rv == APR_SUCCESS && c.seq == 0 && file == NULL,
       "non-audit names (bad date, .bak, .json, case, a directory) ignored");

    /* one file */
    d = mkdir_in(base, "one");
    data = join_lines(0, 3, &len);
    write_file(d, "audit-2026-11-26.jsonl", data, len);
    write_file(d, "README", "x", 1);
    rv = verify_audit_find_head(d, (uid_t)-1, &c, &file, &size, &partial,
                                &err, pool);
    ok(rv == APR_SUCCESS, "one file: success");
    ok(c.seq == 3 && memcmp(c.hash, after[2].hash, 32) == 0,
       "one file: head is line 3");
    is_str(file, apr_pstrcat(pool, d, "/audit-2026-11-26.jsonl", NULL),
           "one file: file named");
    is_int(size, (long long)len, "one file: size");
    is_int(partial, -1, "one file: no partial line");

    /* newest file empty, older file holds the head */
    d = mkdir_in(base, "newest-empty");
    write_file(d, "audit-2026-11-25.jsonl", data, len);   /* lines 1-3 */
    write_file(d, "audit-2026-11-26.jsonl", "", 0);
    rv = verify_audit_find_head(d, (uid_t)-1, &c, &file, &size, &partial,
                                &err, pool);
    ok(rv == APR_SUCCESS && c.seq == 3
       && memcmp(c.hash, after[2].hash, 32) == 0,
       "newest empty + older file: head from the older file");
    is_str(file, apr_pstrcat(pool, d, "/audit-2026-11-26.jsonl", NULL),
           "newest empty + older file: file is the newest");
    ok(size == 0 && partial == -1, "newest empty: size 0, no partial");

    /* chain across three files: the newest holds lines 5-6 */
    d = mkdir_in(base, "three");
    write_file(d, "audit-2026-11-24.jsonl", data, len);
    {
        size_t l2, l3;
        char *d2 = join_lines(3, 4, &l2), *d3 = join_lines(4, 6, &l3);
        write_file(d, "audit-2026-11-25.jsonl", d2, l2);
        write_file(d, "audit-2026-11-26.jsonl", d3, l3);
        rv = verify_audit_find_head(d, (uid_t)-1, &c, &file, &size,
                                    &partial, &err, pool);
        ok(rv == APR_SUCCESS && c.seq == 6
           && memcmp(c.hash, after[5].hash, 32) == 0 && size == (long)l3,
           "three files: head is line 6 of the newest");
    }

    /* a partial last line */
    d = mkdir_in(base, "partial");
    {
        size_t l12;
        char *d12 = join_lines(0, 2, &l12);
        char *s = apr_palloc(pool, l12 + 101);
        memcpy(s, d12, l12);
        memcpy(s + l12, lines[2], 100);
        write_file(d, "audit-2026-11-26.jsonl", s, l12 + 100);
        rv = verify_audit_find_head(d, (uid_t)-1, &c, &file, &size,
                                    &partial, &err, pool);
        ok(rv == APR_SUCCESS, "partial last line: success");
        is_int(partial, (long long)l12, "partial_at is the partial line's "
               "offset");
        ok(c.seq == 2 && memcmp(c.hash, after[1].hash, 32) == 0,
           "partial last line: head is the last complete line (2)");
        is_int(size, (long long)l12 + 100, "partial last line: size");
    }

    /* the newest file holds nothing but a partial line */
    d = mkdir_in(base, "partial-only");
    write_file(d, "audit-2026-11-25.jsonl", data, len);
    write_file(d, "audit-2026-11-26.jsonl", lines[3], 50);
    rv = verify_audit_find_head(d, (uid_t)-1, &c, &file, &size, &partial,
                                &err, pool);
    ok(rv == APR_SUCCESS && c.seq == 3
       && memcmp(c.hash, after[2].hash, 32) == 0,
       "newest file only a partial line: head from the older file");
    ok(partial == 0 && size == 50
       && strcmp(file, apr_pstrcat(pool, d, "/audit-2026-11-26.jsonl",
                                   NULL)) == 0,
       "newest file only a partial line: partial_at 0, its size, its name");

    /* a file larger than two maximal lines */
    d = mkdir_in(base, "big");
    {
        verify_chain_t bc;
        char body[600], *big;
        size_t bl = 0, blen, n = 0;
        int i;
        memset(&bc, 0, sizeof(bc));
        big = apr_palloc(pool, 200 * 1024);
        for (i = 0; i < 200; i++) {
            blen = make_body(body, sizeof(body), i,
                             "a fairly long client name to make lines bigger "
                             "than usual, repeated: xxxxxxxxxxxxxxxxxxxxxxxxx");
            n = verify_audit_seal(&bc, t0 + i, body, blen, big + bl, 4096);
            bl += n;
        }
        write_file(d, "audit-2026-11-26.jsonl", big, bl);
        rv = verify_audit_find_head(d, (uid_t)-1, &c, &file, &size,
                                    &partial, &err, pool);
        ok(rv == APR_SUCCESS && c.seq == 200
           && memcmp(c.hash, bc.hash, 32) == 0 && size == (long)bl
           && partial == -1,
           "a %zu-byte file: head is line 200", bl);
        /* and with a partial tail */
        memcpy(big + bl, big + bl - n, n / 2);
        write_file(d, "audit-2026-11-26.jsonl", big, bl + n / 2);
        rv = verify_audit_find_head(d, (uid_t)-1, &c, &file, &size,
                                    &partial, &err, pool);
        ok(rv == APR_SUCCESS && c.seq == 200 && partial == (long)bl,
           "large file with a partial tail: head 200, partial_at %zu", bl);
    }

    /* a last line that is not a sealed line */
    d = mkdir_in(base, "corrupt");
    {
        char *s = apr_pstrcat(pool, apr_pstrndup(pool, data, len),
                              "this is not an audit line\n", NULL);
        err = NULL;
        write_file(d, "audit-2026-11-26.jsonl", s, strlen(s));
        rv = verify_audit_find_head(d, (uid_t)-1, &c, &file, &size,
                                    &partial, &err, pool);
        ok(rv != APR_SUCCESS && err != NULL && c.seq == 0,
           "unsealed last line: error (%s)", err ? err : "no message");
    }
}

int main(void)
{
    unit_begin();
    seal_lines();
    test_find_head(tmpdir);
    return unit_end();
}
