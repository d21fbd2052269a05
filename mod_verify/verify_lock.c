/*
 * verify_lock.c -- a small robust lock for a word in shared memory.
 *
 * Made for critical sections of a few microseconds shared by processes
 * (the audit chain step). A waiter spins while the owner runs on another
 * core, yielding once half way in case the owner waits for a CPU, then
 * sleeps on a futex. The word holds the owner's pid: a sleeper that
 * wakes to find that process gone takes the lock over and says so, so
 * the caller can repair what the dead owner left half done.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include "verify_lock.h"

#define LOCK_WAITERS 0x80000000u
#ifndef LOCK_SPINS
#define LOCK_SPINS 192                  /* then sleep on the futex */
#endif
#ifndef LOCK_YIELD_EVERY
#define LOCK_YIELD_EVERY 96             /* so: one yield, half way */
#endif
#define LOCK_SLEEP_NSEC 20000000L       /* re-check a silent owner */

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() do { } while (0)
#endif

static long futex_op(verify_lock_t *w, int op, uint32_t val,
                     const struct timespec *ts)
{
    /* not FUTEX_PRIVATE: the word is shared between processes */
    return syscall(SYS_futex, w, op, val, ts, NULL, 0);
}

static int owner_alive(uint32_t word)
{
    pid_t pid = (pid_t)(word & ~LOCK_WAITERS);

    return pid == 0 || kill(pid, 0) == 0 || errno != ESRCH;
}

static int take(verify_lock_t *w, uint32_t expect, uint32_t val)
{
    return __atomic_compare_exchange_n(w, &expect, val, 0, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

int verify_lock_acquire(verify_lock_t *w, pid_t me)
{
    struct timespec ts = { 0, LOCK_SLEEP_NSEC };
    uint32_t cur;
    int i;

    if (take(w, 0, (uint32_t)me)) {
        return 0;
    }
    for (i = 0; i < LOCK_SPINS; i++) {
        if (i >= LOCK_YIELD_EVERY && i % LOCK_YIELD_EVERY == 0) {
            sched_yield();
        }
        else {
            cpu_relax();
        }
        if (__atomic_load_n(w, __ATOMIC_RELAXED) == 0
            && take(w, 0, (uint32_t)me)) {
            return 0;
        }
    }
    /* Sleep. Once a waiter, always take the lock marked as contended:
     * others may sleep behind us and our release must wake them. */
    for (;;) {
        cur = __atomic_load_n(w, __ATOMIC_RELAXED);
        if (cur == 0) {
            if (take(w, 0, (uint32_t)me | LOCK_WAITERS)) {
                return 0;
            }
            continue;
        }
        if (!(cur & LOCK_WAITERS)
            && !__atomic_compare_exchange_n(w, &cur, cur | LOCK_WAITERS, 0,
                                            __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED)) {
            continue;
        }
        cur |= LOCK_WAITERS;
        if (futex_op(w, FUTEX_WAIT, cur, &ts) != 0 && errno == ETIMEDOUT
            && !owner_alive(cur) && take(w, cur, (uint32_t)me
                                                 | LOCK_WAITERS)) {
            return 1;           /* the owner died holding it */
        }
    }
}

int verify_lock_try(verify_lock_t *w, pid_t me)
{
    uint32_t cur = __atomic_load_n(w, __ATOMIC_RELAXED);

    if (cur == 0) {
        return take(w, 0, (uint32_t)me);
    }
    /* an owner that died holding it leaves it to the next one */
    return !owner_alive(cur) && take(w, cur, (uint32_t)me);
}

void verify_event_wait(uint32_t *counter, uint32_t seen, long nsec)
{
    struct timespec ts = { nsec / 1000000000L, nsec % 1000000000L };

    futex_op(counter, FUTEX_WAIT, seen, &ts);
}

void verify_event_post(uint32_t *counter)
{
    __atomic_add_fetch(counter, 1, __ATOMIC_RELEASE);
    futex_op(counter, FUTEX_WAKE, 0x7fffffff, NULL);
}

void verify_lock_release(verify_lock_t *w)
{
    if (__atomic_exchange_n(w, 0, __ATOMIC_RELEASE) & LOCK_WAITERS) {
        futex_op(w, FUTEX_WAKE, 1, NULL);
    }
}
