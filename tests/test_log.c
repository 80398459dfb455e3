/* test_log.c: quoting, path patterns, levels, the file sink, and errno preservation. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fdguard.h"
#include "common/log.h"
#include "unit.h"

Test(log, quote_escapes_and_truncates)
{
    char buf[64];
    tshim_log_quote(buf, sizeof buf, "plain", 64);
    cr_assert_str_eq(buf, "plain");
    tshim_log_quote(buf, sizeof buf, "a\"b\\c\n\x7f", 64);
    cr_assert_str_eq(buf, "a\\x22b\\x5cc\\x0a\\x7f");
    tshim_log_quote(buf, sizeof buf, "abcdefghij", 4);
    cr_assert_str_eq(buf, "abcd...");
    char small[8];
    tshim_log_quote(small, sizeof small, "abcdefghij", 64);
    cr_assert_str_eq(small, "abcd...");
}

Test(log, path_patterns)
{
    char buf[32];
    cr_assert_eq(tshim_log_expand_path(buf, sizeof buf, "/tmp/x-%p.log", 123), 0);
    cr_assert_str_eq(buf, "/tmp/x-123.log");
    cr_assert_eq(tshim_log_expand_path(buf, sizeof buf, "100%%-%q", 1), 0);
    cr_assert_str_eq(buf, "100%-%q");
    cr_assert_eq(tshim_log_expand_path(buf, 8, "/tmp/%p", 123456), -1);
}

static char *read_file(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(log, file_sink_levels_and_errno)
{
    char dir[] = "/tmp/toki-log-XXXXXX", pattern[64], path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(pattern, sizeof pattern, "%s/l-%%p", dir);
    snprintf(path, sizeof path, "%s/l-%d", dir, (int)getpid());
    tshim_log_setup(TSHIM_LOG_WARN, pattern);
    errno = EXDEV;
    tshim_log(TSHIM_LOG_WARN, "shown %d", 1);
    cr_assert_eq(errno, EXDEV, "errno changed");
    tshim_log(TSHIM_LOG_INFO, "hidden");
    tshim_log(TSHIM_LOG_ERROR, "also shown");
    char *text = read_file(path);
    cr_assert_not_null(text);
    cr_assert_not_null(strstr(text, "]: shown 1\n"), "%s", text);
    cr_assert_not_null(strstr(text, "]: also shown\n"), "%s", text);
    cr_assert_null(strstr(text, "hidden"));
    char want[40];
    snprintf(want, sizeof want, "toki-shim[%d]: ", (int)getpid());
    cr_assert_not_null(strstr(text, want));
    cr_assert(tshim_log_enabled(TSHIM_LOG_ERROR));
    cr_assert_not(tshim_log_enabled(TSHIM_LOG_DEBUG));
    tshim_log_setup(TSHIM_LOG_QUIET, NULL);
    cr_assert_not(tshim_log_enabled(TSHIM_LOG_ERROR));
    cr_assert_not(tshim_log_enabled(TSHIM_LOG_QUIET));
    unlink(path);
    rmdir(dir);
}

Test(log, long_messages_are_cut_to_one_line)
{
    char dir[] = "/tmp/toki-log-XXXXXX", pattern[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(pattern, sizeof pattern, "%s/l", dir);
    tshim_log_setup(TSHIM_LOG_DEBUG, pattern);
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tshim_log(TSHIM_LOG_ERROR, "%s", big);
    char *text = read_file(pattern);
    cr_assert_not_null(text);
    cr_assert_eq(strchr(text, '\n') - text + 1, (long)strlen(text), "exactly one line");
    unlink(pattern);
    rmdir(dir);
}

Test(log, strerror_is_plain_english)
{
    char buf[32];
    cr_assert_str_eq(tshim_log_strerror(ECONNREFUSED, buf, sizeof buf), "Connection refused");
}

/* The file is opened once, at the first line, and held high and guarded like the
 * shim's socket: the host's low numbers stay free, and the host cannot close it. */
Test(log, the_file_is_held_high_and_guarded)
{
    char dir[] = "/tmp/toki-log-XXXXXX", path[64];
    unit_resolve_libc();
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/l", dir);
    tshim_log_setup(TSHIM_LOG_INFO, path);
    cr_assert_eq(tshim_fdguard_get(TSHIM_FDGUARD_LOG), -1, "opened only when a line comes");
    int lowest = dup(0);
    close(lowest);
    tshim_log(TSHIM_LOG_INFO, "one");
    int fd = tshim_fdguard_get(TSHIM_FDGUARD_LOG);
    cr_assert_gt(fd, 900, "fd %d", fd);
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    cr_assert_eq(dup(0), lowest, "the low number it was made at is free again");
    close(lowest);
    errno = 0;
    cr_assert_eq(close(fd), -1);
    cr_assert_eq(errno, EBADF);
    tshim_log(TSHIM_LOG_INFO, "two");
    cr_assert_eq(tshim_fdguard_get(TSHIM_FDGUARD_LOG), fd, "the same descriptor for every line");
    char *text = read_file(path);
    cr_assert_not_null(strstr(text, "]: one\n"), "%s", text);
    cr_assert_not_null(strstr(text, "]: two\n"), "%s", text);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    unlink(path);
    rmdir(dir);
}

