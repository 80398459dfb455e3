/* decide.c: TOKI_SHIM_ACTION and the safety rule, as a pure function of the facts. */
/* SPDX-License-Identifier: MIT */
#include "decide.h"

#include <stdio.h>

struct tshim_decide_plan tshim_decide_action(enum tshim_config_action action, int force,
                                             const struct tshim_decide_facts *f)
{
    struct tshim_decide_plan p = {0, TSHIM_DECIDE_OK, TSHIM_DECIDE_OK};
    int want_hook = action == TSHIM_CONFIG_HOOK || action == TSHIM_CONFIG_BOTH ||
                    (action == TSHIM_CONFIG_AUTO && f->have_hook);
    int want_signal = action == TSHIM_CONFIG_SIGNAL || action == TSHIM_CONFIG_BOTH ||
                      (action == TSHIM_CONFIG_AUTO && !f->have_hook && !f->have_fd);
    if (action != TSHIM_CONFIG_NONE && f->have_fd)
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
