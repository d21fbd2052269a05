/*
 * bench-load -- a closed-loop HTTP/1.1 keep-alive load generator for
 * `make bench`, over plain TCP or TLS 1.3 with a client certificate.
 *
 * Why not wrk or h2load: wrk does TLS but cannot present a client
 * certificate, and h2load (nghttp2-client) has no client-certificate
 * option either; the verify endpoint over TLS needs mutual TLS. One small
 * client for both transports also keeps the comparison HTTP/TLS fair.
 *
 * Design: as wrk, a few threads (-t, default 2), each running an epoll
 * loop over its share of the connections, non-blocking, one request in
 * flight per connection (no pipelining). (A first version used one
 * blocking thread per connection: 32 runnable client threads on 2 cores
 * preempted httpd's threads more often, which cost the verify path, with
 * its chain lock, more than the static file.) Every connection is opened
 * (and its TLS handshake done) before the clock starts, so the figures
 * are those of keep-alive requests. The latency of each request (send to
 * the last byte of the answer) is kept, and p50/p99 come from all of
 * them sorted.
 *
 *   bench-load -p PORT -u PATH [-b BODIES] [-c CONNS] [-t THREADS]
 *              [-d SECONDS | -n N] [--cert F --key F --ca F]
 *
 * -b BODIES: a file of form bodies, one a line: each request POSTs the
 * next (application/x-www-form-urlencoded), rotating; without -b a GET.
 * --cert/--key/--ca: TLS 1.3 only, the client certificate presented and
 * the server's checked against the CA. -n N: stop after N requests in
 * all (instead of -d). Output, one "key value" a line: requests,
 * seconds, rps, p50_ms, p99_ms, p90_ms, p999_ms, max_ms, mean_ms, non2xx,
 * errors, reconnects.
 * Exit 1 on a usage error or when no connection can be made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define BUF_SIZE 65536

enum { IDLE, SEND, RECV };

struct conn {
    int fd;
    SSL *ssl;
    int state;
    unsigned want;         /* EPOLLIN or EPOLLOUT: what it waits for */
    unsigned armed;        /* the events registered in epoll */
    int retried;           /* this request was sent again once */
    size_t next_body;
    unsigned long served;  /* answers on this connection so far */
    double t0;
    char req[8192];
    size_t req_len, req_off;
    size_t have;
    char buf[BUF_SIZE];
};

struct worker {
    pthread_t th;
    int ep;
    struct conn *cs;
    int n_cs;
    uint32_t *lat;         /* microseconds, one per request */
    size_t n, cap;
    unsigned long non2xx, errors, reconnects;
};

static int port;
static const char *path = "/";
static char **bodies;
static size_t n_bodies;
static SSL_CTX *ctx;
static atomic_int stop;
static int limited;              /* -n given */
static atomic_long budget;       /* -n: requests left to hand out */
static pthread_barrier_t start_line;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *msg)
{
    fprintf(stderr, "bench-load: %s\n", msg);
    exit(1);
}

static void disconnect(struct conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->armed = 0;
    c->served = 0;
}

/* A new connection (and TLS handshake), blocking, then non-blocking. */
static int connect_one(struct conn *c)
{
    struct sockaddr_in sa;
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        disconnect(c);
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (ctx) {
        c->ssl = SSL_new(ctx);
        if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)
            || !SSL_set1_host(c->ssl, "127.0.0.1")
            || SSL_connect(c->ssl) != 1) {
            ERR_print_errors_fp(stderr);
            disconnect(c);
            return -1;
        }
    }
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0) {
        disconnect(c);
        return -1;
    }
    return 0;
}

/* TLS: 0 (and c->want) when OpenSSL would block, -1 on a failure. */
static int tls_blocked(struct conn *c, int ret)
{
    switch (SSL_get_error(c->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        c->want = EPOLLIN;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        c->want = EPOLLOUT;
        return 0;
    default:
        ERR_clear_error();
        return -1;
    }
}

/* The rest of the request: 1 sent, 0 would block, -1 failed. */
static int nb_write(struct conn *c)
{
    while (c->req_off < c->req_len) {
        const char *p = c->req + c->req_off;
        size_t len = c->req_len - c->req_off;
        if (c->ssl) {
            size_t done = 0;
            int ret = SSL_write_ex(c->ssl, p, len, &done);
            if (ret != 1)
                return tls_blocked(c, ret);
            c->req_off += done;
        } else {
            ssize_t w = write(c->fd, p, len);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && errno == EAGAIN) {
                c->want = EPOLLOUT;
                return 0;
            }
            if (w <= 0)
                return -1;
            c->req_off += (size_t)w;
        }
    }
    return 1;
}

/* Bytes read (> 0), 0 would block, -1 closed or failed. */
static ssize_t nb_read(struct conn *c, char *p, size_t len)
{
    if (c->ssl) {
        size_t got = 0;
        int ret = SSL_read_ex(c->ssl, p, len, &got);
        if (ret != 1)
            return tls_blocked(c, ret) == 0 ? 0 : -1;
        return (ssize_t)got;
    }
    for (;;) {
        ssize_t r = read(c->fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN) {
            c->want = EPOLLIN;
            return 0;
        }
        return r <= 0 ? -1 : r;
    }
}

