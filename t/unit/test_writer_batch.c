/*
 * test_writer_batch.c -- the lines of one request appended as one
 * (verify_writer_batch.c): consecutive seqs and receipts, one chain and
 * tree with the single lines around them, a failure in the middle of
 * the write (a file size limit cuts it short) that leaves the files
 * exactly as before and the chain going on from the same head, a line
 * too long, and batches of processes writing at once staying whole.
 */
#include <glob.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "verify.h"

#define KIDS 3

typedef struct {
    verify_writer_head_t head;
    verify_writer_flight_t flights[8];
    int logged[128];
} shared_t;

static shared_t *sh;
static apr_pool_t *pool;
static char dir[] = "/tmp/test_writer_batch.XXXXXX";

static void log_cb(void *baton, int level, apr_status_t rv, int msgno,
                   const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    __atomic_add_fetch(&sh->logged[msgno & 127], 1, __ATOMIC_SEQ_CST);
    diag("(logged, level %d) VFY%d: %s", level, msgno, msg);
}

static void writer(verify_writer_t *w)
{
    memset(w, 0, sizeof(*w));
    verify_writer_init(w, &sh->head, dir);
    w->uid = getuid();
    w->gid = getgid();
    w->log = log_cb;
    w->flights = sh->flights;
    w->nflights = 8;
}

