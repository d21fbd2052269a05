/*
 * verify-audit -- the auditor's tool.
 *
 *   verify   is the hash chain of the audit log intact, and if not,
 *            where does it break?
 *   sample   the month's sample of queries for the auditors (R5.1)
 *   report   the printable monthly query record sheet (R5.1), HTML
 *
 * Every command reads the files in chain order and checks the chain as
 * it goes. sample and report read a month's query lines twice: once to
 * count, check and rank them, once more (by offset, each line checked
 * against the digest of the first reading) to print them. So nothing
 * but a few bytes per query stays in memory, however long the month.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_tables.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include "verify.h"

#define PROG "verify-audit"

/* R5.1: at least 3 % of a month's queries, never fewer than 10 */
#define SAMPLE_PERCENT 3
#define SAMPLE_MIN 10
/* bytes of a fresh seed; a given one may have 1 to SEED_MAX */
#define SEED_LEN 16
#define SEED_MAX 64
/* faults a report lists (it counts them all) */
#define FAULTS_LISTED 20
/* distinct clients, checks or errors a report counts one by one */
#define TALLY_MAX 64

/* json_loadb flags of every audit line: \u0000 is a valid escape */
#define JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

static void usage(FILE *to)
{
    fprintf(to,
        "usage: " PROG " COMMAND [options] FILE|DIR...\n"
        "  FILE|DIR: audit files (audit-YYYY-MM-DD.jsonl), or the audit\n"
        "  directory (all its audit files, in date order)\n"
        "\n"
        "  verify     check the hash chain; exit 0 if intact, else name\n"
        "             the first bad line\n"
        "  sample --month YYYY-MM [--seed HEX] [--json]\n"
        "             the month's sample of queries (R5.1): at least 3 %%,\n"
        "             never fewer than 10, all if fewer than 10; ranked\n"
        "             by HMAC-SHA256(seed, request_id), so the same seed\n"
        "             draws the same sample; a fresh seed is printed when\n"
        "             none is given; --json prints the sampled lines;\n"
        "             refuses a broken chain\n"
        "  report --month YYYY-MM > report.html\n"
        "             the printable monthly query record sheet (R5.1):\n"
        "             chain status, counts and every query of the month\n"
        "  subject --id ID|- --key FILE [--json]\n"
        "             every line about one person (R4.2.5, R5.5): the lines\n"
        "             whose subject_tag is the tag of ID under the key file\n"
        "             (VerifyKeyFile); the ID is shown only masked; --id -\n"
        "             reads it from stdin (out of the process list)\n"
        "  roster [--since YYYY-MM-DD]\n"
        "             the register of everyone who queried (R4.3): per\n"
        "             client and operator the first and last query, the\n"
        "             queries, answered and refused; then each client's\n"
        "             addresses\n"
        "  ip-review [--months N] [--config FILE]\n"
        "             the whitelist review (R3.8): per client each address\n"
        "             used in the last N months (default 6); with the\n"
        "             VerifyClient lines of FILE also the registered\n"
        "             addresses left idle, and those registered twice\n"
        "  purge --before YYYY-MM-DD [--dry-run] DIR\n"
        "             delete the daily files older than the date, which\n"
        "             must be at least 5 years ago (R4.1.5, R4.2.5); writes\n"
        "             DIR/purged-through-DATE.json with the seq and hash of\n"
        "             the last line purged, from which verify resumes\n"
        "\n"
        "  A month is a Taipei calendar month. Every command checks the\n"
        "  whole chain of the files given; all but verify and report\n"
        "  refuse a broken one. Exit status: 0 done, 1 failed or chain\n"
        "  broken (the report is printed all the same), 2 usage error.\n");
}

/* ------------------------------------------------------------------ */
/* The files                                                           */
/* ------------------------------------------------------------------ */

/* One audit file given, and what the scan saw of it. */
typedef struct afile_t {
    const char *path;
    uint64_t lines, first_seq, last_seq;
    uint64_t month_lines;   /* lines of the month asked for */
    verify_chain_t end;     /* seq and hash of its last line */
} afile_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The newest purge checkpoint (purged-through-YYYY-MM-DD.json) of the
 * directories given, or NULL: the chain may resume after it. */
static const char *checkpoint_path;

#define CHECKPOINT_PREFIX "purged-through-"

static void add_file(apr_array_header_t *files, const char *path)
{
    afile_t *af = apr_array_push(files);

    memset(af, 0, sizeof(*af));
    af->path = path;
}

/* Audit files of the arguments, in chain order. */
static int collect(int argc, const char *const *argv, int from,
                   apr_array_header_t *files, apr_pool_t *p)
{
    apr_array_header_t *names;
    const char *cp_name = NULL;
    apr_finfo_t fi;
    apr_dir_t *d;
    apr_status_t rv;
    char err[120];
    int i, k;

    for (i = from; i < argc; i++) {
        rv = apr_stat(&fi, argv[i], APR_FINFO_TYPE, p);
        if (rv != APR_SUCCESS) {
            fprintf(stderr, PROG ": cannot read %s: %s\n", argv[i],
                    apr_strerror(rv, err, sizeof(err)));
            return -1;
        }
        if (fi.filetype != APR_DIR) {
            add_file(files, argv[i]);
            continue;
        }
        rv = apr_dir_open(&d, argv[i], p);
        if (rv != APR_SUCCESS) {
            fprintf(stderr, PROG ": cannot open directory %s: %s\n",
                    argv[i], apr_strerror(rv, err, sizeof(err)));
            return -1;
        }
        names = apr_array_make(p, 16, sizeof(const char *));
        while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
               == APR_SUCCESS) {
            size_t l = strlen(fi.name);
            if (fi.filetype == APR_REG && !strncmp(fi.name, "audit-", 6)
                && l > 6 && !strcmp(fi.name + l - 6, ".jsonl")) {
                APR_ARRAY_PUSH(names, const char *) =
                    apr_pstrcat(p, argv[i], "/", fi.name, NULL);
            }
            else if (fi.filetype == APR_REG
                     && !strncmp(fi.name, CHECKPOINT_PREFIX,
                                 strlen(CHECKPOINT_PREFIX))
                     && l == strlen(CHECKPOINT_PREFIX) + 15
                     && !strcmp(fi.name + l - 5, ".json")
                     && (!cp_name || strcmp(fi.name, cp_name) > 0)) {
                cp_name = apr_pstrdup(p, fi.name);
                checkpoint_path = apr_pstrcat(p, argv[i], "/", fi.name,
                                              NULL);
            }
        }
        apr_dir_close(d);
        qsort(names->elts, (size_t)names->nelts, sizeof(char *), cmp_str);
        for (k = 0; k < names->nelts; k++) {
            add_file(files, APR_ARRAY_IDX(names, k, const char *));
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reading the chain                                                   */
/* ------------------------------------------------------------------ */

typedef struct scan_t scan_t;

/*
 * Called for every line read: @p j is the parsed line (NULL when it is
 * not JSON), @p bad is set on a line the chain check refused (only with
 * keep_going), @p fi and @p off say where the line starts.
 * @return 0 to go on, -1 to stop (the callback said why).
 */
typedef int (*scan_line_fn)(scan_t *s, const char *line, size_t len,
                            json_t *j, int bad, int fi, apr_off_t off);

struct scan_t {
    apr_array_header_t *files;  /* afile_t, in chain order */
    FILE *out;                  /* notes and faults as found, or NULL */
    int keep_going;             /* after a fault, check on from that line */
    scan_line_fn fn;            /* every line read, or NULL */
    const char *checkpoint;     /* a purge checkpoint file, or NULL */
    void *ctx;
    apr_pool_t *p;
    /* what was found */
    verify_chain_t chain;       /* seq and hash of the last line read */
    uint64_t lines, first_seq, recovers, faults;
    const char *fault;          /* the first fault */
    apr_array_header_t *fault_list; /* the first FAULTS_LISTED */
    int nread;                  /* files read */
    int from_checkpoint;        /* the first line linked to checkpoint */
};

static const char *line_fault(verify_line_status_t st)
{
    switch (st) {
    case VERIFY_LINE_SYNTAX: return "not a sealed audit line";
    case VERIFY_LINE_HASH:   return "hash does not match the line's content "
                                    "(line altered)";
    case VERIFY_LINE_PREV:   return "prev is not the previous line's hash "
                                    "(line removed, inserted or reordered)";
    case VERIFY_LINE_SEQ:    return "seq does not follow the previous line "
                                    "(gap or repeat)";
    default:                 return "ok";
    }
}

static void scan_fault(scan_t *s, const char *msg)
{
    s->faults++;
    if (!s->fault) {
        s->fault = msg;
    }
    if (s->fault_list->nelts < FAULTS_LISTED) {
        APR_ARRAY_PUSH(s->fault_list, const char *) = msg;
    }
    if (s->out) {
        fprintf(s->out, "%s\n", msg);
    }
}

static const char *jstr(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* seq and hash of the last purged line, from a checkpoint file. */
static int checkpoint_read(const char *path, verify_chain_t *cp,
                           apr_pool_t *p)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    json_t *seq = json_object_get(j, "last_seq");
    const char *hash = jstr(j, "last_hash");
    int rc = -1;

    (void)p;
    if (json_is_integer(seq) && json_integer_value(seq) > 0 && hash
        && strlen(hash) == 64 && verify_unhex(hash, 32, cp->hash, 0) == 0) {
        cp->seq = (uint64_t)json_integer_value(seq);
        rc = 0;
    }
    else {
        fprintf(stderr, PROG ": %s is not a purge checkpoint (it needs "
                "last_seq and last_hash)\n", path);
    }
    json_decref(j);
    return rc;
}

/*
 * Read the files in order and check the chain: every line's hash, its
 * prev link and seq, a zero prev on seq 1, JSON under the size bound,
 * a complete last line. Without keep_going the first fault ends it.
 * @return 0 intact, 1 broken (s->fault says where), -1 a file could not
 *         be read or the callback stopped (the message is printed).
 */
static int scan(scan_t *s)
{
    static const unsigned char zero[32];
    char *line = NULL;
    size_t cap = 0;
    FILE *f = NULL;
    int i, rc = 0, first = 1, any = 1;

    verify_chain_t cp;
    int have_cp = 0;

    s->fault_list = apr_array_make(s->p, 4, sizeof(const char *));
    memset(&s->chain, 0, sizeof(s->chain));
    if (!s->checkpoint) {
        s->checkpoint = checkpoint_path;
    }
    if (s->checkpoint) {
        if (checkpoint_read(s->checkpoint, &cp, s->p) != 0) {
            return -1;
        }
        have_cp = 1;
    }
    for (i = 0; i < s->files->nelts; i++) {
        afile_t *af = &APR_ARRAY_IDX(s->files, i, afile_t);
        unsigned long lno = 0;
        apr_off_t off = 0;
        ssize_t n;

        f = fopen(af->path, "rb");
        if (!f) {
            fprintf(stderr, PROG ": cannot open %s: %s\n", af->path,
                    strerror(errno));
            rc = -1;
            goto cleanup;
        }
        s->nread++;
        while ((n = getline(&line, &cap, f)) > 0) {
            verify_line_status_t st;
            verify_chain_t h;
            json_error_t jerr;
            json_t *j = NULL;
            const char *msg = NULL, *op;
            size_t len = (size_t)n;
            apr_off_t at = off;
            int bad = 0;

            lno++;
            off += n;
            if (line[len - 1] != '\n') {
                msg = apr_psprintf(s->p, "%s:%lu: BROKEN: last line is "
                                   "incomplete (no newline)", af->path, lno);
            }
            else if (--len + 1 >= VERIFY_AUDIT_LINE_MAX) {
                msg = apr_psprintf(s->p, "%s:%lu: BROKEN: line longer than "
                                   "%d bytes", af->path, lno,
                                   VERIFY_AUDIT_LINE_MAX);
            }
            else {
                int from_cp = 0;
                if (first && have_cp
                    && verify_audit_line_head(line, len, &h) == 0
                    && h.seq == cp.seq + 1) {
                    /* the chain resumes after a purge: link it to the
                     * checkpoint's last line */
                    s->chain = cp;
                    any = 0;
                    from_cp = 1;
                }
                st = verify_audit_check_line(&s->chain, line, len, any);
                if (from_cp && st == VERIFY_LINE_OK) {
                    s->from_checkpoint = 1;
                    if (s->out) {
                        char cphex[65];
                        verify_hex(cp.hash, 32, cphex);
                        fprintf(s->out, "%s:%lu: note: chain resumes "
                                "after the purge checkpoint %s (seq %"
                                APR_UINT64_T_FMT ", hash %s): its prev "
                                "matches\n", af->path, lno, s->checkpoint,
                                cp.seq, cphex);
                    }
                }
                else if (from_cp && st == VERIFY_LINE_PREV) {
                    msg = apr_psprintf(s->p, "%s:%lu: BROKEN at seq %"
                                       APR_UINT64_T_FMT ": prev is not the "
                                       "hash of the last purged line in %s",
                                       af->path, lno, h.seq, s->checkpoint);
                }
                if (st == VERIFY_LINE_OK) {
                    j = json_loadb(line, len, JSON_FLAGS, &jerr);
                    if (!json_is_object(j)) {
                        st = VERIFY_LINE_SYNTAX;
                    }
                }
                if (st != VERIFY_LINE_OK && !msg) {
                    if (verify_audit_line_head(line, len, &h) == 0) {
                        msg = apr_psprintf(s->p, "%s:%lu: BROKEN at seq %"
                                           APR_UINT64_T_FMT ": %s",
                                           af->path, lno, h.seq,
                                           line_fault(st));
                    }
                    else {
                        msg = apr_psprintf(s->p, "%s:%lu: BROKEN: %s",
                                           af->path, lno, line_fault(st));
                    }
                }
            }
            if (!msg) {
                op = jstr(j, "op");
                if (op && !strcmp(op, "audit_recover")) {
                    s->recovers++;
                    if (s->out) {
                        fprintf(s->out, "%s:%lu: note: seq %"
                                APR_UINT64_T_FMT ": a writer died inside "
                                "the chain step (%s)\n", af->path, lno,
                                s->chain.seq, jstr(j, "detail")
                                ? jstr(j, "detail") : "");
                    }
                }
            }
            if (!msg && first && s->chain.seq != 1) {
                if (s->out && !s->from_checkpoint) {
                    fprintf(s->out, "%s:%lu: note: chain starts at seq %"
                            APR_UINT64_T_FMT " (earlier lines not given)\n",
                            af->path, lno, s->chain.seq);
                }
            }
            else if (!msg && first) {
                /* the genesis line must link to nothing */
                unsigned char prev[32];
                if (verify_unhex(line + len - 75 - 65, 32, prev, 0)
                    || memcmp(prev, zero, 32)) {
                    msg = apr_psprintf(s->p, "%s:%lu: BROKEN at seq 1: prev "
                                       "of the first line is not zero",
                                       af->path, lno);
                }
            }
            if (msg) {
                scan_fault(s, msg);
                if (!s->keep_going) {
                    json_decref(j);
                    rc = 1;
                    goto cleanup;
                }
                /* check on from this line as it stands */
                bad = 1;
                if (!j && len < VERIFY_AUDIT_LINE_MAX) {
                    j = json_loadb(line, len, JSON_FLAGS, &jerr);
                }
                if (verify_audit_line_head(line, len, &h) == 0) {
                    s->chain = h;
                    any = 0;
                }
                else {
                    s->chain.seq = 0;
                    any = 1;
                }
            }
            else {
                any = 0;
            }
            if (first) {
                s->first_seq = s->chain.seq;
                first = 0;
            }
            if (af->lines++ == 0) {
                af->first_seq = s->chain.seq;
            }
            af->last_seq = s->chain.seq;
            af->end = s->chain;
            s->lines++;
            if (s->fn && s->fn(s, line, len, j, bad, i, at) != 0) {
                json_decref(j);
                rc = -1;
                goto cleanup;
            }
            json_decref(j);
        }
        if (ferror(f)) {
            fprintf(stderr, PROG ": cannot read %s: %s\n", af->path,
                    strerror(errno));
            rc = -1;
            goto cleanup;
        }
        fclose(f);
        f = NULL;
    }
    rc = s->faults ? 1 : 0;

cleanup:
    if (f) {
        fclose(f);
    }
    free(line);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Showing client-provided text                                        */
/* ------------------------------------------------------------------ */

/* Next code point of @p s; *adv its length. Invalid bytes: U+FFFD. */
static unsigned utf8_next(const unsigned char *s, size_t len, size_t *adv)
{
    uint32_t cp;

    *adv = verify_utf8_decode((const char *)s, len, &cp);
    if (*adv == 0) {
        *adv = 1;
        return 0xfffd;
    }
    return cp;
}

/* Control, invisible and bidirectional formatting characters: shown as
 * \uXXXX, so text cannot hide or reorder what is around it. */
static int cp_unsafe(unsigned c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x61c
           || (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e)
           || (c >= 0x2060 && c <= 0x2069) || c == 0xfeff;
}

/* Terminal columns of a (safe) code point. */
static int cp_width(unsigned c)
{
    if (c >= 0x300 && c <= 0x36f) {
        return 0;
    }
    if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf
                                         && c != 0x303f)
        || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff)
        || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60)
        || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x20000 && c <= 0x3fffd)) {
        return 2;
    }
    return 1;
}

