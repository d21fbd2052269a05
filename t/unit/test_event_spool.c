/*
 * test_event_spool.c -- the event spool: opening it (its owner and
 * modes), leaving events atomically with ids in order, the check of an
 * event file, and the drain: events in order, each removed after its
 * line, everything else moved aside unopened and reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include "unit.h"

static uid_t me;

/* What a drain handed over. */
typedef struct seen_t {
    int events;
    int refused;
    char ids[16][VERIFY_EVENT_ID_LEN + 1];
    char bodies[16][VERIFY_EVENT_MAX];
    char names[16][128];
    char whys[16][256];
    char kept[16][64];
    int fail_at;        /* event number (1-based) whose line fails */
} seen_t;

static apr_status_t on_event(void *baton, const char *id, const char *body,
                             size_t blen, apr_pool_t *p)
{
    seen_t *s = baton;

    if (s->fail_at && s->events + 1 == s->fail_at) {
        return APR_EGENERAL;
    }
    snprintf(s->ids[s->events], sizeof(s->ids[0]), "%s", id);
    snprintf(s->bodies[s->events], sizeof(s->bodies[0]), "%.*s",
             (int)blen, body);
    s->events++;
    return APR_SUCCESS;
}

static apr_status_t on_refused(void *baton, const char *name,
                               const char *why, const char *kept_as,
                               apr_pool_t *p)
{
    seen_t *s = baton;

    snprintf(s->names[s->refused], sizeof(s->names[0]), "%s", name);
    snprintf(s->whys[s->refused], sizeof(s->whys[0]), "%s", why);
    snprintf(s->kept[s->refused], sizeof(s->kept[0]), "%s",
             kept_as ? kept_as : "");
    s->refused++;
    return APR_SUCCESS;
}

/* Why @p name was refused, and where it went ("" if not refused). */
static const char *why_of(const seen_t *s, const char *name)
{
    int i;

    for (i = 0; i < s->refused; i++) {
        if (!strcmp(s->names[i], name)) {
            return s->whys[i];
        }
    }
    return "";
}

static const char *kept_of(const seen_t *s, const char *name)
{
    int i;

    for (i = 0; i < s->refused; i++) {
        if (!strcmp(s->names[i], name)) {
            return s->kept[i];
        }
    }
    return "";
}

static apr_status_t drain(int fd, seen_t *s, unsigned *n, char **err)
{
    verify_spool_sink_t sink;

    sink.event = on_event;
    sink.refused = on_refused;
    sink.baton = s;
    *err = NULL;
    return verify_spool_drain(fd, me, &sink, n, err, pool);
}

static const char *path_in(const char *dir, const char *name)
{
    return apr_pstrcat(pool, dir, "/", name, NULL);
}

static int count_entries(const char *dir)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    int n = 0;

    if (apr_dir_open(&d, dir, pool) != APR_SUCCESS) {
        return -1;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (strcmp(fi.name, ".") && strcmp(fi.name, "..")) {
            n++;
        }
    }
    apr_dir_close(d);
    return n;
}

