/*
 * mod_verify_location.c -- which URLs are the handler's.
 *
 * A request for the handler names no file, so translate_name marks it
 * and map_to_storage skips the filesystem walk (a stat and an .htaccess
 * probe per directory level), as mod_proxy does for its URLs. At
 * translate_name only the first <Location> walk has run and core sets
 * r->handler much later (fixups); core's merged settings are private.
 * So the module keeps its own picture of the <Location> sections: in
 * post_config it walks the parsed configuration tree (ap_conftree, as
 * mod_info does) and notes, per server, every <Location> section and
 * every server-level SetHandler, with the handler expression each sets.
 * At translate_name the last matching section decides, as core's merge
 * would; what follows the longest plain <Location> path whose handler
 * is ours is extra path (answered 404).
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_expr.h"
#include "ap_regex.h"
#include <apr_fnmatch.h>
#include <apr_strings.h>

#include "verify_private.h"
#include "mod_verify_handler.h"
#include "mod_verify_location.h"

#define MARK "verify:"

/* A <Location> section (or server-level default) that sets a handler. */
typedef struct section_t {
    const char *path;               /* plain or wildcard path; NULL: all */
    ap_regex_t *regex;              /* <Location ~>, <LocationMatch> */
    int fnmatch;                    /* path has wildcards */
    ap_expr_info_t *handler;        /* its SetHandler */
} section_t;

/* What one server knows: its default handler and its sections, main
 * server's first (core appends a virtual host's to the main server's). */
typedef struct server_sections_t {
    server_rec *s;
    ap_expr_info_t *handler;        /* server-level SetHandler, or NULL */
    apr_array_header_t *sections;   /* section_t, in configuration order */
} server_sections_t;

static apr_array_header_t *servers;     /* server_sections_t *, per pconf */

/* SetHandler's argument, parsed as core parses it: a string expression. */
static ap_expr_info_t *handler_expr(const ap_directive_t *d,
                                    apr_pool_t *pconf, apr_pool_t *ptemp)
{
    ap_expr_info_t *info = apr_pcalloc(pconf, sizeof(*info));
    const char *args = d->args;
    const char *arg = ap_getword_conf(ptemp, &args);

    info->filename = d->filename;
    info->line_number = d->line_num;
    info->module_index = APLOG_MODULE_INDEX;
    info->flags = AP_EXPR_FLAG_STRING_RESULT;
    return ap_expr_parse(pconf, ptemp, info, arg, NULL) ? NULL : info;
}

/* The last SetHandler among a section's own directives. */
static ap_expr_info_t *section_handler(const ap_directive_t *child,
                                       apr_pool_t *pconf, apr_pool_t *ptemp)
{
    ap_expr_info_t *h = NULL;

    for (; child; child = child->next) {
        if (!strcasecmp(child->directive, "SetHandler")) {
            h = handler_expr(child, pconf, ptemp);
        }
    }
    return h;
}

/* A <Location …> or <LocationMatch …> node, its arguments read as
 * core's section handler reads them. */
static void add_section(apr_array_header_t *out, const ap_directive_t *d,
                        apr_pool_t *pconf, apr_pool_t *ptemp)
{
    const char *end = strrchr(d->args, '>');
    const char *args = end ? apr_pstrmemdup(ptemp, d->args, end - d->args)
                           : d->args;
    int is_match = !strcasecmp(d->directive, "<LocationMatch");
    ap_expr_info_t *h = section_handler(d->first_child, pconf, ptemp);
    section_t *sec;

    if (!h) {
        return;
    }
    sec = apr_array_push(out);
    memset(sec, 0, sizeof(*sec));
    sec->handler = h;
    sec->path = ap_getword_conf(pconf, &args);
    if (!strcmp(sec->path, "~")) {
        sec->path = ap_getword_conf(pconf, &args);
        is_match = 1;
    }
    if (is_match) {
        sec->regex = ap_pregcomp(pconf, sec->path, AP_REG_EXTENDED);
    }
    else {
        sec->fnmatch = apr_fnmatch_test(sec->path);
    }
}

/* The server a <VirtualHost> node made: the one defined at its line. */
static server_rec *vhost_of(const ap_directive_t *d, server_rec *main_s)
{
    server_rec *v;

    for (v = main_s->next; v; v = v->next) {
        if (v->defn_name && !strcmp(v->defn_name, d->filename)
            && v->defn_line_number == (unsigned)d->line_num) {
            return v;
        }
    }
    return NULL;
}

