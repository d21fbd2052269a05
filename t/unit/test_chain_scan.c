/*
 * test_chain_scan.c -- the walk over audit files: the chain checked line
 * by line across files, what it counts, the faults it names, keep_going,
 * the purge checkpoint, the per-line callback, and lines that cannot be
 * read as audit lines (too long, NUL, invalid UTF-8, raw controls, not a
 * JSON object): each a fault naming file and line, never the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "audit_files.h"
#include "verify.h"

static apr_pool_t *pool;
static char dir[] = "/tmp/test_chain_scan.XXXXXX";

/* Sealed lines seq from+1 .. from+n after @p chain into FILE (appended). */
static void write_lines(const char *name, verify_chain_t *chain, int n,
                        const char *op)
{
    seal_into(dir, name, chain, n, op, "", 0, 0);
}

static const char *path_of(const char *name)
{
    return apr_pstrcat(pool, dir, "/", name, NULL);
}

static apr_array_header_t *paths(const char *a, const char *b)
{
    apr_array_header_t *arr = apr_array_make(pool, 2, sizeof(char *));

    APR_ARRAY_PUSH(arr, const char *) = path_of(a);
    if (b) {
        APR_ARRAY_PUSH(arr, const char *) = path_of(b);
    }
    return arr;
}

/* What the callbacks saw. */
typedef struct seen_t {
    int lines, objects, bad, stop_at;
    int files[8];
    apr_off_t last_off;
    int notes;
    char note[512];
} seen_t;

static int on_line(verify_scan_t *s, const char *line, size_t len,
                   json_t *j, int bad, int file, apr_off_t off)
{
    seen_t *x = s->ctx;

    x->lines++;
    x->objects += json_is_object(j);
    x->bad += bad;
    x->files[file & 7]++;
    x->last_off = off;
    if (len == 0 || line[len - 1] != '}') {
        x->bad += 100;          /* the newline must be gone */
    }
    return x->stop_at && x->lines == x->stop_at ? -1 : 0;
}

static void on_note(verify_scan_t *s, const char *msg)
{
    seen_t *x = s->ctx;

    x->notes++;
    apr_cpystrn(x->note, msg, sizeof(x->note));
}

static int scan(verify_scan_t *s, apr_array_header_t *files, seen_t *x,
                int keep_going)
{
    memset(s, 0, sizeof(*s));
    memset(x, 0, sizeof(*x));
    s->paths = files;
    s->keep_going = keep_going;
    s->line_fn = on_line;
    s->note_fn = on_note;
    s->ctx = x;
    s->p = pool;
    return verify_chain_scan(s);
}

/* Change the first @p from in FILE to @p to (same length). */
static void edit(const char *name, const char *from, const char *to)
{
    char *data, *at;
    FILE *f = fopen(path_of(name), "rb");
    long n;

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    data = apr_palloc(pool, (apr_size_t)n + 1);
    n = (long)fread(data, 1, (size_t)n, f);
    data[n] = '\0';
    fclose(f);
    at = strstr(data, from);
    if (at) {
        memcpy(at, to, strlen(to));
    }
    f = fopen(path_of(name), "wb");
    fwrite(data, 1, (size_t)n, f);
    fclose(f);
}

