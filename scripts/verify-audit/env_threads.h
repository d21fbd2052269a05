/*
 * env_threads.h -- VERIFY_AUDIT_THREADS, read the same way by every
 * command that spreads its work over threads (env_threads.c).
 */
#ifndef VERIFY_AUDIT_ENV_THREADS_H
#define VERIFY_AUDIT_ENV_THREADS_H

/* The largest number accepted, and the default's cap. */
#define AUDIT_THREADS_MAX 64
#define AUDIT_THREADS_DEFAULT_MAX 8

/* Threads from VERIFY_AUDIT_THREADS: a whole number from 1 to
 * AUDIT_THREADS_MAX, digits only (1: the one-thread path); unset or
 * empty: the online CPUs, at most AUDIT_THREADS_DEFAULT_MAX.
 * @return 0 with *n set, or -1 with the fault said (a usage error). */
int audit_env_threads(int *n);

#endif /* VERIFY_AUDIT_ENV_THREADS_H */
