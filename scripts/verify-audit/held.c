/*
 * held.c -- signed checkpoints kept outside the log (--witnessed): a
 * note file (a copy of VerifyCheckpointDir/checkpoint-NNN), a directory
 * of them, or a text whose lines carry note=<base64 of a signed note>
 * tokens (an extract of the system log, where the module writes each
 * checkpoint). Every note must open with the --verifier keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "print.h"
#include "tool.h"

/* A line of a syslog extract is read up to this many bytes; a note
 * token in a longer line is refused. */
#define EXTRACT_LINE_MAX (256 * 1024)
/* "checkpoint-" and the size as 20 decimal digits */
#define CP_PREFIX "checkpoint-"
#define CP_DIGITS 20
/* how a signature line starts: U+2014 EM DASH and a space */
#define SIG_START "\xe2\x80\x94 "
#define NEITHER "neither a signed note nor a text with note= tokens (a " \
                "syslog extract)"

static const char b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

typedef struct held_ctx_t {
    const audit_args_t *a;
    int keep;
    apr_array_header_t *held;
    int refused;
    apr_pool_t *p;
    apr_pool_t *scratch;        /* cleared after each note */
} held_ctx_t;

const char *held_where(const audit_held_t *h, apr_pool_t *p)
{
    return h->line ? apr_psprintf(p, "%s:%lu", safe_str(p, h->file),
                                  h->line)
                   : safe_str(p, h->file);
}

static void refuse(held_ctx_t *h, const char *file, unsigned long line,
                   const char *why)
{
    audit_held_t where;

    where.file = file;
    where.line = line;
    printf("%s: WITNESSED CHECKPOINT REFUSED: %s\n",
           held_where(&where, h->scratch), safe_str(h->scratch, why));
    h->refused++;
}

/* Open one note; keep it, or say why not. @p name_size: the size the
 * file's name gives, or UINT64_MAX. */
static void add_note(held_ctx_t *h, const char *note, size_t len,
                     const char *file, unsigned long line,
                     uint64_t name_size)
{
    verify_checkpoint_t cp;
    audit_held_t *x;
    const char *why;
    int by;

    why = keys_open(h->a, note, len, &cp, &by, h->scratch);
    if (!why && name_size != UINT64_MAX && name_size != cp.size) {
        why = apr_psprintf(h->scratch, "its name says size %"
                           APR_UINT64_T_FMT ", the note %" APR_UINT64_T_FMT,
                           name_size, cp.size);
    }
    if (why) {
        refuse(h, file, line, apr_pstrcat(h->scratch, "the note does not "
                                          "verify: ", why, NULL));
    }
    else {
        x = apr_array_push(h->held);
        memset(x, 0, sizeof(*x));
        x->size = cp.size;
        memcpy(x->root, cp.root, VERIFY_MERKLE_HASH_LEN);
        x->file = file;
        x->line = line;
        x->note = h->keep ? apr_pstrmemdup(h->p, note, len) : NULL;
        x->order = (size_t)h->held->nelts;
    }
    apr_pool_clear(h->scratch);
}

/* The next note= token of @p s from @p from: where its base64 starts,
 * *len its length; NULL when there is none. A token starts the text or
 * follows a character that cannot be part of a word. */
static const char *note_token(const char *s, const char *from, size_t *len)
{
    const char *t, *e;

    for (t = from; (t = strstr(t, "note=")) != NULL; t += 5) {
        if (t > s && (apr_isalnum(t[-1]) || t[-1] == '_' || t[-1] == '-'
                      || t[-1] == '.')) {
            continue;
        }
        t += 5;
        for (e = t; *e && strchr(b64_chars, *e); e++) {
        }
        *len = (size_t)(e - t);
        return t;
    }
    return NULL;
}

/* A text file whose lines carry note= tokens. @return 0, or -1 when it
 * cannot be read (said). */
