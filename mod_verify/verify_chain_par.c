/*
 * verify_chain_par.c -- the chain scan with the work of each line done
 * ahead by worker threads (see verify_chain_par.h).
 *
 * The caller's thread reads the files into windows (the lines as the
 * one-thread scan reads them: the same reader), publishes each window
 * as tasks of a few lines, and walks the oldest window once its tasks
 * are done; while it waits it takes tasks itself. A worker checks each
 * line of its task by itself: the bytes, the sealed frame and its hash,
 * the JSON grammar, no op that the walk has a note for; then the
 * caller's pre_fn. The walk checks what depends on the order, and hands
 * every line the workers did not vouch for to the ordinary walk, which
 * checks it from the start.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include "verify_chain_par.h"
#include "verify_chain_walk.h"
#include "verify_merkle.h"
#include "verify_text.h"

/* Lines a task. */
#define TASK_LINES 64
/* How far ahead the walk asks for a line's ts to be fetched. */
#define PREFETCH_AHEAD 8

/* One line of a window, and what a worker found of it. */
typedef struct pline_t {
    rline_t rl;                 /* text in the window's arena */
    apr_off_t off;
    unsigned long lno;
    int sound;                  /* sound by itself; the rest is found */
    uint64_t seq;
    unsigned char prev[32];
    unsigned char hash[32];
    const char *ts;             /* VERIFY_TS_LEN bytes in text, or NULL */
    apr_time_t t;               /* ... parsed */
} pline_t;

/* Lines read together, of one file. */
typedef struct win_t {
    int fi;                     /* the file */
    int opens;                  /* the file starts here */
    const char *open_err;       /* ... and cannot be opened */
    int read_errno;             /* a read error after the lines, or 0 */
    size_t n;
    pline_t *line;
    unsigned char *extra;       /* extra_size a line */
    char *arena;                /* the lines' text */
    size_t ntasks, next_task, done_tasks;
} win_t;

typedef struct par_t {
    verify_scan_t *s;
    const verify_par_t *o;
    size_t window;
    pthread_mutex_t mu;
    pthread_cond_t work;        /* a task was published, or stop */
    pthread_cond_t done;        /* a task was done */
    win_t win[VERIFY_PAR_WINDOWS];
    int head, count;            /* the windows published, oldest first */
    int stop;
    /* the reader (the caller's thread) */
    in_t in;
    int fi;                     /* the file being read */
    int open;                   /* ... is open */
    unsigned long lno;
    apr_off_t off;
} par_t;

/* A worker's own. */
typedef struct worker_t {
    par_t *par;
    verify_flat_t *flat;
    apr_pool_t *p;              /* its own allocator: no lock shared */
    pthread_t tid;
    int started;
} worker_t;

/* Is the op of @p f one the walk has a note for? (check_sound's ops;
 * an escaped op is left to the ordinary path) */
static int noted_op(const verify_flat_t *f)
{
    const verify_flat_member_t *m = verify_flat_get(f, "op");

    if (!m || m->type != VERIFY_FLAT_STRING) {
        return 0;
    }
    if (m->val.esc) {
        return 1;
    }
#define OP_IS(x) (m->val.len == sizeof(x) - 1 && !memcmp(m->val.s, x, \
                                                          sizeof(x) - 1))
    return OP_IS("unconfirmed") || OP_IS("clock") || OP_IS("audit_recover");
#undef OP_IS
}

/* read_fault's part of a line's checks: whole, not too long, ends in a
 * newline, clean bytes. */
static int line_whole(const pline_t *pl, apr_pool_t *p)
{
    size_t len = pl->rl.kept;

    return pl->rl.newline && (apr_off_t)len + 1 == pl->rl.size
           && len < LINE_KEEP
           && verify_audit_line_bytes_fault(pl->rl.text, len, p) == NULL;
}

/* The rest of a line's checks once its frame and hash are sound (@p c
 * its chain state, @p leaf its leaf or NULL): the grammar, the notes,
 * the ts, the caller's pre_fn. */
static void check_rest(par_t *par, pline_t *pl, void *extra,
                       verify_flat_t *flat, apr_pool_t *p,
                       const verify_chain_t *c, const unsigned char *leaf)
{
    const verify_flat_member_t *m;
    const char *line = pl->rl.text, *why;
    size_t len = pl->rl.kept, at;

    if (verify_flat_parse(flat, line, len, &why, &at) != 0
        || noted_op(flat)) {
        return;
    }
    m = verify_flat_get(flat, "ts");
    pl->ts = m && m->type == VERIFY_FLAT_STRING && !m->val.esc
             && m->val.len == VERIFY_TS_LEN
             && verify_time_parse_us(m->val.s, VERIFY_TS_LEN, &pl->t) == 0
             ? m->val.s : NULL;
    if (par->o->pre_fn
        && par->o->pre_fn(par->s->ctx, line, len, c->seq, leaf, flat, extra,
                          p) != 0) {
        return;
    }
    pl->seq = c->seq;
    memcpy(pl->hash, c->hash, 32);
    pl->sound = 1;
}

