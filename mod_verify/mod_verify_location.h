/*
 * mod_verify_location.h -- which URLs are the handler's
 * (mod_verify_location.c), learnt from the configuration the admin
 * wrote, so that a request for the handler skips the filesystem walk.
 */
#ifndef MOD_VERIFY_LOCATION_H
#define MOD_VERIFY_LOCATION_H

#include "httpd.h"

/** post_config: note every server's <Location> sections that set a
 * handler, from the parsed configuration tree. */
apr_status_t verify_location_post_config(server_rec *s, apr_pool_t *pconf,
                                         apr_pool_t *ptemp);

/** translate_name: mark a request whose handler will be ours and set
 * its extra path; DECLINED for any other. */
int verify_location_translate(request_rec *r);

/** map_to_storage: OK (no filesystem walk) for a marked request. */
int verify_location_map_to_storage(request_rec *r);

#endif /* MOD_VERIFY_LOCATION_H */
