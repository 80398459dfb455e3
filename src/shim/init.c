/* init.c: the constructor: resolve libc, read the configuration, start the listener or stay inert. */
/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fdguard.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/tshim.h"
#include "dispatch.h"
#include "events.h"
#include "fork.h"
#include "listener.h"
#include "reaper.h"
#include "real.h"
#include "role.h"
#include "sandbox.h"

/* Written only here, before the listener exists; the listener only reads it.
 * Initialized, so that it lies in the library's data, whose page the loader has
 * written already (it relocates the table of libc functions beside it): a start
 * writes it without a page fault. What variables give goes to the text, whose
 * pages only a value given writes. */
static struct tshim_config tshim_init_config = {.log_level = TSHIM_LOG_WARN};
static struct tshim_config_text tshim_init_text TSHIM_COLD;

/* The environment's TOKI_ variables, gathered in one pass when the constructor
 * begins: it asks for some thirty names, and getenv(3) walks the whole environment
 * for each (a third of what an active start cost over its thread). Valid in the
 * constructor only: the host may change its environment afterwards. */
#define TSHIM_INIT_ENV_MAX 48
struct tshim_init_env {
    const char *entry[TSHIM_INIT_ENV_MAX];
    int count;
    int shim;     /* how many of them are TOKI_SHIM_ variables: most starts have none */
    int overflow; /* more than fit: ask getenv */
};

static int tshim_init_env_prefixed(const char *entry)
{
    return entry[0] == 'T' && entry[1] == 'O' && entry[2] == 'K' && entry[3] == 'I' &&
           entry[4] == '_';
}

/* Whether a TOKI_ name or entry goes on with SHIM_ (in order: it may be short). */
static int tshim_init_env_shim(const char *s)
{
    return s[5] == 'S' && s[6] == 'H' && s[7] == 'I' && s[8] == 'M' && s[9] == '_';
}

/* Into the constructor's own frame, not our data: a page of it would be one more
 * page fault at every start. */
static void tshim_init_env_scan(struct tshim_init_env *env)
{
    env->count = 0;
    env->shim = 0;
    env->overflow = 0;
    for (char **e = environ; e && *e; e++) {
        if (!tshim_init_env_prefixed(*e))
            continue;
        if (env->count == TSHIM_INIT_ENV_MAX) {
            env->overflow = 1;
            return;
        }
        env->entry[env->count++] = *e;
        env->shim += tshim_init_env_shim(*e);
    }
}

/* The value of name (a TOKI_ variable), as getenv(3) would find it: the first
 * entry of that name. */
static const char *tshim_init_getenv(void *ctx, const char *name)
{
    const struct tshim_init_env *env = ctx;
    if (env->overflow)
        return getenv(name);
    /* The configuration asks for some thirty TOKI_SHIM_ names, usually unset. */
    if (env->shim == 0 && tshim_init_env_shim(name))
        return NULL;
    for (int i = 0; i < env->count; i++) {
        const char *e = env->entry[i], *n = name;
        while (*n && *e == *n)
            e++, n++;
        if (*n == '\0' && *e == '=')
            return e + 1;
    }
    return NULL;
}

/* The default scope (TOKI_SHIM_INHERIT unset or 1), where the role decides. */
static int tshim_init_scoped(struct tshim_init_env *env)
{
    const char *inherit = tshim_init_getenv(env, "TOKI_SHIM_INHERIT");
    return !inherit || strcmp(inherit, "1") == 0;
}

/* A program that the service started, under the default scope: inert, decided
 * from three variables before the configuration is parsed, so that the children
 * of a service pay next to nothing (and do not repeat its configuration errors). */
static int tshim_init_started_by_service(struct tshim_init_env *env)
{
    const char *token = tshim_init_getenv(env, "TOKI_TOKEN");
    return token && *token && tshim_init_scoped(env) &&
           tshim_role_started_by_holder(tshim_init_getenv(env, TSHIM_ROLE_VAR));
}

/* Whether this process listens: TOKI_SHIM_ONLY/SKIP select it, and under the
 * default TOKI_SHIM_INHERIT=1 it takes the role of its tree (see role.h). The
 * program's names cost a readlink of /proc: only for a process that may listen. */
