/*
 * mod_verify_checkpoint.c -- the httpd parent signs checkpoints of the
 * audit log, as root, from its monitor hook (which httpd runs in the
 * parent's main loop about every ten seconds) and its configuration
 * pool's cleanup: the parent never handles a request, and no child
 * (no www-data process) ever holds the key. Not a thread in the parent:
 * httpd forks children from it, and a thread holding a lock (OpenSSL's,
 * say) at the fork would leave the child a lock nobody releases; that is
 * why mod_watchdog refuses parent threads to forking MPMs.
 *
 * What it signs is its own reading of the day files
 * (verify_audit_follow), checked line by line from the first; never the
 * shared chain head, which every child can write.
 *
 * A checkpoint is made when lines are waiting and VerifyCheckpointInterval
 * has passed (the first one at once), when a day file is complete (a
 * newer one began), on the first tick of a new Taipei day even if no line
 * came (so the month's sample seed exists early), and when the
 * generation stops (graceful restart, stop). Each is kept three times:
 * a file in VerifyCheckpointDir, a "checkpoint" line in the chain, and a
 * syslog message.
 */
#include <fcntl.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"
#include "unixd.h"

#include "verify.h"
#include "verify_audit_follow.h"
#include "verify_checkpoint_dir.h"
#include "verify_note_fork.h"
#include "verify_private.h"
#include "mod_verify_audit.h"
#include "mod_verify_checkpoint.h"
#include "mod_verify_config.h"
#include "mod_verify_status.h"

#define STATE_KEY "mod_verify_checkpoint_state"
/* Lines read in one tick at most, so that the parent's main loop is
 * never kept long behind a backlog (about half a second of hashing). */
#define TICK_LINES 1000000
#define LINE_CAP 2048

/* What the parent knows across generations (its process pool). */
typedef struct {
    verify_follow_t follow;     /* its own reading of the log */
    int following;              /* follow is set (first generation on) */
    int broken;                 /* the log broke: sign nothing more */
    uint64_t cp_size;           /* size of the newest checkpoint */
    uint64_t cp_line;           /* seq of its checkpoint line; 0 none */
    apr_time_t cp_time;         /* when it was signed; 0 none yet */
} cp_state_t;

/* One generation's signer. */
typedef struct {
    server_rec *s;
    cp_state_t *st;
    const char *key_file;       /* read by the signing process only */
    const char *origin;
    int cpfd;                   /* VerifyCheckpointDir */
    int auditfd;                /* the audit directory */
    uid_t owner;                /* of the audit files */
    int facility;
    apr_interval_time_t interval;
    verify_writer_t writer;     /* the parent's own, for its lines */
    int writer_ready;
    pid_t parent;               /* the process that may sign */
    apr_pool_t *tick_pool;      /* cleared after each tick */
} cp_gen_t;

/* This generation's signer; NULL when none. */
static cp_gen_t *gen;

static apr_status_t close_fds(void *data)
{
    cp_gen_t *g = data;

    if (g->cpfd >= 0) {
        close(g->cpfd);
    }
    if (g->auditfd >= 0) {
        close(g->auditfd);
    }
    g->cpfd = g->auditfd = -1;
    return APR_SUCCESS;
}

/* Lines of the log no checkpoint covers, the newest checkpoint's own
 * line apart (it can only be covered by the next one, which it would
 * call for again and again). */
static uint64_t uncovered(const cp_state_t *st)
{
    uint64_t n = st->follow.chain.seq - st->cp_size;

    if (st->cp_line > st->cp_size && st->cp_line <= st->follow.chain.seq) {
        n--;
    }
    return n;
}

