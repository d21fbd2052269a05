/*
 * tlog-driver.c -- drives verify_merkle and verify_note for
 * t/test_300_tlog_library.py, which checks what it prints with an
 * independent verifier (t/tlogref.py).
 *
 *   tlog-driver roots LEAVES          "SIZE EDGEROOT RANGEROOT" for every
 *                                     size 0..n (hex)
 *   tlog-driver proofs LEAVES         reads queries from stdin, one a line:
 *       inclusion INDEX SIZE          -> the proof's hashes (hex, spaced)
 *       consistency SIZE1 SIZE2       -> likewise ("-" for an empty proof)
 *       check-inclusion INDEX SIZE LEAF ROOT [HASH...]     -> ok | fail: why
 *       check-consistency SIZE1 SIZE2 ROOT1 ROOT2 [HASH...] -> ok | fail: why
 *   tlog-driver sign KEY NAME SIZE ROOT [EXTENSIONS]  a signed checkpoint
 *   tlog-driver vkey KEY NAME         the verifier key string
 *   tlog-driver open VKEY NOTE        the signed checkpoint's lines, its
 *                                     root in hex; or exit 1 with the fault
 *
 * LEAVES is a file of lines; leaf i is line i+1 without its newline.
 * Exit status 2 is a usage or input fault of the driver itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "verify.h"

#define HLEN VERIFY_MERKLE_HASH_LEN

static apr_pool_t *pool;

typedef struct {
    uint64_t n;
    unsigned char (*hash)[HLEN];
} leaves_t;

static __attribute__((format(printf, 1, 2), noreturn))
void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "tlog-driver: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0) {
        die("cannot read %s", path);
    }
    buf = apr_palloc(pool, (apr_size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        die("cannot read %s", path);
    }
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void read_leaves(const char *path, leaves_t *l)
{
    size_t len, at = 0, cap = 1024;
    char *buf = slurp(path, &len), *nl;

    if (len > 0 && buf[len - 1] != '\n') {
        die("%s: the last line has no newline", path);
    }
    l->n = 0;
    l->hash = malloc(cap * HLEN);
    while (at < len) {
        nl = memchr(buf + at, '\n', len - at);
        if (l->n == cap) {
            cap *= 2;
            l->hash = realloc(l->hash, cap * HLEN);
        }
        if (l->hash == NULL
            || verify_merkle_leaf_hash(buf + at, (size_t)(nl - buf - at),
                                       l->hash[l->n]) != APR_SUCCESS) {
            die("%s: out of memory", path);
        }
        l->n++;
        at = (size_t)(nl - buf) + 1;
    }
}

static apr_status_t leaf_cb(void *ctx, uint64_t i, unsigned char out[HLEN])
{
    leaves_t *l = ctx;

    if (i >= l->n) {
        return APR_EINVAL;
    }
    memcpy(out, l->hash[i], HLEN);
    return APR_SUCCESS;
}

static void put_hash(const unsigned char *h)
{
    char hex[2 * HLEN + 1];

    verify_hex(h, HLEN, hex);
    fputs(hex, stdout);
}

static int cmd_roots(leaves_t *l)
{
    verify_merkle_edge_t e;
    unsigned char r1[HLEN], r2[HLEN];
    uint64_t n;

    verify_merkle_edge_init(&e);
    for (n = 0; n <= l->n; n++) {
        if (n > 0 && verify_merkle_edge_append(&e, l->hash[n - 1])
                     != APR_SUCCESS) {
            die("%s", "append failed");
        }
        if (verify_merkle_edge_root(&e, r1) != APR_SUCCESS
            || verify_merkle_range_root(0, n, leaf_cb, l, r2)
               != APR_SUCCESS) {
            die("%s", "root failed");
        }
        printf("%llu ", (unsigned long long)n);
        put_hash(r1);
        putchar(' ');
        put_hash(r2);
        putchar('\n');
    }
    return 0;
}

static int get_hash(const char *tok, unsigned char *out)
{
    return tok != NULL && strlen(tok) == 2 * HLEN
           && verify_unhex(tok, HLEN, out, 0) == 0;
}

static uint64_t get_num(const char *tok)
{
    char *end;
    unsigned long long v;

    if (tok == NULL) {
        die("%s", "a number is missing");
    }
    errno = 0;
    v = strtoull(tok, &end, 10);
    if (errno || *end || end == tok) {
        die("not a number: %s", tok);
    }
    return (uint64_t)v;
}

/* the rest of the tokens as proof hashes */
static void get_proof(char **save, verify_merkle_proof_t *pr)
{
    char *tok;

    pr->count = 0;
    while ((tok = strtok_r(NULL, " \n", save)) != NULL) {
        if (pr->count == VERIFY_MERKLE_PROOF_MAX
            || !get_hash(tok, pr->hash[pr->count])) {
            die("not a proof hash: %s", tok);
        }
        pr->count++;
    }
}

