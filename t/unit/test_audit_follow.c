/*
 * test_audit_follow.c -- following an audit directory as lines are
 * added (verify_follow_run, verify_audit_follow.c).
 *
 * The follower's tree is checked against an RFC 6962 root computed here
 * from scratch (mth() below, SHA-256 through OpenSSL directly), never
 * through verify_merkle.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include "unit.h"

/* lines of one chain, enough to make a file larger than the follower's
 * 64 KiB read (a line then straddles two reads) */
#define NL 300

#define DAY1 20261124u
#define DAY2 20261125u
#define DAY3 20261126u
#define DAY4 20261127u

static char *ln[NL];                /* line seq i+1, with its newline */
static size_t lnl[NL];              /* its length, newline included */
static verify_chain_t aft[NL];      /* the chain after line seq i+1 */

/* --- an independent RFC 6962 tree ---------------------------------- */

static void sha(const void *a, size_t al, const void *b, size_t bl,
                const void *c, size_t cl, unsigned char out[32])
{
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    unsigned int n = 0;

    EVP_DigestInit_ex(x, EVP_sha256(), NULL);
    EVP_DigestUpdate(x, a, al);
    EVP_DigestUpdate(x, b, bl);
    EVP_DigestUpdate(x, c, cl);
    EVP_DigestFinal_ex(x, out, &n);
    EVP_MD_CTX_free(x);
}

/* MTH(D[from:to]) over the lines without their newlines (RFC 6962 2.1) */
static void mth(int from, int to, unsigned char out[32])
{
    static const unsigned char zero = 0x00, one = 0x01;
    unsigned char l[32], r[32];
    int k = 1;

    if (to == from) {
        sha("", 0, "", 0, "", 0, out);
        return;
    }
    if (to - from == 1) {
        sha(&zero, 1, ln[from], lnl[from] - 1, "", 0, out);
        return;
    }
    while (k * 2 < to - from) {
        k *= 2;                 /* the largest power of two below n */
    }
    mth(from, from + k, l);
    mth(from + k, to, r);
    sha(&one, 1, l, 32, r, 32, out);
}

/* --- the lines ------------------------------------------------------ */

static size_t body(char *out, size_t cap, int i, size_t pad)
{
    verify_jbuf_t b;
    char rid[32], client[4096];

    snprintf(rid, sizeof(rid), "req-%d", i);
    memset(client, 'a' + i % 26, pad);
    verify_jbuf_init(&b, out, cap);
    VERIFY_JRAW(&b, ",");
    verify_jbuf_key(&b, "request_id");
    verify_jbuf_str(&b, rid, strlen(rid), 64);
    VERIFY_JRAW(&b, ",");
    verify_jbuf_key(&b, "client");
    verify_jbuf_str(&b, client, pad, sizeof(client));
    return b.overflow ? 0 : b.len;
}

/* Seal one line after @p chain (advanced) into pool memory. */
static char *seal(verify_chain_t *chain, int i, size_t pad, size_t *len)
{
    char b[4096], *out = apr_palloc(pool, VERIFY_AUDIT_LINE_MAX);
    size_t bl = body(b, sizeof(b), i, pad);

    *len = verify_audit_seal(chain, apr_time_from_sec(1795708799) + i, b, bl,
                             out, VERIFY_AUDIT_LINE_MAX);
    if (bl == 0 || *len == 0) {
        diag("cannot seal line %d", i);
        exit(2);
    }
    return out;
}

static void make_lines(void)
{
    verify_chain_t c;
    int i;

    memset(&c, 0, sizeof(c));
    for (i = 0; i < NL; i++) {
        ln[i] = seal(&c, i, 150 + (size_t)(i * 37) % 300, &lnl[i]);
        aft[i] = c;
    }
}

/* A line of @p total bytes (newline included) after @p c, sealed here
 * with its own SHA-256, so that it can be longer than the writer makes
 * any. */
/* when set, the first byte of the crafted line's padding */
static char craft_poison;

