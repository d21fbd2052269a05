/*
 * replay.c -- runs a fuzz target's LLVMFuzzerTestOneInput() once on each
 * file named (or each file in a directory named), without libFuzzer:
 * what t/fuzz/build.sh links the targets with when clang is missing
 * (FUZZ_REPLAY=1, gcc with ASan and UBSan), so that `make test` still
 * replays every corpus file and every kept crash through every target.
 * Arguments starting with '-' (libFuzzer's options) are ignored; leaks
 * are not checked (that is fuzzing's job), memory errors and undefined
 * behaviour are.
 * Exit status 0 when every input ran (a failed invariant aborts).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
/* optional, as with libFuzzer: called once, first */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
/* LeakSanitizer's, when linked with it */
void __lsan_disable(void) __attribute__((weak));

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f) {
        perror(path);
        return -1;
    }
    do {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            if (!buf) {
                abort();
            }
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        perror(path);
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    /* exactly the input's bytes, as libFuzzer gives them */
    buf = realloc(buf, len ? len : 1);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int i, runs = 0, bad = 0;
    struct stat st;

    /* No leak check at exit: the targets keep their keys and pools for
     * the whole process (libFuzzer checks leaks per input, and does not
     * at exit); ASan and UBSan stay on. */
    if (__lsan_disable) {
        __lsan_disable();
    }
    if (LLVMFuzzerInitialize && LLVMFuzzerInitialize(&argc, &argv) != 0) {
        fprintf(stderr, "replay: LLVMFuzzerInitialize failed\n");
        return 1;
    }
    for (i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            continue;
        }
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            char path[4096];

            if (!d) {
                perror(argv[i]);
                bad++;
                continue;
            }
            while ((e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.') {
                    continue;
                }
                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                bad += replay_file(path) != 0;
                runs++;
            }
            closedir(d);
        }
        else {
            bad += replay_file(argv[i]) != 0;
            runs++;
        }
    }
    fprintf(stderr, "replay: %d input(s), %d unreadable\n", runs, bad);
    return bad ? 1 : 0;
}
