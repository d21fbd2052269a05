/*
 * mod_verify_client.c -- who is asking: the TCP peer, the TLS client
 * certificate, and the register; and how often it may ask.
 */
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "http_ssl.h"
#include <apr_shm.h>

#include <openssl/evp.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_config.h"
#include "mod_verify_client.h"

/* A token bucket of one client, shared by the children of a generation. */
typedef struct bucket_t {
    double tokens;
    apr_time_t last;
} bucket_t;

static struct {
    verify_lock_t lock;
    bucket_t b[1];                      /* bucket_count of them */
} *buckets;                             /* per generation, shared */

/* A client known by its address alone is anyone who can send from that
 * address: fine on loopback (tests, demos), a warning elsewhere. */
static void warn_unbound(server_rec *s)
{
    const apr_array_header_t *seen = NULL, *clients;
    const char *addr;
    server_rec *sv;
    int i;

    for (sv = s; sv; sv = sv->next) {
        clients = verify_config_clients(sv);
        if (!clients || clients == seen) {
            continue;       /* a vhost without its own register */
        }
        seen = clients;
        for (i = 0; i < clients->nelts; i++) {
            const verify_client_t *cl = APR_ARRAY_IDX(clients, i,
                                                      verify_client_t *);
            addr = verify_register_unbound_remote(cl);
            if (addr) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                             VERIFY_LOGNO(60) "VerifyClient %s (%s) has no "
                             "cert-sha256 and the non-loopback address %s: "
                             "anyone who can send from it is that client",
                             cl->name, cl->where, addr);
            }
        }
    }
}

/* Identity mismatches of one client about one person in one Taipei
 * day. Unlike the rate buckets the table outlives restarts (it lives in
 * the process pool, as the chain head does): a reload must not hand a
 * client a fresh allowance for the same search. */
#define MISMATCH_SLOTS 16384
#define MISMATCH_PROBES 64
#define MISMATCH_LAYOUT 0x564d4d32u     /* "VMM2": this struct */
/* Slots one client holds today, counted so that no client can fill the
 * table and so deny identity checks to the others. */
#define MISMATCH_CLIENTS 512
#define MISMATCH_USERDATA "verify_mismatch"

typedef struct mismatch_t {
    unsigned char key[16];      /* SHA-256(client name, 0, subject tag) */
    verify_date_t day;          /* Taipei day of count; 0: never used */
    uint32_t count;             /* answers that were or may be mismatches */
} mismatch_t;

typedef struct mismatch_holder_t {
    unsigned char key[8];       /* SHA-256(client name) cut to 8 bytes */
    verify_date_t day;          /* Taipei day of held; 0: never used */
    uint32_t held;              /* slots it holds with a count today */
} mismatch_holder_t;

typedef struct mismatch_table_t {
    uint32_t layout;
    verify_lock_t lock;
    mismatch_t slot[MISMATCH_SLOTS];
    mismatch_holder_t holder[MISMATCH_CLIENTS];
} mismatch_table_t;

/* this process, for the robust locks (set in child_init: getpid() is a
 * system call, and the locks are taken on the request path) */
static pid_t self;

static pid_t me(void)
{
    return self ? self : getpid();      /* 0 would mean "unlocked" */
}

static mismatch_table_t *mismatches;
/* Slots one client may hold in a day: half the table shared among the
 * clients allowed `identity` (set per generation from the register),
 * so the probe windows stay short and every client keeps its room. */
static uint32_t mismatch_share = MISMATCH_SLOTS / 2;

static apr_status_t mismatch_setup(server_rec *s)
{
    apr_pool_t *pproc = s->process->pool;
    void *data = NULL;
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    apr_pool_userdata_get(&data, MISMATCH_USERDATA, pproc);
    mismatches = data;
    if (mismatches && mismatches->layout == MISMATCH_LAYOUT) {
        return APR_SUCCESS;
    }
    /* the first start, or a build with another layout: a new table */
    rv = apr_shm_create(&shm, sizeof(*mismatches), NULL, pproc);
    if (rv != APR_SUCCESS) {
        mismatches = NULL;
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(61)
                     "cannot create shared memory for the identity "
                     "mismatch counters");
        return rv;
    }
    mismatches = apr_shm_baseaddr_get(shm);
    memset(mismatches, 0, sizeof(*mismatches));
    mismatches->layout = MISMATCH_LAYOUT;
    apr_pool_userdata_set(mismatches, MISMATCH_USERDATA,
                          apr_pool_cleanup_null, pproc);
    return APR_SUCCESS;
}