static char *craft(const verify_chain_t *c, size_t total)
{
    char *s = apr_palloc(pool, total + 1), hex[65];
    unsigned char h[32];
    size_t head, pad;
    int i;

    head = (size_t)snprintf(s, total + 1, "{\"seq\":%llu,\"ts\":\"2026-11-"
                            "26T23:59:59.000000+08:00\",\"client\":\"",
                            (unsigned long long)c->seq + 1);
    /* `","prev":"` 64 hex `"` then `,"hash":"` 64 hex `"}` and \n */
    pad = total - head - (10 + 64 + 1) - (9 + 64 + 2) - 1;
    memset(s + head, 'x', pad);
    if (craft_poison) {
        s[head] = craft_poison;
    }
    head += pad;
    for (i = 0; i < 32; i++) {
        sprintf(hex + 2 * i, "%02x", c->hash[i]);
    }
    head += (size_t)sprintf(s + head, "\",\"prev\":\"%s\"", hex);
    sha(s, head, "", 0, "", 0, h);
    for (i = 0; i < 32; i++) {
        sprintf(hex + 2 * i, "%02x", h[i]);
    }
    head += (size_t)sprintf(s + head, ",\"hash\":\"%s\"}\n", hex);
    if (head != total) {
        diag("craft: %zu bytes, not %zu", head, total);
        exit(2);
    }
    return s;
}

/* --- files ---------------------------------------------------------- */

static int ndirs;

/* a new empty directory; its descriptor into *fd */
static char *new_dir(const char *what, int *fd)
{
    char *d = apr_psprintf(pool, "%s/%02d-%s", tmpdir, ++ndirs, what);

    if (mkdir(d, 0700) != 0
        || (*fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        diag("cannot make %s", d);
        exit(2);
    }
    return d;
}

static char *day_path(const char *dir, verify_date_t day)
{
    char name[32];

    verify_audit_filename(day, name);
    return apr_pstrcat(pool, dir, "/", name, NULL);
}

static void append(const char *dir, verify_date_t day, const void *data,
                   size_t len)
{
    char *path = day_path(dir, day);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

    if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0) {
        diag("cannot append to %s", path);
        exit(2);
    }
}

/* Append lines seq from+1 .. to (indexes from .. to-1) to a day file. */
static size_t append_lines(const char *dir, verify_date_t day, int from,
                           int to)
{
    size_t n = 0;
    int i;

    append(dir, day, "", 0);
    for (i = from; i < to; i++) {
        append(dir, day, ln[i], lnl[i]);
        n += lnl[i];
    }
    return n;
}

static size_t bytes(int from, int to)
{
    size_t n = 0;

    while (from < to) {
        n += lnl[from++];
    }
    return n;
}

/* --- checks --------------------------------------------------------- */

static apr_status_t run(verify_follow_t *f, int dirfd, uint64_t max,
                        verify_follow_stop_t *stop, char **err)
{
    *err = NULL;
    *stop = (verify_follow_stop_t)-1;
    return verify_follow_run(f, dirfd, (uid_t)-1, max, stop, err, pool);
}

/* Does @p f stand at line seq @p seq in @p day at @p offset, with the
 * tree of lines 1..seq? */
static int at(const verify_follow_t *f, int seq, verify_date_t day,
              size_t offset, const char *what)
{
    unsigned char want[32], got[32];
    int good = 1;

    mth(0, seq, want);
    if (f->chain.seq != (uint64_t)seq
        || (seq > 0 && memcmp(f->chain.hash, aft[seq - 1].hash, 32) != 0)) {
        diag("%s: chain at seq %llu, want %d", what,
             (unsigned long long)f->chain.seq, seq);
        good = 0;
    }
    if (f->day != day || f->offset != (apr_off_t)offset) {
        diag("%s: at %u offset %lld, want %u offset %zu", what,
             (unsigned)f->day, (long long)f->offset, (unsigned)day, offset);
        good = 0;
    }
    if (f->edge.size != (uint64_t)seq
        || verify_merkle_edge_root(&f->edge, got) != APR_SUCCESS
        || memcmp(got, want, 32) != 0) {
        diag("%s: tree of %llu leaves, its root not MTH(1..%d)", what,
             (unsigned long long)f->edge.size, seq);
        good = 0;
    }
    return ok(good, "%s: at seq %d, day %u, offset %zu, tree root right",
              what, seq, (unsigned)day, offset);
}

static int same(const verify_follow_t *a, const verify_follow_t *b)
{
    return a->chain.seq == b->chain.seq
           && memcmp(a->chain.hash, b->chain.hash, 32) == 0
           && a->day == b->day && a->offset == b->offset
           && memcmp(&a->edge, &b->edge, sizeof(a->edge)) == 0;
}

