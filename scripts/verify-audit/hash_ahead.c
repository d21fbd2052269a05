/*
 * hash_ahead.c -- a month's per-line hashes on a second thread.
 *
 * The reading thread copies each line into a batch (a few hundred lines
 * in one buffer) and hands full batches over, in a ring of NBATCH; the
 * hashing thread takes them in the same order, adds each line to the
 * walk as a leaf and hashes each query, the digests kept in the batch.
 * The reader puts them in place (qline_t.digest) when it takes the
 * batch back to fill it again, and at the end. The anomaly flags'
 * queries go the same way (their few strings copied), in the lines'
 * order. The walk and the flags are only the hashing thread's until
 * hash_ahead_end() has joined it. Copying a line costs a fraction of
 * hashing it twice.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hash_ahead.h"
#include "print.h"

#define NBATCH 4
#define BATCH_BYTES (256 * 1024)
#define BATCH_LINES 1024

/* The strings of a query for the flags, as offsets in a batch's bytes
 * (NO_STR: none): ts, client, operator, subject_tag, reason. */
#define NSTR 5
#define NO_STR ((size_t)-1)

typedef struct ahead_line_t {
    size_t off, len;            /* in the batch's bytes */
    size_t qi;                  /* query, or HASH_AHEAD_NO_QUERY */
    unsigned char digest[32];
    verify_flags_t *flags;      /* not a line: a query for these flags */
    int before;                 /* verify_flags_before(), not _add() */
    verify_flags_query_t fq;    /* its strings at str[] */
    size_t str[NSTR];
} ahead_line_t;

typedef struct batch_t {
    char *bytes;
    size_t used;
    ahead_line_t *line;
    size_t n;
    int queued;                 /* 1: the hashing thread's */
    int failed;                 /* a hash failed (OpenSSL) */
} batch_t;

struct hash_ahead_t {
    audit_walk_t *walk;
    qline_t **qs;
    int threaded;
    int failed;                 /* inline, or seen in a batch back */
    int said;                   /* the failure was said */
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* a batch queued, done, or the end */
    int stop;
    int fill;                   /* the batch the reader fills */
    batch_t b[NBATCH];
};

/* Said once, whichever call finds it. */
static void say_failed(hash_ahead_t *h)
{
    if (!h->said) {
        fprintf(stderr, PROG ": cannot hash (OpenSSL)\n");
    }
    h->said = 1;
}

/* One line's hashes, on whichever thread: 0, or -1. */
static int hash_one(audit_walk_t *walk, const char *line, size_t len,
                    int query, unsigned char digest[32])
{
    verify_sha256_msg_t whole = { .data = line, .len = len },
                        as_leaf = verify_merkle_leaf_msg(line, len);
    unsigned char leaf[32];

    if (walk && query) {        /* the two together */
        verify_sha256_pair(&whole, &as_leaf, digest, leaf);
        return walk_leaf_hash(walk, leaf) != APR_SUCCESS ? -1 : 0;
    }
    if (walk && walk_leaf(walk, line, len) != APR_SUCCESS) {
        return -1;
    }
    /* one fetched digest, not EVP_sha256()'s lookup under a lock */
    if (query && verify_sha256(line, len, digest) != APR_SUCCESS) {
        return -1;
    }
    return 0;
}

/* A query given to the flags, on the hashing thread: its strings
 * pointed back into the batch's bytes. */
static void flags_one(ahead_line_t *l, const char *bytes)
{
    verify_flags_query_t fq = l->fq;
    const char **str[NSTR] = { &fq.ts, &fq.client, &fq.operator_,
                               &fq.subject_tag, &fq.reason };
    int k;

    for (k = 0; k < NSTR; k++) {
        *str[k] = l->str[k] == NO_STR ? NULL : bytes + l->str[k];
    }
    if (l->before) {
        verify_flags_before(l->flags, &fq);
    }
    else {
        verify_flags_add(l->flags, &fq);
    }
}

static void *hash_thread(void *arg)
{
    hash_ahead_t *h = arg;
    batch_t *b;
    size_t i;
    int at = 0;

    for (;;) {
        pthread_mutex_lock(&h->mu);
        while (!h->b[at].queued && !h->stop) {
            pthread_cond_wait(&h->cv, &h->mu);
        }
        if (!h->b[at].queued) {
            pthread_mutex_unlock(&h->mu);
            return NULL;        /* stopped, nothing left */
        }
        pthread_mutex_unlock(&h->mu);
        b = &h->b[at];
        for (i = 0; i < b->n && !b->failed; i++) {
            ahead_line_t *l = &b->line[i];
            if (l->flags) {
                flags_one(l, b->bytes);
            }
            else if (hash_one(h->walk, b->bytes + l->off, l->len,
                         l->qi != HASH_AHEAD_NO_QUERY, l->digest) != 0) {
                b->failed = 1;
            }
        }
        pthread_mutex_lock(&h->mu);
        b->queued = 0;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        at = (at + 1) % NBATCH;
    }
}

/* Batch @p b, back from the hashing thread: its digests in place. */
static void batch_back(hash_ahead_t *h, batch_t *b)
{
    size_t i;

    h->failed |= b->failed;
    for (i = 0; i < b->n; i++) {
        if (b->line[i].qi != HASH_AHEAD_NO_QUERY) {
            memcpy((*h->qs)[b->line[i].qi].digest, b->line[i].digest, 32);
        }
    }
    b->n = 0;
    b->used = 0;
    b->failed = 0;
}

