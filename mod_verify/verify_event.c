/*
 * verify_event.c -- administrative events as the chain records them:
 * imports, purges, refused spool entries, changes of the client
 * register (and the register's state kept between starts).
 *
 * Written in one place so that what the tools print, what they spool
 * and what the chain records are the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>
#include <apr_strings.h>
#include "verify_audit_line.h"
#include "verify_event.h"
#include "verify_text.h"
#include "verify_sha256.h"

/* Bounds of the texts an event carries (escaped bytes). */
#define SIGNER_MAX 1024
#define FAULT_MAX 300
#define USER_MAX 64
#define PATH_MAX_OUT 512
/* The register's name lists: what one line may hold of them. */
#define REGISTER_NAMES_MAX 3000

static void str_member(verify_jbuf_t *b, const char *key, const char *s,
                       size_t max_out)
{
    VERIFY_JRAW(b, ",");
    verify_jbuf_key(b, key);
    if (s) {
        verify_jbuf_str(b, s, strlen(s), max_out);
    }
    else {
        VERIFY_JRAW(b, "null");
    }
}

static void date_member(verify_jbuf_t *b, const char *key, verify_date_t d)
{
    char s[11];

    if (d) {
        verify_date_format(d, s);
    }
    str_member(b, key, d ? s : NULL, sizeof(s));
}

static void bool_member(verify_jbuf_t *b, const char *key, int v)
{
    VERIFY_JRAW(b, ",");
    verify_jbuf_key(b, key);
    if (v < 0) {
        VERIFY_JRAW(b, "null");
    }
    else if (v) {
        VERIFY_JRAW(b, "true");
    }
    else {
        VERIFY_JRAW(b, "false");
    }
}

static void sha_member(verify_jbuf_t *b, const unsigned char *sha256)
{
    char sha[65];

    if (sha256) {
        verify_hex(sha256, 32, sha);
    }
    str_member(b, "sha256", sha256 ? sha : NULL, sizeof(sha));
}

void verify_event_import(verify_jbuf_t *b, const verify_event_import_t *e)
{
    char sha[65], ts[32];
    int i;

    VERIFY_JRAW(b, ",\"op\":\"import\"");
    str_member(b, "result", e->accepted ? "accepted" : "refused", 16);
    str_member(b, "source", verify_source_name(e->src), 32);
    str_member(b, "batch_id", e->batch_id, 64);
    VERIFY_JRAW(b, ",\"records\":");
    if (e->have_records) {
        verify_jbuf_u64(b, e->records);
    }
    else {
        VERIFY_JRAW(b, "null");
    }
    if (e->sha256) {
        verify_hex(e->sha256, 32, sha);
    }
    str_member(b, "sha256", e->sha256 ? sha : NULL, sizeof(sha));
    str_member(b, "imported_at", e->imported_at, 64);
    date_member(b, "approved_until", e->approved_until);
    str_member(b, "signer", e->signer, SIGNER_MAX);
    if (e->signed_at) {
        verify_time_format_s(e->signed_at, ts);
    }
    str_member(b, "signed_at", e->signed_at ? ts : NULL, sizeof(ts));
    bool_member(b, "encrypted", e->encrypted);
    bool_member(b, "plain", e->plain);
    VERIFY_JRAW(b, ",\"forced\":");
    if (e->forced) {
        VERIFY_JRAW(b, "[");
        for (i = 0; e->forced[i]; i++) {
            if (i) {
                VERIFY_JRAW(b, ",");
            }
            verify_jbuf_str(b, e->forced[i], strlen(e->forced[i]), 32);
        }
        VERIFY_JRAW(b, "]");
    }
    else {
        VERIFY_JRAW(b, "null");
    }
    str_member(b, "input", e->input, 32);
    if (!e->accepted) {
        str_member(b, "fault", e->fault ? e->fault : "unknown", FAULT_MAX);
    }
    str_member(b, "user", e->user, USER_MAX);
}

void verify_event_recovery(verify_jbuf_t *b,
                           const verify_event_recovery_t *e)
{
    VERIFY_JRAW(b, ",\"op\":\"import_recovery\"");
    bool_member(b, "committed", e->committed);
    str_member(b, "source", verify_source_name(e->src), 32);
    str_member(b, "batch_id", e->batch_id, 64);
    VERIFY_JRAW(b, ",\"records\":");
    if (e->have_records) {
        verify_jbuf_u64(b, e->records);
    }
    else {
        VERIFY_JRAW(b, "null");
    }
    sha_member(b, e->sha256);
    str_member(b, "imported_at", e->imported_at, 64);
    str_member(b, "file", e->file, PATH_MAX_OUT);
    str_member(b, "input", e->input, 32);
    str_member(b, "pending_since", e->pending_since, 64);
    str_member(b, "import_user", e->import_user, USER_MAX);
    str_member(b, "user", e->user, USER_MAX);
}

