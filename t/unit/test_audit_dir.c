/*
 * test_audit_dir.c -- audit file names recognised one way, the files of
 * a directory collected in chain order, and the purge checkpoint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_info.h>
#include "tap.h"
#include "audit_files.h"
#include "verify.h"

static void touch(const char *dir, const char *name, const char *text)
{
    file_put(dir, name, text, "w");
}

/* Remove @p dir and what it holds (one level). */
static void remove_dir(const char *dir, apr_pool_t *p)
{
    apr_dir_t *d;
    apr_finfo_t fi;

    if (apr_dir_open(&d, dir, p) == APR_SUCCESS) {
        while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
               == APR_SUCCESS) {
            const char *path = apr_pstrcat(p, dir, "/", fi.name, NULL);
            if (fi.filetype == APR_DIR) {
                if (strcmp(fi.name, ".") && strcmp(fi.name, "..")) {
                    rmdir(path);
                }
            }
            else {
                unlink(path);
            }
        }
        apr_dir_close(d);
    }
    rmdir(dir);
}

static void test_names(void)
{
    static const struct { const char *name; verify_date_t want; } cases[] = {
        { "audit-2026-11-27.jsonl", 20261127 },
        { "audit-2024-02-29.jsonl", 20240229 },
        { "/var/log/verify/audit-2026-01-01.jsonl", 20260101 },
        { "dir/audit-2026-12-31.jsonl", 20261231 },
        /* near misses */
        { "audit-2026-13-01.jsonl", 0 },
        { "audit-2026-02-30.jsonl", 0 },
        { "audit-2023-02-29.jsonl", 0 },
        { "audit-2026-01-01.jsonl.bak", 0 },
        { "audit-2026-01-01.json", 0 },
        { "audit-2026-1-01.jsonl", 0 },
        { "audit-26-01-01.jsonl", 0 },
        { "audit-2026-01-01-x.jsonl", 0 },
        { "audit-x.jsonl", 0 },
        { "audit-.jsonl", 0 },
        { "Audit-2026-01-01.jsonl", 0 },
        { ".audit-2026-01-01.jsonl", 0 },
        { "audit_2026-01-01.jsonl", 0 },
        { "audit-2026-01-01.jsonl/", 0 },
        { "audit-2026-01-01.jsonl/x", 0 },
        { "purged-through-2026-01-01.json", 0 },
        { "", 0 },
    };
    char out[32];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_int(verify_audit_name_date(cases[i].name), cases[i].want,
               "audit name \"%s\"", cases[i].name);
    }
    verify_audit_filename(20261127, out);
    is_str(out, "audit-2026-11-27.jsonl", "audit file name of a day");
    is_int(verify_audit_name_date(out), 20261127, "it is recognised");

    verify_audit_checkpoint_filename(20190630, out);
    is_str(out, "purged-through-2019-06-30.json", "checkpoint name");
    is_int(verify_audit_checkpoint_name_date(out), 20190630,
           "it is recognised");
    is_int(verify_audit_checkpoint_name_date("purged-through-2019-13-30.json"),
           0, "a checkpoint name with no real date is not one");
    is_int(verify_audit_checkpoint_name_date("purged-through-2019-06-30.jsonl"),
           0, "nor one with another ending");
    is_int(verify_audit_checkpoint_name_date("audit-2019-06-30.jsonl"), 0,
           "an audit file is not a checkpoint");
}

