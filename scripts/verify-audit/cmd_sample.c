/*
 * cmd_sample.c -- the month's sample of queries for the auditors (R5.1):
 * the sample size smallest HMAC-SHA256(seed, request_id), so the same
 * seed and lines always draw the same sample.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "month.h"
#include "print.h"

/* bytes of a fresh seed; a given one may have 1 to SEED_MAX */
#define SEED_LEN 16
#define SEED_MAX 64

/* The seed of the draw. */
typedef struct seed_t {
    unsigned char bytes[SEED_MAX];
    size_t len;
    char hex[2 * SEED_MAX + 1];
} seed_t;

/* What the header of a sample says besides the scan. */
typedef struct sample_t {
    const seed_t *seed;
    size_t k;                   /* the sample size */
    const char *rule;           /* how k was reached */
    const char *note;           /* the month is not over, or NULL */
} sample_t;

/* The --seed given, or a fresh one. @return 0, or the exit status. */
static int seed_get(seed_t *seed, const char *arg, apr_pool_t *p)
{
    if (arg) {
        seed->len = strlen(arg) / 2;
        if (strlen(arg) % 2 || seed->len == 0 || seed->len > SEED_MAX
            || verify_unhex(arg, seed->len, seed->bytes, 1)) {
            fprintf(stderr, PROG ": --seed must be 2 to %d hex digits (an "
                    "even number), not \"%s\"\n", 2 * SEED_MAX,
                    safe_str(p, arg));
            return 2;
        }
    }
    else {
        seed->len = SEED_LEN;
        if (RAND_bytes(seed->bytes, (int)seed->len) != 1) {
            fprintf(stderr, PROG ": no randomness for a seed: give one with "
                    "--seed\n");
            return 1;
        }
    }
    verify_hex(seed->bytes, seed->len, seed->hex);
    return 0;
}

static json_t *jstring(const char *s)
{
    json_t *v = json_string(s ? s : "");

    return v ? v : json_string("(not UTF-8)");
}

/* The first line of --json: what was drawn, and from what. */
static int print_json_header(const verify_scan_t *s, const month_t *m,
                             const sample_t *x, apr_pool_t *p)
{
    json_t *h = json_object(), *files = json_array(), *chain, *end;
    char hex[65], end_hex[65];
    char *d;
    int i;

    verify_hex(s->chain.hash, 32, hex);
    verify_hex(m->end.hash, 32, end_hex);
    for (i = 0; i < s->paths->nelts; i++) {
        json_array_append_new(files, jstring(
            APR_ARRAY_IDX(s->paths, i, const char *)));
    }
    chain = json_pack("{s:b,s:I,s:I,s:s}", "intact", 1,
                      "first_seq", (json_int_t)s->first_seq,
                      "last_seq", (json_int_t)s->chain.seq,
                      "head", s->lines ? hex : "");
    end = m->end.seq ? json_pack("{s:I,s:s}", "seq", (json_int_t)m->end.seq,
                                 "hash", end_hex) : json_null();
    json_object_set_new(h, "tool", json_string(PROG " sample"));
    json_object_set_new(h, "month", json_string(m->month));
    json_object_set_new(h, "population", json_integer((json_int_t)m->n));
    json_object_set_new(h, "sample_size", json_integer((json_int_t)x->k));
    json_object_set_new(h, "rule", json_string(x->rule));
    json_object_set_new(h, "seed", json_string(x->seed->hex));
    json_object_set_new(h, "selection", json_string(
        "the sample_size smallest HMAC-SHA256(seed, request_id)"));
    json_object_set_new(h, "files", files);
    json_object_set_new(h, "chain", chain);
    json_object_set_new(h, "month_end", end);
    json_object_set_new(h, "note", x->note ? jstring(x->note)
                                           : json_null());
    d = json_dumps(h, JSON_COMPACT);
    json_decref(h);
    if (!d) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    json_line(d, strlen(d), p);     /* the file names are in it */
    free(d);
    return 0;
}

/* --json: the header, then the sampled lines as they stand. */
static int print_json(const verify_scan_t *s, const month_t *m,
                      const sample_t *x, reader_t *r, apr_pool_t *p)
{
    size_t i;

    if (print_json_header(s, m, x, p) != 0) {
        return 1;
    }
    for (i = 0; i < x->k; i++) {
        json_t *j = reread(r, &m->q[i]);
        if (!j) {
            return 1;
        }
        json_decref(j);
        json_line(r->line, r->len, p);
    }
    return write_failed();
}

