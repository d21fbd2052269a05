/*
 * verify_recset.c -- the records of one batch, in bounded memory: kept
 * in memory up to a limit, then spilled into 256 partitions by the
 * first byte of the key (unnamed temporary files), each sorted alone
 * when the set is walked. See verify_recset.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "verify_recset.h"

#define PARTS 256
/* records buffered per partition before a write */
#define PART_BUF 128
/* below this, qsort; above, a 16-bit counting sort first */
#define RADIX_MIN 4096

struct verify_recset_t {
    int dirfd;                  /* where partitions go; -1: none */
    size_t mem_max;             /* records in memory before spilling */
    verify_import_rec_t *mem;   /* in memory (before a spill) */
    size_t n, cap;
    size_t total;
    int spilled;
    int fd[PARTS];              /* the partitions, once spilled */
    size_t count[PARTS];        /* records in each (written or buffered) */
    size_t buffered[PARTS];
    verify_import_rec_t *buf;   /* PARTS x PART_BUF */
    verify_recset_t *next;      /* joined: its records come after these */
    apr_pool_t *p;
};

static apr_status_t recset_cleanup(void *data)
{
    verify_recset_t *s = data;
    int i;

    free(s->mem);
    s->mem = NULL;
    if (s->buf) {
        memset(s->buf, 0, sizeof(*s->buf) * PARTS * PART_BUF);
        free(s->buf);
        s->buf = NULL;
    }
    for (i = 0; i < PARTS; i++) {
        if (s->fd[i] >= 0) {
            close(s->fd[i]);    /* unnamed: gone with the descriptor */
            s->fd[i] = -1;
        }
    }
    return APR_SUCCESS;
}

apr_status_t verify_recset_create(verify_recset_t **out, int spill_dirfd,
                                  size_t mem_records, apr_pool_t *p)
{
    verify_recset_t *s = apr_pcalloc(p, sizeof(*s));
    int i;

    s->dirfd = spill_dirfd;
    s->mem_max = mem_records ? mem_records : VERIFY_RECSET_MEM_DEFAULT;
    s->p = p;
    for (i = 0; i < PARTS; i++) {
        s->fd[i] = -1;
    }
    apr_pool_cleanup_register(p, s, recset_cleanup, apr_pool_cleanup_null);
    *out = s;
    return APR_SUCCESS;
}

apr_status_t verify_recset_create_like(verify_recset_t **out,
                                       const verify_recset_t *like,
                                       unsigned share, apr_pool_t *p)
{
    size_t mem = like->mem_max / (share ? share : 1);

    return verify_recset_create(out, like->dirfd, mem ? mem : 1, p);
}

void verify_recset_join(verify_recset_t *s, verify_recset_t *next)
{
    while (s->next) {
        s = s->next;
    }
    s->next = next;
}

size_t verify_recset_count(const verify_recset_t *s)
{
    size_t n = 0;

    for (; s; s = s->next) {
        n += s->total;
    }
    return n;
}

int verify_recset_spilled(const verify_recset_t *s)
{
    for (; s; s = s->next) {
        if (s->spilled) {
            return 1;
        }
    }
    return 0;
}

/* An unnamed file in the spill directory, readable by nobody else;
 * where O_TMPFILE is not supported, a random name unlinked at once. */
