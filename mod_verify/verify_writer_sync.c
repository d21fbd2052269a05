/*
 * verify_writer_sync.c -- VerifyAuditSync On: group commit.
 *
 * One process at a time is the syncer: it notes the last line written,
 * syncs the file, and then every line up to that one is durable. The
 * others sleep until a sync covers their line, or take the syncer's
 * role when none is running, so that concurrent answers share one
 * fdatasync instead of queueing one each in the kernel.
 *
 * Who is woken. The syncer publishes, before its fdatasync, the last
 * line it covers (sync_upto) and the sync_gen its end will move on
 * (sync_for). A waiter whose line that sync covers sleeps on the bit of
 * that end; one whose line came too late for it sleeps on the bit of
 * the next end, and also on a "lead" bit: at its end the syncer wakes
 * all the first kind and, if lines are waiting, only one of the second,
 * which takes the role and syncs for the rest. (Should that one find
 * its line covered after all, the next line written starts the next
 * sync, and at worst a waiter looks again after SYNC_WAIT_NSEC: a
 * wake-up lost costs time, never a line.) (One futex word,
 * FUTEX_WAIT_BITSET: before, every end woke every waiter, and those
 * not covered went back to sleep, a context switch and a futex call
 * more each.) A holder between taking the role and publishing, or
 * between its end and letting go, is given a moment (sched_yield) rather
 * than slept on; a waiter that still knows nothing sleeps on both ends
 * and the lead bit; any failure wakes everyone. Whether a holder of the
 * role lives (a kill(2)) is asked only after a whole wait in which no
 * sync ended.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include "verify_writer_private.h"

/* How long a waiter sleeps before it looks again (a dead syncer). */
#define SYNC_WAIT_NSEC 50000000L
/* How often a waiter yields, in one append, to a holder between taking
 * the role and saying what it covers, or between its end and letting go
 * (then it sleeps as when nothing is known). */
#define SYNC_YIELDS 64

/* The bits of the end of the sync that moves sync_gen on from @p gen:
 * END wakes every line it covers, LEAD one waiter that needs the sync
 * after it. Sixteen ends apart they repeat: a waiter sleeps only while
 * sync_gen is the value it read, one or two ends before its own. */
#define END_BIT(gen) (1u << (((gen) & 15u) * 2))
#define LEAD_BIT(gen) (1u << (((gen) & 15u) * 2 + 1))

static void gen_wait(uint32_t *gen, uint32_t seen, uint32_t bits)
{
    struct timespec ts;

    /* FUTEX_WAIT_BITSET's timeout is absolute (CLOCK_MONOTONIC) */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += SYNC_WAIT_NSEC;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    /* not FUTEX_PRIVATE: the word is shared between processes */
    (void)syscall(SYS_futex, gen, FUTEX_WAIT_BITSET, seen, &ts, NULL, bits);
}

static void gen_wake(uint32_t *gen, int n, uint32_t bits)
{
    (void)syscall(SYS_futex, gen, FUTEX_WAKE_BITSET, n, NULL, NULL, bits);
}

/* The sync of the caller, which holds the role; sync_gen is @p gen. */
static apr_status_t sync_as_syncer(verify_writer_t *w, uint64_t seq, int fd,
                                   verify_date_t day, uint32_t gen)
{
    verify_writer_head_t *h = w->head;
    uint64_t upto, cur;
    apr_status_t rv = APR_SUCCESS;
    int more;

    upto = __atomic_load_n(&h->chain.seq, __ATOMIC_ACQUIRE);
    /* lines after a change of day are in another file: not covered */
    if (__atomic_load_n(&h->day, __ATOMIC_ACQUIRE) != day) {
        upto = seq;
    }
    __atomic_store_n(&h->sync_upto, upto, __ATOMIC_RELAXED);
    __atomic_store_n(&h->sync_for, gen, __ATOMIC_RELEASE);
    if (fdatasync(fd) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        h->sync_failed = 1;             /* before the waiters wake */
    }
    else {
        cur = __atomic_load_n(&h->synced_seq, __ATOMIC_RELAXED);
        while (cur < upto
               && !__atomic_compare_exchange_n(&h->synced_seq, &cur, upto,
                                               1, __ATOMIC_RELEASE,
                                               __ATOMIC_RELAXED)) {
        }
    }
    more = __atomic_load_n(&h->chain.seq, __ATOMIC_ACQUIRE) > upto;
    /* the end moves sync_gen on before the role is free: a waiter that
     * read the old value and the next syncer's sync_upto wakes at once
     * (its futex word changed) instead of trusting them */
    __atomic_add_fetch(&h->sync_gen, 1, __ATOMIC_RELEASE);
    verify_lock_release(&h->syncer);
    if (rv != APR_SUCCESS) {
        gen_wake(&h->sync_gen, INT_MAX, FUTEX_BITSET_MATCH_ANY);
        WLOG(w, VERIFY_LOG_ERR, rv, VERIFY_MSGNO(7),
             "cannot sync the audit file");
        return rv;
    }
    gen_wake(&h->sync_gen, INT_MAX, END_BIT(gen));
    if (more) {
        gen_wake(&h->sync_gen, 1, LEAD_BIT(gen + 1));
    }
    return APR_SUCCESS;
}

apr_status_t writer_group_sync(verify_writer_t *w, uint64_t seq, int fd,
                               verify_date_t day)
{
    verify_writer_head_t *h = w->head;
    uint32_t gen, waited_gen = 0, bits, sync_for;
    int waited = 0, yields = 0;
    uint64_t upto;
    apr_status_t rv;

    for (;;) {
        if (__atomic_load_n(&h->synced_seq, __ATOMIC_ACQUIRE) >= seq) {
            return APR_SUCCESS;
        }
        if (h->sync_failed) {
            /* a sync failed while we waited: it may have dropped our
             * line's pages, and a retry could succeed without them */
            return APR_EGENERAL;
        }
        gen = __atomic_load_n(&h->sync_gen, __ATOMIC_ACQUIRE);
        if ((__atomic_load_n(&h->syncer, __ATOMIC_ACQUIRE) == 0
             || (waited && gen == waited_gen))
            && verify_lock_try(&h->syncer, w->pid)) {
            /* (even if a sync that just ended covers us: waiters may
             * count on this role's end) */
            rv = sync_as_syncer(w, seq, fd, day,
                                __atomic_load_n(&h->sync_gen,
                                                __ATOMIC_ACQUIRE));
            if (rv != APR_SUCCESS) {
                return rv;
            }
            waited = 0;
            continue;
        }
        /* a sync is running (or its holder is not known dead yet) */
        sync_for = __atomic_load_n(&h->sync_for, __ATOMIC_ACQUIRE);
        if (sync_for == gen) {
            upto = __atomic_load_n(&h->sync_upto, __ATOMIC_RELAXED);
            bits = upto >= seq ? END_BIT(gen)
                               : END_BIT(gen + 1) | LEAD_BIT(gen + 1);
        }
        else if (sync_for == gen - 1 && yields < SYNC_YIELDS) {
            /* the holder has just taken the role and not yet said what
             * it covers, or has ended and not yet let go: a moment.
             * (Sleeping now could miss the one wake-up that names the
             * next leader.) */
            yields++;
            sched_yield();
            continue;
        }
        else {
            /* its holder has not said yet what it covers, or it has
             * ended and moved sync_gen on but not let go of the role:
             * wake at either end, or as the next leader */
            bits = END_BIT(gen) | LEAD_BIT(gen) | END_BIT(gen + 1);
        }
        waited = 1;
        waited_gen = gen;
        gen_wait(&h->sync_gen, gen, bits);
    }
}