/* The line of the chain that keeps a checkpoint. */
static size_t checkpoint_body(char *out, size_t cap, const char *origin,
                              uint64_t size, const char *root_b64,
                              const char *reason, const char *note)
{
    verify_jbuf_t jb;

    verify_jbuf_init(&jb, out, cap);
    VERIFY_JRAW(&jb, ",\"op\":\"checkpoint\",");
    verify_jbuf_key(&jb, "origin");
    verify_jbuf_str(&jb, origin, strlen(origin), 256);
    VERIFY_JRAW(&jb, ",");
    verify_jbuf_key(&jb, "size");
    verify_jbuf_u64(&jb, size);
    VERIFY_JRAW(&jb, ",");
    verify_jbuf_key(&jb, "root");
    verify_jbuf_str(&jb, root_b64, strlen(root_b64), 64);
    VERIFY_JRAW(&jb, ",");
    verify_jbuf_key(&jb, "reason");
    verify_jbuf_str(&jb, reason, strlen(reason), 16);
    VERIFY_JRAW(&jb, ",");
    verify_jbuf_key(&jb, "note");
    verify_jbuf_str(&jb, note, strlen(note), cap);
    return jb.overflow ? 0 : jb.len;
}

/* Sign the tree the parent has read and keep it in the three places. */
static void sign(cp_gen_t *g, const char *reason, apr_pool_t *p)
{
    cp_state_t *st = g->st;
    verify_checkpoint_t cp;
    verify_writer_receipt_t receipt;
    char ts[26], *text, *note, *err = NULL, body[LINE_CAP];
    const char *b64, *note64;
    apr_time_t now = apr_time_now();
    size_t blen;
    int kept = 0;

    if (st->broken || st->follow.chain.seq == st->cp_size) {
        return;
    }
    memset(&cp, 0, sizeof(cp));
    cp.origin = g->origin;
    cp.size = st->follow.chain.seq;
    verify_time_format_s(now, ts);
    cp.extensions = apr_pstrcat(p, "time ", ts, "\n", NULL);
    /* signed by a process forked for it: the parent never has the key in
     * its memory, where the children it forks would find a copy */
    if (verify_merkle_edge_root(&st->follow.edge, cp.root) != APR_SUCCESS
        || verify_checkpoint_format(&text, &cp, &err, p) != APR_SUCCESS
        || verify_note_sign_forked(&note, g->origin, g->key_file, text,
                                   strlen(text), &err, p) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, g->s, VERIFY_LOGNO(110)
                     "cannot sign a checkpoint of the audit log at size %"
                     APR_UINT64_T_FMT ": %s", cp.size,
                     err ? err : "hashing failed");
        return;
    }
    b64 = verify_note_b64(cp.root, sizeof(cp.root), p);
    /* 1: the file, which the next start compares the log with */
    if (verify_cpdir_write(g->cpfd, cp.size, note, strlen(note), &err, p)
        == APR_SUCCESS) {
        kept++;
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, g->s, VERIFY_LOGNO(111)
                     "cannot keep the checkpoint of size %" APR_UINT64_T_FMT
                     " in VerifyCheckpointDir: %s", cp.size, err);
    }
    /* 2: the chain */
    blen = checkpoint_body(body, sizeof(body), g->origin, cp.size, b64,
                           reason, note);
    if (!g->writer_ready) {
        verify_auditlog_writer_init(&g->writer, g->s);
        /* a child holding the chain lock must not stall the parent */
        g->writer.patience = apr_time_from_sec(2);
        g->writer_ready = 1;
    }
    if (blen && verify_writer_append(&g->writer, body, blen, NULL,
                                     &receipt, p) == APR_SUCCESS) {
        st->cp_line = receipt.seq;
        kept++;
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, g->s, VERIFY_LOGNO(112)
                     "cannot write the checkpoint of size %" APR_UINT64_T_FMT
                     " to the audit log", cp.size);
    }
    /* 3: the system log, which a forwarder may carry off the host; no
     * openlog(): that would change httpd's own syslog ErrorLog */
    if (g->facility != VERIFY_CP_SYSLOG_OFF) {
        note64 = verify_note_b64((const unsigned char *)note, strlen(note),
                                 p);
        syslog(g->facility | LOG_NOTICE, "mod_verify: checkpoint origin=%s "
               "size=%" APR_UINT64_T_FMT " root=%s note=%s", g->origin,
               cp.size, b64, note64);
        kept++;
    }
    if (kept) {
        st->cp_size = cp.size;
        st->cp_time = now;
        verify_status_checkpoint(cp.size);
    }
}

