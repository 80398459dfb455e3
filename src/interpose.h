/* interpose.h: the shim's own fd, hidden from the host's close/close_range/closefrom/dup2/dup3. */
#ifndef TOKI_SHIM_INTERPOSE_H
#define TOKI_SHIM_INTERPOSE_H

/* Resolves the real libc functions; called from the constructor, once. */
void tipose_init(void);

/* Takes fd as the shim's socket: moves it to a high number (close-on-exec) and
 * records it. Returns the number to use now, or -1 (fd closed) if no descriptor
 * could be had. */
int tipose_adopt(int fd);

/* The shim's fd as of now, or -1 if it has none (or the host took its number). */
int tipose_current(void);

/* Forgets the shim's fd and closes it. Async-signal-safe, for the fork child. */
void tipose_release(void);

/* The real close(), for the shim's own short-lived descriptors. */
int tipose_real_close(int fd);

#endif