static void test_intact(void)
{
    verify_chain_t c;
    verify_scan_t s;
    seen_t x;

    memset(&c, 0, sizeof(c));
    write_lines("audit-2026-11-01.jsonl", &c, 3, "verify");
    write_lines("audit-2026-11-02.jsonl", &c, 2, "verify");
    is_int(scan(&s, paths("audit-2026-11-01.jsonl",
                          "audit-2026-11-02.jsonl"), &x, 0), 0,
           "an intact chain across two files");
    is_int((long long)s.lines, 5, "five lines read");
    is_int(x.lines, 5, "the callback saw each");
    is_int(x.objects, 5, "parsed");
    is_int(x.bad, 0, "none bad, newline stripped");
    ok(x.files[0] == 3 && x.files[1] == 2, "with its file index");
    is_int((long long)s.first_seq, 1, "first seq 1");
    is_int((long long)s.chain.seq, 5, "head seq 5");
    ok(memcmp(s.chain.hash, c.hash, 32) == 0, "head hash is the last line's");
    is_int(s.nread, 2, "two files opened");
    ok(s.files[0].lines == 3 && s.files[0].first_seq == 1
       && s.files[0].last_seq == 3, "first file: 3 lines, seq 1..3");
    ok(s.files[1].lines == 2 && s.files[1].first_seq == 4
       && s.files[1].last_seq == 5 && s.files[1].end.seq == 5,
       "second file: 2 lines, seq 4..5");
    is_int(x.notes, 0, "no notes");
    ok(s.fault == NULL && s.faults == 0, "no fault");

    /* the second file alone: picked up mid-way, with a note */
    is_int(scan(&s, paths("audit-2026-11-02.jsonl", NULL), &x, 0), 0,
           "a chain picked up mid-way is intact");
    is_int((long long)s.first_seq, 4, "from seq 4");
    ok(x.notes == 1 && strstr(x.note, "note: chain starts at seq 4"),
       "noted: %s", x.note);

    /* the files in the wrong order */
    is_int(scan(&s, paths("audit-2026-11-02.jsonl",
                          "audit-2026-11-01.jsonl"), &x, 0), 1,
           "files out of order break the chain");
    ok(s.fault && strstr(s.fault, "audit-2026-11-01.jsonl:1: BROKEN at "
                         "seq 1: "), "%s", s.fault);
}

static void test_faults(void)
{
    verify_chain_t c;
    verify_scan_t s;
    seen_t x;

    memset(&c, 0, sizeof(c));
    write_lines("audit-2026-11-05.jsonl", &c, 4, "verify");
    edit("audit-2026-11-05.jsonl", "\"r2\"", "\"R2\"");
    is_int(scan(&s, paths("audit-2026-11-05.jsonl", NULL), &x, 0), 1,
           "an altered line breaks the chain");
    ok(s.fault && strstr(s.fault, ":2: BROKEN at seq 2: hash does not match")
       , "named: %s", s.fault);
    is_int(x.lines, 1, "without keep_going the scan stops there");
    ok(x.notes == 1 && !strcmp(x.note, s.fault), "the fault is noted");

    is_int(scan(&s, paths("audit-2026-11-05.jsonl", NULL), &x, 1), 1,
           "keep_going: still broken");
    is_int(x.lines, 4, "but every line is read");
    is_int(x.bad, 1, "one of them marked bad");
    is_int((long long)s.faults, 1, "one fault: the chain goes on from it");
    is_int(s.fault_list->nelts, 1, "listed");

    /* a last line cut short */
    memset(&c, 0, sizeof(c));
    write_lines("audit-2026-11-06.jsonl", &c, 2, "verify");
    truncate(path_of("audit-2026-11-06.jsonl"), 300);
    is_int(scan(&s, paths("audit-2026-11-06.jsonl", NULL), &x, 0), 1,
           "a cut line breaks the chain");
    ok(s.fault && strstr(s.fault, "BROKEN: last line is incomplete") , "%s",
       s.fault);

    /* seq 1 must link to nothing */
    memset(&c, 0, sizeof(c));
    memset(c.hash, 0xab, sizeof(c.hash));
    write_lines("audit-2026-11-07.jsonl", &c, 2, "verify");
    is_int(scan(&s, paths("audit-2026-11-07.jsonl", NULL), &x, 0), 1,
           "a first line linking to something breaks the chain");
    ok(s.fault && strstr(s.fault, "BROKEN at seq 1: prev of the first line "
                         "is not zero"), "%s", s.fault);

    /* a file that is not there */
    is_int(scan(&s, paths("audit-2026-11-05.jsonl", "missing.jsonl"), &x,
                1), -1, "a missing file ends the scan");
    ok(s.error && strstr(s.error, "cannot open ") && strstr(s.error,
       "missing.jsonl"), "and says so: %s", s.error ? s.error : "");
}