/* Read what was written since the last tick; a complete day file is
 * signed as such. */
static void catch_up(cp_gen_t *g, uint64_t max, apr_pool_t *p)
{
    cp_state_t *st = g->st;
    verify_follow_stop_t stop;
    char *err = NULL;

    while (!st->broken) {
        if (verify_follow_run(&st->follow, g->auditfd, g->owner, max, &stop,
                              &err, p) != APR_SUCCESS) {
            st->broken = 1;
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, g->s, VERIFY_LOGNO(113)
                         "the audit log does not follow on from the last "
                         "line checked (%s): no further checkpoint is "
                         "signed; run verify-audit verify", err);
            return;
        }
        if (stop != VERIFY_FOLLOW_DAY_END) {
            return;
        }
        if (uncovered(st) > 0) {
            sign(g, "day", p);
        }
    }
}

static void tick(cp_gen_t *g, apr_pool_t *p)
{
    cp_state_t *st = g->st;
    verify_date_t today;
    apr_time_t now;

    catch_up(g, TICK_LINES, p);
    now = apr_time_now();
    if (uncovered(st) > 0
        && (st->cp_time == 0 || now - st->cp_time >= g->interval)) {
        sign(g, st->cp_time == 0 ? "start" : "interval", p);
    }
    else if (st->cp_time != 0 && (today = verify_date_taipei(now))
                                  != verify_date_taipei(st->cp_time)) {
        /* a new day, even with no line: the month's first one is the
         * seed of the month before's sample (verify-audit sample) */
        sign(g, today / 100 != verify_date_taipei(st->cp_time) / 100
                ? "month" : "day", p);
    }
}

void verify_checkpoint_monitor(void)
{
    if (!gen || getpid() != gen->parent) {
        return;
    }
    tick(gen, gen->tick_pool);
    apr_pool_clear(gen->tick_pool);
}

/* The generation ends (graceful restart, stop): sign what is left. At a
 * stop the children are gone by now; at a graceful restart the old ones
 * may still be writing, and the next generation goes on from here. */
static apr_status_t generation_end(void *data)
{
    cp_gen_t *g = data;

    if (g == gen) {
        gen = NULL;
    }
    if (getpid() != g->parent) {
        return APR_SUCCESS;
    }
    catch_up(g, UINT64_MAX, g->tick_pool);
    sign(g, "stop", g->tick_pool);
    if (g->writer_ready) {
        verify_writer_close(&g->writer);
        g->writer_ready = 0;
    }
    return close_fds(g);
}

/* The body of the newest kept checkpoint, parsed (the directory is
 * root's: its files are what this parent signed, under this key or an
 * earlier one, so the signature is not what is checked here). */
static apr_status_t newest_kept(cp_gen_t *g, verify_checkpoint_t *cp,
                                int *have, apr_pool_t *p)
{
    char *note, *err = NULL;
    const char *sep;
    size_t len;
    uint64_t size;
    apr_status_t rv;

    *have = 0;
    rv = verify_cpdir_newest(g->cpfd, &size, &note, &len, &err, p);
    if (rv == APR_SUCCESS && size) {
        sep = strstr(note, "\n\n");
        rv = sep ? verify_checkpoint_parse(cp, note, (size_t)(sep - note) + 1,
                                           &err, p)
                 : APR_EINVAL;
        if (rv == APR_SUCCESS && cp->size != size) {
            err = "its size is not the one its name says";
            rv = APR_EINVAL;
        }
        *have = rv == APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, g->s, VERIFY_LOGNO(114)
                     "cannot read the newest checkpoint in "
                     "VerifyCheckpointDir: %s", err ? err : "not a note");
    }
    return rv;
}

