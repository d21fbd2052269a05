/*
 * verify_flags_conf.c -- the thresholds of the anomaly flags (R5.2):
 * their defaults, the `--flags FILE` format (parsed strictly, printed
 * back by --print-flag-defaults) and the words each flag's rule is
 * given in.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "verify_flags.h"
#include "verify_text.h"

/* Counts a threshold may take at the most. */
#define COUNT_MAX 1000000
/* Microseconds in a second. */
#define US 1000000

/* -- the thresholds ------------------------------------------------- */

typedef enum { T_ONOFF, T_COUNT, T_SECONDS, T_PERCENT, T_DAYS, T_HOURS } stype_t;

typedef struct setting_t {
    const char *name;
    stype_t type;
    size_t off;                 /* of its field in verify_flags_conf_t */
    const char *comment;        /* before it in the file, or NULL */
} setting_t;

#define F(m) offsetof(verify_flags_conf_t, m)

static const setting_t settings[] = {
    { "off_hours", T_ONOFF, F(off_hours),
      "off_hours: a query outside the office days and hours (Taipei\n"
      "# time). Public holidays are not known here: a query on one that\n"
      "# falls on an office day is not flagged." },
    { "office_days", T_DAYS, F(office_days), NULL },
    { "office_hours", T_HOURS, F(office_start), NULL },
    { "burst_queries", T_COUNT, F(burst_queries),
      "burst: more than burst_queries queries by one client+operator\n"
      "# within burst_seconds (0 or off: no burst flag)." },
    { "burst_seconds", T_SECONDS, F(burst_seconds), NULL },
    { "day_subjects", T_COUNT, F(day_subjects),
      "many_subjects: one client+operator querying more than this many\n"
      "# distinct people (subject_tag) in one Taipei day." },
    { "subject_clients", T_COUNT, F(subject_clients),
      "many_clients: one person (subject_tag) queried by more than this\n"
      "# many distinct client systems in the month." },
    { "not_found_run", T_COUNT, F(not_found_run),
      "not_found_run: more than this many answers in a row to one\n"
      "# client+operator about nobody in the data (every result false,\n"
      "# or not_found), with no one found between them (someone trying\n"
      "# ID numbers)." },
    { "identity_mismatch", T_ONOFF, F(identity_mismatch),
      "identity_mismatch: an answer whose identity_match is false (the\n"
      "# name or birth date sent is not the person's)." },
    { "reason_share", T_PERCENT, F(reason_share),
      "reason_reuse: one client+operator giving one reason text in at\n"
      "# least reason_share % of its queries of the month, once it made\n"
      "# at least reason_min of them (the first such query is flagged)." },
    { "reason_min", T_COUNT, F(reason_min), NULL },
    { "new_operator", T_ONOFF, F(new_operator),
      "new_operator: the first query of the month by a client+operator\n"
      "# that made none in the lines read before the month (give the\n"
      "# earlier months' files too, or every operator is new)." },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static const char *const day_names[7] = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

void verify_flags_conf_default(verify_flags_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->off_hours = 1;
    c->office_days = 0x3e;              /* mon-fri */
    c->office_start = 8 * 60;
    c->office_end = 18 * 60;
    c->burst_queries = 30;
    c->burst_seconds = 60;
    c->day_subjects = 100;
    c->subject_clients = 3;
    c->not_found_run = 5;
    c->identity_mismatch = 1;
    c->reason_share = 95;
    c->reason_min = 50;
    c->new_operator = 1;
}

/* Monday first, as people write ranges. */
static int day_index(const char *s, size_t len)
{
    int d;

    for (d = 0; d < 7; d++) {
        if (len == 3 && !strncasecmp(s, day_names[(d + 1) % 7], 3)) {
            return d;
        }
    }
    return -1;
}

static const char *parse_days(const char *v, unsigned *out)
{
    const char *s = v, *comma, *dash;
    unsigned bits = 0;
    int a, b, d;

    for (;;) {
        comma = strchr(s, ',');
        if (!comma) {
            comma = s + strlen(s);
        }
        dash = memchr(s, '-', (size_t)(comma - s));
        a = day_index(s, (size_t)((dash ? dash : comma) - s));
        b = dash ? day_index(dash + 1, (size_t)(comma - dash - 1)) : a;
        if (a < 0 || b < 0 || b < a) {
            return "office_days is days as mon,tue,... or ranges such as "
                   "mon-fri (Monday first)";
        }
        for (d = a; d <= b; d++) {
            bits |= 1u << ((d + 1) % 7);
        }
        if (!*comma) {
            break;
        }
        s = comma + 1;
    }
    *out = bits;
    return NULL;
}

static int hhmm(const char *s, unsigned *min)
{
    if (!apr_isdigit(s[0]) || !apr_isdigit(s[1]) || s[2] != ':'
        || !apr_isdigit(s[3]) || !apr_isdigit(s[4])) {
        return -1;
    }
    *min = (unsigned)((s[0] - '0') * 600 + (s[1] - '0') * 60
                      + (s[3] - '0') * 10 + (s[4] - '0'));
    return (s[0] - '0') * 10 + (s[1] - '0') > 24
           || (s[3] - '0') > 5 || *min > 24 * 60 ? -1 : 0;
}

static const char *parse_hours(const char *v, verify_flags_conf_t *c)
{
    unsigned a, b;

    if (strlen(v) != 11 || v[5] != '-' || hhmm(v, &a) || hhmm(v + 6, &b)
        || a >= b) {
        return "office_hours is HH:MM-HH:MM, the start before the end "
               "(e.g. 08:00-18:00)";
    }
    c->office_start = a;
    c->office_end = b;
    return NULL;
}

static const char *parse_number(const setting_t *st, const char *v,
                                unsigned *out)
{
    unsigned long n = 0;
    const char *d;

    if (!strcasecmp(v, "off") && st->type != T_SECONDS) {
        *out = 0;
        return NULL;
    }
    for (d = v; *d >= '0' && *d <= '9' && n <= COUNT_MAX; d++) {
        n = n * 10 + (unsigned long)(*d - '0');
    }
    if (d == v || *d || n > COUNT_MAX) {
        return "a whole number is expected";
    }
    if (st->type == T_PERCENT && n > 100) {
        return "a percentage from 0 to 100 is expected";
    }
    if (st->type == T_SECONDS && (n == 0 || n > 86400)) {
        return "seconds from 1 to 86400 are expected";
    }
    *out = (unsigned)n;
    return NULL;
}

static const char *set_one(verify_flags_conf_t *c, const setting_t *st,
                           const char *v)
{
    int *flag = (int *)((char *)c + st->off);
    unsigned *num = (unsigned *)((char *)c + st->off);

    switch (st->type) {
    case T_ONOFF:
        if (!strcasecmp(v, "on") || !strcmp(v, "1")) {
            *flag = 1;
        }
        else if (!strcasecmp(v, "off") || !strcmp(v, "0")) {
            *flag = 0;
        }
        else {
            return "on or off is expected";
        }
        return NULL;
    case T_DAYS:
        return parse_days(v, num);
    case T_HOURS:
        return parse_hours(v, c);
    default:
        return parse_number(st, v, num);
    }
}

static char *trim(char *s, char *end)
{
    while (s < end && apr_isspace(*s)) {
        s++;
    }
    while (end > s && apr_isspace(end[-1])) {
        end--;
    }
    *end = '\0';
    return s;
}

apr_status_t verify_flags_conf_parse(verify_flags_conf_t *c,
                                     const char *text, size_t len,
                                     char **err, apr_pool_t *p)
{
    char *buf = apr_pstrmemdup(p, text, len), *line, *next, *eq, *hash;
    char *name, *value;
    int seen[NSETTINGS];
    const char *why;
    size_t i;
    int lno = 0;

    memset(seen, 0, sizeof(seen));
    if (memchr(text, '\0', len)) {
        *err = apr_pstrdup(p, "a thresholds file holds text, not NUL bytes");
        return APR_EINVAL;
    }
    for (line = buf; line && *line; line = next) {
        lno++;
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        }
        hash = strchr(line, '#');
        if (hash) {
            *hash = '\0';
        }
        line = trim(line, line + strlen(line));
        if (!*line) {
            continue;
        }
        eq = strchr(line, '=');
        if (!eq) {
            *err = apr_psprintf(p, "line %d: \"name = value\" expected",
                                lno);
            return APR_EINVAL;
        }
        name = trim(line, eq);
        value = trim(eq + 1, eq + 1 + strlen(eq + 1));
        for (i = 0; i < NSETTINGS && strcmp(settings[i].name, name); i++) {
        }
        if (i == NSETTINGS) {
            *err = apr_psprintf(p, "line %d: no setting is named \"%s\" "
                                "(--print-flag-defaults lists them)", lno,
                                name);
            return APR_EINVAL;
        }
        if (seen[i]++) {
            *err = apr_psprintf(p, "line %d: %s is set twice", lno, name);
            return APR_EINVAL;
        }
        why = set_one(c, &settings[i], value);
        if (why) {
            *err = apr_psprintf(p, "line %d: %s = %s: %s", lno, name, value,
                                why);
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

static const char *days_text(unsigned bits, apr_pool_t *p)
{
    const char *out = "";
    int d = 0, e;

    while (d < 7) {
        if (!(bits & (1u << ((d + 1) % 7)))) {
            d++;
            continue;
        }
        for (e = d; e + 1 < 7 && (bits & (1u << ((e + 2) % 7))); e++) {
        }
        out = apr_pstrcat(p, out, *out ? "," : "", day_names[(d + 1) % 7],
                          e > d ? "-" : "", e > d ? day_names[(e + 1) % 7]
                                                  : "", NULL);
        d = e + 1;
    }
    return out;
}

static const char *setting_value(const verify_flags_conf_t *c,
                                 const setting_t *st, apr_pool_t *p)
{
    const int *flag = (const int *)((const char *)c + st->off);
    const unsigned *num = (const unsigned *)((const char *)c + st->off);

    switch (st->type) {
    case T_ONOFF:
        return *flag ? "on" : "off";
    case T_DAYS:
        return days_text(*num, p);
    case T_HOURS:
        return apr_psprintf(p, "%02u:%02u-%02u:%02u", c->office_start / 60,
                            c->office_start % 60, c->office_end / 60,
                            c->office_end % 60);
    default:
        return apr_psprintf(p, "%u", *num);
    }
}

char *verify_flags_conf_format(const verify_flags_conf_t *c, apr_pool_t *p)
{
    char *out = apr_pstrdup(p,
        "# Thresholds of the anomaly flags of `verify-audit sample` (R5.2),\n"
        "# for --flags FILE. \"name = value\" lines; '#' starts a comment.\n"
        "# A name left out keeps its built-in value; these are the\n"
        "# built-in values (`verify-audit sample --print-flag-defaults`).\n"
        "# Flags look at queries from known clients (unknown_client\n"
        "# refusals are counted apart); a flagged line always joins the\n"
        "# sample, on top of the random draw.\n");
    size_t i;

    for (i = 0; i < NSETTINGS; i++) {
        if (settings[i].comment) {
            out = apr_pstrcat(p, out, "\n# ", settings[i].comment, "\n",
                              NULL);
        }
        out = apr_pstrcat(p, out, settings[i].name, " = ",
                          setting_value(c, &settings[i], p), "\n", NULL);
    }
    return out;
}

const char *verify_flag_name(verify_flag_kind_t kind)
{
    static const char *const names[VERIFY_FLAG_KINDS] = {
        "off_hours", "burst", "many_subjects", "many_clients",
        "not_found_run", "identity_mismatch", "reason_reuse",
        "new_operator"
    };

    return kind < VERIFY_FLAG_KINDS ? names[kind] : "?";
}

const char *verify_flags_rule(const verify_flags_conf_t *c,
                              verify_flag_kind_t kind, apr_pool_t *p)
{
    switch (kind) {
    case VERIFY_FLAG_OFF_HOURS:
        return c->off_hours ? apr_psprintf(p, "a query outside %s "
                   "%02u:%02u-%02u:%02u (Taipei)",
                   days_text(c->office_days, p), c->office_start / 60,
                   c->office_start % 60, c->office_end / 60,
                   c->office_end % 60) : NULL;
    case VERIFY_FLAG_BURST:
        return c->burst_queries ? apr_psprintf(p, "more than %u queries "
                   "by one client+operator within %u s", c->burst_queries,
                   c->burst_seconds) : NULL;
    case VERIFY_FLAG_MANY_SUBJECTS:
        return c->day_subjects ? apr_psprintf(p, "more than %u distinct "
                   "people queried by one client+operator in a day",
                   c->day_subjects) : NULL;
    case VERIFY_FLAG_MANY_CLIENTS:
        return c->subject_clients ? apr_psprintf(p, "one person queried by "
                   "more than %u distinct clients in the month",
                   c->subject_clients) : NULL;
    case VERIFY_FLAG_NOT_FOUND_RUN:
        return c->not_found_run ? apr_psprintf(p, "more than %u answers "
                   "finding nobody in a row to one client+operator",
                   c->not_found_run) : NULL;
    case VERIFY_FLAG_MISMATCH:
        return c->identity_mismatch ? "an answer with identity_match false"
                                    : NULL;
    case VERIFY_FLAG_REASON_REUSE:
        return c->reason_share ? apr_psprintf(p, "one reason in at least "
                   "%u %% of a client+operator's queries (at least %u)",
                   c->reason_share, c->reason_min) : NULL;
    case VERIFY_FLAG_NEW_OPERATOR:
        return c->new_operator ? "a client+operator with no query before "
                                 "the month in the lines read" : NULL;
    default:
        return NULL;
    }
}
