/*
 * mod_verify_credential.c -- how long a client's credential may serve:
 * the age limit of its certificate (R3.5 applied to machine credentials),
 * the warning before any limit falls due, and the day's notice.
 */
#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_config.h"
#include "mod_verify_credential.h"

/* The Taipei day each client was last noticed on, one word per register
 * line (verify_client_t.slot), shared by the children of a generation.
 * Shared, not per process: a notice per child would say it once for
 * every child prefork runs. One word per client: it cannot grow beyond
 * the register, and a compare-and-swap takes it without a lock. A
 * restart starts it anew (the slots follow the new register), so the
 * admin who reloads sees the pending limits once more. */
static apr_uint32_t *noticed;
static int noticed_count;

apr_status_t verify_credential_post_config(server_rec *s, apr_pool_t *pconf)
{
    int count = verify_config_client_count();
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    noticed = NULL;
    noticed_count = 0;
    if (count == 0) {
        return APR_SUCCESS;
    }
    rv = apr_shm_create(&shm, (apr_size_t)count * sizeof(apr_uint32_t),
                        NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, VERIFY_LOGNO(144)
                     "cannot create shared memory for the credential "
                     "notices");
        return rv;
    }
    noticed = apr_shm_baseaddr_get(shm);
    memset(noticed, 0, (apr_size_t)count * sizeof(apr_uint32_t));
    noticed_count = count;
    return APR_SUCCESS;
}

void verify_credential_limits(request_rec *r, const verify_client_t *cl,
                              const verify_cert_t *cert,
                              verify_limits_t *l)
{
    verify_limits_set(l, cert, verify_config_max_credential_age(r->server),
                      cl->valid_to);
}

const char *verify_credential_too_old(request_rec *r,
                                      const verify_limits_t *l)
{
    apr_time_t at = l->at[VERIFY_LIMIT_AGE];
    char ts[26];

    if (at == 0 || r->request_time < at) {
        return NULL;
    }
    verify_time_format_s(at, ts);
    return apr_psprintf(r->pool, "the client certificate is older than "
                        "the register allows (%s from its notBefore, "
                        "reached %s): rotate it",
                        verify_duration_format(
                            verify_config_max_credential_age(r->server),
                            r->pool), ts);
}

const char *verify_credential_warning(request_rec *r,
                                      const verify_client_t *cl,
                                      const verify_limits_t *l)
{
    unsigned bits = verify_limits_near(l, r->request_time,
                                       verify_config_credential_warn(
                                           r->server));
    apr_uint32_t today, last;
    const char *text;

    if (!bits) {
        return NULL;
    }
    text = verify_limits_format(l, bits, r->pool);
    if (!noticed || cl->slot >= noticed_count) {
        return text;        /* no register of this generation: no notice */
    }
    today = verify_date_taipei(r->request_time);
    last = apr_atomic_read32(&noticed[cl->slot]);
    /* one child wins the day; the others, and later requests, keep quiet */
    if (last == today
        || apr_atomic_cas32(&noticed[cl->slot], today, last) != last) {
        return text;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, VERIFY_LOGNO(141)
                  "client %s (%s) reaches a limit soon: %s; from then on "
                  "it is refused: %s", cl->name, cl->where, text,
                  !(bits & (1u << VERIFY_LIMIT_APPROVAL))
                  ? "rotate its certificate"
                  : bits == (1u << VERIFY_LIMIT_APPROVAL)
                  ? "renew its approval (valid=)"
                  : "rotate its certificate and renew its approval "
                    "(valid=)");
    return text;
}
