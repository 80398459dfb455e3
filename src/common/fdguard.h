/* fdguard.h: the registry of the shim's own descriptors, which the host can neither close nor dup over. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_FDGUARD_H
#define TSHIM_FDGUARD_H

#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>

/* What the shim keeps a descriptor for: its connection to Toki; its own copy of the
 * event fd that it hands to the program (see shim/events.h); the table it reads for the
 * peer check; the log file (TOKI_SHIM_LOG_FILE); and, for a moment, a descriptor just
 * made at a low number. */
enum tshim_fdguard_slot {
    TSHIM_FDGUARD_SOCKET,
    TSHIM_FDGUARD_EVENT,
    TSHIM_FDGUARD_SCAN,
    TSHIM_FDGUARD_LOG,
    TSHIM_FDGUARD_LOW,
    TSHIM_FDGUARD_SLOTS
};

/* The shim's descriptors by slot, -1 where it holds none. Read through
 * tshim_fdguard_is_ours and tshim_fdguard_get; written only by this module. */
extern _Atomic int tshim_fdguard_fds[TSHIM_FDGUARD_SLOTS] __attribute__((visibility("hidden")));

/* Whether fd is one of the shim's, for the libc overrides' fast path: inline and
 * written out, so that it compiles to five loads and compares with no call. */
static inline int tshim_fdguard_is_ours(int fd)
{
#define TSHIM_FDGUARD_AT(i) atomic_load_explicit(&tshim_fdguard_fds[i], memory_order_relaxed)
    return (fd == TSHIM_FDGUARD_AT(0)) | (fd == TSHIM_FDGUARD_AT(1)) | (fd == TSHIM_FDGUARD_AT(2)) |
           (fd == TSHIM_FDGUARD_AT(3)) | (fd == TSHIM_FDGUARD_AT(4));
#undef TSHIM_FDGUARD_AT
}

/* The close function for the guard's own descriptors: in the library, libc's real
 * close (close() there is an override that refuses the shim's numbers). Until this
 * is called, the close system call. */
void tshim_fdguard_use_close(int (*real_close)(int));

/* The same for pthread_sigmask, which the guard and the log use to block every
 * signal on the calling thread for a moment (block) and to put back the mask it
 * had (restore). */
void tshim_fdguard_use_sigmask(int (*real_sigmask)(int, const sigset_t *, sigset_t *));
void tshim_fdguard_block_signals(sigset_t *old);
void tshim_fdguard_restore_signals(const sigset_t *old);

/* Every new descriptor takes the lowest free number, for a moment at least. A
 * daemon that closes 0, 1 or 2 and reopens it (the classic idiom) counts on getting
 * that number back, so the shim makes one only while all three are open (waiting
 * at most 100 ms, after which a program that keeps one closed for good is assumed
 * not to be in the middle of that idiom), and a host's close of one of them
 * brackets itself with these two calls: begin waits while a descriptor of ours is
 * being made, and until end nothing of ours is made. */
void tshim_fdguard_std_close_begin(void);
void tshim_fdguard_std_close_end(void);

/* A host's dup2 or dup3 is under way, from before it looks at the shim's numbers
 * until the call has returned: a descriptor the shim makes meanwhile is checked
 * once the call is over (see tshim_fdguard_wait_dups in fdguard.c). */
void tshim_fdguard_dup_begin(void);
void tshim_fdguard_dup_end(void);

/* A host's dup2 or dup3 onto newfd said EBUSY: the kernel had given newfd to an
 * open() or socket() that had not yet returned, which may be the shim's. If a
 * descriptor of ours is being made, waits until that is over and returns 1 (try
 * again); 1 too, once, if the shim's last one was made at newfd or failed to be
 * made (its number is unknown); else 0. */
int tshim_fdguard_wait_making(int newfd);

/* socket(2) into slot (the shim's connection: TSHIM_FDGUARD_SOCKET; the peer check's
 * netlink socket: TSHIM_FDGUARD_SCAN): created, moved to a high number
 * (close-on-exec) and recorded, all where no fork can split the steps. Returns the
 * fd (also tshim_fdguard_get(slot)), or -1 with errno. */
int tshim_fdguard_socket(int slot, int domain, int type, int protocol);

/* open(2) of path with flags (and mode, for O_CREAT), always close-on-exec, of a
 * file the shim uses for a while (the peer check's table, the program's threads,
 * the log file), made the same way into slot; if slot holds a descriptor already,
 * that one. Returns the fd or -1 with errno; tshim_fdguard_release_slot(slot)
 * closes it. */
int tshim_fdguard_open(int slot, const char *path, int flags, mode_t mode);