/* Where the parent's reading starts: the first line, or after the last
 * line purged, from the tree edge the purge checkpoint keeps (root's;
 * the newest checkpoint signed then holds the root it leads to). */
static apr_status_t start_follow(cp_gen_t *g, apr_pool_t *ptemp)
{
    const char *dir = verify_config_audit_dir(), *cpath = NULL;
    apr_array_header_t *paths = apr_array_make(ptemp, 8, sizeof(char *));
    verify_merkle_edge_t edge;
    verify_chain_t last;
    char *err = NULL;

    verify_follow_init(&g->st->follow);
    if (verify_audit_collect(1, &dir, paths, &cpath, &err, ptemp)
        != APR_SUCCESS || cpath == NULL) {
        return APR_SUCCESS;     /* no purge (a listing fault shows later) */
    }
    if (verify_audit_checkpoint_read(cpath, &last, &err, ptemp)
            != APR_SUCCESS
        || verify_audit_checkpoint_edge(cpath, 0, &edge, &err, ptemp)
            != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, g->s, VERIFY_LOGNO(86)
                     "the audit log was purged, and the tree cannot be "
                     "taken on from the purge checkpoint (%s). Refusing to "
                     "append: a purge made before purges kept the tree's "
                     "edge needs `verify-audit purge` run again over the "
                     "same files from a backup", err);
        return APR_EGENERAL;
    }
    verify_follow_init_at(&g->st->follow, &last, &edge);
    return APR_SUCCESS;
}

/* The first generation: read the whole log and hold it against the
 * newest checkpoint kept. A log that ends before it, or whose lines up
 * to its size have another root, was cut or rewound: refused. */
static apr_status_t first_reading(cp_gen_t *g, apr_pool_t *ptemp)
{
    cp_state_t *st = g->st;
    verify_checkpoint_t cp;
    verify_follow_stop_t stop;
    unsigned char root[VERIFY_MERKLE_HASH_LEN];
    char *err = NULL;
    apr_status_t rv;
    int have;

    rv = start_follow(g, ptemp);
    if (rv == APR_SUCCESS) {
        rv = newest_kept(g, &cp, &have, ptemp);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (have && cp.size < st->follow.chain.seq) {
        have = 0;       /* it covers only purged lines: nothing to hold */
    }
    do {
        rv = verify_follow_run(&st->follow, g->auditfd, g->owner,
                               have ? cp.size - st->follow.chain.seq
                                    : UINT64_MAX, &stop, &err, ptemp);
    } while (rv == APR_SUCCESS && stop == VERIFY_FOLLOW_DAY_END);
    if (rv == APR_SUCCESS && have && st->follow.chain.seq < cp.size) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, g->s, VERIFY_LOGNO(115)
                     "the audit log in %s ends at seq %" APR_UINT64_T_FMT
                     " but the newest checkpoint (%s/checkpoint-%020"
                     APR_UINT64_T_FMT ") covers lines up to seq %"
                     APR_UINT64_T_FMT ": lines %" APR_UINT64_T_FMT "-%"
                     APR_UINT64_T_FMT " are missing (an older backup "
                     "restored, or lines removed). Refusing to append: "
                     "restore the audit directory from a backup holding "
                     "them (docs/admin-guide.md, Backup and restore)",
                     verify_config_audit_dir(), st->follow.chain.seq,
                     verify_checkpoint_dir(), cp.size, cp.size,
                     st->follow.chain.seq + 1, cp.size);
        return APR_EGENERAL;
    }
    if (rv == APR_SUCCESS && have) {
        verify_merkle_edge_root(&st->follow.edge, root);
        if (memcmp(root, cp.root, sizeof(root))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, g->s, VERIFY_LOGNO(116)
                         "the audit log in %s contradicts the newest "
                         "checkpoint (%s/checkpoint-%020" APR_UINT64_T_FMT
                         "): its lines 1-%" APR_UINT64_T_FMT " have root %s, "
                         "the checkpoint says %s (lines changed, or another "
                         "log put in its place). Refusing to append: "
                         "restore the audit directory from a backup that "
                         "matches (docs/admin-guide.md, Backup and restore)",
                         verify_config_audit_dir(), verify_checkpoint_dir(),
                         cp.size, cp.size,
                         verify_note_b64(root, sizeof(root), ptemp),
                         verify_note_b64(cp.root, sizeof(cp.root), ptemp));
            return APR_EGENERAL;
        }
        st->cp_size = cp.size;
    }
    while (rv == APR_SUCCESS) {
        rv = verify_follow_run(&st->follow, g->auditfd, g->owner,
                               UINT64_MAX, &stop, &err, ptemp);
        if (stop != VERIFY_FOLLOW_DAY_END) {
            break;
        }
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, g->s, VERIFY_LOGNO(117)
                     "the audit log cannot be read from its first line "
                     "for signing (%s). Refusing to append: run "
                     "verify-audit verify on it", err);
        return rv;
    }
    st->following = 1;
    return APR_SUCCESS;
}