/* SHA-256(client name, 0, subject tag) cut to @p len bytes. */
static void mismatch_key(const verify_client_t *cl,
                         const unsigned char *subject, unsigned char *key,
                         size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, cl->name, strlen(cl->name) + 1);
    EVP_DigestUpdate(ctx, subject, VERIFY_TAG_LEN);
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    memcpy(key, md, len);
}

/* The holder key of a client: FNV-1a of its name (it only spreads
 * clients over the records; nothing depends on its being secret). */
static void holder_key(const verify_client_t *cl, unsigned char key[8])
{
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *c;
    int i;

    for (c = (const unsigned char *)cl->name; *c; c++) {
        h = (h ^ *c) * 0x100000001b3ull;
    }
    for (i = 0; i < 8; i++) {
        key[i] = (unsigned char)(h >> (8 * i));
    }
}

/* The holder record of @p key for @p today (taken and reset if another
 * day's), or NULL when every record is some client's today. The caller
 * holds the lock. */
static mismatch_holder_t *mismatch_holder(const unsigned char key[8],
                                          verify_date_t today)
{
    mismatch_holder_t *h, *spare = NULL;
    uint32_t i, start;

    start = ((uint32_t)key[0] << 8 | key[1]) % MISMATCH_CLIENTS;
    for (i = 0; i < MISMATCH_CLIENTS; i++) {
        h = &mismatches->holder[(start + i) % MISMATCH_CLIENTS];
        if (!memcmp(h->key, key, sizeof(h->key)) && h->day) {
            spare = h;
            break;
        }
        if (!spare && h->day != today) {
            spare = h;
        }
        if (h->day == 0) {
            break;
        }
    }
    if (spare && (spare->day != today
                  || memcmp(spare->key, key, sizeof(h->key)))) {
        memcpy(spare->key, key, sizeof(h->key));
        spare->day = today;
        spare->held = 0;
    }
    return spare;
}

/* The slot of @p key, or else a slot it may take (never used, another
 * day's, or counting nothing), or NULL: the probe window is full of
 * today's counts. The caller holds the lock. */
static mismatch_t *mismatch_find(const unsigned char *key,
                                 verify_date_t today, int *found)
{
    uint32_t h = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16
                 | (uint32_t)key[2] << 8 | key[3];
    mismatch_t *m, *spare = NULL;
    int i;

    *found = 0;
    for (i = 0; i < MISMATCH_PROBES; i++) {
        m = &mismatches->slot[(h + (uint32_t)i) % MISMATCH_SLOTS];
        if (m->day == 0) {
            return spare ? spare : m;   /* the key is not further on */
        }
        if (!memcmp(m->key, key, 16)) {
            *found = 1;
            return m;
        }
        if (!spare && (m->day != today || m->count == 0)) {
            spare = m;
        }
    }
    return spare;
}

verify_mismatch_t verify_client_mismatch_take(const verify_client_t *cl,
                                              const unsigned char *subject,
                                              verify_date_t today, int limit)
{
    unsigned char key[16];
    verify_mismatch_t res = VERIFY_MISMATCH_TAKEN;
    unsigned char hkey[8];
    mismatch_holder_t *holder;
    mismatch_t *m;
    int found;

    if (!mismatches) {
        return VERIFY_MISMATCH_FULL;    /* refuse rather than not count */
    }
    mismatch_key(cl, subject, key, sizeof(key));
    holder_key(cl, hkey);
    verify_lock_acquire(&mismatches->lock, me());
    m = mismatch_find(key, today, &found);
    holder = mismatch_holder(hkey, today);
    if (!m || !holder) {
        res = VERIFY_MISMATCH_FULL;
    }
    else {
        if (!found || m->day != today) {
            memcpy(m->key, key, 16);
            m->day = today;
            m->count = 0;
        }
        if (m->count >= (uint32_t)limit) {
            res = VERIFY_MISMATCH_LIMIT;
        }
        else if (m->count == 0 && holder->held >= mismatch_share) {
            res = VERIFY_MISMATCH_FULL;     /* this client's share is used */
        }
        else {
            holder->held += m->count == 0;
            m->count++;
        }
    }
    verify_lock_release(&mismatches->lock);
    return res;
}

