/*
 * verify_lock.h -- a robust lock and an event counter in shared memory (verify_lock.c).
 */
#ifndef VERIFY_LOCK_H
#define VERIFY_LOCK_H

#include <stdint.h>
#include <sys/types.h>

/** A lock word; 0 is unlocked. Lives in memory shared by processes. */
typedef uint32_t verify_lock_t;

/**
 * Take the lock for process @p me (its pid): spin briefly, then sleep.
 * @return 0, or 1 when it was taken over from an owner that died
 *         holding it (the caller must repair the shared state).
 */
int verify_lock_acquire(verify_lock_t *w, pid_t me);

/** Release; wakes one sleeper if any. */
void verify_lock_release(verify_lock_t *w);

/** Take the lock only if free (or its owner died); 1 if taken. */
int verify_lock_try(verify_lock_t *w, pid_t me);

/**
 * An event counter in shared memory: verify_event_post() increments it
 * and wakes every waiter; verify_event_wait() sleeps while it still
 * reads @p seen, at most @p nsec nanoseconds.
 */
void verify_event_wait(uint32_t *counter, uint32_t seen, long nsec);
void verify_event_post(uint32_t *counter);

#endif /* VERIFY_LOCK_H */