#define CLEAN_HTML 1

/*
 * @p s made safe to show: unsafe characters become a visible \uXXXX,
 * invalid bytes U+FFFD, and with CLEAN_HTML & < > " ' become entities.
 * With @p maxw > 0 the text is cut to @p maxw columns, ending in "…"
 * (*cut is then set). *width receives its columns. Both may be NULL.
 */
static const char *clean(apr_pool_t *p, const char *s, size_t len,
                         int flags, int maxw, int *width, int *cut)
{
    const unsigned char *u = (const unsigned char *)s;
    char *out = apr_palloc(p, 6 * len + 8), *o = out;
    size_t i, adv;
    int pass, w, total = 0, limit = -1;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0, w = 0; i < len; i += adv) {
            unsigned c = utf8_next(u + i, len - i, &adv);
            int cw = cp_unsafe(c) ? 6 : cp_width(c);
            if (pass == 0) {
                total += cw;
                continue;
            }
            if (limit >= 0 && w + cw > limit) {
                break;
            }
            w += cw;
            if (cp_unsafe(c)) {
                o += apr_snprintf(o, 7, "\\u%04x", c);
            }
            else if (c == 0xfffd && adv == 1) {
                memcpy(o, "\xef\xbf\xbd", 3);
                o += 3;
            }
            else if ((flags & CLEAN_HTML) && c < 0x80
                     && strchr("&<>\"'", (int)c)) {
                const char *e = c == '&' ? "&amp;" : c == '<' ? "&lt;"
                                : c == '>' ? "&gt;" : c == '"' ? "&quot;"
                                : "&#39;";
                memcpy(o, e, strlen(e));
                o += strlen(e);
            }
            else {
                memcpy(o, u + i, adv);
                o += adv;
            }
        }
        if (pass == 0) {
            if (maxw > 0 && total > maxw) {
                limit = maxw - 1;
            }
        }
    }
    if (limit >= 0) {
        memcpy(o, "\xe2\x80\xa6", 3);   /* … */
        o += 3;
        w++;
        if (cut) {
            *cut = 1;
        }
    }
    *o = '\0';
    if (width) {
        *width = w;
    }
    return out;
}

/* The masked subject of a line; anything that is not a mask shows "*". */
static const char *safe_subject(json_t *j, apr_pool_t *p)
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

/* A member as text: a string as it is, null or absent as NULL, any
 * other value as compact JSON. *len receives the length. */
