/* interpose.h: the shim's own fd, hidden from the host's close/close_range/closefrom/dup2/dup3. */
#ifndef TSHIM_INTERPOSE_H
#define TSHIM_INTERPOSE_H

/* Resolves the real libc functions; called from the constructor, once. */
void tipose_init(void);

/* socket(2) for the shim's one socket: created, moved to a high number
 * (close-on-exec) and recorded, all where no fork can split the steps. Returns the
 * fd (also tipose_current()), or -1 with errno. */
int tipose_socket(int domain, int type, int protocol);

/* pthread_atfork handlers: fork waits while a descriptor of ours is being made or
 * moved; the child forgets and closes the parent's socket. */
void tipose_fork_prepare(void);
void tipose_fork_parent(void);
void tipose_fork_child(void);

/* The shim's fd as of now, or -1 if it has none (or the host took its number). */
int tipose_current(void);

/* Forgets the shim's fd and closes it. Async-signal-safe. */
void tipose_release(void);

/* The real close(), for the shim's own short-lived descriptors. */
int tipose_real_close(int fd);

#endif
