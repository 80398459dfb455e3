/* pace.c: the debounce and splay schedule, as a small state machine with no clock of its own. */
/* SPDX-License-Identifier: MIT */
#include "pace.h"

void tshim_pace_init(struct tshim_pace *p, long debounce_ms, long splay_ms)
{
    *p = (struct tshim_pace){.debounce_ms = debounce_ms, .splay_ms = splay_ms};
}

void tshim_pace_event(struct tshim_pace *p, long now, uint64_t rnd)
{
    if (p->pending++ == 0) {
        p->quiet_over = 0;
        p->delay = p->splay_ms > 0 ? (long)(rnd % (uint64_t)(p->splay_ms + 1)) : 0;
    }
    /* Once the quiet period is over the action's time is fixed: a steady stream of
     * events cannot put it off for ever through the splay. */
    if (!p->quiet_over)
        p->quiet_at = now + p->debounce_ms;
}

long tshim_pace_wait(struct tshim_pace *p, long now)
{
    if (p->pending == 0)
        return -1;
    if (!p->quiet_over) {
        if (now < p->quiet_at)
            return p->quiet_at - now;
        p->quiet_over = 1;
        p->due_at = p->quiet_at + p->delay;
    }
    return p->due_at > now ? p->due_at - now : 0;
}

unsigned long tshim_pace_take(struct tshim_pace *p)
{
    unsigned long n = p->pending;
    p->pending = 0;
    p->quiet_over = 0;
    return n;
}
