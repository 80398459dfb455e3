/* clock.h: milliseconds of the monotonic clock, and sleeping on them; the wall clock's, and their date. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_CLOCK_H
#define TSHIM_CLOCK_H

#include <stddef.h>
#include <time.h>

/* Now, in milliseconds of CLOCK_MONOTONIC: for deadlines and intervals only. */
long tshim_clock_now_ms(void);

/* Sleeps ms milliseconds, to an absolute deadline, so that signals that interrupt
 * the sleep (a SIGSTOP and SIGCONT from Toki) neither shorten nor stretch it. */
void tshim_clock_sleep_ms(long ms);

/* Now, in milliseconds since 1970 (CLOCK_REALTIME): for what a person reads. */
long long tshim_clock_wall_ms(void);

/* The UTC date and time of t into tm's year, month, day, hour, minute and second
 * (nothing else), as gmtime_r would give them, but computed: gmtime_r takes
 * glibc's time zone lock, and a host that forks while the listener holds it
 * leaves its child's localtime_r waiting for ever. No lock, no call. */
void tshim_clock_utc(time_t t, struct tm *tm);

/* ms since 1970 as ISO 8601 in UTC, to the millisecond: 2024-05-01T12:00:00.000Z. */
void tshim_clock_iso8601(long long ms, char *out, size_t size);

#endif