void verify_client_mismatch_give_back(const verify_client_t *cl,
                                      const unsigned char *subject,
                                      verify_date_t today)
{
    unsigned char key[16], hkey[8];
    mismatch_t *m;
    int found;

    if (!mismatches) {
        return;
    }
    mismatch_key(cl, subject, key, sizeof(key));
    holder_key(cl, hkey);
    verify_lock_acquire(&mismatches->lock, me());
    m = mismatch_find(key, today, &found);
    if (found && m->day == today && m->count > 0) {
        m->count--;
        if (m->count == 0) {
            mismatch_holder_t *holder = mismatch_holder(hkey, today);
            if (holder && holder->held > 0) {
                holder->held--;
            }
        }
    }
    verify_lock_release(&mismatches->lock);
}

/* Each client allowed `identity` may hold an equal part of half the
 * mismatch table in a day. */
static void mismatch_share_set(server_rec *s)
{
    const apr_array_header_t *seen = NULL, *clients;
    server_rec *sv;
    uint32_t n = 0;
    int i;

    for (sv = s; sv; sv = sv->next) {
        clients = verify_config_clients(sv);
        if (!clients || clients == seen) {
            continue;
        }
        seen = clients;
        for (i = 0; i < clients->nelts; i++) {
            n += (APR_ARRAY_IDX(clients, i, verify_client_t *)->checks
                  & VERIFY_PERMIT_IDENTITY) != 0;
        }
    }
    mismatch_share = MISMATCH_SLOTS / 2 / (n ? n : 1);
}

void verify_client_child_init(void)
{
    self = getpid();
}

apr_status_t verify_client_post_config(server_rec *s, apr_pool_t *pconf)
{
    int count = verify_config_bucket_count();
    apr_size_t size = sizeof(*buckets) + (apr_size_t)count * sizeof(bucket_t);
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    warn_unbound(s);
    mismatch_share_set(s);
    rv = mismatch_setup(s);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    buckets = NULL;
    if (count == 0) {
        return APR_SUCCESS;
    }
    /* one generation's limits: a graceful restart starts them anew */
    rv = apr_shm_create(&shm, size, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(35)
                     "cannot create shared memory for rate limits");
        return rv;
    }
    buckets = apr_shm_baseaddr_get(shm);
    memset(buckets, 0, size);
    return APR_SUCCESS;
}

int verify_client_rate_take(const verify_client_t *cl, apr_time_t now)
{
    return verify_client_rate_take_n(cl, now, 1.0);
}

int verify_client_rate_take_n(const verify_client_t *cl, apr_time_t now,
                              double n)
{
    bucket_t *b;
    int ok;

    if (!buckets || cl->rate <= 0) {
        return 1;
    }
    b = &buckets->b[cl->bucket];
    verify_lock_acquire(&buckets->lock, me());
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
    ok = b->tokens >= n;
    if (ok) {
        b->tokens -= n;
    }
    verify_lock_release(&buckets->lock);
    return ok;
}

/* The client certificate of a connection, read once: mod_ssl's data is
 * per connection (SSLVerifyClient require in the vhost fixes it at the
 * handshake), so each further request on a keep-alive connection costs
 * a pointer lookup. Its validity is compared with each request's time,
 * since a keep-alive connection may outlive it. */
typedef struct conn_cert_t {
    verify_cert_t cert;
    int have;                       /* a certificate was sent and read */
    int said;                       /* its fault is in the error log */
} conn_cert_t;