static void test_open(void)
{
    const char *spool = path_in(tmpdir, "events");
    const char *loose = path_in(tmpdir, "loose");
    const char *link = path_in(tmpdir, "linked");
    const char *open_parent = path_in(tmpdir, "shared");
    struct stat st;
    char *err = NULL;
    int fd = -1;

    ok(APR_STATUS_IS_ENOENT(verify_spool_open(spool, 0, me, &fd, &err,
                                              pool)) && fd < 0,
       "a missing spool is not made without create: %s", err ? err : "");
    is_int(verify_spool_open(spool, 1, me, &fd, &err, pool), APR_SUCCESS,
           "made with create");
    ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)
       && (st.st_mode & 07777) == 0700 && st.st_uid == me,
       "a directory of ours, mode 0700");
    close(fd);
    is_int(verify_spool_open(spool, 0, me, &fd, &err, pool), APR_SUCCESS,
           "opened again");
    close(fd);

    mkdir(loose, 0750);
    chmod(loose, 0750);
    ok(verify_spool_open(loose, 0, me, &fd, &err, pool) != APR_SUCCESS
       && strstr(err, "0750") && strstr(err, "0700"),
       "a spool others may read is refused: %s", err);
    ok(symlink("events", link) == 0
       && verify_spool_open(link, 0, me, &fd, &err, pool) != APR_SUCCESS
       && err
       && strstr(err, "symbolic link"), "a link to a spool is refused: %s",
       err);
    ok(verify_spool_open(path_in(loose, "x"), 1, me, &fd, &err, pool)
       == APR_SUCCESS, "a spool in a directory the group may read");
    close(fd);
    mkdir(open_parent, 0770);
    chmod(open_parent, 0770);
    ok(verify_spool_open(path_in(open_parent, "events"), 1, me, &fd, &err,
                         pool) != APR_SUCCESS
       && strstr(err, "not writable by group or others")
       && access(path_in(open_parent, "events"), F_OK) != 0,
       "a parent others may write is refused, nothing made: %s", err);
    if (me == 0) {
        const char *theirs = path_in(tmpdir, "theirs");
        mkdir(theirs, 0700);
        chown(theirs, 65534, 65534);
        ok(verify_spool_open(theirs, 0, me, &fd, &err, pool) != APR_SUCCESS
           && strstr(err, "uid 65534"), "another owner's spool is refused: "
           "%s", err);
    }
}

/* A spool of its own for each test. */
static int fresh(const char *name, const char **dir)
{
    char *err = NULL;
    int fd = -1;

    *dir = path_in(tmpdir, name);
    if (verify_spool_open(*dir, 1, me, &fd, &err, pool) != APR_SUCCESS) {
        diag("cannot make %s: %s", *dir, err);
        exit(2);
    }
    return fd;
}

static const char body1[] = ",\"op\":\"import\",\"result\":\"accepted\"";

static void test_put(void)
{
    const char *dir, *text = NULL, *id = NULL, *id2 = NULL, *id3 = NULL;
    apr_time_t t = apr_time_from_sec(1795000000) + 123456;
    char want[512], *err = NULL, ts[VERIFY_TS_LEN + 1], *buf = NULL;
    size_t len = 0;
    struct stat st;
    int fd = fresh("put", &dir);

    is_int(verify_spool_put(fd, body1, strlen(body1), t, &text, &id, &err,
                            pool), APR_SUCCESS, "an event put");
    is_str(id, "20261118T110640.123456Z-0000", "its id: UTC time, counter");
    verify_time_format_us(t, ts);
    snprintf(want, sizeof(want), "{\"op\":\"import\",\"result\":"
             "\"accepted\",\"at\":\"%s\",\"event_id\":\"%s\"}\n", ts, id);
    is_str(text, want, "the file's bytes: the body, at and event_id");
    ok(verify_spool_event_name(apr_pstrcat(pool, id, ".json", NULL)),
       "its name is an event file's");
    ok(stat(path_in(dir, apr_pstrcat(pool, id, ".json", NULL)), &st) == 0
       && (st.st_mode & 0777) == 0600 && st.st_uid == me
       && st.st_size == (off_t)strlen(want), "written 0600, whole");
    is_int(verify_spool_read_file(fd, apr_pstrcat(pool, id, ".json", NULL),
                                  me, 4096, &buf, &len, &err, pool),
           APR_SUCCESS, "read back");
    is_str(buf, want, "the same bytes");
    is_int(count_entries(dir), 1, "no temporary file left");
    is_str(verify_spool_event_check(buf, len, id), NULL,
           "what put writes passes the check");

    /* the same microsecond, and a clock stepped back: after the newest */
    verify_spool_put(fd, body1, strlen(body1), t, NULL, &id2, &err, pool);
    is_str(id2, "20261118T110640.123456Z-0001", "same time: the counter");
    verify_spool_put(fd, body1, strlen(body1), t - apr_time_from_sec(3600),
                     &text, &id3, &err, pool);
    is_str(id3, "20261118T110640.123456Z-0002",
           "a clock an hour back still sorts after");
    ok(strstr(text, ts) == NULL, "while at says the time it was told");

    ok(verify_spool_put(fd, "\"op\":1", 6, t, NULL, NULL, &err, pool)
       != APR_SUCCESS, "a body without its comma is refused");
    {
        char big[VERIFY_EVENT_MAX];
        memset(big, 'x', sizeof(big));
        memcpy(big, ",\"op\":\"", 7);
        ok(verify_spool_put(fd, big, sizeof(big), t, NULL, NULL, &err, pool)
           != APR_SUCCESS && strstr(err, "more than"),
           "an event too long for a line is refused: %s", err);
    }
    is_int(count_entries(dir), 3, "and leaves nothing behind");
    close(fd);
}

