/*
 * sample_nodes_print.c -- the sample of several nodes printed: each
 * node's log and seed checkpoint, the month's seed and how it is made,
 * the counts of all nodes, then the lines drawn or flagged, each named
 * by its node and read again from that node's files; or the same as
 * JSON Lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "sample_nodes.h"

/* What the seed is, in words. */
#define SEED_FROM "SHA-256 of \"mod_verify multi-node seed v1\\n\" and, " \
    "for each node in byte order of origin, its seed checkpoint's origin " \
    "and root (hex), a line each"
#define SELECTION "the sample_size smallest HMAC-SHA256(seed, " \
    "NODE:request_id, with \"/\" and the item for a subject of a batch) " \
    "of the answered queries of all nodes"

const char *nodeq_name(const nodeq_t *x, apr_pool_t *p)
{
    return apr_psprintf(p, "%s seq %" APR_UINT64_T_FMT,
                        x->n->ss.node[0] ? x->n->ss.node : "-", x->q->seq);
}

static const char *node_id(const node_t *n)
{
    return n->ss.node[0] ? n->ss.node : "-";
}

/* -- text -------------------------------------------------------------- */

static void print_note(const char *note, const char *indent, apr_pool_t *p)
{
    const char *s = note, *nl, *line;
    int first = 1;

    while (s && *s) {
        nl = strchr(s, '\n');
        line = apr_pstrmemdup(p, s, nl ? (size_t)(nl - s) : strlen(s));
        printf("%s%s\n", first ? "    note:       " : *line ? indent : "",
               safe_str(p, line));
        first = 0;
        s = nl ? nl + 1 : NULL;
    }
}

static void print_node(const node_t *n, apr_pool_t *p)
{
    const sample_scan_t *ss = &n->ss;
    const seedcp_t *cp = &n->cp;
    const verify_scan_t *s = &n->s;
    char hex[65], b64[45];

    printf("node %s:\n", node_id(n));
    printf("  directory:  %s\n", safe_str(p, n->dir));
    printf("  files:      %d: %s\n", s->nread, files_span(s->paths, p));
    verify_hex(s->chain.hash, 32, hex);
    printf("  chain:      intact, seq %" APR_UINT64_T_FMT "..%"
           APR_UINT64_T_FMT ", head %s%s\n", s->first_seq, s->chain.seq, hex,
           s->recovers ? " (with recovery notes: see verify)" : "");
    if (ss->end.seq) {
        verify_hex(ss->end.hash, 32, hex);
        printf("  month end:  seq %" APR_UINT64_T_FMT " %s\n", ss->end.seq,
               hex);
    }
    printf("  queries:    %" APR_UINT64_T_FMT " answered, %" APR_UINT64_T_FMT
           " refused\n", ss->answered, ss->refused);
    if (n->official) {
        printf("  checkpoint: its seed: the first signed checkpoint made "
               "after %s that covers\n              its last line\n",
               ss->month);
    }
    else {
        printf("  checkpoint: its newest signed checkpoint (NOT the month's "
               "seed: that one is\n              made after the month "
               "ends)\n");
    }
    printf("    origin:     %s\n", safe_str(p, n->origin));
    printf("    size:       %" APR_UINT64_T_FMT "\n", cp->size);
    printf("    root:       %s (hex %s; the node's own tree at that size: "
           "the same)\n", tree_b64(cp->root, b64), n->root_hex);
    printf("    time:       %s\n", safe_str(p, cp->time ? cp->time : "-"));
    printf("    signed by:  %s (checked)\n", safe_str(p, cp->key));
    printf("    kept as:    line seq %" APR_UINT64_T_FMT " of its log%s%s%s"
           "\n", cp->line_seq, cp->reason ? " (reason " : "",
           cp->reason ? safe_str(p, cp->reason) : "", cp->reason ? ")" : "");
    print_note(cp->note, "                ", p);
}


static void print_counts(const nodes_t *ns, apr_pool_t *p)
{
    const char *rule;
    int k;

    printf("seed:         %s\n", ns->seed_hex);
    printf("              (%s%s: docs/audit-guide.md shows it done with "
           "sha256sum)\n", ns->official ? "" : "PREVIEW, not the month's "
           "seed: made as the seed is, from the newest checkpoints: ",
           SEED_FROM);
    printf("population:   %" APR_UINT64_T_FMT " answered quer%s (status 200) "
           "of %d nodes, one population\n", ns->answered,
           ns->answered == 1 ? "y" : "ies", ns->nn);
    printf("refusals:     %" APR_UINT64_T_FMT "%s\n", ns->refused,
           ns->refused ? ", not in the population and never drawn:" : "");
    print_refusals_and_size(ns->refusals, ns->answered, ns->k, p);
    printf("selection:    the %" APR_SIZE_T_FMT " smallest HMAC-SHA256(seed, "
           "NODE:request_id) of the\n              answered queries of all "
           "nodes (NODE:request_id/item for a\n              subject of a "
           "batch): anyone with the logs and the verifier\n              "
           "keys draws the same\n", ns->k);
    printf("flags:        %" APR_SIZE_T_FMT " line%s flagged (R5.2), over the "
           "queries of all nodes,\n              thresholds: %s\n",
           ns->flagged, ns->flagged == 1 ? "" : "s",
           ns->a->flags ? safe_str(p, ns->a->flags) : "built in");
    for (k = 0; k < VERIFY_FLAG_KINDS; k++) {
        rule = verify_flags_rule(&ns->fc, k, p);
        printf("                %-18s %" APR_UINT64_T_FMT "  %s\n",
               verify_flag_name(k), verify_flags_count(ns->flags, k),
               rule ? rule : "(off)");
    }
    printf("sample:       %" APR_SIZE_T_FMT " drawn + %" APR_SIZE_T_FMT
           " flagged and not drawn = %" APR_SIZE_T_FMT " line%s\n\n", ns->k,
           ns->flagged_only, ns->nout, ns->nout == 1 ? "" : "s");
}