static void test_callback_and_notes(void)
{
    verify_chain_t c;
    verify_scan_t s;
    seen_t x;

    memset(&c, 0, sizeof(c));
    write_lines("audit-2026-11-10.jsonl", &c, 2, "verify");
    write_lines("audit-2026-11-10.jsonl", &c, 1, "audit_recover");
    write_lines("audit-2026-11-10.jsonl", &c, 2, "verify");
    memset(&s, 0, sizeof(s));
    is_int(scan(&s, paths("audit-2026-11-10.jsonl", NULL), &x, 0), 0,
           "a chain with a recovery line is intact");
    is_int((long long)s.recovers, 1, "the recovery counted");
    ok(x.notes == 1 && strstr(x.note, "note: seq 3: a writer died inside "
                              "the chain step (d)"), "noted: %s", x.note);

    memset(&x, 0, sizeof(x));
    x.stop_at = 2;
    memset(&s, 0, sizeof(s));
    s.paths = paths("audit-2026-11-10.jsonl", NULL);
    s.line_fn = on_line;
    s.ctx = &x;
    s.p = pool;
    is_int(verify_chain_scan(&s), -1, "the callback can stop the scan");
    ok(x.lines == 2 && s.error == NULL, "after its line, with no error");
}

static void test_checkpoint(void)
{
    verify_chain_t c, last;
    verify_scan_t s;
    seen_t x;
    char hex[65];
    FILE *f;

    memset(&c, 0, sizeof(c));
    write_lines("old.jsonl", &c, 3, "verify");
    last = c;
    write_lines("audit-2026-11-20.jsonl", &c, 2, "verify");
    verify_hex(last.hash, 32, hex);
    f = fopen(path_of("purged-through-2026-11-19.json"), "w");
    fprintf(f, "{\"last_seq\":3,\"last_hash\":\"%s\"}\n", hex);
    fclose(f);

    memset(&s, 0, sizeof(s));
    s.checkpoint = path_of("purged-through-2026-11-19.json");
    memset(&x, 0, sizeof(x));
    s.paths = paths("audit-2026-11-20.jsonl", NULL);
    s.note_fn = on_note;
    s.ctx = &x;
    s.p = pool;
    is_int(verify_chain_scan(&s), 0, "the chain resumes after a checkpoint");
    ok(s.from_checkpoint, "linked to it");
    ok(x.notes == 1 && strstr(x.note, "note: chain resumes after the purge "
                              "checkpoint"), "noted: %s", x.note);

    f = fopen(path_of("purged-through-2026-11-19.json"), "w");
    fprintf(f, "{\"last_seq\":3,\"last_hash\":\"%064d\"}\n", 0);
    fclose(f);
    memset(&x, 0, sizeof(x));
    s.fault = NULL;
    s.faults = 0;
    s.from_checkpoint = 0;
    s.nread = 0;
    s.lines = 0;
    is_int(verify_chain_scan(&s), 1, "a wrong checkpoint hash breaks it");
    ok(s.fault && strstr(s.fault, "BROKEN at seq 4: prev is not the hash of "
                         "the last purged line"), "%s", s.fault);

    f = fopen(path_of("purged-through-2026-11-19.json"), "w");
    fputs("{}\n", f);
    fclose(f);
    memset(&s, 0, sizeof(s));
    s.checkpoint = path_of("purged-through-2026-11-19.json");
    s.paths = paths("audit-2026-11-20.jsonl", NULL);
    s.p = pool;
    is_int(verify_chain_scan(&s), -1, "an unreadable checkpoint fails");
    ok(s.error && strstr(s.error, "is not a purge checkpoint"), "%s",
       s.error ? s.error : "");
}