static const char *member_text(json_t *j, const char *key, size_t *len,
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

/* The checks asked, comma-separated; NULL when none. */
static const char *checks_text(json_t *j, apr_pool_t *p)
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

/* "2026-11-27 14:55:06" of a ts. */
static const char *ts_text(json_t *j, apr_pool_t *p)
{
    const char *ts = jstr(j, "ts");
    char *t;

    if (!ts || strlen(ts) < 19 || ts[10] != 'T') {
        return ts;
    }
    t = apr_pstrndup(p, ts, 19);
    t[10] = ' ';
    return t;
}

/* "200", or "403 check_not_permitted". */
static const char *status_text(json_t *j, apr_pool_t *p)
{
    json_t *st = json_object_get(j, "status");
    const char *err = jstr(j, "error");

    return apr_psprintf(p, "%s%s%s", json_is_integer(st)
                        ? apr_psprintf(p, "%" APR_INT64_T_FMT,
                                       (apr_int64_t)json_integer_value(st))
                        : "?",
                        err ? " " : "", err ? err : "");
}

static const char *shell_quote(const char *s, apr_pool_t *p)
{
    const char *c;
    char *out, *o;

    for (c = s; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("_./-+:=@", *c)) {
            break;
        }
    }
    if (!*c && *s) {
        return s;
    }
    out = o = apr_palloc(p, 4 * strlen(s) + 3);
    *o++ = '\'';
    for (c = s; *c; c++) {
        if (*c == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        }
        else {
            *o++ = *c;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* A month's queries                                                   */
/* ------------------------------------------------------------------ */

/* One query line of the month: where it is, and what it was. */
typedef struct qline_t {
    uint64_t seq;
    apr_off_t off;
    int file;
    int bad;                    /* refused by the chain check */
    unsigned char digest[32];   /* SHA-256 of the line as first read */
    unsigned char rank[32];     /* HMAC-SHA256(seed, request_id) */
} qline_t;

/* One row of a summary table. */
typedef struct tally_t {
    const char *key;
    uint64_t n, answered;
} tally_t;

typedef struct month_t {
    const char *month;          /* "YYYY-MM" */
    const unsigned char *seed;  /* sample: rank by HMAC; NULL: no rank */
    size_t seed_len;
    int summary;                /* report: count by error, client, check */
    qline_t *q;
    size_t n, cap;
    uint64_t answered, bad;
    verify_chain_t end;         /* the last line up to the month's end */
    apr_hash_t *by_status, *by_client, *by_check, *by_service;
    apr_array_header_t *recovers;   /* json_t * of audit_recover lines */
    apr_pool_t *p;
} month_t;

static void tally(apr_hash_t *h, const char *key, int answered,
                  apr_pool_t *p)
{
    tally_t *t = apr_hash_get(h, key, APR_HASH_KEY_STRING);

    if (!t && apr_hash_count(h) >= TALLY_MAX) {
        /* an endless list of invented values is lumped together */
        key = "\x7f(other)";
        t = apr_hash_get(h, key, APR_HASH_KEY_STRING);
    }
    if (!t) {
        t = apr_pcalloc(p, sizeof(*t));
        t->key = apr_pstrdup(p, key);
        apr_hash_set(h, t->key, APR_HASH_KEY_STRING, t);
    }
    t->n++;
    t->answered += answered ? 1 : 0;
}

static int month_line(scan_t *s, const char *line, size_t len, json_t *j,
                      int bad, int fi, apr_off_t off)
{
    month_t *m = s->ctx;
    const char *ts = jstr(j, "ts"), *op = jstr(j, "op");
    json_t *st;
    qline_t *q;
    int answered;

    if (ts && strncmp(ts, m->month, 7) <= 0) {
        m->end = s->chain;
    }
    if (!ts || strncmp(ts, m->month, 7) || ts[7] != '-') {
        return 0;
    }
    APR_ARRAY_IDX(s->files, fi, afile_t).month_lines++;
    if (!op || strcmp(op, "verify")) {
        if (m->summary) {
            tally(m->by_service, op ? op : "?", 0, m->p);
            if (op && !strcmp(op, "audit_recover")) {
                APR_ARRAY_PUSH(m->recovers, json_t *) = json_incref(j);
            }
        }
        return 0;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 1024;
        qline_t *nq = realloc(m->q, cap * sizeof(*nq));
        if (!nq) {
            fprintf(stderr, PROG ": out of memory after %zu queries\n",
                    m->n);
            return -1;
        }
        m->q = nq;
        m->cap = cap;
    }
    q = &m->q[m->n++];
    memset(q, 0, sizeof(*q));
    st = json_object_get(j, "seq");
    q->seq = json_is_integer(st) ? (uint64_t)json_integer_value(st) : 0;
    q->off = off;
    q->file = fi;
    q->bad = bad;
    EVP_Digest(line, len, q->digest, NULL, EVP_sha256(), NULL);
    if (m->seed) {
        const char *rid = jstr(j, "request_id");
        HMAC(EVP_sha256(), m->seed, (int)m->seed_len,
             (const unsigned char *)(rid ? rid : ""), rid ? strlen(rid) : 0,
             q->rank, NULL);
    }
    if (m->summary) {
        json_t *checks = json_object_get(j, "checks"), *v, *w;
        const char *client = jstr(j, "client"), *err = jstr(j, "error");
        size_t i, k;

        st = json_object_get(j, "status");
        answered = json_is_integer(st) && json_integer_value(st) == 200;
        m->answered += answered;
        m->bad += bad;
        tally(m->by_status, apr_psprintf(m->p, "%03" APR_INT64_T_FMT " %s",
                                         json_is_integer(st)
                                         ? (apr_int64_t)json_integer_value(st)
                                         : 0, err ? err : ""),
              answered, m->p);
        /* "" is no client: a register name is never empty */
        tally(m->by_client, client ? client : "", answered, m->p);
        json_array_foreach(checks, i, v) {
            const char *c = json_string_value(v);
            for (k = 0; k < i; k++) {
                w = json_array_get(checks, k);
                if (json_equal(v, w)) {
                    break;
                }
            }
            if (k == i) {
                tally(m->by_check, c ? c : "?", answered, m->p);
            }
        }
    }
    return 0;
}

/* Reads query lines a second time, by offset. */
typedef struct reader_t {
    apr_array_header_t *files;
    FILE *f;
    int fi;
    char *line;
    size_t cap;
    size_t len;
} reader_t;

/* The line of @p q again, or NULL with a message when it is not the
 * line the scan read (the file changed in between). */
static json_t *reread(reader_t *r, const qline_t *q)
{
    const afile_t *af = &APR_ARRAY_IDX(r->files, q->file, afile_t);
    unsigned char digest[32];
    json_error_t jerr;
    json_t *j = NULL;
    ssize_t n = -1;

    if (!r->f || r->fi != q->file) {
        if (r->f) {
            fclose(r->f);
        }
        r->fi = q->file;
        r->f = fopen(af->path, "rb");
        if (!r->f) {
            fprintf(stderr, PROG ": cannot open %s: %s\n", af->path,
                    strerror(errno));
            return NULL;
        }
    }
    if (fseeko(r->f, q->off, SEEK_SET) == 0) {
        n = getline(&r->line, &r->cap, r->f);
    }
    if (n > 0 && r->line[n - 1] == '\n') {
        n--;
    }
    if (n > 0) {
        EVP_Digest(r->line, (size_t)n, digest, NULL, EVP_sha256(), NULL);
        if (!memcmp(digest, q->digest, 32)) {
            j = json_loadb(r->line, (size_t)n, JSON_FLAGS, &jerr);
        }
    }
    if (!j) {
        fprintf(stderr, PROG ": %s changed while it was read (the line of "
                "seq %" APR_UINT64_T_FMT " is not what it was): run the "
                "command again, then `" PROG " verify`\n", af->path, q->seq);
        return NULL;
    }
    r->len = (size_t)n;
    return j;
}

static void reader_close(reader_t *r)
{
    if (r->f) {
        fclose(r->f);
    }
    free(r->line);
}

static int cmp_rank(const void *a, const void *b)
{
    const qline_t *x = a, *y = b;
    int c = memcmp(x->rank, y->rank, 32);

    if (c) {
        return c;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_place(const void *a, const void *b)
{
    const qline_t *x = a, *y = b;

    if (x->file != y->file) {
        return x->file < y->file ? -1 : 1;
    }
    return x->off < y->off ? -1 : x->off > y->off;
}

/* R5.1: how many of @p n queries are audited, and by which rule. */
static size_t sample_size(size_t n, const char **rule)
{
    size_t k;

    if (n < SAMPLE_MIN) {
        *rule = "all (fewer than 10)";
        return n;
    }
    *rule = "3 % (min 10)";
    k = (n * SAMPLE_PERCENT + 99) / 100;
    return k < SAMPLE_MIN ? SAMPLE_MIN : k;
}

/* "YYYY-MM" valid, and its last day. */
static int month_last_day(const char *m, char last[11])
{
    int d;

    if (strlen(m) != 7 || m[4] != '-') {
        return -1;
    }
    for (d = 31; d >= 28; d--) {
        apr_snprintf(last, 11, "%s-%02d", m, d);
        if (verify_date_parse_iso(last, 10)) {
            return 0;
        }
    }
    return -1;
}

/* A note when the month is not over yet (Taipei time), else NULL. */
static const char *month_note(const char *month, apr_pool_t *p)
{
    char today[11], now_month[8];

    verify_date_format(verify_date_taipei(apr_time_now()), today);
    apr_cpystrn(now_month, today, sizeof(now_month));
    if (strcmp(month, now_month) == 0) {
        return apr_psprintf(p, "%s is not over yet (today is %s, Taipei "
                            "time): later queries are not in it", month,
                            today);
    }
    if (strcmp(month, now_month) > 0) {
        return apr_psprintf(p, "%s has not begun yet (today is %s, Taipei "
                            "time)", month, today);
    }
    return NULL;
}

/* Set up and run the scan of a month; prints why when it fails. */
static int scan_month(scan_t *s, month_t *m, apr_array_header_t *files,
                      const char *month, int keep_going, apr_pool_t *p)
{
    memset(s, 0, sizeof(*s));
    s->files = files;
    s->keep_going = keep_going;
    s->fn = month_line;
    s->ctx = m;
    s->p = p;
    m->month = month;
    m->p = p;
    m->by_status = apr_hash_make(p);
    m->by_client = apr_hash_make(p);
    m->by_check = apr_hash_make(p);
    m->by_service = apr_hash_make(p);
    m->recovers = apr_array_make(p, 4, sizeof(json_t *));
    return scan(s);
}

static void month_free(month_t *m)
{
    int i;

    for (i = 0; m->recovers && i < m->recovers->nelts; i++) {
        json_decref(APR_ARRAY_IDX(m->recovers, i, json_t *));
    }
    free(m->q);
}

/* "audit-2026-11-01.jsonl .. audit-2026-11-27.jsonl" */
static const char *files_span(apr_array_header_t *files, apr_pool_t *p)
{
    const char *a = APR_ARRAY_IDX(files, 0, afile_t).path;
    const char *b = APR_ARRAY_IDX(files, files->nelts - 1, afile_t).path;

    return files->nelts == 1 ? a : apr_pstrcat(p, a, " .. ", b, NULL);
}

static int write_failed(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": cannot write the output: %s\n",
                strerror(errno));
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* verify                                                              */
/* ------------------------------------------------------------------ */

static int cmd_verify(apr_array_header_t *files, apr_pool_t *p)
{
    scan_t s;
    char hex[65];

    memset(&s, 0, sizeof(s));
    s.files = files;
    s.out = stdout;
    s.p = p;
    if (scan(&s) != 0) {
        return 1;
    }
    if (s.lines == 0) {
        printf("no audit lines found\n");
        return 1;
    }
    verify_hex(s.chain.hash, 32, hex);
    printf("OK: %" APR_UINT64_T_FMT " lines in %d file(s), seq %"
           APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT ", chain intact, head %s"
           "%s\n", s.lines, files->nelts, s.first_seq, s.chain.seq, hex,
           s.recovers ? " (with recovery notes above)" : "");
    return 0;
}

/* ------------------------------------------------------------------ */
/* sample                                                              */
/* ------------------------------------------------------------------ */

#define SAMPLE_COLS 10

static json_t *jstring(const char *s)
{
    json_t *v = json_string(s ? s : "");

    return v ? v : json_string("(not UTF-8)");
}

static int sample_json_header(scan_t *s, month_t *m, size_t k,
                              const char *rule, const char *seed_hex,
                              const char *note)
{
    json_t *h = json_object(), *files = json_array(), *chain, *end;
    char hex[65], end_hex[65];
    char *d;
    int i;

    verify_hex(s->chain.hash, 32, hex);
    verify_hex(m->end.hash, 32, end_hex);
    for (i = 0; i < s->files->nelts; i++) {
        json_array_append_new(files, jstring(
            APR_ARRAY_IDX(s->files, i, afile_t).path));
    }
    chain = json_pack("{s:b,s:I,s:I,s:s}", "intact", 1,
                      "first_seq", (json_int_t)s->first_seq,
                      "last_seq", (json_int_t)s->chain.seq,
                      "head", s->lines ? hex : "");
    end = m->end.seq ? json_pack("{s:I,s:s}", "seq", (json_int_t)m->end.seq,
                                 "hash", end_hex) : json_null();
    json_object_set_new(h, "tool", json_string(PROG " sample"));
    json_object_set_new(h, "month", json_string(m->month));
    json_object_set_new(h, "population", json_integer((json_int_t)m->n));
    json_object_set_new(h, "sample_size", json_integer((json_int_t)k));
    json_object_set_new(h, "rule", json_string(rule));
    json_object_set_new(h, "seed", json_string(seed_hex));
    json_object_set_new(h, "selection", json_string(
        "the sample_size smallest HMAC-SHA256(seed, request_id)"));
    json_object_set_new(h, "files", files);
    json_object_set_new(h, "chain", chain);
    json_object_set_new(h, "month_end", end);
    json_object_set_new(h, "note", note ? jstring(note) : json_null());
    d = json_dumps(h, JSON_COMPACT);
    json_decref(h);
    if (!d) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    printf("%s\n", d);
    free(d);
    return 0;
}

static int cmd_sample(apr_array_header_t *files, const char *month,
                      const char *seed_arg, int as_json, apr_pool_t *p)
{
    static const char *const head[SAMPLE_COLS] = {
        "seq", "time", "request_id", "client", "operator", "case",
        "reason", "checks", "subject", "status"
    };
    static const int maxw[SAMPLE_COLS] = {
        0, 0, 0, 20, 20, 24, 30, 30, 10, 32
    };
    unsigned char seed[SEED_MAX];
    size_t seed_len, i, k;
    char seed_hex[2 * SEED_MAX + 1], hex[65];
    const char *rule, *note, *span, ***cells = NULL;
    int **widths = NULL, colw[SAMPLE_COLS], c, cut = 0, rc = 1;
    reader_t r;
    month_t m;
    scan_t s;

    memset(&m, 0, sizeof(m));
    memset(&r, 0, sizeof(r));
    r.files = files;
    if (seed_arg) {
        seed_len = strlen(seed_arg) / 2;
        if (strlen(seed_arg) % 2 || seed_len == 0 || seed_len > SEED_MAX
            || verify_unhex(seed_arg, seed_len, seed, 1)) {
            fprintf(stderr, PROG ": --seed must be 2 to %d hex digits (an "
                    "even number), not \"%s\"\n", 2 * SEED_MAX, seed_arg);
            return 2;
        }
    }
    else {
        seed_len = SEED_LEN;
        if (RAND_bytes(seed, (int)seed_len) != 1) {
            fprintf(stderr, PROG ": no randomness for a seed: give one with "
                    "--seed\n");
            return 1;
        }
    }
    verify_hex(seed, seed_len, seed_hex);
    m.seed = seed;
    m.seed_len = seed_len;
    switch (scan_month(&s, &m, files, month, 0, p)) {
    case 0:
        break;
    case 1:
        fprintf(stderr, PROG ": no sample drawn: the audit chain is broken, "
                "and a sample must come from an intact log:\n  %s\n"
                "(`" PROG " verify` on the same files shows it; keep a copy "
                "and investigate, R5.2)\n", s.fault);
        goto cleanup;
    default:
        goto cleanup;
    }
    k = sample_size(m.n, &rule);
    note = month_note(month, p);
    span = files_span(files, p);
    verify_hex(s.chain.hash, 32, hex);
    /* the k smallest ranks, then in chain order */
    qsort(m.q, m.n, sizeof(*m.q), cmp_rank);
    qsort(m.q, k, sizeof(*m.q), cmp_place);

    if (as_json) {
        if (sample_json_header(&s, &m, k, rule, seed_hex, note) != 0) {
            goto cleanup;
        }
        for (i = 0; i < k; i++) {
            json_t *j = reread(&r, &m.q[i]);
            if (!j) {
                goto cleanup;
            }
            json_decref(j);
            fwrite(r.line, 1, r.len, stdout);
            putchar('\n');
        }
        rc = write_failed();
        goto cleanup;
    }

    printf("Monthly sample of queries (R5.1)\n");
    printf("month:        %s (Taipei time)\n", month);
    printf("files:        %d: %s\n", s.nread, span);
    if (s.lines) {
        printf("chain:        intact, seq %" APR_UINT64_T_FMT "..%"
               APR_UINT64_T_FMT "%s\n", s.first_seq, s.chain.seq,
               s.recovers ? " (with recovery notes: see verify)" : "");
        printf("chain head:   seq %" APR_UINT64_T_FMT " %s\n", s.chain.seq,
               hex);
    }
    else {
        printf("chain:        no audit lines\n");
    }
    if (m.end.seq) {
        verify_hex(m.end.hash, 32, hex);
        printf("month end:    seq %" APR_UINT64_T_FMT " %s (the last line "
               "up to the end of %s)\n", m.end.seq, hex, month);
    }
    if (note) {
        printf("note:         %s\n", note);
    }
    if (m.n == 0) {
        printf("population:   0 queries in %s: nothing to sample\n", month);
        rc = write_failed();
        goto cleanup;
    }
    printf("population:   %zu quer%s\n", m.n, m.n == 1 ? "y" : "ies");
    if (m.n < SAMPLE_MIN) {
        printf("sample size:  %zu, rule: %s\n", k, rule);
    }
    else {
        printf("sample size:  %zu, rule: %s: ceil(%d %% of %zu) = %zu, "
               "at least %d\n", k, rule, SAMPLE_PERCENT, m.n,
               (m.n * SAMPLE_PERCENT + 99) / 100, SAMPLE_MIN);
    }
    printf("seed:         %s\n", seed_hex);
    printf("selection:    the %zu smallest HMAC-SHA256(seed, request_id); "
           "the same seed\n              and lines give the same sample: "
           "record the seed (R5.2)\n\n", k);

    cells = apr_pcalloc(p, (k + 1) * sizeof(*cells));
    widths = apr_pcalloc(p, (k + 1) * sizeof(*widths));
    for (c = 0; c < SAMPLE_COLS; c++) {
        colw[c] = (int)strlen(head[c]);
    }
    for (i = 0; i <= k; i++) {
        json_t *j = NULL;
        const char *raw[SAMPLE_COLS];
        size_t rlen[SAMPLE_COLS];

        cells[i] = apr_pcalloc(p, SAMPLE_COLS * sizeof(**cells));
        widths[i] = apr_pcalloc(p, SAMPLE_COLS * sizeof(**widths));
        if (i == 0) {
            for (c = 0; c < SAMPLE_COLS; c++) {
                cells[0][c] = head[c];
                widths[0][c] = (int)strlen(head[c]);
            }
            continue;
        }
        j = reread(&r, &m.q[i - 1]);
        if (!j) {
            goto cleanup;
        }
        raw[0] = apr_psprintf(p, "%" APR_UINT64_T_FMT, m.q[i - 1].seq);
        raw[1] = ts_text(j, p);
        raw[2] = member_text(j, "request_id", &rlen[2], p);
        raw[3] = member_text(j, "client", &rlen[3], p);
        raw[4] = member_text(j, "operator", &rlen[4], p);
        raw[5] = member_text(j, "case", &rlen[5], p);
        raw[6] = member_text(j, "reason", &rlen[6], p);
        raw[7] = checks_text(j, p);
        raw[8] = safe_subject(j, p);
        raw[9] = status_text(j, p);
        for (c = 0; c < SAMPLE_COLS; c++) {
            size_t l = (c >= 2 && c <= 6) ? rlen[c]
                       : raw[c] ? strlen(raw[c]) : 0;
            cells[i][c] = raw[c] ? clean(p, raw[c], l, 0, maxw[c],
                                         &widths[i][c], &cut) : "-";
            if (!raw[c]) {
                widths[i][c] = 1;
            }
            if (widths[i][c] > colw[c]) {
                colw[c] = widths[i][c];
            }
        }
        json_decref(j);
    }
    for (i = 0; i <= k; i++) {
        for (c = 0; c < SAMPLE_COLS; c++) {
            int pad = c == SAMPLE_COLS - 1 ? 0 : colw[c] - widths[i][c] + 2;
            fputs(cells[i][c], stdout);
            while (pad-- > 0) {
                putchar(' ');
            }
        }
        putchar('\n');
    }
    if (cut) {
        printf("\n(long values are cut with \xe2\x80\xa6; --json prints "
               "the lines in full)\n");
    }
    rc = write_failed();

cleanup:
    reader_close(&r);
    month_free(&m);
    return rc;
}

/* ------------------------------------------------------------------ */
/* report                                                              */
/* ------------------------------------------------------------------ */

static const char report_css[] =
    "body{font-family:\"Noto Sans CJK TC\",\"Microsoft JhengHei\","
    "\"PingFang TC\",sans-serif;font-size:10pt;color:#000;margin:1.5em}\n"
    "h1{font-size:15pt;margin:0}\n"
    "h1 .en{display:block;font-size:11pt;font-weight:normal}\n"
    "h2{font-size:12pt;margin:1.4em 0 .4em;border-bottom:1px solid #000}\n"
    "table{border-collapse:collapse;margin:0 0 .6em}\n"
    "th,td{border:1px solid #999;padding:2px 5px;text-align:left;"
    "vertical-align:top}\n"
    "thead th,table.meta th,table.counts th{background:#eee}\n"
    "caption{text-align:left;font-weight:bold;padding:2px 0}\n"
    ".num{text-align:right}\n"
    ".none{color:#777}\n"
    ".ok{color:#060;font-weight:bold}\n"
    ".broken{color:#b00;font-weight:bold}\n"
    "tr.bad td{background:#fdd}\n"
    ".tallies{display:flex;flex-wrap:wrap;gap:0 2em}\n"
    "table.rows{width:100%}\n"
    "table.rows td{word-break:break-all}\n"
    "table.rows td.t{white-space:nowrap;word-break:normal}\n"
    "code,.mono{font-family:monospace}\n"
    "table.sign{width:100%;margin-top:1em}\n"
    "table.sign th{width:11em;background:none}\n"
    "table.sign td{height:2.4em}\n"
    "table.sign td.tall{height:5em}\n"
    "footer{margin-top:1em;font-size:8.5pt;color:#333}\n"
    "@page{size:A4 landscape;margin:12mm}\n"
    "@media print{body{margin:0;font-size:8pt}\n"
    "thead{display:table-header-group}\n"
    "tr{page-break-inside:avoid;break-inside:avoid}\n"
    "h2{page-break-after:avoid;break-after:avoid}\n"
    ".review{page-break-inside:avoid;break-inside:avoid}\n"
    "tr.bad td{background:#fdd;-webkit-print-color-adjust:exact;"
    "print-color-adjust:exact}}\n";

/* Escaped text for HTML. */
static void html_text(FILE *o, const char *s, apr_pool_t *p)
{
    fputs(clean(p, s, strlen(s), CLEAN_HTML, 0, NULL, NULL), o);
}

/* Escaped text for HTML, or a grey dash when there is none. */
static void html_or_dash(FILE *o, const char *s, size_t len, apr_pool_t *p)
{
    if (!s) {
        fputs("<span class=\"none\">\xe2\x80\x94</span>", o);
        return;
    }
    fputs(clean(p, s, len, CLEAN_HTML, 0, NULL, NULL), o);
}

/* A member for HTML; null or absent shows a grey dash. */
static void h_member(FILE *o, json_t *j, const char *key, apr_pool_t *p)
{
    size_t len = 0;
    const char *s = member_text(j, key, &len, p);

    html_or_dash(o, s, len, p);
}

static int cmp_tally(const void *a, const void *b)
{
    const tally_t *x = *(const tally_t *const *)a;
    const tally_t *y = *(const tally_t *const *)b;

    return strcmp(x->key, y->key);
}

static apr_array_header_t *sorted(apr_hash_t *ht, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 8, sizeof(tally_t *));
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(p, ht); hi; hi = apr_hash_next(hi)) {
        APR_ARRAY_PUSH(a, tally_t *) = apr_hash_this_val(hi);
    }
    qsort(a->elts, (size_t)a->nelts, sizeof(tally_t *), cmp_tally);
    return a;
}

/* A tally key as shown: "(other)" for the lumped rest. */
static void h_key(FILE *o, const char *key, const char *empty,
                  apr_pool_t *p)
{
    if (!strcmp(key, "\x7f(other)")) {
        fputs("<span class=\"none\">(other values)</span>", o);
    }
    else if (!*key) {
        fprintf(o, "<span class=\"none\">%s</span>", empty);
    }
    else {
        html_text(o, key, p);
    }
}

static void report_tallies(FILE *o, month_t *m, apr_pool_t *p)
{
    apr_array_header_t *a;
    int i;

    fputs("<div class=\"tallies\">\n", o);

    a = sorted(m->by_status, p);
    fputs("<table>\n<caption>依狀態 By status / error code</caption>\n"
          "<thead><tr><th>狀態 Status</th><th>錯誤碼 Error</th>"
          "<th>筆數 Queries</th></tr></thead>\n<tbody>\n", o);
    for (i = 0; i < a->nelts; i++) {
        const tally_t *t = APR_ARRAY_IDX(a, i, tally_t *);
        const char *sp = strchr(t->key, ' ');
        if (!sp) {      /* the lumped rest */
            fputs("<tr><td colspan=\"2\">", o);
            h_key(o, t->key, "", p);
        }
        else {
            fprintf(o, "<tr><td>%.*s</td><td>", (int)(sp - t->key),
                    t->key[0] == '0' ? t->key + 1 : t->key);
            if (sp[1]) {
                html_text(o, sp + 1, p);
            }
            else {
                fputs("<span class=\"none\">answered</span>", o);
            }
        }
        fprintf(o, "</td><td class=\"num\">%" APR_UINT64_T_FMT
                "</td></tr>\n", t->n);
    }
    fputs("</tbody>\n</table>\n", o);

    a = sorted(m->by_client, p);
    fputs("<table>\n<caption>依用戶端 By client system</caption>\n"
          "<thead><tr><th>用戶端 Client</th><th>查詢 Queries</th>"
          "<th>回覆 Answered</th><th>拒絕 Refused</th></tr></thead>\n"
          "<tbody>\n", o);
    for (i = 0; i < a->nelts; i++) {
        const tally_t *t = APR_ARRAY_IDX(a, i, tally_t *);
        fputs("<tr><td>", o);
        h_key(o, t->key, "none (unknown_client)", p);
        fprintf(o, "</td><td class=\"num\">%" APR_UINT64_T_FMT "</td>"
                "<td class=\"num\">%" APR_UINT64_T_FMT "</td>"
                "<td class=\"num\">%" APR_UINT64_T_FMT "</td></tr>\n",
                t->n, t->answered, t->n - t->answered);
    }
    fputs("</tbody>\n</table>\n", o);

    a = sorted(m->by_check, p);
    fputs("<table>\n<caption>依查詢項目 By check</caption>\n"
          "<thead><tr><th>查詢項目 Check</th><th>查詢 Asked</th>"
          "<th>回覆 Answered</th></tr></thead>\n<tbody>\n", o);
    for (i = 0; i < a->nelts; i++) {
        const tally_t *t = APR_ARRAY_IDX(a, i, tally_t *);
        fputs("<tr><td>", o);
        h_key(o, t->key, "(empty)", p);
        fprintf(o, "</td><td class=\"num\">%" APR_UINT64_T_FMT "</td>"
                "<td class=\"num\">%" APR_UINT64_T_FMT "</td></tr>\n",
                t->n, t->answered);
    }
    fputs("</tbody>\n</table>\n", o);

    a = sorted(m->by_service, p);
    fputs("<table>\n<caption>系統事件 Service lines (not queries)</caption>\n"
          "<thead><tr><th>op</th><th>筆數 Lines</th></tr></thead>\n"
          "<tbody>\n", o);
    if (a->nelts == 0) {
        fputs("<tr><td colspan=\"2\"><span class=\"none\">none</span>"
              "</td></tr>\n", o);
    }
    for (i = 0; i < a->nelts; i++) {
        const tally_t *t = APR_ARRAY_IDX(a, i, tally_t *);
        fputs("<tr><td>", o);
        h_key(o, t->key, "", p);
        fprintf(o, "</td><td class=\"num\">%" APR_UINT64_T_FMT
                "</td></tr>\n", t->n);
    }
    fputs("</tbody>\n</table>\n</div>\n", o);

    if (m->recovers->nelts) {
        fputs("<p>audit_recover (a writer died inside the chain step; "
              "see the audit guide \xc2\xa7" "4):</p>\n<ul>\n", o);
        for (i = 0; i < m->recovers->nelts; i++) {
            json_t *j = APR_ARRAY_IDX(m->recovers, i, json_t *);
            fputs("<li>seq ", o);
            h_member(o, j, "seq", p);
            fputs(", ", o);
            h_member(o, j, "ts", p);
            fputs(": ", o);
            h_member(o, j, "detail", p);
            fputs("</li>\n", o);
        }
        fputs("</ul>\n", o);
    }
}

/* One line of the file list: "PATH: 12 line(s), seq 1..12". */
static void report_file(FILE *o, const afile_t *af, apr_pool_t *p)
{
    fputs("<li><span class=\"mono\">", o);
    html_text(o, af->path, p);
    fputs("</span>: ", o);
    if (!af->lines) {
        fputs("empty", o);
    }
    else {
        fprintf(o, "%" APR_UINT64_T_FMT " line(s), seq %" APR_UINT64_T_FMT
                "..%" APR_UINT64_T_FMT, af->lines, af->first_seq,
                af->last_seq);
    }
    fputs("</li>", o);
}

/* A run of files without lines of the month, in one line. */
static void report_file_run(FILE *o, apr_array_header_t *files, int a,
                            int b, const char *what, apr_pool_t *p)
{
    const afile_t *x = &APR_ARRAY_IDX(files, a, afile_t);
    const afile_t *y = &APR_ARRAY_IDX(files, b, afile_t);

    if (a == b) {
        report_file(o, x, p);
        return;
    }
    fprintf(o, "<li>%d %s files, <span class=\"mono\">", b - a + 1, what);
    html_text(o, x->path, p);
    fputs("</span> to <span class=\"mono\">", o);
    html_text(o, y->path, p);
    fprintf(o, "</span>: seq %" APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT
            "</li>", x->first_seq, y->last_seq);
}

/* The files read: those with lines of the month one by one, the ones
 * before and after them in a line each. */
static void report_files(FILE *o, apr_array_header_t *files, apr_pool_t *p)
{
    int f, first = -1, last = -1;

    for (f = 0; f < files->nelts; f++) {
        if (APR_ARRAY_IDX(files, f, afile_t).month_lines) {
            last = f;
            if (first < 0) {
                first = f;
            }
        }
    }
    fputs("<ul>", o);
    if (first < 0) {
        report_file_run(o, files, 0, files->nelts - 1, "audit", p);
        fputs("</ul>None holds a line of the month.", o);
        return;
    }
    if (first > 0) {
        report_file_run(o, files, 0, first - 1, "earlier", p);
    }
    for (f = first; f <= last; f++) {
        report_file(o, &APR_ARRAY_IDX(files, f, afile_t), p);
    }
    if (last < files->nelts - 1) {
        report_file_run(o, files, last + 1, files->nelts - 1, "later", p);
    }
    fputs("</ul>", o);
}

static void report_chain(FILE *o, scan_t *s, month_t *m, apr_pool_t *p)
{
    char hex[65], end_hex[65];
    int i;

    verify_hex(s->chain.hash, 32, hex);
    verify_hex(m->end.hash, 32, end_hex);
    if (s->lines == 0) {
        fputs("<td><span class=\"none\">no audit lines</span></td>", o);
        return;
    }
    if (!s->faults) {
        fprintf(o, "<td><span class=\"ok\">完整 Intact</span>: every line "
                "of seq %" APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT
                " checked (hash, prev link, seq)%s.<br>Head: seq %"
                APR_UINT64_T_FMT " <span class=\"mono\">%s</span>",
                s->first_seq, s->chain.seq, s->first_seq == 1 ? ""
                : "; the chain starts at that seq (earlier files not "
                  "given)", s->chain.seq, hex);
        if (m->end.seq) {
            fprintf(o, "<br>End of the month: seq %" APR_UINT64_T_FMT
                    " <span class=\"mono\">%s</span>", m->end.seq,
                    end_hex);
        }
        if (s->recovers) {
            fprintf(o, "<br>%" APR_UINT64_T_FMT " recovery note(s) "
                    "(audit_recover lines)", s->recovers);
        }
        fputs("</td>", o);
        return;
    }
    fprintf(o, "<td><span class=\"broken\">已破損 BROKEN</span>: %"
            APR_UINT64_T_FMT " line(s) fail the chain check. The first:"
            "<br><span class=\"mono\">", s->faults);
    html_text(o, s->fault, p);
    fputs("</span>", o);
    if (s->faults > 1) {
        fputs("<br>All found", o);
        if (s->faults > FAULTS_LISTED) {
            fprintf(o, " (the first %d)", FAULTS_LISTED);
        }
        fputs(":<ul>", o);
        for (i = 0; i < s->fault_list->nelts; i++) {
            fputs("<li class=\"mono\">", o);
            html_text(o, APR_ARRAY_IDX(s->fault_list, i, const char *), p);
            fputs("</li>", o);
        }
        fputs("</ul>", o);
    }
    else {
        fputs("<br>", o);
    }
    fputs("Rows marked \xe2\x9a\xa0 below are such lines. Keep a copy of the "
          "files and investigate (R5.2); <code>" PROG " verify</code> "
          "names the first bad line.</td>", o);
}

static int cmd_report(apr_array_header_t *files, const char *month,
                      const char *args, apr_pool_t *p)
{
    char last[11], now[26];
    const char *rule, *note;
    apr_pool_t *rp;
    FILE *o = stdout;
    reader_t r;
    month_t m;
    scan_t s;
    size_t i, k;
    int rc = 1, broken;

    memset(&m, 0, sizeof(m));
    memset(&r, 0, sizeof(r));
    r.files = files;
    m.summary = 1;
    month_last_day(month, last);
    broken = scan_month(&s, &m, files, month, 1, p);
    if (broken < 0) {
        goto cleanup;
    }
    k = sample_size(m.n, &rule);
    note = month_note(month, p);
    verify_time_format_s(apr_time_now(), now);
    apr_pool_create(&rp, p);

    fprintf(o, "<!DOCTYPE html>\n<html lang=\"zh-Hant\">\n<head>\n"
            "<meta charset=\"utf-8\">\n"
            "<meta name=\"generator\" content=\"" PROG " report\">\n"
            "<title>查詢紀錄表 Query record sheet %s</title>\n"
            "<style>\n%s</style>\n</head>\n<body>\n", month, report_css);
    fprintf(o, "<header>\n<h1>驗證機制平臺 查詢紀錄表 %s "
            "<span class=\"en\">Verification platform: monthly query "
            "record sheet, %s</span></h1>\n"
            "<p>依管理規定 R5.1 每月列印供稽核 (printed monthly for the "
            "auditors, R5.1).</p>\n</header>\n", month, month);

    fputs("<table class=\"meta\">\n", o);
    fprintf(o, "<tr><th>月份 Month</th><td>%s, 臺北時間 Taipei time "
            "(%s-01 00:00 to %s 24:00, +08:00)", month, month, last);
    if (note) {
        fputs("<br>", o);
        html_text(o, note, p);
    }
    fputs("</td></tr>\n", o);
    fprintf(o, "<tr><th>製表時間 Generated</th><td>%s by <code>" PROG
            " report</code></td></tr>\n", now);
    fputs("<tr><th>稽核檔案 Audit files</th><td>", o);
    report_files(o, files, p);
    fputs("</td></tr>\n<tr><th>雜湊鏈 Hash chain</th>", o);
    report_chain(o, &s, &m, p);
    fputs("</tr>\n</table>\n", o);

    fputs("<h2>統計 Summary</h2>\n<table class=\"counts\">\n", o);
    fprintf(o, "<tr><th>查詢筆數 Queries</th><td class=\"num\">%zu</td>"
            "</tr>\n", m.n);
    fprintf(o, "<tr><th>已回覆 Answered (200)</th><td class=\"num\">%"
            APR_UINT64_T_FMT "</td></tr>\n", m.answered);
    fprintf(o, "<tr><th>拒絕 Refused</th><td class=\"num\">%"
            APR_UINT64_T_FMT "</td></tr>\n", (uint64_t)m.n - m.answered);
    fprintf(o, "<tr><th>應抽核 To sample (R5.1)</th><td class=\"num\">%zu"
            "</td></tr>\n", k);
    if (m.bad) {
        fprintf(o, "<tr><th>鏈檢查失敗 Failing the chain check</th>"
                "<td class=\"num broken\">%" APR_UINT64_T_FMT "</td></tr>\n",
                m.bad);
    }
    fputs("</table>\n", o);
    if (m.n) {
        report_tallies(o, &m, p);
    }

    fprintf(o, "<h2>查詢明細 Queries of %s (%zu)</h2>\n", month, m.n);
    if (m.n == 0) {
        fprintf(o, "<p>本月無查詢 No queries in %s.</p>\n", month);
    }
    else {
        fputs("<table class=\"rows\">\n<thead><tr><th>序號<br>seq</th>"
              "<th>日期時間<br>Date/time</th><th>用戶端<br>Client</th>"
              "<th>操作人員<br>Operator</th><th>案號<br>Case</th>"
              "<th>查詢事由<br>Reason</th><th>查詢項目<br>Checks</th>"
              "<th>查詢對象<br>Subject (masked)</th>"
              "<th>狀態<br>Status / error</th><th>request_id</th>"
              "</tr></thead>\n<tbody>\n", o);
    }
    for (i = 0; i < m.n; i++) {
        const char *t, *c, *subj;
        json_t *j = reread(&r, &m.q[i]);

        if (!j) {
            goto cleanup;
        }
        apr_pool_clear(rp);
        fprintf(o, "<tr%s><td class=\"num t\">%s%" APR_UINT64_T_FMT
                "</td><td class=\"t\">", m.q[i].bad ? " class=\"bad\"" : "",
                m.q[i].bad ? "\xe2\x9a\xa0 " : "", m.q[i].seq);
        t = ts_text(j, rp);
        if (t) {
            html_text(o, t, rp);
        }
        fputs("</td><td>", o);
        h_member(o, j, "client", rp);
        fputs("</td><td>", o);
        h_member(o, j, "operator", rp);
        fputs("</td><td>", o);
        h_member(o, j, "case", rp);
        fputs("</td><td>", o);
        h_member(o, j, "reason", rp);
        fputs("</td><td>", o);
        c = checks_text(j, rp);
        html_or_dash(o, c, c ? strlen(c) : 0, rp);
        fputs("</td><td class=\"mono t\">", o);
        subj = safe_subject(j, rp);
        html_or_dash(o, subj, subj ? strlen(subj) : 0, rp);
        fputs("</td><td>", o);
        html_text(o, status_text(j, rp), rp);
        fputs("</td><td class=\"mono\">", o);
        h_member(o, j, "request_id", rp);
        fputs("</td></tr>\n", o);
        json_decref(j);
    }
    if (m.n) {
        fputs("</tbody>\n</table>\n", o);
    }

    fputs("<div class=\"review\">\n<h2>審核 Review</h2>\n"
          "<table class=\"sign\">\n"
          "<tr><th>抽樣種子 Sample seed</th><td colspan=\"3\"></td></tr>\n"
          "<tr><th>審核意見 Findings</th><td colspan=\"3\" class=\"tall\">"
          "</td></tr>\n"
          "<tr><th>審核人 Auditor</th><td></td>"
          "<th>日期 Date</th><td></td></tr>\n</table>\n", o);
    fprintf(o, "<p>Sampled per R5.1 (依 R5.1 抽核): run <code>" PROG
            " sample --month %s ", month);
    html_text(o, args, p);
    fprintf(o, "</code>: at least 3 %% of the month's queries, never fewer "
            "than 10, all of them if fewer than 10; for %s: %zu of %zu "
            "(%s). Record the seed it prints.</p>\n</div>\n", month, k, m.n,
            rule);
    fprintf(o, "<footer>%s: %zu queries, chain %s. Generated %s.</footer>\n"
            "</body>\n</html>\n", month, m.n, s.lines == 0 ? "empty"
            : broken ? "BROKEN" : "intact", now);
    if (write_failed()) {
        goto cleanup;
    }
    rc = 0;
    if (broken) {
        fprintf(stderr, PROG ": the audit chain is BROKEN (the report says "
                "so): %s\n", s.fault);
        rc = 1;
    }

cleanup:
    reader_close(&r);
    month_free(&m);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Plain-text tables                                                   */
/* ------------------------------------------------------------------ */

#define TABLE_COLS 12

typedef struct table_t {
    int ncols;
    const char *const *head;
    const int *maxw;
    apr_array_header_t *cells;  /* const char ** of ncols, per row */
    apr_array_header_t *widths; /* int * of ncols, per row */
    int colw[TABLE_COLS];
    int cut;
    apr_pool_t *p;
} table_t;

static void table_init(table_t *t, int ncols, const char *const *head,
                       const int *maxw, apr_pool_t *p)
{
    int c;

    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->head = head;
    t->maxw = maxw;
    t->p = p;
    t->cells = apr_array_make(p, 16, sizeof(const char **));
    t->widths = apr_array_make(p, 16, sizeof(int *));
    for (c = 0; c < ncols; c++) {
        t->colw[c] = (int)strlen(head[c]);
    }
}

/* A row: raw[c] NULL shows "-"; len[c] (or strlen when len is NULL or
 * len[c] is (size_t)-1) its bytes. Every cell is made safe to show. */
static void table_add(table_t *t, const char *const *raw, const size_t *len)
{
    const char **cells = apr_pcalloc(t->p, t->ncols * sizeof(*cells));
    int *w = apr_pcalloc(t->p, t->ncols * sizeof(*w));
    int c;

    for (c = 0; c < t->ncols; c++) {
        size_t l;
        if (!raw[c]) {
            cells[c] = "-";
            w[c] = 1;
        }
        else {
            l = (len && len[c] != (size_t)-1) ? len[c] : strlen(raw[c]);
            cells[c] = clean(t->p, raw[c], l, 0, t->maxw ? t->maxw[c] : 0,
                             &w[c], &t->cut);
        }
        if (w[c] > t->colw[c]) {
            t->colw[c] = w[c];
        }
    }
    APR_ARRAY_PUSH(t->cells, const char **) = cells;
    APR_ARRAY_PUSH(t->widths, int *) = w;
}

static void table_print(table_t *t)
{
    int i, c;

    for (i = -1; i < t->cells->nelts; i++) {
        for (c = 0; c < t->ncols; c++) {
            const char *cell = i < 0 ? t->head[c]
                : APR_ARRAY_IDX(t->cells, i, const char **)[c];
            int w = i < 0 ? (int)strlen(t->head[c])
                : APR_ARRAY_IDX(t->widths, i, int *)[c];
            int pad = c == t->ncols - 1 ? 0 : t->colw[c] - w + 2;
            fputs(cell, stdout);
            while (pad-- > 0) {
                putchar(' ');
            }
        }
        putchar('\n');
    }
    if (t->cut) {
        printf("\n(long values are cut with \xe2\x80\xa6)\n");
    }
}

/* ------------------------------------------------------------------ */
/* Commands on the whole chain: subject, roster, ip-review             */
/* ------------------------------------------------------------------ */

/* Scan the files, refusing a broken chain; prints why on failure. */
static int scan_all(scan_t *s, apr_array_header_t *files, scan_line_fn fn,
                    void *ctx, const char *cmd, apr_pool_t *p)
{
    memset(s, 0, sizeof(*s));
    s->files = files;
    s->fn = fn;
    s->ctx = ctx;
    s->p = p;
    switch (scan(s)) {
    case 0:
        return 0;
    case 1:
        fprintf(stderr, PROG ": %s refused: the audit chain is broken, and "
                "the answer must come from an intact log:\n  %s\n(`" PROG
                " verify` on the same files shows it; keep a copy and "
                "investigate, R5.2)\n", cmd, s->fault);
        return 1;
    default:
        return 1;
    }
}

static void chain_header(scan_t *s, apr_array_header_t *files,
                         apr_pool_t *p)
{
    char hex[65];

    verify_hex(s->chain.hash, 32, hex);
    printf("files:        %d: %s\n", s->nread, files_span(files, p));
    if (s->lines) {
        printf("chain:        intact, seq %" APR_UINT64_T_FMT "..%"
               APR_UINT64_T_FMT "%s, head %s\n", s->first_seq, s->chain.seq,
               s->from_checkpoint ? " (after the purge checkpoint)" : "",
               hex);
    }
    else {
        printf("chain:        no audit lines\n");
    }
}

static int is_query(json_t *j)
{
    const char *op = jstr(j, "op");

    return op && !strcmp(op, "verify");
}

static int answered_line(json_t *j)
{
    json_t *st = json_object_get(j, "status");

    return json_is_integer(st) && json_integer_value(st) == 200;
}

/* -- subject ------------------------------------------------------- */

typedef struct subj_t {
    char tag[65];
    char mask[VERIFY_ID_LEN + 1];
    apr_array_header_t *lines;  /* const char * (raw line) */
    apr_array_header_t *lens;   /* size_t */
    uint64_t untagged;          /* same mask, no tag (an invalid ID) */
} subj_t;

static int subject_line(scan_t *s, const char *line, size_t len, json_t *j,
                        int bad, int fi, apr_off_t off)
{
    subj_t *x = s->ctx;
    const char *tag = jstr(j, "subject_tag"), *subj = jstr(j, "subject");

    (void)bad; (void)fi; (void)off;
    if (tag && !strcmp(tag, x->tag)) {
        APR_ARRAY_PUSH(x->lines, const char *) = apr_pstrmemdup(s->p, line,
                                                                len);
        APR_ARRAY_PUSH(x->lens, size_t) = len;
    }
    else if (is_query(j) && !tag && subj && !strcmp(subj, x->mask)) {
        x->untagged++;
    }
    return 0;
}

static int cmd_subject(apr_array_header_t *files, const char *id,
                       const char *key_file, int as_json, apr_pool_t *p)
{
    static const char *const head[9] = {
        "seq", "time", "request_id", "client", "operator", "case",
        "reason", "checks", "status"
    };
    static const int maxw[9] = { 0, 0, 0, 20, 20, 24, 30, 30, 32 };
    char norm[VERIFY_ID_LEN + 1], hex[65];
    unsigned char tag[VERIFY_TAG_LEN];
    verify_id_status_t st;
    verify_keys_t *keys;
    json_error_t jerr;
    apr_status_t rv;
    char *err = NULL;
    subj_t x;
    scan_t s;
    table_t t;
    int i;

    st = verify_id_normalise(id, strlen(id), norm, NULL);
    if (st != VERIFY_ID_OK) {
        /* the ID is never echoed, not even a wrong one */
        fprintf(stderr, PROG ": --id is not a valid ID number: %s\n",
                verify_id_strerror(st));
        return 2;
    }
    rv = verify_keys_load(&keys, key_file, &err, p);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, PROG ": --key: %s\n", err ? err : key_file);
        return 1;
    }
    memset(&x, 0, sizeof(x));
    verify_keys_tag(keys, VERIFY_KEY_SUBJECT, norm, VERIFY_ID_LEN, tag);
    verify_hex(tag, VERIFY_TAG_LEN, x.tag);
    verify_id_mask(norm, VERIFY_ID_LEN, x.mask);
    memset(norm, 0, sizeof(norm));
    x.lines = apr_array_make(p, 16, sizeof(const char *));
    x.lens = apr_array_make(p, 16, sizeof(size_t));
    if (scan_all(&s, files, subject_line, &x, "subject", p) != 0) {
        return 1;
    }
    verify_hex(s.chain.hash, 32, hex);
    if (as_json) {
        json_t *h = json_pack("{s:s,s:s,s:s,s:I,s:I,s:{s:b,s:I,s:I,s:s}}",
                              "tool", PROG " subject", "subject", x.mask,
                              "subject_tag", x.tag,
                              "lines", (json_int_t)x.lines->nelts,
                              "untagged_same_mask", (json_int_t)x.untagged,
                              "chain", "intact", 1,
                              "first_seq", (json_int_t)s.first_seq,
                              "last_seq", (json_int_t)s.chain.seq,
                              "head", s.lines ? hex : "");
        char *d = h ? json_dumps(h, JSON_COMPACT) : NULL;
        json_decref(h);
        if (!d) {
            fprintf(stderr, PROG ": out of memory\n");
            return 1;
        }
        printf("%s\n", d);
        free(d);
        for (i = 0; i < x.lines->nelts; i++) {
            fwrite(APR_ARRAY_IDX(x.lines, i, const char *), 1,
                   APR_ARRAY_IDX(x.lens, i, size_t), stdout);
            putchar('\n');
        }
        return write_failed();
    }
    printf("Every audit line about one person (R4.2.5, R5.5)\n");
    printf("subject:      %s (masked)\n", x.mask);
    printf("subject_tag:  %s\n", x.tag);
    chain_header(&s, files, p);
    printf("lines:        %d\n", x.lines->nelts);
    if (x.untagged) {
        printf("note:         %" APR_UINT64_T_FMT " quer%s with the same "
               "mask but no subject_tag (an invalid ID, perhaps a typo): "
               "not listed; review them by hand (grep -F '\"subject\":\"%s"
               "\"'): the mask also matches other people\n", x.untagged,
               x.untagged == 1 ? "y" : "ies", x.mask);
    }
    if (x.lines->nelts == 0) {
        printf("\nNo line carries this subject_tag (check the key file: "
               "lines written under another key carry other tags).\n");
        return write_failed();
    }
    putchar('\n');
    table_init(&t, 9, head, maxw, p);
    for (i = 0; i < x.lines->nelts; i++) {
        const char *raw[9];
        size_t rlen[9];
        json_t *j = json_loadb(APR_ARRAY_IDX(x.lines, i, const char *),
                               APR_ARRAY_IDX(x.lens, i, size_t), JSON_FLAGS,
                               &jerr);
        int c;
        for (c = 0; c < 9; c++) {
            rlen[c] = (size_t)-1;
        }
        raw[0] = member_text(j, "seq", &rlen[0], p);
        raw[1] = ts_text(j, p);
        raw[2] = member_text(j, "request_id", &rlen[2], p);
        raw[3] = member_text(j, "client", &rlen[3], p);
        raw[4] = member_text(j, "operator", &rlen[4], p);
        raw[5] = member_text(j, "case", &rlen[5], p);
        raw[6] = member_text(j, "reason", &rlen[6], p);
        raw[7] = checks_text(j, p);
        raw[8] = is_query(j) ? status_text(j, p)
                 : apr_pstrcat(p, "op ", jstr(j, "op") ? jstr(j, "op") : "?",
                               NULL);
        table_add(&t, raw, rlen);
        json_decref(j);
    }
    table_print(&t);
    return write_failed();
}

/* -- roster -------------------------------------------------------- */

/* A text member kept as bytes: NULL when null or absent. */
typedef struct bstr_t {
    const char *s;
    size_t len;
} bstr_t;

typedef struct rrow_t {
    bstr_t client, oper;
    char first[33], last[33];
    uint64_t n, answered;
} rrow_t;

typedef struct iprow_t {
    bstr_t client;
    const char *ip;
    char last[33], last_any[33];
    uint64_t n;                 /* in the period */
    int registered;             /* listed for this client in the config */
    const char *also;           /* other clients it is registered for */
    int dup_same;               /* listed twice for this client */
} iprow_t;

typedef struct roster_t {
    const char *since;          /* "YYYY-MM-DD" or NULL */
    apr_hash_t *rows;           /* rrow_t by client+operator */
    apr_hash_t *ips;            /* iprow_t by client+ip */
    apr_pool_t *p;
} roster_t;

static bstr_t member_bytes(json_t *j, const char *key, apr_pool_t *p)
{
    bstr_t b;

    b.s = member_text(j, key, &b.len, p);
    if (b.s) {
        b.s = apr_pstrmemdup(p, b.s, b.len);
    }
    return b;
}

/* An unambiguous hash key of two values. */
static const char *key2(bstr_t a, const char *b, size_t blen,
                        apr_size_t *klen, apr_pool_t *p)
{
    char *k;
    const char *pre = a.s ? apr_psprintf(p, "s%" APR_SIZE_T_FMT ":", a.len)
                      : "n:";
    size_t pl = strlen(pre);

    *klen = pl + (a.s ? a.len : 0) + 1 + (b ? blen : 0);
    k = apr_palloc(p, *klen);
    memcpy(k, pre, pl);
    if (a.s) {
        memcpy(k + pl, a.s, a.len);
    }
    k[pl + (a.s ? a.len : 0)] = b ? 's' : 'n';
    if (b) {
        memcpy(k + pl + (a.s ? a.len : 0) + 1, b, blen);
    }
    return k;
}

static void copy_ts(char out[33], const char *ts)
{
    apr_cpystrn(out, ts ? ts : "", 33);
}

static iprow_t *ip_row(apr_hash_t *h, bstr_t client, const char *ip,
                       apr_pool_t *p)
{
    apr_size_t kl;
    const char *k = key2(client, ip, strlen(ip), &kl, p);
    iprow_t *r = apr_hash_get(h, k, kl);

    if (!r) {
        r = apr_pcalloc(p, sizeof(*r));
        r->client = client;
        r->ip = apr_pstrdup(p, ip);
        apr_hash_set(h, k, kl, r);
    }
    return r;
}

static int roster_line(scan_t *s, const char *line, size_t len, json_t *j,
                       int bad, int fi, apr_off_t off)
{
    roster_t *x = s->ctx;
    const char *ts = jstr(j, "ts"), *ip;
    bstr_t client, oper;
    apr_size_t kl;
    const char *k;
    rrow_t *r;
    iprow_t *ir;

    (void)line; (void)len; (void)bad; (void)fi; (void)off;
    if (!is_query(j) || !ts) {
        return 0;
    }
    if (x->since && strncmp(ts, x->since, 10) < 0) {
        return 0;
    }
    client = member_bytes(j, "client", x->p);
    oper = member_bytes(j, "operator", x->p);
    k = key2(client, oper.s, oper.len, &kl, x->p);
    r = apr_hash_get(x->rows, k, kl);
    if (!r) {
        r = apr_pcalloc(x->p, sizeof(*r));
        r->client = client;
        r->oper = oper;
        copy_ts(r->first, ts);
        apr_hash_set(x->rows, k, kl, r);
    }
    copy_ts(r->last, ts);
    r->n++;
    r->answered += answered_line(j);
    ip = jstr(j, "ip");
    ir = ip_row(x->ips, client, ip ? ip : "?", x->p);
    ir->n++;
    copy_ts(ir->last, ts);
    return 0;
}

static int cmp_bstr(bstr_t a, bstr_t b)
{
    size_t l = a.len < b.len ? a.len : b.len;
    int c;

    if (!a.s || !b.s) {
        return (a.s != NULL) - (b.s != NULL);
    }
    c = memcmp(a.s, b.s, l);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

static int cmp_rrow(const void *a, const void *b)
{
    const rrow_t *x = *(const rrow_t *const *)a;
    const rrow_t *y = *(const rrow_t *const *)b;
    int c = cmp_bstr(x->client, y->client);

    return c ? c : cmp_bstr(x->oper, y->oper);
}

static int cmp_iprow(const void *a, const void *b)
{
    const iprow_t *x = *(const iprow_t *const *)a;
    const iprow_t *y = *(const iprow_t *const *)b;
    int c = cmp_bstr(x->client, y->client);

    return c ? c : strcmp(x->ip, y->ip);
}

static apr_array_header_t *hash_sorted(apr_hash_t *h,
                                       int (*cmp)(const void *,
                                                  const void *),
                                       apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 16, sizeof(void *));
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(p, h); hi; hi = apr_hash_next(hi)) {
        APR_ARRAY_PUSH(a, void *) = apr_hash_this_val(hi);
    }
    qsort(a->elts, (size_t)a->nelts, sizeof(void *), cmp);
    return a;
}

static const char *ts_short(const char *ts, apr_pool_t *p)
{
    char *t;

    if (!ts || !*ts) {
        return NULL;
    }
    if (strlen(ts) < 19 || ts[10] != 'T') {
        return ts;
    }
    t = apr_pstrndup(p, ts, 19);
    t[10] = ' ';
    return t;
}

#define NO_CLIENT "(none: unknown_client)"

static int cmd_roster(apr_array_header_t *files, const char *since,
                      apr_pool_t *p)
{
    static const char *const head[7] = {
        "client", "operator", "first", "last", "queries", "answered",
        "refused"
    };
    static const char *const ihead[4] = {
        "client", "address", "queries", "last"
    };
    static const int maxw[7] = { 24, 24, 0, 0, 0, 0, 0 };
    static const int imaxw[4] = { 24, 0, 0, 0 };
    apr_array_header_t *a;
    roster_t x;
    scan_t s;
    table_t t;
    uint64_t total = 0;
    int i;

    memset(&x, 0, sizeof(x));
    x.since = since;
    x.p = p;
    x.rows = apr_hash_make(p);
    x.ips = apr_hash_make(p);
    if (scan_all(&s, files, roster_line, &x, "roster", p) != 0) {
        return 1;
    }
    printf("Register of everyone who queried (R4.3, R5.5)\n");
    if (since) {
        printf("period:       queries from %s on (Taipei time)\n", since);
    }
    else {
        printf("period:       every query in the files read\n");
    }
    chain_header(&s, files, p);
    a = hash_sorted(x.rows, cmp_rrow, p);
    for (i = 0; i < a->nelts; i++) {
        total += APR_ARRAY_IDX(a, i, rrow_t *)->n;
    }
    printf("queries:      %" APR_UINT64_T_FMT " by %d client/operator "
           "pair(s)\n\n", total, a->nelts);
    if (a->nelts == 0) {
        printf("No queries in the period.\n");
        return write_failed();
    }
    table_init(&t, 7, head, maxw, p);
    for (i = 0; i < a->nelts; i++) {
        const rrow_t *r = APR_ARRAY_IDX(a, i, rrow_t *);
        const char *raw[7];
        size_t rlen[7] = { r->client.len, r->oper.len, (size_t)-1,
                           (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1 };
        raw[0] = r->client.s;
        if (!raw[0]) {
            raw[0] = NO_CLIENT;
            rlen[0] = (size_t)-1;
        }
        raw[1] = r->oper.s;
        raw[2] = ts_short(r->first, p);
        raw[3] = ts_short(r->last, p);
        raw[4] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->n);
        raw[5] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->answered);
        raw[6] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->n - r->answered);
        table_add(&t, raw, rlen);
    }
    table_print(&t);
    printf("\nAddresses per client:\n\n");
    a = hash_sorted(x.ips, cmp_iprow, p);
    table_init(&t, 4, ihead, imaxw, p);
    for (i = 0; i < a->nelts; i++) {
        const iprow_t *r = APR_ARRAY_IDX(a, i, iprow_t *);
        const char *raw[4];
        size_t rlen[4] = { r->client.len, (size_t)-1, (size_t)-1,
                           (size_t)-1 };
        raw[0] = r->client.s;
        if (!raw[0]) {
            raw[0] = NO_CLIENT;
            rlen[0] = (size_t)-1;
        }
        raw[1] = r->ip;
        raw[2] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->n);
        raw[3] = ts_short(r->last, p);
        table_add(&t, raw, rlen);
    }
    table_print(&t);
    return write_failed();
}

