/*
 * test_writer.c -- the audit chain writer: processes appending at once
 * to one directory, recovery after a writer killed inside the chain
 * step, a partial line found at start, group commit, the caller's lock,
 * the RFC 6962 tree's edge kept in the head, answers in flight of
 * processes that exited, lines deferred, and a clock behind the chain.
 */
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "verify.h"

#define KIDS 4
#define FLIGHTS 8

/* What the processes share besides the head: the messages logged. */
typedef struct {
    verify_writer_head_t head;
    verify_writer_flight_t flights[FLIGHTS];
    int logged[128];            /* count per message number */
    int mutex_calls;
} shared_t;

static shared_t *sh;
static apr_pool_t *pool;
static char dir[] = "/tmp/test_writer.XXXXXX";

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

static void writer(verify_writer_t *w, int sync)
{
    memset(w, 0, sizeof(*w));
    verify_writer_init(w, &sh->head, dir);
    w->sync = sync;
    w->uid = getuid();
    w->gid = getgid();
    w->log = log_cb;
    w->log_baton = NULL;
}

static apr_status_t append(verify_writer_t *w, const char *text)
{
    return verify_writer_append(w, text, strlen(text), NULL, NULL,
                                pool);
}

/* Call @p fn with every line of the directory, in order (with its
 * newline), until it returns non-zero. @return that, or 0. */
static int each_line(int (*fn)(const char *line, size_t len, void *ctx),
                     void *ctx)
{
    char pattern[64], line[VERIFY_AUDIT_LINE_MAX + 2];
    int stop = 0;
    size_t i;
    glob_t g;
    FILE *f;

    snprintf(pattern, sizeof(pattern), "%s/audit-*.jsonl", dir);
    if (glob(pattern, 0, NULL, &g) != 0) {
        return 0;
    }
    for (i = 0; i < g.gl_pathc && !stop; i++) {
        f = fopen(g.gl_pathv[i], "r");
        while (f && !stop && fgets(line, sizeof(line), f)) {
            stop = fn(line, strlen(line), ctx);
        }
        if (f) {
            fclose(f);
        }
    }
    globfree(&g);
    return stop;
}

typedef struct {
    verify_chain_t chain;
    long n;
    int recovers, imports;
} chain_check_t;

static int check_line(const char *line, size_t len, void *ctx)
{
    chain_check_t *c = ctx;

    if (len == 0 || line[len - 1] != '\n') {
        diag("partial line %s", line);
        return -1;
    }
    if (verify_audit_check_line(&c->chain, line, len - 1, c->n == 0)
        != VERIFY_LINE_OK) {
        diag("chain broken at %s", line);
        return -1;
    }
    c->recovers += strstr(line, "\"op\":\"audit_recover\"") != NULL;
    c->imports += strstr(line, "\"op\":\"import\"") != NULL;
    c->n++;
    return 0;
}

/* Every line of the directory, in order; checks the chain as it goes.
 * Returns the number of lines, or -1 when the chain is broken. */
static long check_chain(uint64_t *last_seq, int *recovers, int *imports)
{
    chain_check_t c;

    memset(&c, 0, sizeof(c));
    if (each_line(check_line, &c) != 0) {
        c.n = -1;
    }
    *recovers = c.recovers;
    *imports = c.imports;
    *last_seq = c.chain.seq;
    return c.n;
}

/* The lines of the directory holding @p needle, and the last of them. */
typedef struct {
    const char *needle;
    int n;
    char last[VERIFY_AUDIT_LINE_MAX + 2];
    char file_of_last[VERIFY_AUDIT_LINE_MAX];
} grep_t;

static int grep_line(const char *line, size_t len, void *ctx)
{
    grep_t *g = ctx;

    if (strstr(line, g->needle)) {
        g->n++;
        memcpy(g->last, line, len + 1);
    }
    return 0;
}

static int grep(const char *needle, char *last)
{
    grep_t g;

    memset(&g, 0, sizeof(g));
    g.needle = needle;
    each_line(grep_line, &g);
    if (last) {
        strcpy(last, g.last);
    }
    return g.n;
}

