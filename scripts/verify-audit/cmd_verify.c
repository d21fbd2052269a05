/*
 * cmd_verify.c -- is the audit log intact, and, with --verifier, is it
 * the log its signed checkpoints committed to?
 *
 * One reading checks the chain line by line (verify_chain_scan), adds
 * every line to the tree, and checks each checkpoint line as it comes:
 * the line by itself (cpline.c), its size never below the one before,
 * and its root against the log's at its size. A checkpoint is written a
 * few lines after the size it signs, so that root comes from the recent
 * roots the walk keeps; one further back is checked by a second reading
 * (memory never grows with the log). Checkpoints held elsewhere
 * (--witnessed) are known before the reading starts: their roots are
 * taken as the tree passes their sizes. After a purge the tree goes on
 * from the right edge the purge checkpoint kept; the first signed root
 * after it proves that edge.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include "print.h"
#include "tool.h"
#include "verify_chain_par.h"
#include "verify_ctx.h"

/* Notes and faults of the chain as the scan finds them: they hold file
 * names and log text (an audit_recover line's detail). */
static void print_note(verify_scan_t *s, const char *msg)
{
    printf("%s\n", safe_str(s->p, msg));
}

/* Say a fault of the checkpoints (@p msg safe to show); keep the first. */
static void fault(vctx_t *v, uint64_t *count, const char *msg)
{
    (*count)++;
    v->faults++;
    if (!v->first_fault) {
        v->first_fault = apr_pstrdup(v->p, msg);
    }
    if (*count <= SHOWN) {
        printf("%s\n", msg);
    }
    else if (*count == SHOWN + 1) {
        printf("(more of these are counted, not shown)\n");
    }
}

static void line_ts_copy(char out[40], json_t *j)
{
    const char *ts = jstr(j, "ts");

    apr_cpystrn(out, ts ? ts : "", 40);
}

/* The same two, from the index of a sound line: read for every line,
 * so without jansson (most of verify's time went to parsing lines whose
 * only use was these two members). */
static void flat_ts_copy(char out[40], const verify_flat_t *f)
{
    char buf[40];
    size_t len;
    const char *ts = verify_flat_str(f, "ts", buf, sizeof(buf), &len);

    apr_cpystrn(out, ts ? ts : "", len < 39 ? len + 1 : 40);
}

static int flat_is_checkpoint(const verify_flat_t *f)
{
    char buf[16];
    size_t len;
    const char *op = verify_flat_str(f, "op", buf, sizeof(buf), &len);

    return op && len == 10 && !memcmp(op, "checkpoint", 10);
}

/* One checkpoint line (@p line, @p len bytes), after the chain
 * accepted it: @p why is what cpline_check() said of it, or NULL with
 * @p cp, @p by and @p ts (its ts, as line_ts_copy) what it found. */
static void check_found(vctx_t *v, verify_scan_t *s, const char *why,
                        const verify_checkpoint_t *cpf, int by,
                        const char *ts, int file, const char *line,
                        size_t len)
{
    unsigned char root[VERIFY_MERKLE_HASH_LEN];
    uint64_t seq = s->chain.seq;
    verify_checkpoint_t cp = *cpf;
    deferred_t *d;
    const char *where;
    char b1[45], b2[45];
    apr_status_t rv = APR_ENOENT;
    int rooted = 0;

    where = apr_psprintf(v->scratch, "%s:%" APR_UINT64_T_FMT,
                         safe_str(v->scratch, s->files[file].path),
                         s->files[file].lines);
    if (!why && v->last_seq && cp.size < v->last_size) {
        why = apr_psprintf(v->scratch, "its size %" APR_UINT64_T_FMT " is "
                           "below the size %" APR_UINT64_T_FMT " of the "
                           "checkpoint at seq %" APR_UINT64_T_FMT " (sizes "
                           "never go back: lines were cut and written "
                           "again, or the line was copied from elsewhere)",
                           cp.size, v->last_size, v->last_seq);
    }
    if (!why && v->tree) {
        rv = walk_root_at(&v->walk, cp.size, root);
        if (rv == APR_ENOENT) {
            v->unrooted++;      /* its lines were purged */
        }
        else if (rv == APR_INCOMPLETE) {
            d = apr_array_push(v->deferred);
            d->seq = seq;
            d->size = cp.size;
            memcpy(d->root, cp.root, sizeof(d->root));
            d->where = apr_pstrdup(v->p, where);
        }
        else if (rv != APR_SUCCESS) {
            why = "cannot compute the tree's root";
        }
        else if (!(rooted = !memcmp(root, cp.root, sizeof(root)))) {
            why = apr_psprintf(v->scratch, "the log's root at size %"
                               APR_UINT64_T_FMT " is %s, the note signed %s: "
                               "lines 1..%" APR_UINT64_T_FMT " are not the "
                               "lines that were signed", cp.size,
                               tree_b64(root, b1), tree_b64(cp.root, b2),
                               cp.size);
        }
    }
    if (why && v->vouch) {
        /* refused for another reason: said as it is only if its
         * signature holds too, else the reason would be the wrong one */
        vouch_refused(v->vouch, line, len, seq, v->scratch);
    }
    if (why) {
        fault(v, &v->cp_bad, apr_psprintf(v->scratch, "%s: BAD CHECKPOINT at "
                                          "seq %" APR_UINT64_T_FMT ": %s",
                                          where, seq,
                                          safe_str(v->scratch, why)));
        return;
    }
    if (v->vouch) {
        vouch_add(v->vouch, line, len, seq, cp.size, rooted, v->scratch);
    }
    if (v->cp_ok++ == 0) {
        v->first_size = cp.size;
    }
    v->by_key[by]++;
    v->last_size = cp.size;
    v->last_seq = seq;
    apr_cpystrn(v->last_ts, ts, sizeof(v->last_ts));
    if (cp.size > v->signed_through) {
        v->signed_through = cp.size;
    }
}