/* -- ip-review ----------------------------------------------------- */

typedef struct ipreview_t {
    const char *since;          /* "YYYY-MM-DD" */
    apr_hash_t *ips;            /* iprow_t by client+ip */
    apr_pool_t *p;
} ipreview_t;

static int ipreview_line(scan_t *s, const char *line, size_t len,
                         json_t *j, int bad, int fi, apr_off_t off)
{
    ipreview_t *x = s->ctx;
    const char *ts = jstr(j, "ts"), *ip = jstr(j, "ip");
    iprow_t *r;

    (void)line; (void)len; (void)bad; (void)fi; (void)off;
    if (!is_query(j) || !ts) {
        return 0;
    }
    r = ip_row(x->ips, member_bytes(j, "client", x->p), ip ? ip : "?",
               x->p);
    copy_ts(r->last_any, ts);
    if (strncmp(ts, x->since, 10) >= 0) {
        r->n++;
        copy_ts(r->last, ts);
    }
    return 0;
}

/* The VerifyClient lines of a configuration file: (client, ip) pairs
 * into @p reg (const char *[2] each). */
static int read_clients(const char *path, apr_array_header_t *reg,
                        int *nclients, apr_pool_t *p)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, *tok, *save;
    size_t cap = 0;
    ssize_t n;
    char *acc = NULL;
    int cont = 0;

    if (!f) {
        fprintf(stderr, PROG ": cannot read --config %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    *nclients = 0;
    while ((n = getline(&line, &cap, f)) >= 0 || cont) {
        size_t l = n > 0 ? (size_t)n : 0;
        int more;
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r')) {
            l--;
        }
        more = n >= 0 && l && line[l - 1] == '\\';
        if (more) {
            l--;
        }
        acc = apr_pstrcat(p, cont ? acc : "", " ",
                          n >= 0 ? apr_pstrndup(p, line, l) : "", NULL);
        cont = more;
        if (more) {
            continue;
        }
        tok = apr_strtok(acc, " \t", &save);
        if (tok && !strcasecmp(tok, "VerifyClient")) {
            const char *name = apr_strtok(NULL, " \t", &save);
            if (name) {
                (*nclients)++;
                while ((tok = apr_strtok(NULL, " \t", &save))) {
                    char *ip, *s2;
                    if (strncmp(tok, "ip=", 3)) {
                        continue;
                    }
                    for (ip = apr_strtok(tok + 3, ",", &s2); ip;
                         ip = apr_strtok(NULL, ",", &s2)) {
                        const char **pair = apr_array_push(reg);
                        pair[0] = apr_pstrdup(p, name);
                        pair[1] = apr_pstrdup(p, ip);
                    }
                }
            }
        }
        if (n < 0) {
            break;
        }
    }
    free(line);
    fclose(f);
    return 0;
}