static server_sections_t *add_server(server_rec *s, apr_pool_t *pconf)
{
    server_sections_t *ss = apr_pcalloc(pconf, sizeof(*ss));

    ss->s = s;
    ss->sections = apr_array_make(pconf, 4, sizeof(section_t));
    APR_ARRAY_PUSH(servers, server_sections_t *) = ss;
    return ss;
}

/* One level of the tree: a server's own directives. */
static void walk(server_sections_t *ss, const ap_directive_t *d,
                 server_rec *main_s, apr_pool_t *pconf, apr_pool_t *ptemp)
{
    server_rec *v;

    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "SetHandler")) {
            ss->handler = handler_expr(d, pconf, ptemp);
        }
        else if (!strcasecmp(d->directive, "<Location")
                 || !strcasecmp(d->directive, "<LocationMatch")) {
            add_section(ss->sections, d, pconf, ptemp);
        }
        else if (!strcasecmp(d->directive, "<VirtualHost")
                 && (v = vhost_of(d, main_s)) != NULL) {
            walk(add_server(v, pconf), d->first_child, main_s, pconf,
                 ptemp);
        }
    }
}

apr_status_t verify_location_post_config(server_rec *s, apr_pool_t *pconf,
                                         apr_pool_t *ptemp)
{
    server_sections_t *main_ss, *vs;
    apr_array_header_t *own;
    int i;

    servers = apr_array_make(pconf, 4, sizeof(server_sections_t *));
    main_ss = add_server(s, pconf);
    walk(main_ss, ap_conftree, s, pconf, ptemp);
    /* as core merges: a virtual host sees the main server's sections
     * before its own, and the main server's handler unless it has one */
    for (i = 1; i < servers->nelts; i++) {
        vs = APR_ARRAY_IDX(servers, i, server_sections_t *);
        own = vs->sections;
        vs->sections = apr_array_append(pconf, main_ss->sections, own);
        if (!vs->handler) {
            vs->handler = main_ss->handler;
        }
    }
    return APR_SUCCESS;
}

static const server_sections_t *sections_of(server_rec *s)
{
    int i;

    for (i = servers ? servers->nelts - 1 : -1; i >= 0; i--) {
        const server_sections_t *ss = APR_ARRAY_IDX(servers, i,
                                                    server_sections_t *);
        if (ss->s == s || i == 0) {
            return ss;
        }
    }
    return NULL;
}

/* Does @p sec apply to @p uri? As core's <Location> walk decides. */
static int section_matches(const section_t *sec, const char *uri)
{
    size_t len;

    if (sec->regex) {
        return !ap_regexec(sec->regex, uri, 0, NULL, 0);
    }
    if (sec->fnmatch) {
        return apr_fnmatch(sec->path, uri, APR_FNM_PATHNAME) == APR_SUCCESS;
    }
    len = strlen(sec->path);
    return !strncmp(sec->path, uri, len)
           && (len == 0 || sec->path[len - 1] == '/' || uri[len] == '/'
               || uri[len] == '\0');
}

static int is_ours(request_rec *r, const ap_expr_info_t *h)
{
    const char *err = NULL;
    const char *name = h ? ap_expr_str_exec(r, h, &err) : NULL;

    return name && !strcmp(name, VERIFY_HANDLER);
}

int verify_location_translate(request_rec *r)
{
    const server_sections_t *ss = sections_of(r->server);
    const ap_expr_info_t *h;
    const section_t *sec;
    size_t n, best = 0;
    int i;

    if (!ss) {
        return DECLINED;
    }
    h = ss->handler;
    for (i = 0; i < ss->sections->nelts; i++) {
        sec = &APR_ARRAY_IDX(ss->sections, i, section_t);
        if (section_matches(sec, r->uri)) {
            h = sec->handler;
        }
    }
    if (!is_ours(r, h)) {
        return DECLINED;
    }
    r->filename = apr_pstrcat(r->pool, MARK, r->uri, NULL);
    /* the extra path: after the longest plain path set to our handler */
    for (i = 0; i < ss->sections->nelts; i++) {
        sec = &APR_ARRAY_IDX(ss->sections, i, section_t);
        n = strlen(sec->path);
        if (!sec->regex && n > best && !strncmp(r->uri, sec->path, n)
            && is_ours(r, sec->handler)) {
            best = n;
        }
    }
    if (best && r->uri[best]) {
        r->path_info = apr_pstrdup(r->pool, r->uri + best);
    }
    return OK;
}

int verify_location_map_to_storage(request_rec *r)
{
    return r->filename && !strncmp(r->filename, MARK, sizeof(MARK) - 1)
           ? OK : DECLINED;
}
