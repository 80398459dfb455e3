/* test_pace.c: the debounce and splay schedule, driven with made-up times and random numbers. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>

#include "common/pace.h"

static struct tshim_pace p;

Test(pace, nothing_pending_means_nothing_to_wait_for)
{
    tshim_pace_init(&p, 50, 0);
    cr_assert_eq(tshim_pace_wait(&p, 1000), -1);
}

Test(pace, without_debounce_or_splay_each_event_is_acted_on_at_once)
{
    tshim_pace_init(&p, 0, 0);
    for (int i = 0; i < 100; i++) {
        tshim_pace_event(&p, 1000, 12345);
        cr_assert_eq(tshim_pace_wait(&p, 1000), 0);
        cr_assert_eq(tshim_pace_take(&p), 1);
        cr_assert_eq(tshim_pace_wait(&p, 1000), -1);
    }
}

Test(pace, a_burst_within_the_quiet_period_is_one_action_after_it)
{
    tshim_pace_init(&p, 50, 0);
    for (long t = 0; t < 10; t++) /* 100 events in 10 ms */
        for (int k = 0; k < 10; k++)
            tshim_pace_event(&p, 1000 + t, 7);
    cr_assert_eq(tshim_pace_wait(&p, 1009), 50, "the quiet period runs from the last event");
    cr_assert_eq(tshim_pace_wait(&p, 1058), 1);
    cr_assert_eq(tshim_pace_wait(&p, 1059), 0);
    cr_assert_eq(tshim_pace_take(&p), 100);
    cr_assert_eq(tshim_pace_wait(&p, 1059), -1);
}

Test(pace, events_spaced_wider_than_the_debounce_are_separate_actions)
{
    tshim_pace_init(&p, 50, 0);
    tshim_pace_event(&p, 0, 0);
    cr_assert_eq(tshim_pace_wait(&p, 50), 0);
    cr_assert_eq(tshim_pace_take(&p), 1);
    tshim_pace_event(&p, 100, 0);
    cr_assert_eq(tshim_pace_wait(&p, 100), 50);
    cr_assert_eq(tshim_pace_wait(&p, 150), 0);
    cr_assert_eq(tshim_pace_take(&p), 1);
}

Test(pace, a_late_look_acts_at_once)
{
    tshim_pace_init(&p, 50, 0);
    tshim_pace_event(&p, 0, 0);
    cr_assert_eq(tshim_pace_wait(&p, 5000), 0);
}

Test(pace, the_splay_delay_is_drawn_once_per_action_within_its_bound)
{
    for (uint64_t rnd = 0; rnd < 2000; rnd += 7) {
        tshim_pace_init(&p, 0, 500);
        tshim_pace_event(&p, 10000, rnd);
        long w = tshim_pace_wait(&p, 10000);
        cr_assert_eq(w, (long)(rnd % 501));
        cr_assert_leq(w, 500);
        /* A later event brings no new draw and does not postpone the action. */
        tshim_pace_event(&p, 10000 + w / 2, rnd + 1);
        cr_assert_eq(tshim_pace_wait(&p, 10000 + w / 2), w - w / 2);
        cr_assert_eq(tshim_pace_wait(&p, 10000 + w), 0);
        cr_assert_eq(tshim_pace_take(&p), 2);
    }
}

Test(pace, a_steady_stream_cannot_put_a_splayed_action_off)
{
    tshim_pace_init(&p, 0, 300);
    tshim_pace_event(&p, 0, 200); /* delay 200 */
    long t;
    for (t = 0; tshim_pace_wait(&p, t) != 0; t += 10)
        tshim_pace_event(&p, t, 999);
    cr_assert_eq(t, 200);
    cr_assert_eq(tshim_pace_take(&p), 21);
}

Test(pace, debounce_then_splay)
{
    tshim_pace_init(&p, 50, 100);
    tshim_pace_event(&p, 0, 30);  /* delay 30 */
    tshim_pace_event(&p, 20, 99); /* quiet until 70 */
    cr_assert_eq(tshim_pace_wait(&p, 20), 50);
    cr_assert_eq(tshim_pace_wait(&p, 70), 30, "the splay starts when the quiet period ends");
    tshim_pace_event(&p, 80, 5); /* during the splay: covered, not postponing */
    cr_assert_eq(tshim_pace_wait(&p, 99), 1);
    cr_assert_eq(tshim_pace_wait(&p, 100), 0);
    cr_assert_eq(tshim_pace_take(&p), 3);
}
