/* shim.c: the library's constructor: read the configuration, then start the listener or stay inert. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "dispatch.h"
#include "event.h"
#include "interpose.h"
#include "lifecycle.h"
#include "listener.h"
#include "log.h"
#include "procenv.h"

/* Written only here, before the listener exists; the listener only reads it. */
static struct tcfg tshim_config;

static const char *tshim_getenv(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

__attribute__((constructor)) static void tshim_init(void)
{
    int saved_errno = errno;
    char err[512];
    /* The overrides of close() and friends work even when the shim is inert. */
    tipose_init();
    enum tcfg_result r = tcfg_load(&tshim_config, tshim_getenv, NULL, err, sizeof err);
    /* Inert: nothing of ours was touched but this stack frame. */
    if (r == TCFG_INERT)
        goto out;
    tlog_setup(tshim_config.log_level, tshim_config.log_file[0] ? tshim_config.log_file : NULL);
    if (r == TCFG_ERROR) {
        if (tshim_config.strict) {
            /* The user asked to fail fast. _exit: the host's main has not run, so
             * none of its atexit handlers or buffers may be touched. */
            tlog(TLOG_ERROR, "%s; TOKI_SHIM_STRICT=1, exiting with status 2", err);
            _exit(2);
        }
        tlog(TLOG_ERROR, "%s; toki-shim is disabled for this process", err);
        tevent_disabled(err, 0);
        goto out;
    }
    /* The program's names cost a readlink of /proc: only when a selection is set. */
    if (tshim_config.only[0] || tshim_config.skip[0]) {
        char exe[256];
        const char *argv0;
        tproc_names(exe, sizeof exe, &argv0);
        if (!tproc_selected(tshim_config.only, tshim_config.skip, exe, argv0)) {
            tlog(TLOG_DEBUG, "%s is not selected by TOKI_SHIM_ONLY/TOKI_SHIM_SKIP; inert", exe);
            goto out;
        }
    }
    if (!tshim_config.inherit)
        tproc_uninherit();
    if (tshim_config.scrub_token)
        tproc_scrub_token();
    tlife_install(&tshim_config);
    tdisp_refresh();
    tevent_activate(1);
    int e = tlisten_start(&tshim_config);
    if (e != 0) {
        char msg[64];
        tlog(TLOG_ERROR, "cannot start the listener thread (%s); toki-shim is disabled for "
             "this process", tlog_strerror(e, msg, sizeof msg));
        tevent_activate(0);
        tevent_disabled("cannot start the listener thread; toki-shim is disabled", e);
        tlife_forget(); /* nor may a forked child start one: disabled means disabled */
    }
out:
    errno = saved_errno;
}