static int read_extract(held_ctx_t *h, const char *path)
{
    char *buf = apr_palloc(h->p, EXTRACT_LINE_MAX);
    unsigned long lno = 0;
    const char *t;
    unsigned char *note;
    size_t l, tlen, nlen;
    int fd, c, toolong, notes = 0, rc = 0;
    FILE *f;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    f = fd < 0 ? NULL : fdopen(fd, "r");
    if (f == NULL) {
        fprintf(stderr, PROG ": --witnessed: cannot open %s: %s\n",
                safe_str(h->p, path), strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    while (fgets(buf, EXTRACT_LINE_MAX, f)) {
        lno++;
        l = strlen(buf);
        toolong = 0;
        if (l && buf[l - 1] == '\n') {
            buf[--l] = '\0';
        }
        else if (!feof(f)) {
            toolong = 1;
            while ((c = getc(f)) != EOF && c != '\n') {
            }
        }
        for (t = note_token(buf, buf, &tlen); t;
             t = note_token(buf, t + tlen, &tlen)) {
            notes++;
            if (toolong) {
                refuse(h, path, lno, apr_psprintf(h->scratch, "the line is "
                                                  "longer than %d bytes",
                                                  EXTRACT_LINE_MAX - 1));
                apr_pool_clear(h->scratch);
                break;
            }
            note = verify_note_b64_decode(t, tlen, &nlen, h->scratch);
            if (note == NULL) {
                refuse(h, path, lno, "the note= token is not base64");
                apr_pool_clear(h->scratch);
                continue;
            }
            add_note(h, (const char *)note, nlen, path, lno, UINT64_MAX);
        }
    }
    if (ferror(f)) {
        fprintf(stderr, PROG ": --witnessed: cannot read %s\n",
                safe_str(h->p, path));
        rc = -1;
    }
    else if (notes == 0) {
        refuse(h, path, 0, NEITHER);
        apr_pool_clear(h->scratch);
    }
    fclose(f);
    return rc;
}

/* A file: one signed note, or a syslog extract. */
static int read_file(held_ctx_t *h, const char *path, apr_off_t size)
{
    const char *why;
    char *buf;
    size_t len, tlen;

    if (size > VERIFY_NOTE_MAX) {
        return read_extract(h, path);
    }
    why = read_small(path, VERIFY_NOTE_MAX, &buf, &len, h->p);
    if (why) {
        fprintf(stderr, PROG ": --witnessed: %s\n", safe_str(h->p, why));
        return -1;
    }
    if (note_token(buf, buf, &tlen)) {
        return read_extract(h, path);
    }
    if (!strstr(buf, "\n\n" SIG_START)) {
        refuse(h, path, 0, NEITHER);
        apr_pool_clear(h->scratch);
        return 0;
    }
    add_note(h, buf, len, path, 0, UINT64_MAX);
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The size a checkpoint file's name gives, or UINT64_MAX when the name
 * is not checkpoint-<20 digits> (or the number is too large). */
static uint64_t name_size(const char *name)
{
    uint64_t v = 0;
    unsigned d;
    int i;

    if (strncmp(name, CP_PREFIX, sizeof(CP_PREFIX) - 1)
        || strlen(name) != sizeof(CP_PREFIX) - 1 + CP_DIGITS) {
        return UINT64_MAX;
    }
    for (i = 0; i < CP_DIGITS; i++) {
        d = (unsigned)(name[sizeof(CP_PREFIX) - 1 + i] - '0');
        if (d > 9 || v > (UINT64_MAX - 1 - d) / 10) {
            return UINT64_MAX;
        }
        v = v * 10 + d;
    }
    return v;
}

/* A directory of checkpoint-<size> files (a copy of
 * VerifyCheckpointDir); other names are not read. */
static int read_dir(held_ctx_t *h, const char *dir)
{
    apr_array_header_t *names = apr_array_make(h->p, 64,
                                               sizeof(const char *));
    apr_dir_t *d;
    apr_finfo_t fi;
    const char *name, *path, *why;
    char *buf;
    size_t len;
    int i;

    if (apr_dir_open(&d, dir, h->p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": --witnessed: cannot open directory %s\n",
                safe_str(h->p, dir));
        return -1;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (name_size(fi.name) != UINT64_MAX) {
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(h->p,
                                                              fi.name);
        }
    }
    apr_dir_close(d);
    if (names->nelts == 0) {
        refuse(h, dir, 0, "the directory holds no checkpoint-NNN file "
               "(" CP_PREFIX "and the size as 20 digits)");
        apr_pool_clear(h->scratch);
        return 0;
    }
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *),
          cmp_name);
    for (i = 0; i < names->nelts; i++) {
        name = APR_ARRAY_IDX(names, i, const char *);
        path = apr_pstrcat(h->p, dir, "/", name, NULL);
        why = read_small(path, VERIFY_NOTE_MAX, &buf, &len, h->scratch);
        if (why) {
            fprintf(stderr, PROG ": --witnessed: %s\n",
                    safe_str(h->p, why));
            return -1;
        }
        add_note(h, buf, len, path, 0, name_size(name));
    }
    return 0;
}

static int cmp_held(const void *a, const void *b)
{
    const audit_held_t *x = a, *y = b;

    if (x->size != y->size) {
        return x->size < y->size ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

int held_read(const audit_args_t *a, int keep_notes,
              apr_array_header_t **held, apr_pool_t *p)
{
    const char *src;
    apr_finfo_t fi;
    held_ctx_t h;
    int i, rc = 0;

    memset(&h, 0, sizeof(h));
    h.a = a;
    h.keep = keep_notes;
    h.p = p;
    h.held = apr_array_make(p, 16, sizeof(audit_held_t));
    apr_pool_create(&h.scratch, p);
    for (i = 0; rc == 0 && a->witnessed && i < a->witnessed->nelts; i++) {
        src = APR_ARRAY_IDX(a->witnessed, i, const char *);
        if (apr_stat(&fi, src, APR_FINFO_TYPE | APR_FINFO_SIZE, p)
            != APR_SUCCESS) {
            fprintf(stderr, PROG ": --witnessed: cannot read %s\n",
                    safe_str(p, src));
            rc = -1;
        }
        else if (fi.filetype == APR_DIR) {
            rc = read_dir(&h, src);
        }
        else if (fi.filetype == APR_REG) {
            rc = read_file(&h, src, fi.size);
        }
        else {
            fprintf(stderr, PROG ": --witnessed: %s is neither a file nor a "
                    "directory\n", safe_str(p, src));
            rc = -1;
        }
    }
    apr_pool_destroy(h.scratch);
    qsort(h.held->elts, (size_t)h.held->nelts, sizeof(audit_held_t),
          cmp_held);
    *held = h.held;
    return rc < 0 ? -1 : h.refused;
}
