/* reaper.h: ends the process when main has called pthread_exit() and only the shim's threads are left. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_REAPER_H
#define TSHIM_REAPER_H

#include <pthread.h>

/* Called on the main thread of an active shim: if main ends with pthread_exit(),
 * the process ends with status 0 once the host's last thread has ended, as it
 * would without the shim's threads (glibc's last thread calls exit(0)). */
void tshim_reaper_arm(void);

/* Whether key is the one the reaper keeps on the main thread: a program that
 * deletes keys it did not create (all of them, say) must not disarm it. */
int tshim_reaper_owns_key(pthread_key_t key);

#endif
