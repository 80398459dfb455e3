/* test_dispatch.c: tshim_dispatch_event and tshim_dispatch_act against hooks in this binary, and runtime detection. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/dispatch.h"
#include "toki_shim.h"

/* Hooks for tshim_dispatch_event to find: this test binary is linked with -rdynamic. */
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

/* The java launcher loads libjvm.so after the program has started: the runtime is
 * looked for again whenever the set of loaded objects changes, both ways. */
Test(dispatch, a_jvm_loaded_after_start_is_seen_and_its_unloading_too)
{
    char dir[] = "/tmp/test_dispatch.XXXXXX", jvm[64], cmd[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(jvm, sizeof jvm, "%s/libjvm.so", dir);
    snprintf(cmd, sizeof cmd, "cp %s/tests/hosts/libplugin.so %s", BUILD_DIR, jvm);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(tshim_dispatch_runtime(), TSHIM_DECIDE_NATIVE);
    void *h = dlopen(jvm, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "%s", dlerror());
    cr_assert_eq(tshim_dispatch_runtime(), TSHIM_DECIDE_JVM, "a libjvm.so loaded after start");
    dlclose(h);
    cr_assert_eq(tshim_dispatch_runtime(), TSHIM_DECIDE_NATIVE, "libjvm.so was unloaded");
    unlink(jvm);
    rmdir(dir);
}

static struct tshim_config cfg_with(enum tshim_decide_action a, int signo, const char *event)
{
    static char list[64]; /* one trigger, and the list's final NUL */
    struct tshim_config c;
    memset(&c, 0, sizeof c);
    memset(list, 0, sizeof list);
    snprintf(list, sizeof list - 1, "%s", event);
    c.events = list;
    c.action = a;
    c.signo = signo;
    c.log_level = TSHIM_LOG_QUIET;
    return c;
}

/* What the listener does with one event when nothing is debounced. */
static void event(const struct tshim_config *c, const char *name)
{
    if (tshim_dispatch_event(c, name) && c->action != TSHIM_DECIDE_NONE)
        tshim_dispatch_act(c, name, 1);
}

Test(dispatch, event_calls_toki_on_event_and_says_which_names_trigger)
{
    tshim_log_setup(TSHIM_LOG_QUIET, NULL);
    struct tshim_config c = cfg_with(TSHIM_DECIDE_AUTO, SIGHUP, "AUTH_REFRESHED");
    cr_assert_eq(tshim_dispatch_event(&c, "AUTH_REFRESHED"), 1);
    cr_assert_eq(events, 1);
    cr_assert_eq(refreshes, 0, "the action is the caller's to schedule");
    tshim_dispatch_act(&c, "AUTH_REFRESHED", 1);
    cr_assert_eq(refreshes, 1);
    cr_assert_eq(tshim_dispatch_event(&c, "FINISHED"), 0);
    cr_assert_eq(events, 2);
    cr_assert_str_eq(last_event, "FINISHED");
    c.action = TSHIM_DECIDE_NONE;
    cr_assert_eq(tshim_dispatch_event(&c, "AUTH_REFRESHED"), 1, "still a trigger: the generation counts it");
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
    tshim_log_setup(TSHIM_LOG_QUIET, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    struct tshim_config c = cfg_with(TSHIM_DECIDE_SIGNAL, SIGUSR1, "AUTH_REFRESHED");
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