/* The leaf hashes of every line of the directory, in order. */
typedef struct {
    unsigned char (*leaf)[VERIFY_MERKLE_HASH_LEN];
    uint64_t n, cap;
} leaves_t;

static int add_leaf(const char *line, size_t len, void *ctx)
{
    leaves_t *l = ctx;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->leaf = realloc(l->leaf, l->cap * sizeof(*l->leaf));
    }
    verify_merkle_leaf_hash(line, len - 1, l->leaf[l->n++]);
    return 0;
}

static apr_status_t leaf_at(void *ctx, uint64_t i,
                            unsigned char h[VERIFY_MERKLE_HASH_LEN])
{
    leaves_t *l = ctx;

    memcpy(h, l->leaf[i], VERIFY_MERKLE_HASH_LEN);
    return APR_SUCCESS;
}

/* The root over the files (verify_merkle_range_root, which shares no
 * code with the edge) equals the root of the head's edge? */
static int edge_matches_files(const char *what)
{
    unsigned char r1[VERIFY_MERKLE_HASH_LEN], r2[VERIFY_MERKLE_HASH_LEN];
    leaves_t l = { NULL, 0, 0 };
    int good;

    each_line(add_leaf, &l);
    good = sh->head.tree_ok && sh->head.edge.size == l.n
           && sh->head.edge.size == sh->head.chain.seq
           && verify_merkle_range_root(0, l.n, leaf_at, &l, r1) == 0
           && verify_merkle_edge_root(&sh->head.edge, r2) == 0
           && !memcmp(r1, r2, sizeof(r1));
    ok(good, "%s: the edge's root is the root over the %lu lines", what,
       (unsigned long)l.n);
    free(l.leaf);
    return good;
}

/* KIDS processes append @p each lines at once. */
static int concurrent(int each, int sync)
{
    pid_t kids[KIDS];
    int i, k, status, fine = 1;

    for (k = 0; k < KIDS; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            verify_writer_t w;
            verify_writer_receipt_t rc;
            char body[64];
            writer(&w, sync);
            for (i = 0; i < each; i++) {
                snprintf(body, sizeof(body), ",\"op\":\"t\",\"kid\":%d,"
                         "\"n\":%d", k, i);
                if (verify_writer_append(&w, body, strlen(body), NULL, &rc,
                                         pool) != APR_SUCCESS) {
                    _exit(1);
                }
                /* with sync, an append returns only once a sync covers
                 * its line (group commit) */
                if (sync && __atomic_load_n(&sh->head.synced_seq,
                                            __ATOMIC_ACQUIRE) < rc.seq) {
                    _exit(2);
                }
            }
            verify_writer_close(&w);
            _exit(0);
        }
    }
    for (k = 0; k < KIDS; k++) {
        if (waitpid(kids[k], &status, 0) != kids[k]
            || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fine = 0;
        }
    }
    return fine;
}

static void test_concurrent(void)
{
    verify_writer_t w;
    uint64_t seq;
    int rec, imp;

    writer(&w, 0);
    is_int(verify_writer_start(&w, VERIFY_WRITER_LOCK_FUTEX, pool),
           APR_SUCCESS, "start on an empty directory");
    is_int(sh->head.chain.seq, 0, "no line yet");
    is_int(sh->head.layout, VERIFY_WRITER_LAYOUT, "layout word set");
    ok(concurrent(250, 0), "%d processes append 250 lines each", KIDS);
    is_int(check_chain(&seq, &rec, &imp), KIDS * 250,
           "every line there, the chain valid");
    is_int(seq, KIDS * 250, "seq gap-free from 1");
    is_int(sh->head.chain.seq, seq, "the head is the last line");
    is_int(rec, 0, "no recovery");
    is_int(sh->head.tree_ok, 1, "the tree is kept");
    edge_matches_files("forked writers");
}

