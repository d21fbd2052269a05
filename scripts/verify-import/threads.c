/*
 * threads.c -- how many threads take a batch in (--threads, or
 * VERIFY_IMPORT_THREADS, or the CPUs online), within what the process
 * may open: each thread of a batch that spills keeps 256 temporary
 * files (verify_recset.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include "verify-import/import.h"

/* Descriptors kept for everything but the spill files (the store, the
 * spool, the lock, the batch, OpenSSL). */
#define FDS_OTHER 64
/* Spill files of one thread's record set. */
#define FDS_PER_THREAD 256

int import_threads_parse(const char *arg, const char *from, unsigned *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < 1
        || v > VERIFY_INTAKE_MAX_THREADS) {
        fprintf(stderr, PROG ": %s must be a number from 1 to %d\n", from,
                VERIFY_INTAKE_MAX_THREADS);
        return 2;
    }
    *out = (unsigned)v;
    return 0;
}

unsigned import_threads(const import_opts_t *o)
{
    struct rlimit rl;
    unsigned n = o->threads;
    long cpus;

    if (n == 0) {
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus < 1 ? 1 : cpus > VERIFY_INTAKE_MAX_THREADS
                           ? VERIFY_INTAKE_MAX_THREADS : (unsigned)cpus;
    }
    if (n < 2 || getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return n;
    }
    /* room for every thread's spill files, if the hard limit allows */
    if (rl.rlim_cur != RLIM_INFINITY
        && rl.rlim_cur < FDS_OTHER + (rlim_t)n * FDS_PER_THREAD) {
        rlim_t want = FDS_OTHER + (rlim_t)n * FDS_PER_THREAD;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want
                      ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    while (n > 1 && rl.rlim_cur != RLIM_INFINITY
           && rl.rlim_cur < FDS_OTHER + (rlim_t)n * FDS_PER_THREAD) {
        n--;
    }
    return n;
}