static int tshim_init_listens(const struct tshim_config *c, struct tshim_init_env *env)
{
    int scoped = c->inherit == TSHIM_CONFIG_INHERIT_SERVICE;
    const char *recorded = tshim_init_getenv(env, TSHIM_ROLE_VAR);
    if (scoped && !tshim_role_eligible(c, recorded)) {
        tshim_log(TSHIM_LOG_DEBUG, "another process of this tree listens; inert");
        tshim_role_decline(recorded);
        return 0;
    }
    char exe[256];
    const char *argv0;
    tshim_proc_names(exe, sizeof exe, &argv0);
    if (!tshim_proc_selected(c->only, c->skip, exe, argv0)) {
        tshim_log(TSHIM_LOG_DEBUG, "%s is not selected by TOKI_SHIM_ONLY/TOKI_SHIM_SKIP; inert",
                  exe);
        return 0;
    }
    tshim_dispatch_program(tshim_proc_named(c->no_signal, exe, argv0));
    if (!scoped) {
        /* Every process listens, or only the first: never a launcher, which would
         * pass the signal on to the program it started; under TOKI_SHIM_INHERIT=0
         * the program it starts keeps the shim and is the first. */
        if (tshim_proc_named(c->launchers, exe, argv0)) {
            tshim_log(TSHIM_LOG_DEBUG, "%s is a launcher: the program it starts listens; inert",
                      exe);
            return 0;
        }
        tshim_role_assume();
        return 1;
    }
    if (tshim_role_take(c, exe, argv0))
        return 1;
    tshim_log(TSHIM_LOG_DEBUG, "%s is a launcher: the program it starts listens; inert", exe);
    return 0;
}

/* An active shim: the environment as configured, fork handlers, then the thread.
 * Returns 1 if the thread started. */
static int tshim_init_activate(struct tshim_config *c)
{
    if (!c->inherit)
        tshim_proc_uninherit();
    if (c->scrub_token)
        tshim_proc_scrub_token();
    tshim_fork_install(c);
    tshim_dispatch_keep_mask();
    tshim_sandbox_start();
    tshim_events_activate(1);
    int e = tshim_listener_start(c);
    if (e == 0) {
        tshim_reaper_arm();
    } else {
        char msg[64];
        tshim_log(TSHIM_LOG_ERROR,
                  "cannot start the listener thread (%s); toki-shim is disabled "
                  "for this process",
                  tshim_log_strerror(e, msg, sizeof msg));
        tshim_events_activate(0);
        tshim_events_disabled("cannot start the listener thread; toki-shim is disabled", e);
        tshim_fork_forget(); /* nor may a forked child start one: disabled means disabled */
    }
    return e == 0;
}

__attribute__((constructor)) static void tshim_init(void)
{
    int saved_errno = errno, listens = 0;
    char err[512];
    struct tshim_init_env env;
    /* The overrides of close() and friends work even when the shim is inert. */
    tshim_real_init();
    tshim_fdguard_use_close(tshim_real.close);
    tshim_fdguard_use_sigmask(tshim_real.pthread_sigmask);
    /* A setuid, setgid or file-capability program (AT_SECURE) runs for a user who
     * does not own it: it may load us only through /etc/ld.so.preload, and its
     * caller's environment must not choose where a privileged process writes a log
     * file, whether it exits, or where it connects. Inert before any variable is
     * read; the loader strips LD_PRELOAD there for the same reason. */
    if (getauxval(AT_SECURE) != 0)
        goto out;
    tshim_init_env_scan(&env);
    if (tshim_init_started_by_service(&env))
        goto out;
    struct tshim_config *c = &tshim_init_config;
    enum tshim_config_result r =
        tshim_config_load(c, &tshim_init_text, tshim_init_getenv, &env, err, sizeof err);
    /* Inert: nothing of ours was touched but this stack frame. */
    if (r == TSHIM_CONFIG_INERT)
        goto out;
    tshim_log_setup(c->log_level, c->log_file[0] ? c->log_file : NULL);
    if (r == TSHIM_CONFIG_ERROR) {
        /* Said once per tree: by the first process to load the shim, which then
         * keeps what it starts (and execs into) inert and silent. */
        if (tshim_role_refused(tshim_init_getenv(&env, TSHIM_ROLE_VAR), tshim_init_scoped(&env)))
            goto out;
        if (c->strict) {
            /* The user asked to fail fast. _exit: the host's main has not run, so
             * none of its atexit handlers or buffers may be touched. */
            tshim_log(TSHIM_LOG_ERROR, "%s; TOKI_SHIM_STRICT=1, exiting with status 2", err);
            _exit(2);
        }
        tshim_log(TSHIM_LOG_ERROR, "%s; toki-shim is disabled for this process", err);
        tshim_events_disabled(err, 0);
        tshim_role_refuse();
        goto out;
    }
    listens = tshim_init_listens(c, &env) && tshim_init_activate(c);
out:
    /* Inert, a process keeps no descriptor of ours: the log file a line of the
     * constructor opened goes, as no other line will follow. (Nor are there fork
     * handlers to clear the fd guard in a child.) */
    if (!listens)
        tshim_log_close();
    errno = saved_errno;
}