static void test_check(void)
{
    static const char id[] = "20261119T080640.123456Z-0000";
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        { "{\"op\":\"import\",\"at\":\"2026-11-19T16:06:40.123456+08:00\","
          "\"event_id\":\"20261119T080640.123456Z-0000\"}", "newline" },
        { "{\"op\":\"import\",\"at\":\"2026-11-19T16:06:40.123456+08:00\","
          "\"event_id\":\"20261119T080640.123456Z-0000\"}\n\n", "control" },
        { "{\"op\":\"import\",\"x\":\"\t\",\"at\":\"2026-11-19T16:06:40.1234"
          "56+08:00\",\"event_id\":\"20261119T080640.123456Z-0000\"}\n",
          "control" },
        { "{\"op\":\"import\",\"x\":\"\xff\",\"at\":\"2026-11-19T16:06:40.12"
          "3456+08:00\",\"event_id\":\"20261119T080640.123456Z-0000\"}\n",
          "UTF-8" },
        { "{\"op\":\"import\",\"x\":\"\xe2\x80\xa8\",\"at\":\"2026-11-19T16:"
          "06:40.123456+08:00\",\"event_id\":\"20261119T080640.123456Z-0000"
          "\"}\n", "separator" },
        { "{\"x\":1,\"op\":\"import\",\"at\":\"2026-11-19T16:06:40.123456+08"
          ":00\",\"event_id\":\"20261119T080640.123456Z-0000\"}\n",
          "first member" },
        { "{\"op\":\"import\",\"op\":\"purge\",\"at\":\"2026-11-19T16:06:40."
          "123456+08:00\",\"event_id\":\"20261119T080640.123456Z-0000\"}\n",
          "repeated" },
        { "{\"op\":\"import\",\"at\":\"2026-11-19T16:06:40.123456+08:00\","
          "\"event_id\":\"20261119T080640.123456Z-0000\"}x}\n",
          "JSON object" },
        { "{\"op\":\"register\",\"at\":\"2026-11-19T16:06:40.123456+08:00\","
          "\"event_id\":\"20261119T080640.123456Z-0000\"}\n", "spool" },
        { "{\"op\":\"start\",\"at\":\"2026-11-19T16:06:40.123456+08:00\","
          "\"event_id\":\"20261119T080640.123456Z-0000\"}\n", "spool" },
        { "{\"op\":\"import\",\"seq\":7,\"at\":\"2026-11-19T16:06:40.123456+"
          "08:00\",\"event_id\":\"20261119T080640.123456Z-0000\"}\n",
          "chain adds" },
        { "{\"op\":\"import\",\"hash\":\"\",\"at\":\"2026-11-19T16:06:40.123"
          "456+08:00\",\"event_id\":\"20261119T080640.123456Z-0000\"}\n",
          "chain adds" },
        /* a node id the server did not seal (VerifyNodeId) */
        { "{\"op\":\"import\",\"node\":\"node-b\",\"at\":\"2026-11-19T16:06"
          ":40.123456+08:00\",\"event_id\":\"20261119T080640.123456Z-0000\"}"
          "\n", "chain adds" },
        { "{\"op\":\"import\",\"event_id\":\"20261119T080640.123456Z-0000\"}"
          "\n", "no time" },
        { "{\"op\":\"import\",\"at\":\"2026-11-19T16:06:40.123456+08:00\","
          "\"event_id\":\"20261119T080640.123456Z-0001\"}\n", "its name" },
        { "{\"op\":\"import\",\"at\":\"2026-11-19T16:06:40.123456+08:00\"}\n",
          "its name" },
    };
    const char *good = "{\"op\":\"purge\",\"result\":\"purged\",\"at\":"
                       "\"2026-11-19T16:06:40.123456+08:00\",\"event_id\":"
                       "\"20261119T080640.123456Z-0000\"}\n";
    const char *why;
    size_t i;

    is_str(verify_spool_event_check(good, strlen(good), id), NULL,
           "a purge event passes");
    {
        /* verify-audit's records commands name the records log's head */
        const char *rec = "{\"op\":\"records\",\"head_seq\":3,\"at\":"
                          "\"2026-11-19T16:06:40.123456+08:00\",\"event_id\":"
                          "\"20261119T080640.123456Z-0000\"}\n";
        is_str(verify_spool_event_check(rec, strlen(rec), id), NULL,
               "a records event passes");
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = verify_spool_event_check(bad[i].text, strlen(bad[i].text), id);
        ok(why && strstr(why, bad[i].why), "refused (%s): %s", bad[i].why,
           why ? why : "(passed)");
    }
    ok(verify_spool_event_name("20261119T080640.123456Z-0000.json")
       && !verify_spool_event_name("20261119T080640.123456Z-0000.jso")
       && !verify_spool_event_name("20261319T080640.123456Z-0000.json")
       && !verify_spool_event_name("20261119T080640.123456Z-000a.json")
       && !verify_spool_event_name("x20261119T080640.123456Z-0000.json")
       && !verify_spool_event_name("register.state"),
       "event file names: exactly <id>.json with a real date");
}