/* One sealed line with body @p body (after ts) into FILE (appended). */
static void write_body(const char *name, verify_chain_t *chain,
                       const char *body, size_t blen)
{
    char line[VERIFY_AUDIT_LINE_MAX];
    size_t len = verify_audit_seal(chain, apr_time_from_sec(1795708799),
                                   body, blen, line, sizeof(line));
    FILE *f = fopen(path_of(name), "ab");

    if (f) {
        fwrite(line, 1, len, f);
        fclose(f);
    }
}

/* @p n bytes of @p c into FILE (appended), then a newline if @p nl. */
static void write_run(const char *name, int c, size_t n, int nl)
{
    FILE *f = fopen(path_of(name), "ab");
    size_t i;

    for (i = 0; f && i < n; i++) {
        fputc(c, f);
    }
    if (f && nl) {
        fputc('\n', f);
    }
    if (f) {
        fclose(f);
    }
}

static long long file_size(const char *name)
{
    struct stat st;

    return stat(path_of(name), &st) == 0 ? (long long)st.st_size : -1;
}

/* A sealed line holding @p body (@p blen bytes; 0: strlen) is refused
 * with @p why (at line 3). */
static void refused_body(const char *name, const char *body, size_t blen,
                         const char *why, const char *what)
{
    verify_chain_t c;
    verify_scan_t s;
    seen_t x;

    blen = blen ? blen : strlen(body);
    memset(&c, 0, sizeof(c));
    write_lines(name, &c, 2, "verify");
    write_body(name, &c, body, blen);
    write_lines(name, &c, 1, "verify");
    is_int(scan(&s, paths(name, NULL), &x, 0), 1, "%s: broken", what);
    ok(s.fault && strstr(s.fault, apr_pstrcat(pool, name, ":3: BROKEN",
                                              NULL))
       && strstr(s.fault, why), "%s: named with file, line and reason: %s",
       what, s.fault ? s.fault : "(none)");
    is_int(x.lines, 2, "%s: the scan stops before it", what);
    is_int(scan(&s, paths(name, NULL), &x, 1), 1, "%s: keep_going", what);
    is_int(x.lines, 4, "%s: every line read, the next ones too", what);
    is_int((long long)s.faults, 1, "%s: one fault", what);
}

