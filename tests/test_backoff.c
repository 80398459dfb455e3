/* test_backoff.c: reconnect delays stay in their bounds and are really jittered. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>

#include "common/backoff.h"

Test(backoff, first_retry_waits_the_floor)
{
    uint64_t rng = 42;
    cr_assert_eq(tshim_backoff_delay_ms(0, 30000, &rng), 100);
}

Test(backoff, delays_grow_within_bounds_and_respect_the_cap)
{
    uint64_t rng = 7;
    for (unsigned n = 0; n < 200; n++) {
        long ceiling = 100;
        for (unsigned i = 0; i < n && ceiling < 30000; i++)
            ceiling *= 2;
        if (ceiling > 30000)
            ceiling = 30000;
        for (int k = 0; k < 100; k++) {
            long d = tshim_backoff_delay_ms(n, 30000, &rng);
            cr_assert_geq(d, 100, "n=%u d=%ld", n, d);
            cr_assert_leq(d, ceiling, "n=%u d=%ld", n, d);
        }
    }
}

Test(backoff, jitter_spreads_over_the_whole_range)
{
    uint64_t rng = 1;
    long lo = 1 << 30, hi = 0;
    for (int k = 0; k < 1000; k++) {
        long d = tshim_backoff_delay_ms(5, 30000, &rng); /* range 100..3200 */
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    cr_assert_lt(lo, 400);
    cr_assert_gt(hi, 2900);
}

Test(backoff, cap_below_the_floor_still_waits_the_floor)
{
    uint64_t rng = 3;
    cr_assert_eq(tshim_backoff_delay_ms(10, 100, &rng), 100);
}

Test(backoff, generator_is_deterministic_per_seed_and_never_stuck_at_zero)
{
    uint64_t a = 5, b = 5, z = 0;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(tshim_backoff_next(&a), tshim_backoff_next(&b));
    tshim_backoff_next(&z);
    cr_assert_neq(z, 0);
}
