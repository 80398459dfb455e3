/* dispatch.c: runs hooks, sends the reload signal and posts the event fd, under the safety rule. */
#include "dispatch.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "elfinfo.h"
#include "event.h"
#include "lifecycle.h"
#include "log.h"

struct tdisp_plan tdisp_decide(enum tcfg_action action, int force, const struct tdisp_facts *f)
{
    struct tdisp_plan p = {0, TDISP_OK, TDISP_OK};
    int want_hook = action == TCFG_HOOK || action == TCFG_BOTH ||
                    (action == TCFG_AUTO && f->have_hook);
    int want_signal = action == TCFG_SIGNAL || action == TCFG_BOTH ||
                      (action == TCFG_AUTO && !f->have_hook && !f->have_fd);
    if (action != TCFG_NONE && f->have_fd)
        p.what |= TDISP_POST_FD;
    if (want_hook) {
        if (f->have_hook)
            p.what |= TDISP_CALL_HOOK;
        else
            p.hook_skip = TDISP_NO_HOOK;
    }
    if (want_signal) {
        if (!force && f->runtime != TDISP_NATIVE)
            p.signal_skip = TDISP_RUNTIME;
        else if (!force && !f->have_handler)
            p.signal_skip = TDISP_NO_HANDLER;
        else
            p.what |= TDISP_SEND_SIGNAL;
    }
    return p;
}

/* Go executables carry a note named "Go" (the build id) in a PT_NOTE segment. */
static int tdisp_phdr_is_go(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_NOTE &&
            telf_notes_have_go((const char *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz)) {
            *(int *)data = 1;
            break;
        }
    }
    return 1; /* the first object is the executable: look no further */
}

/* What dispatch knows of the loaded objects, recomputed only when the loader's
 * load or unload counters move, so that an ordinary event costs no dlsym (whose
 * misses allocate) and no search of the library path. Only the listener thread
 * (and, before it exists, the constructor) touches it. */
static struct {
    unsigned long long adds, subs; /* the loader's counters when last looked */
    int known, go, jvm;
    void (*on_event)(const char *);
    void (*on_refresh)(void);
} tdisp_seen;

struct tdisp_walk {
    unsigned long long adds, subs;
    int first_only, go, jvm;
};

static int tdisp_walk_object(struct dl_phdr_info *info, size_t size, void *data)
{
    struct tdisp_walk *w = data;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        w->adds = info->dlpi_adds;
        w->subs = info->dlpi_subs;
    }
    if (w->first_only)
        return 1;
    const char *name = info->dlpi_name, *slash = name ? strrchr(name, '/') : NULL;
    if (slash && strcmp(slash, "/libjvm.so") == 0)
        w->jvm = 1;
    return 0;
}

void tdisp_refresh(void)
{
    struct tdisp_walk w = {0, 0, 1, 0, 0};
    dl_iterate_phdr(tdisp_walk_object, &w);
    if (tdisp_seen.known && w.adds == tdisp_seen.adds && w.subs == tdisp_seen.subs)
        return;
    w.first_only = 0;
    dl_iterate_phdr(tdisp_walk_object, &w);
    if (!tdisp_seen.known)
        dl_iterate_phdr(tdisp_phdr_is_go, &tdisp_seen.go);
    tdisp_seen.adds = w.adds;
    tdisp_seen.subs = w.subs;
    tdisp_seen.jvm = w.jvm;
    *(void **)&tdisp_seen.on_event = dlsym(RTLD_DEFAULT, "toki_on_event");
    *(void **)&tdisp_seen.on_refresh = dlsym(RTLD_DEFAULT, "toki_on_refresh");
    tdisp_seen.known = 1;
}

enum tdisp_runtime tdisp_runtime(void)
{
    tdisp_refresh();
    return tdisp_seen.go ? TDISP_GO : tdisp_seen.jvm ? TDISP_JVM : TDISP_NATIVE;
}

static int tdisp_has_handler(int signo)
{
    struct sigaction sa;
    if (sigaction(signo, NULL, &sa) != 0)
        return 0;
    /* With SA_SIGINFO the same storage holds sa_sigaction; SIG_DFL and SIG_IGN are
     * the only values that mean "no handler" either way. */
    return sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
}

