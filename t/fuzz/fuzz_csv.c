/*
 * fuzz_csv.c -- libFuzzer target: batch intake on arbitrary bytes.
 *
 * Runs verify_intake() for every source over the input with a fixed
 * test key (loaded once, from a key file written into a fresh temporary
 * directory at start-up), and verify_csv_parse() with a callback that
 * counts records and checks what it is given.
 *
 * Invariants checked (abort() on violation):
 *  - verify_csv_parse: fields are NUL-terminated at their length, 1 to
 *    VERIFY_CSV_MAX_FIELDS of them, line numbers never go down, and a
 *    fault (-1) comes with a message starting "line ".
 *  - verify_intake: success gives n records (recs NULL iff n is 0),
 *    never more than the data records verify_csv_parse saw, each
 *    decodable as a record of that source; a failure sets *err, and no
 *    error message ever holds a clear valid ID.
 *
 * Build and run: t/fuzz/build.sh, then build/fuzz/fuzz_csv CORPUS_DIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define FUZZ_LSAN 1
#endif
#endif
#ifdef FUZZ_LSAN
#include <sanitizer/lsan_interface.h>
#else
#define __lsan_disable() ((void)0)
#define __lsan_enable() ((void)0)
#endif
#include <apr_general.h>
#include <apr_pools.h>
#include "verify.h"

/* The date intake checks birth dates against. */
#define FUZZ_TODAY 20261120u

static apr_pool_t *root;
static verify_keys_t *keys;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_csv: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[] = "/tmp/fuzz_csv.XXXXXX";
    char path[sizeof(dir) + 8];
    char *err = NULL;
    FILE *f;

    (void)argc;
    (void)argv;
    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&root, NULL) != APR_SUCCESS) {
        die("cannot initialise APR", NULL);
    }
    if (!mkdtemp(dir)) {
        die("mkdtemp failed", NULL);
    }
    snprintf(path, sizeof(path), "%s/key", dir);
    f = fopen(path, "w");
    if (!f) {
        die("cannot write the key file", path);
    }
    /* a fixed test secret (64 hex digits = 32 bytes), never a real one */
    fputs("000102030405060708090a0b0c0d0e0f"
          "101112131415161718191a1b1c1d1e1f\n", f);
    fclose(f);
    chmod(path, 0600);          /* a key file open to others is refused */
    /* The keys live as long as the process, their OpenSSL states
     * pointed to from pool memory that LeakSanitizer cannot see into
     * (APR's allocator uses mmap): without this, the first input's
     * leak check would blame them. */
    __lsan_disable();
    if (verify_keys_load(&keys, path, &err, root) != APR_SUCCESS) {
        die("verify_keys_load failed", err);
    }
    __lsan_enable();
    /* the keys are in memory now: leave nothing behind */
    unlink(path);
    rmdir(dir);
    return 0;
}

typedef struct {
    unsigned long rows;
    unsigned long last_line;
} count_t;

static int count_row(void *ctx, unsigned long line,
                     const char *const *fields, const size_t *lens, int n)
{
    count_t *c = ctx;
    int i;

    if (n < 1 || n > VERIFY_CSV_MAX_FIELDS) {
        die("verify_csv_parse: bad field count", NULL);
    }
    if (line < 1 || line < c->last_line) {
        die("verify_csv_parse: line numbers go down", NULL);
    }
    for (i = 0; i < n; i++) {
        if (fields[i] == NULL || fields[i][lens[i]] != '\0') {
            die("verify_csv_parse: field not NUL-terminated at its length",
                NULL);
        }
    }
    c->last_line = line;
    c->rows++;
    return 0;
}

/* Does @p s hold a clear valid ID (any 10 bytes that normalise)? */
static int holds_clear_id(const char *s)
{
    size_t len = strlen(s), i;
    char out[VERIFY_ID_LEN + 1];

    for (i = 0; i + VERIFY_ID_LEN <= len; i++) {
        if (verify_id_normalise(s + i, VERIFY_ID_LEN, out, NULL)
            == VERIFY_ID_OK) {
            return 1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    apr_pool_t *p;
    count_t cnt = { 0, 0 };
    char *err = NULL;
    int rc, src;

    if (apr_pool_create(&p, root) != APR_SUCCESS) {
        die("apr_pool_create failed", NULL);
    }

    rc = verify_csv_parse(buf, size, count_row, &cnt, &err, p);
    if (rc == -1 && (err == NULL || strncmp(err, "line ", 5) != 0)) {
        die("verify_csv_parse: fault without a \"line N:\" message", err);
    }
    if (rc != 0 && rc != -1) {
        die("verify_csv_parse: unexpected return value", NULL);
    }

    for (src = 0; src < VERIFY_SRC_COUNT; src++) {
        verify_import_rec_t *recs = (verify_import_rec_t *)1;
        size_t n = (size_t)-1, i;
        apr_status_t rv;

        err = NULL;
        rv = verify_intake((verify_source_t)src, buf, size, keys,
                           FUZZ_TODAY, &recs, &n, &err, p);
        if (rv == APR_SUCCESS) {
            if ((recs == NULL) != (n == 0)) {
                die("verify_intake: recs and n disagree", NULL);
            }
            /* the header is one of the records the parser saw */
            if (rc != 0 || cnt.rows == 0 || n > cnt.rows - 1) {
                die("verify_intake: more records than the CSV holds", NULL);
            }
            for (i = 0; i < n; i++) {
                verify_record_t rec;
                if (recs[i].vlen == 0 || recs[i].vlen > VERIFY_RECORD_MAX
                    || verify_record_decode((verify_source_t)src,
                                            recs[i].val, recs[i].vlen,
                                            &rec) != 0) {
                    die("verify_intake: record does not decode", NULL);
                }
            }
        }
        else {
            if (err == NULL) {
                die("verify_intake: failure without a message", NULL);
            }
            if (holds_clear_id(err)) {
                die("verify_intake: clear ID in an error message", err);
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
