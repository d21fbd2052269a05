/*
 * sample_scan.c -- one reading of the log for a month's sample: the
 * chain checked (lazily: each line checked as JSON, its members read in
 * place), the month's queries kept by place with their request_id, the
 * refusals counted by error, the flags fed, every line a leaf of the
 * tree, and the checkpoint lines weighed as the seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "sample.h"
#include "flags_line.h"

/* Distinct refusals counted one by one; the rest are lumped. */
#define REFUSALS_MAX 64

/* The string member @p key of the current line (unescaped into ss->buf
 * when it holds escapes), or NULL. */
static const char *member(sample_scan_t *ss, const verify_flat_t *f,
                          const char *key, size_t *len, size_t *used)
{
    const char *s = verify_flat_str(f, key, ss->buf + *used,
                                    VERIFY_AUDIT_LINE_MAX - *used, len);

    if (s == ss->buf + *used) {
        *used += *len;
    }
    return s;
}

/* The query's fields as the flags see them. */
static void flags_query(sample_scan_t *ss, const verify_flat_t *f,
                        uint64_t seq, verify_flags_query_t *fq)
{
    flags_query_read(f, seq, ss->buf, fq);
}

/* A refused query, counted by status and error (ss->buf is free: the
 * flags are done with the line). */
static void count_refusal(sample_scan_t *ss, const verify_flags_query_t *fq,
                          const verify_flat_t *f)
{
    const char *err, *key;
    size_t elen = 0;
    char kb[96];
    refusal_t *r;

    err = verify_flat_str(f, "error", ss->buf, VERIFY_AUDIT_LINE_MAX, &elen);
    apr_snprintf(kb, sizeof(kb), "%03d %.*s", fq->status,
                 err ? (int)(elen < 80 ? elen : 80) : 0, err ? err : "");
    key = kb;
    r = apr_hash_get(ss->refusals, key, APR_HASH_KEY_STRING);
    if (!r && apr_hash_count(ss->refusals) >= REFUSALS_MAX) {
        key = "(other)";
        r = apr_hash_get(ss->refusals, key, APR_HASH_KEY_STRING);
    }
    if (!r) {
        r = apr_pcalloc(ss->p, sizeof(*r));
        r->status = key == kb ? fq->status : 0;
        r->error = err && key == kb ? apr_pstrmemdup(ss->p, err, elen)
                                    : NULL;
        apr_hash_set(ss->refusals, apr_pstrdup(ss->p, key),
                     APR_HASH_KEY_STRING, r);
    }
    r->n++;
    ss->refused++;
}

/* A query line of one node of several: it names the node, the same as
 * every query before it in the month (ss->node). 0, or -1 with
 * ss->error said. */
static int node_of(sample_scan_t *ss, const verify_flat_t *f, uint64_t seq)
{
    char got[VERIFY_NODE_MAX + 1];
    const char *n;
    size_t len = 0;

    n = verify_flat_str(f, "node", got, sizeof(got) - 1, &len);
    if (n && len <= VERIFY_NODE_MAX) {
        memmove(got, n, len);
        got[len] = '\0';
    }
    if (!n || len > VERIFY_NODE_MAX || !verify_node_valid(got)) {
        ss->error = apr_psprintf(ss->p, "no sample drawn: the query line "
                                 "of seq %" APR_UINT64_T_FMT " names no "
                                 "node: with several directories, each is "
                                 "one node's log and each line names its "
                                 "node (VerifyNodeId, docs/scaling.md)",
                                 seq);
        return -1;
    }
    if (!ss->node[0]) {
        memcpy(ss->node, got, len + 1);
    }
    else if (strcmp(ss->node, got)) {
        ss->error = apr_psprintf(ss->p, "no sample drawn: the query line "
                                 "of seq %" APR_UINT64_T_FMT " names the "
                                 "node %s, the month's queries before it %s: "
                                 "each directory given must be the log of "
                                 "one node", seq, got, ss->node);
        return -1;
    }
    return 0;
}

