/*
 * test_lock.c -- verify_lock: mutual exclusion across processes, waking
 * sleepers, and take-over from an owner that died holding the lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <apr_general.h>
#include <apr_time.h>
#include "verify.h"
#include "tap.h"

typedef struct {
    verify_lock_t lock;
    volatile long counter;      /* protected by lock, not atomic */
    volatile int inside;        /* holders at once; must stay <= 1 */
    volatile int overlap;
    volatile int ready;
} shared_t;

static shared_t *sh;

static void hammer(int rounds)
{
    int i;

    for (i = 0; i < rounds; i++) {
        verify_lock_acquire(&sh->lock, getpid());
        if (++sh->inside != 1) {
            sh->overlap = 1;
        }
        sh->counter = sh->counter + 1;
        if (i % 1000 == 0) {
            usleep(50);          /* sometimes hold it long: sleepers */
        }
        sh->inside--;
        verify_lock_release(&sh->lock);
    }
}

int main(void)
{
    pid_t kids[4], pid;
    int i, status, took, ok_exit = 1;
    apr_time_t t0, waited;

    apr_initialize();
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    memset(sh, 0, sizeof(*sh));

    /* 1. four processes and the parent increment one counter */
    for (i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            hammer(20000);
            _exit(0);
        }
    }
    hammer(20000);
    for (i = 0; i < 4; i++) {
        waitpid(kids[i], &status, 0);
        ok_exit = ok_exit && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    ok(ok_exit, "all lockers finished");
    is_int(sh->counter, 5 * 20000, "no increment lost: mutual exclusion");
    ok(!sh->overlap, "never two holders at once");
    is_int(sh->lock, 0, "the word is free after the last release");

    /* 2. a sleeper is woken by the release */
    pid = fork();
    if (pid == 0) {
        verify_lock_acquire(&sh->lock, getpid());
        sh->ready = 1;
        usleep(200000);
        verify_lock_release(&sh->lock);
        _exit(0);
    }
    while (!sh->ready) {
        usleep(1000);
    }
    t0 = apr_time_now();
    took = verify_lock_acquire(&sh->lock, getpid());
    waited = apr_time_now() - t0;
    is_int(took, 0, "a released lock is not a take-over");
    ok(waited >= apr_time_from_msec(100) && waited < apr_time_from_sec(2),
       "the waiter slept until the release (%ld ms)",
       (long)apr_time_as_msec(waited));
    verify_lock_release(&sh->lock);
    waitpid(pid, &status, 0);

    /* 3. the owner dies holding it: taken over, and said so */
    sh->ready = 0;
    pid = fork();
    if (pid == 0) {
        verify_lock_acquire(&sh->lock, getpid());
        sh->ready = 1;
        pause();                /* killed while holding the lock */
        _exit(0);
    }
    while (!sh->ready) {
        usleep(1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);   /* reaped: its pid no longer exists */
    t0 = apr_time_now();
    took = verify_lock_acquire(&sh->lock, getpid());
    waited = apr_time_now() - t0;
    is_int(took, 1, "a dead owner's lock is taken over and reported");
    ok(waited < apr_time_from_sec(2), "take-over within %ld ms",
       (long)apr_time_as_msec(waited));
    ok((sh->lock & 0x7fffffffu) == (verify_lock_t)getpid(),
       "the word now names the new owner");
    verify_lock_release(&sh->lock);
    is_int(sh->lock, 0, "released after the take-over");

    /* 4. a live owner is never taken over, however long it holds */
    sh->ready = 0;
    pid = fork();
    if (pid == 0) {
        verify_lock_acquire(&sh->lock, getpid());
        sh->ready = 1;
        usleep(300000);
        verify_lock_release(&sh->lock);
        _exit(0);
    }
    while (!sh->ready) {
        usleep(1000);
    }
    took = verify_lock_acquire(&sh->lock, getpid());
    is_int(took, 0, "a slow live owner is waited for, not taken over");
    verify_lock_release(&sh->lock);
    waitpid(pid, &status, 0);
    return done_testing();
}
