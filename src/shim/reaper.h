/* reaper.h: ends the process when main has called pthread_exit() and only the shim's threads are left. */
#ifndef TSHIM_REAPER_H
#define TSHIM_REAPER_H

/* Called on the main thread of an active shim: if main ends with pthread_exit(),
 * the process ends with status 0 once the host's last thread has ended, as it
 * would without the shim's threads (glibc's last thread calls exit(0)). */
void tshim_reaper_arm(void);

#endif
