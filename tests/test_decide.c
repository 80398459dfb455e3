/* test_decide.c: the action decision table: TOKI_SHIM_ACTION, the safety rule and the event fd. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>

#include "common/decide.h"

static struct tshim_decide_plan decide_fd(enum tshim_decide_action a, int force, int hook, int handler,
                                          int fd, enum tshim_decide_runtime rt)
{
    struct tshim_decide_facts f = {.have_hook = hook, .have_handler = handler, .have_fd = fd, .runtime = rt};
    return tshim_decide_action(a, force, &f);
}

static struct tshim_decide_plan decide(enum tshim_decide_action a, int force, int hook, int handler,
                                       enum tshim_decide_runtime rt)
{
    return decide_fd(a, force, hook, handler, 0, rt);
}

#define H TSHIM_DECIDE_CALL_HOOK
#define S TSHIM_DECIDE_SEND_SIGNAL
#define F TSHIM_DECIDE_POST_FD

Test(decide, auto_prefers_the_hook)
{
    cr_assert_eq(decide(TSHIM_DECIDE_AUTO, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, H);
    cr_assert_eq(decide(TSHIM_DECIDE_AUTO, 0, 0, 1, TSHIM_DECIDE_NATIVE).what, S);
    cr_assert_eq(decide(TSHIM_DECIDE_AUTO, 0, 1, 0, TSHIM_DECIDE_GO).what, H);
}

Test(decide, safety_rule_blocks_the_signal)
{
    struct tshim_decide_plan p = decide(TSHIM_DECIDE_AUTO, 0, 0, 0, TSHIM_DECIDE_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_NO_HANDLER);
    p = decide(TSHIM_DECIDE_SIGNAL, 0, 0, 1, TSHIM_DECIDE_GO);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_RUNTIME);
    p = decide(TSHIM_DECIDE_SIGNAL, 0, 0, 1, TSHIM_DECIDE_JVM);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_RUNTIME);
}

Test(decide, force_overrides_the_safety_rule)
{
    cr_assert_eq(decide(TSHIM_DECIDE_SIGNAL, 1, 0, 0, TSHIM_DECIDE_NATIVE).what, S);
    cr_assert_eq(decide(TSHIM_DECIDE_AUTO, 1, 0, 0, TSHIM_DECIDE_JVM).what, S);
    /* but not the choice of the hook in auto mode */
    cr_assert_eq(decide(TSHIM_DECIDE_AUTO, 1, 1, 0, TSHIM_DECIDE_NATIVE).what, H);
}