/* The one day file's bytes (the tests stay within one day). */
static char *slurp(size_t *len)
{
    char pattern[64], *buf = NULL;
    glob_t g;
    FILE *f;
    long n;

    *len = 0;
    snprintf(pattern, sizeof(pattern), "%s/audit-*.jsonl", dir);
    if (glob(pattern, 0, NULL, &g) != 0) {
        return calloc(1, 1);
    }
    f = fopen(g.gl_pathv[g.gl_pathc - 1], "rb");
    globfree(&g);
    if (!f) {
        return calloc(1, 1);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* The lines of the file: the chain checked, each line's leaf hash and
 * text kept. @return the number of lines, -1 if the chain is broken. */
typedef struct {
    long n;
    char *line[4096];
    unsigned char leaf[4096][VERIFY_MERKLE_HASH_LEN];
} lines_t;

static long read_lines(lines_t *ls)
{
    verify_chain_t c = { 0 };
    size_t len;
    char *buf = slurp(&len), *s = buf, *nl;

    ls->n = 0;
    while ((nl = strchr(s, '\n')) != NULL && ls->n < 4096) {
        if (verify_audit_check_line(&c, s, (size_t)(nl - s), ls->n == 0)
            != VERIFY_LINE_OK) {
            free(buf);
            return -1;
        }
        verify_merkle_leaf_hash(s, (size_t)(nl - s), ls->leaf[ls->n]);
        ls->line[ls->n++] = apr_pstrmemdup(pool, s, (size_t)(nl - s));
        s = nl + 1;
    }
    free(buf);
    return *s ? -1 : ls->n;
}

static apr_status_t leaf_at(void *ctx, uint64_t i,
                            unsigned char h[VERIFY_MERKLE_HASH_LEN])
{
    lines_t *ls = ctx;

    memcpy(h, ls->leaf[i], VERIFY_MERKLE_HASH_LEN);
    return APR_SUCCESS;
}

static verify_writer_body_t *bodies(int n, const char *tag)
{
    verify_writer_body_t *b = apr_pcalloc(pool, n * sizeof(*b));
    int i;

    for (i = 0; i < n; i++) {
        b[i].body = apr_psprintf(pool, ",\"op\":\"verify\",\"request_id\":"
                                 "\"%s\",\"item\":%d,\"items\":%d", tag, i,
                                 n);
        b[i].len = strlen(b[i].body);
    }
    return b;
}

static void test_batch(void)
{
    static lines_t ls;
    verify_writer_receipt_t rc[5], one;
    unsigned char r1[VERIFY_MERKLE_HASH_LEN], r2[VERIFY_MERKLE_HASH_LEN];
    verify_writer_t w;
    int i, good = 1;

    writer(&w);
    is_int(verify_writer_start(&w, VERIFY_WRITER_LOCK_FUTEX, pool),
           APR_SUCCESS, "start on an empty directory");
    is_int(verify_writer_append(&w, ",\"op\":\"t\"", 9, NULL, &one, pool),
           APR_SUCCESS, "a single line first");
    verify_writer_answered(&w);
    is_int(verify_writer_append_batch(&w, bodies(5, "B1"), 5, "B1", rc,
                                      pool),
           APR_SUCCESS, "a batch of five");
    is_int(sh->flights[0].seq, 2, "its first line is in flight");
    verify_writer_answered(&w);
    is_int(sh->flights[0].seq, 0, "until its answer has left");
    is_int(verify_writer_append(&w, ",\"op\":\"t\"", 9, NULL, &one, pool),
           APR_SUCCESS, "a single line after it");
    verify_writer_answered(&w);
    is_int(one.seq, 7, "the single line follows the batch's five");
    is_int(read_lines(&ls), 7, "seven lines, one chain");
    for (i = 0; i < 5; i++) {
        good &= rc[i].seq == (uint64_t)i + 2
                && !memcmp(rc[i].leaf, ls.leaf[i + 1], sizeof(rc[i].leaf))
                && strstr(ls.line[i + 1],
                          apr_psprintf(pool, "\"item\":%d,", i)) != NULL;
    }
    ok(good, "receipts: consecutive seqs, each the leaf hash of its line, "
       "in the order given");
    ok(sh->head.tree_ok && sh->head.edge.size == 7
       && verify_merkle_range_root(0, 7, leaf_at, &ls, r1) == 0
       && verify_merkle_edge_root(&sh->head.edge, r2) == 0
       && !memcmp(r1, r2, sizeof(r1)),
       "the tree's edge holds every line of the batch");
    is_int(verify_writer_append_batch(&w, bodies(1, "B0"), 0, "B0", NULL,
                                      pool),
           APR_EINVAL, "an empty batch is refused");
    verify_writer_close(&w);
}

/* A child writes a batch of @p n under a file size limit @p room bytes
 * past the file's end: the write stops in the middle. Its status. */
static int batch_under_limit(int n, long room)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        verify_writer_t w;
        struct rlimit rl;
        struct stat st;
        char pattern[64];
        glob_t g;

        snprintf(pattern, sizeof(pattern), "%s/audit-*.jsonl", dir);
        if (glob(pattern, 0, NULL, &g) != 0
            || stat(g.gl_pathv[0], &st) != 0) {
            _exit(2);
        }
        signal(SIGXFSZ, SIG_IGN);       /* EFBIG, not a signal */
        rl.rlim_cur = rl.rlim_max = (rlim_t)(st.st_size + room);
        setrlimit(RLIMIT_FSIZE, &rl);
        writer(&w);
        _exit(verify_writer_append_batch(&w, bodies(n, "BIG"), n, "BIG",
                                         NULL, pool) == APR_SUCCESS);
    }
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_failure_in_the_middle(void)
{
    static lines_t ls;
    verify_writer_receipt_t rc;
    verify_writer_t w;
    size_t blen, alen;
    char *before, *after;
    uint64_t seq = sh->head.chain.seq;
    int said = sh->logged[6];

    before = slurp(&blen);
    /* room for a line and a half of the forty */
    is_int(batch_under_limit(40, 150), 0,
           "a batch whose write stops in the middle fails");
    after = slurp(&alen);
    ok(alen == blen && !memcmp(before, after, blen),
       "the file is exactly as before (%lu bytes)", (unsigned long)alen);
    is_int(sh->head.chain.seq, seq, "the head has not moved");
    is_int(sh->head.broken, 0, "nothing left to recover");
    is_int(sh->head.edge.size, seq, "nor has the tree's edge");
    ok(sh->logged[6] > said, "the failure is logged (VFY6)");
    free(before);
    free(after);
    writer(&w);
    is_int(verify_writer_append_batch(&w, bodies(3, "B2"), 3, "B2", &rc,
                                      pool),
           APR_SUCCESS, "the next batch is written");
    verify_writer_answered(&w);
    is_int(read_lines(&ls), (long)seq + 3,
           "its lines follow the old head: one chain, no gap");
    is_int(rc.seq, seq + 1, "its first seq is the one the failed batch "
           "would have had");
    is_int(sh->head.edge.size, seq + 3, "the edge has them");
    verify_writer_close(&w);
}

static void test_too_long(void)
{
    verify_writer_body_t b[3];
    verify_writer_t w;
    size_t blen, alen;
    char *before, *after, *big;
    uint64_t seq = sh->head.chain.seq;

    big = apr_pcalloc(pool, VERIFY_AUDIT_LINE_MAX + 16);
    memset(big, 'x', VERIFY_AUDIT_LINE_MAX);
    memcpy(big, ",\"x\":\"", 6);
    big[VERIFY_AUDIT_LINE_MAX - 1] = '"';
    memcpy(b, bodies(3, "TL"), sizeof(b));
    b[1].body = big;
    b[1].len = strlen(big);
    before = slurp(&blen);
    writer(&w);
    ok(verify_writer_append_batch(&w, b, 3, "TL", NULL, pool)
       != APR_SUCCESS, "a batch with one line too long fails");
    after = slurp(&alen);
    ok(alen == blen && !memcmp(before, after, blen)
       && sh->head.chain.seq == seq,
       "and writes none of its lines");
    is_int(sh->logged[127], 1, "said once (VFY127)");
    free(before);
    free(after);
    verify_writer_close(&w);
}

/* Processes writing batches and single lines at once: each batch's
 * lines stay together, in order. */
static void test_concurrent_batches(void)
{
    static lines_t ls;
    pid_t kids[KIDS];
    int k, i, status, fine = 1;
    long n;
    char tag[16];

    for (k = 0; k < KIDS; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            verify_writer_t w;
            writer(&w);
            w.flights = NULL;
            for (i = 0; i < 20; i++) {
                snprintf(tag, sizeof(tag), "K%dN%d", k, i);
                if (verify_writer_append_batch(&w, bodies(7, tag), 7, tag,
                                               NULL, pool) != APR_SUCCESS
                    || verify_writer_append(&w, ",\"op\":\"t\"", 9, NULL,
                                            NULL, pool) != APR_SUCCESS) {
                    _exit(1);
                }
            }
            _exit(0);
        }
    }
    for (k = 0; k < KIDS; k++) {
        fine &= waitpid(kids[k], &status, 0) == kids[k]
                && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    ok(fine, "%d processes write 20 batches of 7 and 20 lines each", KIDS);
    n = read_lines(&ls);
    ok(n > 0 && (uint64_t)n == sh->head.chain.seq, "one chain, %ld lines",
       n);
    fine = 1;
    for (i = 0; i < n; i++) {
        const char *it = strstr(ls.line[i], "\"item\":0,\"items\":7");
        const char *rid = strstr(ls.line[i], "\"request_id\":\"K");
        if (it && rid) {
            for (k = 1; k < 7; k++) {
                fine &= i + k < n
                        && strstr(ls.line[i + k],
                                  apr_psprintf(pool, "\"item\":%d,", k))
                        && !strncmp(strstr(ls.line[i + k], "\"request_id\""),
                                    rid, 22);
            }
        }
    }
    ok(fine, "every batch's seven lines are consecutive and in order");
}

int main(void)
{
    char cmd[128];

    apr_initialize();
    apr_pool_create(&pool, NULL);
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED || !mkdtemp(dir)) {
        diag("no shared memory or temp dir");
        return 1;
    }
    test_batch();
    test_failure_in_the_middle();
    test_too_long();
    test_concurrent_batches();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        diag("cannot remove %s", dir);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