/* The window in which descriptors of ours are made: no fork copies the process
 * while a thread is inside it. On the host's threads signals are blocked meanwhile
 * (old receives the previous mask); the shim's own threads, which block every
 * signal for good, pass NULL. Keep it to a few syscalls. */
void tshim_fdguard_window_enter(sigset_t *old);
void tshim_fdguard_window_leave(const sigset_t *old);

/* Inside the window: records a close-on-exec duplicate of fd, placed high like the
 * socket, as the descriptor of slot. A descriptor the slot held before is closed,
 * once the slot's owner has no read or write in flight on it. Returns the
 * duplicate, or -1 with errno (the slot unchanged). */
int tshim_fdguard_adopt_copy(int slot, int fd);

/* One call on the descriptor in slot: fn(fd, arg), with the number read afresh.
 * Every call the shim makes on a descriptor of its own goes through here: a
 * host's dup2 onto that number waits until fn has returned (so fn lands in the
 * shim's file, never in the one the host puts there), and therefore fn must not
 * block for long. Several threads may be in calls on one slot at once. Returns
 * what fn returns, with its errno; -1 with EBADF if the slot holds none. */
typedef ssize_t (*tshim_fdguard_fn)(int fd, void *arg);
ssize_t tshim_fdguard_call(int slot, tshim_fdguard_fn fn, void *arg);

/* write(2) to, or read(2) from, the descriptor in slot, through tshim_fdguard_call. */
ssize_t tshim_fdguard_write_slot(int slot, const void *buf, size_t len);
ssize_t tshim_fdguard_read_slot(int slot, void *buf, size_t len);
/* getdents64(2) on a directory opened into slot: the kernel's linux_dirent64 records. */
ssize_t tshim_fdguard_getdents_slot(int slot, void *buf, size_t len);

/* A small file (of /proc, mostly) read whole into buf through slot, which it opens
 * and releases again: NUL-terminated, cut at size - 1 bytes. Returns the length,
 * or -1 with errno (buf then holds ""). For the thread that owns the slot. */
ssize_t tshim_fdguard_read_file(int slot, const char *path, char *buf, size_t size);

/* The descriptor in slot now, or -1. */
int tshim_fdguard_get(int slot);

/* Closes the descriptor in slot and forgets it, inside the window, once the calls
 * on it in flight are over: a host's close of that number meanwhile waits, then
 * finds it no longer ours. Async-signal-safe. */
void tshim_fdguard_release_slot(int slot);

/* pthread_atfork handlers: fork waits while a descriptor of ours is being made or
 * moved; the child forgets and closes the parent's descriptors. */
void tshim_fdguard_fork_prepare(void);
void tshim_fdguard_fork_parent(void);
void tshim_fdguard_fork_child(void);

/* The shim's socket as of now, or -1 if it has none (or the host took its number). */
int tshim_fdguard_current(void);

/* Forgets the shim's socket and closes it. Async-signal-safe. */
void tshim_fdguard_release(void);

/* For the overrides of a host's close, close_range, closefrom, dup, dup2, dup3 and fcntl. */

/* 1 in the process that registered the shim's descriptors; 0 in a child of a raw
 * fork or clone (no atfork handler ran), where the numbers are the child's copies. */
int tshim_fdguard_here(void);

/* The slot holding fd, or -1 if fd is not the shim's (here). */
int tshim_fdguard_slot_of(int fd);

/* fd is the shim's, or is being made, moved or let go: if the window is held, waits
 * until it is over and returns 1 (look at fd again); else returns 0 (it is the
 * shim's: to the host it is not open). errno is kept. */
int tshim_fdguard_wait_moving(int fd);

/* The file that was the shim's at a number it stepped aside from. */
struct tshim_fdguard_aside {
    int known; /* 0: nothing stepped aside (the number was no longer ours) */
    dev_t dev;
    ino_t ino;
};

/* The host is about to put a file at newfd, the shim's number in slot: the shim's
 * descriptor moves out of the way (or is let go if no number is free, and the
 * listener reconnects later), after any call on it has finished. *was records the
 * file that is left at newfd until the host's call replaces it. */
void tshim_fdguard_step_aside(int slot, int newfd, struct tshim_fdguard_aside *was);

/* The host's call onto newfd failed after all, and did not replace what step_aside
 * left there: if newfd still holds that file (*was), it is closed, so that no
 * copy of the shim's descriptor lingers at a number the host can see. */
void tshim_fdguard_drop_left(int newfd, const struct tshim_fdguard_aside *was);

/* The shim's numbers within [first, last], in increasing order; returns how many. */
int tshim_fdguard_ours_in(unsigned first, unsigned last, unsigned out[TSHIM_FDGUARD_SLOTS]);

/* 1 while the shim holds any descriptor. */
int tshim_fdguard_holds_any(void);

#endif