void verify_event_intake_policy(verify_jbuf_t *b, int require_signed,
                                int previous, const char *store,
                                const char *user)
{
    VERIFY_JRAW(b, ",\"op\":\"intake_policy\"");
    bool_member(b, "require_signed", require_signed);
    bool_member(b, "previous", previous);
    str_member(b, "store", store, PATH_MAX_OUT);
    str_member(b, "user", user, USER_MAX);
}

void verify_event_purge(verify_jbuf_t *b, const verify_event_purge_t *e)
{
    VERIFY_JRAW(b, ",\"op\":\"purge\"");
    str_member(b, "result", e->result, 16);
    str_member(b, "audit_dir", e->audit_dir, PATH_MAX_OUT);
    str_member(b, "before", e->before, 16);
    str_member(b, "purged_through", e->purged_through, 16);
    VERIFY_JRAW(b, ",\"files\":");
    verify_jbuf_u64(b, (uint64_t)(e->files > 0 ? e->files : 0));
    VERIFY_JRAW(b, ",\"last_seq\":");
    if (e->have_last) {
        verify_jbuf_u64(b, e->last_seq);
    }
    else {
        VERIFY_JRAW(b, "null");
    }
    str_member(b, "last_hash", e->have_last ? e->last_hash : NULL, 64);
    str_member(b, "checkpoint", e->checkpoint, 64);
    if (e->fault) {
        str_member(b, "fault", e->fault, FAULT_MAX);
    }
    str_member(b, "user", e->user, USER_MAX);
}

void verify_event_spool_refused(verify_jbuf_t *b, const char *why,
                                const char *kept_as)
{
    VERIFY_JRAW(b, ",\"op\":\"spool_refused\"");
    str_member(b, "fault", why, FAULT_MAX);
    str_member(b, "kept_as", kept_as, 64);
}

const char *verify_event_fault(const char *msg, apr_pool_t *p)
{
    char *out = apr_palloc(p, 2 * strlen(msg) + 8), *o = out;
    const char *s = msg, *end;

    while (*s) {
        if (*s == '"') {
            /* quoted text came from the batch: never copied */
            end = strchr(s + 1, '"');
            memcpy(o, "\"\xe2\x80\xa6\"", 5);
            o += 5;
            if (!end) {
                break;
            }
            s = end + 1;
        }
        else if (!strncmp(s, " (id ", 5)) {
            /* a (masked) ID: left out */
            end = strchr(s, ')');
            if (!end) {
                break;
            }
            s = end + 1;
        }
        else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

const char *verify_event_user(apr_pool_t *p)
{
    char buf[32], *end;
    struct passwd *pw;
    const char *name;
    unsigned long uid;
    ssize_t n = -1;
    FILE *f;

    f = fopen("/proc/self/loginuid", "re");
    if (f) {
        n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
    }
    if (n > 0) {
        buf[n] = '\0';
        uid = strtoul(buf, &end, 10);
        /* (uid_t)-1: no login session (a daemon, a container) */
        if (end != buf && uid != 4294967295UL) {
            pw = getpwuid((uid_t)uid);
            return pw ? apr_pstrdup(p, pw->pw_name)
                      : apr_psprintf(p, "%lu", uid);
        }
    }
    name = getlogin();
    if (name && *name) {
        return apr_pstrdup(p, name);
    }
    pw = getpwuid(getuid());
    return pw ? apr_pstrdup(p, pw->pw_name)
              : apr_psprintf(p, "%ld", (long)getuid());
}

/* -- the client register ------------------------------------------- */

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];

    verify_sha256_once(data, len, md);
    verify_hex(md, 32, out);
}

typedef struct reg_entry_t {
    const char *name;
    const char *text;           /* canonical lines, '\n'-joined */
} reg_entry_t;

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const reg_entry_t *)a)->name,
                  ((const reg_entry_t *)b)->name);
}

/* The clients' lines of @p st, "NAME ENTRY\n" each, and the digest. */
static void state_digest(verify_register_state_t *st, apr_pool_t *p)
{
    const char *lines = "";
    int i;

    for (i = 0; i < st->names->nelts; i++) {
        lines = apr_pstrcat(p, lines, APR_ARRAY_IDX(st->names, i,
                                                    const char *), " ",
                            APR_ARRAY_IDX(st->entries, i, const char *),
                            "\n", NULL);
    }
    sha256_hex(lines, strlen(lines), st->digest);
}

