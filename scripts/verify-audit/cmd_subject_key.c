/*
 * cmd_subject_key.c -- the least key an auditor needs (issue 8, item 7):
 * from the master key file, only the derived subject key, in a labelled
 * file that `subject` reads and VerifyKeyFile refuses. It computes the
 * audit subject_tag of an ID and nothing else: the store key and the
 * name key are other HMACs of the master secret, which one cannot get
 * back from this one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <apr_strings.h>
#include "print.h"
#include "tool.h"

/* All of @p len bytes to @p fd. @return 0, or errno. */
static int write_all(int fd, const char *buf, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? errno : EIO;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A new file, mode 0400, never an existing one nor through a link. */
static int write_new(const char *path, const char *line, size_t len,
                     apr_pool_t *p)
{
    int fd, e;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0400);
    if (fd < 0) {
        e = errno;
        fprintf(stderr, PROG ": --out %s: %s%s\n", safe_str(p, path),
                strerror(e), e == EEXIST ? " (an existing file is never "
                "overwritten: remove it, or give another name)" : "");
        return 1;
    }
    /* the umask may only take bits away; say 0400 all the same */
    e = fchmod(fd, 0400) != 0 ? errno : 0;
    if (!e) {
        e = write_all(fd, line, len);
    }
    if (!e && fsync(fd) != 0) {
        e = errno;
    }
    if (close(fd) != 0 && !e) {
        e = errno;
    }
    if (e) {
        unlink(path);   /* ours: made with O_EXCL above */
        fprintf(stderr, PROG ": --out %s: %s (nothing written)\n",
                safe_str(p, path), strerror(e));
        return 1;
    }
    return 0;
}

int cmd_subject_key(const audit_args_t *a, apr_pool_t *p)
{
    unsigned char key[VERIFY_TAG_LEN];
    char line[sizeof(VERIFY_SUBJECT_KEY_LABEL) + 2 * VERIFY_TAG_LEN + 2];
    int to_stdout = !a->out || !strcmp(a->out, "-"), rc;
    char *err = NULL;

    /* never on a screen unless asked for by name: a key shown is a key
     * in the scrollback, the screen recording, the shoulder-surfer's
     * notes */
    if (!a->out && isatty(STDOUT_FILENO)) {
        fprintf(stderr, PROG ": subject-key does not print a key on a "
                "terminal: give --out FILE (written mode 0400), or --out - "
                "to print it all the same\n");
        return 2;
    }
    if (verify_keys_export_subject(a->key, key, &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": --key: %s\n",
                safe_str(p, err ? err : a->key));
        return 1;
    }
    memcpy(line, VERIFY_SUBJECT_KEY_LABEL " ",
           sizeof(VERIFY_SUBJECT_KEY_LABEL));
    verify_hex(key, VERIFY_TAG_LEN, line + sizeof(VERIFY_SUBJECT_KEY_LABEL));
    OPENSSL_cleanse(key, sizeof(key));
    strcat(line, "\n");
    if (to_stdout) {
        rc = write_all(STDOUT_FILENO, line, strlen(line)) ? 1 : 0;
        if (rc) {
            fprintf(stderr, PROG ": cannot write the subject key to "
                    "stdout\n");
        }
    }
    else {
        rc = write_new(a->out, line, strlen(line), p);
        if (rc == 0) {
            fprintf(stderr, PROG ": wrote the subject key to %s (mode "
                    "0400): it finds one person's audit lines with "
                    "`subject` and opens nothing else\n",
                    safe_str(p, a->out));
        }
    }
    OPENSSL_cleanse(line, sizeof(line));
    return rc;
}
