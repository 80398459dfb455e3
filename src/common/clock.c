/* clock.c: the one place that reads the monotonic clock in milliseconds. */
/* SPDX-License-Identifier: MIT */
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

long tshim_clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void tshim_clock_sleep_ms(long ms)
{
    struct timespec t;
    /* The system calls themselves where the kernel's timespec is libc's (64-bit
     * systems): the listener's first sleep is on every start, and the first call of
     * a libc function costs a lazy binding (and often a page of libc). */
    int raw = sizeof t == 2 * sizeof(long) && sizeof t.tv_sec == sizeof(long);
    if (raw)
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
    else
        clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    if (raw) {
        while (syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0 &&
               errno == EINTR)
            ;
        return;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
        ;
}

long long tshim_clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tshim_clock_utc(time_t t, struct tm *tm)
{
    long long days = (long long)t / 86400, secs = (long long)t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    tm->tm_hour = (int)(secs / 3600);
    tm->tm_min = (int)(secs / 60 % 60);
    tm->tm_sec = (int)(secs % 60);
    /* Days since 0000-03-01: the leap day ends each year, and a 400-year era has
     * 146097 days. Within the era, the year, then the day of a year that starts
     * in March, whose months have lengths that (153 m + 2) / 5 adds up. */
    days += 719468;
    long long era = (days >= 0 ? days : days - 146096) / 146097;
    long long doe = days - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long month = mp < 10 ? mp + 3 : mp - 9;
    tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->tm_mon = (int)(month - 1);
    tm->tm_year = (int)(yoe + era * 400 + (month <= 2) - 1900);
}

void tshim_clock_iso8601(long long ms, char *out, size_t size)
{
    struct tm tm;
    tshim_clock_utc((time_t)(ms / 1000), &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}
