/*
 * verify_chain_scan.c -- the walk over audit files that checks the
 * chain line by line and hands every line to the caller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "verify_chain_scan.h"
#include "verify_audit_dir.h"
#include "verify_text.h"

/* The state of one walk across the files. */
typedef struct walk_t {
    verify_scan_t *s;
    verify_chain_t cp;          /* the checkpoint's last purged line */
    int have_cp;
    int first;                  /* no line read yet */
    int any;                    /* the next line may start the chain */
    const char *path;           /* the file being read */
    unsigned long lno;          /* its line number */
} walk_t;

static const char *line_fault(verify_line_status_t st)
{
    switch (st) {
    case VERIFY_LINE_SYNTAX: return "not a sealed audit line";
    case VERIFY_LINE_HASH:   return "hash does not match the line's content "
                                    "(line altered)";
    case VERIFY_LINE_PREV:   return "prev is not the previous line's hash "
                                    "(line removed, inserted or reordered)";
    case VERIFY_LINE_SEQ:    return "seq does not follow the previous line "
                                    "(gap or repeat)";
    default:                 return "ok";
    }
}

static void note(verify_scan_t *s, const char *msg)
{
    if (s->note_fn) {
        s->note_fn(s, msg);
    }
}

static void add_fault(verify_scan_t *s, const char *msg)
{
    s->faults++;
    if (!s->fault) {
        s->fault = msg;
    }
    if (s->fault_list->nelts < VERIFY_SCAN_FAULTS_LISTED) {
        APR_ARRAY_PUSH(s->fault_list, const char *) = msg;
    }
    note(s, msg);
}

/* Does the first line pick up after the checkpoint? Then link it. */
static int resume_from_checkpoint(walk_t *w, const char *line, size_t len)
{
    verify_chain_t h;

    if (!w->first || !w->have_cp
        || verify_audit_line_head(line, len, &h) != 0
        || h.seq != w->cp.seq + 1) {
        return 0;
    }
    w->s->chain = w->cp;
    w->any = 0;
    return 1;
}

/* The chain check of one complete line (without its newline): its
 * fault, or NULL with *j the parsed line. */
static const char *check_sealed(walk_t *w, const char *line, size_t len,
                                json_t **j)
{
    verify_scan_t *s = w->s;
    int from_cp = resume_from_checkpoint(w, line, len);
    verify_line_status_t st;
    const char *msg = NULL;
    json_error_t jerr;
    verify_chain_t h;
    char cphex[65];

    st = verify_audit_check_line(&s->chain, line, len, w->any);
    if (from_cp && st == VERIFY_LINE_OK) {
        s->from_checkpoint = 1;
        verify_hex(w->cp.hash, 32, cphex);
        note(s, apr_psprintf(s->p, "%s:%lu: note: chain resumes after the "
                             "purge checkpoint %s (seq %" APR_UINT64_T_FMT
                             ", hash %s): its prev matches", w->path, w->lno,
                             s->checkpoint, w->cp.seq, cphex));
    }
    else if (from_cp && st == VERIFY_LINE_PREV) {
        verify_audit_line_head(line, len, &h);
        msg = apr_psprintf(s->p, "%s:%lu: BROKEN at seq %" APR_UINT64_T_FMT
                           ": prev is not the hash of the last purged line "
                           "in %s", w->path, w->lno, h.seq, s->checkpoint);
    }
    if (st == VERIFY_LINE_OK) {
        *j = json_loadb(line, len, VERIFY_SCAN_JSON_FLAGS, &jerr);
        if (!json_is_object(*j)) {
            st = VERIFY_LINE_SYNTAX;
        }
    }
    if (st == VERIFY_LINE_OK || msg) {
        return msg;
    }
    if (verify_audit_line_head(line, len, &h) == 0) {
        return apr_psprintf(s->p, "%s:%lu: BROKEN at seq %" APR_UINT64_T_FMT
                            ": %s", w->path, w->lno, h.seq, line_fault(st));
    }
    return apr_psprintf(s->p, "%s:%lu: BROKEN: %s", w->path, w->lno,
                        line_fault(st));
}

/* A sound line's notes, and the rule for the first line of all: seq 1
 * links to nothing. Its fault, or NULL. */
static const char *check_sound(walk_t *w, const char *line, size_t len,
                               json_t *j)
{
    static const unsigned char zero[32];
    verify_scan_t *s = w->s;
    const char *op = json_string_value(json_object_get(j, "op"));
    const char *detail;
    unsigned char prev[32];

    if (op && !strcmp(op, "audit_recover")) {
        s->recovers++;
        detail = json_string_value(json_object_get(j, "detail"));
        note(s, apr_psprintf(s->p, "%s:%lu: note: seq %" APR_UINT64_T_FMT
                             ": a writer died inside the chain step (%s)",
                             w->path, w->lno, s->chain.seq,
                             detail ? detail : ""));
    }
    if (!w->first) {
        return NULL;
    }
    if (s->chain.seq != 1) {
        if (!s->from_checkpoint) {
            note(s, apr_psprintf(s->p, "%s:%lu: note: chain starts at seq %"
                                 APR_UINT64_T_FMT " (earlier lines not "
                                 "given)", w->path, w->lno, s->chain.seq));
        }
        return NULL;
    }
    /* the line ends "prev":"<64 hex>","hash":"<64 hex>"} */
    if (verify_unhex(line + len - 75 - 65, 32, prev, 0)
        || memcmp(prev, zero, 32)) {
        return apr_psprintf(s->p, "%s:%lu: BROKEN at seq 1: prev of the "
                            "first line is not zero", w->path, w->lno);
    }
    return NULL;
}

