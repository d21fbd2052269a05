/*
 * mod_verify_shm.h -- shared memory made once in the parent's life
 * (mod_verify_shm.c), for what must outlive a graceful restart: the
 * status counts, the audit volume's level.
 */
#ifndef MOD_VERIFY_SHM_H
#define MOD_VERIFY_SHM_H

#include <httpd.h>
#include <apr_shm.h>

/**
 * The segment of @p size bytes kept under @p key in the process pool of
 * @p s (made by an earlier start of this parent), or a new zeroed one
 * kept there. *fresh (may be NULL) is 1 when it is new.
 * @return APR_SUCCESS, or apr_shm_create()'s error (the caller says it)
 */
apr_status_t verify_shm_lifelong(server_rec *s, const char *key,
                                 apr_size_t size, void **out, int *fresh);

#endif /* MOD_VERIFY_SHM_H */