static void test_collect(apr_pool_t *p)
{
    char tmpl[] = "/tmp/test_audit_dir.XXXXXX";
    const char *dir = mkdtemp(tmpl), *args[3], *cp = NULL, *sub;
    apr_array_header_t *paths = apr_array_make(p, 8, sizeof(char *));
    char *err = NULL;
    apr_status_t rv;

    if (!dir) {
        ok(0, "mkdtemp");
        return;
    }
    /* made out of order, with near misses around them */
    touch(dir, "audit-2026-11-02.jsonl", "");
    touch(dir, "audit-2025-12-31.jsonl", "");
    touch(dir, "audit-2026-11-01.jsonl", "");
    touch(dir, "audit-2026-13-01.jsonl", "");
    touch(dir, "audit-2026-01-01.jsonl.bak", "");
    touch(dir, "audit-x.jsonl", "");
    touch(dir, "notes.txt", "");
    touch(dir, "purged-through-2019-06-30.json", "{}");
    touch(dir, "purged-through-2020-01-01.json", "{}");
    touch(dir, "purged-through-2020-13-01.json", "{}");
    sub = apr_pstrcat(p, dir, "/audit-2026-11-03.jsonl", NULL);
    mkdir(sub, 0700);           /* a directory with an audit name */

    args[0] = dir;
    rv = verify_audit_collect(1, args, paths, &cp, &err, p);
    is_int(rv, APR_SUCCESS, "a directory is collected");
    is_int(paths->nelts, 3, "its three audit files, nothing else");
    if (paths->nelts == 3) {
        is_str(APR_ARRAY_IDX(paths, 0, char *),
               apr_pstrcat(p, dir, "/audit-2025-12-31.jsonl", NULL),
               "in date order: 2025-12-31 first");
        is_str(APR_ARRAY_IDX(paths, 1, char *),
               apr_pstrcat(p, dir, "/audit-2026-11-01.jsonl", NULL),
               "then 2026-11-01");
        is_str(APR_ARRAY_IDX(paths, 2, char *),
               apr_pstrcat(p, dir, "/audit-2026-11-02.jsonl", NULL),
               "then 2026-11-02");
    }
    is_str(cp, apr_pstrcat(p, dir, "/purged-through-2020-01-01.json", NULL),
           "the newest checkpoint with a real date");

    /* files are taken as given, in the order given */
    paths->nelts = 0;
    args[0] = apr_pstrcat(p, dir, "/audit-2026-11-02.jsonl", NULL);
    args[1] = apr_pstrcat(p, dir, "/notes.txt", NULL);
    args[2] = dir;
    rv = verify_audit_collect(3, args, paths, &cp, &err, p);
    is_int(rv, APR_SUCCESS, "files and a directory");
    is_int(paths->nelts, 5, "two files, then the directory's three");
    if (paths->nelts == 5) {
        is_str(APR_ARRAY_IDX(paths, 0, char *), args[0], "a file first");
        is_str(APR_ARRAY_IDX(paths, 1, char *), args[1],
               "a file is taken whatever its name");
        is_str(APR_ARRAY_IDX(paths, 2, char *),
               apr_pstrcat(p, dir, "/audit-2025-12-31.jsonl", NULL),
               "then the directory's, in date order");
    }

    paths->nelts = 0;
    args[0] = apr_pstrcat(p, dir, "/audit-2026-11-02.jsonl", NULL);
    rv = verify_audit_collect(1, args, paths, &cp, &err, p);
    ok(rv == APR_SUCCESS && cp == NULL, "no checkpoint without a directory");

    paths->nelts = 0;
    args[0] = apr_pstrcat(p, dir, "/missing", NULL);
    err = NULL;
    rv = verify_audit_collect(1, args, paths, &cp, &err, p);
    ok(rv != APR_SUCCESS, "a missing argument fails");
    ok(err && strstr(err, "cannot read ") && strstr(err, "/missing: "),
       "and says which: %s", err ? err : "(none)");

    remove_dir(dir, p);
}

static void test_checkpoint(apr_pool_t *p)
{
    char tmpl[] = "/tmp/test_audit_cp.XXXXXX";
    const char *dir = mkdtemp(tmpl), *path;
    static const char *const bad[] = {
        "", "{}", "not json",
        "{\"last_seq\":0,\"last_hash\":\"" 
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
        "{\"last_seq\":\"4\",\"last_hash\":\"" 
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
        "{\"last_seq\":4,\"last_hash\":\"0011\"}",
        "{\"last_seq\":4,\"last_hash\":\"" 
        "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\"}",
        "{\"last_seq\":4,\"last_seq\":5,\"last_hash\":\"" 
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
    };
    verify_chain_t c;
    char *err = NULL, hex[65];
    size_t i;

    if (!dir) {
        ok(0, "mkdtemp");
        return;
    }
    path = apr_pstrcat(p, dir, "/purged-through-2019-06-30.json", NULL);
    touch(dir, "purged-through-2019-06-30.json",
          "{\"tool\":\"verify-audit purge\",\"last_seq\":4,\"last_hash\":\""
          "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
          "\",\"files\":2}\n");
    memset(&c, 0, sizeof(c));
    is_int(verify_audit_checkpoint_read(path, &c, &err, p), APR_SUCCESS,
           "a checkpoint is read");
    verify_hex(c.hash, 32, hex);
    ok(c.seq == 4 && !strcmp(hex, "00112233445566778899aabbccddeeff"
                             "00112233445566778899aabbccddeeff"),
       "with its last seq and hash");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        touch(dir, "purged-through-2019-06-30.json", bad[i]);
        err = NULL;
        ok(verify_audit_checkpoint_read(path, &c, &err, p) != APR_SUCCESS
           && err && strstr(err, "is not a purge checkpoint"),
           "refused: %s", bad[i]);
    }
    err = NULL;
    ok(verify_audit_checkpoint_read(apr_pstrcat(p, dir, "/none", NULL), &c,
                                    &err, p) != APR_SUCCESS && err,
       "a missing checkpoint is refused");
    /* planted in the run-time user's directory: a link to a good
     * checkpoint is not followed, a FIFO is not waited on */
    touch(dir, "good.json",
          "{\"last_seq\":4,\"last_hash\":\""
          "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
          "\"}\n");
    unlink(path);
    err = NULL;
    ok(symlink("good.json", path) == 0
       && verify_audit_checkpoint_read(path, &c, &err, p) != APR_SUCCESS
       && err, "a symbolic link as checkpoint is refused");
    unlink(path);
    err = NULL;
    ok(mkfifo(path, 0600) == 0
       && verify_audit_checkpoint_read(path, &c, &err, p) != APR_SUCCESS
       && err && strstr(err, "not a regular file"),
       "a FIFO as checkpoint is refused at once");
    unlink(path);
    remove_dir(dir, p);
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_names();
    test_collect(p);
    test_checkpoint(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
