/* reaper.c: ends the process, as glibc's last thread would, when main has called pthread_exit() and only the shim's threads are left. */
/* SPDX-License-Identifier: MIT */
#include "reaper.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "threads.h"

/* How often the reaper looks, once main is gone: rare enough to cost nothing,
 * soon enough that the process ends about when it would have. */
#define TSHIM_REAPER_PERIOD_MS 50

static pthread_key_t tshim_reaper_key;

/* The host's live threads, from the link count of /proc/self/task (2, plus one per
 * thread, the exited main thread included until the process ends): no descriptor
 * is needed, so none can collide with the host's. If it cannot be read, the host
 * is assumed alive: the process then lives on, as it did before this existed. */
static int tshim_reaper_host_threads(void)
{
    struct stat st;
    if (stat("/proc/self/task", &st) != 0)
        return 1;
    return (int)st.st_nlink - 2 - 1 - tshim_threads_count();
}

static void *tshim_reaper_main(void *arg)
{
    (void)arg;
    tshim_threads_started();
    while (tshim_reaper_host_threads() > 0)
        tshim_clock_sleep_ms(TSHIM_REAPER_PERIOD_MS);
    tshim_log(TSHIM_LOG_DEBUG, "main called pthread_exit and the last thread of the program "
                               "has ended: exiting with status 0");
    exit(0);
}

/* The main thread's key destructor: it runs only when main ends with pthread_exit
 * (exit() and main's return run no thread-specific destructors). */
static void tshim_reaper_main_gone(void *value)
{
    (void)value;
    int saved = errno;
    /* The default stack: the host's atexit handlers will run on it. */
    int e = tshim_threads_spawn(tshim_reaper_main, NULL, 0);
    if (e != 0) {
        char msg[64];
        tshim_log(TSHIM_LOG_WARN,
                  "main called pthread_exit, and no thread could be started to end the "
                  "process after the program's last thread (%s): it will outlive them",
                  tshim_log_strerror(e, msg, sizeof msg));
    }
    errno = saved;
}

static int tshim_reaper_keyed;

void tshim_reaper_arm(void)
{
    /* The count above takes the exited thread to be the main one: arm it only there
     * (in a forked child, the thread that forked is its main thread). One key per
     * process tree: a forked child has its parent's. */
    if (syscall(SYS_gettid) != syscall(SYS_getpid))
        return;
    if (!tshim_reaper_keyed && pthread_key_create(&tshim_reaper_key, tshim_reaper_main_gone) == 0)
        tshim_reaper_keyed = 1;
    if (tshim_reaper_keyed)
        pthread_setspecific(tshim_reaper_key, (void *)1);
}

int tshim_reaper_owns_key(pthread_key_t key)
{
    return tshim_reaper_keyed && key == tshim_reaper_key;
}