static int has(const char *err, const char *part)
{
    return err != NULL && strstr(err, part) != NULL;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    while (d && (de = readdir(d)) != NULL) {
        n += de->d_name[0] != '.';
    }
    if (d) {
        closedir(d);
    }
    return n;
}

/* bytes this process has read so far (/proc/self/io rchar), or -1 */
static long long read_so_far(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long long v = -1;

    while (f && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "rchar: %lld", &v) == 1) {
            break;
        }
    }
    if (f) {
        fclose(f);
    }
    return v;
}

/* --- the tests ------------------------------------------------------ */

static void test_reference(void)
{
    unsigned char a[32], b[32], m[32];
    verify_merkle_edge_t e;
    int i;

    /* the reference tree must itself tell trees apart */
    mth(0, 7, a);
    mth(0, 6, b);
    ok(memcmp(a, b, 32) != 0, "reference: trees of 6 and 7 leaves differ");
    verify_merkle_empty_root(m);
    mth(0, 0, a);
    ok(memcmp(a, m, 32) == 0, "reference: empty tree is SHA-256(\"\")");
    /* and agree with verify_merkle where both are well known (RFC 6962
     * test vectors live in test_merkle.c) */
    verify_merkle_edge_init(&e);
    for (i = 0; i < 13; i++) {
        verify_merkle_leaf_hash(ln[i], lnl[i] - 1, m);
        verify_merkle_edge_append(&e, m);
    }
    verify_merkle_edge_root(&e, b);
    mth(0, 13, a);
    ok(memcmp(a, b, 32) == 0, "reference: MTH of 13 leaves as verify_merkle");
    ok(bytes(0, NL) > 2 * 64 * 1024, "the lines make %zu bytes, more than "
       "two 64 KiB reads", bytes(0, NL));
}

static void test_empty(void)
{
    verify_follow_t f;
    verify_follow_stop_t stop;
    char *err, *d;
    int fd;

    d = new_dir("empty", &fd);
    verify_follow_init(&f);
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS, "empty: success");
    is_int(stop, VERIFY_FOLLOW_END, "empty: END");
    at(&f, 0, 0, 0, "empty");

    /* names that are not day files are not followed */
    write_file(d, "notes.txt", ln[0], lnl[0]);
    write_file(d, "audit-2026-02-30.jsonl", ln[0], lnl[0]);
    write_file(d, "audit-2026-11-24.jsonl.bak", ln[0], lnl[0]);
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS,
           "other names only: success");
    ok(stop == VERIFY_FOLLOW_END, "other names only: END");
    at(&f, 0, 0, 0, "other names only");

    /* an empty day file */
    append(d, DAY1, "", 0);
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS,
           "empty day file: success");
    ok(stop == VERIFY_FOLLOW_END, "empty day file: END");
    at(&f, 0, DAY1, 0, "empty day file");
    close(fd);
}

static void test_growing(void)
{
    verify_follow_t f;
    verify_follow_stop_t stop;
    char *err, *d;
    int fd, calls = 0, n = 0, step;
    size_t off = 0;

    d = new_dir("growing", &fd);
    verify_follow_init(&f);
    off += append_lines(d, DAY1, 0, 3);
    is_int(run(&f, fd, UINT64_MAX, &stop, &err), APR_SUCCESS,
           "growing: 3 lines taken");
    ok(stop == VERIFY_FOLLOW_END, "growing: END");
    at(&f, 3, DAY1, off, "growing: first call");

    is_int(run(&f, fd, UINT64_MAX, &stop, &err), APR_SUCCESS,
           "growing: nothing new");
    at(&f, 3, DAY1, off, "growing: nothing new, nothing moved");

    /* then in steps of 1, 2, 3, ... lines, each call checked */
    for (n = 3, step = 1; n < NL; n += step, step++) {
        int to = n + step > NL ? NL : n + step;
        unsigned char want[32], got[32];
        off += append_lines(d, DAY1, n, to);
        calls++;
        if (run(&f, fd, UINT64_MAX, &stop, &err) != APR_SUCCESS
            || stop != VERIFY_FOLLOW_END || f.chain.seq != (uint64_t)to
            || f.offset != (apr_off_t)off) {
            break;
        }
        mth(0, to, want);
        verify_merkle_edge_root(&f.edge, got);
        if (memcmp(want, got, 32) != 0) {
            break;
        }
        if (to == NL) {
            n = NL;
            break;
        }
    }
    ok(n == NL, "growing: %d calls, after each the tree of all lines so far "
       "(stopped at %d)", calls, n);
    at(&f, NL, DAY1, bytes(0, NL), "growing: all lines");

    /* a fresh follower reads the whole file (larger than one read) in
     * one call to the same place */
    {
        verify_follow_t g;
        verify_follow_init(&g);
        is_int(run(&g, fd, UINT64_MAX, &stop, &err), APR_SUCCESS,
               "whole file in one call");
        ok(same(&f, &g), "whole file in one call: as after many");
    }
    close(fd);
}