/* A query of the month, kept by place. */
static int keep_query(sample_scan_t *ss, verify_scan_t *s,
                      const verify_flat_t *f, const verify_flags_query_t *fq,
                      int fi, apr_off_t off)
{
    const char *rid;
    squery_t *q, *nq;
    size_t rlen, used = 0, cap;
    char *nr;

    if (ss->n == ss->cap) {
        cap = ss->cap ? 2 * ss->cap : 1 << 16;
        nq = big_grow(ss->q, ss->cap * sizeof(*nq), cap * sizeof(*nq));
        if (!nq) {
            ss->error = apr_psprintf(ss->p, "out of memory after %"
                                     APR_SIZE_T_FMT " queries", ss->n);
            return -1;
        }
        ss->q = nq;
        ss->cap = cap;
    }
    if (ss->multi && node_of(ss, f, s->chain.seq) != 0) {
        return -1;
    }
    q = &ss->q[ss->n++];        /* zeroed: fresh pages */
    q->seq = s->chain.seq;
    q->off = off;
    q->file = fi;
    q->answered = fq->status == 200;
    memcpy(q->hash, s->chain.hash, 32);
    /* the unescaped fields in ss->buf are done with: reuse it */
    rid = member(ss, f, "request_id", &rlen, &used);
    if (rid && rlen) {
        /* what the query is ranked by: a subject of a batch by
         * request_id/item */
        char suffix[VERIFY_SAMPLE_SUFFIX_MAX];
        int64_t item;
        size_t slen = verify_sample_item_suffix(
            verify_flat_int(f, "item", &item) == 0 ? item : -1, suffix);
        /* of several nodes: "NODE:" first (two nodes could repeat a
         * request_id; a node id holds no ':') */
        size_t nlen = ss->multi ? strlen(ss->node) + 1 : 0;
        if (ss->rids_len + nlen + rlen + slen > ss->rids_cap) {
            cap = ss->rids_cap ? 2 * ss->rids_cap : 1 << 21;
            while (cap < ss->rids_len + nlen + rlen + slen) {
                cap *= 2;
            }
            nr = big_grow(ss->rids, ss->rids_cap, cap);
            if (!nr) {
                ss->error = "out of memory for the request_ids";
                return -1;
            }
            ss->rids = nr;
            ss->rids_cap = cap;
        }
        if (nlen) {
            memcpy(ss->rids + ss->rids_len, ss->node, nlen - 1);
            ss->rids[ss->rids_len + nlen - 1] = ':';
        }
        memcpy(ss->rids + ss->rids_len + nlen, rid, rlen);
        memcpy(ss->rids + ss->rids_len + nlen + rlen, suffix, slen);
        rlen += nlen + slen;
        q->rid = ss->rids_len;
        q->rid_len = (uint32_t)rlen;
        ss->rids_len += rlen;
    }
    if (q->answered) {
        ss->answered++;
    }
    else {
        count_refusal(ss, fq, f);
    }
    return 0;
}

static int is_op(const verify_flat_t *f, const char *op)
{
    const verify_flat_member_t *m = verify_flat_get(f, "op");
    size_t len = strlen(op);

    return m && m->type == VERIFY_FLAT_STRING && !m->val.esc
           && m->val.len == len && !memcmp(m->val.s, op, len);
}