/* One checkpoint line, after the chain accepted it. */
static void check_line(vctx_t *v, verify_scan_t *s, json_t *j, int file,
                       const char *line, size_t len)
{
    verify_checkpoint_t cp;
    const char *why;
    char ts[40];
    int by = 0;

    memset(&cp, 0, sizeof(cp));
    why = cpline_check(v->a, j, s->chain.seq, &cp, &by, v->scratch);
    line_ts_copy(ts, j);
    check_found(v, s, why, &cp, by, ts, file, line, len);
}

/* At the first line: where the tree starts (seq 1, or the edge of the
 * purge the chain resumes after), and the roots --witnessed asks for. */
static void start_tree(vctx_t *v, const verify_scan_t *s)
{
    audit_held_t *h;
    int i;

    v->started = 1;
    if (s->first_seq != 1 && s->from_checkpoint && v->purge_edge
        && v->purge_edge->size + 1 == s->first_seq) {
        walk_start_at(&v->walk, v->purge_edge);
    }
    v->tree = v->walk.base + 1 == s->first_seq;
    for (i = 0; v->held && i < v->held->nelts; i++) {
        h = &APR_ARRAY_IDX(v->held, i, audit_held_t);
        h->want = walk_want(&v->walk, h->size);
    }
}

static int verify_line(verify_scan_t *s, const char *line, size_t len,
                       json_t *j, int bad, int file, apr_off_t off)
{
    vctx_t *v = s->ctx;

    if (!v->started) {
        start_tree(v, s);
    }
    if (walk_leaf(&v->walk, line, len) != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot hash (OpenSSL)\n");
        return -1;
    }
    if (j) {                    /* a line after a fault, parsed */
        line_ts_copy(v->line_ts, j);
        if (!is_checkpoint(j)) {
            return 0;
        }
        json_incref(j);
    }
    else {                      /* a sound line, indexed (s->lazy) */
        flat_ts_copy(v->line_ts, s->flat);
        if (!flat_is_checkpoint(s->flat)) {
            return 0;
        }
        /* rare: the whole line, as check_line reads it */
        j = json_loadb(line, len, VERIFY_SCAN_JSON_FLAGS, NULL);
    }
    v->lines_cp++;
    if (v->a->nkeys && j) {
        check_line(v, s, j, file, line, len);
        apr_pool_clear(v->scratch);
    }
    json_decref(j);
    return 0;
}

/* In a worker thread: the work of verify_line that needs only the line
 * (the ts, a checkpoint line's signature; the leaf hash the scan made
 * with the chain hash), ahead. */
static int verify_pre(void *ctx, const char *line, size_t len, uint64_t seq,
                      const unsigned char *leaf, const verify_flat_t *flat,
                      void *extra, apr_pool_t *p)
{
    const vctx_t *v = ctx;
    vpre_t *x = extra;
    verify_checkpoint_t cp;
    int by = 0;

    memcpy(x->leaf, leaf, sizeof(x->leaf));     /* par.leaf */
    flat_ts_copy(x->line_ts, flat);
    if (!flat_is_checkpoint(flat)) {
        return 0;
    }
    x->cp = CP_LINE;
    if (!v->a->nkeys) {
        return 0;
    }
    if (cpline_sound_flat(v->a, flat, seq, &cp, &by, p)) {
        x->cp = CP_SOUND;
        x->by = by;
        x->size = cp.size;
        memcpy(x->root, cp.root, sizeof(x->root));
        memcpy(x->cp_ts, x->line_ts, sizeof(x->cp_ts));
    }
    return 0;
}