/* One line checked by itself (what verify_walk_line checks of it that
 * does not depend on the lines before). */
static void check_one(par_t *par, pline_t *pl, void *extra,
                      verify_flat_t *flat, apr_pool_t *p)
{
    verify_chain_t c;
    unsigned char leaf[32];

    pl->sound = 0;
    if (!line_whole(pl, p)) {
        return;
    }
    memset(&c, 0, sizeof(c));
    if (verify_audit_check_line_leaf(&c, pl->rl.text, pl->rl.kept, 1,
                                     pl->prev, par->o->leaf ? leaf : NULL)
        == VERIFY_LINE_OK) {
        check_rest(par, pl, extra, flat, p, &c, par->o->leaf ? leaf : NULL);
    }
}

/* Lines @p i and i+1 of @p w, each as check_one, with their four hashes
 * taken together (par->leaf). */
static void check_two(par_t *par, win_t *w, size_t i, verify_flat_t *flat,
                      apr_pool_t *p)
{
    size_t xs = par->o->extra_size;
    pline_t *pl[2] = { &w->line[i], &w->line[i + 1] };
    verify_chain_t c[2];
    unsigned char leaf[2][32];
    unsigned char *prev[2] = { pl[0]->prev, pl[1]->prev };
    unsigned char *lp[2] = { leaf[0], leaf[1] };
    const char *line[2] = { pl[0]->rl.text, pl[1]->rl.text };
    const size_t len[2] = { pl[0]->rl.kept, pl[1]->rl.kept };
    verify_line_status_t st[2];
    int k;

    if (!line_whole(pl[0], p) || !line_whole(pl[1], p)) {
        /* rare: each by itself */
        check_one(par, pl[0], w->extra + i * xs, flat, p);
        check_one(par, pl[1], w->extra + (i + 1) * xs, flat, p);
        return;
    }
    pl[0]->sound = pl[1]->sound = 0;
    memset(c, 0, sizeof(c));
    verify_audit_check_two_leaf(c, line, len, prev, lp, st);
    for (k = 0; k < 2; k++) {
        if (st[k] == VERIFY_LINE_OK) {
            check_rest(par, pl[k], w->extra + (i + (size_t)k) * xs, flat,
                       p, &c[k], leaf[k]);
        }
    }
}

static void do_task(par_t *par, win_t *w, size_t t, verify_flat_t *flat,
                    apr_pool_t *p)
{
    size_t i = t * TASK_LINES, end = i + TASK_LINES, j;
    size_t xs = par->o->extra_size;

    if (end > w->n) {
        end = w->n;
    }
    if (xs) {
        for (j = i; j < end; j++) {
            memset(w->extra + j * xs, 0, xs);
        }
    }
    while (i < end) {
        if (par->o->leaf && i + 1 < end) {
            check_two(par, w, i, flat, p);
            i += 2;
            continue;
        }
        check_one(par, &w->line[i], w->extra + i * xs, flat, p);
        i++;
    }
    apr_pool_clear(p);
}

/* Take a task, oldest window first (the lock held). */
static win_t *grab(par_t *par, size_t *t)
{
    win_t *w;
    int k;

    for (k = 0; k < par->count; k++) {
        w = &par->win[(par->head + k) % VERIFY_PAR_WINDOWS];
        if (w->next_task < w->ntasks) {
            *t = w->next_task++;
            return w;
        }
    }
    return NULL;
}

/* Do a task taken (the lock held; released while working). */
static void work(worker_t *me, win_t *w, size_t t)
{
    par_t *par = me->par;

    pthread_mutex_unlock(&par->mu);
    do_task(par, w, t, me->flat, me->p);
    pthread_mutex_lock(&par->mu);
    if (++w->done_tasks == w->ntasks) {
        pthread_cond_broadcast(&par->done);
    }
}

static void *worker_main(void *arg)
{
    worker_t *me = arg;
    par_t *par = me->par;
    win_t *w;
    size_t t;

    pthread_mutex_lock(&par->mu);
    while (!par->stop) {
        if ((w = grab(par, &t)) != NULL) {
            work(me, w, t);
        }
        else {
            pthread_cond_wait(&par->work, &par->mu);
        }
    }
    pthread_mutex_unlock(&par->mu);
    return NULL;
}