/* A rotated log (renamed away, or removed) is followed: the next line makes the
 * file anew. A file that cannot be opened is tried again at the next line. */
Test(log, a_rotated_or_missing_file_is_opened_again_at_the_next_line)
{
    char dir[] = "/tmp/toki-log-XXXXXX", path[64], old[64], sub[64];
    unit_resolve_libc();
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/l", dir);
    snprintf(old, sizeof old, "%s/l.1", dir);
    tshim_log_setup(TSHIM_LOG_INFO, path);
    tshim_log(TSHIM_LOG_INFO, "before");
    cr_assert_eq(rename(path, old), 0);
    tshim_log(TSHIM_LOG_INFO, "after");
    char *text = read_file(path);
    cr_assert_not_null(text, "no new file");
    cr_assert_null(strstr(text, "before"), "%s", text);
    cr_assert_not_null(strstr(text, "]: after\n"), "%s", text);
    unlink(path);
    unlink(old);

    snprintf(sub, sizeof sub, "%s/later", dir);
    snprintf(path, sizeof path, "%s/later/l", dir);
    tshim_log_setup(TSHIM_LOG_INFO, path);
    tshim_log(TSHIM_LOG_INFO, "nowhere"); /* to stderr: the folder is not there yet */
    cr_assert_eq(mkdir(sub, 0700), 0);
    tshim_log(TSHIM_LOG_INFO, "here");
    text = read_file(path);
    cr_assert_not_null(text);
    cr_assert_not_null(strstr(text, "]: here\n"), "%s", text);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

/* A forked child has no descriptor of the parent's (the fork handlers close them
 * all), and its first line opens its own file: "%p" names it after the child. */
Test(log, a_forked_child_writes_to_its_own_file)
{
    char dir[] = "/tmp/toki-log-XXXXXX", pattern[64], path[64];
    unit_resolve_libc();
    cr_assert_not_null(mkdtemp(dir));
    snprintf(pattern, sizeof pattern, "%s/l-%%p", dir);
    pthread_atfork(tshim_fdguard_fork_prepare, tshim_fdguard_fork_parent, tshim_fdguard_fork_child);
    tshim_log_setup(TSHIM_LOG_INFO, pattern);
    tshim_log(TSHIM_LOG_INFO, "parent");
    pid_t pid = fork();
    if (pid == 0) {
        tshim_log(TSHIM_LOG_INFO, "child");
        _exit(tshim_fdguard_get(TSHIM_FDGUARD_LOG) >= 0 ? 0 : 1);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    snprintf(path, sizeof path, "%s/l-%d", dir, (int)pid);
    char *text = read_file(path);
    cr_assert_not_null(text);
    cr_assert_not_null(strstr(text, "]: child\n"), "%s", text);
    cr_assert_null(strstr(text, "parent"), "%s", text);
    unlink(path);
    snprintf(path, sizeof path, "%s/l-%d", dir, (int)getpid());
    text = read_file(path);
    cr_assert_not_null(text);
    cr_assert_null(strstr(text, "child"), "%s", text);
    unlink(path);
    rmdir(dir);
}

/* The computed UTC calendar agrees with gmtime_r: the epoch, the ends of months
 * and years, leap days (2000 is a leap year, 1900 and 2100 are not), times before
 * 1970, and a spread of others over a few thousand years. */
static void same_as_gmtime(time_t t)
{
    struct tm want, got;
    memset(&got, 0, sizeof got);
    cr_assert_not_null(gmtime_r(&t, &want));
    tshim_clock_utc(t, &got);
    cr_assert(got.tm_year == want.tm_year && got.tm_mon == want.tm_mon &&
                  got.tm_mday == want.tm_mday && got.tm_hour == want.tm_hour &&
                  got.tm_min == want.tm_min && got.tm_sec == want.tm_sec,
              "%lld: %04d-%02d-%02dT%02d:%02d:%02d, not %04d-%02d-%02dT%02d:%02d:%02d", (long long)t,
              got.tm_year + 1900, got.tm_mon + 1, got.tm_mday, got.tm_hour, got.tm_min, got.tm_sec,
              want.tm_year + 1900, want.tm_mon + 1, want.tm_mday, want.tm_hour, want.tm_min,
              want.tm_sec);
}

Test(log, utc_calendar_matches_gmtime)
{
    static const long long fixed[] = {0, -1, 1, 59, 60, 86399, 86400, -86400, -86401,
                                      951782399, 951782400, 951868800, /* 2000-02-28..03-01 */
                                      4107456000, 4107542400,          /* 2100-02-28, 03-01 */
                                      -2203977600, -2203891200,        /* 1900-02-28, 03-01 */
                                      1709164800, 1709251200,          /* 2024-02-29, 03-01 */
                                      946684799, 946684800, 253402300799, -62135596800};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        same_as_gmtime((time_t)fixed[i]);
    /* Every ten hours and a bit from 1600 to 2400, and random seconds in +-10000 years. */
    for (long long t = -11676096000; t < 13569465600; t += 36007)
        same_as_gmtime((time_t)t);
    unsigned long long x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        same_as_gmtime((time_t)((long long)(x % 630720000000ULL) - 315360000000LL));
    }
}