/* Today (Taipei) less @p months months, as "YYYY-MM-DD". */
static void months_before(int months, char out[11])
{
    verify_date_t d = verify_date_taipei(apr_time_now());
    int y = (int)(d / 10000), m = (int)(d / 100 % 100), dd = (int)(d % 100);
    char buf[11];

    m -= months;
    while (m < 1) {
        m += 12;
        y--;
    }
    for (; dd >= 28; dd--) {
        apr_snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, dd);
        if (verify_date_parse_iso(buf, 10)) {
            break;
        }
    }
    apr_snprintf(out, 11, "%04d-%02d-%02d", y, m, dd);
}

static int cmd_ip_review(apr_array_header_t *files, int months,
                         const char *config, apr_pool_t *p)
{
    static const char *const head[5] = {
        "client", "address", "queries", "last use", "finding"
    };
    static const int maxw[5] = { 24, 0, 0, 0, 0 };
    apr_array_header_t *reg = apr_array_make(p, 16, sizeof(const char *[2]));
    apr_array_header_t *a;
    apr_hash_t *byip = apr_hash_make(p);
    uint64_t idle = 0, dup = 0, unreg = 0;
    ipreview_t x;
    char since[11];
    int i, k, nclients = 0;
    scan_t s;
    table_t t;

    months_before(months, since);
    if (config && read_clients(config, reg, &nclients, p) != 0) {
        return 1;
    }
    memset(&x, 0, sizeof(x));
    x.since = since;
    x.p = p;
    x.ips = apr_hash_make(p);
    if (scan_all(&s, files, ipreview_line, &x, "ip-review", p) != 0) {
        return 1;
    }
    /* the register: every (client, ip) gets a row */
    for (i = 0; i < reg->nelts; i++) {
        const char *name = ((const char **)reg->elts)[2 * i];
        const char *ip = ((const char **)reg->elts)[2 * i + 1];
        const char *who = apr_hash_get(byip, ip, APR_HASH_KEY_STRING);
        bstr_t c;
        iprow_t *r;

        c.s = name;
        c.len = strlen(name);
        r = ip_row(x.ips, c, ip, p);
        if (r->registered) {
            r->dup_same = 1;
        }
        r->registered = 1;
        apr_hash_set(byip, ip, APR_HASH_KEY_STRING,
                     who ? apr_pstrcat(p, who, ",", name, NULL) : name);
    }
    printf("Review of the whitelisted addresses (R3.8)\n");
    printf("period:       the last %d month%s: from %s on (Taipei time)\n",
           months, months == 1 ? "" : "s", since);
    chain_header(&s, files, p);
    if (config) {
        printf("config:       %s: %d client(s), %d address(es) registered\n",
               config, nclients, reg->nelts);
    }
    else {
        printf("config:       none given (--config FILE also lists idle "
               "and duplicate registered addresses)\n");
    }
    putchar('\n');
    a = hash_sorted(x.ips, cmp_iprow, p);
    table_init(&t, 5, head, maxw, p);
    for (i = 0; i < a->nelts; i++) {
        iprow_t *r = APR_ARRAY_IDX(a, i, iprow_t *);
        const char *who = apr_hash_get(byip, r->ip, APR_HASH_KEY_STRING);
        const char *finding = NULL, *raw[5];
        size_t rlen[5] = { r->client.len, (size_t)-1, (size_t)-1,
                           (size_t)-1, (size_t)-1 };

        if (r->n == 0 && !r->registered) {
            continue;   /* seen only before the period, not registered */
        }
        if (config && r->registered && r->n == 0) {
            idle++;
            finding = r->last_any[0]
                ? apr_psprintf(p, "idle: consider removing (last use %s)",
                               ts_short(r->last_any, p))
                : "idle: consider removing (no use in the files read)";
        }
        if (config && r->registered && who && (strchr(who, ',')
                                               || r->dup_same)) {
            char *other = apr_pstrdup(p, who), *tok, *sv;
            const char *also = "";
            for (tok = apr_strtok(other, ",", &sv); tok;
                 tok = apr_strtok(NULL, ",", &sv)) {
                if (strcmp(tok, r->client.s) && !strstr(also, tok)) {
                    also = apr_pstrcat(p, also, *also ? ", " : "", tok,
                                       NULL);
                }
            }
            dup++;
            finding = apr_pstrcat(p, finding ? finding : "",
                                  finding ? "; " : "",
                                  *also ? "duplicate: also registered for "
                                  : "duplicate: listed twice for this "
                                    "client", also, NULL);
        }
        if (config && !r->registered) {
            unreg++;
            finding = r->client.s ? "not in the register given"
                                  : "refused caller (no register line)";
        }
        if (config && !finding) {
            finding = "in use";
        }
        raw[0] = r->client.s ? r->client.s : NO_CLIENT;
        if (!r->client.s) {
            rlen[0] = (size_t)-1;
        }
        raw[1] = r->ip;
        raw[2] = apr_psprintf(p, "%" APR_UINT64_T_FMT, r->n);
        raw[3] = r->n ? ts_short(r->last, p) : NULL;
        raw[4] = finding;
        table_add(&t, raw, rlen);
    }
    k = t.cells->nelts;
    if (k == 0) {
        printf("No queries in the period, and no register given.\n");
    }
    else {
        table_print(&t);
    }
    if (config) {
        printf("\nfindings:     %" APR_UINT64_T_FMT " idle, %"
               APR_UINT64_T_FMT " duplicate, %" APR_UINT64_T_FMT
               " not registered\n", idle, dup, unreg);
    }
    return write_failed();
}

