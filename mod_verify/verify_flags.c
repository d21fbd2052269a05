/*
 * verify_flags.c -- anomaly flags on a month's queries (R5.2): the
 * rules, each followed line by line in bounded state per operator, per
 * person and per day. The thresholds and their file are in
 * verify_flags_conf.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <sys/mman.h>
#include <openssl/evp.h>
#include "verify_flags.h"
#include "verify_text.h"

/* Microseconds in a second. */
#define US 1000000

/* -- a table of fixed-size keys --------------------------------------- */

/*
 * Open addressing over one flat array: a month holds hundreds of
 * thousands of people, and a table entry per allocation (apr_hash) spent
 * more time in the allocator than the rules did. Keys start with 8 bytes
 * of a subject tag (random-looking); a random salt keeps a log written
 * to collide from making the probes long.
 */
typedef struct ktab_t {
    unsigned char *slots;       /* cap slots of [used][key][pad][value] */
    size_t cap, n;
    size_t klen, vlen, slot;
    size_t voff;                /* the value's offset: 8-aligned, as its
                                 * struct may need (UBSan) */
    uint64_t salt;
} ktab_t;

/* Slots are anonymous mappings in transparent huge pages where the
 * kernel has them: a table of a month's people is tens of megabytes
 * probed at random, and with 4 kB pages every probe missed the TLB. */
