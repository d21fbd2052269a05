/*
 * cmd_sample.c -- the month's sample for the auditors (R5.1, R5.2).
 *
 * The population is the month's answered queries; refusals are counted
 * apart, by error, and never drawn. The draw is the sample size smallest
 * HMAC-SHA256(seed, request_id[/item]), and the seed is chosen by nobody: the
 * root of the first signed checkpoint made after the month ended that
 * covers the month's last line (seed.c), so anyone with the log and the
 * verifier key draws the same sample. A month without that checkpoint
 * yet can only be previewed, and a preview says so on every line. On
 * top of the draw come the lines the anomaly flags pick (verify_flags).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "month.h"
#include "print.h"
#include "sample.h"
#include "flags_line.h"

/* A thresholds file is a few lines. */
/* What a preview says it is, in JSON. */
#define PREVIEW_TEXT "NOT an official draw: a preview of a month without " \
                     "its seed checkpoint yet; the seed can still change"

/* The draw and what it was drawn from. */
typedef struct draw_t {
    sample_scan_t ss;
    verify_scan_t s;
    verify_flags_conf_t fc;
    const char *flags_file;     /* --flags, or NULL: the built-in values */
    int official;
    seedcp_t cp;                /* the seed's checkpoint (found 0: none) */
    unsigned char seed[VERIFY_MERKLE_HASH_LEN];
    char seed_hex[2 * VERIFY_MERKLE_HASH_LEN + 1];
    const char *seed_from;      /* where the seed came from, in words */
    size_t k;                   /* the sample size */
    size_t flagged, flagged_only;   /* lines flagged; not also drawn */
    const apr_array_header_t *flags;    /* verify_flag_t, by seq */
    const char *note;           /* the month is not over, or NULL */
    squery_t **out;             /* the lines shown, in chain order */
    size_t nout;
} draw_t;

int cmd_sample_flag_defaults(const audit_args_t *a, apr_pool_t *p)
{
    verify_flags_conf_t fc;

    verify_flags_conf_default(&fc);
    fputs(verify_flags_conf_format(&fc, p), stdout);
    return write_failed();
}

/* -- the draw --------------------------------------------------------- */

typedef struct ranked_t {
    unsigned char rank[32];
    uint64_t seq;
    squery_t *q;
} ranked_t;