/* ------------------------------------------------------------------ */
/* purge                                                               */
/* ------------------------------------------------------------------ */

/* The date of an audit file's name, or 0. */
static verify_date_t file_date(const char *path)
{
    const char *b = strrchr(path, '/');

    b = b ? b + 1 : path;
    if (strlen(b) != 22 || strncmp(b, "audit-", 6)
        || strcmp(b + 16, ".jsonl")) {
        return 0;
    }
    return verify_date_parse_iso(b + 6, 10);
}

static int cmd_purge(const char *dir, const char *before, int dry_run,
                     apr_pool_t *p)
{
    verify_date_t b = verify_date_parse_iso(before, strlen(before));
    verify_date_t today = verify_date_taipei(apr_time_now());
    verify_date_t limit = today - 50000;   /* the same day 5 years ago */
    apr_array_header_t *files = apr_array_make(p, 16, sizeof(afile_t));
    const char *argv1[2];
    char limit_s[11], today_s[11], hex[65], last_day[11], now[26];
    const char *cp_path, *tmp;
    apr_finfo_t fi;
    afile_t *last = NULL;
    json_t *cp;
    char *d;
    FILE *f;
    scan_t s;
    int i, n = 0;

    if (!b || strlen(before) != 10) {
        fprintf(stderr, PROG ": --before must be a date as YYYY-MM-DD, not "
                "\"%s\"\n", before);
        return 2;
    }
    verify_date_format(today, today_s);
    apr_snprintf(limit_s, sizeof(limit_s), "%04u-%02u-%02u", limit / 10000,
                 limit / 100 % 100, limit % 100);
    if (!verify_date_parse_iso(limit_s, 10)) {
        /* from 29 February: 28 February five years before */
        limit--;
        verify_date_format(limit, limit_s);
    }
    if (b > limit) {
        fprintf(stderr, PROG ": purge refused: %s is less than 5 years "
                "before today (%s, Taipei time). Audit files are kept at "
                "least 5 years (R4.1.5, R4.2.5): --before %s is the latest "
                "allowed. Nothing was deleted.\n", before, today_s, limit_s);
        return 1;
    }
    if (apr_stat(&fi, dir, APR_FINFO_TYPE, p) != APR_SUCCESS
        || fi.filetype != APR_DIR) {
        fprintf(stderr, PROG ": purge needs the audit directory, and %s is "
                "not one\n", dir);
        return 2;
    }
    argv1[0] = dir;
    argv1[1] = NULL;
    if (collect(1, argv1, 0, files, p) != 0) {
        return 1;
    }
    if (files->nelts == 0) {
        fprintf(stderr, PROG ": no audit files in %s\n", dir);
        return 1;
    }
    /* the whole chain first */
    if (scan_all(&s, files, NULL, NULL, "purge", p) != 0) {
        fprintf(stderr, PROG ": nothing was deleted\n");
        return 1;
    }
    for (i = 0; i < files->nelts; i++) {
        afile_t *af = &APR_ARRAY_IDX(files, i, afile_t);
        verify_date_t fd = file_date(af->path);
        if (fd && fd < b) {
            if (i != n) {
                break;  /* files in name order: older ones come first */
            }
            n++;
            if (af->lines) {
                last = af;
            }
        }
    }
    if (n == 0) {
        printf("nothing to purge: no audit file in %s is older than %s\n",
               dir, before);
        return write_failed();
    }
    if (!last) {
        fprintf(stderr, PROG ": the files older than %s hold no line: "
                "nothing to check point; remove them by hand\n", before);
        return 1;
    }
    if (n == files->nelts) {
        fprintf(stderr, PROG ": purge refused: every audit file in %s is "
                "older than %s; keep at least the newest\n", dir, before);
        return 1;
    }
    verify_date_format(file_date(APR_ARRAY_IDX(files, n - 1,
                                               afile_t).path), last_day);
    cp_path = apr_psprintf(p, "%s/" CHECKPOINT_PREFIX "%s.json", dir,
                           last_day);
    verify_hex(last->end.hash, 32, hex);
    for (i = 0; i < n; i++) {
        afile_t *af = &APR_ARRAY_IDX(files, i, afile_t);
        printf("%s %s (%" APR_UINT64_T_FMT " line(s), seq %"
               APR_UINT64_T_FMT "..%" APR_UINT64_T_FMT ")\n",
               dry_run ? "would delete" : "delete", af->path, af->lines,
               af->first_seq, af->last_seq);
    }
    printf("%s %s: last purged line seq %" APR_UINT64_T_FMT ", hash %s\n",
           dry_run ? "would write checkpoint" : "checkpoint", cp_path,
           last->end.seq, hex);
    if (dry_run) {
        printf("dry run: nothing was changed\n");
        return write_failed();
    }
    verify_time_format_s(apr_time_now(), now);
    cp = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:I}",
                   "tool", PROG " purge", "before", before,
                   "purged_through", last_day,
                   "last_seq", (json_int_t)last->end.seq, "last_hash", hex,
                   "purged_at", now, "files", (json_int_t)n);
    d = cp ? json_dumps(cp, JSON_COMPACT) : NULL;
    json_decref(cp);
    tmp = apr_pstrcat(p, cp_path, ".tmp", NULL);
    f = d ? fopen(tmp, "w") : NULL;
    if (!f || fprintf(f, "%s\n", d) < 0 || fflush(f) != 0
        || fsync(fileno(f)) != 0 || fclose(f) != 0
        || rename(tmp, cp_path) != 0) {
        fprintf(stderr, PROG ": cannot write the checkpoint %s: %s; nothing "
                "was deleted\n", cp_path, strerror(errno));
        free(d);
        unlink(tmp);
        return 1;
    }
    free(d);
    chmod(cp_path, 0640);
    for (i = 0; i < n; i++) {
        afile_t *af = &APR_ARRAY_IDX(files, i, afile_t);
        if (unlink(af->path) != 0) {
            fprintf(stderr, PROG ": cannot delete %s: %s\n", af->path,
                    strerror(errno));
            return 1;
        }
    }
    printf("purged %d file(s); `" PROG " verify %s` now starts from the "
           "checkpoint\n", n, dir);
    return write_failed();
}

