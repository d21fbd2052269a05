/*
 * verify_writer_flight.c -- answers in flight: each answering thread
 * notes the seq of its line in a slot of the shared table until its
 * answer has left; a process that dies with slots set leaves lines whose
 * answers may never have been sent, and the next chain step names them
 * in an "unconfirmed" line.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include "verify_audit_body.h"
#include "verify_json.h"
#include "verify_writer_private.h"

/* Seqs named by one "unconfirmed" line (each at most 20 digits). */
#define UNCONFIRMED_PER_LINE 64

/* This thread's slot in the table of answers in flight, claimed at its
 * first answer, and the process it was claimed for (a forked child
 * inherits the variables, not the slot). */
static __thread verify_writer_flight_t *my_flight;
static __thread pid_t my_flight_pid;

/* Is process @p pid gone? (0 is nobody's.) */
static int gone(pid_t pid)
{
    return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
}

/* Is flight @p f of a process that exited: flagged by its parent, or,
 * with @p look, no longer there? */
static int exited(const verify_writer_flight_t *f, int look)
{
    return f->pid && (f->dead || (look && gone(f->pid)));
}

static int seq_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * The answers in flight of processes that exited (the lock is held):
 * one "unconfirmed" line per process (more when it had very many)
 * naming the lines whose answers may not have left, then their slots
 * are free. A process that exited with nothing in flight (the usual
 * end of a child) leaves no line. With @p look, a process that is no
 * longer there counts as exited even if no parent flagged it.
 */
apr_status_t writer_record_exited(verify_writer_t *w, int look,
                                  apr_time_t now, apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    verify_writer_flight_t *f = w->flights;
    uint64_t *seqs = NULL;
    uint32_t i, j, n, k;
    verify_jbuf_t jb;
    char b[UNCONFIRMED_PER_LINE * 21 + 256];
    apr_status_t rv;
    pid_t pid;

    __atomic_store_n(&h->dead_pending, 0, __ATOMIC_SEQ_CST);
    for (i = 0; f && i < w->nflights; i++) {
        if (!exited(&f[i], look)) {
            continue;
        }
        pid = f[i].pid;
        if (!seqs) {
            seqs = apr_palloc(p, w->nflights * sizeof(*seqs));
        }
        for (j = i, n = 0; j < w->nflights; j++) {
            if (f[j].pid == pid && exited(&f[j], look) && f[j].seq
                && f[j].seq <= h->chain.seq) {
                seqs[n++] = f[j].seq;
            }
        }
        qsort(seqs, n, sizeof(*seqs), seq_cmp);
        for (k = 0; k < n; k += UNCONFIRMED_PER_LINE) {
            verify_jbuf_init(&jb, b, sizeof(b));
            verify_audit_body_unconfirmed(&jb, pid, seqs + k,
                                          n - k < UNCONFIRMED_PER_LINE
                                          ? n - k : UNCONFIRMED_PER_LINE);
            rv = writer_append_locked(w, b, jb.len, now, NULL, p);
            if (rv != APR_SUCCESS) {
                /* the slots stay: the next chain step tries again (a
                 * retry may repeat the lines written before) */
                __atomic_store_n(&h->dead_pending, 1, __ATOMIC_SEQ_CST);
                return rv;
            }
        }
        if (n) {
            WLOG(w, VERIFY_LOG_WARNING, 0, VERIFY_MSGNO(92),
                 "process %ld ended with %u answer(s) in flight (seq %"
                 APR_UINT64_T_FMT " to %" APR_UINT64_T_FMT "): an "
                 "\"unconfirmed\" line records that they may not have "
                 "been sent", (long)pid, n, seqs[0], seqs[n - 1]);
        }
        for (j = i; j < w->nflights; j++) {
            if (f[j].pid == pid && exited(&f[j], look)) {
                f[j].seq = 0;
                f[j].dead = 0;
                __atomic_store_n(&f[j].pid, 0, __ATOMIC_RELEASE);
            }
        }
    }
    return APR_SUCCESS;
}

/* This thread's flight slot (the lock is held), claimed at its first
 * answer; NULL when the table has no free slot (said once a process). */
verify_writer_flight_t *writer_flight_slot(verify_writer_t *w)
{
    uint32_t i;

    if (my_flight && my_flight_pid == w->pid) {
        return my_flight;
    }
    for (i = 0; i < w->nflights; i++) {
        if (w->flights[i].pid == 0) {
            w->flights[i].seq = 0;
            w->flights[i].dead = 0;
            w->flights[i].pid = w->pid;
            my_flight = &w->flights[i];
            my_flight_pid = w->pid;
            return my_flight;
        }
    }
    if (!w->flights_full_said) {
        w->flights_full_said = 1;
        WLOG(w, VERIFY_LOG_WARNING, 0, VERIFY_MSGNO(93),
             "no free slot among %u for answers in flight: if process %ld "
             "dies, its unsent answers are not marked in the audit log",
             w->nflights, (long)w->pid);
    }
    return NULL;
}

void verify_writer_answered(verify_writer_t *w)
{
    if (my_flight && my_flight_pid == w->pid) {
        __atomic_store_n(&my_flight->seq, 0, __ATOMIC_RELEASE);
    }
}

void verify_writer_exited(verify_writer_head_t *head,
                          verify_writer_flight_t *flights, uint32_t n,
                          pid_t pid)
{
    uint32_t i;
    int any = 0;

    for (i = 0; flights && pid > 0 && i < n; i++) {
        if (flights[i].pid == pid && !flights[i].dead) {
            flights[i].dead = 1;
            any = 1;
        }
    }
    if (any) {
        __atomic_store_n(&head->dead_pending, 1, __ATOMIC_SEQ_CST);
    }
}
