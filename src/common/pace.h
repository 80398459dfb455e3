/* pace.h: when to act on trigger events: at once, after a quiet period (debounce), after a random delay (splay). */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_PACE_H
#define TSHIM_PACE_H

#include <stdint.h>

/* Pure: times are passed in, in milliseconds of a monotonic clock, and so is the
 * randomness, so that tests can drive every path.
 *
 * An action covers every trigger event that arrived before it ran. With a debounce
 * it waits until no event has arrived for debounce_ms; then, with a splay, for a
 * further delay drawn once per action from [0, splay_ms]. Events that arrive during
 * that delay do not postpone it: they are covered by the action, which runs at the
 * time it was given. With neither (the default), each event is acted on at once. */
struct tshim_pace {
    long debounce_ms, splay_ms;
    unsigned long pending; /* events not yet covered by an action */
    long quiet_at;         /* when the quiet period ends, if not yet over */
    long due_at;           /* when the action runs, once the quiet period is over */
    int quiet_over;
    long delay; /* this action's splay delay */
};

void tshim_pace_init(struct tshim_pace *p, long debounce_ms, long splay_ms);

/* A trigger event arrived at now; rnd is a fresh random number (for the splay). */
void tshim_pace_event(struct tshim_pace *p, long now, uint64_t rnd);

/* How long to wait before the action: -1 if nothing is pending, 0 to act now. */
long tshim_pace_wait(struct tshim_pace *p, long now);

/* Starts the action: returns how many events it covers, and forgets them. */
unsigned long tshim_pace_take(struct tshim_pace *p);

#endif