#define OPTBIT(c) ((uint64_t)1 << ((c) - 'A'))

/* subject, roster, ip-review and purge: their options, then the run. */
static int other_command(const char *cmd, apr_getopt_t *os,
                         apr_array_header_t *files, const char *id,
                         const char *key, int as_json, const char *since,
                         const char *months, const char *config,
                         const char *before, int dry_run, apr_pool_t *p)
{
    long nmonths = 6;
    char *end;

    if (!strcmp(cmd, "purge")) {
        if (!before) {
            fprintf(stderr, PROG ": purge needs --before YYYY-MM-DD\n");
            return 2;
        }
        if (os->argc - os->ind != 1) {
            fprintf(stderr, PROG ": purge takes exactly one audit "
                    "directory\n");
            return 2;
        }
        return cmd_purge(os->argv[os->ind], before, dry_run, p);
    }
    if (!strcmp(cmd, "subject") && (!id || !key)) {
        fprintf(stderr, PROG ": subject needs --id ID and --key FILE (the "
                "VerifyKeyFile)\n");
        return 2;
    }
    if (id && !strcmp(id, "-")) {
        /* read from stdin: out of shell history and the process list */
        char buf[64];
        size_t l;
        if (!fgets(buf, sizeof(buf), stdin)) {
            buf[0] = '\0';
        }
        l = strlen(buf);
        while (l && apr_isspace(buf[l - 1])) {
            buf[--l] = '\0';
        }
        id = apr_pstrdup(p, buf);
        memset(buf, 0, sizeof(buf));
    }
    if (id) {
        char norm[VERIFY_ID_LEN + 1];
        verify_id_status_t st = verify_id_normalise(id, strlen(id), norm,
                                                    NULL);
        memset(norm, 0, sizeof(norm));
        if (st != VERIFY_ID_OK) {
            /* the ID is never echoed, not even a wrong one */
            fprintf(stderr, PROG ": --id is not a valid ID number: %s\n",
                    verify_id_strerror(st));
            return 2;
        }
    }
    if (since && (strlen(since) != 10
                  || !verify_date_parse_iso(since, 10))) {
        fprintf(stderr, PROG ": --since must be a date as YYYY-MM-DD, not "
                "\"%s\"\n", since);
        return 2;
    }
    if (months) {
        errno = 0;
        nmonths = strtol(months, &end, 10);
        if (errno || *end || end == months || nmonths < 1
            || nmonths > 120) {
            fprintf(stderr, PROG ": --months must be a number of months "
                    "from 1 to 120, not \"%s\"\n", months);
            return 2;
        }
    }
    if (os->ind >= os->argc) {
        fprintf(stderr, PROG ": %s: no audit files or directory given\n",
                cmd);
        return 2;
    }
    if (collect(os->argc, os->argv, os->ind, files, p) != 0) {
        return 1;
    }
    if (files->nelts == 0) {
        fprintf(stderr, PROG ": no audit files given (a directory is "
                "searched for audit-*.jsonl)\n");
        return 1;
    }
    if (!strcmp(cmd, "subject")) {
        return cmd_subject(files, id, key, as_json, p);
    }
    if (!strcmp(cmd, "roster")) {
        return cmd_roster(files, since, p);
    }
    return cmd_ip_review(files, (int)nmonths, config, p);
}