/* verify_line of a line the workers found sound, with what they found. */
static int verify_found(verify_scan_t *s, const char *line, size_t len,
                        const void *extra, int file, apr_off_t off)
{
    vctx_t *v = s->ctx;
    const vpre_t *x = extra;
    verify_checkpoint_t cp;
    json_t *j;

    if (!v->started) {
        start_tree(v, s);
    }
    if (walk_leaf_hash(&v->walk, x->leaf) != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot hash (OpenSSL)\n");
        return -1;
    }
    memcpy(v->line_ts, x->line_ts, sizeof(v->line_ts));
    if (x->cp == CP_NONE) {
        return 0;
    }
    v->lines_cp++;
    if (!v->a->nkeys) {
        return 0;
    }
    if (x->cp == CP_SOUND) {
        memset(&cp, 0, sizeof(cp));
        cp.size = x->size;
        memcpy(cp.root, x->root, sizeof(cp.root));
        check_found(v, s, NULL, &cp, x->by, x->cp_ts, file, line, len);
    }
    else if ((j = json_loadb(line, len, VERIFY_SCAN_JSON_FLAGS, NULL))
             != NULL) {
        check_line(v, s, j, file, line, len);
        json_decref(j);
    }
    apr_pool_clear(v->scratch);
    return 0;
}

/* The checkpoints whose roots were too far back: a second reading. */
static int check_deferred(vctx_t *v, const verify_chain_t *head)
{
    audit_walk_t w;
    audit_want_t *x;
    deferred_t *d;
    char b1[45], b2[45];
    int i;

    if (v->deferred->nelts == 0) {
        return 0;
    }
    walk_init(&w, v->p);
    if (v->walk.base) {
        walk_start_at(&w, &v->walk.base_edge);
    }
    for (i = 0; i < v->deferred->nelts; i++) {
        d = &APR_ARRAY_IDX(v->deferred, i, deferred_t);
        /* sound checkpoints' sizes never decrease */
        d->want = walk_want(&w, d->size);
    }
    if (tree_reread(v->a, "verify", &w, head, v->p) != 0) {
        return 1;
    }
    for (i = 0; i < v->deferred->nelts; i++) {
        d = &APR_ARRAY_IDX(v->deferred, i, deferred_t);
        x = &APR_ARRAY_IDX(w.want, d->want, audit_want_t);
        if (memcmp(x->root, d->root, sizeof(d->root))) {
            fault(v, &v->cp_bad, apr_psprintf(v->p, "%s: BAD CHECKPOINT at "
                  "seq %" APR_UINT64_T_FMT ": the log's root at size %"
                  APR_UINT64_T_FMT " is %s, the note signed %s: lines 1..%"
                  APR_UINT64_T_FMT " are not the lines that were signed",
                  d->where, d->seq, d->size, tree_b64(x->root, b1),
                  tree_b64(d->root, b2), d->size));
        }
    }
    return 0;
}

/* The --witnessed checkpoints against the log's roots at their sizes. */
static void check_held(vctx_t *v, const apr_array_header_t *held,
                       uint64_t head, uint64_t *agree, uint64_t *bad)
{
    const audit_held_t *h;
    const audit_want_t *x;
    char b1[45], b2[45];
    int i;

    for (i = 0; i < held->nelts; i++) {
        h = &APR_ARRAY_IDX(held, i, audit_held_t);
        x = &APR_ARRAY_IDX(v->walk.want, h->want, audit_want_t);
        if (h->size > head) {
            fault(v, bad, apr_psprintf(v->p, "%s: WITNESSED CHECKPOINT "
                  "BEYOND THE LOG: size %" APR_UINT64_T_FMT ", but the log "
                  "ends at seq %" APR_UINT64_T_FMT ": seq %" APR_UINT64_T_FMT
                  "..%" APR_UINT64_T_FMT " are missing (lines cut from the "
                  "end, or an older copy of the log restored)",
                  held_where(h, v->p), h->size, head, head + 1, h->size));
        }
        else if (!v->tree || h->size < v->walk.base) {
            continue;
        }
        else if (!x->got || memcmp(x->root, h->root, sizeof(h->root))) {
            fault(v, bad, apr_psprintf(v->p, "%s: WITNESSED CHECKPOINT "
                  "CONTRADICTS THE LOG: size %" APR_UINT64_T_FMT ": it signed "
                  "root %s, the log's root at size %" APR_UINT64_T_FMT " is "
                  "%s: lines 1..%" APR_UINT64_T_FMT " are not the lines that "
                  "were signed", held_where(h, v->p), h->size,
                  tree_b64(h->root, b1), h->size, tree_b64(x->root, b2),
                  h->size));
        }
        else {
            (*agree)++;
            if (h->size > v->signed_through) {
                v->signed_through = h->size;
            }
        }
    }
}

