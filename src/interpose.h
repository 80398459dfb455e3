/* interpose.h: the shim's own fds, hidden from the host's close/close_range/closefrom/dup2/dup3. */
#ifndef TSHIM_INTERPOSE_H
#define TSHIM_INTERPOSE_H

#include <signal.h>
#include <sys/types.h>

/* What the shim keeps a descriptor for: its connection to Toki; its own copy of the
 * event fd that it hands to the program (see event.h); the table it reads for the
 * peer check; and, for a moment, a descriptor just made at a low number. */
enum tipose_slot { TIPOSE_SOCKET, TIPOSE_EVENT, TIPOSE_SCAN, TIPOSE_LOW, TIPOSE_SLOTS };

/* Resolves the real libc functions; called from the constructor, once. */
void tipose_init(void);

/* Every new descriptor takes the lowest free number, for a moment at least. A daemon
 * that closes 0, 1 or 2 and reopens it (the classic idiom) counts on getting that
 * number back, so before the listener makes one it waits until all three are open:
 * at most 100 ms, after which a program that keeps one closed for good is assumed
 * not to be in the middle of that idiom. */
void tipose_settle(void);

/* socket(2) for the shim's one socket: created, moved to a high number
 * (close-on-exec) and recorded, all where no fork can split the steps. Returns the
 * fd (also tipose_current()), or -1 with errno. */
int tipose_socket(int domain, int type, int protocol);

/* open(2), read-only and close-on-exec, of a file the shim reads for a while (the
 * peer check's table), made the same way into slot. Returns the fd or -1 with
 * errno; tipose_release_slot(slot) closes it. */
int tipose_open(int slot, const char *path);

/* The window in which descriptors of ours are made: no fork copies the process
 * while a thread is inside it. For the host's threads (signals blocked meanwhile;
 * old receives the previous mask). Keep it to a few syscalls. */
void tipose_window_enter(sigset_t *old);
void tipose_window_leave(const sigset_t *old);

/* Inside the window: records a close-on-exec duplicate of fd, placed high like the
 * socket, as the descriptor of slot. Returns it, or -1 with errno. */
int tipose_adopt_copy(int slot, int fd);

/* write(2) to, or read(2) from, the descriptor in slot, for the one thread that
 * owns the slot; a host's dup2 onto its number waits until the call is done, so it
 * must not block for long. -1 with EBADF if there is none. */
ssize_t tipose_write_slot(int slot, const void *buf, size_t len);
ssize_t tipose_read_slot(int slot, void *buf, size_t len);

/* The descriptor in slot now, or -1. */
int tipose_get(int slot);

/* Closes the descriptor in slot and forgets it, inside the window: a host's close of
 * that number meanwhile waits, then finds it no longer ours. Async-signal-safe. */
void tipose_release_slot(int slot);

/* pthread_atfork handlers: fork waits while a descriptor of ours is being made or
 * moved; the child forgets and closes the parent's descriptors. */
void tipose_fork_prepare(void);
void tipose_fork_parent(void);
void tipose_fork_child(void);

/* The shim's socket as of now, or -1 if it has none (or the host took its number). */
int tipose_current(void);

/* Forgets the shim's socket and closes it. Async-signal-safe. */
void tipose_release(void);

/* The real close(), for the shim's own short-lived descriptors. */
int tipose_real_close(int fd);

#endif