static void put_proof(apr_status_t rv, const verify_merkle_proof_t *pr)
{
    size_t i;

    if (rv != APR_SUCCESS) {
        puts("error");
        return;
    }
    if (pr->count == 0) {
        putchar('-');
    }
    for (i = 0; i < pr->count; i++) {
        if (i) {
            putchar(' ');
        }
        put_hash(pr->hash[i]);
    }
    putchar('\n');
}

static int cmd_proofs(leaves_t *l)
{
    char line[8192], *save, *cmd;
    verify_merkle_proof_t pr;
    unsigned char a[HLEN], b[HLEN];
    const char *why;
    uint64_t x, y;

    while (fgets(line, sizeof(line), stdin)) {
        cmd = strtok_r(line, " \n", &save);
        if (cmd == NULL) {
            continue;
        }
        x = get_num(strtok_r(NULL, " \n", &save));
        y = get_num(strtok_r(NULL, " \n", &save));
        if (strcmp(cmd, "inclusion") == 0) {
            put_proof(verify_merkle_inclusion_proof(x, y, leaf_cb, l, &pr),
                      &pr);
        }
        else if (strcmp(cmd, "consistency") == 0) {
            put_proof(verify_merkle_consistency_proof(x, y, leaf_cb, l, &pr),
                      &pr);
        }
        else if (strcmp(cmd, "check-inclusion") == 0
                 || strcmp(cmd, "check-consistency") == 0) {
            if (!get_hash(strtok_r(NULL, " \n", &save), a)
                || !get_hash(strtok_r(NULL, " \n", &save), b)) {
                die("%s: two hashes expected", cmd);
            }
            get_proof(&save, &pr);
            why = cmd[6] == 'i'
                  ? verify_merkle_inclusion_check(x, y, a, &pr, b)
                  : verify_merkle_consistency_check(x, y, a, b, &pr);
            printf(why ? "fail: %s\n" : "ok\n", why);
        }
        else {
            die("unknown query: %s", cmd);
        }
        fflush(stdout);
    }
    return 0;
}

static int cmd_sign(int argc, char **argv)
{
    verify_note_signer_t *s;
    verify_checkpoint_t cp;
    char *err = NULL, *text, *note;
    size_t len;

    if (argc < 6) {
        die("%s", "sign KEY NAME SIZE ROOT [EXTENSIONS]");
    }
    if (verify_note_signer_load(&s, argv[3], argv[2], &err, pool)
        != APR_SUCCESS) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    memset(&cp, 0, sizeof(cp));
    cp.origin = argv[3];
    cp.size = get_num(argv[4]);
    if (!get_hash(argv[5], cp.root)) {
        die("not a root: %s", argv[5]);
    }
    cp.extensions = argc > 6 ? slurp(argv[6], &len) : NULL;
    if (verify_checkpoint_format(&text, &cp, &err, pool) != APR_SUCCESS
        || verify_note_sign(&note, s, text, strlen(text), &err, pool)
           != APR_SUCCESS) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    fputs(note, stdout);
    return 0;
}

static int cmd_vkey(int argc, char **argv)
{
    verify_note_signer_t *s;
    char *err = NULL;

    if (argc != 4) {
        die("%s", "vkey KEY NAME");
    }
    if (verify_note_signer_load(&s, argv[3], argv[2], &err, pool)
        != APR_SUCCESS) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    puts(verify_note_verifier_format(verify_note_signer_verifier(s), pool));
    return 0;
}

static int cmd_open(int argc, char **argv)
{
    verify_note_verifier_t v;
    verify_checkpoint_t cp;
    char *err = NULL, *note;
    size_t len;

    if (argc != 4) {
        die("%s", "open VKEY NOTE");
    }
    if (verify_note_verifier_parse(&v, argv[2], &err, pool) != APR_SUCCESS) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    note = slurp(argv[3], &len);
    if (verify_checkpoint_open(&cp, &v, 1, note, len, NULL, &err, pool)
        != APR_SUCCESS) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("%s\n%llu\n", cp.origin, (unsigned long long)cp.size);
    put_hash(cp.root);
    printf("\n%s", cp.extensions);
    return 0;
}

int main(int argc, char **argv)
{
    leaves_t l = { 0, NULL };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (argc >= 3 && strcmp(argv[1], "roots") == 0) {
        read_leaves(argv[2], &l);
        rc = cmd_roots(&l);
    }
    else if (argc >= 3 && strcmp(argv[1], "proofs") == 0) {
        read_leaves(argv[2], &l);
        rc = cmd_proofs(&l);
    }
    else if (argc >= 2 && strcmp(argv[1], "sign") == 0) {
        rc = cmd_sign(argc, argv);
    }
    else if (argc >= 2 && strcmp(argv[1], "vkey") == 0) {
        rc = cmd_vkey(argc, argv);
    }
    else if (argc >= 2 && strcmp(argv[1], "open") == 0) {
        rc = cmd_open(argc, argv);
    }
    else {
        die("%s", "usage: roots|proofs|sign|vkey|open ... (see the source)");
    }
    free(l.hash);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
