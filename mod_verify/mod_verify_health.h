/*
 * mod_verify_health.h -- SetHandler verify-health (mod_verify_health.c):
 * a load balancer's check of the store, the audit volume and the data's
 * age.
 */
#ifndef MOD_VERIFY_HEALTH_H
#define MOD_VERIFY_HEALTH_H

#include "httpd.h"

#define VERIFY_HEALTH_HANDLER "verify-health"

/** The handler hook: GET or HEAD, 200 or 503 with a JSON body. */
int verify_health_handler(request_rec *r);

#endif /* MOD_VERIFY_HEALTH_H */
