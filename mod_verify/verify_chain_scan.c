/*
 * verify_chain_scan.c -- the walk over audit files that checks the
 * chain line by line and hands every line to the caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include "verify_chain_scan.h"
#include "verify_audit_dir.h"
#include "verify_text.h"
#include "verify_time.h"
#include "verify_flat.h"
#include "verify_chain_walk.h"

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

/* Lazy: the line checked as jansson would read it, and indexed in
 * s->flat instead of parsed. Its fault, or NULL. */
static const char *check_flat(walk_t *w, const char *line, size_t len)
{
    verify_scan_t *s = w->s;
    verify_chain_t h;
    const char *why;
    size_t at;

    if (verify_flat_parse(w->flat, line, len, &why, &at) == 0) {
        return NULL;
    }
    verify_audit_line_head(line, len, &h);
    return apr_psprintf(s->p, "%s:%lu: BROKEN at seq %" APR_UINT64_T_FMT
                        ": not a JSON object (%s at byte %" APR_SIZE_T_FMT
                        ")", w->path, w->lno, h.seq, why, at);
}

/* The chain check of one complete line (without its newline): its
 * fault, or NULL with *j the parsed line (lazy: s->flat indexes it). */
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
    if (st == VERIFY_LINE_OK && !msg && s->lazy) {
        return check_flat(w, line, len);
    }
    if (st == VERIFY_LINE_OK && !msg) {
        *j = json_loadb(line, len, VERIFY_SCAN_JSON_FLAGS, &jerr);
        if (!json_is_object(*j)) {
            json_decref(*j);
            *j = NULL;
            verify_audit_line_head(line, len, &h);
            return apr_psprintf(s->p, "%s:%lu: BROKEN at seq %"
                                APR_UINT64_T_FMT ": not a JSON object "
                                "(%s at byte %d)", w->path, w->lno, h.seq,
                                jerr.text, jerr.position);
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

/* Is the string member @p key of a sound line (parsed, or indexed when
 * lazy) @p value? Without an allocation: it is asked of every line. */
static int member_is(walk_t *w, json_t *j, const char *key,
                     const char *value)
{
    const verify_flat_member_t *m;
    char buf[32];
    size_t n, len = strlen(value);

    if (!w->s->lazy) {
        return json_is_string(json_object_get(j, key))
               && !strcmp(json_string_value(json_object_get(j, key)),
                          value);
    }
    m = verify_flat_get(w->flat, key);
    if (!m || m->type != VERIFY_FLAT_STRING) {
        return 0;
    }
    if (!m->val.esc) {
        return m->val.len == len && !memcmp(m->val.s, value, len);
    }
    n = verify_flat_unescape(m->val.s, m->val.len, buf, sizeof(buf));
    return n == len && !memcmp(buf, value, len);
}

/* A string member of a sound line as a C string from the pool (text
 * after a NUL byte dropped), or NULL. */
static const char *member_str(walk_t *w, json_t *j, const char *key)
{
    const verify_flat_member_t *m;
    char *out;
    size_t n;

    if (!w->s->lazy) {
        return json_string_value(json_object_get(j, key));
    }
    m = verify_flat_get(w->flat, key);
    if (!m || m->type != VERIFY_FLAT_STRING) {
        return NULL;
    }
    out = apr_palloc(w->s->p, m->val.len + 1);
    n = verify_flat_unescape(m->val.s, m->val.len, out, m->val.len);
    out[n < m->val.len ? n : m->val.len] = '\0';
    return out;
}

/* The seqs of an "unconfirmed" line, as text ("?" when not a list of
 * numbers). */
static const char *seq_list(json_t *seqs, apr_pool_t *p)
{
    const char *out = NULL;
    size_t i;
    json_t *v;

    json_array_foreach(seqs, i, v) {
        if (!json_is_integer(v)) {
            return "?";
        }
        out = apr_psprintf(p, "%s%s%" APR_INT64_T_FMT, out ? out : "",
                           out ? ", " : "",
                           (apr_int64_t)json_integer_value(v));
    }
    return out ? out : "?";
}

/* A ts before the previous sound line's: the writer clamps every ts to
 * the last one written, so this log's times went back (written by a
 * module without that rule while the clock was stepped back, or lines
 * rewritten). */
static void check_ts(walk_t *w, json_t *j)
{
    verify_scan_t *s = w->s;
    const verify_flat_member_t *m;
    const char *ts = NULL;

    /* asked of every line: no allocation (a ts has no escapes) */
    if (!s->lazy) {
        ts = json_string_value(json_object_get(j, "ts"));
        if (ts && strlen(ts) != VERIFY_TS_LEN) {
            ts = NULL;
        }
    }
    else if ((m = verify_flat_get(w->flat, "ts")) != NULL
             && m->type == VERIFY_FLAT_STRING && !m->val.esc
             && m->val.len == VERIFY_TS_LEN) {
        ts = m->val.s;
    }
    verify_walk_ts(w, ts);
}

void verify_walk_ts(walk_t *w, const char *ts)
{
    apr_time_t t;

    if (ts && verify_time_parse_us(ts, VERIFY_TS_LEN, &t) == 0) {
        verify_walk_ts_parsed(w, ts, t);
    }
}

void verify_walk_ts_parsed(walk_t *w, const char *ts, apr_time_t t)
{
    verify_scan_t *s = w->s;

    if (w->ts && t < w->ts) {
        s->warnings++;
        note(s, apr_psprintf(s->p, "%s:%lu: warning: seq %" APR_UINT64_T_FMT
                             ": ts %s goes back before the previous line's "
                             "%s (a server that did not hold ts while its "
                             "clock was stepped back, or lines rewritten): "
                             "times around it cannot be trusted", w->path,
                             w->lno, s->chain.seq,
                             apr_pstrmemdup(s->p, ts, VERIFY_TS_LEN),
                             w->ts_text));
    }
    w->ts = t;
    memcpy(w->ts_text, ts, VERIFY_TS_LEN);
    w->ts_text[VERIFY_TS_LEN] = '\0';
}

/* A sound line's notes, and the rule for the first line of all: seq 1
 * links to nothing. Its fault, or NULL. */
static const char *check_sound(walk_t *w, const char *line, size_t len,
                               json_t *j)
{
    static const unsigned char zero[32];
    verify_scan_t *s = w->s;
    const char *detail;
    unsigned char prev[32];
    json_t *pid, *u;

    check_ts(w, j);
    if (member_is(w, j, "op", "unconfirmed")) {
        s->unconfirmed++;
        /* rare: the whole line, also when the scan is lazy */
        u = j ? json_incref(j)
              : json_loadb(line, len, VERIFY_SCAN_JSON_FLAGS, NULL);
        pid = json_object_get(u, "pid");
        note(s, apr_psprintf(s->p, "%s:%lu: note: seq %" APR_UINT64_T_FMT
                             ": process %" APR_INT64_T_FMT " ended "
                             "before the answers of seq %s had left it "
                             "(they may not have reached the client)",
                             w->path, w->lno, s->chain.seq,
                             (apr_int64_t)(json_is_integer(pid)
                                           ? json_integer_value(pid) : 0),
                             seq_list(json_object_get(u, "seqs"), s->p)));
        json_decref(u);
    }
    if (member_is(w, j, "op", "clock")) {
        detail = member_str(w, j, "observed");
        note(s, apr_psprintf(s->p, "%s:%lu: note: seq %" APR_UINT64_T_FMT
                             ": the server's clock read %s, before the last "
                             "line's time: lines keep that time until the "
                             "clock catches up", w->path, w->lno,
                             s->chain.seq, detail ? detail : "?"));
    }
    if (member_is(w, j, "op", "audit_recover")) {
        s->recovers++;
        detail = member_str(w, j, "detail");
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

    if (!*j && len + 1 < VERIFY_AUDIT_LINE_MAX) {
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


/* The fault of a line that cannot be read as a line at all: too long,
 * cut short, or holding bytes no audit line holds. NULL when it can. */
static const char *read_fault(walk_t *w, const rline_t *rl)
{
    verify_scan_t *s = w->s;
    size_t len = (size_t)rl->size - (rl->newline ? 1 : 0);
    const char *why;

    if (len + 1 >= VERIFY_AUDIT_LINE_MAX) {
        return apr_psprintf(s->p, "%s:%lu: BROKEN: line longer than %d "
                            "bytes", w->path, w->lno, VERIFY_AUDIT_LINE_MAX);
    }
    if (!rl->newline) {
        return apr_psprintf(s->p, "%s:%lu: BROKEN: last line is incomplete "
                            "(no newline)", w->path, w->lno);
    }
    why = verify_audit_line_bytes_fault(rl->text, rl->kept, s->p);
    if (why) {
        return apr_psprintf(s->p, "%s:%lu: BROKEN: %s", w->path, w->lno,
                            why);
    }
    return NULL;
}

/* One line as next_line() read it. @return 0 go on, 1 stop at a fault,
 * -1 the callback stopped. */
int verify_walk_line(walk_t *w, int fi, const rline_t *rl, apr_off_t at)
{
    verify_scan_t *s = w->s;
    verify_scan_file_t *sf = &s->files[fi];
    const char *msg, *line = rl->text;
    json_t *j = NULL;
    size_t len = rl->kept;
    int bad = 0, rc = 0;

    msg = read_fault(w, rl);
    if (!msg) {
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

/* The next line of @p in into @p rl: at most LINE_KEEP of its bytes
 * kept, the rest of a longer one skipped. @return 1 a line, 0 the end
 * of the file, -1 a read error (errno). */
int verify_walk_next_line(in_t *in, rline_t *rl)
{
    const char *from, *nl;
    size_t avail, take, room;
    ssize_t n;

    rl->kept = 0;
    rl->size = 0;
    rl->newline = 0;
    for (;;) {
        if (in->pos == in->end) {
            if (in->eof) {
                return rl->size > 0 ? 1 : 0;
            }
            do {
                n = read(in->fd, in->buf, READ_CHUNK);
            } while (n < 0 && errno == EINTR);
            if (n < 0) {
                return -1;
            }
            in->eof = n == 0;
            in->pos = 0;
            in->end = (size_t)n;
            continue;
        }
        from = in->buf + in->pos;
        avail = in->end - in->pos;
        nl = memchr(from, '\n', avail);
        take = nl ? (size_t)(nl - from) : avail;
        room = LINE_KEEP - rl->kept;
        memcpy(rl->text + rl->kept, from, take < room ? take : room);
        rl->kept += take < room ? take : room;
        rl->size += (apr_off_t)take;
        in->pos += take;
        if (nl) {
            in->pos++;
            rl->size++;
            rl->newline = 1;
            return 1;
        }
    }
}

/* Open @p path to read: a regular file only (a FIFO or a device would
 * block or never end). @return the descriptor, or -1 (s->error). */
int verify_walk_open(verify_scan_t *s, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        s->error = apr_psprintf(s->p, "cannot open %s: %s", path,
                                strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        s->error = apr_psprintf(s->p, "cannot read %s: not a regular file",
                                path);
        close(fd);
        return -1;
    }
    return fd;
}

/* Every line of file @p fi. @return as walk_line, or -1 when the file
 * cannot be read (s->error). */
static int walk_file(walk_t *w, int fi, in_t *in, rline_t *rl)
{
    verify_scan_t *s = w->s;
    apr_off_t off = 0;
    int rc = 0, got;

    w->path = s->files[fi].path;
    w->lno = 0;
    in->fd = verify_walk_open(s, w->path);
    if (in->fd < 0) {
        return -1;
    }
    in->pos = in->end = 0;
    in->eof = 0;
    s->nread++;
    while (rc == 0 && (got = verify_walk_next_line(in, rl)) > 0) {
        w->lno++;
        rc = verify_walk_line(w, fi, rl, off);
        off += rl->size;
    }
    if (rc == 0 && got < 0) {
        s->error = apr_psprintf(s->p, "cannot read %s: %s", w->path,
                                strerror(errno));
        rc = -1;
    }
    close(in->fd);
    return rc;
}

int verify_walk_begin(verify_scan_t *s, walk_t *w, in_t *in, rline_t *rl)
{
    char *err = NULL;
    int i;

    memset(w, 0, sizeof(*w));
    w->s = s;
    w->first = 1;
    w->any = 1;
    s->fault_list = apr_array_make(s->p, 4, sizeof(const char *));
    memset(&s->chain, 0, sizeof(s->chain));
    s->files = apr_pcalloc(s->p, (size_t)(s->paths->nelts + 1)
                                 * sizeof(*s->files));
    for (i = 0; i < s->paths->nelts; i++) {
        s->files[i].path = APR_ARRAY_IDX(s->paths, i, const char *);
    }
    if (s->checkpoint) {
        if (verify_audit_checkpoint_read(s->checkpoint, &w->cp, &err, s->p)
            != APR_SUCCESS) {
            s->error = err;
            return -1;
        }
        w->have_cp = 1;
    }
    memset(in, 0, sizeof(*in));
    memset(rl, 0, sizeof(*rl));
    in->buf = apr_palloc(s->p, READ_CHUNK);
    if (s->lazy) {
        w->flat = apr_palloc(s->p, sizeof(*w->flat));
        s->flat = w->flat;
    }
    rl->text = apr_palloc(s->p, LINE_KEEP);
    return 0;
}

int verify_chain_scan(verify_scan_t *s)
{
    walk_t w;
    in_t in;
    rline_t rl;
    int i, rc = 0;

    if (verify_walk_begin(s, &w, &in, &rl) != 0) {
        return -1;
    }
    for (i = 0; rc == 0 && i < s->paths->nelts; i++) {
        rc = walk_file(&w, i, &in, &rl);
    }
    if (rc != 0) {
        return rc;
    }
    return s->faults ? 1 : 0;
}
