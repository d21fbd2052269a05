/*
 * records_sample.c -- the month's official sample for assign and
 * finding, drawn by `sample` itself: cmd_sample() runs with --json into
 * a temporary file, and its lines are read back. So an assignment and a
 * finding always stand on exactly the sample anyone re-draws with the
 * log and the verifier key, and a change to the draw reaches them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include "print.h"
#include "records.h"

const char *person_key(const char *client, const char *op, apr_pool_t *p)
{
    return apr_pstrcat(p, client ? client : "", "\x1f", op ? op : "", NULL);
}

const char *person_text(const char *client, const char *op, apr_pool_t *p)
{
    return apr_pstrcat(p, client && *client ? client : "(no client)", " / ",
                       op && *op ? op : "(no operator)", NULL);
}

/* cmd_sample(--json) with stdout in @p f: its exit status. */
static int run_sample(const audit_args_t *a, FILE *f, apr_pool_t *p)
{
    audit_args_t b = *a;
    int saved, rc;

    b.as_json = 1;
    b.preview = 0;
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    if (saved < 0 || dup2(fileno(f), STDOUT_FILENO) < 0) {
        fprintf(stderr, PROG ": cannot draw the sample: %s\n",
                strerror(errno));
        if (saved >= 0) {
            close(saved);
        }
        return 1;
    }
    rc = cmd_sample(&b, p);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    clearerr(stdout);
    return rc;
}

/* One line of the sample's JSON into @p out. 0, or 1 when malformed. */
static int one_line(json_t *o, sline_t *out, apr_pool_t *p)
{
    json_t *seq = json_object_get(o, "seq"), *l;
    const char *text = rec_str(o, "line");
    json_error_t e;

    if (!json_is_integer(seq) || !text) {
        return 1;
    }
    l = json_loads(text, JSON_ALLOW_NUL, &e);
    if (!json_is_object(l)) {
        json_decref(l);
        return 1;
    }
    out->seq = (uint64_t)json_integer_value(seq);
    out->drawn = json_is_true(json_object_get(o, "drawn"));
    out->request_id = rec_str(l, "request_id")
                      ? apr_pstrdup(p, rec_str(l, "request_id")) : NULL;
    out->client = apr_pstrdup(p, rec_str(l, "client") ? rec_str(l, "client")
                                                      : "");
    out->op = apr_pstrdup(p, rec_str(l, "operator") ? rec_str(l, "operator")
                                                    : "");
    json_decref(l);
    return 0;
}

int records_sample(const audit_args_t *a, sample_lines_t *out,
                   apr_pool_t *p)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    json_error_t e;
    json_t *o;
    FILE *f = tmpfile();
    int rc, first = 1;

    memset(out, 0, sizeof(*out));
    out->lines = apr_array_make(p, 64, sizeof(sline_t));
    if (!f) {
        fprintf(stderr, PROG ": cannot draw the sample: no temporary "
                "file: %s\n", strerror(errno));
        return 1;
    }
    rc = run_sample(a, f, p);
    if (rc != 0) {
        fprintf(stderr, PROG ": no official sample of %s, so nothing can "
                "be assigned or found in it (see above)\n", a->month);
        fclose(f);
        return 1;
    }
    rewind(f);
    while (rc == 0 && (n = getline(&buf, &cap, f)) > 0) {
        o = json_loadb(buf, (size_t)n, 0, &e);
        if (!json_is_object(o)) {
            rc = 1;
        }
        else if (first) {
            json_t *cp = json_object_get(o, "checkpoint");
            first = 0;
            if (!json_is_true(json_object_get(o, "official"))) {
                rc = 1;
            }
            out->seed = rec_str(o, "seed")
                        ? apr_pstrdup(p, rec_str(o, "seed")) : "";
            out->cp_size = json_is_integer(json_object_get(cp, "size"))
                ? (uint64_t)json_integer_value(json_object_get(cp, "size"))
                : 0;
        }
        else {
            rc = one_line(o, apr_array_push(out->lines), p);
        }
        json_decref(o);
    }
    free(buf);
    fclose(f);
    if (rc != 0 || first) {
        fprintf(stderr, PROG ": the sample of %s could not be read back "
                "(not an official draw?)\n", a->month);
        return 1;
    }
    return 0;
}
