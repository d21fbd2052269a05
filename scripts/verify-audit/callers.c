/*
 * callers.c -- who queried from where: the rows roster and ip-review
 * count, keyed by client (as bytes: a client name may hold anything).
 */
#include <string.h>
#include <apr_strings.h>
#include "tool.h"

bstr_t member_bytes(json_t *j, const char *key, apr_pool_t *p)
{
    bstr_t b;

    b.s = member_text(j, key, &b.len, p);
    if (b.s) {
        b.s = apr_pstrmemdup(p, b.s, b.len);
    }
    return b;
}

const char *key2(bstr_t a, const char *b, size_t blen, apr_size_t *klen,
                 apr_pool_t *p)
{
    char *k;
    const char *pre = a.s ? apr_psprintf(p, "s%" APR_SIZE_T_FMT ":", a.len)
                      : "n:";
    size_t pl = strlen(pre);

    *klen = pl + (a.s ? a.len : 0) + 1 + (b ? blen : 0);
    k = apr_palloc(p, *klen);
    memcpy(k, pre, pl);
    if (a.s) {
        memcpy(k + pl, a.s, a.len);
    }
    k[pl + (a.s ? a.len : 0)] = b ? 's' : 'n';
    if (b) {
        memcpy(k + pl + (a.s ? a.len : 0) + 1, b, blen);
    }
    return k;
}

int cmp_bstr(bstr_t a, bstr_t b)
{
    size_t l = a.len < b.len ? a.len : b.len;
    int c;

    if (!a.s || !b.s) {
        return (a.s != NULL) - (b.s != NULL);
    }
    c = memcmp(a.s, b.s, l);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

iprow_t *ip_row(apr_hash_t *h, bstr_t client, const char *ip,
                apr_pool_t *p)
{
    apr_size_t kl;
    const char *k = key2(client, ip, strlen(ip), &kl, p);
    iprow_t *r = apr_hash_get(h, k, kl);

    if (!r) {
        r = apr_pcalloc(p, sizeof(*r));
        r->client = client;
        r->ip = apr_pstrdup(p, ip);
        apr_hash_set(h, k, kl, r);
    }
    return r;
}

int cmp_iprow(const void *a, const void *b)
{
    const iprow_t *x = *(const iprow_t *const *)a;
    const iprow_t *y = *(const iprow_t *const *)b;
    int c = cmp_bstr(x->client, y->client);

    return c ? c : strcmp(x->ip, y->ip);
}

void copy_ts(char out[33], const char *ts)
{
    apr_cpystrn(out, ts ? ts : "", 33);
}

void client_cell(bstr_t client, const char **raw, size_t *len)
{
    *raw = client.s ? client.s : NO_CLIENT;
    *len = client.s ? client.len : (size_t)-1;
}

const char *row_ts(const char *ts, apr_pool_t *p)
{
    return *ts ? ts_readable(ts, p) : NULL;
}