static int sample_line(verify_scan_t *s, const char *line, size_t len,
                       json_t *j, int bad, int fi, apr_off_t off)
{
    sample_scan_t *ss = s->ctx;
    const verify_flat_t *f = s->flat;
    unsigned char leaf[VERIFY_MERKLE_HASH_LEN];
    verify_flags_query_t fq;
    const char *ts;
    size_t tslen, used = 0;
    int64_t size;
    int where = 2;              /* -1 before the month, 0 in it, 1 after */

    if (s->lines == 1) {
        ss->tree_ok = s->chain.seq == 1;
    }
    ts = member(ss, f, "ts", &tslen, &used);
    if (ts && tslen >= 8 && ts[7] == '-') {
        where = memcmp(ts, ss->month, 7);
        where = where < 0 ? -1 : where > 0;
    }
    if (where == 1 && !ss->past) {
        ss->past = 1;
        snap_start(&ss->at_end, &ss->edge);
    }
    else if (where <= 0 && ss->past) {
        ss->error = apr_psprintf(ss->p, "no sample drawn: the line of seq %"
                                 APR_UINT64_T_FMT " has a ts in %s or before "
                                 "after lines of a later month: the month's "
                                 "lines cannot be told from the next one's",
                                 s->chain.seq, ss->month);
        return -1;
    }
    /* the tree, until the seed is found: its root checks the seed */
    if (ss->tree_ok && !ss->seed.found) {
        if (verify_merkle_leaf_hash(line, len, leaf) != APR_SUCCESS
            || verify_merkle_edge_append(&ss->edge, leaf) != APR_SUCCESS) {
            ss->error = "cannot hash (OpenSSL)";
            return -1;
        }
        snap_add(&ss->at_end, leaf);
        snap_add(&ss->at_cp[ss->cp_cur], leaf);
    }
    if (where <= 0) {
        ss->end = s->chain;
    }
    if (is_op(f, "verify") && where <= 0) {
        flags_query(ss, f, s->chain.seq, &fq);
        if (where < 0) {
            verify_flags_before(ss->flags, &fq);
            return 0;
        }
        if (!ss->multi) {
            verify_flags_add(ss->flags, &fq);
        }
        return keep_query(ss, s, f, &fq, fi, off);
    }
    if (!is_op(f, "checkpoint") || ss->seed.found || !ss->tree_ok
        || verify_flat_int(f, "size", &size) != 0 || size < 0) {
        return 0;
    }
    if (ss->a->nkeys && ss->past && (uint64_t)size >= ss->end.seq
        && seed_consider_line(ss, line, len, s->chain.seq) != 0) {
        return -1;
    }
    if (!ss->seed.found) {
        seed_note_line(ss, line, len, s->chain.seq, (uint64_t)size);
    }
    apr_pool_clear(ss->scratch);
    return 0;
}

static int scan_month(sample_scan_t *ss, verify_scan_t *s,
                      const audit_args_t *a, apr_pool_t *p)
{
    verify_date_t last, next;
    char day[11];
    int rc;

    ss->a = a;
    ss->p = p;
    apr_pool_create(&ss->scratch, p);
    apr_cpystrn(ss->month, a->month, sizeof(ss->month));
    /* the first second after the month: the 1st of the next one */
    last = verify_date_month_end(verify_date_parse_month(a->month,
                                                         strlen(a->month)));
    next = last / 100 % 100 == 12 ? (last / 10000 + 1) * 10000 + 101
                                  : (last / 100 + 1) * 100 + 1;
    verify_date_format(next, day);
    apr_snprintf(ss->next, sizeof(ss->next), "%sT00:00:00+08:00", day);
    ss->refusals = apr_hash_make(p);
    ss->buf = apr_palloc(p, VERIFY_AUDIT_LINE_MAX);
    verify_merkle_edge_init(&ss->edge);
    snap_start(&ss->at_cp[0], &ss->edge);  /* for the first checkpoint */
    scan_init(s, a, sample_line, ss, p);
    s->lazy = 1;
    rc = scan_run(s);
    if (rc < 0 && ss->error) {
        fprintf(stderr, PROG ": %s%s\n", ss->label, safe_str(p, ss->error));
    }
    if (rc == 0 && !ss->past) {
        /* nothing after the month yet: the tree ends at its last line */
        snap_start(&ss->at_end, &ss->edge);
        ss->at_end.active = 0;
    }
    return rc;
}

int sample_scan(sample_scan_t *ss, verify_scan_t *s, const audit_args_t *a,
                const verify_flags_conf_t *fc, apr_pool_t *p)
{
    memset(ss, 0, sizeof(*ss));
    ss->label = "";
    ss->flags = verify_flags_make(fc, p);
    return scan_month(ss, s, a, p);
}

int sample_scan_node(sample_scan_t *ss, verify_scan_t *s,
                     const audit_args_t *a, verify_flags_t *flags,
                     const char *label, apr_pool_t *p)
{
    memset(ss, 0, sizeof(*ss));
    ss->multi = 1;
    ss->label = label;
    ss->flags = flags;
    return scan_month(ss, s, a, p);
}

void sample_scan_free(sample_scan_t *ss)
{
    big_free(ss->q, ss->cap * sizeof(*ss->q));
    big_free(ss->rids, ss->rids_cap);
    line_copy_free(&ss->newest_line);
    snap_free(&ss->at_end);
    snap_free(&ss->at_cp[0]);
    snap_free(&ss->at_cp[1]);
}