static int print_table(nodes_t *ns, apr_pool_t *p)
{
    static const char *const head[] = {
        "node", "seq", "time", QUERY_HEAD, "subject", "status", "sample"
    };
    static const int maxw[] = { 0, 0, 0, QUERY_MAXW, 10, 32, 0 };
    table_t t;
    size_t i;
    int f;

    table_init(&t, 12, head, maxw, p);
    for (i = 0; i < ns->nout; i++) {
        const nodeq_t *x = &ns->out[i];
        const char *raw[12];
        size_t rlen[12] = { (size_t)-1, (size_t)-1, (size_t)-1, 0, 0, 0, 0,
                            0, 0, (size_t)-1, (size_t)-1, (size_t)-1 };
        json_t *j = read_again(&x->n->g, x->q);

        if (!j) {
            return 1;
        }
        raw[0] = node_id(x->n);
        sample_row_cells(j, x->q, raw + 1, rlen + 1, p);
        table_add(&t, raw, rlen);
        json_decref(j);
    }
    table_print(&t, "(long values are cut with \xe2\x80\xa6; --json prints "
                "the lines in full)");
    if (ns->flagged) {
        printf("\nflags (R5.2): why each flagged line is in the sample\n");
    }
    for (i = 0; i < ns->nout; i++) {
        const nodeq_t *x = &ns->out[i];
        for (f = x->q->first_flag; f < x->q->first_flag + x->q->nflags; f++) {
            printf("  %s  %s\n", nodeq_name(x, p),
                   APR_ARRAY_IDX(ns->found, f, verify_flag_t).why);
        }
    }
    return 0;
}

int nodes_print_text(nodes_t *ns, apr_pool_t *p)
{
    int i;

    printf("Monthly sample of queries (R5.1, R5.2): %d nodes, one "
           "population%s\n", ns->nn, ns->official ? ""
           : ": PREVIEW, NOT the official draw");
    printf("month:        %s (Taipei time)\n", ns->a->month);
    if (ns->note) {
        printf("note:         %s\n", ns->note);
    }
    for (i = 0; i < ns->nn; i++) {
        print_node(ns->n[i], p);
    }
    print_counts(ns, p);
    if (ns->answered + ns->refused == 0) {
        printf("population:   0 queries in %s: nothing to sample\n",
               ns->a->month);
        return 0;
    }
    return print_table(ns, p);
}

/* -- JSON --------------------------------------------------------------- */

static json_t *jtext(const char *s)
{
    json_t *v = s ? json_string(s) : json_null();

    return v ? v : json_string("(not UTF-8)");
}

static json_t *json_node(const node_t *n)
{
    const sample_scan_t *ss = &n->ss;
    const seedcp_t *cp = &n->cp;
    const verify_scan_t *s = &n->s;
    json_t *files = json_array(), *o;
    char hex[65], end_hex[65], b64[45];
    int i;

    for (i = 0; i < s->paths->nelts; i++) {
        json_array_append_new(files, jtext(APR_ARRAY_IDX(s->paths, i,
                                                         const char *)));
    }
    verify_hex(s->chain.hash, 32, hex);
    verify_hex(ss->end.hash, 32, end_hex);
    o = json_object();
    json_object_set_new(o, "directory", jtext(n->dir));
    json_object_set_new(o, "node", ss->node[0] ? json_string(ss->node)
                                               : json_null());
    json_object_set_new(o, "origin", jtext(n->origin));
    json_object_set_new(o, "official", json_boolean(n->official));
    json_object_set_new(o, "files", files);
    json_object_set_new(o, "chain", json_pack("{s:b,s:I,s:I,s:s}", "intact",
                        1, "first_seq", (json_int_t)s->first_seq,
                        "last_seq", (json_int_t)s->chain.seq, "head", hex));
    json_object_set_new(o, "month_end", ss->end.seq
                        ? json_pack("{s:I,s:s}", "seq",
                                    (json_int_t)ss->end.seq, "hash", end_hex)
                        : json_null());
    json_object_set_new(o, "checkpoint", json_pack(
        "{s:I,s:s,s:s,s:o,s:s,s:I,s:o,s:o}",
        "size", (json_int_t)cp->size, "root", tree_b64(cp->root, b64),
        "root_hex", n->root_hex, "time", jtext(cp->time), "key", cp->key,
        "line_seq", (json_int_t)cp->line_seq, "reason", jtext(cp->reason),
        "note", jtext(cp->note)));
    json_object_set_new(o, "population",
                        json_integer((json_int_t)ss->answered));
    json_object_set_new(o, "refused", json_integer((json_int_t)ss->refused));
    return o;
}

