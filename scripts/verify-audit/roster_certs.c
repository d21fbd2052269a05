/*
 * roster_certs.c -- roster --certs DIR: the clients' certificates, so
 * that the register's fingerprints (cert-sha256=) can be shown with the
 * day each certificate expires.
 */
#include <stdio.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include "print.h"
#include "roster.h"

/* A certificate file is at most this large. */
#define CERT_MAX (64 * 1024)

static int cert_name(const char *name)
{
    size_t n = strlen(name);

    return (n > 4 && (!strcmp(name + n - 4, ".pem")
                      || !strcmp(name + n - 4, ".crt")));
}

int roster_certs_load(roster_reg_t *g, apr_pool_t *p)
{
    apr_dir_t *dir = NULL;
    apr_finfo_t fi;
    apr_status_t rv;
    int rc = 1;

    g->certs = apr_hash_make(p);
    rv = apr_dir_open(&dir, g->certs_dir, p);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, PROG ": --certs %s: cannot open: %s\n",
                safe_str(p, g->certs_dir),
                apr_psprintf(p, "%pm", &rv));
        return 1;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir)
           == APR_SUCCESS) {
        const char *path, *why;
        verify_cert_t *c;
        char *buf;
        size_t len;

        if (fi.filetype != APR_REG || !cert_name(fi.name)) {
            continue;
        }
        path = apr_pstrcat(p, g->certs_dir, "/", fi.name, NULL);
        why = read_small(path, CERT_MAX, &buf, &len, p);
        c = apr_pcalloc(p, sizeof(*c));
        if (!why && (strlen(buf) != len || verify_cert_read_pem(c, buf))) {
            why = apr_pstrcat(p, path, ": not a PEM certificate", NULL);
        }
        if (why) {
            fprintf(stderr, PROG ": --certs: %s\n", safe_str(p, why));
            goto cleanup;
        }
        apr_hash_set(g->certs, c->fpr, 32, c);
    }
    rc = 0;

cleanup:
    apr_dir_close(dir);
    return rc;
}

const char *roster_cert_expiry(const roster_reg_t *g,
                               const verify_client_t *cl, apr_pool_t *p)
{
    const char *out = NULL, *one;
    int i;

    if (cl->certs->nelts == 0) {
        return "none (bound to its address)";
    }
    if (!g->certs) {
        return "not known (--certs DIR)";
    }
    for (i = 0; i < cl->certs->nelts; i++) {
        const unsigned char *fpr = (const unsigned char *)cl->certs->elts
                                   + 32 * (size_t)i;
        const verify_cert_t *c = apr_hash_get(g->certs, fpr, 32);
        char day[11];
        verify_date_t d;
        long left;

        if (!c || !c->not_after) {
            one = c ? "unreadable" : "not in --certs";
        }
        else {
            d = verify_date_taipei(c->not_after);
            verify_date_format(d, day);
            left = (long)((c->not_after - verify_date_start_taipei(g->today))
                          / apr_time_from_sec(86400));
            one = c->not_after <= verify_date_start_taipei(g->today)
                  ? apr_pstrcat(p, day, " (expired)", NULL)
                  : left <= 30 ? apr_psprintf(p, "%s (in %ld day%s)", day,
                                              left, left == 1 ? "" : "s")
                  : apr_pstrdup(p, day);
        }
        out = out ? apr_pstrcat(p, out, ", ", one, NULL) : one;
    }
    return out;
}