verify_register_state_t *verify_register_state(
    const apr_array_header_t *clients, apr_pool_t *p)
{
    verify_register_state_t *st = apr_pcalloc(p, sizeof(*st));
    int n = clients ? clients->nelts : 0, i, k, m = 0;
    reg_entry_t *e = apr_pcalloc(p, sizeof(*e) * (size_t)(n ? n : 1));
    const verify_client_t *cl;
    const char *canon;
    char *hex;

    for (i = 0; i < n; i++) {
        cl = APR_ARRAY_IDX(clients, i, const verify_client_t *);
        canon = verify_register_canonical(cl, p);
        for (k = 0; k < m && strcmp(e[k].name, cl->name); k++) {
        }
        if (k < m) {
            e[k].text = apr_pstrcat(p, e[k].text, "\n", canon, NULL);
        }
        else {
            e[m].name = cl->name;
            e[m].text = canon;
            m++;
        }
    }
    qsort(e, (size_t)m, sizeof(*e), entry_cmp);
    st->names = apr_array_make(p, m ? m : 1, sizeof(const char *));
    st->entries = apr_array_make(p, m ? m : 1, sizeof(const char *));
    for (i = 0; i < m; i++) {
        hex = apr_palloc(p, 65);
        sha256_hex(e[i].text, strlen(e[i].text), hex);
        APR_ARRAY_PUSH(st->names, const char *) = e[i].name;
        APR_ARRAY_PUSH(st->entries, const char *) = hex;
    }
    state_digest(st, p);
    return st;
}

#define STATE_HEAD "mod_verify register state 1\n"

char *verify_register_state_format(const verify_register_state_t *st,
                                   size_t *len, apr_pool_t *p)
{
    char *s = apr_pstrcat(p, STATE_HEAD "digest ", st->digest, "\n", NULL);
    int i;

    for (i = 0; i < st->names->nelts; i++) {
        s = apr_pstrcat(p, s, "client ", APR_ARRAY_IDX(st->names, i,
                                                        const char *), " ",
                        APR_ARRAY_IDX(st->entries, i, const char *), "\n",
                        NULL);
    }
    *len = strlen(s);
    return s;
}

/* 64 lower-case hex digits? */
static int hex64(const char *s, size_t len)
{
    unsigned char tmp[32];

    return len == 64 && verify_unhex(s, 32, tmp, 0) == 0;
}

/* A client name as the register allows it. */
static int name_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > 64) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || strchr("-_.", s[i]))) {
            return 0;
        }
    }
    return 1;
}

apr_status_t verify_register_state_parse(const char *buf, size_t len,
                                         verify_register_state_t **out,
                                         char **err, apr_pool_t *p)
{
    verify_register_state_t *st = apr_pcalloc(p, sizeof(*st));
    size_t hl = sizeof(STATE_HEAD) - 1, ll;
    const char *s = buf, *end = buf + len, *nl, *sp;
    const char *prev = NULL, *name;
    char stored[65];
    unsigned long line = 3;

    if (memchr(buf, '\0', len) || len < hl || memcmp(buf, STATE_HEAD, hl)) {
        *err = apr_pstrdup(p, "line 1 is not \"mod_verify register state "
                           "1\"");
        return APR_EINVAL;
    }
    s += hl;
    nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl || nl - s != 7 + 64 || memcmp(s, "digest ", 7)
        || !hex64(s + 7, 64)) {
        *err = apr_pstrdup(p, "line 2 is not \"digest\" and 64 hex digits");
        return APR_EINVAL;
    }
    memcpy(stored, s + 7, 64);
    stored[64] = '\0';
    s = nl + 1;
    st->names = apr_array_make(p, 8, sizeof(const char *));
    st->entries = apr_array_make(p, 8, sizeof(const char *));
    for (; s < end; s = nl + 1, line++) {
        nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) {
            *err = apr_psprintf(p, "line %lu has no newline", line);
            return APR_EINVAL;
        }
        ll = (size_t)(nl - s);
        sp = ll > 7 ? memchr(s + 7, ' ', ll - 7) : NULL;
        if (ll < 7 || memcmp(s, "client ", 7) || !sp
            || !name_ok(s + 7, (size_t)(sp - s - 7))
            || !hex64(sp + 1, (size_t)(nl - sp - 1))) {
            *err = apr_psprintf(p, "line %lu is not \"client NAME HEX\"",
                                line);
            return APR_EINVAL;
        }
        name = apr_pstrmemdup(p, s + 7, (apr_size_t)(sp - s - 7));
        if (prev && strcmp(prev, name) >= 0) {
            *err = apr_psprintf(p, "line %lu: the names are not in order",
                                line);
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(st->names, const char *) = name;
        APR_ARRAY_PUSH(st->entries, const char *) =
            apr_pstrmemdup(p, sp + 1, 64);
        prev = name;
    }
    state_digest(st, p);
    if (strcmp(st->digest, stored) != 0) {
        *err = apr_pstrdup(p, "the digest does not match the clients");
        return APR_EINVAL;
    }
    *out = st;
    return APR_SUCCESS;
}