static void test_partial(void)
{
    verify_follow_t f;
    verify_follow_stop_t stop;
    char *err, *d;
    size_t two = bytes(0, 2), half = lnl[2] / 2;
    int fd;

    d = new_dir("partial", &fd);
    verify_follow_init(&f);
    append_lines(d, DAY1, 0, 2);
    append(d, DAY1, ln[2], half);
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS, "partial: success");
    ok(stop == VERIFY_FOLLOW_END, "partial: END");
    at(&f, 2, DAY1, two, "partial: the line without newline left");
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS, "partial: again");
    at(&f, 2, DAY1, two, "partial: again, still left");

    /* all but the newline */
    append(d, DAY1, ln[2] + half, lnl[2] - half - 1);
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS,
           "partial: all but the newline");
    at(&f, 2, DAY1, two, "partial: all but the newline, still left");

    /* the newline: taken once, whole */
    append(d, DAY1, "\n", 1);
    append(d, DAY1, ln[3], 7);
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS, "partial: completed");
    at(&f, 3, DAY1, bytes(0, 3), "partial: completed line taken");
    append(d, DAY1, ln[3] + 7, lnl[3] - 7);
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS,
           "partial: next completed");
    at(&f, 4, DAY1, bytes(0, 4), "partial: next line taken once");
    close(fd);
}

static void test_max(void)
{
    verify_follow_t f;
    verify_follow_stop_t stop;
    char *err, *d;
    int fd;

    d = new_dir("max", &fd);
    verify_follow_init(&f);
    append_lines(d, DAY1, 0, 10);

    is_int(run(&f, fd, 0, &stop, &err), APR_SUCCESS, "max 0: success");
    ok(stop == VERIFY_FOLLOW_MAX, "max 0: MAX");
    at(&f, 0, DAY1, 0, "max 0: nothing taken");

    is_int(run(&f, fd, 3, &stop, &err), APR_SUCCESS, "max 3: success");
    ok(stop == VERIFY_FOLLOW_MAX, "max 3: MAX");
    at(&f, 3, DAY1, bytes(0, 3), "max 3: exactly 3 lines");

    run(&f, fd, 1, &stop, &err);
    ok(stop == VERIFY_FOLLOW_MAX, "max 1: MAX");
    at(&f, 4, DAY1, bytes(0, 4), "max 1: exactly 1 more line");

    /* exactly as many as there are */
    is_int(run(&f, fd, 6, &stop, &err), APR_SUCCESS, "max 6 of 6: success");
    ok(stop == VERIFY_FOLLOW_MAX, "max 6 of 6: MAX");
    at(&f, 10, DAY1, bytes(0, 10), "max 6 of 6: all taken");

    is_int(run(&f, fd, 5, &stop, &err), APR_SUCCESS, "max 5 of 0: success");
    ok(stop == VERIFY_FOLLOW_END, "max 5 of 0: END");
    at(&f, 10, DAY1, bytes(0, 10), "max 5 of 0: nothing taken");

    /* more than there are */
    append_lines(d, DAY1, 10, 12);
    run(&f, fd, 5, &stop, &err);
    ok(stop == VERIFY_FOLLOW_END, "max 5 of 2: END");
    at(&f, 12, DAY1, bytes(0, 12), "max 5 of 2: both taken");

    /* max across a day file: counts lines of both files */
    append_lines(d, DAY2, 12, 20);
    run(&f, fd, 3, &stop, &err);
    ok(stop == VERIFY_FOLLOW_DAY_END, "max across days: DAY_END first");
    at(&f, 12, DAY2, 0, "max across days: moved to the new file");
    run(&f, fd, 3, &stop, &err);
    ok(stop == VERIFY_FOLLOW_MAX, "max 3 in the new file: MAX");
    at(&f, 15, DAY2, bytes(12, 15), "max 3 in the new file: 3 lines");
    close(fd);
}

