/*
 * tap.h -- a tiny TAP producer for the C unit tests.
 *
 *   plan(n);                         optional: "1..n" up front
 *   ok(cond, "name %d", x);          "ok N - name" / "not ok N - name"
 *   is_int(got, want, "name");       integers, with a diagnostic on failure
 *   is_str(got, want, "name");       C strings (NULL allowed)
 *   diag("fmt", ...);                "# ..." on stderr
 *   return done_testing();           trailing plan if none was given;
 *                                    non-zero exit status on any failure
 *                                    or on a plan/count mismatch
 *
 * Header-only: every test program is a single translation unit.
 */
#ifndef TAP_H
#define TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_run;
static int tap_failed;
static int tap_planned = -1;

#if defined(__GNUC__)
#define TAP_FMT(a, b) __attribute__((format(printf, a, b)))
#define TAP_UNUSED __attribute__((unused))
#else
#define TAP_FMT(a, b)
#define TAP_UNUSED
#endif

static TAP_UNUSED void plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

static TAP_UNUSED TAP_FMT(1, 2) void diag(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("# ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static TAP_FMT(2, 0) int tap_result(int cond, const char *fmt, va_list ap)
{
    char name[1024];
    const unsigned char *c;

    tap_run++;
    if (!cond) {
        tap_failed++;
    }
    vsnprintf(name, sizeof(name), fmt, ap);
    printf("%sok %d - ", cond ? "" : "not ", tap_run);
    /* one line per result: control characters escaped, '#' (a TAP
     * directive) and '\\' escaped */
    for (c = (const unsigned char *)name; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) {
            printf("\\x%02x", *c);
        }
        else if (*c == '#' || *c == '\\') {
            printf("\\%c", *c);
        }
        else {
            putchar(*c);
        }
    }
    putchar('\n');
    fflush(stdout);
    return cond;
}

static TAP_UNUSED TAP_FMT(2, 3) int ok(int cond, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    tap_result(cond, fmt, ap);
    va_end(ap);
    if (!cond) {
        diag("  Failed test %d", tap_run);
    }
    return cond;
}

static TAP_UNUSED TAP_FMT(3, 4) int is_int(long long got, long long want,
                                           const char *fmt, ...)
{
    va_list ap;
    int cond = got == want;

    va_start(ap, fmt);
    tap_result(cond, fmt, ap);
    va_end(ap);
    if (!cond) {
        diag("  Failed test %d", tap_run);
        diag("         got: %lld", got);
        diag("    expected: %lld", want);
    }
    return cond;
}

static TAP_UNUSED TAP_FMT(3, 4) int is_str(const char *got, const char *want,
                                           const char *fmt, ...)
{
    va_list ap;
    int cond = (got == NULL || want == NULL) ? got == want
                                             : strcmp(got, want) == 0;

    va_start(ap, fmt);
    tap_result(cond, fmt, ap);
    va_end(ap);
    if (!cond) {
        diag("  Failed test %d", tap_run);
        diag("         got: %s%s%s", got ? "'" : "", got ? got : "NULL",
             got ? "'" : "");
        diag("    expected: %s%s%s", want ? "'" : "", want ? want : "NULL",
             want ? "'" : "");
    }
    return cond;
}

static TAP_UNUSED int done_testing(void)
{
    if (tap_planned < 0) {
        printf("1..%d\n", tap_run);
    }
    else if (tap_planned != tap_run) {
        diag("Looks like you planned %d tests but ran %d.", tap_planned,
             tap_run);
        fflush(stdout);
        return 255;
    }
    if (tap_failed) {
        diag("Looks like you failed %d test%s of %d.", tap_failed,
             tap_failed == 1 ? "" : "s", tap_run);
    }
    fflush(stdout);
    return tap_failed > 254 ? 254 : tap_failed;
}

#endif /* TAP_H */