/* ------------------------------------------------------------------ */

int main(int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "month", 'm', 1, "YYYY-MM" },
        { "seed", 's', 1, "hex seed of the sample" },
        { "json", 'j', 0, "JSON Lines" },
        { "id", 'i', 1, "ID number" },
        { "key", 'k', 1, "key file" },
        { "since", 'S', 1, "YYYY-MM-DD" },
        { "months", 'M', 1, "months" },
        { "config", 'c', 1, "file with VerifyClient lines" },
        { "before", 'b', 1, "YYYY-MM-DD" },
        { "dry-run", 'n', 0, "dry run" },
        { "help", 'h', 0, "help" },
        { NULL, 0, 0, NULL }
    };
    const char *cmd, *month = NULL, *seed = NULL, *arg, *args = "";
    const char *id = NULL, *key = NULL, *since = NULL, *months = NULL;
    const char *config = NULL, *before = NULL;
    uint64_t allowed;
    int dry_run = 0;
    const char **av;
    apr_array_header_t *files;
    apr_getopt_t *os;
    apr_status_t rv;
    apr_pool_t *p;
    char last[11];
    int rc = 2, optch, as_json = 0, i;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        rc = argc < 2 ? 2 : 0;
        goto cleanup;
    }
    cmd = argv[1];
    files = apr_array_make(p, 16, sizeof(afile_t));
    if (!strcmp(cmd, "verify")) {
        if (argc < 3) {
            usage(stderr);
            goto cleanup;
        }
        rc = 1;
        if (collect(argc, argv, 2, files, p) != 0) {
            goto cleanup;
        }
        if (files->nelts == 0) {
            fprintf(stderr, PROG ": no audit files given (a directory is "
                    "searched for audit-*.jsonl)\n");
            goto cleanup;
        }
        rc = cmd_verify(files, p);
        goto cleanup;
    }
    if (!strcmp(cmd, "sample")) {
        allowed = OPTBIT('m') | OPTBIT('s') | OPTBIT('j');
    }
    else if (!strcmp(cmd, "report")) {
        allowed = OPTBIT('m') | OPTBIT('s') | OPTBIT('j');
    }
    else if (!strcmp(cmd, "subject")) {
        allowed = OPTBIT('i') | OPTBIT('k') | OPTBIT('j');
    }
    else if (!strcmp(cmd, "roster")) {
        allowed = OPTBIT('S');
    }
    else if (!strcmp(cmd, "ip-review")) {
        allowed = OPTBIT('M') | OPTBIT('c');
    }
    else if (!strcmp(cmd, "purge")) {
        allowed = OPTBIT('b') | OPTBIT('n');
    }
    else {
        fprintf(stderr, PROG ": command \"%s\" is not available in this "
                "version\n", cmd);
        usage(stderr);
        goto cleanup;
    }

    /* options may come before or after the files */
    av = apr_palloc(p, (size_t)argc * sizeof(*av));
    av[0] = apr_pstrcat(p, PROG " ", cmd, NULL);
    for (i = 2; i < argc; i++) {
        av[i - 1] = argv[i];
    }
    av[argc - 1] = NULL;
    apr_getopt_init(&os, p, argc - 1, av);
    os->interleave = 1;
    while ((rv = apr_getopt_long(os, opts, &optch, &arg)) == APR_SUCCESS) {
        switch (optch) {
        case 'm': month = arg; break;
        case 's': seed = arg; break;
        case 'j': as_json = 1; break;
        case 'i': id = arg; break;
        case 'k': key = arg; break;
        case 'S': since = arg; break;
        case 'M': months = arg; break;
        case 'c': config = arg; break;
        case 'b': before = arg; break;
        case 'n': dry_run = 1; break;
        case 'h': usage(stdout); rc = 0; goto cleanup;
        }
        if (optch != 'h' && !(allowed & OPTBIT(optch))) {
            int o;
            for (o = 0; opts[o].name && opts[o].optch != optch; o++) {
            }
            if (!strcmp(cmd, "report") && (optch == 's' || optch == 'j')) {
                continue;   /* said below, as before */
            }
            fprintf(stderr, PROG ": --%s does not belong to %s (see "
                    PROG " --help)\n", opts[o].name, cmd);
            goto cleanup;
        }
    }
    if (rv != APR_EOF) {
        fprintf(stderr, "(see " PROG " --help)\n");
        goto cleanup;
    }
    if (strcmp(cmd, "sample") && strcmp(cmd, "report")) {
        rc = other_command(cmd, os, files, id, key, as_json, since, months,
                           config, before, dry_run, p);
        goto cleanup;
    }
    if (!month) {
        fprintf(stderr, PROG ": %s needs --month YYYY-MM\n", cmd);
        goto cleanup;
    }
    if (month_last_day(month, last) != 0) {
        fprintf(stderr, PROG ": --month must be a month as YYYY-MM (e.g. "
                "2026-11), not \"%s\"\n", month);
        goto cleanup;
    }
    if (!strcmp(cmd, "report") && (seed || as_json)) {
        fprintf(stderr, PROG ": --seed and --json belong to sample, not "
                "report\n");
        goto cleanup;
    }
    if (os->ind >= os->argc) {
        fprintf(stderr, PROG ": %s: no audit files or directory given\n",
                cmd);
        goto cleanup;
    }
    rc = 1;
    if (collect(os->argc, os->argv, os->ind, files, p) != 0) {
        goto cleanup;
    }
    if (files->nelts == 0) {
        fprintf(stderr, PROG ": no audit files given (a directory is "
                "searched for audit-*.jsonl)\n");
        goto cleanup;
    }
    for (i = os->ind; i < os->argc; i++) {
        args = apr_pstrcat(p, args, i > os->ind ? " " : "",
                           shell_quote(os->argv[i], p), NULL);
    }
    if (!strcmp(cmd, "sample")) {
        rc = cmd_sample(files, month, seed, as_json, p);
    }
    else {
        rc = cmd_report(files, month, args, p);
    }

cleanup:
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
