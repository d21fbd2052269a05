/*
 * mod_verify.c -- the httpd glue: directives, the client register,
 * hooks, the /verify handler and the audit writer.
 *
 * The request path: parse body -> identify client -> may it ask this?
 * -> store lookup -> audit line (sealed into the shared chain, written)
 * -> JSON answer. Nothing is answered unless its audit line is written.
 */
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <errno.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "ap_mpm.h"
#include "util_mutex.h"
#include "ap_expr.h"
#include "unixd.h"

#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_shm.h>
#include <apr_global_mutex.h>
#include <apr_thread_mutex.h>
#include <apr_network_io.h>
#include <apr_atomic.h>

#include <openssl/rand.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <jansson.h>

#include "verify.h"
#define VERIFY_MODULE_MAIN
#include "verify_private.h"

module AP_MODULE_DECLARE_DATA verify_module;

#define VERIFY_HANDLER "verify"
#define AUDIT_MUTEX_TYPE "verify-audit"
#define DEFAULT_MAX_BODY 8192
/* request ids: 16 hex digits drawn per child, then an 8-digit counter */
#define REQUEST_ID_LEN 24
#define CASE_MAX_CHARS 64
#define REASON_MAX_CHARS 200
#define OPERATOR_MAX_CHARS 64
#define NAME_MAX_CHARS 64
#define STORE_RETRY_USEC apr_time_from_sec(1)
#define USERDATA_KEY "verify_module_chain"
/* Changes whenever chain_shm_t does: a graceful restart into a module
 * with another layout must not read the old segment. */
#define CHAIN_LAYOUT (0x56460000u | (apr_uint32_t)sizeof(chain_shm_t))
#define WRITER_LOCK ".writer.lock"
#define WRITER_WAIT_TRIES 100           /* x 100 ms */

/* The chain lock (see chain_lock below). */
#define LOCK_FUTEX 0
#define LOCK_MUTEX 1


/* The checks a client may ask; each answered from one source. */
typedef enum {
    CHECK_RESIDENT = 0,
    CHECK_INDIGENOUS,
    CHECK_ELDERLY_ALONE,
    CHECK_DISABILITY,
    CHECK_COUNT
} check_t;

static const char *const check_names[CHECK_COUNT] = {
    "resident", "indigenous", "elderly_alone", "disability"
};

static const verify_source_t check_source[CHECK_COUNT] = {
    VERIFY_SRC_HOUSEHOLD, VERIFY_SRC_HOUSEHOLD,
    VERIFY_SRC_ELDERLY_ALONE, VERIFY_SRC_DISABILITY
};

/* The check named by @p s (@p len bytes, not NUL-terminated); -1 if none. */
static int check_index(const char *s, size_t len)
{
    int k;

    for (k = 0; k < CHECK_COUNT; k++) {
        if (strlen(check_names[k]) == len && !memcmp(check_names[k], s, len)) {
            return k;
        }
    }
    return -1;
}

/* One approved client system of the register (R3.3, R3.7, R4.1.2). */
typedef struct verify_client_t {
    const char *name;               /* register name, logged as client */
    apr_array_header_t *ips;        /* apr_ipsubnet_t *: exact addresses */
    unsigned checks;                /* bit per check_t it may ask */
    const char *approval;           /* approval record id (R3.3) */
    verify_date_t valid_from;       /* approved usage period */
    verify_date_t valid_to;
    apr_array_header_t *certs;      /* unsigned char[32] SHA-256 of DER */
    const char *where;              /* "file:line" for messages */
    double rate;                    /* requests per second; 0: no limit */
    double burst;                   /* bucket size (one period's worth) */
    int bucket;                     /* index of its bucket in g.buckets */
} verify_client_t;

/* A token bucket of one client, shared by the children of a generation. */
typedef struct bucket_t {
    double tokens;
    apr_time_t last;
} bucket_t;

typedef struct verify_srv_conf_t {
    const char *store_dir;          /* VerifyStore; NULL unset */
    const char *key_file;           /* VerifyKeyFile; NULL unset */
    const char *audit_dir;          /* VerifyAuditLog; NULL unset */
    int audit_sync;                 /* VerifyAuditSync; -1 unset */
    apr_off_t max_body;             /* VerifyMaxBody; -1 unset */
    int lock_kind;                  /* VerifyAuditLock; -1 unset */
    apr_array_header_t *clients;    /* verify_client_t *; NULL unset */
} verify_srv_conf_t;

/* The chain head, in shared memory across children and generations. */
typedef struct chain_shm_t {
    verify_lock_t lock;             /* chain lock (VerifyAuditLock futex) */
    apr_uint32_t layout;            /* CHAIN_LAYOUT of the module that
                                     * made it */
    char pad_[56];                  /* keep the lock word's line its own */
    verify_chain_t chain;           /* last seq and hash written */
    verify_date_t day;              /* Taipei day of the current file */
    apr_off_t offset;               /* its size; -1 unknown */
    pid_t busy;                     /* pid inside the chain step, or 0 */
    pid_t broken;                   /* pid whose failed write left a
                                     * fragment, or 0 */
    apr_uint32_t generation;        /* server generations started */
    int lock_kind;                  /* fixed for the life of the shm */
    apr_uint64_t synced_seq;        /* lines up to here are on disk */
    verify_lock_t syncer;           /* pid of the process syncing, or 0 */
    apr_uint32_t sync_gen;          /* counts finished syncs (futex) */
    char note[160];                 /* recovery to record in the chain */
    char batch_logged[VERIFY_SRC_COUNT][33]; /* last batch id in chain */
    apr_time_t last_ts;             /* ts of the last line: never back */
    int sync_failed;                /* a sync failed: refuse until restart */
    char audit_dir[1024];           /* the directory this chain writes */
} chain_shm_t;

/* Process state. Keys and dirs are per generation (pconf); the shared
 * memory and its mutex live in the process pool so that a graceful
 * restart keeps one chain while old children finish their requests. */
static struct {
    verify_keys_t *keys;
    unsigned char key_check[VERIFY_KEY_CHECK_LEN];
    const char *store_dir;
    const char *audit_dir;
    int audit_sync;
    unsigned maxreaders;
    apr_global_mutex_t *mutex;
    int lock_kind;
    struct {
        verify_lock_t lock;
        bucket_t b[1];                  /* bucket_count of them */
    } *buckets;                         /* per generation, shared */
    chain_shm_t *shm;
    /* per child */
    verify_store_t *store;
    apr_thread_mutex_t *store_lock;
    apr_time_t store_next_try;
    apr_pool_t *pchild;
    char id_prefix[17];             /* random, per child: request ids */
    apr_uint32_t id_counter;
    int fd;
    verify_date_t fd_day;
    int old_fd;                     /* previous day's, kept for syncs */
    pid_t pid;                      /* this process */
} g = { .fd = -1, .old_fd = -1 };

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

static void *create_srv_conf(apr_pool_t *p, server_rec *s)
{
    verify_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->audit_sync = -1;
    c->max_body = -1;
    c->lock_kind = -1;
    return c;
}

static void *merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    verify_srv_conf_t *base = basev, *add = addv;
    verify_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->store_dir = add->store_dir ? add->store_dir : base->store_dir;
    c->key_file = add->key_file ? add->key_file : base->key_file;
    c->audit_dir = add->audit_dir ? add->audit_dir : base->audit_dir;
    c->audit_sync = add->audit_sync != -1 ? add->audit_sync
                                          : base->audit_sync;
    c->max_body = add->max_body != -1 ? add->max_body : base->max_body;
    c->lock_kind = add->lock_kind != -1 ? add->lock_kind : base->lock_kind;
    c->clients = add->clients ? add->clients : base->clients;
    return c;
}

static verify_srv_conf_t *srv_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &verify_module);
}

static const char *global_path(cmd_parms *cmd, const char **slot,
                               const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    if (*slot) {
        return apr_psprintf(cmd->pool, "%s given twice", cmd->cmd->name);
    }
    *slot = ap_server_root_relative(cmd->pool, arg);
    if (!*slot) {
        return apr_psprintf(cmd->pool, "%s: invalid path %s",
                            cmd->cmd->name, arg);
    }
    return NULL;
}

static const char *set_store(cmd_parms *cmd, void *dc, const char *arg)
{
    return global_path(cmd, &srv_conf(cmd->server)->store_dir, arg);
}

static const char *set_key_file(cmd_parms *cmd, void *dc, const char *arg)
{
    return global_path(cmd, &srv_conf(cmd->server)->key_file, arg);
}

static const char *set_audit_log(cmd_parms *cmd, void *dc, const char *arg)
{
    return global_path(cmd, &srv_conf(cmd->server)->audit_dir, arg);
}

static const char *set_audit_sync(cmd_parms *cmd, void *dc, int on)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    srv_conf(cmd->server)->audit_sync = on;
    return NULL;
}

static const char *set_audit_lock(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "futex")) {
        srv_conf(cmd->server)->lock_kind = LOCK_FUTEX;
    }
    else if (!strcasecmp(arg, "mutex")) {
        srv_conf(cmd->server)->lock_kind = LOCK_MUTEX;
    }
    else {
        return "VerifyAuditLock must be futex (default) or mutex";
    }
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (*end || v < 256 || v > 1048576) {
        return "VerifyMaxBody must be a number of bytes from 256 to 1048576";
    }
    srv_conf(cmd->server)->max_body = (apr_off_t)v;
    return NULL;
}

static int parse_period(const char *v, verify_date_t *from,
                        verify_date_t *to)
{
    const char *dots = strstr(v, "..");

    if (!dots) {
        return -1;
    }
    *from = verify_date_parse_iso(v, (size_t)(dots - v));
    *to = verify_date_parse_iso(dots + 2, strlen(dots + 2));
    return (*from && *to && *from <= *to) ? 0 : -1;
}

