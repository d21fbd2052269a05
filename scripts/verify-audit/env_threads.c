/*
 * env_threads.c -- how many threads a command may use: from the
 * environment (VERIFY_AUDIT_THREADS), since the answer depends on the
 * machine, not on the question asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tool.h"
#include "env_threads.h"

int audit_env_threads(int *n)
{
    const char *v = getenv("VERIFY_AUDIT_THREADS");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN), x;
    char *end;

    if (!v || !*v) {
        *n = cpus < 1 ? 1 : cpus > AUDIT_THREADS_DEFAULT_MAX
                            ? AUDIT_THREADS_DEFAULT_MAX : (int)cpus;
        return 0;
    }
    x = strtol(v, &end, 10);
    /* digits only: no sign, no blank, nothing after */
    if (*end || end == v || v[0] < '0' || v[0] > '9' || x < 1
        || x > AUDIT_THREADS_MAX) {
        fprintf(stderr, PROG ": VERIFY_AUDIT_THREADS must be a whole number "
                "from 1 to %d\n", AUDIT_THREADS_MAX);
        return -1;
    }
    *n = (int)x;
    return 0;
}