/* After a fault (keep_going): check on from this line as it stands. */
static void pick_up(walk_t *w, const char *line, size_t len, json_t **j)
{
    verify_chain_t h;
    json_error_t jerr;

    if (!*j && len < VERIFY_AUDIT_LINE_MAX) {
        *j = json_loadb(line, len, VERIFY_SCAN_JSON_FLAGS, &jerr);
    }
    if (verify_audit_line_head(line, len, &h) == 0) {
        w->s->chain = h;
        w->any = 0;
    }
    else {
        w->s->chain.seq = 0;
        w->any = 1;
    }
}

/* One line as getline() read it (@p n bytes, newline included unless
 * it is the incomplete last one). @return 0 go on, 1 stop at a fault,
 * -1 the callback stopped. */
static int walk_line(walk_t *w, int fi, char *line, size_t n, apr_off_t at)
{
    verify_scan_t *s = w->s;
    verify_scan_file_t *sf = &s->files[fi];
    const char *msg = NULL;
    json_t *j = NULL;
    size_t len = n;
    int bad = 0, rc = 0;

    if (line[len - 1] != '\n') {
        msg = apr_psprintf(s->p, "%s:%lu: BROKEN: last line is incomplete "
                           "(no newline)", w->path, w->lno);
    }
    else if (--len + 1 >= VERIFY_AUDIT_LINE_MAX) {
        msg = apr_psprintf(s->p, "%s:%lu: BROKEN: line longer than %d "
                           "bytes", w->path, w->lno, VERIFY_AUDIT_LINE_MAX);
    }
    else {
        msg = check_sealed(w, line, len, &j);
    }
    if (!msg) {
        msg = check_sound(w, line, len, j);
    }
    if (msg) {
        add_fault(s, msg);
        if (!s->keep_going) {
            rc = 1;
            goto cleanup;
        }
        bad = 1;
        pick_up(w, line, len, &j);
    }
    else {
        w->any = 0;
    }
    if (w->first) {
        s->first_seq = s->chain.seq;
        w->first = 0;
    }
    if (sf->lines++ == 0) {
        sf->first_seq = s->chain.seq;
    }
    sf->last_seq = s->chain.seq;
    sf->end = s->chain;
    s->lines++;
    if (s->line_fn && s->line_fn(s, line, len, j, bad, fi, at) != 0) {
        rc = -1;
    }

cleanup:
    json_decref(j);
    return rc;
}

/* Every line of file @p fi. @return as walk_line, or -1 when the file
 * cannot be read (s->error). */
static int walk_file(walk_t *w, int fi, char **line, size_t *cap)
{
    verify_scan_t *s = w->s;
    apr_off_t off = 0;
    ssize_t n;
    FILE *f;
    int rc = 0;

    w->path = s->files[fi].path;
    w->lno = 0;
    f = fopen(w->path, "rb");
    if (!f) {
        s->error = apr_psprintf(s->p, "cannot open %s: %s", w->path,
                                strerror(errno));
        return -1;
    }
    s->nread++;
    while (rc == 0 && (n = getline(line, cap, f)) > 0) {
        w->lno++;
        rc = walk_line(w, fi, *line, (size_t)n, off);
        off += n;
    }
    if (rc == 0 && ferror(f)) {
        s->error = apr_psprintf(s->p, "cannot read %s: %s", w->path,
                                strerror(errno));
        rc = -1;
    }
    fclose(f);
    return rc;
}

int verify_chain_scan(verify_scan_t *s)
{
    walk_t w;
    char *line = NULL, *err = NULL;
    size_t cap = 0;
    int i, rc = 0;

    memset(&w, 0, sizeof(w));
    w.s = s;
    w.first = 1;
    w.any = 1;
    s->fault_list = apr_array_make(s->p, 4, sizeof(const char *));
    memset(&s->chain, 0, sizeof(s->chain));
    s->files = apr_pcalloc(s->p, (size_t)(s->paths->nelts + 1)
                                 * sizeof(*s->files));
    for (i = 0; i < s->paths->nelts; i++) {
        s->files[i].path = APR_ARRAY_IDX(s->paths, i, const char *);
    }
    if (s->checkpoint) {
        if (verify_audit_checkpoint_read(s->checkpoint, &w.cp, &err, s->p)
            != APR_SUCCESS) {
            s->error = err;
            return -1;
        }
        w.have_cp = 1;
    }
    for (i = 0; rc == 0 && i < s->paths->nelts; i++) {
        rc = walk_file(&w, i, &line, &cap);
    }
    free(line);
    if (rc != 0) {
        return rc;
    }
    return s->faults ? 1 : 0;
}