/* Buckets handed out while parsing; reset for each reading of the
 * configuration (pre_config). */
static int bucket_count;

/* VerifyClient NAME ip=… checks=… approval=… valid=…..… [cert-sha256=…]
 * Parsed whole here, so the request path only reads the result and a
 * broken line stops configtest with its file, line and fault. */
static const char *add_client(cmd_parms *cmd, void *dc, int argc,
                              char *const argv[])
{
    verify_srv_conf_t *conf = srv_conf(cmd->server);
    verify_client_t *cl, **other;
    apr_pool_t *p = cmd->pool;
    unsigned seen = 0;
    char *list, *item, *last;
    int i, k;

#define CLIENT_ERR(...) apr_psprintf(p, "VerifyClient (%s:%d): %s", \
        cmd->directive->filename, cmd->directive->line_num, \
        apr_psprintf(p, __VA_ARGS__))

    if (argc < 1) {
        return CLIENT_ERR("missing client name");
    }
    cl = apr_pcalloc(p, sizeof(*cl));
    cl->name = argv[0];
    cl->where = apr_psprintf(p, "%s:%d", cmd->directive->filename,
                             cmd->directive->line_num);
    for (i = 0; cl->name[i]; i++) {
        if (!apr_isalnum(cl->name[i]) && !strchr("-_.", cl->name[i])) {
            return CLIENT_ERR("client name \"%s\" may hold only letters, "
                              "digits, '-', '_' and '.'", cl->name);
        }
    }
    if (i == 0 || i > 64 || strchr(cl->name, '=')) {
        return CLIENT_ERR("client name must come first, 1-64 characters");
    }
    cl->ips = apr_array_make(p, 2, sizeof(apr_ipsubnet_t *));
    cl->certs = apr_array_make(p, 2, 32);
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        const char *key, *val;
        unsigned bit;
        if (!eq || eq == arg || !eq[1]) {
            return CLIENT_ERR("\"%s\" is not key=value", arg);
        }
        key = apr_pstrmemdup(p, arg, (apr_size_t)(eq - arg));
        val = eq + 1;
        if (!strcmp(key, "ip")) bit = 1;
        else if (!strcmp(key, "checks")) bit = 2;
        else if (!strcmp(key, "approval")) bit = 4;
        else if (!strcmp(key, "valid")) bit = 8;
        else if (!strcmp(key, "cert-sha256")) bit = 16;
        else if (!strcmp(key, "rate")) bit = 32;
        else {
            return CLIENT_ERR("unknown item \"%s\" (ip, checks, approval, "
                              "valid, cert-sha256, rate)", key);
        }
        if (seen & bit) {
            return CLIENT_ERR("item %s given twice", key);
        }
        seen |= bit;
        list = apr_pstrdup(p, val);
        switch (bit) {
        case 1:
            for (item = apr_strtok(list, ",", &last); item;
                 item = apr_strtok(NULL, ",", &last)) {
                apr_ipsubnet_t *sub;
                /* Exact addresses only: R3.7 wants fixed IPs. */
                if (strchr(item, '/')
                    || apr_ipsubnet_create(&sub, item, NULL, p)
                       != APR_SUCCESS) {
                    return CLIENT_ERR("ip \"%s\" is not an IP address",
                                      item);
                }
                APR_ARRAY_PUSH(cl->ips, apr_ipsubnet_t *) = sub;
            }
            break;
        case 2:
            for (item = apr_strtok(list, ",", &last); item;
                 item = apr_strtok(NULL, ",", &last)) {
                k = check_index(item, strlen(item));
                if (k < 0) {
                    return CLIENT_ERR("unknown check \"%s\" (resident, "
                                      "indigenous, elderly_alone, "
                                      "disability)", item);
                }
                cl->checks |= 1u << k;
            }
            break;
        case 4:
            cl->approval = val;
            break;
        case 8:
            if (parse_period(val, &cl->valid_from, &cl->valid_to) != 0) {
                return CLIENT_ERR("valid=\"%s\" is not YYYY-MM-DD..YYYY-MM-"
                                  "DD with a start not after its end", val);
            }
            break;
        case 32: {
            /* rate=N/s or N/min: a bucket of N requests refilled
             * evenly over the period */
            char *end;
            long nreq = strtol(val, &end, 10);
            double period = !strcmp(end, "/s") ? 1.0
                            : !strcmp(end, "/min") ? 60.0 : 0.0;
            if (nreq < 1 || nreq > 1000000 || period == 0.0) {
                return CLIENT_ERR("rate=\"%s\" is not N/s or N/min with "
                                  "N from 1 to 1000000", val);
            }
            cl->burst = (double)nreq;
            cl->rate = (double)nreq / period;
            cl->bucket = bucket_count++;
            break;
        }
        case 16:
            for (item = apr_strtok(list, ",", &last); item;
                 item = apr_strtok(NULL, ",", &last)) {
                unsigned char *f = apr_array_push(cl->certs);
                memset(f, 0, 32);
                if (strlen(item) != 64 || verify_unhex(item, 32, f, 1) != 0) {
                    return CLIENT_ERR("cert-sha256 \"%s\" is not 64 hex "
                                      "digits", item);
                }
            }
            break;
        }
    }
    if (cl->ips->nelts == 0) {
        return CLIENT_ERR("ip= is required (R3.7: fixed IP whitelist)");
    }
    if (cl->checks == 0) {
        return CLIENT_ERR("checks= is required");
    }
    if (!cl->approval) {
        return CLIENT_ERR("approval= is required (R3.3)");
    }
    if (!cl->valid_from) {
        return CLIENT_ERR("valid= is required (R4.1.2)");
    }
    if (!conf->clients) {
        conf->clients = apr_array_make(p, 8, sizeof(verify_client_t *));
    }
    for (k = 0; k < conf->clients->nelts; k++) {
        other = &APR_ARRAY_IDX(conf->clients, k, verify_client_t *);
        if (!strcmp((*other)->name, cl->name)) {
            return CLIENT_ERR("client %s already registered at %s",
                              cl->name, (*other)->where);
        }
    }
    APR_ARRAY_PUSH(conf->clients, verify_client_t *) = cl;
    return NULL;
#undef CLIENT_ERR
}

static const command_rec verify_cmds[] = {
    AP_INIT_TAKE1("VerifyStore", set_store, NULL, RSRC_CONF,
                  "LMDB environment directory of the verification store"),
    AP_INIT_TAKE1("VerifyKeyFile", set_key_file, NULL, RSRC_CONF,
                  "secret for keyed ID pseudonyms (read as root)"),
    AP_INIT_TAKE1("VerifyAuditLog", set_audit_log, NULL, RSRC_CONF,
                  "audit log directory"),
    AP_INIT_FLAG("VerifyAuditSync", set_audit_sync, NULL, RSRC_CONF,
                 "fdatasync every audit line before answering (default Off)"),
    AP_INIT_TAKE1("VerifyAuditLock", set_audit_lock, NULL, RSRC_CONF,
                  "futex (default: adaptive lock in shared memory) or mutex "
                  "(the 'verify-audit' mutex, set with the Mutex directive)"),
    AP_INIT_TAKE1("VerifyMaxBody", set_max_body, NULL, RSRC_CONF,
                  "largest /verify request body in bytes (default 8192)"),
    AP_INIT_TAKE_ARGV("VerifyClient", add_client, NULL, RSRC_CONF,
                      "NAME ip=ADDR[,ADDR] checks=CHECK[,CHECK] "
                      "approval=ID valid=FROM..TO [cert-sha256=HEX[,HEX]] "
                      "[rate=N/s|N/min]"),
    { NULL }
};

/* ------------------------------------------------------------------ */
/* The audit chain                                                     */
/* ------------------------------------------------------------------ */

static const char *audit_path(apr_pool_t *p, verify_date_t day)
{
    char name[32];

    verify_audit_filename(day, name);
    return apr_pstrcat(p, g.audit_dir, "/", name, NULL);
}

/* Open this process's descriptor on the file of @p day. */
static int audit_open(verify_date_t day, apr_pool_t *p)
{
    int fd;

    if (g.fd >= 0 && g.fd_day == day) {
        return 0;
    }
    fd = open(audit_path(p, day), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
              0640);
    if (fd < 0) {
        return errno;
    }
    if (geteuid() == 0) {
        /* the parent creates files the children must append to */
        if (fchown(fd, ap_unixd_config.user_id, ap_unixd_config.group_id)) {
            int e = errno;
            close(fd);
            return e;
        }
    }
    /* A thread may still be syncing the previous file outside the lock:
     * keep its descriptor open for one more change of day. */
    if (g.old_fd >= 0) {
        close(g.old_fd);
    }
    g.old_fd = g.fd;
    g.fd = fd;
    g.fd_day = day;
    return 0;
}

/*
 * The previous holder of the chain step died inside it. The files are
 * the truth: drop a line it left half-written, take the head from the
 * last complete line (its line may have been written before it died),
 * and say so in the chain, so that the death is never a silent hole.
 */
