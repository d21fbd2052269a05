/*
 * verify_writer.c -- the audit chain writer.
 *
 * Many processes append to one chain. The head (seq, hash, file offset)
 * lives in shared memory; the critical section is only the chain step:
 * seq and prev, the hash, one append. A writer that dies inside it, or
 * a write that fails half way, is repaired by the next writer from the
 * files, and the repair is itself a line of the chain.
 *
 * The head also keeps the right edge of the RFC 6962 tree over the
 * lines: each line's leaf hash is added after the line is written, in
 * the same step; the edge is rebuilt from the files at start.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include "verify_audit_body.h"
#include "verify_audit_dir.h"
#include "verify_audit_tree.h"
#include "verify_json.h"
#include "verify_text.h"
#include "verify_writer.h"
#include "verify_writer_private.h"



void verify_writer_init(verify_writer_t *w, verify_writer_head_t *head,
                        const char *dir)
{
    w->head = head;
    w->dir = dir;
    w->pid = getpid();
    w->dirfd = -1;
    w->fd = -1;
    w->fd_day = 0;
    w->old_fd = -1;
    w->flights_full_said = 0;
    w->day_sec = 0;
    w->day_of_sec = 0;
}

void verify_writer_close(verify_writer_t *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (w->old_fd >= 0) {
        close(w->old_fd);
        w->old_fd = -1;
    }
    if (w->dirfd >= 0) {
        close(w->dirfd);
        w->dirfd = -1;
    }
}

/* Who must own the files: the run-time user, or whoever we are when
 * not root. */
static uid_t file_owner(const verify_writer_t *w)
{
    return geteuid() == 0 ? w->uid : geteuid();
}

/* What was refused, and why, into the error log: the one message of a
 * file the writer will not follow or use. */
static void say_refused(verify_writer_t *w, const char *what)
{
    WLOG(w, VERIFY_LOG_ERR, 0, VERIFY_MSGNO(70),
         "%s; the audit directory belongs to the run-time user and "
         "nothing planted there is followed or used", what);
}

/* Open @p name of the audit directory (verify_audit_openat's rule);
 * -1 with errno set, having said why when the file was refused. */
static int file_open(verify_writer_t *w, const char *name, int flags,
                     apr_pool_t *p)
{
    const char *why = NULL;
    int fd, e;

    if (w->dirfd < 0) {
        w->dirfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (w->dirfd < 0) {
            return -1;
        }
    }
    fd = verify_audit_openat(w->dirfd, name, flags, 0640, file_owner(w),
                             w->gid, &why, p);
    if (fd < 0 && why) {
        e = errno;
        say_refused(w, apr_psprintf(p, "refusing %s/%s: %s", w->dir, name,
                                    why));
        errno = e;
    }
    return fd;
}

static const char *day_path(verify_writer_t *w, verify_date_t day,
                            apr_pool_t *p)
{
    char name[32];

    verify_audit_filename(day, name);
    return apr_pstrcat(p, w->dir, "/", name, NULL);
}

/* The file of @p day, opened by file_open. */
static int day_file_open(verify_writer_t *w, verify_date_t day, int flags,
                         apr_pool_t *p)
{
    char name[32];

    verify_audit_filename(day, name);
    return file_open(w, name, flags, p);
}

/* Open this process's descriptor on the file of @p day. */
static int day_open(verify_writer_t *w, verify_date_t day, apr_pool_t *p)
{
    int fd;

    if (w->fd >= 0 && w->fd_day == day) {
        return 0;
    }
    /* root (httpd's parent) creates files the run-time user appends
     * to: a new one is handed over through its descriptor */
    fd = day_file_open(w, day, O_WRONLY | O_APPEND | O_CREAT, p);
    if (fd < 0) {
        return errno;
    }
    /* A thread may still be syncing the previous file outside the lock:
     * keep its descriptor open for one more change of day. */
    if (w->old_fd >= 0) {
        close(w->old_fd);
    }
    w->old_fd = w->fd;
    w->fd = fd;
    w->fd_day = day;
    return 0;
}

/* Cut @p file (of size @p size, as read) at @p at, through a
 * descriptor of the file that was read: never by its path. */
