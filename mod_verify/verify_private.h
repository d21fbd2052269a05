/*
 * verify_private.h -- shared by the httpd glue only (never the tools).
 */
#ifndef VERIFY_PRIVATE_H
#define VERIFY_PRIVATE_H

#include "httpd.h"
#include "http_log.h"

/* The module's own message numbers; each used once, listed in
 * docs/log-messages.md. Never httpd's AH numbers. */
#define VERIFY_LOGNO(n) "VFY" #n ": "

/* mod_verify.c declares the module itself (AP_DECLARE_MODULE); any
 * other glue file gets the module's log index from here. */
#ifndef VERIFY_MODULE_MAIN
APLOG_USE_MODULE(verify);
#endif

#endif /* VERIFY_PRIVATE_H */