static apr_status_t audit_recover(server_rec *s, apr_pool_t *p)
{
    verify_chain_t head;
    const char *file;
    apr_off_t size, partial;
    char *err = NULL;
    apr_status_t rv;
    pid_t dead = g.shm->busy;

    if (dead == 0) {
        dead = g.shm->broken;   /* a failed write, not a death */
    }
    rv = verify_audit_find_head(g.audit_dir, &head, &file, &size, &partial,
                                &err, p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, VERIFY_LOGNO(1)
                     "audit recovery after pid %ld died failed: %s",
                     (long)dead, err);
        return rv;
    }
    if (partial >= 0 && truncate(file, partial) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, VERIFY_LOGNO(2)
                     "audit recovery: cannot cut the partial line left by "
                     "pid %ld in %s", (long)dead, file);
        return rv;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, VERIFY_LOGNO(3)
                 "audit writer pid %ld %s; chain resumes after seq %"
                 APR_UINT64_T_FMT "%s", (long)dead,
                 g.shm->busy ? "died inside the chain step"
                             : "left a partial line after a failed write",
                 head.seq, partial >= 0 ? " (partial line removed)" : "");
    g.shm->chain = head;
    g.shm->day = 0;             /* offset unknown: re-read at next open */
    g.shm->offset = -1;
    apr_snprintf(g.shm->note, sizeof(g.shm->note), "%s pid %ld%s",
                 g.shm->busy ? "writer died inside the chain step:"
                             : "a failed write left a partial line:",
                 (long)dead, partial >= 0 ? "; partial line removed" : "");
    g.shm->busy = 0;
    g.shm->broken = 0;
    return APR_SUCCESS;
}

/*
 * Seal and write one line under the chain lock. The critical section is
 * only the chain step: seq and prev, the hash, one append. @p body
 * starts with ','. Returns APR_SUCCESS once the line is in the file.
 */
static apr_status_t audit_append_locked(server_rec *s, const char *body,
                                        size_t blen, apr_pool_t *p)
{
    char line[VERIFY_AUDIT_LINE_MAX];
    verify_chain_t next = g.shm->chain;
    apr_time_t now = apr_time_now();
    verify_date_t day;
    apr_off_t offset;
    size_t len;
    ssize_t n;
    int e;

    /* A clock stepped back must neither reorder the chain's times nor
     * send lines to an earlier day's file than lines already written. */
    if (now < g.shm->last_ts) {
        now = g.shm->last_ts;
    }
    day = verify_date_taipei(now);
    if (g.audit_sync && g.shm->day && day != g.shm->day) {
        /* a sync of the new day's file will not cover the old one's
         * lines: make them durable before the first line of the day */
        int ofd = open(audit_path(p, g.shm->day), O_WRONLY | O_CLOEXEC);
        if (ofd < 0 || fdatasync(ofd) != 0) {
            e = errno;
            if (ofd >= 0) {
                close(ofd);
            }
            ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(e), s,
                         VERIFY_LOGNO(28) "cannot sync the previous day's "
                         "audit file %s", audit_path(p, g.shm->day));
            return APR_FROM_OS_ERROR(e);
        }
        close(ofd);
        if (g.shm->synced_seq < g.shm->chain.seq) {
            __atomic_store_n(&g.shm->synced_seq, g.shm->chain.seq,
                             __ATOMIC_RELEASE);
        }
    }
    e = audit_open(day, p);
    if (e != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(e), s,
                     VERIFY_LOGNO(4) "cannot open audit file %s",
                     audit_path(p, day));
        return APR_FROM_OS_ERROR(e);
    }
    if (g.shm->day == day && g.shm->offset >= 0) {
        offset = g.shm->offset;
    }
    else {
        struct stat st;
        if (fstat(g.fd, &st) != 0) {
            return APR_FROM_OS_ERROR(errno);
        }
        offset = st.st_size;
    }
    len = verify_audit_seal(&next, now, body, blen, line, sizeof(line));
    if (len == 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, VERIFY_LOGNO(5)
                     "audit line too long; not written");
        return APR_EGENERAL;
    }
    n = write(g.fd, line, len);
    if (n != (ssize_t)len) {
        e = n < 0 ? errno : ENOSPC;
        if (n > 0 && ftruncate(g.fd, offset) != 0) {
            /* the fragment stays: the next writer recovers first */
            g.shm->broken = g.pid;
        }
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(e), s,
                     VERIFY_LOGNO(6) "cannot write audit line to %s",
                     audit_path(p, day));
        return APR_FROM_OS_ERROR(e);
    }
    g.shm->chain = next;
    g.shm->day = day;
    g.shm->offset = offset + (apr_off_t)len;
    g.shm->last_ts = now;
    return APR_SUCCESS;
}

/* The line of a batch the chain has not seen yet, so that every as_of
 * an answer cites is backed by an "import" line (R4.1.1, R4.1.2). */
static size_t batch_body(const verify_batch_t *b, verify_source_t src,
                         char *buf, size_t cap)
{
    char sha[65], until[11];

    verify_hex(b->sha256, 32, sha);
    if (b->approved_until) {
        verify_date_format(b->approved_until, until);
    }
    return (size_t)apr_snprintf(buf, cap, ",\"op\":\"import\",\"source\":"
                                "\"%s\",\"batch_id\":\"%s\",\"records\":%"
                                APR_UINT64_T_FMT ",\"sha256\":\"%s\","
                                "\"imported_at\":\"%s\",\"approved_until\":"
                                "%s%s%s", verify_source_name(src),
                                b->batch_id, b->records, sha, b->as_of,
                                b->approved_until ? "\"" : "",
                                b->approved_until ? until : "null",
                                b->approved_until ? "\"" : "");
}

/*
 * The chain lock: by default verify_lock (verify_lock.c), an adaptive
 * robust lock in the chain's shared memory. Measured against the APR
 * pthread mutex (robust and priority-inheriting: every contended
 * hand-over goes through the kernel) in docs/performance.md.
 * VerifyAuditLock mutex selects that one, set by "Mutex … verify-audit".
 * A lock taken over from a dead owner needs no flag here: the owner's
 * busy mark makes the next writer recover the chain from the file.
 */
static apr_status_t chain_lock(void)
{
    if (g.lock_kind == LOCK_MUTEX) {
        return apr_global_mutex_lock(g.mutex);
    }
    verify_lock_acquire(&g.shm->lock, g.pid);
    return APR_SUCCESS;
}

static apr_status_t chain_unlock(void)
{
    if (g.lock_kind == LOCK_MUTEX) {
        return apr_global_mutex_unlock(g.mutex);
    }
    verify_lock_release(&g.shm->lock);
    return APR_SUCCESS;
}

/*
 * Make lines written up to @p seq durable (VerifyAuditSync On): group
 * commit. One process at a time is the syncer; it notes the last line
 * written, syncs the file, and then every line up to that one is
 * durable. The others sleep until a sync covers their line (or take the
 * syncer's role when none is running), so concurrent requests share one
 * fdatasync instead of queueing one each in the kernel.
 */
static apr_status_t audit_sync(server_rec *s, apr_uint64_t seq, int fd,
                               verify_date_t day)
{
    apr_uint64_t upto, cur;
    apr_uint32_t gen;
    apr_status_t rv;

    for (;;) {
        if (__atomic_load_n(&g.shm->synced_seq, __ATOMIC_ACQUIRE) >= seq) {
            return APR_SUCCESS;
        }
        if (g.shm->sync_failed) {
            /* a sync failed while we waited: it may have dropped our
             * line's pages, and a retry could succeed without them */
            return APR_EGENERAL;
        }
        gen = __atomic_load_n(&g.shm->sync_gen, __ATOMIC_ACQUIRE);
        if (!verify_lock_try(&g.shm->syncer, g.pid)) {
            /* a sync is running: it may cover us; wake when it ends */
            verify_event_wait(&g.shm->sync_gen, gen, 50000000L);
            continue;
        }
        upto = __atomic_load_n(&g.shm->chain.seq, __ATOMIC_ACQUIRE);
        /* lines after a change of day are in another file: not covered */
        if (__atomic_load_n(&g.shm->day, __ATOMIC_ACQUIRE) != day) {
            upto = seq;
        }
        rv = APR_SUCCESS;
        if (fdatasync(fd) != 0) {
            rv = APR_FROM_OS_ERROR(errno);
            g.shm->sync_failed = 1;     /* before the waiters wake */
        }
        else {
            cur = __atomic_load_n(&g.shm->synced_seq, __ATOMIC_RELAXED);
            while (cur < upto
                   && !__atomic_compare_exchange_n(&g.shm->synced_seq, &cur,
                                                   upto, 1, __ATOMIC_RELEASE,
                                                   __ATOMIC_RELAXED)) {
            }
        }
        verify_lock_release(&g.shm->syncer);
        verify_event_post(&g.shm->sync_gen);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, VERIFY_LOGNO(7)
                         "cannot sync the audit file");
            return rv;
        }
    }
}

/*
 * The line of seq @p seq is in the chain, but its sync failed and its
 * answer is not sent (503). Say so in the chain, best effort, and stop
 * answering until a restart: after a failed fdatasync the kernel may
 * have dropped pages of other lines too.
 */
static void audit_withdraw(server_rec *s, apr_uint64_t seq,
                           const char *request_id, apr_pool_t *p)
{
    char b[256];
    int n;

    g.shm->sync_failed = 1;
    if (chain_lock() != APR_SUCCESS) {
        return;
    }
    n = apr_snprintf(b, sizeof(b), ",\"op\":\"withdrawn\",\"request_id\":"
                     "\"%s\",\"withdrawn_seq\":%" APR_UINT64_T_FMT ","
                     "\"status\":503,\"detail\":\"the line could not be "
                     "synced; its answer was not sent\"",
                     request_id ? request_id : "", seq);
    if (g.shm->busy == 0 && !g.shm->broken) {
        g.shm->busy = g.pid;
        (void)audit_append_locked(s, b, (size_t)n, p);
        g.shm->busy = 0;
    }
    chain_unlock();
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, VERIFY_LOGNO(29)
                 "audit sync failed: seq %" APR_UINT64_T_FMT " withdrawn; "
                 "/verify refuses every request (503) until httpd is "
                 "restarted", seq);
}

