/*
 * verify_note_fork.c -- one signature in a child process that exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>

#include "verify_note.h"
#include "verify_note_fork.h"

/* What the parent reads at most: the tag, a note of VERIFY_NOTE_MAX
 * bytes, and one byte more to tell a longer note. */
#define READ_MAX (1 + VERIFY_NOTE_MAX + 1)

/* What the child sends: 'N' and the note, or 'E' and a message. */
static void child(int fd, const char *name, const char *key_path,
                  const char *text, size_t len, apr_pool_t *p)
{
    verify_note_signer_t *signer;
    char *note = NULL, *err = NULL;
    const char *out;
    size_t olen, off = 0;
    ssize_t n;
    int ok;

    ok = verify_note_signer_load(&signer, name, key_path, &err, p)
             == APR_SUCCESS
         && (text == NULL
             || verify_note_sign(&note, signer, text, len, &err, p)
                == APR_SUCCESS);
    out = ok ? apr_pstrcat(p, "N", note ? note : "", NULL)
             : apr_pstrcat(p, "E", err ? err : "cannot sign", NULL);
    olen = strlen(out);
    while (off < olen) {
        n = write(fd, out + off, olen - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            _exit(2);
        }
        off += (size_t)n;
    }
    /* _exit: nothing of the caller's (pools, atexit handlers, buffered
     * streams) runs twice */
    _exit(ok ? 0 : 1);
}

apr_status_t verify_note_sign_forked(char **note, const char *name,
                                     const char *key_path, const char *text,
                                     size_t len, char **err, apr_pool_t *p)
{
    char *buf = apr_palloc(p, READ_MAX + 1);
    size_t have = 0;
    ssize_t n;
    int fds[2], status = 0;
    pid_t pid;

    *note = NULL;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        *err = apr_psprintf(p, "cannot make a pipe: %s", strerror(errno));
        return APR_FROM_OS_ERROR(errno);
    }
    pid = fork();
    if (pid < 0) {
        *err = apr_psprintf(p, "cannot fork the signer: %s",
                            strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return APR_FROM_OS_ERROR(errno);
    }
    if (pid == 0) {
        close(fds[0]);
        child(fds[1], name, key_path, text, len, p);
    }
    close(fds[1]);
    while (have < READ_MAX) {
        n = read(fds[0], buf + have, READ_MAX - have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    buf[have] = '\0';
    if (have > 0 && buf[0] == 'E') {
        *err = apr_pstrdup(p, buf + 1);
        return APR_EINVAL;
    }
    if (have == 0 || buf[0] != 'N' || have > 1 + VERIFY_NOTE_MAX
        || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        *err = apr_pstrdup(p, "the signing process failed");
        return APR_EGENERAL;
    }
    if (text) {
        *note = apr_pstrmemdup(p, buf + 1, have - 1);
    }
    return APR_SUCCESS;
}