/* Read the next window into @p w: 1, or 0 when every file is read. */
static int fill(par_t *par, win_t *w)
{
    verify_scan_t *s = par->s;
    size_t used = 0;
    pline_t *pl;
    int got;

    w->n = 0;
    w->opens = 0;
    w->open_err = NULL;
    w->read_errno = 0;
    w->next_task = w->done_tasks = 0;
    if (par->fi >= s->paths->nelts) {
        return 0;
    }
    w->fi = par->fi;
    if (!par->open) {
        w->opens = 1;
        par->in.fd = verify_walk_open(s, s->files[par->fi].path);
        if (par->in.fd < 0) {
            /* said when the walk gets here, as the one-thread scan
             * opens a file only then */
            w->open_err = s->error;
            s->error = NULL;
            par->fi = s->paths->nelts;
            w->ntasks = 0;
            return 1;
        }
        par->in.pos = par->in.end = 0;
        par->in.eof = 0;
        par->open = 1;
        par->lno = 0;
        par->off = 0;
    }
    while (w->n < par->window && VERIFY_PAR_BYTES - used >= LINE_KEEP) {
        /* read straight into the window's line: a copy of the struct
         * just written would wait on the stores it reads */
        pl = &w->line[w->n];
        memset(&pl->rl, 0, sizeof(pl->rl));
        pl->rl.text = w->arena + used;
        got = verify_walk_next_line(&par->in, &pl->rl);
        if (got > 0) {
            w->n++;
            pl->off = par->off;
            pl->lno = ++par->lno;
            par->off += pl->rl.size;
            used += pl->rl.kept;
            continue;
        }
        if (got < 0) {
            w->read_errno = errno;
        }
        close(par->in.fd);
        par->open = 0;
        par->fi = got < 0 ? s->paths->nelts : par->fi + 1;
        break;
    }
    w->ntasks = (w->n + TASK_LINES - 1) / TASK_LINES;
    return 1;
}

/* The walk of one line the workers found sound: what verify_walk_line
 * does with it, when it follows the line before. @return 0 go on, -1
 * the callback stopped, 1 not taken (the ordinary path then). */
static int walk_sound(par_t *par, walk_t *wk, win_t *w, size_t i)
{
    verify_scan_t *s = par->s;
    verify_scan_file_t *sf = &s->files[w->fi];
    pline_t *pl = &w->line[i];

    if (!pl->sound || wk->first || wk->any
        || pl->seq != s->chain.seq + 1
        || memcmp(pl->prev, s->chain.hash, 32)) {
        return 1;
    }
    s->chain.seq = pl->seq;
    memcpy(s->chain.hash, pl->hash, 32);
    if (pl->ts) {
        verify_walk_ts_parsed(wk, pl->ts, pl->t);
    }
    if (sf->lines++ == 0) {
        sf->first_seq = s->chain.seq;
    }
    sf->last_seq = s->chain.seq;
    /* from the line, not s->chain: a copy of what was just stored
     * there waits on the stores */
    sf->end.seq = pl->seq;
    memcpy(sf->end.hash, pl->hash, 32);
    s->lines++;
    if (par->o->line_fn
        && par->o->line_fn(s, pl->rl.text, pl->rl.kept,
                           w->extra + i * par->o->extra_size, w->fi,
                           pl->off) != 0) {
        return -1;
    }
    return 0;
}

/* Walk a window whose tasks are done, as walk_file would. @return as
 * verify_walk_line, or -1 when the file cannot be read (s->error). */