Test(decide, explicit_actions)
{
    cr_assert_eq(decide(TSHIM_DECIDE_HOOK, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, H);
    struct tshim_decide_plan p = decide(TSHIM_DECIDE_HOOK, 0, 0, 1, TSHIM_DECIDE_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.hook_skip, TSHIM_DECIDE_NO_HOOK);
    cr_assert_eq(decide(TSHIM_DECIDE_SIGNAL, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, S);
    cr_assert_eq(decide(TSHIM_DECIDE_BOTH, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, H | S);
    p = decide(TSHIM_DECIDE_BOTH, 0, 0, 0, TSHIM_DECIDE_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.hook_skip, TSHIM_DECIDE_NO_HOOK);
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_NO_HANDLER);
    for (int bits = 0; bits < 8; bits++)
        cr_assert_eq(decide(TSHIM_DECIDE_NONE, bits & 1, bits & 2, bits & 4, TSHIM_DECIDE_NATIVE).what, 0);
}

Test(decide, an_event_fd_is_posted_under_every_action_but_none_and_replaces_the_auto_signal)
{
    /* auto: a program that asked for the fd gets no signal, with or without a handler */
    cr_assert_eq(decide_fd(TSHIM_DECIDE_AUTO, 0, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, F);
    cr_assert_eq(decide_fd(TSHIM_DECIDE_AUTO, 1, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, F);
    cr_assert_eq(decide_fd(TSHIM_DECIDE_AUTO, 0, 1, 1, 1, TSHIM_DECIDE_NATIVE).what, F | H);
    /* explicit actions keep what they name, and the fd comes on top */
    cr_assert_eq(decide_fd(TSHIM_DECIDE_SIGNAL, 0, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, F | S);
    cr_assert_eq(decide_fd(TSHIM_DECIDE_HOOK, 0, 1, 1, 1, TSHIM_DECIDE_NATIVE).what, F | H);
    cr_assert_eq(decide_fd(TSHIM_DECIDE_BOTH, 0, 1, 1, 1, TSHIM_DECIDE_NATIVE).what, F | H | S);
    /* fd: only the fd, whatever else the program has */
    cr_assert_eq(decide_fd(TSHIM_DECIDE_FD, 0, 1, 1, 1, TSHIM_DECIDE_NATIVE).what, F);
    struct tshim_decide_plan p = decide_fd(TSHIM_DECIDE_FD, 1, 1, 1, 0, TSHIM_DECIDE_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.hook_skip, TSHIM_DECIDE_OK, "fd mode complains of no missing hook");
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_OK);
    cr_assert_eq(decide_fd(TSHIM_DECIDE_NONE, 1, 1, 1, 1, TSHIM_DECIDE_NATIVE).what, 0);
}

Test(decide, a_signal_taken_by_signalfd_or_sigwait_is_sent_without_a_handler)
{
    struct tshim_decide_facts f = {.blocked = 1, .runtime = TSHIM_DECIDE_NATIVE};
    cr_assert_eq(tshim_decide_action(TSHIM_DECIDE_AUTO, 0, &f).what, S);
    f.runtime = TSHIM_DECIDE_GO;
    cr_assert_eq(tshim_decide_action(TSHIM_DECIDE_AUTO, 0, &f).signal_skip, TSHIM_DECIDE_RUNTIME);
}

Test(decide, a_program_known_to_exit_on_the_signal_gets_it_only_when_forced)
{
    struct tshim_decide_facts f = {.have_handler = 1, .dies = 1, .runtime = TSHIM_DECIDE_NATIVE};
    struct tshim_decide_plan p = tshim_decide_action(TSHIM_DECIDE_AUTO, 0, &f);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_DIES);
    cr_assert_eq(tshim_decide_action(TSHIM_DECIDE_SIGNAL, 1, &f).what, S);
    f.have_hook = 1; /* the hook is never withheld */
    cr_assert_eq(tshim_decide_action(TSHIM_DECIDE_AUTO, 0, &f).what, H);
}

/* Every action has its name, and the names are the ones the user is shown. */
Test(decide, every_action_has_a_name)
{
    static const char *const want[] = {"auto", "hook", "signal", "both", "fd", "none"};
    cr_assert_eq(sizeof want / sizeof want[0], TSHIM_DECIDE_ACTIONS);
    for (int a = 0; a < TSHIM_DECIDE_ACTIONS; a++)
        cr_assert_str_eq(tshim_decide_action_name((enum tshim_decide_action)a), want[a]);
}

/* The library gathers the signal's facts only when may_signal says so: without
 * them the plan must not depend on them. */
Test(decide, may_signal_is_false_only_where_no_signal_is_considered)
{
    for (int a = 0; a < TSHIM_DECIDE_ACTIONS; a++)
        for (int bits = 0; bits < 4; bits++) {
            struct tshim_decide_facts f = {.have_hook = bits & 1, .have_fd = (bits >> 1) & 1};
            if (tshim_decide_may_signal((enum tshim_decide_action)a, &f))
                continue;
            struct tshim_decide_plan p = tshim_decide_action((enum tshim_decide_action)a, 1, &f);
            cr_assert_eq(p.what & S, 0, "action %d, facts %d", a, bits);
            cr_assert_eq(p.signal_skip, TSHIM_DECIDE_OK);
        }
}

static const char *describe(unsigned what, enum tshim_decide_action a, int brief)
{
    static char buf[160];
    struct tshim_decide_plan p = {what, TSHIM_DECIDE_OK, TSHIM_DECIDE_OK};
    tshim_decide_describe(&p, a, "HUP", brief, buf, sizeof buf);
    return buf;
}

Test(decide, a_plan_in_words)
{
    cr_assert_str_eq(describe(H | S | F, TSHIM_DECIDE_BOTH, 1), "hook+signal");
    cr_assert_str_eq(describe(H | F, TSHIM_DECIDE_AUTO, 1), "hook");
    cr_assert_str_eq(describe(S, TSHIM_DECIDE_SIGNAL, 1), "signal");
    cr_assert_str_eq(describe(F, TSHIM_DECIDE_AUTO, 1), "fd");
    cr_assert_str_eq(describe(0, TSHIM_DECIDE_FD, 1), "fd");
    cr_assert_str_eq(describe(0, TSHIM_DECIDE_AUTO, 1), "nothing");
    cr_assert_str_eq(describe(H | S | F, TSHIM_DECIDE_BOTH, 0),
                     "calls toki_on_refresh and sends SIGHUP; posts the event fd (the program "
                     "asked for it)");
    cr_assert_str_eq(describe(S, TSHIM_DECIDE_SIGNAL, 0), "sends SIGHUP");
    cr_assert_str_eq(describe(0, TSHIM_DECIDE_FD, 0),
                     "posts the event fd, if the program has called toki_shim_event_fd()");
    cr_assert_str_eq(describe(0, TSHIM_DECIDE_NONE, 0), "");
    struct tshim_decide_plan p = {0, TSHIM_DECIDE_OK, TSHIM_DECIDE_OK};
    char buf[16];
    cr_assert_eq(tshim_decide_describe(&p, TSHIM_DECIDE_NONE, "HUP", 1, buf, sizeof buf), 0);
    cr_assert_eq(tshim_decide_describe(&p, TSHIM_DECIDE_FD, "HUP", 1, buf, sizeof buf), 1);
}