/*
 * Append one line to the chain; the only entry point for writers. First,
 * under the same lock: recovery after a dead writer or failed write, a
 * pending recovery note, and the import lines of batches @p lk cites.
 */
static apr_status_t audit_append(server_rec *s, const char *body,
                                 size_t blen, const verify_lookup_t *lk,
                                 const char *request_id, apr_pool_t *p)
{
    apr_status_t rv, lrv;
    apr_uint64_t seq = 0;
    verify_date_t fd_day;
    char b[512];
    int n, k, fd;

    if (g.audit_sync && g.shm->sync_failed) {
        /* a failed sync may have lost lines the disk said it had: no
         * more answers until an admin has looked (and restarted) */
        return APR_EGENERAL;
    }
    rv = chain_lock();
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, VERIFY_LOGNO(8)
                     "cannot take the audit chain lock");
        return rv;
    }
    if (g.shm->busy != 0 || g.shm->broken) {
        rv = audit_recover(s, p);
        if (rv != APR_SUCCESS) {
            goto unlock;        /* busy stays set: the next one retries */
        }
    }
    g.shm->busy = g.pid;
    if (g.shm->note[0]) {
        verify_jbuf_t jb;
        verify_jbuf_init(&jb, b, sizeof(b));
        n = apr_snprintf(b, sizeof(b), ",\"op\":\"audit_recover\","
                         "\"pid\":%ld,\"detail\":", (long)g.pid);
        jb.len = (size_t)n;
        verify_jbuf_str(&jb, g.shm->note, strlen(g.shm->note), 200);
        rv = audit_append_locked(s, b, jb.len, p);
        if (rv != APR_SUCCESS) {
            goto done;
        }
        g.shm->note[0] = '\0';
    }
    for (k = 0; lk && k < VERIFY_SRC_COUNT; k++) {
        if (lk->have_batch[k]
            && strcmp(g.shm->batch_logged[k], lk->batch[k].batch_id)) {
            n = (int)batch_body(&lk->batch[k], k, b, sizeof(b));
            rv = audit_append_locked(s, b, (size_t)n, p);
            if (rv != APR_SUCCESS) {
                goto done;
            }
            memcpy(g.shm->batch_logged[k], lk->batch[k].batch_id, 33);
        }
    }
    rv = audit_append_locked(s, body, blen, p);
    seq = g.shm->chain.seq;

done:
    g.shm->busy = 0;
unlock:
    fd = g.fd;
    fd_day = g.fd_day;
    lrv = chain_unlock();
    if (lrv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, lrv, s, VERIFY_LOGNO(9)
                     "cannot release the audit chain lock");
    }
    if (rv == APR_SUCCESS && g.audit_sync) {
        rv = audit_sync(s, seq, fd, fd_day);
        if (rv != APR_SUCCESS) {
            audit_withdraw(s, seq, request_id, p);
        }
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* Hooks                                                               */
/* ------------------------------------------------------------------ */

/* pre_config: register the mutex type so the admin's Mutex directive
 * (e.g. "Mutex pthread verify-audit") applies to it. */
static int verify_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp)
{
    bucket_count = 0;
    return ap_mutex_register(pconf, AUDIT_MUTEX_TYPE, NULL,
                             APR_LOCK_DEFAULT, 0) == APR_SUCCESS
           ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* Give the run-time user what it needs in the store directory: the
 * lock file read-write (LMDB readers register there), the data file
 * and directory readable. */
static void store_permissions(server_rec *s, apr_pool_t *p)
{
    const char *lock = apr_pstrcat(p, g.store_dir, "/lock.mdb", NULL);
    const char *data = apr_pstrcat(p, g.store_dir, "/data.mdb", NULL);
    uid_t uid = ap_unixd_config.user_id;
    gid_t gid = ap_unixd_config.group_id;
    int fd;

    if (geteuid() != 0) {
        return;
    }
    if (access(g.store_dir, F_OK) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, VERIFY_LOGNO(10)
                     "store %s does not exist yet: /verify answers 503 "
                     "until a batch is imported", g.store_dir);
        return;
    }
    /* setgid: files the importer creates later get this group too */
    if (chown(g.store_dir, (uid_t)-1, gid) != 0
        || chmod(g.store_dir, 02750) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, VERIFY_LOGNO(11)
                     "cannot give group %ld access to store %s",
                     (long)gid, g.store_dir);
    }
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
    if (fd < 0 || fchown(fd, uid, gid) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, VERIFY_LOGNO(12)
                     "cannot hand store lock file %s to the run-time user",
                     lock);
    }
    if (fd >= 0) {
        close(fd);
    }
    if (access(data, F_OK) == 0
        && (chown(data, (uid_t)-1, gid) != 0 || chmod(data, 0640) != 0)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, VERIFY_LOGNO(13)
                     "cannot give group %ld read access to %s", (long)gid,
                     data);
    }
}

/*
 * One parent per audit directory. Its chain head lives in this parent's
 * shared memory, so a second httpd (or a new one started while the old
 * one's children still finish requests after graceful-stop) would fork
 * the chain. The parent takes an exclusive flock on a file in the
 * directory and never closes it; its children inherit the descriptor,
 * so the lock holds until the last process that may write has gone.
 */
static apr_status_t writer_lock(server_rec *s, apr_pool_t *ptemp)
{
    const char *path = apr_pstrcat(ptemp, g.audit_dir, "/" WRITER_LOCK,
                                   NULL);
    int fd, i;

    if (strlen(g.audit_dir) >= sizeof(((chain_shm_t *)0)->audit_dir)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(32)
                     "VerifyAuditLog path too long");
        return APR_ENAMETOOLONG;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, APR_FROM_OS_ERROR(errno), s,
                     VERIFY_LOGNO(33) "cannot open %s", path);
        return APR_FROM_OS_ERROR(errno);
    }
    /* the children of a stopped predecessor may need a moment */
    for (i = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; i++) {
        if (errno != EWOULDBLOCK || i == WRITER_WAIT_TRIES) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, APR_FROM_OS_ERROR(errno),
                         s, VERIFY_LOGNO(34) "another httpd (or the "
                         "children of a stopped one) still writes the "
                         "audit log %s; refusing to fork its chain",
                         g.audit_dir);
            close(fd);
            return APR_EGENERAL;
        }
        apr_sleep(apr_time_from_msec(100));
    }
    return APR_SUCCESS;         /* fd stays open for the parent's life */
}

/* Shared memory and mutex for the chain: made once per parent process
 * and kept across graceful restarts (see the note on g). */
static apr_status_t chain_init(server_rec *s, apr_pool_t *ptemp)
{
    apr_pool_t *pproc = s->process->pool;
    apr_shm_t *shm = NULL;
    verify_chain_t head;
    const char *file;
    apr_off_t size, partial;
    char *err = NULL;
    void *data = NULL;
    apr_status_t rv;

    apr_pool_userdata_get(&data, USERDATA_KEY, pproc);
    if (data) {
        g.shm = data;
        if (g.shm->layout != CHAIN_LAYOUT) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(30)
                         "mod_verify was replaced by a build with another "
                         "audit chain layout: stop and start httpd (a "
                         "graceful restart cannot carry the chain over)");
            g.shm = NULL;
            return APR_EGENERAL;
        }
        /* old children write on: one chain, one directory, one lock */
        if (strcmp(g.shm->audit_dir, g.audit_dir)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, VERIFY_LOGNO(31)
                         "VerifyAuditLog changes only at a full restart; "
                         "keeping %s", g.shm->audit_dir);
            g.audit_dir = apr_pstrdup(s->process->pconf, g.shm->audit_dir);
        }
        g.shm->sync_failed = 0;         /* the admin restarted */
        if (g.shm->lock_kind != g.lock_kind) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, VERIFY_LOGNO(26)
                         "VerifyAuditLock changes only at a full restart; "
                         "keeping %s", g.shm->lock_kind == LOCK_MUTEX
                         ? "mutex" : "futex");
            g.lock_kind = g.shm->lock_kind;
        }
        return APR_SUCCESS;
    }
    rv = writer_lock(s, ptemp);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = verify_audit_find_head(g.audit_dir, &head, &file, &size, &partial,
                                &err, ptemp);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(14)
                     "cannot find the audit chain head: %s", err);
        return rv;
    }
    if (partial >= 0) {
        if (truncate(file, partial) != 0) {
            rv = APR_FROM_OS_ERROR(errno);
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(15)
                         "cannot cut the partial last line of %s", file);
            return rv;
        }
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, VERIFY_LOGNO(16)
                     "%s ended in a partial line (a writer died); it was "
                     "removed and the chain resumes after seq %"
                     APR_UINT64_T_FMT, file, head.seq);
    }
    rv = apr_shm_create(&shm, sizeof(chain_shm_t), NULL, pproc);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(17)
                     "cannot create shared memory for the audit chain");
        return rv;
    }
    g.shm = apr_shm_baseaddr_get(shm);
    memset(g.shm, 0, sizeof(*g.shm));
    g.shm->chain = head;
    g.shm->offset = -1;
    g.shm->synced_seq = head.seq;
    g.shm->lock_kind = g.lock_kind;
    g.shm->layout = CHAIN_LAYOUT;
    apr_cpystrn(g.shm->audit_dir, g.audit_dir, sizeof(g.shm->audit_dir));
    if (partial >= 0) {
        apr_snprintf(g.shm->note, sizeof(g.shm->note), "a partial last "
                     "line (never answered) was removed at start from %s",
                     file);
    }
    rv = ap_global_mutex_create(&g.mutex, NULL, AUDIT_MUTEX_TYPE, NULL, s,
                                pproc, 0);
    if (rv != APR_SUCCESS) {
        return rv;      /* ap_global_mutex_create logged why */
    }
    apr_pool_userdata_set(g.mutex, USERDATA_KEY "_mutex",
                          apr_pool_cleanup_null, pproc);
    apr_pool_userdata_set(g.shm, USERDATA_KEY, apr_pool_cleanup_null, pproc);
    return APR_SUCCESS;
}

