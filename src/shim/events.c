/* events.c: the event fd, the generation counter and the status, and the public functions that read them. */
#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fdguard.h"
#include "real.h"
#include "toki_shim.h"

static _Atomic int tshim_events_on;
static _Atomic int tshim_events_connected;
static _Atomic unsigned long tshim_events_generation_n, tshim_events_lines, tshim_events_actions,
    tshim_events_reconnects;
static _Atomic int tshim_events_errno;
static const char *_Atomic tshim_events_error;
static char tshim_events_disabled_why[256];

/* The program's event fd, -1 until it asks. The shim writes only to its own copy
 * (slot TSHIM_FDGUARD_EVENT), which the host cannot close or reuse: if the program closes
 * its number and the number is reused, nothing of ours is ever written there. */
static _Atomic int tshim_events_public = -1;

void tshim_events_activate(int on)
{
    atomic_store(&tshim_events_on, on);
}

void tshim_events_disabled(const char *why, int err)
{
    size_t n = strlen(why);
    if (n >= sizeof tshim_events_disabled_why)
        n = sizeof tshim_events_disabled_why - 1;
    memcpy(tshim_events_disabled_why, why, n);
    tshim_events_disabled_why[n] = '\0';
    tshim_events_fail(tshim_events_disabled_why, err);
}

void tshim_events_line(void)
{
    atomic_fetch_add_explicit(&tshim_events_lines, 1, memory_order_relaxed);
}

unsigned long tshim_events_trigger(void)
{
    return atomic_fetch_add(&tshim_events_generation_n, 1) + 1;
}

void tshim_events_action(void)
{
    atomic_fetch_add_explicit(&tshim_events_actions, 1, memory_order_relaxed);
}

void tshim_events_up(int reconnect)
{
    if (reconnect)
        atomic_fetch_add_explicit(&tshim_events_reconnects, 1, memory_order_relaxed);
    atomic_store(&tshim_events_connected, 1);
}

void tshim_events_down(void)
{
    atomic_store(&tshim_events_connected, 0);
}

void tshim_events_fail(const char *what, int err)
{
    atomic_store(&tshim_events_errno, err);
    atomic_store(&tshim_events_error, what);
}

int tshim_events_requested(void)
{
    return atomic_load_explicit(&tshim_events_public, memory_order_relaxed) >= 0;
}

void tshim_events_post(unsigned long n)
{
    uint64_t v = n;
    tshim_fdguard_write_slot(TSHIM_FDGUARD_EVENT, &v, sizeof v);
}

void tshim_events_fork_child(void)
{
    atomic_store(&tshim_events_on, 0);
    atomic_store(&tshim_events_connected, 0);
    int pub = atomic_load(&tshim_events_public), copy = tshim_fdguard_get(TSHIM_FDGUARD_EVENT);
    if (pub < 0)
        return;
    /* The program may have closed its number and reused it for a file of its own:
     * only if it still names our eventfd is it replaced. Otherwise (or if kcmp is
     * not allowed) the child is left as it is and has no event fd of ours. Raw
     * syscalls: this runs between fork and its return, where only
     * async-signal-safe calls may be made. */
    atomic_store(&tshim_events_public, -1);
    long me = syscall(SYS_getpid);
    if (copy < 0 || syscall(SYS_kcmp, me, me, KCMP_FILE, pub, copy) != 0)
        return;
    int fresh = (int)syscall(SYS_eventfd2, 0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fresh >= 0) {
        if (syscall(SYS_dup3, fresh, pub, O_CLOEXEC) == pub)
            atomic_store(&tshim_events_public, pub);
        syscall(SYS_close, fresh);
    }
}

void tshim_events_follow(void)
{
    int pub = atomic_load(&tshim_events_public);
    if (pub < 0)
        return;
    sigset_t old;
    tshim_fdguard_window_enter(&old);
    tshim_fdguard_adopt_copy(TSHIM_FDGUARD_EVENT, pub);
    tshim_fdguard_window_leave(&old);
}

int toki_shim_event_fd(void)
{
    /* Inert first: in a forked child that does not listen, the number the parent
     * got names an eventfd that nothing will ever post. */
    if (!atomic_load(&tshim_events_on)) {
        errno = ENOTSUP;
        return -1;
    }
    int fd = atomic_load_explicit(&tshim_events_public, memory_order_acquire);
    if (fd >= 0)
        return fd;
    int saved = errno, e = 0;
    sigset_t old;
    /* Made inside the window, so that no fork copies the pair before both are
     * recorded; two threads asking at once get the same one. */
    tshim_fdguard_window_enter(&old);
    fd = atomic_load(&tshim_events_public);
    if (fd < 0) {
        fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) {
            e = errno;
        } else if (tshim_fdguard_adopt_copy(TSHIM_FDGUARD_EVENT, fd) < 0) {
            e = errno;
            tshim_real.close(fd);
            fd = -1;
        } else {
            atomic_store_explicit(&tshim_events_public, fd, memory_order_release);
        }
    }
    tshim_fdguard_window_leave(&old);
    errno = fd >= 0 ? saved : e;
    return fd;
}

unsigned long toki_shim_generation(void)
{
    return atomic_load(&tshim_events_generation_n);
}

int toki_shim_status(struct toki_shim_status *out)
{
    const size_t head = offsetof(struct toki_shim_status, active);
    if (!out || out->size < head) {
        errno = EINVAL;
        return -1;
    }
    struct toki_shim_status s;
    memset(&s, 0, sizeof s);
    s.version = TOKI_SHIM_STATUS_VERSION;
    s.active = atomic_load(&tshim_events_on);
    s.connected = s.active && atomic_load(&tshim_events_connected);
    s.generation = atomic_load(&tshim_events_generation_n);
    s.events = atomic_load(&tshim_events_lines);
    s.actions = atomic_load(&tshim_events_actions);
    s.reconnects = atomic_load(&tshim_events_reconnects);
    s.last_errno = atomic_load(&tshim_events_errno);
    s.last_error = atomic_load(&tshim_events_error);
    /* A caller built against an older header gets the fields it knows; one built
     * against a newer header gets ours, the rest zeroed, and size says which. */
    size_t want = out->size, n = want < sizeof s ? want : sizeof s;
    s.size = (unsigned)n;
    memcpy(out, &s, n);
    if (want > sizeof s)
        memset((char *)out + sizeof s, 0, want - sizeof s);
    return 0;
}