/*
 * A log that does not start at seq 1 gives no roots to check the
 * checkpoints with. That is lawful only after a purge, and purge deletes
 * nothing younger than 5 years; a first day file removed by whoever can
 * write the directory (with or without a purge checkpoint forged beside
 * it) is not. The fault, or NULL.
 */
static const char *start_fault(const verify_scan_t *s, apr_pool_t *p)
{
    verify_date_t limit = verify_date_months_before(
        verify_date_taipei(apr_time_now()), KEEP_MONTHS);
    verify_date_t through;
    char d1[11], d2[11];

    if (!s->from_checkpoint) {
        return apr_psprintf(p, "LOG START MISSING: the log starts at seq %"
                            APR_UINT64_T_FMT " and no purge checkpoint says "
                            "the lines before it were purged: seq 1..%"
                            APR_UINT64_T_FMT " are missing (a day file "
                            "removed, or not given: give the whole audit "
                            "directory)", s->first_seq, s->first_seq - 1);
    }
    through = verify_audit_checkpoint_name_date(s->checkpoint);
    if (through && through < limit) {
        return NULL;
    }
    verify_date_format(through, d1);
    verify_date_format(limit, d2);
    return apr_psprintf(p, "LOG START MISSING: the log starts at seq %"
                        APR_UINT64_T_FMT " after the purge checkpoint %s, "
                        "which says the days through %s were purged: less "
                        "than 5 years ago (only days before %s may be), and "
                        "purge refuses that, so seq 1..%" APR_UINT64_T_FMT
                        " were removed another way", s->first_seq,
                        safe_str(p, s->checkpoint), d1, d2,
                        s->first_seq - 1);
}

/* The tree's right edge the purge checkpoint kept, or NULL (none, or
 * from a purge that kept none: said). A forged one is caught by the
 * first signed root after it. */
static verify_merkle_edge_t *purge_edge(const audit_args_t *a, apr_pool_t *p)
{
    verify_merkle_edge_t *e;
    char *err = NULL;
    apr_status_t rv;

    if (!a->checkpoint) {
        return NULL;
    }
    e = apr_palloc(p, sizeof(*e));
    rv = verify_audit_checkpoint_edge(a->checkpoint, (uid_t)-1, e, &err, p);
    if (rv == APR_SUCCESS) {
        return e;
    }
    if (!APR_STATUS_IS_ENOENT(rv)) {
        printf("note: the purge checkpoint's tree edge cannot be read (%s): "
               "the roots after the purge cannot be computed\n",
               safe_str(p, err));
    }
    return NULL;
}

/* One reading of the log: with @p a as given every signature is
 * checked on the way; with @p vouch, @p a is a copy with named_only and
 * vouch.c checks (with vouch->a) the signatures the rest rest on. */
