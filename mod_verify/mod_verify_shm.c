/*
 * mod_verify_shm.c -- shared memory made once in the parent's life: in
 * its process pool, found again by key at every restart, so that what it
 * counts is neither lost nor said again.
 */
#include <string.h>
#include <apr_pools.h>
#include "mod_verify_shm.h"

apr_status_t verify_shm_lifelong(server_rec *s, const char *key,
                                 apr_size_t size, void **out, int *fresh)
{
    apr_pool_t *pproc = s->process->pool;
    apr_shm_t *shm = NULL;
    void *data = NULL;
    apr_status_t rv;

    if (fresh) {
        *fresh = 0;
    }
    apr_pool_userdata_get(&data, key, pproc);
    if (data) {
        *out = data;
        return APR_SUCCESS;
    }
    rv = apr_shm_create(&shm, size, NULL, pproc);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    data = apr_shm_baseaddr_get(shm);
    memset(data, 0, size);
    apr_pool_userdata_set(data, key, apr_pool_cleanup_null, pproc);
    *out = data;
    if (fresh) {
        *fresh = 1;
    }
    return APR_SUCCESS;
}
