/*
 * line.c -- what an audit line says, as text to show.
 */
#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "tool.h"

const char *jstr(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

const char *member_text(json_t *j, const char *key, size_t *len,
                        apr_pool_t *p)
{
    json_t *v = json_object_get(j, key);
    char *d;
    const char *s;

    if (!v || json_is_null(v)) {
        *len = 0;
        return NULL;
    }
    if (json_is_string(v)) {
        *len = json_string_length(v);
        return json_string_value(v);
    }
    d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    s = apr_pstrdup(p, d ? d : "?");
    free(d);
    *len = strlen(s);
    return s;
}

const char *safe_subject(json_t *j, apr_pool_t *p)
{
    const char *s = jstr(j, "subject");
    size_t l = s ? json_string_length(json_object_get(j, "subject")) : 0;
    int i;

    if (!s) {
        return NULL;
    }
    if (l != VERIFY_ID_LEN || memcmp(s + 3, "*****", 5)) {
        return "*";
    }
    for (i = 0; i < VERIFY_ID_LEN; i++) {
        if ((i < 3 || i > 7) && !apr_isalnum(s[i])) {
            return "*";
        }
    }
    return apr_pstrndup(p, s, l);
}

const char *checks_text(json_t *j, apr_pool_t *p)
{
    json_t *c = json_object_get(j, "checks"), *v;
    const char *out = "";
    size_t i;

    if (!json_is_array(c) || json_array_size(c) == 0) {
        return NULL;
    }
    json_array_foreach(c, i, v) {
        const char *s = json_string_value(v);
        out = apr_pstrcat(p, out, i ? "," : "", s ? s : "?", NULL);
    }
    return out;
}

const char *ts_readable(const char *ts, apr_pool_t *p)
{
    char t[20];

    if (!ts || verify_time_readable(ts, t) != 0) {
        return ts;
    }
    return apr_pstrdup(p, t);
}

const char *line_ts(json_t *j, apr_pool_t *p)
{
    return ts_readable(jstr(j, "ts"), p);
}

const char *status_text(json_t *j, apr_pool_t *p)
{
    json_t *st = json_object_get(j, "status");
    const char *err = jstr(j, "error");

    return apr_psprintf(p, "%s%s%s", json_is_integer(st)
                        ? apr_psprintf(p, "%" APR_INT64_T_FMT,
                                       (apr_int64_t)json_integer_value(st))
                        : "?",
                        err ? " " : "", err ? err : "");
}

int is_query(json_t *j)
{
    const char *op = jstr(j, "op");

    return op && !strcmp(op, "verify");
}

int answered_line(json_t *j)
{
    json_t *st = json_object_get(j, "status");

    return json_is_integer(st) && json_integer_value(st) == 200;
}

void query_cells(json_t *j, const char **raw, size_t *len, apr_pool_t *p)
{
    static const char *const keys[QUERY_CELLS - 1] = {
        "request_id", "client", "operator", "case", "reason"
    };
    int c;

    for (c = 0; c < QUERY_CELLS - 1; c++) {
        raw[c] = member_text(j, keys[c], &len[c], p);
    }
    raw[c] = checks_text(j, p);
    len[c] = (size_t)-1;
}