static int verify_read(const audit_args_t *a, vouch_t *vouch,
                       apr_pool_t *p)
{
    unsigned char root[VERIFY_MERKLE_HASH_LEN];
    apr_array_header_t *held = NULL;
    uint64_t agree = 0, held_bad = 0, refused = 0, missing = 0;
    verify_scan_t s;
    verify_par_t par;
    const char *tail = NULL, *why;
    char hex[65], b64[45];
    vctx_t v;
    int rc;

    memset(&par, 0, sizeof(par));
    if (scan_threads(&par) != 0) {
        return 2;
    }
    memset(&v, 0, sizeof(v));
    v.a = a;
    v.p = p;
    apr_pool_create(&v.scratch, p);
    v.deferred = apr_array_make(p, 4, sizeof(deferred_t));
    v.by_key = apr_pcalloc(p, (apr_size_t)(a->nkeys + 1) * sizeof(uint64_t));
    walk_init(&v.walk, p);
    if (a->nkeys) {
        walk_keep_history(&v.walk, p);
        /* checkpoints kept elsewhere: each signature checked */
        rc = held_read(vouch ? vouch->a : a, 0, &held, p);
        if (rc < 0) {
            return 1;
        }
        refused = (uint64_t)rc;
        v.faults += refused;
        v.held = held;
    }
    v.purge_edge = purge_edge(a, p);
    v.vouch = vouch;
    scan_init(&s, a, verify_line, &v, p);
    s.lazy = 1;
    s.note_fn = print_note;
    par.extra_size = sizeof(vpre_t);
    par.leaf = 1;
    par.pre_fn = verify_pre;
    par.line_fn = verify_found;
    rc = scan_run_par(&s, &par);
    if (vouch && vouch_end(vouch, v.scratch)) {
        return 1;               /* read again, every signature checked */
    }
    if (rc != 0) {
        return 1;
    }
    if (s.lines == 0) {
        printf("no audit lines found\n");
        return 1;
    }
    if (v.tree && check_deferred(&v, &s.chain) != 0) {
        return 1;
    }
    if (held) {
        check_held(&v, held, s.chain.seq, &agree, &held_bad);
    }
    if (a->nkeys && s.first_seq != 1 && (why = start_fault(&s, p)) != NULL) {
        fault(&v, &missing, why);
    }
    verdict_checked(&v, held, agree);
    /* the tree next: the verdict stays the last line */
    if (!v.tree) {
        printf("tree: not computed: the log starts at seq %" APR_UINT64_T_FMT
               " (the lines before were purged or not given)\n", s.first_seq);
    }
    else if (verify_merkle_edge_root(&v.walk.edge, root) == APR_SUCCESS) {
        printf("tree: size %" APR_UINT64_T_FMT " root %s%s\n",
               v.walk.edge.size, tree_b64(root, b64),
               v.walk.base ? apr_psprintf(p, " (from the tree's edge at size %"
                                          APR_UINT64_T_FMT " kept by the purge "
                                          "checkpoint)", v.walk.base) : "");
    }
    if (a->nkeys) {
        tail = verdict_tail(&v, &s);
    }
    verify_hex(s.chain.hash, 32, hex);
    if (v.faults || (a->nkeys && v.signed_through == 0)) {
        printf("FAILED: %" APR_UINT64_T_FMT " lines in %d file(s), seq %"
               APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT ", chain intact, but "
               "%s\n", s.lines, a->files->nelts, s.first_seq, s.chain.seq,
               verdict_failures(&v, held_bad, refused, missing));
        return 1;
    }
    printf("OK: %" APR_UINT64_T_FMT " lines in %d file(s), seq %"
           APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT ", chain intact%s%s, "
           "head %s%s\n", s.lines, a->files->nelts, s.first_seq, s.chain.seq,
           tail ? ", " : "", tail ? tail : "", hex,
           s.warnings ? " (with warnings above)"
           : s.recovers || s.unconfirmed ? " (with recovery notes above)"
           : "");
    return 0;
}

/* Copy what @p from holds to stdout. */
static void emit(FILE *from)
{
    char buf[8192];
    size_t n;

    rewind(from);
    while ((n = fread(buf, 1, sizeof(buf), from)) > 0) {
        fwrite(buf, 1, n, stdout);
    }
}

int cmd_verify(const audit_args_t *a, apr_pool_t *p)
{
    audit_args_t named;
    vouch_t w;
    FILE *held;
    int rc, saved, failed;

    if (!a->nkeys || a->every_signature
        || fcntl(STDOUT_FILENO, F_GETFD) < 0) {
        return verify_read(a, NULL, p);
    }
    /* what the reading says is held back until the signatures it rests
     * on are known good; else the log is read again, each checked */
    fflush(stdout);
    held = tmpfile();
    saved = held ? dup(STDOUT_FILENO) : -1;
    if (saved < 0 || dup2(fileno(held), STDOUT_FILENO) < 0) {
        if (saved >= 0) {
            close(saved);
        }
        if (held) {
            fclose(held);
        }
        return verify_read(a, NULL, p);
    }
    named = *a;
    named.named_only = 1;
    vouch_init(&w, a);
    rc = verify_read(&named, &w, p);
    /* a temporary file that could not take it all: read again */
    failed = fflush(stdout) != 0;
    failed = failed || ferror(stdout) || w.failed;
    dup2(saved, STDOUT_FILENO);
    close(saved);
    clearerr(stdout);
    vouch_free(&w);
    if (failed) {
        fclose(held);
        return verify_read(a, NULL, p);
    }
    emit(held);
    fclose(held);
    return rc;
}
