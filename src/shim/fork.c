/* fork.c: every fork rule of the shim in one place: the atfork handlers and the follow-fork listener. */
/* SPDX-License-Identifier: MIT */
#include "fork.h"

#include <errno.h>
#include <pthread.h>

#include "common/fdguard.h"
#include "events.h"
#include "guard.h"
#include "listener.h"
#include "reaper.h"
#include "role.h"
#include "threads.h"

static const struct tshim_config *tshim_fork_cfg;

/* In the child of a fork, async-signal-safe calls only: the parent's listener does
 * not exist here, nor does its call in progress, and its descriptors must go. */
static void tshim_fork_child(void)
{
    int saved = errno;
    tshim_guard_fork_child();
    tshim_threads_fork_child();
    tshim_events_fork_child(); /* first: it compares with our copy, which the next one closes */
    tshim_fdguard_fork_child();
    errno = saved;
}

void tshim_fork_install(const struct tshim_config *c)
{
    tshim_fork_cfg = c;
    pthread_atfork(tshim_fdguard_fork_prepare, tshim_fdguard_fork_parent, tshim_fork_child);
}

void tshim_fork_forget(void)
{
    tshim_fork_cfg = NULL;
}

/* A listener for this child of a fork, after fork() has returned, and not in an
 * atfork child handler: handlers registered after ours (a sanitizer's, an
 * allocator's) may still hold the locks that creating a thread needs. */
static void tshim_fork_listen(const struct tshim_config *c)
{
    int saved = errno;
    tshim_events_follow();
    tshim_events_activate(1);
    if (tshim_listener_start(c) != 0)
        tshim_events_activate(0);
    else
        tshim_reaper_arm(); /* the thread that forked may end with the child's work */
    errno = saved;
}

void tshim_fork_child_returned(void)
{
    const struct tshim_config *c = tshim_fork_cfg;
    if (c && c->follow_fork && !tshim_guard_exit_begun())
        tshim_fork_listen(c);
}

void tshim_fork_daemonized(void)
{
    const struct tshim_config *c = tshim_fork_cfg;
    if (c && !tshim_guard_exit_begun() && tshim_role_follow())
        tshim_fork_listen(c);
}