static unsigned char *slots_alloc(size_t bytes)
{
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (m == MAP_FAILED) {
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    if (bytes >= ((size_t)2 << 20)) {
        madvise(m, bytes, MADV_HUGEPAGE);
    }
#endif
    return m;
}

static apr_status_t ktab_free(void *data)
{
    ktab_t *t = data;

    if (t->slots) {
        munmap(t->slots, t->cap * t->slot);
    }
    t->slots = NULL;
    return APR_SUCCESS;
}

static void ktab_init(ktab_t *t, size_t klen, size_t vlen, apr_pool_t *p)
{
    memset(t, 0, sizeof(*t));
    t->klen = klen;
    t->vlen = vlen;
    t->voff = (1 + klen + 7) & ~(size_t)7;
    t->slot = (t->voff + vlen + 7) & ~(size_t)7;
    t->salt = (uint64_t)apr_time_now() * 0x9e3779b97f4a7c15ULL
              ^ (uint64_t)(uintptr_t)t;
    apr_pool_cleanup_register(p, t, ktab_free, apr_pool_cleanup_null);
}

static size_t ktab_home(const ktab_t *t, const unsigned char *key)
{
    uint64_t x;

    memcpy(&x, key, 8);
    x ^= t->salt;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (size_t)(x & (t->cap - 1));
}

static unsigned char *ktab_probe(const ktab_t *t, const unsigned char *key)
{
    size_t i = ktab_home(t, key);
    unsigned char *s;

    for (;;) {
        s = t->slots + i * t->slot;
        if (!s[0] || !memcmp(s + 1, key, t->klen)) {
            return s;
        }
        i = (i + 1) & (t->cap - 1);
    }
}

static int ktab_grow(ktab_t *t)
{
    ktab_t old = *t;
    unsigned char *s;
    size_t i;

    t->cap = old.cap ? 2 * old.cap : 1024;
    t->slots = slots_alloc(t->cap * t->slot);     /* zeroed */
    if (!t->slots) {
        *t = old;
        return -1;
    }
    for (i = 0; i < old.cap; i++) {
        s = old.slots + i * old.slot;
        if (s[0]) {
            memcpy(ktab_probe(t, s + 1), s, t->slot);
        }
    }
    if (old.slots) {
        munmap(old.slots, old.cap * old.slot);
    }
    return 0;
}

/* The value of @p key, added (zeroed) when new: NULL when there is no
 * memory for it. *added says whether it was new. */
static void *ktab_get(ktab_t *t, const unsigned char *key, int *added)
{
    unsigned char *s;

    if (2 * (t->n + 1) > t->cap && ktab_grow(t) != 0) {
        return NULL;
    }
    s = ktab_probe(t, key);
    *added = !s[0];
    if (!s[0]) {
        s[0] = 1;
        memcpy(s + 1, key, t->klen);
        t->n++;
    }
    return s + t->voff;
}

static void ktab_clear(ktab_t *t)
{
    if (t->slots) {
        memset(t->slots, 0, t->cap * t->slot);
    }
    t->n = 0;
}

/* -- following the rules ------------------------------------------ */

/* One query in a burst window. */
typedef struct stamp_t {
    int64_t us;
    uint64_t seq;
} stamp_t;

/* A reason's count for one operator. */
typedef struct reason_t {
    uint64_t n;
    uint64_t first_seq;
} reason_t;

/* One client+operator. */
typedef struct op_t {
    uint32_t id;
    uint32_t client;            /* its client's id */
    int known;                  /* queried before the month */
    int in_month;               /* has queried in the month */
    /* burst: the queries of the last burst_seconds, a ring */
    stamp_t *win;
    size_t win_cap, win_head, win_n;
    uint64_t burst_done;        /* the last seq flagged for a burst */
    /* the people of its current day (counted in f->day_set) */
    long day;
    unsigned day_n;
    /* its current run of not_found */
    uint64_t *run;
    unsigned run_n;
    /* its reasons of the month */
    apr_hash_t *reasons;
    uint64_t with_reason;
    uint64_t first_seq_reason;
} op_t;

/* Bytes of a subject tag's key in the tables: the tag's two halves
 * folded together; 128 bits tell a month's people apart (a collision
 * takes some 2^64 tags), in half the memory. */
#define TAG_KEY 16

/* One person's clients of the month: the first in place, any more in a
 * list (most people are asked about by one client only). */
typedef struct subject_t {
    uint32_t first;             /* client id */
    uint32_t more;              /* index in f->more + 1, or 0 */
} subject_t;

/* The clients after the first of one person. */
typedef struct more_t {
    uint32_t n, cap;
    uint32_t *id;
} more_t;

/* A person queried by an operator on the current day. */
typedef struct day_key_t {
    unsigned char tag[TAG_KEY];
    uint32_t op;
} day_key_t;

struct verify_flags_t {
    verify_flags_conf_t c;
    apr_pool_t *p;
    apr_hash_t *ops;            /* op key -> op_t */
    apr_hash_t *clients;        /* client name -> uint32 id (+1) */
    ktab_t subjects;            /* tag -> subject_t */
    apr_array_header_t *more;   /* more_t */
    ktab_t day_set;             /* day_key_t of the current day */
    long day;                   /* of day_set */
    uint32_t nclients, nops;
    char earliest[11];          /* the day of the first query read */
    int any_before;             /* queries before the month were read */
    apr_array_header_t *found;  /* verify_flag_t */
    uint64_t count[VERIFY_FLAG_KINDS];
    char *key;                  /* scratch for op keys */
    size_t key_cap;
    verify_flags_line_name_fn *name_fn;     /* NULL: "seq N" */
    void *name_ctx;
};

void verify_flags_name_lines(verify_flags_t *f, verify_flags_line_name_fn *fn,
                             void *ctx)
{
    f->name_fn = fn;
    f->name_ctx = ctx;
}

verify_flags_t *verify_flags_make(const verify_flags_conf_t *c,
                                  apr_pool_t *p)
{
    verify_flags_t *f = apr_pcalloc(p, sizeof(*f));

    f->c = *c;
    f->p = p;
    f->ops = apr_hash_make(p);
    f->clients = apr_hash_make(p);
    ktab_init(&f->subjects, TAG_KEY, sizeof(subject_t), p);
    f->more = apr_array_make(p, 64, sizeof(more_t));
    ktab_init(&f->day_set, sizeof(day_key_t), 0, p);
    f->day = -1;
    f->found = apr_array_make(p, 64, sizeof(verify_flag_t));
    return f;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static long days_from_civil(long y, unsigned m, unsigned d)
{
    long era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static int digits(const char *s, int n, unsigned *v)
{
    int i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return 0;
}

/* A Taipei ts: its day number, minute of the day and microseconds of
 * the local clock. 0, or -1 when it is not of the module's form. */
static int parse_ts(const verify_flags_query_t *q, long *day,
                    unsigned *minute, int64_t *us)
{
    const char *t = q->ts;
    unsigned y, mo, d, h, mi, s, frac;

    if (!t || q->ts_len != 32 || t[4] != '-' || t[7] != '-' || t[10] != 'T'
        || t[13] != ':' || t[16] != ':' || t[19] != '.'
        || memcmp(t + 26, "+08:00", 6) || digits(t, 4, &y)
        || digits(t + 5, 2, &mo) || digits(t + 8, 2, &d)
        || digits(t + 11, 2, &h) || digits(t + 14, 2, &mi)
        || digits(t + 17, 2, &s) || digits(t + 20, 6, &frac)
        || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59
        || s > 60) {
        return -1;
    }
    *day = days_from_civil((long)y, mo, d);
    *minute = h * 60 + mi;
    *us = ((int64_t)*day * 86400 + (int64_t)(h * 3600 + mi * 60 + s)) * US
          + frac;
    return 0;
}

static void flag(verify_flags_t *f, uint64_t seq, verify_flag_kind_t kind,
                 const char *why)
{
    verify_flag_t *fl = apr_array_push(f->found);

    fl->seq = seq;
    fl->kind = kind;
    fl->why = apr_pstrcat(f->p, verify_flag_name(kind), ": ", why, NULL);
    f->count[kind]++;
}

static uint32_t client_id(verify_flags_t *f, const verify_flags_query_t *q)
{
    uintptr_t id = (uintptr_t)apr_hash_get(f->clients, q->client,
                                           (apr_ssize_t)q->client_len);

    if (!id) {
        id = ++f->nclients;
        apr_hash_set(f->clients, apr_pmemdup(f->p, q->client,
                                             q->client_len),
                     (apr_ssize_t)q->client_len, (void *)id);
    }
    return (uint32_t)id;
}

/* The op of a query, made when new; NULL without a client. */
static op_t *op_of(verify_flags_t *f, const verify_flags_query_t *q)
{
    size_t need = 4 + q->client_len + 1 + q->operator_len;
    uint32_t cl = (uint32_t)q->client_len;
    op_t *op;
    char *k;

    if (!q->client) {
        return NULL;
    }
    if (need > f->key_cap) {
        f->key_cap = need * 2 + 64;
        f->key = apr_palloc(f->p, f->key_cap);
    }
    /* client length, client, whether an operator was given, operator */
    memcpy(f->key, &cl, 4);
    memcpy(f->key + 4, q->client, q->client_len);
    f->key[4 + q->client_len] = q->operator_ ? 1 : 0;
    if (q->operator_len) {
        memcpy(f->key + 5 + q->client_len, q->operator_, q->operator_len);
    }
    op = apr_hash_get(f->ops, f->key, (apr_ssize_t)need);
    if (!op) {
        op = apr_pcalloc(f->p, sizeof(*op));
        op->day = -1;
        op->id = ++f->nops;
        op->client = client_id(f, q);
        k = apr_pmemdup(f->p, f->key, need);
        apr_hash_set(f->ops, k, (apr_ssize_t)need, op);
    }
    return op;
}

static void note_earliest(verify_flags_t *f, const verify_flags_query_t *q)
{
    if (!f->earliest[0] && q->ts && q->ts_len >= 10) {
        memcpy(f->earliest, q->ts, 10);
    }
}

void verify_flags_before(verify_flags_t *f, const verify_flags_query_t *q)
{
    op_t *op = op_of(f, q);

    note_earliest(f, q);
    if (op) {
        op->known = 1;
        f->any_before = 1;
    }
}

static void check_off_hours(verify_flags_t *f, const verify_flags_query_t *q,
                            long day, unsigned minute)
{
    static const char *const wd[7] = { "Sun", "Mon", "Tue", "Wed", "Thu",
                                       "Fri", "Sat" };
    int w = (int)(((day % 7) + 11) % 7);        /* 1970-01-01: Thursday */

    if (f->c.office_days & (1u << w) && minute >= f->c.office_start
        && minute < f->c.office_end) {
        return;
    }
    flag(f, q->seq, VERIFY_FLAG_OFF_HOURS, apr_psprintf(f->p,
         "%s %.10s %.5s (Taipei time); the rule: %s", wd[w], q->ts,
         q->ts + 11,
         verify_flags_rule(&f->c, VERIFY_FLAG_OFF_HOURS, f->p)));
}

static stamp_t *win_at(op_t *op, size_t i)
{
    return &op->win[(op->win_head + i) % op->win_cap];
}

static void check_burst(verify_flags_t *f, op_t *op,
                        const verify_flags_query_t *q, int64_t us)
{
    int64_t span = (int64_t)f->c.burst_seconds * US;
    stamp_t *nw, *first, *last;
    const char *why;
    size_t i;

    while (op->win_n && win_at(op, 0)->us <= us - span) {
        op->win_head = (op->win_head + 1) % op->win_cap;
        op->win_n--;
    }
    if (op->win_n == op->win_cap) {
        nw = apr_palloc(f->p, (op->win_cap * 2 + 8) * sizeof(*nw));
        for (i = 0; i < op->win_n; i++) {
            nw[i] = *win_at(op, i);
        }
        op->win = nw;
        op->win_cap = op->win_cap * 2 + 8;
        op->win_head = 0;
    }
    win_at(op, op->win_n)->us = us;
    win_at(op, op->win_n)->seq = q->seq;
    op->win_n++;
    if (op->win_n <= f->c.burst_queries) {
        return;
    }
    first = win_at(op, 0);
    last = win_at(op, op->win_n - 1);
    if (f->name_fn) {
        why = apr_psprintf(f->p, "%" APR_SIZE_T_FMT " queries by this "
                           "client+operator within %.3f s (%s to %s); the "
                           "rule: %s", op->win_n,
                           (double)(last->us - first->us) / US,
                           f->name_fn(f->name_ctx, first->seq, f->p),
                           f->name_fn(f->name_ctx, last->seq, f->p),
                           verify_flags_rule(&f->c, VERIFY_FLAG_BURST, f->p));
    }
    else {
        why = apr_psprintf(f->p, "%" APR_SIZE_T_FMT " queries by this "
                           "client+operator within %.3f s (seq %"
                           APR_UINT64_T_FMT "-%" APR_UINT64_T_FMT "); the "
                           "rule: %s", op->win_n,
                           (double)(last->us - first->us) / US, first->seq,
                           last->seq, verify_flags_rule(&f->c,
                                                        VERIFY_FLAG_BURST,
                                                        f->p));
    }
    for (i = 0; i < op->win_n; i++) {
        if (win_at(op, i)->seq > op->burst_done) {
            flag(f, win_at(op, i)->seq, VERIFY_FLAG_BURST, why);
        }
    }
    op->burst_done = q->seq;
}

/* A subject tag as a table key: its 64 hex digits as 32 bytes (or for
 * anything else, which no module writes, the SHA-256 of its text),
 * folded to TAG_KEY bytes. */
static void tag_key(const verify_flags_query_t *q, unsigned char key[32])
{
    int i;

    if (q->tag_len != 64 || verify_unhex(q->subject_tag, 32, key, 1) != 0) {
        EVP_Digest(q->subject_tag, q->tag_len, key, NULL, EVP_sha256(),
                   NULL);
    }
    for (i = 0; i < TAG_KEY; i++) {
        key[i] ^= key[i + TAG_KEY];
    }
}

static void check_day_subjects(verify_flags_t *f, op_t *op,
                               const verify_flags_query_t *q, long day)
{
    unsigned char key[32];
    day_key_t k;
    int added;

    if (f->day != day) {
        ktab_clear(&f->day_set);
        f->day = day;
    }
    if (op->day != day) {
        op->day = day;
        op->day_n = 0;
    }
    memset(&k, 0, sizeof(k));
    tag_key(q, key);
    memcpy(k.tag, key, TAG_KEY);
    k.op = op->id;
    if (!ktab_get(&f->day_set, (unsigned char *)&k, &added) || !added) {
        return;
    }
    if (++op->day_n > f->c.day_subjects) {
        flag(f, q->seq, VERIFY_FLAG_MANY_SUBJECTS, apr_psprintf(f->p,
             "the %u%s distinct person this client+operator queried on "
             "%.10s; the rule: %s", op->day_n,
             op->day_n % 10 == 1 && op->day_n % 100 != 11 ? "st"
             : op->day_n % 10 == 2 && op->day_n % 100 != 12 ? "nd"
             : op->day_n % 10 == 3 && op->day_n % 100 != 13 ? "rd" : "th",
             q->ts, verify_flags_rule(&f->c, VERIFY_FLAG_MANY_SUBJECTS,
                                      f->p)));
    }
}

static void check_subject_clients(verify_flags_t *f, op_t *op,
                                  const verify_flags_query_t *q)
{
    unsigned char key[32];
    uint32_t id = op->client, *nid, i, n;
    subject_t *sj;
    more_t *mo;
    int added;

    tag_key(q, key);
    sj = ktab_get(&f->subjects, key, &added);
    if (!sj) {
        return;                 /* no memory: this flag only is lost */
    }
    if (added) {
        sj->first = id;
        return;
    }
    if (sj->first == id) {
        n = sj->more ? APR_ARRAY_IDX(f->more, sj->more - 1, more_t).n + 1 : 1;
    }
    else {
        if (!sj->more) {
            mo = apr_array_push(f->more);
            memset(mo, 0, sizeof(*mo));
            sj->more = (uint32_t)f->more->nelts;
        }
        mo = &APR_ARRAY_IDX(f->more, sj->more - 1, more_t);
        for (i = 0; i < mo->n && mo->id[i] != id; i++) {
        }
        if (i == mo->n) {
            if (mo->n == mo->cap) {
                nid = apr_palloc(f->p, (mo->cap * 2 + 2) * sizeof(*nid));
                if (mo->n) {
                    memcpy(nid, mo->id, mo->n * sizeof(*nid));
                }
                mo->id = nid;
                mo->cap = mo->cap * 2 + 2;
            }
            mo->id[mo->n++] = id;
        }
        n = mo->n + 1;
    }
    if (n > f->c.subject_clients) {
        flag(f, q->seq, VERIFY_FLAG_MANY_CLIENTS, apr_psprintf(f->p,
             "this person was queried by %u distinct clients this month so "
             "far; the rule: %s", n,
             verify_flags_rule(&f->c, VERIFY_FLAG_MANY_CLIENTS, f->p)));
    }
}

static void check_not_found(verify_flags_t *f, op_t *op,
                            const verify_flags_query_t *q)
{
    unsigned i, limit = f->c.not_found_run;

    if (!q->not_found) {
        if (q->status == 200) {
            op->run_n = 0;      /* someone was found: the run ends */
        }
        return;
    }
    if (!op->run) {
        op->run = apr_palloc(f->p, (limit + 1) * sizeof(*op->run));
    }
    if (op->run_n <= limit) {
        op->run[op->run_n] = q->seq;
    }
    op->run_n++;
    if (op->run_n <= limit) {
        return;
    }
    /* the run just passed the limit: its earlier lines too */
    for (i = op->run_n == limit + 1 ? 0 : op->run_n - 1; i < op->run_n; i++) {
        flag(f, i <= limit ? op->run[i] : q->seq, VERIFY_FLAG_NOT_FOUND_RUN,
             apr_psprintf(f->p, "answer %u finding nobody of a run of %u or "
                          "more to this client+operator with no one found "
                          "between them; the rule: %s", i + 1, op->run_n,
                          verify_flags_rule(&f->c, VERIFY_FLAG_NOT_FOUND_RUN,
                                            f->p)));
    }
}

static void count_reason(verify_flags_t *f, op_t *op,
                         const verify_flags_query_t *q)
{
    reason_t *r;

    if (!q->reason) {
        return;
    }
    if (!op->reasons) {
        op->reasons = apr_hash_make(f->p);
    }
    r = apr_hash_get(op->reasons, q->reason, (apr_ssize_t)q->reason_len);
    if (!r) {
        r = apr_pcalloc(f->p, sizeof(*r));
        r->first_seq = q->seq;
        apr_hash_set(op->reasons, apr_pmemdup(f->p, q->reason,
                                              q->reason_len),
                     (apr_ssize_t)q->reason_len, r);
    }
    r->n++;
    op->with_reason++;
}

void verify_flags_add(verify_flags_t *f, const verify_flags_query_t *q)
{
    op_t *op = op_of(f, q);
    unsigned minute = 0;
    int64_t us = 0;
    long day = 0;
    int timed;

    note_earliest(f, q);
    if (!op) {
        return;
    }
    timed = parse_ts(q, &day, &minute, &us) == 0;
    if (!op->in_month) {
        op->in_month = 1;
        if (f->c.new_operator && !op->known) {
            flag(f, q->seq, VERIFY_FLAG_NEW_OPERATOR, apr_psprintf(f->p,
                 "the first query of this client+operator: the lines read "
                 "hold none before %.7s (%s)", q->ts ? q->ts : "?",
                 f->any_before ? apr_psprintf(f->p, "the first query read "
                                              "is of %s", f->earliest)
                               : "they hold no query before this month"));
        }
    }
    if (timed && f->c.off_hours) {
        check_off_hours(f, q, day, minute);
    }
    if (timed && f->c.burst_queries) {
        check_burst(f, op, q, us);
    }
    if (timed && f->c.day_subjects && q->subject_tag) {
        check_day_subjects(f, op, q, day);
    }
    if (f->c.subject_clients && q->subject_tag) {
        check_subject_clients(f, op, q);
    }
    if (f->c.not_found_run) {
        check_not_found(f, op, q);
    }
    if (f->c.identity_mismatch && q->status == 200
        && q->identity_match == 0) {
        flag(f, q->seq, VERIFY_FLAG_MISMATCH, "the name or birth date sent "
             "does not match the person's (identity_match false)");
    }
    if (f->c.reason_share) {
        count_reason(f, op, q);
    }
}

/* The reason one op gave most, if it passes the rule. */
static void check_reasons(verify_flags_t *f, op_t *op)
{
    apr_hash_index_t *hi;
    reason_t *r, *top = NULL;

    if (!op->reasons || op->with_reason < f->c.reason_min
        || op->with_reason == 0) {
        return;
    }
    for (hi = apr_hash_first(NULL, op->reasons); hi; hi = apr_hash_next(hi)) {
        r = apr_hash_this_val(hi);
        if (!top || r->n > top->n
            || (r->n == top->n && r->first_seq < top->first_seq)) {
            top = r;
        }
    }
    if (top->n * 100 < (uint64_t)f->c.reason_share * op->with_reason) {
        return;
    }
    flag(f, top->first_seq, VERIFY_FLAG_REASON_REUSE, apr_psprintf(f->p,
         "this client+operator gave this line's reason in %" APR_UINT64_T_FMT
         " of its %" APR_UINT64_T_FMT " queries with a reason this month "
         "(%" APR_UINT64_T_FMT " %%; this is the first); the rule: %s",
         top->n, op->with_reason, top->n * 100 / op->with_reason,
         verify_flags_rule(&f->c, VERIFY_FLAG_REASON_REUSE, f->p)));
}

static int cmp_flag(const void *a, const void *b)
{
    const verify_flag_t *x = a, *y = b;

    if (x->seq != y->seq) {
        return x->seq < y->seq ? -1 : 1;
    }
    return (int)x->kind - (int)y->kind;
}

void verify_flags_end(verify_flags_t *f)
{
    apr_hash_index_t *hi;

    if (f->c.reason_share) {
        for (hi = apr_hash_first(NULL, f->ops); hi; hi = apr_hash_next(hi)) {
            check_reasons(f, apr_hash_this_val(hi));
        }
    }
    qsort(f->found->elts, (size_t)f->found->nelts, sizeof(verify_flag_t),
          cmp_flag);
}

const apr_array_header_t *verify_flags_found(const verify_flags_t *f)
{
    return f->found;
}

uint64_t verify_flags_count(const verify_flags_t *f, verify_flag_kind_t kind)
{
    return kind < VERIFY_FLAG_KINDS ? f->count[kind] : 0;
}