/* post_config: runs as root in the parent, at start and at every
 * restart. Reads the secret, prepares directories, sets up the chain
 * and writes the "start" line. Skipped in the dry-run pass. */
static int verify_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    verify_srv_conf_t *conf = srv_conf(s);
    int threads = 1, daemons = 1, rc;
    apr_status_t rv;
    char *err = NULL;
    void *data = NULL;
    const char *desc;
    verify_jbuf_t jb;
    char body[256];

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    /* nothing of the previous generation's pconf may be used again */
    g.keys = NULL;
    g.shm = NULL;
    if (!conf->store_dir && !conf->key_file && !conf->audit_dir) {
        return OK;      /* loaded but not configured */
    }
    if (!conf->store_dir || !conf->key_file || !conf->audit_dir) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, VERIFY_LOGNO(18)
                     "VerifyStore, VerifyKeyFile and VerifyAuditLog must "
                     "all be set");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    g.store_dir = conf->store_dir;
    g.audit_dir = conf->audit_dir;
    g.audit_sync = conf->audit_sync == 1;
    g.lock_kind = conf->lock_kind == LOCK_MUTEX ? LOCK_MUTEX : LOCK_FUTEX;
    g.pid = getpid();
    rv = verify_keys_load(&g.keys, conf->key_file, &err, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(19)
                     "%s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    verify_keys_check(g.keys, g.key_check);
    rv = apr_dir_make_recursive(g.audit_dir, APR_FPROT_OS_DEFAULT & 0750,
                                ptemp);
    if (rv != APR_SUCCESS
        || (geteuid() == 0 && (chown(g.audit_dir, ap_unixd_config.user_id,
                                     ap_unixd_config.group_id) != 0
                               || chmod(g.audit_dir, 0750) != 0))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv ? rv : errno, s,
                     VERIFY_LOGNO(20) "cannot prepare audit directory %s "
                     "for the run-time user", g.audit_dir);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    store_permissions(s, ptemp);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &daemons);
    g.maxreaders = (unsigned)(threads < 1 ? 1 : threads)
                   * (unsigned)(daemons < 1 ? 1 : daemons) + 16;
    if (g.maxreaders < 126) {
        g.maxreaders = 126;
    }
    rv = chain_init(s, ptemp);
    if (rv != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_userdata_get(&data, USERDATA_KEY "_mutex", s->process->pool);
    g.mutex = data;
    g.buckets = NULL;
    if (bucket_count > 0) {
        /* one generation's limits: a graceful restart starts them anew */
        apr_shm_t *bshm = NULL;
        apr_size_t bsize = sizeof(*g.buckets)
                           + (apr_size_t)bucket_count * sizeof(bucket_t);
        rv = apr_shm_create(&bshm, bsize, NULL, pconf);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(35)
                         "cannot create shared memory for rate limits");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        g.buckets = apr_shm_baseaddr_get(bshm);
        memset(g.buckets, 0, bsize);
    }
    g.shm->generation++;
    /* the description is the admin's (loaded modules' tokens): escaped
     * and bounded like any other text */
    verify_jbuf_init(&jb, body, sizeof(body));
    rc = apr_snprintf(body, sizeof(body), ",\"op\":\"start\",\"pid\":%ld,"
                      "\"generation\":%u,\"server\":", (long)getpid(),
                      g.shm->generation);
    jb.len = (size_t)rc;
    desc = ap_get_server_description();
    verify_jbuf_str(&jb, desc, strlen(desc), 160);
    rv = audit_append(s, body, jb.len, NULL, NULL, ptemp);
    /* children open their own descriptor */
    if (g.fd >= 0) {
        close(g.fd);
        g.fd = -1;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(21)
                     "cannot write to the audit log %s; refusing to start",
                     g.audit_dir);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* Open the store for this child; called at child start and, while it
 * is missing, again at most once a second from requests. */
static void store_try_open(server_rec *s)
{
    verify_store_t *st = NULL;
    apr_pool_t *sp = NULL;
    char *err = NULL;
    apr_status_t rv;

    apr_pool_create(&sp, g.pchild);
    rv = verify_store_open(&st, g.store_dir, VERIFY_STORE_READONLY,
                           g.maxreaders, &err, sp);
    if (rv != APR_SUCCESS) {
        /* Not imported yet is routine; no permission is the admin's to
         * fix, and is said once per child at warn level. */
        static int warned;
        int level = APLOG_INFO;
        if (APR_STATUS_IS_EACCES(rv) && !warned) {
            warned = 1;
            level = APLOG_WARNING;
        }
        ap_log_error(APLOG_MARK, level, rv, s, VERIFY_LOGNO(22)
                     "%s", err);
        apr_pool_destroy(sp);
        g.store_next_try = apr_time_now() + STORE_RETRY_USEC;
        return;
    }
    /* a child that died mid-read leaves its reader slot behind */
    verify_store_reader_check(st);
    g.store = st;
}

/* child_init: after fork, as the run-time user. LMDB must be opened
 * here, never in the parent: its handles do not survive fork. */
static void verify_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (!g.shm || !g.keys) {
        return;
    }
    g.pchild = pchild;
    g.fd = -1;
    g.pid = getpid();
    {
        unsigned char rnd[8];
        /* ids need uniqueness, not secrecy: one draw per child */
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            apr_generate_random_bytes(rnd, sizeof(rnd));
        }
        verify_hex(rnd, sizeof(rnd), g.id_prefix);
    }
    rv = apr_global_mutex_child_init(&g.mutex,
                                     apr_global_mutex_lockfile(g.mutex),
                                     pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, VERIFY_LOGNO(23)
                     "cannot attach to the audit chain lock");
    }
    apr_thread_mutex_create(&g.store_lock, APR_THREAD_MUTEX_DEFAULT, pchild);
    store_try_open(s);
}

static verify_store_t *store_get(server_rec *s)
{
    if (g.store) {
        return g.store;
    }
    if (apr_time_now() < g.store_next_try) {
        return NULL;
    }
    apr_thread_mutex_lock(g.store_lock);
    if (!g.store && apr_time_now() >= g.store_next_try) {
        store_try_open(s);
    }
    apr_thread_mutex_unlock(g.store_lock);
    return g.store;
}

/* ------------------------------------------------------------------ */
/* The request                                                         */
/* ------------------------------------------------------------------ */

enum { F_ID, F_CHECK, F_CASE, F_REASON, F_OPERATOR, F_NAME, F_BIRTH,
       F_COUNT };

static const char *const field_names[F_COUNT] = {
    "id", "check", "case", "reason", "operator", "name", "birth_date"
};

typedef struct {
    const char *v;
    size_t len;
    int present;
} field_t;

/* One request in flight; everything lives in r->pool. */
typedef struct {
    request_rec *r;
    char request_id[REQUEST_ID_LEN + 1];
    field_t f[F_COUNT];
    apr_array_header_t *check_list;     /* field_t: as given */
    unsigned checks;                    /* bit per valid check_t */
    const verify_client_t *client;
    char id[VERIFY_ID_LEN + 1];         /* normalised, valid */
    int id_valid;
    /* outcome */
    int status;
    const char *error;
    const char *message;
    int answered;
    int body_unread;                    /* close: the rest is not read */
    int results[CHECK_COUNT];
    int want_match;
    int identity_match;
    verify_lookup_t lk;
} vreq_t;

static void refuse(vreq_t *q, int status, const char *error,
                   const char *message)
{
    if (!q->error) {            /* the first fault found is the one told */
        q->status = status;
        q->error = error;
        q->message = message;
    }
}

static int media_type_is(const char *ct, const char *type)
{
    size_t n = strlen(type);

    return ct && !strncasecmp(ct, type, n)
           && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Read the whole body, at most @p max bytes. */
static int read_body(vreq_t *q, apr_off_t max, char **buf, apr_size_t *len)
{
    request_rec *r = q->r;
    apr_size_t got = 0;
    long n;
    char *b;

    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field", "unreadable body");
        return -1;
    }
    if (r->remaining > max) {
        q->body_unread = 1;
        refuse(q, HTTP_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
               apr_psprintf(r->pool, "body larger than %" APR_OFF_T_FMT
                            " bytes", max));
        return -1;
    }
    b = apr_palloc(r->pool, (apr_size_t)max + 1);
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, b + got,
                                        (apr_size_t)max + 1 - got)) > 0) {
            got += (apr_size_t)n;
            if (got > (apr_size_t)max) {
                q->body_unread = 1;
                refuse(q, HTTP_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                       apr_psprintf(r->pool, "body larger than %"
                                    APR_OFF_T_FMT " bytes", max));
                return -1;
            }
        }
        if (n < 0) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field", "body cut short");
            return -1;
        }
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return 0;
}

static int field_index(const char *name, size_t len)
{
    int i;

    for (i = 0; i < F_COUNT; i++) {
        if (strlen(field_names[i]) == len
            && !memcmp(field_names[i], name, len)) {
            return i;
        }
    }
    return -1;
}

