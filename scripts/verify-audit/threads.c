/*
 * threads.c -- how many threads check the lines of verify's scan
 * (VERIFY_AUDIT_THREADS, read by env_threads.c for every command), and
 * how many lines they take at a time (VERIFY_AUDIT_WINDOW).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tool.h"
#include "env_threads.h"

/* A whole number from @p lo to @p hi in the variable @p name: 1 given
 * (*out), 0 not set, -1 not such a number (said). */
static int env_number(const char *name, long lo, long hi, long *out)
{
    const char *v = getenv(name);
    char *end;
    long n;

    if (!v || !*v) {
        return 0;
    }
    n = strtol(v, &end, 10);
    if (*end || end == v || n < lo || n > hi || v[0] == '+'
        || v[0] == '-' || v[0] == ' ') {
        fprintf(stderr, PROG ": %s must be a whole number from %ld to "
                "%ld\n", name, lo, hi);
        return -1;
    }
    *out = n;
    return 1;
}

int scan_threads(verify_par_t *par)
{
    int n;
    long w = 0;

    /* the count as every command reads it (env_threads.c); the window
     * is verify's own */
    if (audit_env_threads(&n) != 0
        || env_number("VERIFY_AUDIT_WINDOW", 1, VERIFY_PAR_WINDOW, &w) < 0) {
        return -1;
    }
    par->threads = n > VERIFY_PAR_MAX_THREADS ? VERIFY_PAR_MAX_THREADS : n;
    par->window = (size_t)w;
    return 0;
}