static int temp_file(verify_recset_t *s)
{
    unsigned char rnd[8];
    char name[40];
    int fd;

    fd = openat(s->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR)) {
        return fd;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        errno = EIO;
        return -1;
    }
    snprintf(name, sizeof(name), ".spill-%02x%02x%02x%02x%02x%02x%02x%02x",
             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    fd = openat(s->dirfd, name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW
                                | O_CLOEXEC, 0600);
    if (fd >= 0) {
        unlinkat(s->dirfd, name, 0);
    }
    return fd;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *b = data;

    while (len) {
        ssize_t w = write(fd, b, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        b += w;
        len -= (size_t)w;
    }
    return 0;
}

static int flush_part(verify_recset_t *s, int i, char **err)
{
    if (s->buffered[i] == 0) {
        return 0;
    }
    if (write_all(s->fd[i], s->buf + (size_t)i * PART_BUF,
                  s->buffered[i] * sizeof(*s->buf)) != 0) {
        *err = apr_psprintf(s->p, "cannot write a temporary file of the "
                            "import: %s", strerror(errno));
        return -1;
    }
    s->buffered[i] = 0;
    return 0;
}

static int put_part(verify_recset_t *s, const verify_import_rec_t *r,
                    char **err)
{
    int i = r->key[0];

    s->buf[(size_t)i * PART_BUF + s->buffered[i]++] = *r;
    s->count[i]++;
    return s->buffered[i] == PART_BUF ? flush_part(s, i, err) : 0;
}

/* From memory to the partitions. */
static int spill(verify_recset_t *s, char **err)
{
    size_t k;
    int i;

    s->buf = malloc(sizeof(*s->buf) * PARTS * PART_BUF);
    if (!s->buf) {
        *err = apr_pstrdup(s->p, "out of memory");
        return -1;
    }
    for (i = 0; i < PARTS; i++) {
        s->fd[i] = temp_file(s);
        if (s->fd[i] < 0) {
            *err = apr_psprintf(s->p, "cannot create a temporary file of "
                                "the import in the store directory: %s",
                                strerror(errno));
            return -1;
        }
    }
    s->spilled = 1;
    for (k = 0; k < s->n; k++) {
        if (put_part(s, &s->mem[k], err) != 0) {
            return -1;
        }
    }
    free(s->mem);
    s->mem = NULL;
    s->n = s->cap = 0;
    return 0;
}

int verify_recset_add(verify_recset_t *s, const verify_import_rec_t *r,
                      char **err)
{
    if (s->spilled) {
        if (put_part(s, r, err) != 0) {
            return -1;
        }
        s->total++;
        return 0;
    }
    if (s->n == s->mem_max && s->dirfd >= 0) {
        if (spill(s, err) != 0) {
            return -1;
        }
        return verify_recset_add(s, r, err);
    }
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 1024;
        verify_import_rec_t *nr;

        if (s->dirfd >= 0 && ncap > s->mem_max) {
            ncap = s->mem_max;
        }
        nr = realloc(s->mem, ncap * sizeof(*nr));
        if (!nr) {
            *err = apr_pstrdup(s->p, "out of memory");
            return -1;
        }
        s->mem = nr;
        s->cap = ncap;
    }
    s->mem[s->n++] = *r;
    s->total++;
    return 0;
}

/* By key; records of the same key (a duplicate ID) in file order, so
 * that the duplicate named does not depend on how the set was built. */