/* Hand the batch being filled over (when it holds lines) and take the
 * next one back. */
static void batch_pass(hash_ahead_t *h)
{
    batch_t *b = &h->b[h->fill];

    if (!b->n) {
        return;
    }
    pthread_mutex_lock(&h->mu);
    b->queued = 1;
    pthread_cond_broadcast(&h->cv);
    h->fill = (h->fill + 1) % NBATCH;
    b = &h->b[h->fill];
    while (b->queued) {
        pthread_cond_wait(&h->cv, &h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    batch_back(h, b);
}

/* Wait until the hashing thread has done every batch handed over, and
 * put their digests in place. */
static void batch_drain(hash_ahead_t *h)
{
    int i;

    batch_pass(h);
    pthread_mutex_lock(&h->mu);
    for (i = 0; i < NBATCH; i++) {
        while (h->b[i].queued) {
            pthread_cond_wait(&h->cv, &h->mu);
        }
    }
    pthread_mutex_unlock(&h->mu);
    for (i = 0; i < NBATCH; i++) {
        batch_back(h, &h->b[i]);
    }
}

static void ahead_free(hash_ahead_t *h)
{
    int i;

    for (i = 0; i < NBATCH; i++) {
        free(h->b[i].bytes);
        free(h->b[i].line);
    }
    free(h);
}

hash_ahead_t *hash_ahead_start(audit_walk_t *walk, qline_t **qs,
                               int threads)
{
    hash_ahead_t *h = calloc(1, sizeof(*h));
    int i;

    if (!h) {
        fprintf(stderr, PROG ": out of memory\n");
        return NULL;
    }
    h->walk = walk;
    h->qs = qs;
    if (threads < 2) {
        return h;
    }
    for (i = 0; i < NBATCH; i++) {
        h->b[i].bytes = malloc(BATCH_BYTES);
        h->b[i].line = malloc(BATCH_LINES * sizeof(ahead_line_t));
        if (!h->b[i].bytes || !h->b[i].line) {
            fprintf(stderr, PROG ": out of memory\n");
            ahead_free(h);
            return NULL;
        }
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pthread_create(&h->tid, NULL, hash_thread, h) != 0) {
        fprintf(stderr, PROG ": cannot start a thread\n");
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        ahead_free(h);
        return NULL;
    }
    h->threaded = 1;
    return h;
}

int hash_ahead_line(hash_ahead_t *h, const char *line, size_t len,
                    size_t qi)
{
    batch_t *b;
    ahead_line_t *l;
    int query = qi != HASH_AHEAD_NO_QUERY;

    if (!h->walk && !query) {
        return 0;
    }
    if (!h->threaded || len > BATCH_BYTES) {
        /* one thread, or a line longer than a batch: hashed here, after
         * every line before it (the leaves' order) */
        if (h->threaded) {
            batch_drain(h);
        }
        if (h->failed || hash_one(h->walk, line, len, query,
                                  query ? (*h->qs)[qi].digest : NULL) != 0) {
            h->failed = 1;
            say_failed(h);
            return -1;
        }
        return 0;
    }
    b = &h->b[h->fill];
    if (b->n == BATCH_LINES || BATCH_BYTES - b->used < len) {
        batch_pass(h);
        if (h->failed) {
            say_failed(h);
            return -1;
        }
        b = &h->b[h->fill];
    }
    l = &b->line[b->n++];
    l->off = b->used;
    l->len = len;
    l->qi = qi;
    l->flags = NULL;
    memcpy(b->bytes + b->used, line, len);
    b->used += len;
    return 0;
}

void hash_ahead_flags(hash_ahead_t *h, verify_flags_t *f,
                      const verify_flags_query_t *fq, int before)
{
    const char *str[NSTR] = { fq->ts, fq->client, fq->operator_,
                              fq->subject_tag, fq->reason };
    const size_t len[NSTR] = { fq->ts_len, fq->client_len,
                               fq->operator_len, fq->tag_len,
                               fq->reason_len };
    size_t need = 0;
    batch_t *b;
    ahead_line_t *l;
    int k;

    for (k = 0; k < NSTR; k++) {
        need += str[k] ? len[k] : 0;
    }
    if (h->threaded && need > BATCH_BYTES) {
        batch_drain(h);         /* the queries before it first */
    }
    if (!h->threaded || need > BATCH_BYTES) {
        if (before) {
            verify_flags_before(f, fq);
        }
        else {
            verify_flags_add(f, fq);
        }
        return;
    }
    b = &h->b[h->fill];
    if (b->n == BATCH_LINES || BATCH_BYTES - b->used < need) {
        batch_pass(h);
        b = &h->b[h->fill];
    }
    l = &b->line[b->n++];
    l->qi = HASH_AHEAD_NO_QUERY;
    l->flags = f;
    l->before = before;
    l->fq = *fq;
    for (k = 0; k < NSTR; k++) {
        l->str[k] = str[k] ? b->used : NO_STR;
        if (str[k]) {
            memcpy(b->bytes + b->used, str[k], len[k]);
            b->used += len[k];
        }
    }
}

int hash_ahead_end(hash_ahead_t *h)
{
    int failed;

    if (!h) {
        return 0;
    }
    if (h->threaded) {
        batch_drain(h);
        pthread_mutex_lock(&h->mu);
        h->stop = 1;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->tid, NULL);
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
    }
    if (h->failed) {
        say_failed(h);
    }
    failed = h->failed;
    ahead_free(h);
    return failed ? -1 : 0;
}