static json_t *json_flags(const nodes_t *ns, apr_pool_t *p)
{
    json_t *rules = json_object(), *counts = json_object();
    int k;

    for (k = 0; k < VERIFY_FLAG_KINDS; k++) {
        json_object_set_new(rules, verify_flag_name(k),
                            jtext(verify_flags_rule(&ns->fc, k, p)));
        json_object_set_new(counts, verify_flag_name(k), json_integer(
            (json_int_t)verify_flags_count(ns->flags, k)));
    }
    return json_pack("{s:o,s:I,s:o,s:o}", "thresholds", jtext(ns->a->flags),
                     "lines", (json_int_t)ns->flagged, "rules", rules,
                     "counts", counts);
}

static json_t *json_refusals(const nodes_t *ns, apr_pool_t *p)
{
    json_t *by = json_array();
    apr_hash_index_t *hi;
    refusal_t *rf;

    for (hi = apr_hash_first(p, ns->refusals); hi; hi = apr_hash_next(hi)) {
        rf = apr_hash_this_val(hi);
        json_array_append_new(by, json_pack("{s:i,s:o,s:I}", "status",
                              rf->status, "error", jtext(rf->error),
                              "count", (json_int_t)rf->n));
    }
    return json_pack("{s:I,s:o}", "count", (json_int_t)ns->refused,
                     "by_error", by);
}

/* One JSON value as a line on stdout: 0, or 1 out of memory. */
static int put(json_t *o, apr_pool_t *p)
{
    char *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

    json_decref(o);
    if (!out) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    json_line(out, strlen(out), p);
    free(out);
    return 0;
}

int nodes_print_json(nodes_t *ns, apr_pool_t *p)
{
    json_t *h = json_object(), *nodes = json_array(), *o, *fl, *j;
    size_t i;
    int f;

    for (f = 0; f < ns->nn; f++) {
        json_array_append_new(nodes, json_node(ns->n[f]));
    }
    json_object_set_new(h, "tool", json_string(PROG " sample"));
    json_object_set_new(h, "official", json_boolean(ns->official));
    json_object_set_new(h, "preview", ns->official ? json_null()
                        : json_string(NODES_PREVIEW_TEXT));
    json_object_set_new(h, "month", json_string(ns->a->month));
    json_object_set_new(h, "nodes", nodes);
    json_object_set_new(h, "seed", json_string(ns->seed_hex));
    json_object_set_new(h, "seed_from", json_string(SEED_FROM));
    json_object_set_new(h, "population",
                        json_integer((json_int_t)ns->answered));
    json_object_set_new(h, "refusals", json_refusals(ns, p));
    json_object_set_new(h, "sample_size", json_integer((json_int_t)ns->k));
    json_object_set_new(h, "rule", json_string(verify_sample_rule(
                                       (size_t)ns->answered)));
    json_object_set_new(h, "selection", json_string(SELECTION));
    json_object_set_new(h, "flags", json_flags(ns, p));
    json_object_set_new(h, "lines", json_pack("{s:I,s:I,s:I}",
                        "drawn", (json_int_t)ns->k,
                        "flagged_only", (json_int_t)ns->flagged_only,
                        "shown", (json_int_t)ns->nout));
    json_object_set_new(h, "note", jtext(ns->note));
    if (put(h, p) != 0) {
        return 1;
    }
    for (i = 0; i < ns->nout; i++) {
        const nodeq_t *x = &ns->out[i];
        j = read_again(&x->n->g, x->q);
        if (!j) {
            return 1;
        }
        json_decref(j);
        fl = json_array();
        for (f = x->q->first_flag; f < x->q->first_flag + x->q->nflags; f++) {
            const verify_flag_t *v = &APR_ARRAY_IDX(ns->found, f,
                                                    verify_flag_t);
            json_array_append_new(fl, json_pack("{s:s,s:s}", "flag",
                                  verify_flag_name(v->kind), "why", v->why));
        }
        o = json_pack("{s:o,s:I,s:b,s:o,s:b,s:o}", "node",
                      x->n->ss.node[0] ? json_string(x->n->ss.node)
                                       : json_null(),
                      "seq", (json_int_t)x->q->seq, "drawn", x->q->drawn,
                      "flags", fl, "official", ns->official, "preview",
                      ns->official ? json_null()
                                   : json_string(NODES_PREVIEW_TEXT));
        json_object_set_new(o, "line", json_stringn(x->n->g.line,
                                                    x->n->g.len));
        if (put(o, p) != 0) {
            return 1;
        }
    }
    return 0;
}
