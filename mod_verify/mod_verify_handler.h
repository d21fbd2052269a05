/*
 * mod_verify_handler.h -- the /verify handler (mod_verify_handler.c).
 */
#ifndef MOD_VERIFY_HANDLER_H
#define MOD_VERIFY_HANDLER_H

#include "httpd.h"

/** The handler name of SetHandler. */
#define VERIFY_HANDLER "verify"

/** handler hook: answers SetHandler verify. */
int verify_handler(request_rec *r);

#endif /* MOD_VERIFY_HANDLER_H */
