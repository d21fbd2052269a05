/*
 * bench-load -- a closed-loop HTTP/1.1 keep-alive load generator for
 * `make bench`, over plain TCP or TLS 1.3 with a client certificate.
 *
 * Why not wrk or h2load: wrk does TLS but cannot present a client
 * certificate, and h2load (nghttp2-client) has no client-certificate
 * option either; the verify endpoint over TLS needs mutual TLS. One small
 * client for both transports also keeps the comparison HTTP/TLS fair.
 *
 * Design: one thread per connection, blocking I/O, one request in
 * flight per connection (as wrk without pipelining). Every connection is
 * opened (and its TLS handshake done) before the clock starts, so the
 * figures are those of keep-alive requests. The latency of each request
 * (send to the last byte of the answer) is kept, and p50/p99 come from
 * all of them sorted.
 *
 *   bench-load -p PORT -u PATH [-b BODIES] [-c CONNS] [-d SECONDS | -n N]
 *              [--cert F --key F --ca F]
 *
 * -b BODIES: a file of form bodies, one a line: each request POSTs the
 * next (application/x-www-form-urlencoded), rotating; without -b a GET.
 * --cert/--key/--ca: TLS 1.3 only, the client certificate presented and
 * the server's checked against the CA. -n N: stop after N requests in
 * all (instead of -d). Output, one "key value" a line: requests,
 * seconds, rps, p50_ms, p99_ms, non2xx, errors, reconnects.
 * Exit 1 on a usage error or when no connection can be made.
 */
#include <arpa/inet.h>
#include <errno.h>
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define BUF_SIZE 65536

struct conn {
    pthread_t th;
    int fd;
    SSL *ssl;
    uint32_t *lat;       /* microseconds, one per request */
    size_t n, cap;
    unsigned long non2xx, errors, reconnects;
    size_t next_body;
    unsigned long served;  /* answers on this connection so far */
    char buf[BUF_SIZE];
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
}

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
    return 0;
}