static void test_days(void)
{
    verify_follow_t f, g;
    verify_follow_stop_t stop;
    char *err, *d;
    int fd;

    d = new_dir("days", &fd);
    verify_follow_init(&f);
    append_lines(d, DAY1, 0, 3);
    append_lines(d, DAY2, 3, 5);

    /* two files */
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS, "two days: success");
    is_int(stop, VERIFY_FOLLOW_DAY_END, "two days: DAY_END after the first");
    at(&f, 3, DAY2, 0, "two days: first file taken, at the second's start");
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS, "two days: second");
    is_int(stop, VERIFY_FOLLOW_END, "two days: END after the second");
    at(&f, 5, DAY2, bytes(3, 5), "two days: both taken");

    /* a third file appears (and the second grows first) */
    append_lines(d, DAY2, 5, 6);
    append_lines(d, DAY3, 6, 9);
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS, "three days: success");
    is_int(stop, VERIFY_FOLLOW_DAY_END, "three days: DAY_END");
    at(&f, 6, DAY3, 0, "three days: rest of the second taken");
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS, "three days: third");
    is_int(stop, VERIFY_FOLLOW_END, "three days: END");
    at(&f, 9, DAY3, bytes(6, 9), "three days: all taken");

    /* a new file while the old one has nothing new: DAY_END, no line */
    append_lines(d, DAY4, 9, 10);
    run(&f, fd, 100, &stop, &err);
    is_int(stop, VERIFY_FOLLOW_DAY_END, "fourth day: DAY_END");
    at(&f, 9, DAY4, 0, "fourth day: moved, nothing taken");
    run(&f, fd, 100, &stop, &err);
    at(&f, 10, DAY4, bytes(9, 10), "fourth day: its line taken");

    /* a fresh follower over the four files: three DAY_ENDs, then END */
    {
        int ends = 0, i;
        verify_follow_init(&g);
        for (i = 0; i < 10; i++) {
            if (run(&g, fd, 100, &stop, &err) != APR_SUCCESS
                || stop != VERIFY_FOLLOW_DAY_END) {
                break;
            }
            ends++;
        }
        ok(ends == 3 && stop == VERIFY_FOLLOW_END,
           "fresh follower over four files: 3 DAY_END then END (%d)", ends);
        ok(same(&f, &g), "fresh follower: where the first one stands");
    }
    close(fd);

    /* an empty oldest file: nothing to end, the next one is read on */
    d = new_dir("empty-oldest", &fd);
    append(d, DAY1, "", 0);
    append_lines(d, DAY2, 0, 4);
    verify_follow_init(&f);
    is_int(run(&f, fd, 100, &stop, &err), APR_SUCCESS,
           "empty oldest file: success");
    is_int(stop, VERIFY_FOLLOW_END, "empty oldest file: END");
    at(&f, 4, DAY2, bytes(0, 4), "empty oldest file: the next one taken");
    close(fd);
}

/* A file with lines 1..3 then @p bad; a follower that took 1..3 before
 * and one that starts now must both stop at line 3, naming the file and
 * @p fault. Then the bad line is replaced by line 4 and both go on. */
static void fault(const char *what, const char *bad, size_t badlen,
                  const char *fault_words)
{
    verify_follow_t f, g, saved;
    verify_follow_stop_t stop;
    apr_status_t rv;   /* apart from the ok() that reads err: C evaluates
                        * arguments in no set order */
    char *err, *d, *path;
    int fd;

    d = new_dir(what, &fd);
    append_lines(d, DAY3, 0, 3);
    verify_follow_init(&f);
    run(&f, fd, 100, &stop, &err);
    memcpy(&saved, &f, sizeof(f));
    append(d, DAY3, bad, badlen);
    append_lines(d, DAY3, 4, 6);

    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS, "%s: error", what);
    ok(has(err, "audit-2026-11-26.jsonl") && has(err, fault_words),
       "%s: the message names the file and '%s' (%s)", what, fault_words,
       err ? err : "no message");
    ok(same(&f, &saved), "%s: the follower stays at line 3", what);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS && same(&f, &saved),
       "%s: and again", what);

    verify_follow_init(&g);
    rv = run(&g, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS,
       "%s: a fresh follower: error", what);
    at(&g, 3, DAY3, bytes(0, 3), apr_psprintf(pool, "%s: a fresh follower",
                                              what));

    /* repaired: line 4 in place of the bad one, both go on */
    path = day_path(d, DAY3);
    unlink(path);
    append_lines(d, DAY3, 0, 6);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv == APR_SUCCESS
       && run(&g, fd, 100, &stop, &err) == APR_SUCCESS,
       "%s: repaired: both go on", what);
    at(&f, 6, DAY3, bytes(0, 6), apr_psprintf(pool, "%s: repaired", what));
    ok(same(&f, &g), "%s: repaired: both at the same place", what);
    close(fd);
}

