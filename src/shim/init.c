/* init.c: the constructor: resolve libc, read the configuration, start the listener or stay inert. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fdguard.h"
#include "common/log.h"
#include "common/proc.h"
#include "dispatch.h"
#include "events.h"
#include "fork.h"
#include "listener.h"
#include "real.h"

/* Written only here, before the listener exists; the listener only reads it. */
static struct tshim_config tshim_init_config;

static const char *tshim_init_getenv(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

/* Whether TOKI_SHIM_ONLY/SKIP select this program. Its names cost a readlink of
 * /proc: only when a selection is set. */
static int tshim_init_selected(const struct tshim_config *c)
{
    if (!c->only[0] && !c->skip[0])
        return 1;
    char exe[256];
    const char *argv0;
    tshim_proc_names(exe, sizeof exe, &argv0);
    if (tshim_proc_selected(c->only, c->skip, exe, argv0))
        return 1;
    tshim_log(TSHIM_LOG_DEBUG, "%s is not selected by TOKI_SHIM_ONLY/TOKI_SHIM_SKIP; inert", exe);
    return 0;
}

/* An active shim: the environment as configured, fork handlers, then the thread. */
static void tshim_init_activate(struct tshim_config *c)
{
    if (!c->inherit)
        tshim_proc_uninherit();
    if (c->scrub_token)
        tshim_proc_scrub_token();
    tshim_fork_install(c);
    tshim_dispatch_refresh();
    tshim_events_activate(1);
    int e = tshim_listener_start(c);
    if (e != 0) {
        char msg[64];
        tshim_log(TSHIM_LOG_ERROR,
                  "cannot start the listener thread (%s); toki-shim is disabled "
                  "for this process",
                  tshim_log_strerror(e, msg, sizeof msg));
        tshim_events_activate(0);
        tshim_events_disabled("cannot start the listener thread; toki-shim is disabled", e);
        tshim_fork_forget(); /* nor may a forked child start one: disabled means disabled */
    }
}

__attribute__((constructor)) static void tshim_init(void)
{
    int saved_errno = errno;
    char err[512];
    /* The overrides of close() and friends work even when the shim is inert. */
    tshim_real_init();
    tshim_fdguard_use_close(tshim_real.close);
    struct tshim_config *c = &tshim_init_config;
    enum tshim_config_result r = tshim_config_load(c, tshim_init_getenv, NULL, err, sizeof err);
    /* Inert: nothing of ours was touched but this stack frame. */
    if (r == TSHIM_CONFIG_INERT)
        goto out;
    tshim_log_setup(c->log_level, c->log_file[0] ? c->log_file : NULL);
    if (r == TSHIM_CONFIG_ERROR) {
        if (c->strict) {
            /* The user asked to fail fast. _exit: the host's main has not run, so
             * none of its atexit handlers or buffers may be touched. */
            tshim_log(TSHIM_LOG_ERROR, "%s; TOKI_SHIM_STRICT=1, exiting with status 2", err);
            _exit(2);
        }
        tshim_log(TSHIM_LOG_ERROR, "%s; toki-shim is disabled for this process", err);
        tshim_events_disabled(err, 0);
        goto out;
    }
    if (tshim_init_selected(c))
        tshim_init_activate(c);
out:
    errno = saved_errno;
}