static apr_status_t cut_partial(verify_writer_t *w, const char *file,
                                apr_off_t size, apr_off_t at, apr_pool_t *p)
{
    const char *name = strrchr(file, '/') + 1;
    apr_status_t rv = APR_SUCCESS;
    struct stat st;
    int fd = file_open(w, name, O_WRONLY, p);

    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (fstat(fd, &st) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    else if (st.st_size != size) {
        /* not the file that was read: someone changed it meanwhile */
        say_refused(w, apr_psprintf(p, "refusing to cut %s: it changed "
                                    "while it was read", file));
        rv = VERIFY_AUDIT_REFUSED;
    }
    else if (ftruncate(fd, at) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    close(fd);
    return rv;
}

/*
 * The chain head on disk: the last complete line of the newest file.
 * A partial line after it (its writer died) is cut off; *partial says
 * whether there was one and *file names the file.
 */
static apr_status_t find_head(verify_writer_t *w, verify_chain_t *head,
                              apr_time_t *ts, const char **file, int *partial,
                              char **err, apr_pool_t *p)
{
    apr_off_t size, at;
    apr_status_t rv;

    rv = verify_audit_find_head_ts(w->dir, file_owner(w), head, ts, file,
                                   &size, &at, err, p);
    if (rv == VERIFY_AUDIT_REFUSED) {
        say_refused(w, *err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *partial = at >= 0;
    if (*partial) {
        rv = cut_partial(w, *file, size, at, p);
    }
    return rv;
}

/* The tree's edge from every line of the files (the head's chain is
 * set). A log without its early lines (purged) has no tree to keep:
 * lines and receipts go on, the root is not known. */
static void tree_start(verify_writer_t *w, apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    apr_time_t t0 = apr_time_now();
    char *err = NULL;

    h->tree_ok = 0;
    if (verify_audit_tree_rebuild(w->dir, file_owner(w), h->chain.seq,
                                  &h->edge, &err, p) != APR_SUCCESS) {
        verify_merkle_edge_init(&h->edge);
        WLOG(w, VERIFY_LOG_WARNING, 0, VERIFY_MSGNO(80),
             "the audit log's Merkle tree cannot be rebuilt (%s): lines are "
             "written and receipts given, but no tree root is kept", err);
        return;
    }
    h->tree_ok = 1;
    WLOG(w, VERIFY_LOG_INFO, 0, VERIFY_MSGNO(81),
         "audit tree rebuilt from %" APR_UINT64_T_FMT " lines in %"
         APR_TIME_T_FMT " ms", h->edge.size,
         (apr_time_now() - t0) / 1000);
}

apr_status_t verify_writer_start(verify_writer_t *w, int lock_kind,
                                 apr_pool_t *ptemp)
{
    verify_writer_head_t *h = w->head;
    verify_chain_t head;
    verify_date_t newest;
    apr_time_t ts = 0;
    const char *file = NULL;
    char *err = NULL;
    int partial = 0;
    apr_status_t rv;

    rv = find_head(w, &head, &ts, &file, &partial, &err, ptemp);
    if (rv != APR_SUCCESS && !partial) {
        WLOG(w, VERIFY_LOG_EMERG, rv, VERIFY_MSGNO(14),
             "cannot find the audit chain head: %s", err);
        return rv;
    }
    if (rv != APR_SUCCESS) {
        WLOG(w, VERIFY_LOG_EMERG, rv, VERIFY_MSGNO(15),
             "cannot cut the partial last line of %s", file);
        return rv;
    }
    if (partial) {
        WLOG(w, VERIFY_LOG_ERR, 0, VERIFY_MSGNO(16),
             "%s ended in a partial line (a writer died); it was removed "
             "and the chain resumes after seq %" APR_UINT64_T_FMT, file,
             head.seq);
    }
    memset(h, 0, sizeof(*h));
    if (w->flights) {
        memset(w->flights, 0, w->nflights * sizeof(*w->flights));
    }
    h->chain = head;
    /* The next line follows the head, into the newest file, even when
     * the clock says otherwise (stepped back, a wrong RTC): it is the
     * chain's order that says which file and seq come next, never the
     * clock. An earlier day's file is never written again. */
    h->last_ts = ts;
    newest = file ? verify_audit_name_date(file) : 0;
    if (newest && verify_date_start_taipei(newest) > h->last_ts) {
        h->last_ts = verify_date_start_taipei(newest);
    }
    h->offset = -1;
    h->synced_seq = head.seq;
    /* no sync running: sync_for must not equal sync_gen (a waiter would
     * take a stale sync_upto for the running sync's) */
    h->sync_for = h->sync_gen - 1;
    h->lock_kind = lock_kind;
    h->layout = VERIFY_WRITER_LAYOUT;
    apr_cpystrn(h->audit_dir, w->dir, sizeof(h->audit_dir));
    if (partial) {
        apr_snprintf(h->note, sizeof(h->note), "a partial last line (never "
                     "answered) was removed at start from %s", file);
    }
    tree_start(w, ptemp);
    return APR_SUCCESS;
}

/*
 * The previous holder of the chain step died inside it. The files are
 * the truth: drop a line it left half-written, take the head from the
 * last complete line (its line may have been written before it died),
 * and say so in the chain, so that the death is never a silent hole.
 */
static apr_status_t recover(verify_writer_t *w, apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    pid_t dead = h->busy ? h->busy : h->broken;
    const char *why = h->busy ? "writer died inside the chain step:"
                              : "a failed write left a partial line:";
    verify_chain_t head;
    apr_time_t ts = 0;
    const char *file = NULL;
    char *err = NULL;
    int partial = 0;
    uint32_t i;
    apr_status_t rv;

    rv = find_head(w, &head, &ts, &file, &partial, &err, p);
    if (rv != APR_SUCCESS && !partial) {
        WLOG(w, VERIFY_LOG_CRIT, rv, VERIFY_MSGNO(1),
             "audit recovery after pid %ld died failed: %s", (long)dead, err);
        return rv;
    }
    if (rv != APR_SUCCESS) {
        WLOG(w, VERIFY_LOG_CRIT, rv, VERIFY_MSGNO(2),
             "audit recovery: cannot cut the partial line left by pid %ld in "
             "%s", (long)dead, file);
        return rv;
    }
    WLOG(w, VERIFY_LOG_ERR, 0, VERIFY_MSGNO(3),
         "audit writer pid %ld %s; chain resumes after seq %"
         APR_UINT64_T_FMT "%s", (long)dead,
         h->busy ? "died inside the chain step"
                 : "left a partial line after a failed write",
         head.seq, partial ? " (partial line removed)" : "");
    h->chain = head;
    h->day = 0;                 /* offset unknown: re-read at next open */
    h->offset = -1;
    /* its line may be written with a ts the head has not seen */
    if (ts > h->last_ts) {
        h->last_ts = ts;
    }
    /* A writer that died inside the chain step noted its answer's seq
     * before writing: if the line is not in the file, that seq is the
     * next writer's, and no answer of the dead one's. */
    for (i = 0; h->busy && w->flights && i < w->nflights; i++) {
        if (w->flights[i].pid == h->busy && w->flights[i].seq > head.seq) {
            w->flights[i].seq = 0;
        }
    }
    apr_snprintf(h->note, sizeof(h->note), "%s pid %ld%s", why, (long)dead,
                 partial ? "; partial line removed" : "");
    h->busy = 0;
    h->broken = 0;
    return APR_SUCCESS;
}

/* A sync of the new day's file will not cover the old one's lines: make
 * them durable before the first line of the day. */
static apr_status_t sync_previous_day(verify_writer_t *w, apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    int fd = day_file_open(w, h->day, O_WRONLY, p);
    int e;

    if (fd < 0 || fdatasync(fd) != 0) {
        e = errno;
        if (fd >= 0) {
            close(fd);
        }
        WLOG(w, VERIFY_LOG_ERR, APR_FROM_OS_ERROR(e), VERIFY_MSGNO(28),
             "cannot sync the previous day's audit file %s",
             day_path(w, h->day, p));
        return APR_FROM_OS_ERROR(e);
    }
    close(fd);
    if (h->synced_seq < h->chain.seq) {
        __atomic_store_n(&h->synced_seq, h->chain.seq, __ATOMIC_RELEASE);
    }
    return APR_SUCCESS;
}

/*
 * A line that cannot be written (a full volume) fails every request
 * after it: say so at most once a second, with the count of lines
 * refused since the last message (the lock is held). 1 when this one is
 * to be said, *n the count.
 */
static int fail_to_say(verify_writer_t *w, uint64_t *n)
{
    verify_writer_head_t *h = w->head;
    apr_time_t t = apr_time_now();

    h->fail_count++;
    if (h->fail_said && t >= h->fail_said
        && t - h->fail_said < apr_time_from_sec(1)) {
        return 0;
    }
    *n = h->fail_count;
    h->fail_count = 0;
    h->fail_said = t ? t : 1;
    return 1;
}

/* A line written after failures: the volume has room again. */
static void failures_over(verify_writer_t *w)
{
    verify_writer_head_t *h = w->head;

    WLOG(w, VERIFY_LOG_NOTICE, 0, VERIFY_MSGNO(91),
         "audit lines are written again; %" APR_UINT64_T_FMT " more "
         "line(s) were refused since the last message", h->fail_count);
    h->fail_said = 0;
    h->fail_count = 0;
}

/* The day's file for lines with ts @p now, opened, and the offset at
 * which they will start (the lock is held). */
apr_status_t writer_file_at(verify_writer_t *w, apr_time_t now,
                            verify_date_t *day, apr_off_t *offset,
                            apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    struct stat st;
    uint64_t nfail;
    int e;

    /* the day of the line's second, worked out once a second: gmtime_r
     * takes glibc's process-wide time-zone lock, and this runs under the
     * chain lock */
    if (w->day_of_sec == 0 || apr_time_sec(now) != w->day_sec) {
        w->day_sec = apr_time_sec(now);
        w->day_of_sec = verify_date_taipei(now);
    }
    *day = w->day_of_sec;
    if (w->sync && h->day && *day != h->day) {
        apr_status_t rv = sync_previous_day(w, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    e = day_open(w, *day, p);
    if (e != 0) {
        if (fail_to_say(w, &nfail)) {
            WLOG(w, VERIFY_LOG_ERR, APR_FROM_OS_ERROR(e), VERIFY_MSGNO(4),
                 "cannot open audit file %s; %" APR_UINT64_T_FMT " line(s) "
                 "refused since the last message", day_path(w, *day, p),
                 nfail);
        }
        return APR_FROM_OS_ERROR(e);
    }
    if (h->day == *day && h->offset >= 0) {
        *offset = h->offset;
    }
    else if (fstat(w->fd, &st) == 0) {
        *offset = st.st_size;
    }
    else {
        return APR_FROM_OS_ERROR(errno);
    }
    return APR_SUCCESS;
}

/* A write of @p len bytes at @p offset that wrote @p n: whatever part of
 * it reached the file is cut off again (the lock is held). */
apr_status_t writer_write_failed(verify_writer_t *w, verify_date_t day,
                                 apr_off_t offset, ssize_t n, size_t lines,
                                 int err, apr_pool_t *p)
{
    uint64_t nfail;
    int e = n < 0 ? err : ENOSPC;

    if (n > 0 && ftruncate(w->fd, offset) != 0) {
        /* the fragment stays: the next writer recovers first */
        w->head->broken = w->pid;
    }
    w->head->fail_count += lines - 1;
    if (fail_to_say(w, &nfail)) {
        WLOG(w, VERIFY_LOG_ERR, APR_FROM_OS_ERROR(e), VERIFY_MSGNO(6),
             "cannot write audit line to %s; %" APR_UINT64_T_FMT
             " line(s) refused since the last message",
             day_path(w, day, p), nfail);
    }
    return APR_FROM_OS_ERROR(e);
}

/* Lines written: the head moves to @p next, the file's end to @p end
 * (the lock is held; the tree's edge has them already). */
void writer_written(verify_writer_t *w, const verify_chain_t *next,
                    verify_date_t day, apr_off_t end, apr_time_t now)
{
    verify_writer_head_t *h = w->head;

    h->chain = *next;
    h->day = day;
    h->offset = end;
    h->last_ts = now;
    if (h->fail_said) {
        failures_over(w);
    }
}

/* Seal and write one line with ts @p now (chain_time's) and add it to
 * the tree; the chain lock is held. @p leaf receives the line's leaf
 * hash. */
apr_status_t writer_append_locked(verify_writer_t *w, const char *body,
                                  size_t blen, apr_time_t now,
                                  unsigned char *leaf, apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    unsigned char lh[VERIFY_MERKLE_HASH_LEN];
    char line[VERIFY_AUDIT_LINE_MAX];
    verify_chain_t next = h->chain;
    verify_date_t day;
    apr_off_t offset;
    apr_status_t rv;
    size_t len;
    ssize_t n;

    rv = writer_file_at(w, now, &day, &offset, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    len = verify_audit_seal(&next, now, body, blen, line, sizeof(line));
    if (len == 0) {
        WLOG(w, VERIFY_LOG_ERR, 0, VERIFY_MSGNO(5),
             "audit line too long; not written");
        return APR_EGENERAL;
    }
    /* the leaf is the line without its newline */
    if (verify_merkle_leaf_hash(line, len - 1, lh) != APR_SUCCESS) {
        return APR_ENOMEM;
    }
    n = write(w->fd, line, len);
    if (n != (ssize_t)len) {
        return writer_write_failed(w, day, offset, n, 1, errno, p);
    }
    /* The edge first, the chain head after: a writer killed between
     * them leaves the edge at the new size (recovery reads the line
     * back as the head), one killed before leaves it one behind, which
     * tree_catch_up() repairs from the file. A failed append (OpenSSL)
     * leaves it one behind in the same way. */
    if (h->tree_ok) {
        (void)verify_merkle_edge_append(&h->edge, lh);
    }
    writer_written(w, &next, day, offset + (apr_off_t)len, now);
    if (leaf) {
        memcpy(leaf, lh, sizeof(lh));
    }
    return APR_SUCCESS;
}

/*
 * The chain lock: by default verify_lock (verify_lock.c), an adaptive
 * robust lock in the head. Measured against the APR pthread mutex
 * (robust and priority-inheriting: every contended hand-over goes
 * through the kernel) in docs/performance.md. A lock taken over from a
 * dead owner needs no flag here: the owner's busy mark makes the next
 * writer recover the chain from the file.
 */
static apr_status_t chain_lock(verify_writer_t *w)
{
    apr_time_t until;

    if (w->head->lock_kind == VERIFY_WRITER_LOCK_MUTEX) {
        return w->mutex.acquire(w->mutex.baton);
    }
    if (w->patience <= 0) {
        verify_lock_acquire(&w->head->lock, w->pid);
        return APR_SUCCESS;
    }
    /* the lock word is in memory every child can write: a writer that
     * must not hang (httpd's parent) gives up after a while */
    until = apr_time_now() + w->patience;
    while (!verify_lock_try(&w->head->lock, w->pid)) {
        if (apr_time_now() >= until) {
            return APR_TIMEUP;
        }
        apr_sleep(1000);
    }
    return APR_SUCCESS;
}

static apr_status_t chain_unlock(verify_writer_t *w)
{
    if (w->head->lock_kind == VERIFY_WRITER_LOCK_MUTEX) {
        return w->mutex.release(w->mutex.baton);
    }
    verify_lock_release(&w->head->lock);
    return APR_SUCCESS;
}

/*
 * The ts of the lines of this chain step (the lock is held): the clock,
 * or the last line's ts while the clock is behind it, so that ts never
 * goes back and no line goes to an earlier day's file than the head's.
 * When the clock is first found behind, and at each further step back,
 * a "clock" line records what it read and the ts the lines keep. If
 * that line cannot be written, the next step tries again.
 */
static apr_time_t chain_time(verify_writer_t *w, apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    apr_time_t now = apr_time_now();
    char seen[VERIFY_TS_LEN + 1], last[VERIFY_TS_LEN + 1];
    verify_jbuf_t jb;
    char b[160];

    if (now >= h->last_ts) {
        if (h->clock_seen) {
            h->clock_seen = 0;
        }
        return now;
    }
    if (!h->clock_seen || now < h->clock_seen) {
        verify_time_format_us(now, seen);
        verify_time_format_us(h->last_ts, last);
        verify_jbuf_init(&jb, b, sizeof(b));
        verify_audit_body_clock(&jb, seen, last);
        if (writer_append_locked(w, b, jb.len, h->last_ts, NULL, p)
            != APR_SUCCESS) {
            return h->last_ts;
        }
        WLOG(w, VERIFY_LOG_WARNING, 0, VERIFY_MSGNO(90),
             "the clock (%s) is behind the audit log's last line (%s): "
             "lines keep that time until the clock catches up; a \"clock\" "
             "line records it", seen, last);
    }
    h->clock_seen = now;
    return h->last_ts;
}


/*
 * The line of seq @p seq is in the chain, but its sync failed and its
 * answer is not sent. Say so in the chain, best effort, and refuse every
 * append until the caller resets sync_failed: after a failed fdatasync
 * the kernel may have dropped pages of other lines too.
 */
static void withdraw(verify_writer_t *w, uint64_t seq,
                     const char *request_id, apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    verify_jbuf_t jb;
    char b[256];

    h->sync_failed = 1;
    if (chain_lock(w) != APR_SUCCESS) {
        return;
    }
    verify_jbuf_init(&jb, b, sizeof(b));
    verify_audit_body_withdrawn(&jb, request_id, seq);
    if (h->busy == 0 && !h->broken && !jb.overflow) {
        h->busy = w->pid;
        (void)writer_append_locked(w, b, jb.len, chain_time(w, p), NULL, p);
        h->busy = 0;
    }
    chain_unlock(w);
    WLOG(w, VERIFY_LOG_CRIT, 0, VERIFY_MSGNO(29),
         "audit sync failed: seq %" APR_UINT64_T_FMT " withdrawn; /verify "
         "refuses every request (503) until httpd is restarted", seq);
}

/*
 * Bring the edge level with the chain head (the lock is held): a writer
 * that died after writing its line but before adding it to the edge
 * leaves the edge one line behind; that line is read back from the
 * file. Anything else (never expected) rebuilds the edge from every
 * file. While the rebuild runs tree_ok is 0, so a writer killed in it
 * leaves no half-copied edge behind.
 */
static void tree_catch_up(verify_writer_t *w, apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    unsigned char leaf[VERIFY_MERKLE_HASH_LEN];
    verify_merkle_edge_t e;
    verify_chain_t c;
    const char *file = NULL;
    apr_off_t size, at;
    char *err = NULL;

    if (!h->tree_ok || h->edge.size == h->chain.seq) {
        return;
    }
    if (h->edge.size + 1 == h->chain.seq
        && verify_audit_find_head(w->dir, file_owner(w), &c, &file, &size,
                                  &at, &err, p) == APR_SUCCESS
        && at < 0 && c.seq == h->chain.seq
        && verify_audit_tree_last_leaf(w->dir, strrchr(file, '/') + 1,
                                       file_owner(w), c.seq, h->chain.hash,
                                       leaf, &err, p) == APR_SUCCESS
        && verify_merkle_edge_append(&h->edge, leaf) == APR_SUCCESS) {
        return;
    }
    h->tree_ok = 0;
    if (verify_audit_tree_rebuild(w->dir, file_owner(w), h->chain.seq, &e,
                                  &err, p) != APR_SUCCESS) {
        WLOG(w, VERIFY_LOG_ERR, 0, VERIFY_MSGNO(82),
             "the audit tree's edge (size %" APR_UINT64_T_FMT ") does not "
             "match the chain (seq %" APR_UINT64_T_FMT ") and cannot be "
             "rebuilt (%s): no tree root is kept until a full restart",
             h->edge.size, h->chain.seq, err);
        return;
    }
    memcpy(&h->edge, &e, sizeof(e));
    __atomic_store_n(&h->tree_ok, 1, __ATOMIC_RELEASE);
    WLOG(w, VERIFY_LOG_NOTICE, 0, VERIFY_MSGNO(83),
         "the audit tree's edge was rebuilt from the files (%"
         APR_UINT64_T_FMT " lines)", e.size);
}

/* What must precede the line under the same lock: lines deferred, a
 * pending recovery note, and the answers in flight of exited processes.
 * (Imports are recorded when they happen, through the event spool.) */
static apr_status_t append_pending(verify_writer_t *w, apr_time_t now,
                                   apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    verify_jbuf_t jb;
    char b[512];
    apr_status_t rv;
    int k;

    for (k = 0; k < VERIFY_WRITER_DEFERRED && h->deferred[0][0]; k++) {
        h->deferred[0][sizeof(h->deferred[0]) - 1] = '\0';
        rv = writer_append_locked(w, h->deferred[0], strlen(h->deferred[0]), now,
                           NULL, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        memmove(h->deferred[0], h->deferred[1],
                sizeof(h->deferred) - sizeof(h->deferred[0]));
        memset(h->deferred[VERIFY_WRITER_DEFERRED - 1], 0,
               sizeof(h->deferred[0]));
    }
    if (h->note[0]) {
        verify_jbuf_init(&jb, b, sizeof(b));
        verify_audit_body_recover(&jb, w->pid, h->note);
        rv = writer_append_locked(w, b, jb.len, now, NULL, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        h->note[0] = '\0';
    }
    if (w->flights
        && __atomic_load_n(&h->dead_pending, __ATOMIC_ACQUIRE)) {
        rv = writer_record_exited(w, 0, now, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t writer_step_begin(verify_writer_t *w, apr_time_t *now,
                               int *locked, apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    apr_status_t rv;

    *locked = 0;
    if (w->sync && h->sync_failed) {
        /* a failed sync may have lost lines the disk said it had: no
         * more answers until an admin has looked (and restarted) */
        return APR_EGENERAL;
    }
    rv = chain_lock(w);
    if (rv != APR_SUCCESS) {
        WLOG(w, VERIFY_LOG_ERR, rv, VERIFY_MSGNO(8),
             "cannot take the audit chain lock");
        return rv;
    }
    *locked = 1;
    if (h->busy != 0 || h->broken) {
        rv = recover(w, p);
        if (rv != APR_SUCCESS) {
            return rv;          /* busy stays set: the next one retries */
        }
    }
    tree_catch_up(w, p);
    h->busy = w->pid;
    *now = chain_time(w, p);
    return append_pending(w, *now, p);
}

apr_status_t writer_step_end(verify_writer_t *w, apr_status_t rv,
                             uint64_t seq, const char *request_id,
                             apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    verify_date_t fd_day = w->fd_day;
    int fd = w->fd;
    apr_status_t lrv;

    if (h->busy == w->pid) {
        h->busy = 0;
    }
    lrv = chain_unlock(w);
    if (lrv != APR_SUCCESS) {
        WLOG(w, VERIFY_LOG_CRIT, lrv, VERIFY_MSGNO(9),
             "cannot release the audit chain lock");
    }
    if (rv == APR_SUCCESS && w->sync) {
        rv = writer_group_sync(w, seq, fd, fd_day);
        if (rv != APR_SUCCESS) {
            withdraw(w, seq, request_id, p);
        }
    }
    return rv;
}

apr_status_t verify_writer_append(verify_writer_t *w, const char *body,
                                  size_t blen, const char *request_id,
                                  verify_writer_receipt_t *receipt,
                                  apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    unsigned char leaf[VERIFY_MERKLE_HASH_LEN];
    verify_writer_flight_t *fl = NULL;
    apr_status_t rv;
    apr_time_t now = 0;
    uint64_t seq = 0;
    int locked;

    rv = writer_step_begin(w, &now, &locked, p);
    if (!locked) {
        return rv;
    }
    if (rv == APR_SUCCESS) {
        /* An answer is in flight from before its line is written until
         * it has left (verify_writer_answered): a process that dies in
         * between gets an "unconfirmed" line. Noted before the write, so
         * that no instant of the write is uncovered; recover() drops it
         * if the line never reached the file. */
        if (receipt && w->flights && (fl = writer_flight_slot(w)) != NULL) {
            fl->seq = h->chain.seq + 1;
        }
        rv = writer_append_locked(w, body, blen, now, leaf, p);
        seq = h->chain.seq;
        if (rv != APR_SUCCESS && fl) {
            fl->seq = 0;
        }
    }
    rv = writer_step_end(w, rv, seq, request_id, p);
    if (rv == APR_SUCCESS && receipt) {
        receipt->seq = seq;
        memcpy(receipt->leaf, leaf, sizeof(leaf));
    }
    return rv;
}

apr_status_t verify_writer_defer(verify_writer_t *w, const char *body,
                                 size_t blen)
{
    verify_writer_head_t *h = w->head;
    apr_status_t rv;
    int k;

    if (blen >= sizeof(h->deferred[0])) {
        return APR_EINVAL;
    }
    rv = chain_lock(w);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (k = 0; k < VERIFY_WRITER_DEFERRED - 1 && h->deferred[k][0]; k++) {
    }
    memcpy(h->deferred[k], body, blen);
    h->deferred[k][blen] = '\0';
    return chain_unlock(w);
}

apr_status_t verify_writer_flush_exited(verify_writer_t *w, apr_pool_t *p)
{
    verify_writer_head_t *h = w->head;
    apr_status_t rv;
    uint32_t i;

    for (i = 0; w->flights && i < w->nflights; i++) {
        if (w->flights[i].pid && w->flights[i].seq) {
            break;
        }
    }
    if (!w->flights || i == w->nflights) {
        return APR_SUCCESS;     /* nothing was in flight */
    }
    rv = chain_lock(w);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (h->busy != 0 || h->broken) {
        rv = recover(w, p);
    }
    if (rv == APR_SUCCESS) {
        tree_catch_up(w, p);
        h->busy = w->pid;
        rv = writer_record_exited(w, 1, chain_time(w, p), p);
        h->busy = 0;
    }
    chain_unlock(w);
    return rv;
}