static void test_faults(void)
{
    verify_chain_t c;
    size_t len;
    char *bad;

    /* a changed byte in line 4 */
    bad = apr_pstrmemdup(pool, ln[3], lnl[3]);
    bad[strstr(bad, "req-3") - bad + 4] = '9';
    fault("changed byte", bad, lnl[3], "hash does not cover");

    /* line 4 removed: line 5 follows line 3 */
    fault("removed line", ln[4], lnl[4], "prev is not the hash");

    /* line 4 with prev linking line 3 but seq 7 */
    c.seq = 6;
    memcpy(c.hash, aft[2].hash, 32);
    bad = seal(&c, 3, 150, &len);
    fault("wrong seq", bad, len, "seq does not follow");

    /* line 4 with the right seq, its prev not line 3's hash */
    c.seq = 3;
    memcpy(c.hash, aft[1].hash, 32);
    bad = seal(&c, 3, 150, &len);
    fault("prev not linking", bad, len, "prev is not the hash");

    /* not a line at all */
    bad = "{\"seq\":4,\"oops\":1}\n";
    fault("garbage", bad, strlen(bad), "not a sealed");

    /* sealed and linked, but with bytes no audit line holds: what
     * verify-audit calls BROKEN is never signed */
    c = aft[2];
    craft_poison = '\x01';
    bad = craft(&c, 300);
    fault("raw control character", bad, 300, "raw control character");
    craft_poison = '\xff';
    bad = craft(&c, 300);
    fault("invalid UTF-8", bad, 300, "invalid UTF-8");
    craft_poison = 0;
}

static void test_first_line(void)
{
    verify_follow_t f;
    verify_follow_stop_t stop;
    apr_status_t rv;   /* apart from the ok() that reads err: C evaluates
                        * arguments in no set order */
    verify_chain_t c;
    size_t len;
    char *err, *d, *line;
    int fd;

    /* a purged log: the oldest file starts at line 3 */
    d = new_dir("purged", &fd);
    append_lines(d, DAY2, 2, 6);
    verify_follow_init(&f);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS
       && has(err, "audit-2026-11-25.jsonl"),
       "first line seq 3: error naming the file (%s)",
       err ? err : "no message");
    at(&f, 0, DAY2, 0, "first line seq 3: nothing taken");
    close(fd);

    /* seq 1 but a prev that is not zero */
    d = new_dir("prev-not-zero", &fd);
    memset(&c, 0, sizeof(c));
    c.hash[5] = 1;
    line = seal(&c, 0, 100, &len);
    append(d, DAY2, line, len);
    verify_follow_init(&f);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS
       && has(err, "prev is not the hash"),
       "first line seq 1, prev not zero: error (%s)",
       err ? err : "no message");
    at(&f, 0, DAY2, 0, "first line prev not zero: nothing taken");
    close(fd);

    /* seq 2 with a zero prev */
    d = new_dir("seq-2", &fd);
    memset(&c, 0, sizeof(c));
    c.seq = 1;
    line = seal(&c, 0, 100, &len);
    append(d, DAY2, line, len);
    verify_follow_init(&f);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS
       && has(err, "seq does not follow"),
       "first line seq 2, prev zero: error (%s)", err ? err : "no message");
    close(fd);
}

