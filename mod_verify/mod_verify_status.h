/*
 * mod_verify_status.h -- counts for operations (mod_verify_status.c):
 * answers and refusals by code, checkpoints, and the module's section
 * of mod_status's server-status page.
 */
#ifndef MOD_VERIFY_STATUS_H
#define MOD_VERIFY_STATUS_H

#include "httpd.h"

/** post_config, in the parent: the counters, shared by every process
 * and kept for the parent's life (restarts included). */
apr_status_t verify_status_post_config(server_rec *s);

/** One /verify answer (@p answered) or refusal with @p error: one
 * atomic add, no lock. */
void verify_status_count(int answered, const char *error);

/** The parent signed a checkpoint of @p size lines. */
void verify_status_checkpoint(apr_uint64_t size);

/** register_hooks: the section of server-status (if mod_status is
 * loaded). */
void verify_status_register_hooks(void);

#endif /* MOD_VERIFY_STATUS_H */