static void test_killed_writer(void)
{
    verify_writer_t w;
    char name[32], *path;
    uint64_t seq, before = sh->head.chain.seq;
    int rec, imp, status;
    pid_t pid;
    FILE *f;

    verify_audit_filename(verify_date_taipei(apr_time_now()), name);
    path = apr_pstrcat(pool, dir, "/", name, NULL);
    pid = fork();
    if (pid == 0) {
        /* inside the chain step: lock taken, busy marked, half a line */
        verify_lock_acquire(&sh->head.lock, getpid());
        sh->head.busy = getpid();
        f = fopen(path, "a");
        fputs("{\"seq\":999,\"ts\":\"2026-", f);
        fclose(f);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    writer(&w, 0);
    is_int(append(&w, ",\"op\":\"after\""), APR_SUCCESS,
           "the next writer appends");
    is_int(sh->logged[3], 1, "VFY3: the death is logged");
    is_int(sh->head.busy, 0, "busy cleared");
    is_int(check_chain(&seq, &rec, &imp), (long)before + 2,
           "partial line cut; a recovery line and the line");
    is_int(rec, 1, "the recovery is in the chain");
    is_int(seq, before + 2, "still gap-free");
    edge_matches_files("after a writer died with half a line");
    verify_writer_close(&w);
}

/* A writer died after writing its line but before adding it to the
 * edge (the edge of one leaf less is the same slots with the size one
 * less); one whose edge is off entirely; the receipt of a line. */
static void test_tree_catch_up(void)
{
    verify_writer_receipt_t rc;
    verify_writer_t w;
    leaves_t l;

    writer(&w, 0);
    sh->head.edge.size--;
    sh->head.busy = 999999;     /* no such process */
    is_int(append(&w, ",\"op\":\"after\""), APR_SUCCESS,
           "append after a death between line and edge");
    edge_matches_files("the last line read back into the edge");
    sh->head.edge.size -= 5;
    is_int(append(&w, ",\"op\":\"after\""), APR_SUCCESS,
           "append with an edge five lines behind");
    is_int(sh->logged[83], 1, "VFY83: the edge was rebuilt from the files");
    edge_matches_files("the edge rebuilt");
    is_int(verify_writer_append(&w, ",\"op\":\"r\"", 9, NULL, &rc,
                                pool), APR_SUCCESS, "append with a receipt");
    is_int(rc.seq, sh->head.chain.seq, "the receipt's seq is the line's");
    memset(&l, 0, sizeof(l));
    each_line(add_leaf, &l);
    ok(l.n == rc.seq && !memcmp(rc.leaf, l.leaf[l.n - 1], sizeof(rc.leaf)),
       "the receipt's leaf is SHA-256(0x00 || the line)");
    free(l.leaf);
    verify_writer_close(&w);
}

static void test_partial_at_start(void)
{
    verify_writer_t w;
    char name[32], *path;
    uint64_t seq, before = sh->head.chain.seq;
    int rec, imp;
    FILE *f;

    verify_audit_filename(verify_date_taipei(apr_time_now()), name);
    path = apr_pstrcat(pool, dir, "/", name, NULL);
    f = fopen(path, "a");
    fputs("{\"seq\":", f);
    fclose(f);
    writer(&w, 0);
    is_int(verify_writer_start(&w, VERIFY_WRITER_LOCK_FUTEX, pool),
           APR_SUCCESS, "a restart finds the head behind a partial line");
    is_int(sh->logged[16], 1, "VFY16: the cut is logged");
    is_int(sh->head.chain.seq, before, "head from the last whole line");
    ok(sh->head.note[0] != '\0', "a note waits for the chain");
    is_int(append(&w, ",\"op\":\"start\""), APR_SUCCESS, "append");
    is_int(check_chain(&seq, &rec, &imp), (long)before + 2,
           "the note and the line");
    is_int(rec, 2, "the second recovery line");
    is_int(sh->logged[81], 2, "VFY81: the tree rebuilt at each start");
    edge_matches_files("rebuilt at start");
    verify_writer_close(&w);
}

static void test_group_commit(void)
{
    uint64_t seq, before = sh->head.chain.seq;
    uint32_t syncs = sh->head.sync_gen;
    int rec, imp;

    ok(concurrent(100, 1), "%d processes append with sync", KIDS);
    is_int(check_chain(&seq, &rec, &imp), (long)before + KIDS * 100,
           "every synced line there");
    is_int(sh->head.synced_seq, seq, "synced up to the last line");
    is_int(sh->head.sync_failed, 0, "no failed sync");
    syncs = sh->head.sync_gen - syncs;
    ok(syncs >= 1 && syncs <= KIDS * 100, "%u syncs for %d lines", syncs,
       KIDS * 100);
}

/* The syncer's role held by another process: a waiter neither steals
 * it from a live one nor waits forever for a dead one. (Waiters look
 * whether the holder lives only after a wait in which no sync ended.) */
static void test_syncer_held(void)
{
    verify_writer_t w;
    apr_time_t t0, took;
    int status;
    pid_t pid;

    /* a live holder for ~300 ms, then it lets go as a syncer does */
    pid = fork();
    if (pid == 0) {
        if (!verify_lock_try(&sh->head.syncer, getpid())) {
            _exit(1);
        }
        usleep(300000);
        verify_lock_release(&sh->head.syncer);
        verify_event_post(&sh->head.sync_gen);
        _exit(0);
    }
    while (__atomic_load_n(&sh->head.syncer, __ATOMIC_ACQUIRE) == 0) {
        usleep(1000);
    }
    writer(&w, 1);
    t0 = apr_time_now();
    is_int(append(&w, ",\"op\":\"behind a live syncer\""), APR_SUCCESS,
           "a line synced behind a live syncer");
    took = apr_time_now() - t0;
    ok(took >= 200000, "it waited for the live syncer (%d ms)",
       (int)(took / 1000));
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the holder ran");
    is_int(sh->head.synced_seq, sh->head.chain.seq, "synced to the head");

    /* a holder that died holding the role */
    pid = fork();
    if (pid == 0) {
        _exit(verify_lock_try(&sh->head.syncer, getpid()) ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0
       && sh->head.syncer == (uint32_t)pid, "a dead process holds it");
    t0 = apr_time_now();
    is_int(append(&w, ",\"op\":\"behind a dead syncer\""), APR_SUCCESS,
           "a line synced after the holder died");
    took = apr_time_now() - t0;
    ok(took < apr_time_from_sec(2), "the role taken over in %d ms",
       (int)(took / 1000));
    is_int(sh->head.synced_seq, sh->head.chain.seq, "synced to the head");
    is_int(sh->head.syncer, 0, "the role free again");
    is_int(sh->head.sync_failed, 0, "no failed sync");
    verify_writer_close(&w);
}

static apr_status_t count_acquire(void *baton)
{
    ((shared_t *)baton)->mutex_calls++;
    return APR_SUCCESS;
}

static apr_status_t count_release(void *baton)
{
    ((shared_t *)baton)->mutex_calls += 100;
    return APR_SUCCESS;
}

static apr_status_t refuse(void *baton)
{
    return APR_EGENERAL;
}

static void test_callers_lock(void)
{
    verify_writer_t w;
    uint64_t seq;
    int rec, imp;

    writer(&w, 0);
    sh->head.lock_kind = VERIFY_WRITER_LOCK_MUTEX;
    w.mutex.acquire = count_acquire;
    w.mutex.release = count_release;
    w.mutex.baton = sh;
    is_int(verify_writer_append(&w, ",\"op\":\"x\"", 9, "r1", NULL, pool),
           APR_SUCCESS, "append under the caller's lock");
    is_int(verify_writer_append(&w, ",\"op\":\"x\"", 9, "r2", NULL, pool),
           APR_SUCCESS, "again");
    is_int(sh->mutex_calls, 202, "taken and released twice");
    check_chain(&seq, &rec, &imp);
    is_int(imp, 0, "no import line: imports come through the event spool");
    w.mutex.acquire = refuse;
    ok(append(&w, ",\"op\":\"x\"") != APR_SUCCESS, "a failed lock refuses");
    is_int(sh->logged[8], 1, "VFY8 logged");
    sh->head.lock_kind = VERIFY_WRITER_LOCK_FUTEX;
    verify_writer_close(&w);
}

/* A process that answers with its flights in @p f: appends one line
 * with a receipt and answers it when @p answer, then exits as if it had
 * been killed (no clean up). Returns its pid, reaped, and the seq of its
 * line in *seq. */
static pid_t answer_and_exit(int answer, uint64_t *seq)
{
    verify_writer_receipt_t rc;
    verify_writer_t w;
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        writer(&w, 0);
        w.flights = sh->flights;
        w.nflights = FLIGHTS;
        if (verify_writer_append(&w, ",\"op\":\"q\"", 9, "r", &rc, pool)
            != APR_SUCCESS) {
            _exit(1);
        }
        if (answer) {
            verify_writer_answered(&w);
        }
        _exit(0);
    }
    waitpid(pid, &status, 0);
    *seq = sh->head.chain.seq;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? pid : -1;
}

static void test_flights(void)
{
    verify_writer_t w;
    char line[VERIFY_AUDIT_LINE_MAX + 2], want[128];
    uint64_t seq, seq2;
    pid_t a, b;
    int i, status;

    writer(&w, 0);
    w.flights = sh->flights;
    w.nflights = FLIGHTS;

    /* killed before its answer left: the next line after the parent
     * reaped it names it */
    a = answer_and_exit(0, &seq);
    ok(a > 0, "a process appended and died with its answer in flight");
    is_int(sh->flights[0].pid, a, "its slot is claimed");
    ok(sh->flights[0].seq == seq, "and names its line");
    is_int(append(&w, ",\"op\":\"x\""), APR_SUCCESS,
           "an append before anyone knows");
    is_int(grep("\"op\":\"unconfirmed\"", NULL), 0, "no mark yet");
    verify_writer_exited(&sh->head, sh->flights, FLIGHTS, a);
    is_int(sh->head.dead_pending, 1, "the exit is pending");
    is_int(append(&w, ",\"op\":\"x\""), APR_SUCCESS, "the next append");
    is_int(grep("\"op\":\"unconfirmed\"", line), 1, "one mark");
    snprintf(want, sizeof(want), "\"op\":\"unconfirmed\",\"pid\":%ld,"
             "\"seqs\":[%llu],", (long)a, (unsigned long long)seq);
    ok(strstr(line, want) != NULL, "it names the process and its line");
    is_int(sh->logged[92], 1, "VFY92: said in the error log");
    is_int(sh->flights[0].pid, 0, "the slot is free again");
    is_int(sh->head.dead_pending, 0, "nothing pending");

    /* answered: a process that exits leaves no mark */
    a = answer_and_exit(1, &seq);
    verify_writer_exited(&sh->head, sh->flights, FLIGHTS, a);
    is_int(append(&w, ",\"op\":\"x\""), APR_SUCCESS, "append");
    is_int(grep("\"op\":\"unconfirmed\"", NULL), 1, "an answer that "
           "left is not marked");
    is_int(sh->flights[0].pid, 0, "its slot is free");

    /* killed inside the chain step after noting its seq, before its
     * write: the seq goes to the next line, which is no answer of the
     * dead one's */
    a = fork();
    if (a == 0) {
        verify_lock_acquire(&sh->head.lock, getpid());
        sh->head.busy = getpid();
        sh->flights[3].pid = getpid();
        sh->flights[3].seq = sh->head.chain.seq + 1;
        _exit(0);
    }
    waitpid(a, &status, 0);
    verify_writer_exited(&sh->head, sh->flights, FLIGHTS, a);
    is_int(append(&w, ",\"op\":\"x\""), APR_SUCCESS,
           "append after a writer died before its write");
    is_int(grep("\"op\":\"unconfirmed\"", NULL), 1, "no mark for a line "
           "never written");
    is_int(sh->flights[3].pid, 0, "its slot is free");

    /* two processes gone, one flagged by no parent: a stopping server
     * records both, each once */
    a = answer_and_exit(0, &seq);
    b = answer_and_exit(0, &seq2);
    verify_writer_exited(&sh->head, sh->flights, FLIGHTS, a);
    is_int(verify_writer_flush_exited(&w, pool), APR_SUCCESS,
           "flush at stop");
    is_int(grep("\"op\":\"unconfirmed\"", NULL), 3, "one mark each");
    snprintf(want, sizeof(want), "\"pid\":%ld,\"seqs\":[%llu],", (long)b,
             (unsigned long long)seq2);
    is_int(grep(want, NULL), 1, "the unflagged one too");
    for (i = 0; i < FLIGHTS; i++) {
        if (sh->flights[i].pid) {
            break;
        }
    }
    is_int(i, FLIGHTS, "every slot free");
    is_int(verify_writer_flush_exited(&w, pool), APR_SUCCESS,
           "nothing left to flush");
    is_int(grep("\"op\":\"unconfirmed\"", NULL), 3, "no mark twice");
    edge_matches_files("after the marks");
    verify_writer_close(&w);
}

static void test_deferred(void)
{
    verify_writer_t w;
    char line[VERIFY_AUDIT_LINE_MAX + 2], want[64];
    uint64_t seq = sh->head.chain.seq;
    /* their lengths counted, not written: 17 read past their end */
    static const char later1[] = ",\"op\":\"later1\"";
    static const char later2[] = ",\"op\":\"later2\"";

    writer(&w, 0);
    is_int(verify_writer_defer(&w, later1, strlen(later1)), APR_SUCCESS,
           "defer a line");
    is_int(verify_writer_defer(&w, later2, strlen(later2)), APR_SUCCESS,
           "and another");
    is_int(append(&w, ",\"op\":\"now\""), APR_SUCCESS, "append");
    grep("\"op\":\"later1\"", line);
    snprintf(want, sizeof(want), "{\"seq\":%llu,",
             (unsigned long long)seq + 1);
    ok(strncmp(line, want, strlen(want)) == 0,
       "the deferred lines first, in order");
    is_int(grep("\"op\":\"later2\"", NULL), 1, "the second one once");
    is_int(append(&w, ",\"op\":\"now\""), APR_SUCCESS, "append again");
    is_int(grep("\"op\":\"later", NULL), 2, "each written once");
    is_int(sh->head.chain.seq, seq + 4, "four lines");
    verify_writer_close(&w);
}

/* The ts of @p line as a time. */
static apr_time_t line_time(const char *line)
{
    const char *t = strstr(line, "\"ts\":\"");
    apr_time_t out = 0;

    if (t) {
        verify_time_parse_us(t + 6, VERIFY_TS_LEN, &out);
    }
    return out;
}

static void test_clock_behind(void)
{
    verify_writer_t w;
    char line[VERIFY_AUDIT_LINE_MAX + 2], name[32], *path;
    apr_time_t ahead = apr_time_now() + apr_time_from_sec(2 * 86400);
    verify_date_t day;
    int clocks = grep("\"op\":\"clock\"", NULL);
    FILE *f;

    /* the last line two days ahead of the clock */
    writer(&w, 0);
    sh->head.last_ts = ahead;
    is_int(append(&w, ",\"op\":\"behind1\""), APR_SUCCESS, "append");
    is_int(grep("\"op\":\"clock\"", line), clocks + 1, "a clock line");
    ok(line_time(line) == ahead, "it keeps the last ts");
    ok(strstr(line, "\"observed\":\"") && strstr(line, "\"last\":\""),
       "and says what the clock read");
    is_int(sh->logged[90], 1, "VFY90");
    grep("\"op\":\"behind1\"", line);
    ok(line_time(line) == ahead, "the line keeps the last ts");
    is_int(append(&w, ",\"op\":\"behind2\""), APR_SUCCESS, "again");
    is_int(grep("\"op\":\"clock\"", NULL), clocks + 1,
           "one clock line while it stays behind");
    verify_audit_filename(verify_date_taipei(ahead), name);
    f = fopen(apr_pstrcat(pool, dir, "/", name, NULL), "r");
    ok(f != NULL, "the lines are in the last line's day file");
    if (f) {
        fclose(f);
    }
    verify_writer_close(&w);

    /* a full start: the head's ts comes from the file */
    writer(&w, 0);
    is_int(verify_writer_start(&w, VERIFY_WRITER_LOCK_FUTEX, pool),
           APR_SUCCESS, "start with the clock behind the head");
    ok(sh->head.last_ts == ahead, "last_ts is the head line's");
    is_int(append(&w, ",\"op\":\"behind3\""), APR_SUCCESS, "append");
    is_int(grep("\"op\":\"clock\"", NULL), clocks + 2, "a clock line "
           "after the start");
    grep("\"op\":\"behind3\"", line);
    ok(line_time(line) == ahead, "still the head's ts");
    verify_writer_close(&w);

    /* an empty file of a later day (opened at a day change): the next
     * line goes there, at that day's first microsecond */
    day = verify_date_taipei(ahead + apr_time_from_sec(86400));
    verify_audit_filename(day, name);
    path = apr_pstrcat(pool, dir, "/", name, NULL);
    f = fopen(path, "w");
    if (f) {
        fclose(f);
    }
    writer(&w, 0);
    is_int(verify_writer_start(&w, VERIFY_WRITER_LOCK_FUTEX, pool),
           APR_SUCCESS, "start with a newer empty file");
    is_int(append(&w, ",\"op\":\"behind4\""), APR_SUCCESS, "append");
    grep("\"op\":\"behind4\"", line);
    ok(line_time(line) == verify_date_start_taipei(day),
       "the newest file's day, from its start");
    f = fopen(path, "r");
    ok(f && fgets(line, sizeof(line), f), "into the newest file");
    if (f) {
        fclose(f);
    }
    is_int(check_chain(&(uint64_t){0}, &(int){0}, &(int){0}) > 0, 1,
           "the chain holds in file order");
    verify_writer_close(&w);
}

/* A live process holding the lock word (any child can write it): a
 * writer with patience gives up instead of hanging; without, it waits. */
static void test_patience(void)
{
    verify_writer_t w;
    uint64_t before = sh->head.chain.seq;
    apr_time_t t0;
    int pipefd[2], status;
    char c;
    pid_t pid;

    if (pipe(pipefd) != 0) {
        diag("no pipe");
        return;
    }
    pid = fork();
    if (pid == 0) {
        verify_lock_acquire(&sh->head.lock, getpid());
        c = 'x';
        (void)!write(pipefd[1], &c, 1);
        sleep(2);
        verify_lock_release(&sh->head.lock);
        _exit(0);
    }
    (void)!read(pipefd[0], &c, 1);
    writer(&w, 0);
    w.patience = apr_time_from_msec(200);
    t0 = apr_time_now();
    is_int(append(&w, ",\"op\":\"patient\""), APR_TIMEUP,
           "a patient writer gives up on a lock held by a live process");
    ok(apr_time_now() - t0 < apr_time_from_sec(1), "after its patience");
    is_int(sh->head.chain.seq, before, "and wrote nothing");
    w.patience = 0;
    is_int(append(&w, ",\"op\":\"waits\""), APR_SUCCESS,
           "without patience it waits for the lock");
    is_int(sh->head.chain.seq, before + 1, "then writes");
    waitpid(pid, &status, 0);
    close(pipefd[0]);
    close(pipefd[1]);
    verify_writer_close(&w);
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
    test_concurrent();
    test_killed_writer();
    test_partial_at_start();
    test_tree_catch_up();
    test_group_commit();
    test_syncer_held();
    test_callers_lock();
    test_patience();
    test_flights();
    test_deferred();
    test_clock_behind();        /* last: it writes future days' files */
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        diag("cannot remove %s", dir);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
