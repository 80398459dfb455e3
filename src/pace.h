/* pace.h: when to act on trigger events: at once, after a quiet period (debounce), after a random delay (splay). */
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
struct tpace {
    long debounce_ms, splay_ms;
    unsigned long pending; /* events not yet covered by an action */
    long quiet_at;         /* when the quiet period ends, if not yet over */
    long due_at;           /* when the action runs, once the quiet period is over */
    int quiet_over;
    long delay;            /* this action's splay delay */
};

void tpace_init(struct tpace *p, long debounce_ms, long splay_ms);

/* A trigger event arrived at now; rnd is a fresh random number (for the splay). */
void tpace_event(struct tpace *p, long now, uint64_t rnd);

/* How long to wait before the action: -1 if nothing is pending, 0 to act now. */
long tpace_wait(struct tpace *p, long now);

/* Starts the action: returns how many events it covers, and forgets them. */
unsigned long tpace_take(struct tpace *p);

#endif
