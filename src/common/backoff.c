/* backoff.c: reconnect delays; pure arithmetic on a caller-owned random state. */
/* SPDX-License-Identifier: MIT */
#include "backoff.h"

uint64_t tshim_backoff_next(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

long tshim_backoff_delay_ms(unsigned failures, long cap_ms, uint64_t *rng)
{
    long ceiling = TSHIM_BACKOFF_BASE_MS;
    while (failures-- > 0 && ceiling < cap_ms)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    if (ceiling <= TSHIM_BACKOFF_BASE_MS)
        return TSHIM_BACKOFF_BASE_MS;
    uint64_t span = (uint64_t)(ceiling - TSHIM_BACKOFF_BASE_MS) + 1;
    return TSHIM_BACKOFF_BASE_MS + (long)(tshim_backoff_next(rng) % span);
}