static void set_field(vreq_t *q, const char *key, size_t klen,
                      const char *v, size_t vlen)
{
    int i = field_index(key, klen);

    if (i < 0) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               apr_psprintf(q->r->pool, "unknown field \"%s\"",
                            verify_utf8_clean(key, klen) && klen <= 32
                            ? apr_pstrmemdup(q->r->pool, key, klen) : "?"));
        return;
    }
    if (q->f[i].present) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               apr_psprintf(q->r->pool, "field %s given twice",
                            field_names[i]));
        return;
    }
    q->f[i].present = 1;
    q->f[i].v = v;
    q->f[i].len = vlen;
}

static void add_check(vreq_t *q, const char *v, size_t len)
{
    field_t *c = apr_array_push(q->check_list);

    c->v = v;
    c->len = len;
    c->present = 1;
}

/* check given as one string (form, or JSON string): comma-separated. A
 * JSON array has filled check_list already and left the field empty. */
static void split_checks(vreq_t *q)
{
    char *list, *item, *last;

    if (!q->f[F_CHECK].present || q->check_list->nelts) {
        return;
    }
    list = apr_pstrmemdup(q->r->pool, q->f[F_CHECK].v, q->f[F_CHECK].len);
    for (item = apr_strtok(list, ",", &last); item;
         item = apr_strtok(NULL, ",", &last)) {
        add_check(q, item, strlen(item));
    }
}

/* application/x-www-form-urlencoded, decoded with httpd's own
 * unescaper; a bad %-escape refuses the request. */
static void parse_form(vreq_t *q, char *body, apr_size_t len)
{
    char *pair, *last, *eq;

    for (pair = apr_strtok(body, "&", &last); pair;
         pair = apr_strtok(NULL, "&", &last)) {
        eq = strchr(pair, '=');
        if (!eq) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "form item without '='");
            continue;
        }
        *eq++ = '\0';
        if (ap_unescape_urlencoded(pair) != OK
            || ap_unescape_urlencoded(eq) != OK) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "bad %-escape in form body");
            continue;
        }
        set_field(q, pair, strlen(pair), eq, strlen(eq));
    }
}

static apr_status_t json_release(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* application/json: one object of strings; check may be an array. */
static void parse_json(vreq_t *q, const char *body, apr_size_t len)
{
    json_error_t jerr;
    json_t *root, *val, *item;
    const char *key;
    size_t i;

    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               apr_psprintf(q->r->pool, "malformed JSON at line %d column "
                            "%d", jerr.line, jerr.column));
        return;
    }
    apr_pool_cleanup_register(q->r->pool, root, json_release,
                              apr_pool_cleanup_null);
    if (!json_is_object(root)) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               "body must be a JSON object");
        return;
    }
    json_object_foreach(root, key, val) {
        if (json_is_string(val)) {
            set_field(q, key, strlen(key), json_string_value(val),
                      json_string_length(val));
        }
        else if (!strcmp(key, "check") && json_is_array(val)) {
            set_field(q, key, strlen(key), "", 0);
            json_array_foreach(val, i, item) {
                if (!json_is_string(item)) {
                    refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                           "check must hold strings");
                    continue;
                }
                add_check(q, json_string_value(item),
                          json_string_length(item));
            }
        }
        else {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   apr_psprintf(q->r->pool, "field %s must be a string",
                                field_index(key, strlen(key)) >= 0
                                ? key : "(unknown)"));
        }
    }
}

/* The client certificate of a connection, as far as the register and
 * its validity need it; computed once per connection. */
typedef struct {
    unsigned char fpr[32];          /* SHA-256 of the DER certificate */
    apr_time_t not_before;
    apr_time_t not_after;
} cert_info_t;

static apr_time_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    time_t secs;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        return 0;
    }
    secs = timegm(&tm);
    return apr_time_from_sec(secs);
}

static const cert_info_t *client_cert(request_rec *r)
{
    const char *pem;
    cert_info_t *ci = NULL;
    BIO *bio;
    X509 *x;
    unsigned char *der = NULL;
    int dlen;
    unsigned int flen;

    apr_pool_userdata_get((void **)&ci, "verify_cert", r->connection->pool);
    if (ci) {
        return ci;
    }
    pem = ap_ssl_var_lookup(r->pool, r->server, r->connection, r,
                            "SSL_CLIENT_CERT");
    if (!pem || !*pem) {
        return NULL;
    }
    bio = BIO_new_mem_buf(pem, -1);
    x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!x) {
        return NULL;
    }
    ci = apr_pcalloc(r->connection->pool, sizeof(*ci));
    ci->not_before = asn1_time(X509_get0_notBefore(x));
    ci->not_after = asn1_time(X509_get0_notAfter(x));
    dlen = i2d_X509(x, &der);
    X509_free(x);
    if (dlen <= 0) {
        return NULL;
    }
    EVP_Digest(der, (size_t)dlen, ci->fpr, &flen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    /* the certificate cannot change within a connection; its validity
     * is compared with each request's time, since a keep-alive
     * connection may outlive it */
    apr_pool_userdata_setn(ci, "verify_cert", apr_pool_cleanup_null,
                           r->connection->pool);
    return ci;
}

/* Which register entry is this connection? By certificate when the
 * entry binds one, and always by address (R3.7). */
static const verify_client_t *identify(vreq_t *q, int *cert_mismatch,
                                      int *cert_expired)
{
    verify_srv_conf_t *conf = srv_conf(q->r->server);
    const cert_info_t *ci = NULL;
    int i, k, fpr_done = 0;

    *cert_mismatch = 0;
    *cert_expired = 0;
    if (!conf->clients) {
        return NULL;
    }
    for (i = 0; i < conf->clients->nelts; i++) {
        const verify_client_t *cl = APR_ARRAY_IDX(conf->clients, i,
                                                  verify_client_t *);
        int ip_ok = 0;
        for (k = 0; k < cl->ips->nelts && !ip_ok; k++) {
            ip_ok = apr_ipsubnet_test(APR_ARRAY_IDX(cl->ips, k,
                                                    apr_ipsubnet_t *),
                                      q->r->useragent_addr);
        }
        if (!ip_ok) {
            continue;
        }
        if (cl->certs->nelts == 0) {
            return cl;
        }
        if (!fpr_done) {
            ci = client_cert(q->r);
            fpr_done = 1;
        }
        for (k = 0; ci && k < cl->certs->nelts; k++) {
            if (!memcmp(cl->certs->elts + 32 * k, ci->fpr, 32)) {
                *cert_expired = q->r->request_time > ci->not_after
                                || q->r->request_time < ci->not_before;
                return cl;
            }
        }
        *cert_mismatch = 1;
    }
    return NULL;
}

static int text_ok(const field_t *f, size_t max_chars)
{
    return f->len > 0 && verify_utf8_clean(f->v, f->len)
           && verify_utf8_chars(f->v, f->len) <= max_chars;
}

/* Take one token from the client's bucket; 0 when it is empty. */
static int rate_take(const verify_client_t *cl, apr_time_t now)
{
    bucket_t *b;
    int ok;

    if (!g.buckets) {
        return 1;
    }
    b = &g.buckets->b[cl->bucket];
    verify_lock_acquire(&g.buckets->lock, g.pid);
    if (b->last == 0) {
        b->tokens = cl->burst;          /* a fresh bucket is full */
    }
    else if (now > b->last) {
        b->tokens += (double)(now - b->last) / APR_USEC_PER_SEC * cl->rate;
        if (b->tokens > cl->burst) {
            b->tokens = cl->burst;
        }
    }
    if (now > b->last) {
        b->last = now;
    }
    ok = b->tokens >= 1.0;
    if (ok) {
        b->tokens -= 1.0;
    }
    verify_lock_release(&g.buckets->lock);
    return ok;
}

/* Everything about the request that needs no store. */
static void validate(vreq_t *q)
{
    apr_pool_t *p = q->r->pool;
    verify_id_status_t st;
    int i, k;

    for (i = 0; i < F_OPERATOR + 1; i++) {
        if (!q->f[i].present || (q->f[i].len == 0 && i != F_CHECK)
            || (i == F_CHECK && q->check_list->nelts == 0)) {
            refuse(q, HTTP_BAD_REQUEST, "missing_field",
                   apr_psprintf(p, "field %s is required", field_names[i]));
        }
    }
    if (q->f[F_ID].present && q->f[F_ID].len) {
        st = verify_id_normalise(q->f[F_ID].v, q->f[F_ID].len, q->id, NULL);
        if (st == VERIFY_ID_OK) {
            q->id_valid = 1;
        }
        else {
            refuse(q, HTTP_BAD_REQUEST, "invalid_id",
                   verify_id_strerror(st));
        }
    }
    for (i = 0; i < q->check_list->nelts; i++) {
        const field_t *c = &APR_ARRAY_IDX(q->check_list, i, field_t);
        k = check_index(c->v, c->len);
        if (k < 0) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "unknown check (resident, indigenous, elderly_alone, "
                   "disability)");
        }
        else if (q->checks & (1u << k)) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "check listed twice");
        }
        else {
            q->checks |= 1u << k;
        }
    }
    if (q->f[F_CASE].present && q->f[F_CASE].len
        && !text_ok(&q->f[F_CASE], CASE_MAX_CHARS)) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               "case must be 1-64 characters of text");
    }
    if (q->f[F_REASON].present && q->f[F_REASON].len
        && !text_ok(&q->f[F_REASON], REASON_MAX_CHARS)) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               "reason must be 1-200 characters of text");
    }
    if (q->f[F_OPERATOR].present && q->f[F_OPERATOR].len
        && !text_ok(&q->f[F_OPERATOR], OPERATOR_MAX_CHARS)) {
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               "operator must be 1-64 characters of text");
    }
    if (q->f[F_NAME].present) {
        q->want_match = 1;
        if (!text_ok(&q->f[F_NAME], NAME_MAX_CHARS)) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "name must be 1-64 characters of text");
        }
    }
    if (q->f[F_BIRTH].present) {
        q->want_match = 1;
        if (!verify_date_parse_iso(q->f[F_BIRTH].v, q->f[F_BIRTH].len)) {
            refuse(q, HTTP_BAD_REQUEST, "invalid_field",
                   "birth_date must be a date YYYY-MM-DD");
        }
    }
}

