/* backoff.h: the reconnect delay, exponential with full jitter and a floor. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_BACKOFF_H
#define TSHIM_BACKOFF_H

#include <stdint.h>

#define TSHIM_BACKOFF_BASE_MS 100

/* The delay before reconnect attempt number `failures` (0 for the first retry):
 * uniform in [100 ms, min(cap, 100 ms * 2^failures)]. The floor means that no
 * draw of the jitter can turn the retry loop into a spin. */
long tshim_backoff_delay_ms(unsigned failures, long cap_ms, uint64_t *rng);

/* xorshift64*: the shim's own generator, so that it never touches the host's rand(). */
uint64_t tshim_backoff_next(uint64_t *state);

#endif