/* The answer in c->buf: 1 whole (status, close), 0 not yet, -1 broken. */
static int parse(struct conn *c, int *status, int *close_after)
{
    size_t head_len, body_len = 0;
    char *end;

    c->buf[c->have] = '\0';
    end = strstr(c->buf, "\r\n\r\n");
    if (!end)
        return c->have >= BUF_SIZE - 1 ? -1 : 0;
    head_len = (size_t)(end - c->buf) + 4;
    if (sscanf(c->buf, "HTTP/1.%*d %d", status) != 1)
        return -1;
    *close_after = 0;
    for (char *l = strstr(c->buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
        char *h = l + 2;
        if (strncasecmp(h, "Content-Length:", 15) == 0)
            body_len = strtoul(h + 15, NULL, 10);
        else if (strncasecmp(h, "Connection:", 11) == 0
                 && strncasecmp(h + 11 + strspn(h + 11, " "), "close", 5) == 0)
            *close_after = 1;
        else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0)
            return -1;  /* not used by the pages measured */
    }
    if (head_len + body_len >= BUF_SIZE)
        return -1;
    return c->have >= head_len + body_len;
}

static void make_request(struct conn *c)
{
    int len;
    if (!bodies) {
        len = snprintf(c->req, sizeof c->req,
                       "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    } else {
        const char *b = bodies[c->next_body++ % n_bodies];
        len = snprintf(c->req, sizeof c->req,
                       "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: %zu\r\n\r\n%s", path, strlen(b), b);
    }
    if (len < 0 || (size_t)len >= sizeof c->req)
        fail("request too long");
    c->req_len = (size_t)len;
}

static void arm(struct worker *w, struct conn *c)
{
    struct epoll_event ev = { .events = c->want, .data.ptr = c };
    if (c->armed == c->want)
        return;
    if (epoll_ctl(w->ep, c->armed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) != 0)
        fail("epoll_ctl");
    c->armed = c->want;
}

/* The next request on c, or IDLE when the run is over. */
static void next(struct conn *c)
{
    if (atomic_load(&stop)
        || (limited && atomic_fetch_sub(&budget, 1) <= 0)) {
        c->state = IDLE;
        return;
    }
    make_request(c);
    c->req_off = 0;
    c->have = 0;
    c->retried = 0;
    c->t0 = now();
    c->state = SEND;
}

/* A failed exchange: once more on a new connection when a keep-alive
 * connection was closed before any byte of the answer (the server had
 * just closed it, as HTTP clients assume); else an error, and the next
 * request on a new connection. */
static void broken(struct worker *w, struct conn *c, int before_answer)
{
    int again = before_answer && c->served > 0 && !c->retried;
    disconnect(c);
    if (connect_one(c) != 0) {
        w->errors++;
        c->state = IDLE;
        return;
    }
    w->reconnects++;
    if (again) {
        c->retried = 1;
        c->req_off = 0;
        c->have = 0;
        c->state = SEND;
        return;
    }
    if (w->errors++ < 3)
        fprintf(stderr, "bench-load: a request failed\n");
    next(c);
}

/* Move c on as far as it goes without blocking. */
static void drive(struct worker *w, struct conn *c)
{
    while (c->state != IDLE) {
        if (c->state == SEND) {
            int r = nb_write(c);
            if (r < 0) {
                broken(w, c, 1);
                continue;
            }
            if (r == 0)
                break;
            c->state = RECV;
        } else {
            int status = 0, close_after = 0, p;
            ssize_t r = nb_read(c, c->buf + c->have, BUF_SIZE - 1 - c->have);
            if (r < 0) {
                broken(w, c, c->have == 0);
                continue;
            }
            if (r == 0)
                break;
            c->have += (size_t)r;
            p = parse(c, &status, &close_after);
            if (p < 0) {
                broken(w, c, 0);
                continue;
            }
            if (p == 0)
                continue;
            if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 65536;
                w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
                if (!w->lat)
                    fail("out of memory");
            }
            w->lat[w->n++] = (uint32_t)((now() - c->t0) * 1e6);
            if (status < 200 || status > 399)
                w->non2xx++;
            c->served++;
            if (close_after) {
                disconnect(c);
                if (connect_one(c) != 0) {
                    w->errors++;
                    c->state = IDLE;
                    break;
                }
                w->reconnects++;
            }
            next(c);
        }
    }
    if (c->state != IDLE && c->fd >= 0)
        arm(w, c);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[64];

    pthread_barrier_wait(&start_line);
    for (int i = 0; i < w->n_cs; i++) {
        next(&w->cs[i]);
        drive(w, &w->cs[i]);
    }
    for (;;) {
        int active = 0, n;
        for (int i = 0; i < w->n_cs; i++)
            active += w->cs[i].state != IDLE;
        if (!active || atomic_load(&stop))
            break;
        n = epoll_wait(w->ep, evs, 64, 50);
        for (int i = 0; i < n; i++)
            drive(w, evs[i].data.ptr);
    }
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void load_bodies(const char *file)
{
    FILE *f = fopen(file, "r");
    char line[4096];
    size_t cap = 0;
    if (!f)
        fail("cannot open the bodies file");
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (n_bodies == cap) {
            cap = cap ? cap * 2 : 256;
            bodies = realloc(bodies, cap * sizeof *bodies);
            if (!bodies)
                fail("out of memory");
        }
        bodies[n_bodies++] = strdup(line);
    }
    fclose(f);
    if (!n_bodies)
        fail("the bodies file is empty");
}

