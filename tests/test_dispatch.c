/* test_dispatch.c: the action decision table, and tdisp_event/tdisp_act against hooks in this binary. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "dispatch.h"
#include "toki_shim.h"

/* Hooks for tdisp_event to find: this test binary is linked with -rdynamic. */
static int refreshes, events;
static char last_event[300];

void toki_on_refresh(void)
{
    refreshes++;
}

void toki_on_event(const char *name)
{
    events++;
    strncpy(last_event, name, sizeof last_event - 1);
}

static struct tdisp_plan decide_fd(enum tcfg_action a, int force, int hook, int handler,
                                   int fd, enum tdisp_runtime rt)
{
    struct tdisp_facts f = {hook, handler, fd, rt};
    return tdisp_decide(a, force, &f);
}

static struct tdisp_plan decide(enum tcfg_action a, int force, int hook, int handler,
                                enum tdisp_runtime rt)
{
    return decide_fd(a, force, hook, handler, 0, rt);
}

#define H TDISP_CALL_HOOK
#define S TDISP_SEND_SIGNAL
#define F TDISP_POST_FD

Test(dispatch, auto_prefers_the_hook)
{
    cr_assert_eq(decide(TCFG_AUTO, 0, 1, 1, TDISP_NATIVE).what, H);
    cr_assert_eq(decide(TCFG_AUTO, 0, 0, 1, TDISP_NATIVE).what, S);
    cr_assert_eq(decide(TCFG_AUTO, 0, 1, 0, TDISP_GO).what, H);
}

Test(dispatch, safety_rule_blocks_the_signal)
{
    struct tdisp_plan p = decide(TCFG_AUTO, 0, 0, 0, TDISP_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.signal_skip, TDISP_NO_HANDLER);
    p = decide(TCFG_SIGNAL, 0, 0, 1, TDISP_GO);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.signal_skip, TDISP_RUNTIME);
    p = decide(TCFG_SIGNAL, 0, 0, 1, TDISP_JVM);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.signal_skip, TDISP_RUNTIME);
}

Test(dispatch, force_overrides_the_safety_rule)
{
    cr_assert_eq(decide(TCFG_SIGNAL, 1, 0, 0, TDISP_NATIVE).what, S);
    cr_assert_eq(decide(TCFG_AUTO, 1, 0, 0, TDISP_JVM).what, S);
    /* but not the choice of the hook in auto mode */
    cr_assert_eq(decide(TCFG_AUTO, 1, 1, 0, TDISP_NATIVE).what, H);
}

Test(dispatch, explicit_actions)
{
    cr_assert_eq(decide(TCFG_HOOK, 0, 1, 1, TDISP_NATIVE).what, H);
    struct tdisp_plan p = decide(TCFG_HOOK, 0, 0, 1, TDISP_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.hook_skip, TDISP_NO_HOOK);
    cr_assert_eq(decide(TCFG_SIGNAL, 0, 1, 1, TDISP_NATIVE).what, S);
    cr_assert_eq(decide(TCFG_BOTH, 0, 1, 1, TDISP_NATIVE).what, H | S);
    p = decide(TCFG_BOTH, 0, 0, 0, TDISP_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.hook_skip, TDISP_NO_HOOK);
    cr_assert_eq(p.signal_skip, TDISP_NO_HANDLER);
    for (int bits = 0; bits < 8; bits++)
        cr_assert_eq(decide(TCFG_NONE, bits & 1, bits & 2, bits & 4, TDISP_NATIVE).what, 0);
}

