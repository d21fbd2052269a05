/*
 * verify_csv.c -- batch intake: CSV parsing and record validation.
 *
 * A batch is all or nothing, so intake stops at the first fault and
 * reports it as "line N: fault (id A12*****89)"; the caller leaves the
 * store untouched. The ID appears masked only.
 */
#include <string.h>
#include <stdlib.h>
#include <apr_strings.h>
#include "verify_csv.h"
#include "verify_intake_private.h"
#include "verify_id.h"
#include "verify_text.h"
#include "verify_recset.h"
#include "verify_name.h"


unsigned long verify_line_at(const char *buf, size_t off)
{
    unsigned long line = 1;
    const char *nl = buf, *end = buf + off;

    while ((nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL) {
        line++;
        nl++;
    }
    return line;
}

int verify_csv_parse(const char *buf, size_t len, verify_csv_row_fn fn,
                     void *ctx, char **err, apr_pool_t *p)
{
    const char *z = memchr(buf, '\0', len);

    if (z) {
        *err = apr_psprintf(p, "line %lu: NUL byte in file",
                            verify_line_at(buf, (size_t)(z - buf)));
        return -1;
    }
    return verify_csv_parse_ex(buf, len, fn, NULL, ctx, err, p);
}

/* How often (bytes) the parse says how far it has come. */
#define PROGRESS_STEP ((size_t)16 << 20)

int verify_csv_parse_span(const char *buf, size_t len, span_t *sp,
                      verify_csv_row_fn fn, verify_csv_progress_fn progress,
                      void *ctx, char **err, apr_pool_t *p)
{
    size_t next_mark = sp->start + PROGRESS_STEP;
    const char *fields[VERIFY_CSV_MAX_FIELDS];
    size_t lens[VERIFY_CSV_MAX_FIELDS];
    char *scratch, *out;
    unsigned long line = sp->line, rec_line;
    size_t i = sp->start, end = sp->end;
    int nf, rc;

    if (i == 0 && len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        i = 3;
    }
    /* Unquoted output is never longer than the input. */
    scratch = apr_palloc(p, len - sp->start + 1);
    while (i < end) {
        if (buf[i] == '\n' || (buf[i] == '\r' && i + 1 < len
                               && buf[i + 1] == '\n')) {
            i += buf[i] == '\r' ? 2 : 1;
            line++;
            continue;           /* blank line */
        }
        if (progress && i >= next_mark) {
            progress(ctx, i);
            next_mark = i + PROGRESS_STEP;
        }
        rec_line = line;
        out = scratch;
        nf = 0;
        for (;;) {
            /* one field */
            if (nf == VERIFY_CSV_MAX_FIELDS) {
                *err = apr_psprintf(p, "line %lu: more than %d fields",
                                    rec_line, VERIFY_CSV_MAX_FIELDS);
                return -1;
            }
            fields[nf] = out;
            if (i < len && buf[i] == '"') {
                i++;
                for (;;) {
                    if (i >= len) {
                        *err = apr_psprintf(p, "line %lu: quoted field "
                                            "not closed", rec_line);
                        return -1;
                    }
                    if (buf[i] == '"') {
                        if (i + 1 < len && buf[i + 1] == '"') {
                            *out++ = '"';
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (buf[i] == '\n') {
                        line++;
                    }
                    *out++ = buf[i++];
                }
                if (i < len && buf[i] != ',' && buf[i] != '\n'
                    && !(buf[i] == '\r' && i + 1 < len
                         && buf[i + 1] == '\n')) {
                    *err = apr_psprintf(p, "line %lu: text after a closing "
                                        "quote", line);
                    return -1;
                }
            }
            else {
                while (i < len && buf[i] != ',' && buf[i] != '\n'
                       && !(buf[i] == '\r' && i + 1 < len
                            && buf[i + 1] == '\n')) {
                    if (buf[i] == '"') {
                        *err = apr_psprintf(p, "line %lu: quote inside an "
                                            "unquoted field", line);
                        return -1;
                    }
                    *out++ = buf[i++];
                }
            }
            lens[nf] = (size_t)(out - fields[nf]);
            *out++ = '\0';
            nf++;
            if (i < len && buf[i] == ',') {
                i++;
                continue;
            }
            break;
        }
        if (i < len) {
            i += buf[i] == '\r' ? 2 : 1;
            line++;
        }
        rc = fn(ctx, rec_line, fields, lens, nf);
        if (rc != 0) {
            sp->stop = i;
            sp->line = line;
            return rc;
        }
    }
    sp->stop = i;
    sp->line = line;
    return 0;
}

int verify_csv_parse_ex(const char *buf, size_t len, verify_csv_row_fn fn,
                        verify_csv_progress_fn progress, void *ctx,
                        char **err, apr_pool_t *p)
{
    span_t sp = { 0, len, 1, 0 };

    return verify_csv_parse_span(buf, len, &sp, fn, progress, ctx, err, p);
}


typedef struct {
    int role;
    const char *names;      /* '|'-separated header names */
} column_t;

static const column_t columns[] = {
    { COL_ID,         "id|統一編號|身分證統一編號|身分證字號|身分證號" },
    { COL_NAME,       "name|姓名" },
    { COL_BIRTH,      "birth_date|出生日期|出生年月日" },
    { COL_INDIGENOUS, "indigenous|原住民身分別|原住民身分|原住民別" },
    { COL_VALID,      "valid_until|有效期限|有效日期|有效期間迄日" },
    { COL_LEVEL,      "level|障礙等級|等級" },
    { COL_ROMANISED,  "romanised|romanized|name_romanised|羅馬拼音|"
                      "並列羅馬拼音|原住民族語羅馬拼音" },
};

/* The columns each source needs (and allows). */
static const unsigned source_cols[VERIFY_SRC_COUNT] = {
    1u << COL_ID | 1u << COL_NAME | 1u << COL_BIRTH | 1u << COL_INDIGENOUS,
    1u << COL_ID | 1u << COL_VALID,
    1u << COL_ID | 1u << COL_LEVEL | 1u << COL_VALID
};

/* The columns a source may have besides (optional). */
static const unsigned source_optional[VERIFY_SRC_COUNT] = {
    1u << COL_ROMANISED, 0, 0
};


static int name_in(const char *list, const char *s, size_t len)
{
    const char *q = list, *bar;

    for (;;) {
        bar = strchr(q, '|');
        size_t n = bar ? (size_t)(bar - q) : strlen(q);
        if (n == len && strncasecmp(q, s, n) == 0) {
            return 1;
        }
        if (!bar) {
            return 0;
        }
        q = bar + 1;
    }
}

static int header(intake_t *in, unsigned long line, const char *const *f,
                  const size_t *lens, int n)
{
    unsigned need = source_cols[in->src], seen = 0;
    unsigned allowed = need | source_optional[in->src];
    size_t c;
    int i;

    for (i = 0; i < COL_COUNT; i++) {
        in->pos[i] = -1;
    }
    for (i = 0; i < n; i++) {
        const char *s = f[i];
        size_t l = lens[i];
        while (l && (*s == ' ')) s++, l--;
        while (l && s[l - 1] == ' ') l--;
        for (c = 0; c < sizeof(columns) / sizeof(columns[0]); c++) {
            if ((allowed & (1u << columns[c].role))
                && name_in(columns[c].names, s, l)) {
                break;
            }
        }
        if (c == sizeof(columns) / sizeof(columns[0])) {
            /* A file without its header line has personal data here:
             * echo only short ASCII words, never a name or an ID. */
            size_t k;
            int shown = l > 0 && l <= 20;
            for (k = 0; shown && k < l; k++) {
                shown = (s[k] >= 'a' && s[k] <= 'z')
                        || (s[k] >= 'A' && s[k] <= 'Z') || s[k] == '_'
                        || s[k] == ' ';
            }
            if (shown) {
                in->err = apr_psprintf(in->p, "line %lu: header: unknown "
                                       "column \"%.*s\" (column %d) for "
                                       "source %s", line, (int)l, s, i + 1,
                                       verify_source_name(in->src));
            }
            else {
                in->err = apr_psprintf(in->p, "line %lu: header: unknown "
                                       "column %d for source %s (a header "
                                       "line is required)", line, i + 1,
                                       verify_source_name(in->src));
            }
            return -1;
        }
        if (seen & (1u << columns[c].role)) {
            in->err = apr_psprintf(in->p, "line %lu: header: column \"%.*s\""
                                   " given twice", line, (int)l, s);
            return -1;
        }
        seen |= 1u << columns[c].role;
        in->pos[columns[c].role] = i;
    }
    if ((seen & need) != need) {
        for (c = 0; !((need & ~seen) & (1u << columns[c].role)); c++)
            ;
        in->err = apr_psprintf(in->p, "line %lu: header: missing column %.*s"
                               " (a header line is required)", line,
                               (int)strcspn(columns[c].names, "|"),
                               columns[c].names);
        return -1;
    }
    in->nfields = n;
    in->have_header = 1;
    return 0;
}

static int fault(intake_t *in, unsigned long line, const char *id,
                 size_t idlen, const char *what)
{
    char masked[VERIFY_ID_LEN + 1];

    verify_id_mask(id, idlen, masked);
    in->err = apr_psprintf(in->p, "line %lu: %s (id %s)", line, what,
                           masked);
    return -1;
}

static int indigenous_value(const char *s, size_t l)
{
    if (l == 0) {
        return VERIFY_INDIGENOUS_NONE;
    }
    if (name_in("mountain|山地|山地原住民|山", s, l)) {
        return VERIFY_INDIGENOUS_MOUNTAIN;
    }
    if (name_in("plain|平地|平地原住民|平", s, l)) {
        return VERIFY_INDIGENOUS_PLAIN;
    }
    return -1;
}

static int level_value(const char *s, size_t l)
{
    if (l == 1 && s[0] >= '1' && s[0] <= '4') {
        return s[0] - '0';
    }
    if (name_in("mild|輕度", s, l)) return 1;
    if (name_in("moderate|中度", s, l)) return 2;
    if (name_in("severe|重度", s, l)) return 3;
    if (name_in("profound|極重度", s, l)) return 4;
    return -1;
}

/* A name of the batch (the Han name, or with @p romanised the
 * romanised one) in the current normal form, into @p norm (*nl: its
 * length, and the name's on entry); NULL, or what is wrong with it. */
static const char *name_norm(intake_t *in, const char *nm, size_t *nl,
                             int romanised, char norm[VERIFY_NAME_NORM_MAX])
{
    const char *what = romanised ? "romanised name" : "name";
    size_t n;

    if (!verify_utf8_clean(nm, *nl)) {
        return apr_psprintf(in->p, "%s is not clean UTF-8 text", what);
    }
    n = verify_name_fold(nm, *nl, norm, VERIFY_NAME_NORM_MAX);
    if (n == (size_t)-1
        || verify_utf8_chars(norm, n) > VERIFY_NAME_MAX_CHARS) {
        return apr_psprintf(in->p, "%s longer than %d characters", what,
                            VERIFY_NAME_MAX_CHARS);
    }
    if (n == 0) {
        /* an empty romanised column is no romanised name (never here) */
        return apr_psprintf(in->p, "%s is empty", what);
    }
    *nl = n;
    return NULL;
}

/* The record's key (the ID's store tag) into @p key, and the name tag
 * of @p norm (@p nl bytes; NULL: no name) into the record: the two
 * hashed together (verify_keys_tag2). */
static void tag_record(intake_t *in, const char *id, const char *norm,
                       size_t nl, verify_record_t *rec,
                       unsigned char key[VERIFY_TAG_LEN])
{
    unsigned char full[VERIFY_TAG_LEN];

    if (!norm) {
        verify_keys_tag(in->keys, VERIFY_KEY_STORE, id, VERIFY_ID_LEN, key);
        return;
    }
    verify_keys_tag2(in->keys, VERIFY_KEY_STORE, id, VERIFY_ID_LEN, key,
                     VERIFY_KEY_NAME, norm, nl, full);
    memcpy(rec->name_tag, full, VERIFY_NAME_TAG_LEN);
}

int verify_intake_row(void *ctx, unsigned long line, const char *const *f,
               const size_t *lens, int n)
{
    intake_t *in = ctx;
    char id[VERIFY_ID_LEN + 1], norm[VERIFY_NAME_NORM_MAX];
    verify_record_t rec;
    verify_import_rec_t *r;
    verify_id_status_t st;
    const char *s, *bad, *name = NULL;
    size_t l, nl = 0;
    int v;

    if (!in->have_header) {
        return header(in, line, f, lens, n);
    }
    if (in->first_bad
        && __atomic_load_n(in->first_bad, __ATOMIC_RELAXED) < in->part) {
        return PART_STOPPED;
    }
    if (n != in->nfields) {
        in->err = apr_psprintf(in->p, "line %lu: %d fields, the header has "
                               "%d", line, n, in->nfields);
        return -1;
    }
    s = f[in->pos[COL_ID]];
    l = lens[in->pos[COL_ID]];
    st = verify_id_normalise(s, l, id, NULL);
    if (st != VERIFY_ID_OK) {
        return fault(in, line, s, l, apr_psprintf(in->p, "invalid id: %s",
                                                  verify_id_strerror(st)));
    }
    memset(&rec, 0, sizeof(rec));
    if (in->pos[COL_NAME] >= 0) {
        nl = lens[in->pos[COL_NAME]];
        bad = name_norm(in, f[in->pos[COL_NAME]], &nl, 0, norm);
        if (bad) {
            return fault(in, line, id, VERIFY_ID_LEN, bad);
        }
        name = norm;            /* tagged with the ID, in tag_record */
        rec.name_form = VERIFY_RECORD_HOUSEHOLD_VERSION;
    }
    if (in->pos[COL_ROMANISED] >= 0 && lens[in->pos[COL_ROMANISED]]) {
        size_t rl = lens[in->pos[COL_ROMANISED]];
        char rnorm[VERIFY_NAME_NORM_MAX];
        unsigned char full[VERIFY_TAG_LEN];

        bad = name_norm(in, f[in->pos[COL_ROMANISED]], &rl, 1, rnorm);
        if (bad) {
            return fault(in, line, id, VERIFY_ID_LEN, bad);
        }
        verify_keys_tag(in->keys, VERIFY_KEY_NAME, rnorm, rl, full);
        memcpy(rec.romanised_tag, full, VERIFY_NAME_TAG_LEN);
        rec.has_romanised = 1;
    }
    if (in->pos[COL_BIRTH] >= 0) {
        rec.birth = verify_date_parse_any(f[in->pos[COL_BIRTH]],
                                          lens[in->pos[COL_BIRTH]]);
        if (rec.birth == 0) {
            return fault(in, line, id, VERIFY_ID_LEN, "invalid birth_date "
                         "(YYYY-MM-DD, YYYMMDD or YYY/MM/DD)");
        }
        if (rec.birth > in->today) {
            return fault(in, line, id, VERIFY_ID_LEN,
                         "birth_date in the future");
        }
    }
    if (in->pos[COL_INDIGENOUS] >= 0) {
        v = indigenous_value(f[in->pos[COL_INDIGENOUS]],
                             lens[in->pos[COL_INDIGENOUS]]);
        if (v < 0) {
            return fault(in, line, id, VERIFY_ID_LEN, "invalid indigenous "
                         "(empty, mountain/山地 or plain/平地)");
        }
        rec.indigenous = (unsigned char)v;
    }
    if (in->pos[COL_VALID] >= 0) {
        rec.valid_until = verify_date_parse_any(f[in->pos[COL_VALID]],
                                                lens[in->pos[COL_VALID]]);
        if (rec.valid_until == 0) {
            return fault(in, line, id, VERIFY_ID_LEN, "invalid valid_until "
                         "(YYYY-MM-DD, YYYMMDD or YYY/MM/DD)");
        }
    }
    if (in->pos[COL_LEVEL] >= 0) {
        v = level_value(f[in->pos[COL_LEVEL]], lens[in->pos[COL_LEVEL]]);
        if (v < 0) {
            return fault(in, line, id, VERIFY_ID_LEN, "invalid level (1-4, "
                         "mild/moderate/severe/profound or 輕度/中度/重度/"
                         "極重度)");
        }
        rec.level = (unsigned char)v;
    }
    if (in->set) {
        verify_import_rec_t one;

        /* whole, padding too: a spilled record goes to a file as it is,
         * and the stack's old bytes (the row's fields) must not */
        memset(&one, 0, sizeof(one));
        tag_record(in, id, name, nl, &rec, one.key);
        one.vlen = (unsigned char)verify_record_encode(in->src, &rec,
                                                       one.val);
        one.line = line;
        return verify_recset_add(in->set, &one, &in->err);
    }
    if (in->n == in->cap) {
        size_t ncap = in->cap ? in->cap * 2 : 1024;
        verify_import_rec_t *nr = realloc(in->recs, ncap * sizeof(*nr));
        if (nr == NULL) {
            in->err = apr_pstrdup(in->p, "out of memory");
            return -1;
        }
        in->recs = nr;
        in->cap = ncap;
    }
    r = &in->recs[in->n++];
    tag_record(in, id, name, nl, &rec, r->key);
    r->vlen = (unsigned char)verify_record_encode(in->src, &rec, r->val);
    r->line = line;
    return 0;
}

static apr_status_t free_recs(void *data)
{
    free(data);
    return APR_SUCCESS;
}

/* parse progress: the bytes before @p off are done with */
static void parsed_upto(void *ctx, size_t off)
{
    intake_t *in = ctx;

    in->drop(in->drop_ctx, in->done, off);
    in->done = off;
}

/* Window of the checks over the whole batch before its parse. */
#define SCAN_STEP ((size_t)16 << 20)

/*
 * Bytes [from, to) of the batch (@p to: its end, or just after a line
 * feed) are UTF-8 and have no NUL byte: checked a window at a time,
 * each window told to @p drop (if not NULL) when done with. The offset
 * of the first fault in the span (*nul: a NUL byte, not bad UTF-8), or
 * (size_t)-1.
 */
size_t verify_intake_scan(const char *buf, size_t from, size_t to, int *nul,
                          unsigned long *lines, verify_intake_span_fn drop,
                          void *drop_ctx)
{
    size_t off = from, w, bad, step;
    const char *z, *q, *end;

    while (off < to) {
        w = to - off < SCAN_STEP ? to - off : SCAN_STEP;
        bad = verify_utf8_scan(buf + off, w);
        z = memchr(buf + off, '\0', bad);
        if (z) {
            *nul = 1;
            return (size_t)(z - buf);
        }
        if (bad != w && (off + w == to || w - bad > 3)) {
            *nul = 0;
            return off + bad;
        }
        /* a character cut by the window's end: from its start again */
        step = bad == w ? w : bad;
        if (lines) {
            /* counted while the window is in memory */
            for (q = buf + off, end = q + step;
                 (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++) {
                ++*lines;
            }
        }
        if (drop) {
            drop(drop_ctx, off, off + step);
        }
        off += step;
    }
    return (size_t)-1;
}

char *verify_intake_scan_fault(const char *buf, size_t off, int nul,
                               apr_pool_t *p)
{
    if (nul) {
        return apr_psprintf(p, "line %lu: NUL byte in file",
                            verify_line_at(buf, off));
    }
    return apr_psprintf(p, "line %lu: not valid UTF-8 (use --encoding big5 "
                        "for Big5 files)", verify_line_at(buf, off));
}

/* The records of [sp->start, sp->end) into @p in (its header known). */
int verify_intake_records(intake_t *in, const char *buf, size_t len,
                         span_t *sp, char **err)
{
    int rc = verify_csv_parse_span(buf, len, sp, verify_intake_row,
                                   in->drop ? parsed_upto : NULL, in,
                                   err, in->p);

    if (rc != 0 && in->err) {
        *err = in->err;
    }
    return rc;
}

/* The whole batch, in this thread: scanned, then parsed. */
apr_status_t verify_intake_serial(intake_t *in, const char *buf, size_t len,
                           char **err)
{
    span_t sp = { 0, len, 1, 0 };
    size_t bad;
    int nul, rc;

    bad = verify_intake_scan(buf, 0, len, &nul, NULL, in->drop, in->drop_ctx);
    if (bad != (size_t)-1) {
        *err = verify_intake_scan_fault(buf, bad, nul, in->p);
        return APR_EINVAL;
    }
    in->done = 0;
    rc = verify_intake_records(in, buf, len, &sp, err);
    if (rc == 0 && !in->have_header) {
        *err = apr_pstrdup(in->p, "line 1: empty file (a header line is "
                           "required)");
        rc = -1;
    }
    if (in->drop) {
        in->drop(in->drop_ctx, 0, len);
    }
    return rc != 0 ? APR_EINVAL : APR_SUCCESS;
}

apr_status_t verify_intake(verify_source_t src, const char *buf, size_t len,
                           const verify_keys_t *keys, verify_date_t today,
                           verify_import_rec_t **recs, size_t *n,
                           char **err, apr_pool_t *p)
{
    intake_t in;

    memset(&in, 0, sizeof(in));
    in.src = src;
    in.keys = keys;
    in.today = today;
    in.p = p;
    *recs = NULL;
    *n = 0;
    if (verify_intake_serial(&in, buf, len, err) != APR_SUCCESS) {
        free(in.recs);
        return APR_EINVAL;
    }
    if (in.recs) {
        apr_pool_cleanup_register(p, in.recs, free_recs,
                                  apr_pool_cleanup_null);
    }
    *recs = in.recs;
    *n = in.n;
    return APR_SUCCESS;
}

/* verify_intake_set()'s @p drop, told the end of each span. */
typedef struct drop_to_t {
    verify_intake_drop_fn fn;
    void *ctx;
} drop_to_t;

static void drop_to(void *ctx, size_t from, size_t to)
{
    drop_to_t *d = ctx;

    d->fn(d->ctx, to);
}

apr_status_t verify_intake_set(verify_source_t src, const char *buf,
                               size_t len, const verify_keys_t *keys,
                               verify_date_t today, verify_recset_t *set,
                               verify_intake_drop_fn drop, void *drop_ctx,
                               char **err, apr_pool_t *p)
{
    drop_to_t d = { drop, drop_ctx };
    intake_t in;

    memset(&in, 0, sizeof(in));
    in.src = src;
    in.keys = keys;
    in.today = today;
    in.set = set;
    in.drop = drop ? drop_to : NULL;
    in.drop_ctx = &d;
    in.p = p;
    return verify_intake_serial(&in, buf, len, err);
}