static int rec_cmp(const void *a, const void *b)
{
    const verify_import_rec_t *x = a, *y = b;
    int c = memcmp(x->key, y->key, VERIFY_TAG_LEN);

    if (c != 0) {
        return c;
    }
    return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * Sort @p r (n records whose first @p d key bytes are all equal) by key:
 * a counting sort on the next two bytes into @p tmp, then each (tiny,
 * as keys are keyed hashes) bucket by insertion. The result is in
 * @p r again.
 */
static void sort_recs(verify_import_rec_t *r, verify_import_rec_t *tmp,
                      size_t n, int d, size_t *cnt)
{
    size_t i, j, b, start;

    if (n < RADIX_MIN || !tmp) {
        qsort(r, n, sizeof(*r), rec_cmp);
        return;
    }
    memset(cnt, 0, sizeof(*cnt) * 65537);
    for (i = 0; i < n; i++) {
        cnt[((size_t)r[i].key[d] << 8 | r[i].key[d + 1]) + 1]++;
    }
    for (b = 1; b <= 65536; b++) {
        cnt[b] += cnt[b - 1];
    }
    for (i = 0; i < n; i++) {
        tmp[cnt[(size_t)r[i].key[d] << 8 | r[i].key[d + 1]]++] = r[i];
    }
    /* cnt[b] is now the end of bucket b */
    start = 0;
    for (b = 0; b < 65536; b++) {
        size_t end = cnt[b];
        for (i = start + 1; i < end; i++) {
            verify_import_rec_t x = tmp[i];
            for (j = i; j > start && rec_cmp(&tmp[j - 1], &x) > 0; j--) {
                tmp[j] = tmp[j - 1];
            }
            tmp[j] = x;
        }
        start = end;
    }
    memcpy(r, tmp, n * sizeof(*r));
}

/* Sorted @p r: the first duplicate, as a message. */
static apr_status_t no_dups(const verify_import_rec_t *r, size_t n,
                            char **err, apr_pool_t *p)
{
    size_t i;

    for (i = 1; i < n; i++) {
        if (memcmp(r[i - 1].key, r[i].key, VERIFY_TAG_LEN) == 0) {
            unsigned long a = r[i - 1].line, b = r[i].line;
            *err = apr_psprintf(p, "line %lu: duplicate ID (same as line "
                                "%lu)", a > b ? a : b, a > b ? b : a);
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

/* One partition into @p r (room for its records); 0 or -1. */
static int read_part(verify_recset_t *s, int i, verify_import_rec_t *r)
{
    size_t want = s->count[i] * sizeof(*r), got = 0;

    while (got < want) {
        ssize_t k = pread(s->fd[i], (char *)r + got, want - got,
                          (off_t)got);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            if (k == 0) {
                errno = EIO;
            }
            return -1;
        }
        got += (size_t)k;
    }
    return 0;
}

/* Partition @p i of every set of the chain @p s, in the chain's order,
 * into @p r (room for all of them); 0 or -1. */
static int read_parts(verify_recset_t *s, int i, verify_import_rec_t *r)
{
    for (; s; s = s->next) {
        if (s->spilled && s->count[i]) {
            if (read_part(s, i, r) != 0) {
                return -1;
            }
            r += s->count[i];
        }
    }
    return 0;
}

/* One partition made ready for the walk: read, sorted, checked. */
typedef struct prep_t {
    verify_recset_t *s;
    int i;                      /* the partition */
    size_t n;                   /* its records */
    verify_import_rec_t *r, *tmp;
    size_t *cnt;
    int read_errno;             /* could not be read: errno */
    unsigned long dup[2];       /* a duplicate ID: its lines */
} prep_t;

static void *prep_part(void *arg)
{
    prep_t *w = arg;
    size_t k;

    w->read_errno = 0;
    w->dup[0] = 0;
    if (read_parts(w->s, w->i, w->r) != 0) {
        w->read_errno = errno ? errno : EIO;
        return NULL;
    }
    sort_recs(w->r, w->tmp, w->n, 1, w->cnt);
    for (k = 1; k < w->n; k++) {
        if (memcmp(w->r[k - 1].key, w->r[k].key, VERIFY_TAG_LEN) == 0) {
            unsigned long a = w->r[k - 1].line, b = w->r[k].line;
            w->dup[0] = a > b ? a : b;
            w->dup[1] = a > b ? b : a;
            break;
        }
    }
    return NULL;
}

/* What prep_part() found wrong, as a message; APR_SUCCESS if nothing. */
static apr_status_t prep_result(const prep_t *w, char **err, apr_pool_t *p)
{
    if (w->read_errno) {
        *err = apr_psprintf(p, "cannot read a temporary file of the "
                            "import: %s", strerror(w->read_errno));
        return APR_EGENERAL;
    }
    if (w->dup[0]) {
        *err = apr_psprintf(p, "line %lu: duplicate ID (same as line %lu)",
                            w->dup[0], w->dup[1]);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* The next partition with records after @p i, or PARTS. */
static int next_part(const size_t *part, int i)
{
    for (i++; i < PARTS && part[i] == 0; i++)
        ;
    return i;
}

/*
 * Walk the partitions in order: each read (from every set of the
 * chain), sorted, checked, given -- the next one read and sorted by a
 * thread of its own while @p fn takes this one (or here, should the
 * thread not start). A partition is given only once every one before
 * it was found sound, as one after the other would.
 */
static apr_status_t walk_parts(verify_recset_t *s, verify_recset_fn fn,
                               void *ctx, int *fn_rc, size_t *cnt,
                               char **err, apr_pool_t *p)
{
    prep_t w[2];
    verify_recset_t *m;
    size_t most = 0, part[PARTS], *cnt2;
    apr_status_t rv = APR_SUCCESS;
    pthread_t tid;
    int i, j, rc, cur = 0, ahead;

    for (i = 0; i < PARTS; i++) {
        part[i] = 0;
        for (m = s; m; m = m->next) {
            if (!m->spilled) {
                continue;
            }
            if (flush_part(m, i, err) != 0) {
                return APR_EGENERAL;
            }
            part[i] += m->count[i];
        }
        if (part[i] > most) {
            most = part[i];
        }
    }
    memset(w, 0, sizeof(w));
    cnt2 = malloc(sizeof(*cnt2) * 65537);
    for (j = 0; j < 2; j++) {
        w[j].s = s;
        w[j].r = malloc((most ? most : 1) * sizeof(*w[j].r));
        w[j].tmp = malloc((most ? most : 1) * sizeof(*w[j].tmp));
        w[j].cnt = j ? cnt2 : cnt;
        if (!w[j].r || !w[j].tmp || !w[j].cnt) {
            *err = apr_pstrdup(p, "out of memory");
            rv = APR_ENOMEM;
        }
    }
    i = next_part(part, -1);
    if (rv == APR_SUCCESS && i < PARTS) {
        w[cur].i = i;
        w[cur].n = part[i];
        prep_part(&w[cur]);
    }
    while (rv == APR_SUCCESS && i < PARTS) {
        j = next_part(part, i);
        ahead = 0;
        rv = prep_result(&w[cur], err, p);
        if (rv == APR_SUCCESS && j < PARTS) {
            w[!cur].i = j;
            w[!cur].n = part[j];
            ahead = pthread_create(&tid, NULL, prep_part, &w[!cur]) == 0;
        }
        if (rv == APR_SUCCESS && fn
            && (rc = fn(ctx, w[cur].r, w[cur].n)) != 0) {
            *fn_rc = rc;
            rv = APR_EGENERAL;
        }
        if (ahead) {
            pthread_join(tid, NULL);
        }
        else if (rv == APR_SUCCESS && j < PARTS) {
            prep_part(&w[!cur]);
        }
        cur = !cur;
        i = j;
    }
    for (j = 0; j < 2; j++) {
        if (w[j].r && w[j].tmp) {
            memset(w[j].r, 0, most * sizeof(*w[j].r));
            memset(w[j].tmp, 0, most * sizeof(*w[j].tmp));
        }
        free(w[j].r);
        free(w[j].tmp);
    }
    free(cnt2);
    return rv;
}

/*
 * A chain of sets made one walkable whole: when one of them spilled,
 * each of the others spills too (the partitions are read set after set);
 * when none did, their records are moved after the first set's, in
 * order. 0, or -1 with *err set.
 */
static int gather(verify_recset_t *s, char **err)
{
    verify_recset_t *m;

    if (verify_recset_spilled(s)) {
        for (m = s; m; m = m->next) {
            if (!m->spilled && m->n && spill(m, err) != 0) {
                return -1;
            }
        }
        return 0;
    }
    for (m = s->next; m; m = m->next) {
        if (m->n == 0) {
            continue;
        }
        if (s->cap - s->n < m->n) {
            verify_import_rec_t *nr = realloc(s->mem, (s->n + m->n)
                                                      * sizeof(*nr));
            if (!nr) {
                *err = apr_pstrdup(s->p, "out of memory");
                return -1;
            }
            s->mem = nr;
            s->cap = s->n + m->n;
        }
        memcpy(s->mem + s->n, m->mem, m->n * sizeof(*m->mem));
        memset(m->mem, 0, m->n * sizeof(*m->mem));
        s->n += m->n;
        s->total += m->total;
        m->total = m->n = 0;
    }
    return 0;
}

apr_status_t verify_recset_walk(verify_recset_t *s, verify_recset_fn fn,
                                void *ctx, int *fn_rc, char **err,
                                apr_pool_t *p)
{
    size_t *cnt;
    verify_import_rec_t *tmp = NULL;
    apr_status_t rv = APR_SUCCESS;
    int rc;

    *fn_rc = 0;
    if (s->next && gather(s, err) != 0) {
        return APR_EGENERAL;
    }
    cnt = malloc(sizeof(*cnt) * 65537);
    if (!cnt) {
        *err = apr_pstrdup(p, "out of memory");
        return APR_ENOMEM;
    }
    if (verify_recset_spilled(s)) {
        rv = walk_parts(s, fn, ctx, fn_rc, cnt, err, p);
        free(cnt);
        return rv;
    }
    if (s->n >= RADIX_MIN) {
        tmp = malloc(s->n * sizeof(*tmp));   /* NULL: qsort instead */
    }
    sort_recs(s->mem, tmp, s->n, 0, cnt);
    free(tmp);
    free(cnt);
    rv = no_dups(s->mem, s->n, err, p);
    if (rv == APR_SUCCESS && fn && s->n && (rc = fn(ctx, s->mem, s->n))) {
        *fn_rc = rc;
        rv = APR_EGENERAL;
    }
    return rv;
}