Test(dispatch, an_event_fd_is_posted_under_every_action_but_none_and_replaces_the_auto_signal)
{
    /* auto: a program that asked for the fd gets no signal, with or without a handler */
    cr_assert_eq(decide_fd(TCFG_AUTO, 0, 0, 1, 1, TDISP_NATIVE).what, F);
    cr_assert_eq(decide_fd(TCFG_AUTO, 1, 0, 1, 1, TDISP_NATIVE).what, F);
    cr_assert_eq(decide_fd(TCFG_AUTO, 0, 1, 1, 1, TDISP_NATIVE).what, F | H);
    /* explicit actions keep what they name, and the fd comes on top */
    cr_assert_eq(decide_fd(TCFG_SIGNAL, 0, 0, 1, 1, TDISP_NATIVE).what, F | S);
    cr_assert_eq(decide_fd(TCFG_HOOK, 0, 1, 1, 1, TDISP_NATIVE).what, F | H);
    cr_assert_eq(decide_fd(TCFG_BOTH, 0, 1, 1, 1, TDISP_NATIVE).what, F | H | S);
    /* fd: only the fd, whatever else the program has */
    cr_assert_eq(decide_fd(TCFG_FD, 0, 1, 1, 1, TDISP_NATIVE).what, F);
    struct tdisp_plan p = decide_fd(TCFG_FD, 1, 1, 1, 0, TDISP_NATIVE);
    cr_assert_eq(p.what, 0);
    cr_assert_eq(p.hook_skip, TDISP_OK, "fd mode complains of no missing hook");
    cr_assert_eq(p.signal_skip, TDISP_OK);
    cr_assert_eq(decide_fd(TCFG_NONE, 1, 1, 1, 1, TDISP_NATIVE).what, 0);
}

Test(dispatch, this_test_program_is_native)
{
    cr_assert_eq(tdisp_runtime(), TDISP_NATIVE);
}

static struct tcfg cfg_with(enum tcfg_action a, int signo, const char *event)
{
    struct tcfg c;
    memset(&c, 0, sizeof c);
    c.action = a;
    c.signo = signo;
    strcpy(c.events, event); /* one trigger; memset supplied the list's final NUL */
    c.log_level = TLOG_QUIET;
    return c;
}

/* What the listener does with one event when nothing is debounced. */
static void event(const struct tcfg *c, const char *name)
{
    if (tdisp_event(c, name) && c->action != TCFG_NONE)
        tdisp_act(c, name, 1);
}

Test(dispatch, event_calls_toki_on_event_and_says_which_names_trigger)
{
    tlog_setup(TLOG_QUIET, NULL);
    struct tcfg c = cfg_with(TCFG_AUTO, SIGHUP, "AUTH_REFRESHED");
    cr_assert_eq(tdisp_event(&c, "AUTH_REFRESHED"), 1);
    cr_assert_eq(events, 1);
    cr_assert_eq(refreshes, 0, "the action is the caller's to schedule");
    tdisp_act(&c, "AUTH_REFRESHED", 1);
    cr_assert_eq(refreshes, 1);
    cr_assert_eq(tdisp_event(&c, "FINISHED"), 0);
    cr_assert_eq(events, 2);
    cr_assert_str_eq(last_event, "FINISHED");
    c.action = TCFG_NONE;
    cr_assert_eq(tdisp_event(&c, "AUTH_REFRESHED"), 1, "still a trigger: the generation counts it");
    cr_assert_eq(events, 3);
    cr_assert_eq(refreshes, 1);
}

static volatile sig_atomic_t usr1;
static void on_usr1(int s)
{
    (void)s;
    usr1++;
}

Test(dispatch, signal_goes_to_a_handler_and_never_to_a_default_disposition)
{
    tlog_setup(TLOG_QUIET, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    struct tcfg c = cfg_with(TCFG_SIGNAL, SIGUSR1, "AUTH_REFRESHED");
    event(&c, "AUTH_REFRESHED");
    cr_assert_eq(usr1, 1);

    /* SIGUSR2 has its default action (terminate): block it to see if it was sent. */
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    signal(SIGUSR2, SIG_DFL);
    sigprocmask(SIG_BLOCK, &set, NULL);
    c.signo = SIGUSR2;
    event(&c, "AUTH_REFRESHED");
    sigpending(&pending);
    cr_assert_not(sigismember(&pending, SIGUSR2), "sent to a process that would die of it");
    c.signal_force = 1;
    event(&c, "AUTH_REFRESHED");
    sigpending(&pending);
    cr_assert(sigismember(&pending, SIGUSR2), "TOKI_SHIM_SIGNAL_FORCE=1 did not send it");
}