/* The entry of @p name in @p st, or NULL. */
static const char *entry_of(const verify_register_state_t *st,
                            const char *name)
{
    int lo = 0, hi = st->names->nelts - 1, mid, c;

    while (lo <= hi) {
        mid = (lo + hi) / 2;
        c = strcmp(APR_ARRAY_IDX(st->names, mid, const char *), name);
        if (c == 0) {
            return APR_ARRAY_IDX(st->entries, mid, const char *);
        }
        if (c < 0) {
            lo = mid + 1;
        }
        else {
            hi = mid - 1;
        }
    }
    return NULL;
}

/* The three lists of names, as they go into the lines. */
enum { ADDED, REMOVED, CHANGED, LISTS };
static const char *const list_keys[LISTS] = { "added", "removed",
                                              "changed" };

typedef struct reg_name_t {
    int list;
    const char *name;
} reg_name_t;

/* One line: the head, then the names of @p names from @p from to @p to
 * by list. */
static const char *register_body(const verify_register_state_t *old,
                                 const verify_register_state_t *cur,
                                 const reg_name_t *names, int from, int to,
                                 int part, int parts, apr_pool_t *p)
{
    char mem[VERIFY_AUDIT_LINE_MAX];
    verify_jbuf_t b;
    int l, i, first;

    verify_jbuf_init(&b, mem, sizeof(mem));
    VERIFY_JRAW(&b, ",\"op\":\"register\"");
    str_member(&b, "digest", cur->digest, 64);
    str_member(&b, "previous", old ? old->digest : NULL, 64);
    VERIFY_JRAW(&b, ",\"clients\":");
    verify_jbuf_u64(&b, (uint64_t)cur->names->nelts);
    for (l = 0; l < LISTS; l++) {
        VERIFY_JRAW(&b, ",");
        verify_jbuf_key(&b, list_keys[l]);
        VERIFY_JRAW(&b, "[");
        for (i = from, first = 1; i < to; i++) {
            if (names[i].list == l) {
                if (!first) {
                    VERIFY_JRAW(&b, ",");
                }
                verify_jbuf_str(&b, names[i].name, strlen(names[i].name),
                                200);
                first = 0;
            }
        }
        VERIFY_JRAW(&b, "]");
    }
    if (parts > 1) {
        VERIFY_JRAW(&b, ",\"part\":");
        verify_jbuf_u64(&b, (uint64_t)part);
        VERIFY_JRAW(&b, ",\"parts\":");
        verify_jbuf_u64(&b, (uint64_t)parts);
    }
    return b.overflow ? NULL : apr_pstrmemdup(p, b.buf, b.len);
}

apr_array_header_t *verify_event_register(const verify_register_state_t *old,
                                          const verify_register_state_t *cur,
                                          apr_pool_t *p)
{
    apr_array_header_t *bodies = apr_array_make(p, 1, sizeof(const char *));
    int n = cur->names->nelts + (old ? old->names->nelts : 0);
    reg_name_t *names = apr_pcalloc(p, sizeof(*names) * (size_t)(n + 1));
    int *starts = apr_pcalloc(p, sizeof(int) * (size_t)(n + 2));
    const char *name, *was;
    size_t used;
    int i, m = 0, parts, k;

    if (old && !strcmp(old->digest, cur->digest)) {
        return bodies;
    }
    for (i = 0; i < cur->names->nelts; i++) {
        name = APR_ARRAY_IDX(cur->names, i, const char *);
        was = old ? entry_of(old, name) : NULL;
        if (!was || strcmp(was, APR_ARRAY_IDX(cur->entries, i,
                                              const char *))) {
            names[m].list = was ? CHANGED : ADDED;
            names[m++].name = name;
        }
    }
    for (i = 0; old && i < old->names->nelts; i++) {
        name = APR_ARRAY_IDX(old->names, i, const char *);
        if (!entry_of(cur, name)) {
            names[m].list = REMOVED;
            names[m++].name = name;
        }
    }
    /* as many names to a line as fit */
    parts = 1;
    starts[0] = 0;
    for (i = 0, used = 0; i < m; i++) {
        used += strlen(names[i].name) + 3;
        if (used > REGISTER_NAMES_MAX) {
            starts[parts++] = i;
            used = strlen(names[i].name) + 3;
        }
    }
    starts[parts] = m;
    for (k = 0; k < parts; k++) {
        APR_ARRAY_PUSH(bodies, const char *) =
            register_body(old, cur, names, starts[k], starts[k + 1], k + 1,
                          parts, p);
    }
    return bodies;
}