static void test_refused(void)
{
    verify_follow_t f, saved;
    verify_follow_stop_t stop;
    apr_status_t rv;   /* apart from the ok() that reads err: C evaluates
                        * arguments in no set order */
    char *err, *d, *elsewhere;
    int fd;

    /* a symbolic link as the only day file */
    d = new_dir("symlink", &fd);
    elsewhere = apr_pstrcat(pool, tmpdir, "/elsewhere.jsonl", NULL);
    write_file(tmpdir, "elsewhere.jsonl", ln[0], bytes(0, 1));
    if (symlink(elsewhere, day_path(d, DAY1)) != 0) {
        diag("symlink: %s", strerror(errno));
    }
    verify_follow_init(&f);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS
       && has(err, "audit-2026-11-24.jsonl") && has(err, "symbolic link"),
       "symlink day file: refused (%s)", err ? err : "no message");
    ok(f.chain.seq == 0 && f.edge.size == 0 && f.offset == 0,
       "symlink day file: nothing taken");

    /* a symbolic link as the newer day file (2026-11-23, -25) */
    unlink(day_path(d, DAY1));
    append_lines(d, DAY1 - 1, 0, 2);
    if (symlink(elsewhere, day_path(d, DAY2)) != 0) {
        diag("symlink: %s", strerror(errno));
    }
    verify_follow_init(&f);
    run(&f, fd, 100, &stop, &err);
    ok(stop == VERIFY_FOLLOW_DAY_END && f.chain.seq == 2,
       "symlink as the newer file: the older one taken");
    memcpy(&saved, &f, sizeof(f));
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS
       && has(err, "audit-2026-11-25.jsonl") && has(err, "symbolic link"),
       "symlink as the newer file: refused (%s)", err ? err : "no message");
    ok(same(&f, &saved), "symlink as the newer file: follower unchanged");
    close(fd);

    /* a day file with a second name */
    d = new_dir("hardlink", &fd);
    append_lines(d, DAY1, 0, 3);
    if (link(day_path(d, DAY1), apr_pstrcat(pool, d, "/other", NULL)) != 0) {
        diag("link: %s", strerror(errno));
    }
    verify_follow_init(&f);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS
       && has(err, "audit-2026-11-24.jsonl") && has(err, "hard links"),
       "two links: refused (%s)", err ? err : "no message");
    ok(f.chain.seq == 0 && f.edge.size == 0,
       "two links: nothing taken");
    /* with the second name gone, it is read */
    unlink(apr_pstrcat(pool, d, "/other", NULL));
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv == APR_SUCCESS && f.chain.seq == 3,
       "one link again: read");

    /* the owner asked for */
    verify_follow_init(&f);
    err = NULL;
    ok(verify_follow_run(&f, fd, geteuid() + 1, 100, &stop, &err, pool)
       != APR_SUCCESS && has(err, "owned by uid"),
       "another owner's file: refused (%s)", err ? err : "no message");
    verify_follow_init(&f);
    ok(verify_follow_run(&f, fd, geteuid(), 100, &stop, &err, pool)
       == APR_SUCCESS && f.chain.seq == 3, "the owner's own file: read");
    close(fd);
}