/* Look the person up and decide every asked check. */
static void decide(vreq_t *q, verify_date_t today)
{
    verify_store_t *st = store_get(q->r->server);
    unsigned char key[VERIFY_TAG_LEN];
    unsigned sources = 0;
    const char *err = NULL;
    int k;

    if (!st) {
        refuse(q, HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
               "the verification store is not available");
        return;
    }
    for (k = 0; k < CHECK_COUNT; k++) {
        if (q->checks & (1u << k)) {
            sources |= 1u << check_source[k];
        }
    }
    if (q->want_match) {
        sources |= 1u << VERIFY_SRC_HOUSEHOLD;
    }
    verify_keys_tag(g.keys, VERIFY_KEY_STORE, q->id, VERIFY_ID_LEN, key);
    if (verify_store_lookup(st, key, sources, &q->lk, &err) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, VERIFY_LOGNO(24)
                      "store lookup failed: %s", err);
        refuse(q, HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
               "the verification store could not be read");
        return;
    }
    /* Every source must be there (store_unavailable) before any
     * expiry is told (data_expired), whatever their order. */
    for (k = 0; k < VERIFY_SRC_COUNT; k++) {
        if (!(sources & (1u << k))) {
            continue;
        }
        if (!q->lk.have_batch[k]) {
            refuse(q, HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
                   apr_psprintf(q->r->pool, "no %s data has been imported",
                                verify_source_name(k)));
        }
        else if (q->lk.batch[k].have_key_check
                 && memcmp(q->lk.batch[k].key_check, g.key_check,
                           VERIFY_KEY_CHECK_LEN)) {
            /* With the wrong key nobody would be found: every answer
             * would be a confident "no". Refuse instead. */
            static int said;
            if (!said) {
                said = 1;
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                              VERIFY_LOGNO(27) "the %s batch was imported "
                              "with another key than VerifyKeyFile; not "
                              "answering from it", verify_source_name(k));
            }
            refuse(q, HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
                   apr_psprintf(q->r->pool, "the %s data was imported "
                                "with another pseudonym key",
                                verify_source_name(k)));
        }
    }
    for (k = 0; !q->error && k < VERIFY_SRC_COUNT; k++) {
        if ((sources & (1u << k)) && q->lk.batch[k].approved_until
            && q->lk.batch[k].approved_until < today) {
            refuse(q, HTTP_SERVICE_UNAVAILABLE, "data_expired",
                   apr_psprintf(q->r->pool, "the approved usage period of "
                                "the %s data has ended",
                                verify_source_name(k)));
        }
    }
    if (q->error) {
        return;
    }
    {
        const verify_record_t *hh = &q->lk.rec[VERIFY_SRC_HOUSEHOLD];
        int in_hh = q->lk.found[VERIFY_SRC_HOUSEHOLD];
        q->results[CHECK_RESIDENT] = in_hh;
        q->results[CHECK_INDIGENOUS] = in_hh
                                       && hh->indigenous
                                          != VERIFY_INDIGENOUS_NONE;
        q->results[CHECK_ELDERLY_ALONE] =
            q->lk.found[VERIFY_SRC_ELDERLY_ALONE]
            && q->lk.rec[VERIFY_SRC_ELDERLY_ALONE].valid_until >= today;
        q->results[CHECK_DISABILITY] =
            q->lk.found[VERIFY_SRC_DISABILITY]
            && q->lk.rec[VERIFY_SRC_DISABILITY].valid_until >= today;
        if (q->want_match) {
            int match = in_hh;
            if (match && q->f[F_NAME].present) {
                char norm[512];
                unsigned char tag[VERIFY_TAG_LEN];
                size_t n = verify_name_normalise(q->f[F_NAME].v,
                                                 q->f[F_NAME].len, norm,
                                                 sizeof(norm));
                verify_keys_tag(g.keys, VERIFY_KEY_NAME, norm, n, tag);
                match = !memcmp(tag, hh->name_tag, VERIFY_NAME_TAG_LEN);
            }
            if (match && q->f[F_BIRTH].present) {
                match = verify_date_parse_iso(q->f[F_BIRTH].v,
                                              q->f[F_BIRTH].len)
                        == hh->birth;
            }
            q->identity_match = match;
        }
    }
    q->status = HTTP_OK;
    q->answered = 1;
}

static void jstr_field(verify_jbuf_t *b, const char *key, const field_t *f,
                       size_t max_out)
{
    verify_jbuf_key(b, key);
    if (f->present) {
        verify_jbuf_str(b, f->v, f->len, max_out);
    }
    else {
        VERIFY_JRAW(b, "null");
    }
}

static void json_bool(verify_jbuf_t *b, int v)
{
    if (v) {
        VERIFY_JRAW(b, "true");
    }
    else {
        VERIFY_JRAW(b, "false");
    }
}

/* results and as_of members, shared by the answer and the audit line */
static void results_json(verify_jbuf_t *b, vreq_t *q)
{
    int k, first = 1;

    VERIFY_JRAW(b, ",\"results\":{");
    for (k = 0; k < CHECK_COUNT; k++) {
        if (q->checks & (1u << k)) {
            if (!first) {
                VERIFY_JRAW(b, ",");
            }
            first = 0;
            verify_jbuf_key(b, check_names[k]);
            json_bool(b, q->results[k]);
        }
    }
    VERIFY_JRAW(b, "}");
    if (q->want_match) {
        VERIFY_JRAW(b, ",\"identity_match\":");
        json_bool(b, q->identity_match);
    }
    VERIFY_JRAW(b, ",\"as_of\":{");
    first = 1;
    for (k = 0; k < VERIFY_SRC_COUNT; k++) {
        if (q->lk.have_batch[k]) {
            if (!first) {
                VERIFY_JRAW(b, ",");
            }
            first = 0;
            verify_jbuf_key(b, verify_source_name(k));
            verify_jbuf_str(b, q->lk.batch[k].as_of,
                            strlen(q->lk.batch[k].as_of), 64);
        }
    }
    VERIFY_JRAW(b, "}");
}

/* The audit members of one request (R4.2.5): who, what about whom, why,
 * and the outcome. Never the ID in clear, the name or the birth date. */
static size_t audit_body(vreq_t *q, char *buf, size_t cap)
{
    verify_jbuf_t b;
    char masked[VERIFY_ID_LEN + 1];
    char taghex[2 * VERIFY_TAG_LEN + 1];
    unsigned char tag[VERIFY_TAG_LEN];
    int i, n;

    verify_jbuf_init(&b, buf, cap);
    VERIFY_JRAW(&b, ",\"request_id\":\"");
    verify_jbuf_raw(&b, q->request_id, strlen(q->request_id));
    VERIFY_JRAW(&b, "\",\"client\":");
    if (q->client) {
        verify_jbuf_str(&b, q->client->name, strlen(q->client->name), 128);
    }
    else {
        VERIFY_JRAW(&b, "null");
    }
    VERIFY_JRAW(&b, ",");
    jstr_field(&b, "operator", &q->f[F_OPERATOR], 256);
    VERIFY_JRAW(&b, ",\"ip\":");
    verify_jbuf_str(&b, q->r->useragent_ip, strlen(q->r->useragent_ip), 64);
    VERIFY_JRAW(&b, ",\"op\":\"verify\",\"method\":");
    verify_jbuf_str(&b, q->r->method, strlen(q->r->method), 16);
    VERIFY_JRAW(&b, ",\"checks\":[");
    /* Only known check names: an unknown one may be anything the
     * client put there, even an ID. */
    n = q->check_list->nelts > 8 ? 8 : q->check_list->nelts;
    for (i = 0; i < n; i++) {
        const field_t *c = &APR_ARRAY_IDX(q->check_list, i, field_t);
        int k = check_index(c->v, c->len);
        const char *known = k < 0 ? "?" : check_names[k];
        if (i) {
            VERIFY_JRAW(&b, ",");
        }
        verify_jbuf_str(&b, known, strlen(known), 32);
    }
    VERIFY_JRAW(&b, "],\"subject\":");
    if (q->id_valid) {
        verify_id_mask(q->id, VERIFY_ID_LEN, masked);
        verify_jbuf_str(&b, masked, VERIFY_ID_LEN, 16);
        verify_keys_tag(g.keys, VERIFY_KEY_SUBJECT, q->id, VERIFY_ID_LEN,
                        tag);
        verify_hex(tag, VERIFY_TAG_LEN, taghex);
        VERIFY_JRAW(&b, ",\"subject_tag\":\"");
        verify_jbuf_raw(&b, taghex, 2 * VERIFY_TAG_LEN);
        VERIFY_JRAW(&b, "\"");
    }
    else if (q->f[F_ID].present) {
        /* an invalid ID may be a typo of a real one: masked only */
        verify_id_mask(q->f[F_ID].v, q->f[F_ID].len, masked);
        verify_jbuf_str(&b, masked, strlen(masked), 16);
        VERIFY_JRAW(&b, ",\"subject_tag\":null");
    }
    else {
        VERIFY_JRAW(&b, "null,\"subject_tag\":null");
    }
    VERIFY_JRAW(&b, ",");
    jstr_field(&b, "case", &q->f[F_CASE], 300);
    VERIFY_JRAW(&b, ",");
    jstr_field(&b, "reason", &q->f[F_REASON], 1000);
    /* which identity fields were asked about, never their values */
    VERIFY_JRAW(&b, ",\"match_fields\":[");
    if (q->f[F_NAME].present) {
        VERIFY_JRAW(&b, "\"name\"");
    }
    if (q->f[F_BIRTH].present) {
        if (q->f[F_NAME].present) {
            VERIFY_JRAW(&b, ",");
        }
        VERIFY_JRAW(&b, "\"birth_date\"");
    }
    VERIFY_JRAW(&b, "],\"status\":");
    verify_jbuf_u64(&b, (uint64_t)q->status);
    if (q->answered) {
        results_json(&b, q);
    }
    else {
        VERIFY_JRAW(&b, ",\"error\":");
        verify_jbuf_str(&b, q->error, strlen(q->error), 64);
        VERIFY_JRAW(&b, ",\"as_of\":null");
    }
    return b.overflow ? 0 : b.len;
}