apr_status_t verify_checkpoint_post_config(server_rec *s, apr_pool_t *pconf,
                                           apr_pool_t *ptemp)
{
    apr_pool_t *pproc = s->process->pool;
    const verify_writer_head_t *head = verify_auditlog_head();
    cp_gen_t *g;
    void *st = NULL;
    apr_status_t rv;

    gen = NULL;
    if (!verify_checkpoint_key_file()) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, VERIFY_LOGNO(118)
                     "no VerifyCheckpointKey: the audit log is chained but "
                     "not signed, and nothing stops its own administrators "
                     "rewriting it");
        return APR_SUCCESS;
    }
    g = apr_pcalloc(pconf, sizeof(*g));
    g->s = s;
    g->cpfd = g->auditfd = -1;
    g->parent = getpid();
    apr_pool_create(&g->tick_pool, pconf);
    g->origin = verify_checkpoint_origin(s, pconf);
    g->facility = verify_checkpoint_syslog();
    g->interval = verify_checkpoint_interval();
    g->owner = geteuid() == 0 && head ? ap_unixd_config.user_id : geteuid();
    g->key_file = verify_checkpoint_key_file();
    g->cpfd = verify_checkpoint_open_dir(s, ptemp);
    g->auditfd = open(verify_config_audit_dir(), O_RDONLY | O_DIRECTORY
                                                 | O_NOFOLLOW | O_CLOEXEC);
    if (g->cpfd < 0 || g->auditfd < 0) {
        close_fds(g);
        return APR_EGENERAL;
    }
    apr_pool_userdata_get(&st, STATE_KEY, pproc);
    if (!st) {
        st = apr_pcalloc(pproc, sizeof(cp_state_t));
        apr_pool_userdata_set(st, STATE_KEY, apr_pool_cleanup_null, pproc);
    }
    g->st = st;
    if (!g->st->following) {
        rv = first_reading(g, ptemp);
        if (rv != APR_SUCCESS) {
            close_fds(g);
            return rv;
        }
    }
    /* a pre-cleanup: it runs before the pool's subpools (the tick pool)
     * are destroyed */
    apr_pool_pre_cleanup_register(pconf, g, generation_end);
    gen = g;
    return APR_SUCCESS;
}

void verify_checkpoint_started(void)
{
    if (gen) {
        catch_up(gen, UINT64_MAX, gen->tick_pool);
        sign(gen, "start", gen->tick_pool);
        apr_pool_clear(gen->tick_pool);
    }
}
