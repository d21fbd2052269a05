/*
 * test_writer.c -- the audit chain writer: processes appending at once
 * to one directory, recovery after a writer killed inside the chain
 * step, a partial line found at start, group commit, the caller's lock.
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

/* What the processes share besides the head: the messages logged. */
typedef struct {
    verify_writer_head_t head;
    int logged[64];             /* count per message number */
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
    __atomic_add_fetch(&sh->logged[msgno & 63], 1, __ATOMIC_SEQ_CST);
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
    return verify_writer_append(w, text, strlen(text), NULL, NULL, NULL,
                                pool);
}

/* Every line of the directory, in order; checks the chain as it goes.
 * Returns the number of lines, or -1 when the chain is broken. */
static long check_chain(uint64_t *last_seq, int *recovers, int *imports)
{
    glob_t g;
    char pattern[64], line[VERIFY_AUDIT_LINE_MAX + 2];
    verify_chain_t chain = { 0 };
    long n = 0;
    size_t i, len;
    FILE *f;

    *recovers = *imports = 0;
    snprintf(pattern, sizeof(pattern), "%s/audit-*.jsonl", dir);
    if (glob(pattern, 0, NULL, &g) != 0) {
        return 0;
    }
    for (i = 0; i < g.gl_pathc; i++) {
        f = fopen(g.gl_pathv[i], "r");
        while (f && fgets(line, sizeof(line), f)) {
            len = strlen(line);
            if (len == 0 || line[len - 1] != '\n') {
                diag("partial line %s", line);
                n = -1;
                break;
            }
            if (verify_audit_check_line(&chain, line, len - 1, n == 0)
                != VERIFY_LINE_OK) {
                diag("chain broken at %s", line);
                n = -1;
                break;
            }
            *recovers += strstr(line, "\"op\":\"audit_recover\"") != NULL;
            *imports += strstr(line, "\"op\":\"import\"") != NULL;
            n++;
        }
        if (f) {
            fclose(f);
        }
        if (n < 0) {
            break;
        }
    }
    globfree(&g);
    *last_seq = chain.seq;
    return n;
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
            char body[64];
            writer(&w, sync);
            for (i = 0; i < each; i++) {
                snprintf(body, sizeof(body), ",\"op\":\"t\",\"kid\":%d,"
                         "\"n\":%d", k, i);
                if (append(&w, body) != APR_SUCCESS) {
                    _exit(1);
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
    verify_lookup_t lk;
    uint64_t seq;
    int rec, imp;

    writer(&w, 0);
    sh->head.lock_kind = VERIFY_WRITER_LOCK_MUTEX;
    w.mutex.acquire = count_acquire;
    w.mutex.release = count_release;
    w.mutex.baton = sh;
    memset(&lk, 0, sizeof(lk));
    lk.have_batch[VERIFY_SRC_DISABILITY] = 1;
    strcpy(lk.batch[VERIFY_SRC_DISABILITY].batch_id, "b-1");
    strcpy(lk.batch[VERIFY_SRC_DISABILITY].as_of,
           "2026-01-01T00:00:00+08:00");
    is_int(verify_writer_append(&w, ",\"op\":\"x\"", 9, &lk, "r1", NULL,
                                pool),
           APR_SUCCESS, "append under the caller's lock");
    is_int(verify_writer_append(&w, ",\"op\":\"x\"", 9, &lk, "r2", NULL,
                                pool),
           APR_SUCCESS, "again, citing the same batch");
    is_int(sh->mutex_calls, 202, "taken and released twice");
    check_chain(&seq, &rec, &imp);
    is_int(imp, 1, "one import line for the batch");
    w.mutex.acquire = refuse;
    ok(append(&w, ",\"op\":\"x\"") != APR_SUCCESS, "a failed lock refuses");
    is_int(sh->logged[8], 1, "VFY8 logged");
    sh->head.lock_kind = VERIFY_WRITER_LOCK_FUTEX;
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
    test_group_commit();
    test_callers_lock();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        diag("cannot remove %s", dir);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
