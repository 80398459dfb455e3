/* test_log.c: quoting, path patterns, levels, the file sink, and errno preservation. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

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