/* Says once per process why an action was not taken, and how to change that. */
static void tdisp_explain(const struct tcfg *c, enum tdisp_skip why)
{
    static int said[4];
    char sig[16];
    if (said[why])
        return;
    said[why] = 1;
    tcfg_signal_name(c->signo, sig, sizeof sig);
    switch (why) {
    case TDISP_NO_HOOK:
        tlog(TLOG_WARN, "TOKI_SHIM_ACTION=%s but the program defines no exported "
             "toki_on_refresh(); link it with -rdynamic", tcfg_action_name(c->action));
        break;
    case TDISP_NO_HANDLER:
        tlog(TLOG_WARN, "not sending SIG%s: the program has no handler for it and would "
             "die; set TOKI_SHIM_SIGNAL_FORCE=1 to send it anyway", sig);
        break;
    case TDISP_RUNTIME:
        tlog(TLOG_WARN, "not sending SIG%s: this is a %s program, whose runtime exits on "
             "it unless told otherwise; set TOKI_SHIM_SIGNAL_FORCE=1 to send it anyway", sig,
             tdisp_runtime() == TDISP_GO ? "Go" : "Java");
        break;
    case TDISP_OK:
        break;
    }
}

int tdisp_event(const struct tcfg *c, const char *name)
{
    tdisp_refresh();
    void (*on_event)(const char *) = tdisp_seen.on_event;
    if (on_event && tlife_begin_call()) {
        on_event(name);
        tlife_end_call();
    }
    int trigger = tcfg_is_trigger(c, name);
    if (!trigger || c->action == TCFG_NONE)
        tlog(TLOG_DEBUG, "event %s", name);
    return trigger;
}

void tdisp_act(const struct tcfg *c, const char *name, unsigned long n)
{
    tdisp_refresh();
    void (*on_refresh)(void) = tdisp_seen.on_refresh;
    struct tdisp_facts f = {0, 0, tevent_requested(), TDISP_NATIVE};
    f.have_hook = on_refresh != NULL;
    /* The signal's facts cost a syscall and a loader lookup: gather them only when
     * the signal is on the table and the safety rule applies. */
    int signal_possible = c->action == TCFG_SIGNAL || c->action == TCFG_BOTH ||
                          (c->action == TCFG_AUTO && !f.have_hook && !f.have_fd);
    if (signal_possible && !c->signal_force) {
        f.runtime = tdisp_runtime();
        f.have_handler = tdisp_has_handler(c->signo);
    }
    struct tdisp_plan p = tdisp_decide(c->action, c->signal_force, &f);
    /* The event fd is ours, and harmless to post at any time; the program reads it
     * first thing, so it goes before the hook and the signal. */
    if (p.what & TDISP_POST_FD)
        tevent_post(n);
    tevent_action();
    /* Once the process is exiting, its globals may be half destroyed: no more hooks,
     * and no signal whose handler could touch them. */
    unsigned host = p.what & (TDISP_CALL_HOOK | TDISP_SEND_SIGNAL);
    if (host && !tlife_begin_call()) {
        tlog(TLOG_DEBUG, "event %s: the process is exiting; nothing done", name);
        return;
    }
    if ((p.what & TDISP_CALL_HOOK) && on_refresh)
        on_refresh();
    if (p.what & TDISP_SEND_SIGNAL)
        kill(getpid(), c->signo);
    if (host)
        tlife_end_call();
    tdisp_explain(c, p.hook_skip);
    tdisp_explain(c, p.signal_skip);
    char covers[64] = "";
    if (n > 1)
        snprintf(covers, sizeof covers, " (one action for %lu events)", n);
    tlog(TLOG_INFO, "event %s%s:%s%s%s%s", name, covers,
         p.what & TDISP_POST_FD ? " posted the event fd" : "",
         p.what & TDISP_CALL_HOOK ? " called toki_on_refresh" : "",
         p.what & TDISP_SEND_SIGNAL ? " sent the reload signal" : "",
         p.what ? "" : " nothing to do");
}
