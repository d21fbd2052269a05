/*
 * keys.c -- the verifier keys of --verifier, and opening a signed
 * checkpoint with them.
 *
 * A key is given as its string (NAME+KEYID+KEY, what `pubkey` prints)
 * or as a file holding such strings, one a line (blank lines and lines
 * starting with '#' ignored): the old and the new key of a rotation can
 * be kept together. The checkpoint key's name is the
 * log's origin, so a checkpoint whose origin is not the name of the key
 * that signed it is refused: a key of one log cannot vouch for another.
 */
#include <stdio.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include "print.h"
#include "tool.h"

/* A file of keys is a few lines; refuse anything much larger. */
#define KEY_FILE_MAX 65536

/* The keys of one file, one a line (blank lines, trailing blanks and
 * '#' comment lines allowed). @return 0, or 2 with the fault said. */
static int keys_from_file(apr_array_header_t *keys, const char *path,
                          apr_pool_t *p)
{
    verify_note_verifier_t *v;
    const char *why;
    char *buf, *line, *end, *err = NULL;
    size_t len, l;
    int lno = 0, n = 0;

    why = read_small(path, KEY_FILE_MAX, &buf, &len, p);
    if (why) {
        fprintf(stderr, PROG ": --verifier: %s\n", safe_str(p, why));
        return 2;
    }
    if (memchr(buf, '\0', len)) {
        fprintf(stderr, PROG ": --verifier: %s holds a NUL byte, not "
                "verifier keys\n", safe_str(p, path));
        return 2;
    }
    for (line = buf; line < buf + len; line = end + 1) {
        end = strchr(line, '\n');
        if (!end) {
            end = buf + len;
        }
        lno++;
        l = (size_t)(end - line);
        while (l && (line[l - 1] == ' ' || line[l - 1] == '\t'
                     || line[l - 1] == '\r')) {
            l--;
        }
        if (l == 0 || line[0] == '#') {
            continue;
        }
        v = apr_array_push(keys);
        if (verify_note_verifier_parse(v, apr_pstrmemdup(p, line, l), &err,
                                       p) != APR_SUCCESS) {
            fprintf(stderr, PROG ": --verifier: %s:%d: not a verifier key "
                    "(NAME+KEYID+KEY): %s\n", safe_str(p, path), lno,
                    safe_str(p, err));
            return 2;
        }
        n++;
    }
    if (n == 0) {
        fprintf(stderr, PROG ": --verifier: %s holds no verifier key\n",
                safe_str(p, path));
        return 2;
    }
    return 0;
}

int keys_parse(audit_args_t *a, apr_pool_t *p)
{
    apr_array_header_t *keys;
    verify_note_verifier_t v;
    apr_finfo_t fi;
    const char *arg;
    char *err = NULL;
    int i, rc;

    if (!a->verifier_args) {
        return 0;
    }
    keys = apr_array_make(p, 2, sizeof(verify_note_verifier_t));
    for (i = 0; i < a->verifier_args->nelts; i++) {
        arg = APR_ARRAY_IDX(a->verifier_args, i, const char *);
        if (verify_note_verifier_parse(&v, arg, &err, p) == APR_SUCCESS) {
            APR_ARRAY_PUSH(keys, verify_note_verifier_t) = v;
            continue;
        }
        if (apr_stat(&fi, arg, APR_FINFO_TYPE, p) != APR_SUCCESS) {
            fprintf(stderr, PROG ": --verifier \"%s\" is neither a verifier "
                    "key (NAME+KEYID+KEY, as `" PROG " pubkey` prints it: "
                    "%s) nor a file holding one\n", safe_str(p, arg),
                    safe_str(p, err));
            return 2;
        }
        rc = keys_from_file(keys, arg, p);
        if (rc != 0) {
            return rc;
        }
    }
    a->keys = (verify_note_verifier_t *)keys->elts;
    a->nkeys = keys->nelts;
    return 0;
}

const char *key_label(const verify_note_verifier_t *v, apr_pool_t *p)
{
    return apr_psprintf(p, "%s+%08x", v->name, (unsigned)v->id);
}

const char *keys_open(const audit_args_t *a, const char *note, size_t len,
                      verify_checkpoint_t *cp, int *by, apr_pool_t *p)
{
    char *err = NULL;

    if ((a->named_only
         ? verify_checkpoint_open_named(cp, a->keys, a->nkeys, note, len,
                                        by, &err, p)
         : verify_checkpoint_open(cp, a->keys, a->nkeys, note, len, by,
                                  &err, p)) != APR_SUCCESS) {
        return err;
    }
    if (strcmp(cp->origin, a->keys[*by].name) != 0) {
        return apr_psprintf(p, "its origin \"%s\" is not the name of the "
                            "key that signed it (%s)", cp->origin,
                            key_label(&a->keys[*by], p));
    }
    return NULL;
}