static void test_long(void)
{
    verify_follow_t f, saved;
    verify_follow_stop_t stop;
    apr_status_t rv;   /* apart from the ok() that reads err: C evaluates
                        * arguments in no set order */
    verify_chain_t c;
    struct rusage ru0, ru1;
    long long r0, r1;
    char *err, *d, *line;
    size_t n;
    int fd, tfd;

    /* the crafted lines are sealed as the writer seals */
    c = aft[2];
    line = craft(&c, lnl[3]);
    ok(verify_audit_check_line(&c, line, lnl[3] - 1, 0) == VERIFY_LINE_OK,
       "crafted line of %zu bytes checks", lnl[3]);

    /* the longest line there can be: VERIFY_AUDIT_LINE_MAX - 1 bytes
     * with its newline (verify_audit_seal makes none longer) */
    d = new_dir("longest", &fd);
    append_lines(d, DAY1, 0, 3);
    line = craft(&aft[2], VERIFY_AUDIT_LINE_MAX - 1);
    append(d, DAY1, line, VERIFY_AUDIT_LINE_MAX - 1);
    verify_follow_init(&f);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv == APR_SUCCESS && f.chain.seq == 4,
       "a line of %d bytes: taken", VERIFY_AUDIT_LINE_MAX - 1);
    close(fd);

    /* one byte more: complete and sealed, but longer than any line */
    d = new_dir("too-long", &fd);
    append_lines(d, DAY1, 0, 3);
    line = craft(&aft[2], VERIFY_AUDIT_LINE_MAX);
    append(d, DAY1, line, VERIFY_AUDIT_LINE_MAX);
    append_lines(d, DAY1, 4, 5);
    verify_follow_init(&f);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS
       && has(err, "audit-2026-11-24.jsonl") && has(err, "bytes or longer"),
       "a sealed line of %d bytes: error (%s)", VERIFY_AUDIT_LINE_MAX,
       err ? err : "no message");
    at(&f, 3, DAY1, bytes(0, 3), "a sealed line too long: stays at line 3");
    close(fd);

    /* much longer, still complete (within one read) */
    d = new_dir("very-long", &fd);
    append_lines(d, DAY1, 0, 3);
    line = craft(&aft[2], 20000);
    append(d, DAY1, line, 20000);
    verify_follow_init(&f);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS
       && has(err, "bytes or longer"),
       "a sealed line of 20000 bytes: error (%s)", err ? err : "no message");
    at(&f, 3, DAY1, bytes(0, 3), "a sealed 20000-byte line: stays at 3");
    close(fd);

    /* a line without end: 256 MiB with no newline (a sparse file) */
    d = new_dir("endless", &fd);
    n = append_lines(d, DAY1, 0, 3);
    append(d, DAY1, "{\"seq\":4,", 9);
    tfd = open(day_path(d, DAY1), O_WRONLY);
    if (tfd < 0 || ftruncate(tfd, (off_t)256 << 20) != 0) {
        diag("cannot extend the file");
    }
    if (tfd >= 0) {
        close(tfd);
    }
    verify_follow_init(&f);
    run(&f, fd, 100, &stop, &err);
    memcpy(&saved, &f, sizeof(f));
    getrusage(RUSAGE_SELF, &ru0);
    r0 = read_so_far();
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS
       && has(err, "audit-2026-11-24.jsonl") && has(err, "bytes or longer"),
       "no newline in 256 MiB: error (%s)", err ? err : "no message");
    r1 = read_so_far();
    getrusage(RUSAGE_SELF, &ru1);
    ok(same(&f, &saved) && f.offset == (apr_off_t)n,
       "no newline in 256 MiB: stays at line 3");
    ok(r0 >= 0 && r1 - r0 < 1024 * 1024,
       "no newline in 256 MiB: read %lld bytes before giving up", r1 - r0);
    ok(ru1.ru_maxrss - ru0.ru_maxrss < 16 * 1024,
       "no newline in 256 MiB: peak memory grew %ld KiB",
       ru1.ru_maxrss - ru0.ru_maxrss);
    close(fd);

    /* a partial line short of the limit is waited for, not refused */
    d = new_dir("long-partial", &fd);
    append_lines(d, DAY1, 0, 3);
    line = craft(&aft[2], VERIFY_AUDIT_LINE_MAX - 1);
    append(d, DAY1, line, VERIFY_AUDIT_LINE_MAX - 2);
    verify_follow_init(&f);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv == APR_SUCCESS && f.chain.seq == 3,
       "a partial line of %d bytes: waited for", VERIFY_AUDIT_LINE_MAX - 2);
    append(d, DAY1, "\n", 1);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv == APR_SUCCESS && f.chain.seq == 4,
       "completed: taken");
    close(fd);

    /* one byte more cannot become a line: refused without its newline */
    d = new_dir("long-partial-2", &fd);
    append_lines(d, DAY1, 0, 3);
    line = craft(&aft[2], VERIFY_AUDIT_LINE_MAX);
    append(d, DAY1, line, VERIFY_AUDIT_LINE_MAX - 1);
    verify_follow_init(&f);
    rv = run(&f, fd, 100, &stop, &err);
    ok(rv != APR_SUCCESS
       && has(err, "bytes or longer"),
       "a partial line of %d bytes: error (%s)", VERIFY_AUDIT_LINE_MAX - 1,
       err ? err : "no message");
    at(&f, 3, DAY1, bytes(0, 3), "a partial line too long: stays at 3");
    close(fd);
}

int main(void)
{
    int fds;

    unit_begin();
    make_lines();
    fds = count_fds();
    test_reference();
    test_empty();
    test_growing();
    test_partial();
    test_max();
    test_days();
    test_faults();
    test_first_line();
    test_refused();
    test_long();
    is_int(count_fds(), fds, "no descriptor left open");
    return unit_end();
}