static int cmp_ranked(const void *x, const void *y)
{
    const ranked_t *a = x, *b = y;
    int c = memcmp(a->rank, b->rank, 32);

    if (c) {
        return c;
    }
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sift the largest of the max-heap @p h (@p n entries) into place from
 * @p i down. */
static void sift_down(ranked_t *h, size_t n, size_t i)
{
    ranked_t x = h[i];
    size_t c;

    while ((c = 2 * i + 1) < n) {
        if (c + 1 < n && cmp_ranked(&h[c + 1], &h[c]) > 0) {
            c++;
        }
        if (cmp_ranked(&h[c], &x) <= 0) {
            break;
        }
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static void sift_up(ranked_t *h, size_t i)
{
    ranked_t x = h[i];

    while (i && cmp_ranked(&h[(i - 1) / 2], &x) < 0) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

/* Mark the k smallest ranks of the answered queries as drawn: a heap of
 * the k smallest so far, which most queries pass by after one compare. */
static int draw(draw_t *d, apr_pool_t *p)
{
    sample_scan_t *ss = &d->ss;
    verify_sample_ranker_t *r;
    ranked_t *heap, x;
    size_t i, n = 0;

    d->k = verify_sample_size((size_t)ss->answered);
    if (d->k == 0) {
        return 0;
    }
    heap = malloc(d->k * sizeof(*heap));
    if (!heap || verify_sample_ranker_make(&r, d->seed, sizeof(d->seed), p)
                 != APR_SUCCESS) {
        free(heap);
        fprintf(stderr, PROG ": out of memory (or OpenSSL failed) ranking "
                "%" APR_UINT64_T_FMT " queries\n", ss->answered);
        return 1;
    }
    for (i = 0; i < ss->n; i++) {
        if (!ss->q[i].answered) {
            continue;
        }
        x.seq = ss->q[i].seq;
        x.q = &ss->q[i];
        verify_sample_ranker_rank(r, ss->rids ? ss->rids + ss->q[i].rid
                                              : "", ss->q[i].rid_len,
                                  x.rank);
        if (n < d->k) {
            heap[n] = x;
            sift_up(heap, n++);
        }
        else if (cmp_ranked(&x, &heap[0]) < 0) {
            heap[0] = x;
            sift_down(heap, n, 0);
        }
    }
    for (i = 0; i < n; i++) {
        heap[i].q->drawn = 1;
    }
    free(heap);
    return 0;
}

/* Tie the sorted flags to their queries; list the lines shown. */
static void gather(draw_t *d, apr_pool_t *p)
{
    sample_scan_t *ss = &d->ss;
    const apr_array_header_t *fl = d->flags;
    size_t i;
    int fi = 0;

    d->out = apr_palloc(p, (ss->n + 1) * sizeof(*d->out));
    for (i = 0; i < ss->n; i++) {
        squery_t *q = &ss->q[i];
        while (fi < fl->nelts
               && APR_ARRAY_IDX(fl, fi, verify_flag_t).seq < q->seq) {
            fi++;
        }
        q->first_flag = fi;
        while (fi < fl->nelts
               && APR_ARRAY_IDX(fl, fi, verify_flag_t).seq == q->seq) {
            q->nflags++;
            fi++;
        }
        if (q->nflags) {
            d->flagged++;
            d->flagged_only += !q->drawn;
        }
        if (q->drawn || q->nflags) {
            d->out[d->nout++] = q;
        }
    }
}

/* The seed: the month's checkpoint, or for a preview the newest one (or
 * the tree of every line read). 0, or the exit status. */
static int choose_seed(draw_t *d, const audit_args_t *a, apr_pool_t *p)
{
    sample_scan_t *ss = &d->ss;
    char b64[45];

    if (seed_from_dir(ss) != 0) {
        return 1;
    }
    d->official = ss->seed.found;
    if (d->official) {
        d->cp = ss->seed;
        if (a->preview) {
            fprintf(stderr, PROG ": note: %s is closed (its seed "
                    "checkpoint exists): this is the official draw, not a "
                    "preview\n", ss->month);
        }
        memcpy(d->seed, d->cp.root, sizeof(d->seed));
        d->seed_from = "the root of the checkpoint above";
    }
    else if (!a->preview) {
        fprintf(stderr, PROG ": no sample drawn: %s has no seed yet: no "
                "signed checkpoint made after %s ended (time %s or later) "
                "that covers its last line (seq %" APR_UINT64_T_FMT ") is "
                "in the log%s. The httpd parent signs one in the first "
                "seconds of the next month (reason \"month\"): give the "
                "files up to it%s. Until then --preview shows a sample that "
                "is NOT the official draw.\n", ss->month, ss->month,
                ss->next, ss->end.seq,
                a->checkpoints ? " or the checkpoint directory" : "",
                a->checkpoints ? "" : ", or the checkpoint directory with "
                "--checkpoints DIR");
        return 1;
    }
    else {
        if (seed_newest(ss, &d->cp) != 0) {
            return 1;
        }
        if (d->cp.found) {
            memcpy(d->seed, d->cp.root, sizeof(d->seed));
            d->seed_from = "PREVIEW: the root of the newest checkpoint "
                           "above, not the month's seed";
        }
        else if (verify_merkle_edge_root(&ss->edge, d->seed)
                 == APR_SUCCESS) {
            d->seed_from = apr_psprintf(p, "PREVIEW: the root %s of the "
                                        "tree of the %" APR_UINT64_T_FMT
                                        " lines read (no checkpoint line), "
                                        "not the month's seed",
                                        tree_b64(d->seed, b64),
                                        ss->edge.size);
        }
    }
    verify_hex(d->seed, sizeof(d->seed), d->seed_hex);
    return 0;
}

/* -- JSON -------------------------------------------------------------- */

static json_t *jtext(const char *s)
{
    json_t *v = s ? json_string(s) : json_null();

    return v ? v : json_string("(not UTF-8)");
}

static void mark(json_t *o, const draw_t *d)
{
    json_object_set_new(o, "official", json_boolean(d->official));
    json_object_set_new(o, "preview", d->official ? json_null()
                                                  : json_string(PREVIEW_TEXT));
}

static json_t *json_checkpoint(const seedcp_t *cp)
{
    char b64[45];

    if (!cp->found) {
        return json_null();
    }
    return json_pack("{s:I,s:s,s:o,s:s,s:o,s:o,s:o,s:o}",
                     "size", (json_int_t)cp->size,
                     "root", tree_b64(cp->root, b64),
                     "time", jtext(cp->time),
                     "key", cp->key,
                     "line_seq", cp->line_seq ? json_integer((json_int_t)
                                                             cp->line_seq)
                                              : json_null(),
                     "reason", jtext(cp->reason),
                     "file", jtext(cp->file),
                     "note", jtext(cp->note));
}

static json_t *json_refusals(const draw_t *d, apr_pool_t *p)
{
    json_t *by = json_array(), *r;
    apr_hash_index_t *hi;
    refusal_t *rf;

    for (hi = apr_hash_first(p, d->ss.refusals); hi; hi = apr_hash_next(hi)) {
        rf = apr_hash_this_val(hi);
        r = json_pack("{s:i,s:o,s:I}", "status", rf->status,
                      "error", jtext(rf->error), "count", (json_int_t)rf->n);
        json_array_append_new(by, r);
    }
    return json_pack("{s:I,s:o}", "count", (json_int_t)d->ss.refused,
                     "by_error", by);
}

static json_t *json_flags(const draw_t *d, apr_pool_t *p)
{
    json_t *rules = json_object(), *counts = json_object();
    int k;

    for (k = 0; k < VERIFY_FLAG_KINDS; k++) {
        json_object_set_new(rules, verify_flag_name(k),
                            jtext(verify_flags_rule(&d->fc, k, p)));
        json_object_set_new(counts, verify_flag_name(k), json_integer(
            (json_int_t)verify_flags_count(d->ss.flags, k)));
    }
    return json_pack("{s:o,s:I,s:o,s:o}", "thresholds", jtext(d->flags_file),
                     "lines", (json_int_t)d->flagged, "rules", rules,
                     "counts", counts);
}

static int print_json_header(const draw_t *d, const audit_args_t *a,
                             apr_pool_t *p)
{
    const verify_scan_t *s = &d->s;
    json_t *h = json_object(), *files = json_array(), *chain, *end;
    char hex[65], end_hex[65];
    char *out;
    int i;

    verify_hex(s->chain.hash, 32, hex);
    verify_hex(d->ss.end.hash, 32, end_hex);
    for (i = 0; i < s->paths->nelts; i++) {
        json_array_append_new(files, jtext(APR_ARRAY_IDX(s->paths, i,
                                                         const char *)));
    }
    chain = json_pack("{s:b,s:I,s:I,s:s}", "intact", 1,
                      "first_seq", (json_int_t)s->first_seq,
                      "last_seq", (json_int_t)s->chain.seq,
                      "head", s->lines ? hex : "");
    end = d->ss.end.seq ? json_pack("{s:I,s:s}", "seq",
                                    (json_int_t)d->ss.end.seq, "hash",
                                    end_hex) : json_null();
    json_object_set_new(h, "tool", json_string(PROG " sample"));
    mark(h, d);
    json_object_set_new(h, "month", json_string(a->month));
    json_object_set_new(h, "checkpoint", json_checkpoint(&d->cp));
    json_object_set_new(h, "seed", json_string(d->seed_hex));
    json_object_set_new(h, "seed_from", jtext(d->seed_from));
    json_object_set_new(h, "population",
                        json_integer((json_int_t)d->ss.answered));
    json_object_set_new(h, "refusals", json_refusals(d, p));
    json_object_set_new(h, "sample_size", json_integer((json_int_t)d->k));
    json_object_set_new(h, "rule", json_string(verify_sample_rule(
                                       (size_t)d->ss.answered)));
    json_object_set_new(h, "selection", json_string(
        "the sample_size smallest HMAC-SHA256(seed, request_id, with "
        "\"/\" and the item for a subject of a batch) of the "
        "answered queries"));
    json_object_set_new(h, "flags", json_flags(d, p));
    json_object_set_new(h, "lines", json_pack("{s:I,s:I,s:I}",
                        "drawn", (json_int_t)d->k,
                        "flagged_only", (json_int_t)d->flagged_only,
                        "shown", (json_int_t)d->nout));
    json_object_set_new(h, "files", files);
    json_object_set_new(h, "chain", chain);
    json_object_set_new(h, "month_end", end);
    json_object_set_new(h, "note", jtext(d->note));
    out = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    if (!out) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    json_line(out, strlen(out), p);     /* file names are in it */
    free(out);
    return 0;
}

/* --json: the header, then each line shown: the audit line itself as a
 * string (byte for byte, so its hash still checks), drawn or not, its
 * flags, and the mark. */
static int print_json(draw_t *d, const audit_args_t *a, again_t *g,
                      apr_pool_t *p)
{
    json_t *o, *fl, *j;
    char *out;
    size_t i;
    int f;

    if (print_json_header(d, a, p) != 0) {
        return 1;
    }
    for (i = 0; i < d->nout; i++) {
        squery_t *q = d->out[i];
        j = read_again(g, q);
        if (!j) {
            return 1;
        }
        json_decref(j);
        fl = json_array();
        for (f = q->first_flag; f < q->first_flag + q->nflags; f++) {
            const verify_flag_t *x = &APR_ARRAY_IDX(d->flags, f,
                                                    verify_flag_t);
            json_array_append_new(fl, json_pack("{s:s,s:s}", "flag",
                                  verify_flag_name(x->kind), "why", x->why));
        }
        o = json_pack("{s:I,s:b,s:o}", "seq", (json_int_t)q->seq,
                      "drawn", q->drawn, "flags", fl);
        mark(o, d);
        json_object_set_new(o, "line", json_stringn(g->line, g->len));
        out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (!out) {
            fprintf(stderr, PROG ": out of memory\n");
            return 1;
        }
        json_line(out, strlen(out), p);
        free(out);
    }
    return write_failed();
}

/* -- text -------------------------------------------------------------- */

/* The signed note, one line after another under the label. */
static void print_note(const char *note, apr_pool_t *p)
{
    const char *s = note, *nl, *line;
    int first = 1;

    while (s && *s) {
        nl = strchr(s, '\n');
        line = apr_pstrmemdup(p, s, nl ? (size_t)(nl - s) : strlen(s));
        printf("%s%s\n", first ? "  note:       " : *line ? "              "
                                                        : "",
               safe_str(p, line));
        first = 0;
        s = nl ? nl + 1 : NULL;
    }
}

static void print_checkpoint(const draw_t *d, apr_pool_t *p)
{
    const seedcp_t *cp = &d->cp;
    char b64[45];

    if (!cp->found) {
        return;
    }
    if (d->official) {
        printf("checkpoint:   the first signed checkpoint made after %s "
               "that covers its\n              last line (the seed: chosen "
               "by nobody)\n", d->ss.month);
    }
    else {
        printf("checkpoint:   the newest signed checkpoint in the log (NOT "
               "the month's seed:\n              that one is made after "
               "the month ends)\n");
    }
    printf("  size:       %" APR_UINT64_T_FMT " (lines 1..%" APR_UINT64_T_FMT
           ")\n", cp->size, cp->size);
    printf("  root:       %s (the log's own tree at that size: the same)\n",
           tree_b64(cp->root, b64));
    printf("  time:       %s\n", safe_str(p, cp->time ? cp->time : "-"));
    printf("  signed by:  %s (checked)\n", safe_str(p, cp->key));
    if (cp->line_seq) {
        printf("  kept as:    line seq %" APR_UINT64_T_FMT " of the log%s%s%s"
               "\n", cp->line_seq, cp->reason ? " (reason " : "",
               cp->reason ? safe_str(p, cp->reason) : "",
               cp->reason ? ")" : "");
    }
    else {
        printf("  kept as:    %s\n", safe_str(p, cp->file));
    }
    print_note(cp->note, p);
}

static int cmp_refusal(const void *x, const void *y)
{
    const refusal_t *a = *(refusal_t *const *)x, *b = *(refusal_t *const *)y;

    if (a->n != b->n) {
        return a->n > b->n ? -1 : 1;
    }
    if (a->status != b->status) {
        return a->status - b->status;
    }
    return strcmp(a->error ? a->error : "", b->error ? b->error : "");
}

void print_refusals_and_size(apr_hash_t *refusals, apr_uint64_t answered,
                             size_t k, apr_pool_t *p)
{
    apr_array_header_t *rs = hash_sorted(refusals, cmp_refusal, p);
    const refusal_t *r;
    int i;

    for (i = 0; i < rs->nelts; i++) {
        r = APR_ARRAY_IDX(rs, i, const refusal_t *);
        printf("                %" APR_UINT64_T_FMT "  %s\n", r->n,
               r->status ? safe_str(p, apr_psprintf(p, "%d %s", r->status,
                                                    r->error ? r->error
                                                             : "-"))
                         : "(other errors)");
    }
    if (answered < VERIFY_SAMPLE_MIN) {
        printf("sample size:  %" APR_SIZE_T_FMT ", rule: %s\n", k,
               verify_sample_rule((size_t)answered));
    }
    else {
        printf("sample size:  %" APR_SIZE_T_FMT ", rule: %s: ceil(%d %% of %"
               APR_UINT64_T_FMT ") = %" APR_SIZE_T_FMT ", at least %d\n",
               k, verify_sample_rule((size_t)answered),
               VERIFY_SAMPLE_PERCENT, answered,
               verify_sample_share((size_t)answered), VERIFY_SAMPLE_MIN);
    }
}

static void print_counts(const draw_t *d, apr_pool_t *p)
{
    const sample_scan_t *ss = &d->ss;
    const char *rule;
    int k;

    printf("population:   %" APR_UINT64_T_FMT " answered quer%s (status "
           "200)\n", ss->answered, ss->answered == 1 ? "y" : "ies");
    printf("refusals:     %" APR_UINT64_T_FMT "%s\n", ss->refused,
           ss->refused ? ", not in the population and never drawn:" : "");
    print_refusals_and_size(ss->refusals, ss->answered, d->k, p);
    printf("seed:         %s\n", d->seed_hex);
    printf("              (%s)\n", d->seed_from);
    printf("selection:    the %" APR_SIZE_T_FMT " smallest HMAC-SHA256(seed, "
           "request_id) of the answered\n              queries (request_id/item"
           " for a subject of a batch): anyone\n              with the log "
           "and the verifier key draws the same\n", d->k);
    printf("flags:        %" APR_SIZE_T_FMT " line%s flagged (R5.2), "
           "thresholds: %s\n", d->flagged, d->flagged == 1 ? "" : "s",
           d->flags_file ? safe_str(p, d->flags_file) : "built in");
    for (k = 0; k < VERIFY_FLAG_KINDS; k++) {
        rule = verify_flags_rule(&d->fc, k, p);
        printf("                %-18s %" APR_UINT64_T_FMT "  %s\n",
               verify_flag_name(k), verify_flags_count(d->ss.flags, k),
               rule ? rule : "(off)");
    }
    printf("sample:       %" APR_SIZE_T_FMT " drawn + %" APR_SIZE_T_FMT
           " flagged and not drawn = %" APR_SIZE_T_FMT " line%s\n\n", d->k,
           d->flagged_only, d->nout, d->nout == 1 ? "" : "s");
}

static void print_header(const draw_t *d, const audit_args_t *a,
                         apr_pool_t *p)
{
    const verify_scan_t *s = &d->s;
    char hex[65];

    printf("Monthly sample of queries (R5.1, R5.2)%s\n",
           d->official ? "" : ": PREVIEW, NOT the official draw");
    printf("month:        %s (Taipei time)\n", a->month);
    printf("files:        %d: %s\n", s->nread, files_span(s->paths, p));
    verify_hex(s->chain.hash, 32, hex);
    printf("chain:        intact, seq %" APR_UINT64_T_FMT "..%"
           APR_UINT64_T_FMT "%s\n", s->first_seq, s->chain.seq,
           s->recovers ? " (with recovery notes: see verify)" : "");
    printf("chain head:   seq %" APR_UINT64_T_FMT " %s\n", s->chain.seq, hex);
    if (d->ss.end.seq) {
        verify_hex(d->ss.end.hash, 32, hex);
        printf("month end:    seq %" APR_UINT64_T_FMT " %s (the last line "
               "up to the end of %s)\n", d->ss.end.seq, hex, a->month);
    }
    if (d->note) {
        printf("note:         %s\n", d->note);
    }
    print_checkpoint(d, p);
}

void sample_row_cells(json_t *j, const squery_t *q, const char **raw,
                      size_t *rlen, apr_pool_t *p)
{
    raw[0] = apr_psprintf(p, "%" APR_UINT64_T_FMT, q->seq);
    raw[1] = line_ts(j, p);
    query_cells(j, raw + 2, rlen + 2, p);
    raw[8] = safe_subject(j, p);
    raw[9] = status_text(j, p);
    raw[10] = q->drawn ? (q->nflags ? "drawn+flagged" : "drawn")
                       : "flagged";
}

/* The lines shown, as a table, then each flag with its reason. */
static int print_table(draw_t *d, again_t *g, apr_pool_t *p)
{
    static const char *const head[] = {
        "seq", "time", QUERY_HEAD, "subject", "status", "sample"
    };
    static const int maxw[] = { 0, 0, QUERY_MAXW, 10, 32, 0 };
    table_t t;
    size_t i;
    int f;

    table_init(&t, 11, head, maxw, p);
    for (i = 0; i < d->nout; i++) {
        squery_t *q = d->out[i];
        const char *raw[11];
        size_t rlen[11] = { (size_t)-1, (size_t)-1, 0, 0, 0, 0, 0,
                            (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1 };
        json_t *j = read_again(g, q);

        if (!j) {
            return 1;
        }
        sample_row_cells(j, q, raw, rlen, p);
        table_add(&t, raw, rlen);
        json_decref(j);
    }
    table_print(&t, "(long values are cut with \xe2\x80\xa6; --json prints "
                "the lines in full)");
    if (d->flagged) {
        printf("\nflags (R5.2): why each flagged line is in the sample\n");
    }
    for (i = 0; i < d->nout; i++) {
        squery_t *q = d->out[i];
        for (f = q->first_flag; f < q->first_flag + q->nflags; f++) {
            printf("  seq %" APR_UINT64_T_FMT "  %s\n", q->seq,
                   APR_ARRAY_IDX(d->flags, f, verify_flag_t).why);
        }
    }
    return 0;
}

static int print_text(draw_t *d, const audit_args_t *a, again_t *g,
                      apr_pool_t *p)
{
    print_header(d, a, p);
    if (d->ss.n == 0) {
        printf("population:   0 queries in %s: nothing to sample\n",
               a->month);
        return 0;
    }
    print_counts(d, p);
    return print_table(d, g, p);
}

/* -- the command ------------------------------------------------------- */

static int refuse_scan(draw_t *d, int rc)
{
    if (rc == 1) {
        fprintf(stderr, PROG ": no sample drawn: the audit chain is broken, "
                "and a sample must come from an intact log:\n  %s\n(`" PROG
                " verify` on the same files shows it; keep a copy and "
                "investigate, R5.2)\n", safe_str(d->s.p, d->s.fault));
        return 1;
    }
    if (rc < 0) {
        return 1;
    }
    if (d->s.lines && !d->ss.tree_ok) {
        fprintf(stderr, PROG ": no sample drawn: the files given start at "
                "seq %" APR_UINT64_T_FMT ", and the seed's checkpoint is "
                "checked against the log's tree, which needs every line from "
                "seq 1 (give the earlier files too)\n", d->s.first_seq);
        return 1;
    }
    if (!d->s.lines) {
        fprintf(stderr, PROG ": no sample drawn: no audit lines found\n");
        return 1;
    }
    return 0;
}

int cmd_sample(const audit_args_t *a, apr_pool_t *p)
{
    draw_t *d = apr_pcalloc(p, sizeof(*d));
    again_t g;
    int rc;

    if (a->nodes) {
        return sample_nodes(a, p);
    }
    memset(&g, 0, sizeof(g));
    g.fd = -1;
    rc = flags_conf_load(a, &d->fc, p);
    if (rc != 0) {
        return rc;
    }
    d->flags_file = a->flags;
    rc = refuse_scan(d, sample_scan(&d->ss, &d->s, a, &d->fc, p));
    if (rc == 0) {
        rc = choose_seed(d, a, p);
    }
    if (rc == 0) {
        rc = draw(d, p);
    }
    if (rc != 0) {
        goto cleanup;
    }
    verify_flags_end(d->ss.flags);
    d->flags = verify_flags_found(d->ss.flags);
    gather(d, p);
    d->note = month_note(a->month, p);
    g.files = a->files;
    g.line = apr_palloc(p, VERIFY_AUDIT_LINE_MAX);
    g.p = p;
    if (a->as_json) {
        rc = print_json(d, a, &g, p);
        goto cleanup;
    }
    if (!d->official && preview_begin() != 0) {
        rc = 1;
        goto cleanup;
    }
    rc = print_text(d, a, &g, p);
    if (!d->official && preview_end() != 0) {
        rc = 1;
    }
    if (rc == 0) {
        rc = write_failed();
    }

cleanup:
    if (g.fd >= 0) {
        close(g.fd);
    }
    sample_scan_free(&d->ss);
    return rc;
}