static int walk_window(par_t *par, walk_t *wk, win_t *w)
{
    verify_scan_t *s = par->s;
    size_t i;
    int rc;

    if (w->opens) {
        wk->path = s->files[w->fi].path;
        wk->lno = 0;
        if (w->open_err) {
            s->error = w->open_err;
            return -1;
        }
        s->nread++;
    }
    for (i = 0; i < w->n; i++) {
        /* the ts a few lines on: its text was written and read on
         * other cores long ago, and is all of it this thread reads */
        if (i + PREFETCH_AHEAD < w->n && w->line[i + PREFETCH_AHEAD].ts) {
            __builtin_prefetch(w->line[i + PREFETCH_AHEAD].ts);
        }
        wk->lno = w->line[i].lno;
        rc = walk_sound(par, wk, w, i);
        if (rc == 1) {
            rc = verify_walk_line(wk, w->fi, &w->line[i].rl,
                                  w->line[i].off);
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (w->read_errno) {
        s->error = apr_psprintf(s->p, "cannot read %s: %s", wk->path,
                                strerror(w->read_errno));
        return -1;
    }
    return 0;
}

/* Wait until the oldest window's tasks are done, doing tasks meanwhile. */
static void wait_oldest(par_t *par, worker_t *me)
{
    win_t *w = &par->win[par->head], *x;
    size_t t;

    pthread_mutex_lock(&par->mu);
    while (w->done_tasks < w->ntasks) {
        if ((x = grab(par, &t)) != NULL) {
            work(me, x, t);
        }
        else {
            pthread_cond_wait(&par->done, &par->mu);
        }
    }
    pthread_mutex_unlock(&par->mu);
}

static int run(par_t *par, worker_t *workers, int nthreads)
{
    walk_t wk;
    rline_t rl;
    win_t *w;
    int reading = 1, rc = 0, i;

    if (verify_walk_begin(par->s, &wk, &par->in, &rl) != 0) {
        return -1;
    }
    for (i = 1; i < nthreads; i++) {
        if (pthread_create(&workers[i].tid, NULL, worker_main,
                           &workers[i]) != 0) {
            par->s->error = "cannot start a thread";
            return -1;
        }
        workers[i].started = 1;
    }
    for (;;) {
        while (reading && par->count < VERIFY_PAR_WINDOWS) {
            w = &par->win[(par->head + par->count) % VERIFY_PAR_WINDOWS];
            if (!fill(par, w)) {
                reading = 0;
                break;
            }
            pthread_mutex_lock(&par->mu);
            par->count++;
            pthread_cond_broadcast(&par->work);
            pthread_mutex_unlock(&par->mu);
        }
        if (par->count == 0) {
            break;
        }
        wait_oldest(par, &workers[0]);
        rc = walk_window(par, &wk, &par->win[par->head]);
        pthread_mutex_lock(&par->mu);
        par->head = (par->head + 1) % VERIFY_PAR_WINDOWS;
        par->count--;
        pthread_mutex_unlock(&par->mu);
        if (rc != 0) {
            return rc;
        }
    }
    return par->s->faults ? 1 : 0;
}

static int no_memory(int rv)
{
    abort();
    return rv;
}

int verify_chain_scan_par(verify_scan_t *s, const verify_par_t *o)
{
    worker_t workers[VERIFY_PAR_MAX_THREADS];
    int n = o->threads, i, rc;
    par_t par;

    if (n < 2 || !s->lazy || s->keep_going) {
        return verify_chain_scan(s);
    }
    if (n > VERIFY_PAR_MAX_THREADS) {
        n = VERIFY_PAR_MAX_THREADS;
    }
    /* jansson's hash seed, made once before any thread can race to */
    json_object_seed(0);
    memset(&par, 0, sizeof(par));
    par.s = s;
    par.o = o;
    par.window = o->window ? o->window : VERIFY_PAR_WINDOW;
    pthread_mutex_init(&par.mu, NULL);
    pthread_cond_init(&par.work, NULL);
    pthread_cond_init(&par.done, NULL);
    for (i = 0; i < VERIFY_PAR_WINDOWS; i++) {
        par.win[i].line = apr_palloc(s->p, par.window * sizeof(pline_t));
        par.win[i].extra = apr_palloc(s->p, par.window * o->extra_size + 1);
        par.win[i].arena = apr_palloc(s->p, VERIFY_PAR_BYTES);
    }
    memset(workers, 0, sizeof(workers));
    for (i = 0; i < n; i++) {
        workers[i].par = &par;
        workers[i].flat = malloc(sizeof(verify_flat_t));
        if (!workers[i].flat) {
            abort();
        }
        /* unmanaged, with an allocator of its own: no lock shared */
        apr_pool_create_unmanaged_ex(&workers[i].p, no_memory, NULL);
    }
    rc = run(&par, workers, n);
    pthread_mutex_lock(&par.mu);
    par.stop = 1;
    pthread_cond_broadcast(&par.work);
    pthread_mutex_unlock(&par.mu);
    for (i = 0; i < n; i++) {
        if (workers[i].started) {
            pthread_join(workers[i].tid, NULL);
        }
        apr_pool_destroy(workers[i].p);
        free(workers[i].flat);
    }
    if (par.open) {
        close(par.in.fd);
    }
    pthread_cond_destroy(&par.work);
    pthread_cond_destroy(&par.done);
    pthread_mutex_destroy(&par.mu);
    return rc;
}