static int io_write(struct conn *c, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w;
        if (c->ssl) {
            size_t done = 0;
            if (SSL_write_ex(c->ssl, p, len, &done) != 1)
                return -1;
            w = (ssize_t)done;
        } else {
            w = write(c->fd, p, len);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static ssize_t io_read(struct conn *c, char *p, size_t len)
{
    if (c->ssl) {
        size_t got = 0;
        if (SSL_read_ex(c->ssl, p, len, &got) != 1)
            return -1;
        return (ssize_t)got;
    }
    for (;;) {
        ssize_t r = read(c->fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        return r <= 0 ? -1 : r;
    }
}

/* One request and its answer: 0, -1 when the connection failed, -2 when
 * it was closed before any byte of the answer (a keep-alive connection
 * the server had just closed: the request is sent again on a new one, as
 * HTTP clients do). *status gets the HTTP status, *close whether the
 * server closes. */
static int exchange(struct conn *c, const char *req, size_t req_len,
                    int *status, int *close_after)
{
    size_t have = 0, head_len = 0, body_len = 0;
    char *end = NULL;

    if (io_write(c, req, req_len) != 0)
        return -2;
    while (!end) {
        ssize_t r;
        if (have == BUF_SIZE - 1)
            return -1;
        r = io_read(c, c->buf + have, BUF_SIZE - 1 - have);
        if (r < 0)
            return have ? -1 : -2;
        have += (size_t)r;
        c->buf[have] = '\0';
        end = strstr(c->buf, "\r\n\r\n");
    }
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
    while (have < head_len + body_len) {
        size_t want = head_len + body_len - have;
        ssize_t r = io_read(c, c->buf, want < BUF_SIZE ? want : BUF_SIZE);
        if (r < 0)
            return -1;
        have += (size_t)r;
    }
    return 0;
}

static size_t make_request(struct conn *c, char *out, size_t cap)
{
    int len;
    if (!bodies) {
        len = snprintf(out, cap, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                       path);
    } else {
        const char *b = bodies[c->next_body++ % n_bodies];
        len = snprintf(out, cap,
                       "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: %zu\r\n\r\n%s", path, strlen(b), b);
    }
    if (len < 0 || (size_t)len >= cap)
        fail("request too long");
    return (size_t)len;
}

static void *run(void *arg)
{
    struct conn *c = arg;
    char req[8192];

    pthread_barrier_wait(&start_line);
    while (!atomic_load(&stop)) {
        int status = 0, close_after = 0, rc;
        size_t len;
        double t0;

        if (limited && atomic_fetch_sub(&budget, 1) <= 0)
            break;
        if (c->fd < 0) {
            if (connect_one(c) != 0) {
                c->errors++;
                usleep(10000);
                continue;
            }
            c->reconnects++;
        }
        len = make_request(c, req, sizeof req);
        t0 = now();
        rc = exchange(c, req, len, &status, &close_after);
        if (rc == -2 && c->served > 0) {
            /* closed while idle: once more on a new connection */
            disconnect(c);
            if (connect_one(c) == 0) {
                c->reconnects++;
                rc = exchange(c, req, len, &status, &close_after);
            }
        }
        if (rc != 0) {
            if (c->errors++ < 3)
                fprintf(stderr, "bench-load: a request failed (%s)\n",
                        rc == -2 ? "connection closed" : "broken answer");
            disconnect(c);
            c->served = 0;
            continue;
        }
        c->served++;
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 65536;
            c->lat = realloc(c->lat, c->cap * sizeof *c->lat);
            if (!c->lat)
                fail("out of memory");
        }
        c->lat[c->n++] = (uint32_t)((now() - t0) * 1e6);
        if (status < 200 || status > 399)
            c->non2xx++;
        if (close_after) {
            disconnect(c);
            c->served = 0;
        }
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
    int conns = 32;
    double seconds = 5, t0, t1;
    long total = -1;
    const char *cert = NULL, *key = NULL, *ca = NULL;
    struct conn *cs;
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
        else if (!strcmp(a, "-d")) seconds = atof(v);
        else if (!strcmp(a, "-n")) total = atol(v);
        else if (!strcmp(a, "--cert")) cert = v;
        else if (!strcmp(a, "--key")) key = v;
        else if (!strcmp(a, "--ca")) ca = v;
        else usage();
        i++;
    }
    if (port <= 0 || port > 65535 || conns < 1 || conns > 1024
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
    if (!cs)
        fail("out of memory");
    pthread_barrier_init(&start_line, NULL, (unsigned)conns + 1);
    for (int i = 0; i < conns; i++) {
        cs[i].fd = -1;
        cs[i].next_body = (size_t)i * 7919;
        if (connect_one(&cs[i]) != 0)
            fail("cannot connect (or no TLS handshake) to 127.0.0.1");
        if (pthread_create(&cs[i].th, NULL, run, &cs[i]) != 0)
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
    for (int i = 0; i < conns; i++) {
        pthread_join(cs[i].th, NULL);
        n += cs[i].n;
    }
    t1 = now();
    all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        fail("out of memory");
    n = 0;
    for (int i = 0; i < conns; i++) {
        memcpy(all + n, cs[i].lat, cs[i].n * sizeof *all);
        n += cs[i].n;
        non2xx += cs[i].non2xx;
        errors += cs[i].errors;
        reconnects += cs[i].reconnects;
        disconnect(&cs[i]);
    }
    qsort(all, n, sizeof *all, cmp_u32);
    printf("requests %zu\nseconds %.3f\nrps %.1f\n", n, t1 - t0,
           n / (t1 - t0));
    printf("p50_ms %.3f\np99_ms %.3f\n",
           n ? all[(n - 1) / 2] / 1000.0 : 0.0,
           n ? all[(size_t)((n - 1) * 0.99)] / 1000.0 : 0.0);
    printf("non2xx %lu\nerrors %lu\nreconnects %lu\n", non2xx, errors,
           reconnects);
    return 0;
}