static void usage(void)
{
    fail("usage: bench-load -p PORT -u PATH [-b BODIES] [-c CONNS] "
         "[-d SECONDS | -n REQUESTS] [--cert F --key F --ca F]");
}

int main(int argc, char **argv)
{
    int conns = 32, threads = 2;
    double seconds = 5, t0, t1;
    long total = -1;
    const char *cert = NULL, *key = NULL, *ca = NULL;
    struct conn *cs;
    struct worker *ws;
    uint32_t *all;
    size_t n = 0;
    unsigned long non2xx = 0, errors = 0, reconnects = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "-p")) port = atoi(v);
        else if (!strcmp(a, "-u")) path = v;
        else if (!strcmp(a, "-b")) load_bodies(v);
        else if (!strcmp(a, "-c")) conns = atoi(v);
        else if (!strcmp(a, "-t")) threads = atoi(v);
        else if (!strcmp(a, "-d")) seconds = atof(v);
        else if (!strcmp(a, "-n")) total = atol(v);
        else if (!strcmp(a, "--cert")) cert = v;
        else if (!strcmp(a, "--key")) key = v;
        else if (!strcmp(a, "--ca")) ca = v;
        else usage();
        i++;
    }
    if (port <= 0 || port > 65535 || conns < 1 || conns > 1024
        || threads < 1 || threads > conns
        || seconds <= 0 || total == 0 || path[0] != '/')
        usage();
    if (cert || key || ca) {
        if (!cert || !key || !ca)
            fail("--cert, --key and --ca go together");
        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)
            || !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)
            || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1
            || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1
            || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
            ERR_print_errors_fp(stderr);
            fail("cannot set up TLS (certificate, key or CA)");
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    signal(SIGPIPE, SIG_IGN);
    limited = total > 0;
    atomic_store(&budget, total);

    cs = calloc((size_t)conns, sizeof *cs);
    ws = calloc((size_t)threads, sizeof *ws);
    if (!cs || !ws)
        fail("out of memory");
    for (int i = 0; i < conns; i++) {
        cs[i].fd = -1;
        cs[i].next_body = (size_t)i * 7919;
        if (connect_one(&cs[i]) != 0)
            fail("cannot connect (or no TLS handshake) to 127.0.0.1");
    }
    pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
    for (int i = 0, first = 0; i < threads; i++) {
        int k = conns / threads + (i < conns % threads);
        ws[i].cs = cs + first;
        ws[i].n_cs = k;
        first += k;
        ws[i].ep = epoll_create1(0);
        if (ws[i].ep < 0)
            fail("epoll_create1");
        if (pthread_create(&ws[i].th, NULL, run, &ws[i]) != 0)
            fail("cannot start a thread");
    }
    pthread_barrier_wait(&start_line);
    t0 = now();
    if (total < 0) {
        struct timespec ts = { (time_t)seconds,
                               (long)((seconds - (time_t)seconds) * 1e9) };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        atomic_store(&stop, 1);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(ws[i].th, NULL);
        n += ws[i].n;
    }
    t1 = now();
    all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        fail("out of memory");
    n = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + n, ws[i].lat, ws[i].n * sizeof *all);
        n += ws[i].n;
        non2xx += ws[i].non2xx;
        errors += ws[i].errors;
        reconnects += ws[i].reconnects;
    }
    for (int i = 0; i < conns; i++)
        disconnect(&cs[i]);
    qsort(all, n, sizeof *all, cmp_u32);
    printf("requests %zu\nseconds %.3f\nrps %.1f\n", n, t1 - t0,
           n / (t1 - t0));
    printf("p50_ms %.3f\np99_ms %.3f\n",
           n ? all[(n - 1) / 2] / 1000.0 : 0.0,
           n ? all[(size_t)((n - 1) * 0.99)] / 1000.0 : 0.0);
    /* the shape of the tail: a few long waits (a connection left
     * behind) or many a little longer */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += all[i];
    printf("p90_ms %.3f\np999_ms %.3f\nmax_ms %.3f\nmean_ms %.3f\n",
           n ? all[(size_t)((n - 1) * 0.9)] / 1000.0 : 0.0,
           n ? all[(size_t)((n - 1) * 0.999)] / 1000.0 : 0.0,
           n ? all[n - 1] / 1000.0 : 0.0, n ? sum / n / 1000.0 : 0.0);
    printf("non2xx %lu\nerrors %lu\nreconnects %lu\n", non2xx, errors,
           reconnects);
    return 0;
}