/* The text header: the files, the chain, the population, the rule. */
static void print_text_header(const verify_scan_t *s, const month_t *m,
                              const sample_t *x, apr_pool_t *p)
{
    char hex[65];

    printf("Monthly sample of queries (R5.1)\n");
    printf("month:        %s (Taipei time)\n", m->month);
    printf("files:        %d: %s\n", s->nread, files_span(s->paths, p));
    if (s->lines) {
        verify_hex(s->chain.hash, 32, hex);
        printf("chain:        intact, seq %" APR_UINT64_T_FMT "..%"
               APR_UINT64_T_FMT "%s\n", s->first_seq, s->chain.seq,
               s->recovers ? " (with recovery notes: see verify)" : "");
        printf("chain head:   seq %" APR_UINT64_T_FMT " %s\n", s->chain.seq,
               hex);
    }
    else {
        printf("chain:        no audit lines\n");
    }
    if (m->end.seq) {
        verify_hex(m->end.hash, 32, hex);
        printf("month end:    seq %" APR_UINT64_T_FMT " %s (the last line "
               "up to the end of %s)\n", m->end.seq, hex, m->month);
    }
    if (x->note) {
        printf("note:         %s\n", x->note);
    }
}

/* The population, the rule and the seed, for a month with queries. */
static void print_draw(const month_t *m, const sample_t *x)
{
    printf("population:   %zu quer%s\n", m->n, m->n == 1 ? "y" : "ies");
    if (m->n < VERIFY_SAMPLE_MIN) {
        printf("sample size:  %zu, rule: %s\n", x->k, x->rule);
    }
    else {
        printf("sample size:  %zu, rule: %s: ceil(%d %% of %zu) = %zu, "
               "at least %d\n", x->k, x->rule, VERIFY_SAMPLE_PERCENT, m->n,
               verify_sample_share(m->n), VERIFY_SAMPLE_MIN);
    }
    printf("seed:         %s\n", x->seed->hex);
    printf("selection:    the %zu smallest HMAC-SHA256(seed, request_id); "
           "the same seed\n              and lines give the same sample: "
           "record the seed (R5.2)\n\n", x->k);
}

/* The sampled queries as a table. */
static int print_table(const month_t *m, size_t k, reader_t *r,
                       apr_pool_t *p)
{
    static const char *const head[] = {
        "seq", "time", QUERY_HEAD, "subject", "status"
    };
    static const int maxw[] = { 0, 0, QUERY_MAXW, 10, 32 };
    table_t t;
    size_t i;

    table_init(&t, 10, head, maxw, p);
    for (i = 0; i < k; i++) {
        const char *raw[10];
        size_t rlen[10] = { (size_t)-1, (size_t)-1, 0, 0, 0, 0, 0,
                            (size_t)-1, (size_t)-1, (size_t)-1 };
        json_t *j = reread(r, &m->q[i]);

        if (!j) {
            return 1;
        }
        raw[0] = apr_psprintf(p, "%" APR_UINT64_T_FMT, m->q[i].seq);
        raw[1] = line_ts(j, p);
        query_cells(j, raw + 2, rlen + 2, p);
        raw[8] = safe_subject(j, p);
        raw[9] = status_text(j, p);
        table_add(&t, raw, rlen);
        json_decref(j);
    }
    table_print(&t, "(long values are cut with \xe2\x80\xa6; --json prints "
                "the lines in full)");
    return write_failed();
}

int cmd_sample(const audit_args_t *a, apr_pool_t *p)
{
    verify_scan_t s;
    sample_t x;
    reader_t r;
    month_t m;
    seed_t seed;
    int rc;

    rc = seed_get(&seed, a->seed, p);
    if (rc != 0) {
        return rc;
    }
    memset(&m, 0, sizeof(m));
    reader_init(&r, a->files, p);
    m.seed = seed.bytes;
    m.seed_len = seed.len;
    rc = 1;
    switch (month_scan(&s, &m, a, 0, p)) {
    case 0:
        break;
    case 1:
        fprintf(stderr, PROG ": no sample drawn: the audit chain is broken, "
                "and a sample must come from an intact log:\n  %s\n"
                "(`" PROG " verify` on the same files shows it; keep a copy "
                "and investigate, R5.2)\n", safe_str(p, s.fault));
        goto cleanup;
    default:
        goto cleanup;
    }
    x.seed = &seed;
    x.k = verify_sample_size(m.n);
    x.rule = verify_sample_rule(m.n);
    x.note = month_note(a->month, p);
    /* the k smallest ranks, then in chain order */
    month_sort_by_rank(&m);
    month_sort_by_place(&m, x.k);
    if (a->as_json) {
        rc = print_json(&s, &m, &x, &r, p);
        goto cleanup;
    }
    print_text_header(&s, &m, &x, p);
    if (m.n == 0) {
        printf("population:   0 queries in %s: nothing to sample\n",
               a->month);
        rc = write_failed();
        goto cleanup;
    }
    print_draw(&m, &x);
    rc = print_table(&m, x.k, &r, p);

cleanup:
    reader_close(&r);
    month_free(&m);
    return rc;
}
