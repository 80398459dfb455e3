/* decide.c: TOKI_SHIM_ACTION and the safety rule, as a pure function of the facts. */
/* SPDX-License-Identifier: MIT */
#include "decide.h"

#include <stdio.h>

const char *const tshim_decide_action_names[TSHIM_DECIDE_ACTIONS] = {
    [TSHIM_DECIDE_AUTO] = "auto", [TSHIM_DECIDE_HOOK] = "hook", [TSHIM_DECIDE_SIGNAL] = "signal",
    [TSHIM_DECIDE_BOTH] = "both", [TSHIM_DECIDE_FD] = "fd",     [TSHIM_DECIDE_NONE] = "none",
};

const char *tshim_decide_action_name(enum tshim_decide_action a)
{
    return tshim_decide_action_names[a];
}

int tshim_decide_may_signal(enum tshim_decide_action action, const struct tshim_decide_facts *f)
{
    return action == TSHIM_DECIDE_SIGNAL || action == TSHIM_DECIDE_BOTH ||
           (action == TSHIM_DECIDE_AUTO && !f->have_hook && !f->have_fd);
}

struct tshim_decide_plan tshim_decide_action(enum tshim_decide_action action, int force,
                                             const struct tshim_decide_facts *f)
{
    struct tshim_decide_plan p = {0, TSHIM_DECIDE_OK, TSHIM_DECIDE_OK};
    int want_hook = action == TSHIM_DECIDE_HOOK || action == TSHIM_DECIDE_BOTH ||
                    (action == TSHIM_DECIDE_AUTO && f->have_hook);
    int want_signal = tshim_decide_may_signal(action, f);
    if (action != TSHIM_DECIDE_NONE && f->have_fd)
        p.what |= TSHIM_DECIDE_POST_FD;
    if (want_hook) {
        if (f->have_hook)
            p.what |= TSHIM_DECIDE_CALL_HOOK;
        else
            p.hook_skip = TSHIM_DECIDE_NO_HOOK;
    }
    if (want_signal) {
        if (!force && f->runtime != TSHIM_DECIDE_NATIVE)
            p.signal_skip = TSHIM_DECIDE_RUNTIME;
        else if (!force && f->dies)
            p.signal_skip = TSHIM_DECIDE_DIES;
        else if (!force && !f->have_handler && !f->blocked)
            p.signal_skip = TSHIM_DECIDE_NO_HANDLER;
        else
            p.what |= TSHIM_DECIDE_SEND_SIGNAL;
    }
    return p;
}

int tshim_decide_describe(const struct tshim_decide_plan *p, enum tshim_decide_action action,
                          const char *sig, int brief, char *buf, size_t size)
{
    int hook = (p->what & TSHIM_DECIDE_CALL_HOOK) != 0;
    int signal = (p->what & TSHIM_DECIDE_SEND_SIGNAL) != 0;
    int fd = (p->what & TSHIM_DECIDE_POST_FD) != 0;
    int acts = p->what != 0 || action == TSHIM_DECIDE_FD;
    if (brief) {
        snprintf(buf, size, "%s",
                 hook     ? (signal ? "hook+signal" : "hook")
                 : signal ? "signal"
                 : acts   ? "fd"
                          : "nothing");
        return acts;
    }
    /* The host's calls first, then the event fd, as check has always said it. */
    snprintf(buf, size, "%s%s%s%s%s%s", hook ? "calls toki_on_refresh" : "",
             hook && signal ? " and " : "", signal ? "sends SIG" : "", signal ? sig : "",
             fd && (hook || signal) ? "; " : "",
             fd                              ? "posts the event fd (the program asked for it)"
             : action == TSHIM_DECIDE_FD ? "posts the event fd, if the program has called "
                                           "toki_shim_event_fd()"
                                         : "");
    return acts;
}

void tshim_decide_explain(enum tshim_decide_skip why, const char *sig, const char *runtime,
                          char *buf, size_t size)
{
    static const char force[] = "set TOKI_SHIM_SIGNAL_FORCE=1 to send it anyway";
    switch (why) {
    case TSHIM_DECIDE_NO_HANDLER:
        snprintf(buf, size,
                 "not sending SIG%s: the program has no handler for it, nor a signalfd "
                 "or sigwait that takes it, and would die of it; %s",
                 sig, force);
        break;
    case TSHIM_DECIDE_RUNTIME:
        snprintf(buf, size,
                 "not sending SIG%s: this is a %s program, whose runtime exits on "
                 "it unless told otherwise; %s",
                 sig, runtime, force);
        break;
    case TSHIM_DECIDE_DIES:
        snprintf(buf, size,
                 "not sending SIG%s: this program exits on it even with a handler "
                 "(TOKI_SHIM_NO_SIGNAL); %s",
                 sig, force);
        break;
    case TSHIM_DECIDE_NO_HOOK:
    case TSHIM_DECIDE_OK:
        snprintf(buf, size, "%s", "");
        break;
    }
}
