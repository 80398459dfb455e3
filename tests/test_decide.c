/* test_decide.c: the action decision table: TOKI_SHIM_ACTION, the safety rule and the event fd. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>

#include "common/decide.h"

static struct tshim_decide_plan decide_fd(enum tshim_config_action a, int force, int hook, int handler,
                                          int fd, enum tshim_decide_runtime rt)
{
    struct tshim_decide_facts f = {.have_hook = hook, .have_handler = handler, .have_fd = fd, .runtime = rt};
    return tshim_decide_action(a, force, &f);
}

static struct tshim_decide_plan decide(enum tshim_config_action a, int force, int hook, int handler,
                                       enum tshim_decide_runtime rt)
{
    return decide_fd(a, force, hook, handler, 0, rt);
}

#define H TSHIM_DECIDE_CALL_HOOK
#define S TSHIM_DECIDE_SEND_SIGNAL
#define F TSHIM_DECIDE_POST_FD

Test(decide, auto_prefers_the_hook)
{
    cr_assert_eq(decide(TSHIM_CONFIG_AUTO, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, H);
    cr_assert_eq(decide(TSHIM_CONFIG_AUTO, 0, 0, 1, TSHIM_DECIDE_NATIVE).what, S);
    cr_assert_eq(decide(TSHIM_CONFIG_AUTO, 0, 1, 0, TSHIM_DECIDE_GO).what, H);
}

Test(decide, safety_rule_blocks_the_signal)
{
    struct tshim_decide_plan p = decide(TSHIM_CONFIG_AUTO, 0, 0, 0, TSHIM_DECIDE_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_NO_HANDLER);
    p = decide(TSHIM_CONFIG_SIGNAL, 0, 0, 1, TSHIM_DECIDE_GO);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_RUNTIME);
    p = decide(TSHIM_CONFIG_SIGNAL, 0, 0, 1, TSHIM_DECIDE_JVM);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_RUNTIME);
}

Test(decide, force_overrides_the_safety_rule)
{
    cr_assert_eq(decide(TSHIM_CONFIG_SIGNAL, 1, 0, 0, TSHIM_DECIDE_NATIVE).what, S);
    cr_assert_eq(decide(TSHIM_CONFIG_AUTO, 1, 0, 0, TSHIM_DECIDE_JVM).what, S);
    /* but not the choice of the hook in auto mode */
    cr_assert_eq(decide(TSHIM_CONFIG_AUTO, 1, 1, 0, TSHIM_DECIDE_NATIVE).what, H);
}

Test(decide, explicit_actions)
{
    cr_assert_eq(decide(TSHIM_CONFIG_HOOK, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, H);
    struct tshim_decide_plan p = decide(TSHIM_CONFIG_HOOK, 0, 0, 1, TSHIM_DECIDE_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.hook_skip, TSHIM_DECIDE_NO_HOOK);
    cr_assert_eq(decide(TSHIM_CONFIG_SIGNAL, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, S);
    cr_assert_eq(decide(TSHIM_CONFIG_BOTH, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, H | S);
    p = decide(TSHIM_CONFIG_BOTH, 0, 0, 0, TSHIM_DECIDE_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.hook_skip, TSHIM_DECIDE_NO_HOOK);
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_NO_HANDLER);
    for (int bits = 0; bits < 8; bits++)
        cr_assert_eq(decide(TSHIM_CONFIG_NONE, bits & 1, bits & 2, bits & 4, TSHIM_DECIDE_NATIVE).what, 0);
}

Test(decide, an_event_fd_is_posted_under_every_action_but_none_and_replaces_the_auto_signal)
{
    /* auto: a program that asked for the fd gets no signal, with or without a handler */
    cr_assert_eq(decide_fd(TSHIM_CONFIG_AUTO, 0, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, F);
    cr_assert_eq(decide_fd(TSHIM_CONFIG_AUTO, 1, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, F);
    cr_assert_eq(decide_fd(TSHIM_CONFIG_AUTO, 0, 1, 1, 1, TSHIM_DECIDE_NATIVE).what, F | H);
    /* explicit actions keep what they name, and the fd comes on top */
    cr_assert_eq(decide_fd(TSHIM_CONFIG_SIGNAL, 0, 0, 1, 1, TSHIM_DECIDE_NATIVE).what, F | S);
    cr_assert_eq(decide_fd(TSHIM_CONFIG_HOOK, 0, 1, 1, 1, TSHIM_DECIDE_NATIVE).what, F | H);
    cr_assert_eq(decide_fd(TSHIM_CONFIG_BOTH, 0, 1, 1, 1, TSHIM_DECIDE_NATIVE).what, F | H | S);
    /* fd: only the fd, whatever else the program has */
    cr_assert_eq(decide_fd(TSHIM_CONFIG_FD, 0, 1, 1, 1, TSHIM_DECIDE_NATIVE).what, F);
    struct tshim_decide_plan p = decide_fd(TSHIM_CONFIG_FD, 1, 1, 1, 0, TSHIM_DECIDE_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.hook_skip, TSHIM_DECIDE_OK, "fd mode complains of no missing hook");
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_OK);
    cr_assert_eq(decide_fd(TSHIM_CONFIG_NONE, 1, 1, 1, 1, TSHIM_DECIDE_NATIVE).what, 0);
}

Test(decide, a_signal_taken_by_signalfd_or_sigwait_is_sent_without_a_handler)
{
    struct tshim_decide_facts f = {.blocked = 1, .runtime = TSHIM_DECIDE_NATIVE};
    cr_assert_eq(tshim_decide_action(TSHIM_CONFIG_AUTO, 0, &f).what, S);
    f.runtime = TSHIM_DECIDE_GO;
    cr_assert_eq(tshim_decide_action(TSHIM_CONFIG_AUTO, 0, &f).signal_skip, TSHIM_DECIDE_RUNTIME);
}

Test(decide, a_program_known_to_exit_on_the_signal_gets_it_only_when_forced)
{
    struct tshim_decide_facts f = {.have_handler = 1, .dies = 1, .runtime = TSHIM_DECIDE_NATIVE};
    struct tshim_decide_plan p = tshim_decide_action(TSHIM_CONFIG_AUTO, 0, &f);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.signal_skip, TSHIM_DECIDE_DIES);
    cr_assert_eq(tshim_decide_action(TSHIM_CONFIG_SIGNAL, 1, &f).what, S);
    f.have_hook = 1; /* the hook is never withheld */
    cr_assert_eq(tshim_decide_action(TSHIM_CONFIG_AUTO, 0, &f).what, H);
}