/* Write @p text as @p name of @p dir with @p mode. */
static void plant(const char *dir, const char *name, const char *text,
                  mode_t mode)
{
    const char *path = path_in(dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)
        || fchmod(fd, mode) != 0) {
        diag("cannot plant %s", path);
        exit(2);
    }
    close(fd);
}

static void on_alarm(int sig)
{
    static const char msg[] = "not ok - the drain hung (opened a FIFO?)\n";
    (void)sig;
    (void)!write(1, msg, sizeof(msg) - 1);
    _exit(1);
}

static void test_drain(void)
{
    const char *dir, *id[3], *text[3], *secret_path;
    char *err = NULL, name[64];
    apr_time_t t = apr_time_from_sec(1795000000);
    seen_t *s = apr_pcalloc(pool, sizeof(*s));
    struct stat st;
    unsigned n = 0;
    int fd = fresh("drain", &dir), i, fifo_refused = 0;

    for (i = 0; i < 3; i++) {
        verify_spool_put(fd, body1, strlen(body1), t + i * 1000, &text[i],
                         &id[i], &err, pool);
    }
    /* what else is found there: each must be refused, none followed */
    secret_path = write_file(tmpdir, "secret.txt", "{\"op\":\"import\"}\n", 16);
    symlink(secret_path, path_in(dir, "20261119T080641.000000Z-0000.json"));
    mkfifo(path_in(dir, "20261119T080641.000000Z-0001.json"), 0600);
    plant(dir, "20261119T080641.000000Z-0002.json", text[0], 0644);
    plant(dir, "20261119T080641.000000Z-0003.json", "garbage\n", 0600);
    plant(dir, "notes.txt", "x\n", 0600);
    mkdir(path_in(dir, "20261119T080641.000000Z-0004.json"), 0700);
    link(path_in(dir, apr_pstrcat(pool, id[2], ".json", NULL)),
         path_in(dir, "20261119T080641.000000Z-0005.json"));
    /* a copy under another name: its event_id is not its name */
    plant(dir, "20261119T080641.000000Z-0006.json", text[1], 0600);
    /* passed over: a tool's temporary file, the register state */
    plant(dir, ".tmp-1-abc", "half", 0600);
    plant(dir, VERIFY_SPOOL_STATE, "state\n", 0600);
    if (me == 0) {
        plant(dir, "20261119T080641.000000Z-0007.json", text[0], 0600);
        chown(path_in(dir, "20261119T080641.000000Z-0007.json"), 65534, 0);
    }

    signal(SIGALRM, on_alarm);
    alarm(20);
    is_int(drain(fd, s, &n, &err), APR_SUCCESS, "drained: %s",
           err ? err : "");
    alarm(0);
    /* the hard link made id[2] two links: refused as well */
    is_int(s->events, 2, "the two good events written");
    is_int(n, 2, "and counted");
    for (i = 0; i < 2; i++) {
        is_str(s->ids[i], id[i], "event %d in order", i + 1);
        ok(!strncmp(s->bodies[i], ",\"op\":\"import\"", 14)
           && strstr(text[i], s->bodies[i] + 1)
           && strlen(s->bodies[i]) == strlen(text[i]) - 2,
           "its body: ',' and what lies between the braces");
        ok(access(path_in(dir, apr_pstrcat(pool, id[i], ".json", NULL)),
                  F_OK) != 0, "its file removed");
    }
    is_int(s->refused, me == 0 ? 10 : 9, "everything else refused");
    for (i = 0; i < s->refused; i++) {
        ok(strncmp(s->kept[i], "refused/", 8) == 0
           && lstat(path_in(dir, s->kept[i]), &st) == 0
           && access(path_in(dir, s->names[i]), F_OK) != 0,
           "%s (%s) moved to %s", s->names[i], s->whys[i], s->kept[i]);
        if (strstr(s->whys[i], "FIFO")) {
            fifo_refused = S_ISFIFO(st.st_mode);
        }
    }
    ok(strstr(why_of(s, "20261119T080641.000000Z-0000.json"),
              "symbolic link")
       && strstr(why_of(s, "20261119T080641.000000Z-0001.json"), "FIFO")
       && strstr(why_of(s, "20261119T080641.000000Z-0002.json"),
                 "group or others")
       && strstr(why_of(s, "20261119T080641.000000Z-0003.json"),
                 "first member is op")
       && strstr(why_of(s, "20261119T080641.000000Z-0004.json"),
                 "directory")
       && strstr(why_of(s, "20261119T080641.000000Z-0005.json"),
                 "hard links")
       && strstr(why_of(s, "20261119T080641.000000Z-0006.json"),
                 "event_id is not its name")
       && strstr(why_of(s, "notes.txt"), "not an event file's name"),
       "each for its reason");

    ok(!strcmp(s->names[0], apr_pstrcat(pool, id[2], ".json", NULL))
       && !strcmp(s->names[s->refused - 1], "notes.txt"),
       "in name order");
    ok(fifo_refused, "the FIFO moved, never opened");
    ok(lstat(path_in(dir, kept_of(s, "20261119T080641.000000Z-0000.json")),
             &st) == 0 && S_ISLNK(st.st_mode) && access(secret_path, F_OK) == 0,
       "the link itself moved; its target untouched");
    if (me == 0) {
        ok(strstr(why_of(s, "20261119T080641.000000Z-0007.json"),
                  "uid 65534") != NULL, "another owner's file refused");
    }
    ok(access(path_in(dir, ".tmp-1-abc"), F_OK) == 0
       && access(path_in(dir, VERIFY_SPOOL_STATE), F_OK) == 0,
       "a temporary file and the register state left alone");
    ok(access(path_in(dir, apr_pstrcat(pool, id[2], ".json", NULL)), F_OK)
       != 0, "the hard-linked event moved aside too");

    /* nothing left to drain */
    memset(s, 0, sizeof(*s));
    is_int(drain(fd, s, &n, &err), APR_SUCCESS, "a second drain");
    ok(s->events == 0 && s->refused == 0 && n == 0, "finds nothing");

    /* a line that fails stops the drain: that file and later ones stay */
    for (i = 0; i < 3; i++) {
        verify_spool_put(fd, body1, strlen(body1), t + 10000000 + i,
                         &text[i], &id[i], &err, pool);
    }
    memset(s, 0, sizeof(*s));
    s->fail_at = 2;
    ok(drain(fd, s, &n, &err) != APR_SUCCESS && strstr(err, id[1]),
       "a failed line stops the drain: %s", err);
    ok(s->events == 1 && n == 1
       && access(path_in(dir, apr_pstrcat(pool, id[0], ".json", NULL)),
                 F_OK) != 0
       && access(path_in(dir, apr_pstrcat(pool, id[1], ".json", NULL)),
                 F_OK) == 0
       && access(path_in(dir, apr_pstrcat(pool, id[2], ".json", NULL)),
                 F_OK) == 0, "the first removed, the rest kept");
    memset(s, 0, sizeof(*s));
    is_int(drain(fd, s, &n, &err), APR_SUCCESS, "the next drain");
    ok(s->events == 2 && !strcmp(s->ids[0], id[1])
       && !strcmp(s->ids[1], id[2]), "writes the rest, in order");

    /* an unsafe refused directory: the entry stays, the report says so */
    chmod(path_in(dir, VERIFY_SPOOL_REFUSED), 0755);
    snprintf(name, sizeof(name), "junk");
    plant(dir, name, "x", 0600);
    memset(s, 0, sizeof(*s));
    drain(fd, s, &n, &err);
    ok(s->refused == 1 && s->kept[0][0] == '\0'
       && strstr(s->whys[0], "left in place")
       && access(path_in(dir, name), F_OK) == 0,
       "refused but left in place when refused/ is unsafe: %s",
       s->whys[0]);
    close(fd);
}

