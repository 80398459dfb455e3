/* clock.h: milliseconds of the monotonic clock, and sleeping on them. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_CLOCK_H
#define TSHIM_CLOCK_H

/* Now, in milliseconds of CLOCK_MONOTONIC: for deadlines and intervals only. */
long tshim_clock_now_ms(void);

/* Sleeps ms milliseconds, to an absolute deadline, so that signals that interrupt
 * the sleep (a SIGSTOP and SIGCONT from Toki) neither shorten nor stretch it. */
void tshim_clock_sleep_ms(long ms);

#endif