static conn_cert_t *client_cert(request_rec *r)
{
    conn_rec *c = r->connection;
    conn_cert_t *cc = ap_get_module_config(c->conn_config, &verify_module);
    const char *pem;

    if (cc) {
        return cc;
    }
    cc = apr_pcalloc(c->pool, sizeof(*cc));
    pem = ap_ssl_var_lookup(r->pool, r->server, c, r, "SSL_CLIENT_CERT");
    cc->have = pem && *pem && verify_cert_read_pem(&cc->cert, pem) == 0;
    ap_set_module_config(c->conn_config, &verify_module, cc);
    return cc;
}

static const char *hex(const unsigned char *h, apr_pool_t *p)
{
    char *s = apr_palloc(p, 65);

    verify_hex(h, 32, s);
    return s;
}

/* The register line says another key than the certificate holds: a
 * wrong spki-sha256=, which a rotation would copy into the history. */
static void say_wrong_key(request_rec *r, conn_cert_t *cc,
                          const verify_client_t *cl, int k)
{
    if (cc->said) {
        return;
    }
    cc->said = 1;
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, VERIFY_LOGNO(142)
                  "VerifyClient %s (%s): the certificate sent (cert-sha256 "
                  "%s) has spki-sha256 %s, not %s as the line says; "
                  "refused (unknown_client) until the line is corrected",
                  cl->name, cl->where, hex(cc->cert.fpr, r->pool),
                  hex(cc->cert.spki, r->pool),
                  hex((const unsigned char *)cl->spkis->elts + 32 * k,
                      r->pool));
}

static void say_reused(request_rec *r, conn_cert_t *cc,
                       const verify_client_t *cl, const verify_retired_t *rt)
{
    if (cc->said) {
        return;
    }
    cc->said = 1;
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, VERIFY_LOGNO(143)
                  "client %s (%s): the certificate sent (cert-sha256 %s) "
                  "has the key of the certificate retired at %s "
                  "(spki-sha256 %s); refused (credential_reused): the "
                  "client needs a certificate for a new key",
                  cl->name, cl->where, hex(cc->cert.fpr, r->pool),
                  rt->where, hex(rt->spki, r->pool));
}

/* The TCP peer, never r->useragent_addr: mod_remoteip (or any module)
 * may set that from a header the caller wrote. */
static int address_matches(const verify_client_t *cl, request_rec *r)
{
    int k;

    for (k = 0; k < cl->subnets->nelts; k++) {
        if (apr_ipsubnet_test(APR_ARRAY_IDX(cl->subnets, k,
                                            apr_ipsubnet_t *),
                              r->connection->client_addr)) {
            return 1;
        }
    }
    return 0;
}

void verify_client_identify(request_rec *r, verify_client_id_t *id)
{
    const apr_array_header_t *clients = verify_config_clients(r->server);
    conn_cert_t *cc = NULL;
    int i, k;

    memset(id, 0, sizeof(*id));
    for (i = 0; clients && i < clients->nelts; i++) {
        const verify_client_t *cl = APR_ARRAY_IDX(clients, i,
                                                  verify_client_t *);
        if (!address_matches(cl, r)) {
            continue;
        }
        if (cl->certs->nelts == 0) {
            id->client = cl;
            return;
        }
        if (!cc) {
            cc = client_cert(r);
        }
        for (k = 0; cc->have && k < cl->certs->nelts; k++) {
            if (memcmp(cl->certs->elts + 32 * k, cc->cert.fpr, 32)) {
                continue;
            }
            if (cl->spkis->nelts
                && memcmp(cl->spkis->elts + 32 * k, cc->cert.spki, 32)) {
                say_wrong_key(r, cc, cl, k);
                break;          /* this line does not describe it */
            }
            id->client = cl;
            id->cert = &cc->cert;
            id->cert_expired = r->request_time > cc->cert.not_after
                               || r->request_time < cc->cert.not_before;
            /* configtest compares the keys the register names; this
             * compares the key itself, also for lines without
             * spki-sha256= */
            id->reused = verify_register_retired_key(cl, cc->cert.spki);
            if (id->reused) {
                say_reused(r, cc, cl, id->reused);
            }
            return;
        }
        id->cert_mismatch = 1;
    }
}