static void test_files(void)
{
    const char *dir;
    char *buf = NULL, *err = NULL;
    size_t len = 0;
    int fd = fresh("files", &dir);

    ok(APR_STATUS_IS_ENOENT(verify_spool_read_file(fd, "state", me, 100,
                                                   &buf, &len, &err, pool)),
       "a missing file: ENOENT");
    is_int(verify_spool_write_file(fd, "state", "one\n", 4, &err, pool),
           APR_SUCCESS, "written");
    is_int(verify_spool_write_file(fd, "state", "two\n", 4, &err, pool),
           APR_SUCCESS, "replaced");
    ok(verify_spool_read_file(fd, "state", me, 100, &buf, &len, &err, pool)
       == APR_SUCCESS && len == 4 && !strcmp(buf, "two\n"),
       "read back: the new text");
    is_int(count_entries(dir), 1, "no temporary file left");
    ok(verify_spool_read_file(fd, "state", me, 3, &buf, &len, &err, pool)
       != APR_SUCCESS && strstr(err, "larger"), "a file over its bound is "
       "refused: %s", err);
    symlink("state", path_in(dir, "alias"));
    ok(verify_spool_read_file(fd, "alias", me, 100, &buf, &len, &err, pool)
       != APR_SUCCESS && strstr(err, "symbolic link"),
       "a link is not followed: %s", err);
    close(fd);
}

int main(void)
{
    unit_begin();
    me = geteuid();
    test_open();
    test_put();
    test_check();
    test_drain();
    test_files();
    return unit_end();
}