static int respond(vreq_t *q)
{
    request_rec *r = q->r;
    char buf[1024];
    verify_jbuf_t b;
    apr_bucket_brigade *bb;

    r->status = q->status;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (q->status == HTTP_METHOD_NOT_ALLOWED) {
        apr_table_setn(r->headers_out, "Allow", "POST");
    }
    if (q->status == HTTP_TOO_MANY_REQUESTS) {
        apr_table_setn(r->headers_out, "Retry-After", "1");
    }
    if (q->body_unread) {
        /* whatever the answer (another fault may outrank the 413), the
         * rest of an oversized body is not read: close the connection */
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    verify_jbuf_init(&b, buf, sizeof(buf) - 1);
    VERIFY_JRAW(&b, "{\"request_id\":\"");
    verify_jbuf_raw(&b, q->request_id, strlen(q->request_id));
    VERIFY_JRAW(&b, "\"");
    if (q->answered) {
        results_json(&b, q);
    }
    else {
        VERIFY_JRAW(&b, ",\"error\":");
        verify_jbuf_str(&b, q->error, strlen(q->error), 64);
        VERIFY_JRAW(&b, ",\"message\":");
        verify_jbuf_str(&b, q->message, strlen(q->message), 400);
    }
    VERIFY_JRAW(&b, "}\n");
    ap_set_content_length(r, (apr_off_t)b.len);
    /* Flush now, as the static-file path does: the answer leaves while
     * the request is still being finished, so a keep-alive client's next
     * request is often already there when the worker looks, and the
     * connection need not go back through the event loop. */
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    if (!r->header_only) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_transient_create(
                                    buf, b.len, bb->bucket_alloc));
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
           ? OK : AP_FILTER_ERROR;
}

/* handler: SetHandler verify. */
static int verify_handler(request_rec *r)
{
    verify_srv_conf_t *conf;
    char body[VERIFY_AUDIT_LINE_MAX];
    const char *ct;
    char *in = NULL;
    apr_size_t inlen = 0;
    apr_off_t max;
    verify_date_t today;
    size_t blen;
    int mismatch = 0, expired = 0;
    vreq_t *q;

    if (!r->handler || strcmp(r->handler, VERIFY_HANDLER)) {
        return DECLINED;
    }
    q = apr_pcalloc(r->pool, sizeof(*q));
    q->r = r;
    q->status = HTTP_OK;
    q->check_list = apr_array_make(r->pool, 4, sizeof(field_t));
    apr_snprintf(q->request_id, sizeof(q->request_id), "%s%08x",
                 g.id_prefix, apr_atomic_inc32(&g.id_counter));
    if (!g.shm || !g.keys) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, VERIFY_LOGNO(25)
                      "SetHandler verify without VerifyStore, VerifyKeyFile "
                      "and VerifyAuditLog");
        refuse(q, HTTP_SERVICE_UNAVAILABLE, "audit_unavailable",
               "the audit log is not configured");
        return respond(q);
    }
    conf = srv_conf(r->server);
    max = conf->max_body > 0 ? conf->max_body : DEFAULT_MAX_BODY;
    today = verify_date_taipei(r->request_time);

    if (r->path_info && *r->path_info) {
        refuse(q, HTTP_NOT_FOUND, "not_found", "no such resource");
        ap_discard_request_body(r);
    }
    else if (r->args && *r->args) {
        /* access logs and proxies record URLs: personal data must not
         * travel there, so a query string is refused, not ignored */
        refuse(q, HTTP_BAD_REQUEST, "invalid_field",
               "send every field in the body, never in the URL");
        ap_discard_request_body(r);
    }
    else if (r->method_number != M_POST) {
        r->allowed = AP_METHOD_BIT << M_POST;
        refuse(q, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
               "use POST");
        ap_discard_request_body(r);
    }
    else {
        ct = apr_table_get(r->headers_in, "Content-Type");
        if (media_type_is(ct, "application/x-www-form-urlencoded")) {
            if (read_body(q, max, &in, &inlen) == 0) {
                parse_form(q, in, inlen);
            }
        }
        else if (media_type_is(ct, "application/json")) {
            if (read_body(q, max, &in, &inlen) == 0) {
                parse_json(q, in, inlen);
            }
        }
        else {
            refuse(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                   "send application/x-www-form-urlencoded or "
                   "application/json");
            ap_discard_request_body(r);
        }
    }
    split_checks(q);
    /* Who is asking comes before what is wrong with the question: an
     * unregistered or expired client learns nothing else. */
    q->client = identify(q, &mismatch, &expired);
    if (!q->client) {
        q->error = NULL;
        refuse(q, HTTP_FORBIDDEN, "unknown_client", mismatch
               ? "client certificate not registered for this address"
               : "this address is not a registered client");
    }
    else if (expired) {
        /* mod_ssl refuses an expired certificate at the handshake, but
         * a keep-alive connection can outlive it (or the vhost may not
         * verify): the register's binding is only as good as the
         * certificate's validity */
        q->error = NULL;
        refuse(q, HTTP_FORBIDDEN, "credential_expired",
               "the client certificate is outside its validity period");
    }
    else if (today < q->client->valid_from || today > q->client->valid_to) {
        q->error = NULL;
        refuse(q, HTTP_FORBIDDEN, "approval_expired",
               "the client's approved period does not cover today");
    }
    else if (q->client->rate > 0 && !rate_take(q->client, r->request_time)) {
        q->error = NULL;
        refuse(q, HTTP_TOO_MANY_REQUESTS, "rate_limited",
               "more requests than the client's approved rate; retry later");
    }
    validate(q);
    if (!q->error && (q->checks & ~q->client->checks)) {
        refuse(q, HTTP_FORBIDDEN, "check_not_permitted",
               "the client is not approved for a check it asked");
    }
    if (!q->error) {
        decide(q, today);
    }
    blen = audit_body(q, body, sizeof(body));
    if (blen == 0 || audit_append(r->server, body, blen,
                                  q->answered ? &q->lk : NULL,
                                  q->request_id, r->pool)
                     != APR_SUCCESS) {
        /* no line, no answer */
        q->answered = 0;
        q->error = NULL;
        refuse(q, HTTP_SERVICE_UNAVAILABLE, "audit_unavailable",
               "the audit log cannot be written; nothing was answered");
    }
    return respond(q);
}

/*
 * translate_name: runs after the first <Location> walk. A request whose
 * handler is ours names no file, so it is marked here and
 * map_to_storage below skips the filesystem walk (a stat and an
 * .htaccess probe per directory level), as mod_proxy does for its URLs.
 */
static int verify_translate(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    core_server_config *sc;
    const char *h, *err = NULL, *base = NULL;
    size_t n, best = 0;
    int i;

    if (!d || !d->expr_handler) {
        return DECLINED;
    }
    h = ap_expr_str_exec(r, d->expr_handler, &err);
    if (!h || strcmp(h, VERIFY_HANDLER)) {
        return DECLINED;
    }
    r->filename = apr_pstrcat(r->pool, "verify:", r->uri, NULL);
    /* What follows the path of the <Location> that set the handler is
     * extra path (answered 404). The merged config cannot say which
     * section that was, so look at the sections themselves: the longest
     * plain <Location> prefix of the URI whose SetHandler is ours. */
    sc = ap_get_core_module_config(r->server->module_config);
    for (i = 0; sc && sc->sec_url && i < sc->sec_url->nelts; i++) {
        core_dir_config *e = ap_get_core_module_config(
            APR_ARRAY_IDX(sc->sec_url, i, ap_conf_vector_t *));
        if (!e || e->r || !e->d || !e->expr_handler) {
            continue;
        }
        n = strlen(e->d);
        if (n <= best || strncmp(r->uri, e->d, n)) {
            continue;
        }
        h = ap_expr_str_exec(r, e->expr_handler, &err);
        if (h && !strcmp(h, VERIFY_HANDLER)) {
            base = e->d;
            best = n;
        }
    }
    if (base && r->uri[best]) {
        r->path_info = apr_pstrdup(r->pool, r->uri + best);
    }
    return OK;
}

/* map_to_storage: nothing on disk to find for a marked request. */
static int verify_map_to_storage(request_rec *r)
{
    return r->filename && !strncmp(r->filename, "verify:", 7)
           ? OK : DECLINED;
}

static void verify_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(verify_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(verify_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(verify_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(verify_translate, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(verify_map_to_storage, NULL, NULL,
                           APR_HOOK_MIDDLE);
    ap_hook_handler(verify_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(verify) = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config */
    NULL,                       /* merge per-directory */
    create_srv_conf,
    merge_srv_conf,
    verify_cmds,
    verify_register_hooks,
    AP_MODULE_FLAG_NONE
};