static void test_read_faults(void)
{
    static const char *const f1 = "audit-2026-11-21.jsonl";
    static const char *const f2 = "audit-2026-11-22.jsonl";
    static const char *const f3 = "audit-2026-11-23.jsonl";
    static const char *const f4 = "audit-2026-11-24.jsonl";
    verify_chain_t c;
    verify_scan_t s;
    seen_t x;
    long long before, size;

    /* a line of 1 MB without a newline in the middle of a file */
    memset(&c, 0, sizeof(c));
    write_lines(f1, &c, 2, "verify");
    before = file_size(f1);
    write_run(f1, 'x', 1 << 20, 1);
    write_lines(f1, &c, 2, "verify");
    size = file_size(f1);
    is_int(scan(&s, paths(f1, NULL), &x, 0), 1,
           "a 1 MB line breaks the chain: it is not the end of the file");
    ok(s.fault && strstr(s.fault, ":3: BROKEN: line longer than 4096 bytes"),
       "named with its line: %s", s.fault ? s.fault : "(none)");
    is_int(scan(&s, paths(f1, NULL), &x, 1), 1, "keep_going: broken");
    is_int(x.lines, 5, "every line read, past the long one");
    is_int((long long)s.files[0].lines, 5, "counted in the file");
    is_int((long long)x.last_off, size - (size - before - (1 << 20) - 1) / 2,
           "the offsets run on past it");
    is_int((long long)s.faults, 1, "one fault: the chain picks up after it");
    is_int((long long)s.chain.seq, 4, "to the last line");

    /* the boundary: 4094 bytes are a line (not a sealed one), 4095 not */
    write_run(f2, 'x', VERIFY_AUDIT_LINE_MAX - 2, 1);
    is_int(scan(&s, paths(f2, NULL), &x, 0), 1, "4094 bytes: broken");
    ok(s.fault && strstr(s.fault, ":1: BROKEN: not a sealed audit line"),
       "but read as a line: %s", s.fault ? s.fault : "(none)");
    unlink(path_of(f2));
    write_run(f2, 'x', VERIFY_AUDIT_LINE_MAX - 1, 1);
    is_int(scan(&s, paths(f2, NULL), &x, 0), 1, "4095 bytes: broken");
    ok(s.fault && strstr(s.fault, ":1: BROKEN: line longer than"),
       "as too long: %s", s.fault ? s.fault : "(none)");

    /* a last line over the limit, without a newline */
    memset(&c, 0, sizeof(c));
    write_lines(f3, &c, 2, "verify");
    write_run(f3, 'y', 3 * VERIFY_AUDIT_LINE_MAX, 0);
    is_int(scan(&s, paths(f3, NULL), &x, 0), 1,
           "a long last line breaks the chain");
    ok(s.fault && strstr(s.fault, ":3: BROKEN: line longer than 4096 bytes"),
       "named: %s", s.fault ? s.fault : "(none)");

    /* a NUL byte: in place of a line, and inside a sealed one */
    memset(&c, 0, sizeof(c));
    write_lines(f4, &c, 2, "verify");
    write_run(f4, '\0', 1, 1);
    write_lines(f4, &c, 1, "verify");
    is_int(scan(&s, paths(f4, NULL), &x, 0), 1, "a NUL line breaks it");
    ok(s.fault && strstr(s.fault, ":3: BROKEN: NUL byte at byte 1"),
       "named: %s", s.fault ? s.fault : "(none)");
    refused_body("audit-2026-11-25.jsonl", ",\"op\":\"verify\",\"case\":"
                 "\"a\0b\"", 27, "NUL byte at byte", "a sealed NUL");
    refused_body("audit-2026-11-26.jsonl", ",\"op\":\"verify\",\"case\":"
                 "\"a\xff\xfe\"", 0, "invalid UTF-8 at byte",
                 "invalid UTF-8");
    refused_body("audit-2026-11-27.jsonl", ",\"op\":\"verify\",\"case\":"
                 "\"\xed\xa0\x80\"", 0, "invalid UTF-8 at byte",
                 "a surrogate");
    refused_body("audit-2026-11-28.jsonl", ",\"op\":\"verify\",\"case\":"
                 "\"\x1b[2K\"", 0, "raw control character 0x1b",
                 "a raw ESC");
    refused_body("audit-2026-11-29.jsonl", ",\"op\":\"verify\",\"case\":"
                 "\"ok\r\"", 0, "raw control character 0x0d", "a raw CR");
    refused_body("audit-2026-11-30.jsonl", ",\"op\":\"verify\",\"case\":"
                 "\"\x7f\"", 0, "raw control character 0x7f", "a raw DEL");
    refused_body("audit-2026-12-01.jsonl", ",\"op\":\"verify\",\"case\":}",
                 0, "not a JSON object", "invalid JSON");
    refused_body("audit-2026-12-02.jsonl", ",\"op\":\"verify\",\"op\":\"x\"",
                 0, "not a JSON object", "a repeated member");

    /* a FIFO is refused, not waited on */
    ok(mkfifo(path_of("audit-2026-12-03.jsonl"), 0600) == 0, "a FIFO");
    is_int(scan(&s, paths("audit-2026-12-03.jsonl", NULL), &x, 1), -1,
           "is not read");
    ok(s.error && strstr(s.error, "not a regular file"), "and said: %s",
       s.error ? s.error : "(none)");
}

static void cleanup(void)
{
    apr_dir_t *d;
    apr_finfo_t fi;

    if (apr_dir_open(&d, dir, pool) == APR_SUCCESS) {
        while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
            unlink(path_of(fi.name));
        }
        apr_dir_close(d);
    }
    rmdir(dir);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_intact();
    test_faults();
    test_callback_and_notes();
    test_checkpoint();
    test_read_faults();
    cleanup();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
