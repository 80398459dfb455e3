/* log.c: formats each message into one buffer and emits it with a single write(2), to a guarded log file or stderr. */
/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fdguard.h"
#include "tshim.h"

const char *const tshim_log_level_names[TSHIM_LOG_LEVELS] = {
    [TSHIM_LOG_QUIET] = "quiet", [TSHIM_LOG_ERROR] = "error", [TSHIM_LOG_WARN] = "warn",
    [TSHIM_LOG_INFO] = "info",   [TSHIM_LOG_DEBUG] = "debug",
};

/* Set once by the constructor before the listener thread exists, then only read,
 * so no lock is needed (and none may be: the host can fork at any moment). */
static enum tshim_log_level tshim_log_threshold = TSHIM_LOG_WARN;
static char tshim_log_pattern[PATH_MAX] TSHIM_COLD;
/* Whether tshim_log_pattern holds a path: a start without a log file does not write
 * the pattern's page (each page first written is a page fault, some 2.5 us). */
static int tshim_log_has_pattern;
/* What fd 2 was when the shim started. A daemon may close its stderr and reuse the
 * number for a file or a socket of its own; a log line must never land in that. */
static dev_t tshim_log_err_dev;
static ino_t tshim_log_err_ino;
static int tshim_log_err_known;

/* glibc 2.32 and later; a weak reference keeps the library loadable on older ones. */
extern const char *strerrordesc_np(int errnum) __attribute__((weak));

const char *tshim_log_strerror(int e, char *buf, size_t size)
{
    const char *d = strerrordesc_np ? strerrordesc_np(e) : NULL;
    if (d)
        return d;
    snprintf(buf, size, "errno %d", e);
    return buf;
}

void tshim_log_setup(enum tshim_log_level level, const char *path_pattern)
{
    struct stat st;
    if (fstat(2, &st) == 0) {
        tshim_log_err_dev = st.st_dev;
        tshim_log_err_ino = st.st_ino;
        tshim_log_err_known = 1;
    }
    tshim_log_threshold = level;
    size_t len = path_pattern ? strlen(path_pattern) : 0;
    tshim_log_has_pattern = path_pattern && len > 0 && len < sizeof tshim_log_pattern;
    if (tshim_log_has_pattern)
        memcpy(tshim_log_pattern, path_pattern, len + 1);
}

int tshim_log_enabled(enum tshim_log_level level)
{
    return level != TSHIM_LOG_QUIET && level <= tshim_log_threshold;
}

int tshim_log_expand_path(char *dst, size_t dst_size, const char *pattern, long pid)
{
    size_t n = 0;
    for (const char *p = pattern; *p; p++) {
        char num[24];
        const char *piece = num;
        size_t len = 1;
        if (p[0] == '%' && p[1] == 'p') {
            len = (size_t)snprintf(num, sizeof num, "%ld", pid);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            num[0] = '%';
            p++;
        } else {
            num[0] = *p;
        }
        if (n + len >= dst_size)
            return -1;
        memcpy(dst + n, piece, len);
        n += len;
    }
    if (n >= dst_size)
        return -1;
    dst[n] = '\0';
    return 0;
}

void tshim_log_quote(char *dst, size_t dst_size, const char *src, size_t max_chars)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0, shown = 0;
    if (dst_size == 0)
        return;
    for (; *src; src++, shown++) {
        unsigned char c = (unsigned char)*src;
        int printable = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
        size_t need = printable ? 1 : 4;
        if (shown == max_chars || n + need + 4 > dst_size) {
            if (n + 4 <= dst_size) {
                memcpy(dst + n, "...", 3);
                n += 3;
            }
            break;
        }
        if (printable) {
            dst[n++] = (char)c;
        } else {
            dst[n++] = '\\';
            dst[n++] = 'x';
            dst[n++] = hex[c >> 4];
            dst[n++] = hex[c & 15];
        }
    }
    dst[n] = '\0';
}

/* The log file is held open, high and guarded, like the socket (see fdguard.h):
 * opened at a line's lowest free number, it would take the number a daemon that
 * closed 0, 1 or 2 means to reopen. Non-blocking: a write is a guarded call, which
 * a host's dup2 onto its number waits for, so none may wait on a FIFO or a
 * terminal (for a regular file the flag changes nothing). */
#define TSHIM_LOG_FILE_FLAGS (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* The file the slot holds, by device and inode: while path names another (the log
 * was rotated, or removed), the next line opens path anew. */
static _Atomic unsigned long long tshim_log_file_dev, tshim_log_file_ino;

static ssize_t tshim_log_do_fstat(int fd, void *arg)
{
    return fstat(fd, arg);
}

/* Whether the log file at path is open in its slot, opening it (again) if need
 * be. A forked child finds the slot empty (the fork handlers close it) and opens
 * its own, which "%p" makes another file. 0 if it cannot be opened: the line
 * goes to stderr, and the next line tries again. */
static int tshim_log_file_ready(const char *path)
{
    struct stat st;
    int named = stat(path, &st) == 0;
    if (tshim_fdguard_get(TSHIM_FDGUARD_LOG) >= 0) {
        if (named && st.st_dev == atomic_load(&tshim_log_file_dev) &&
            st.st_ino == atomic_load(&tshim_log_file_ino))
            return 1;
        tshim_fdguard_release_slot(TSHIM_FDGUARD_LOG);
    }
    if (tshim_fdguard_open(TSHIM_FDGUARD_LOG, path, TSHIM_LOG_FILE_FLAGS, 0600) < 0 ||
        tshim_fdguard_call(TSHIM_FDGUARD_LOG, tshim_log_do_fstat, &st) != 0)
        return 0;
    atomic_store(&tshim_log_file_dev, (unsigned long long)st.st_dev);
    atomic_store(&tshim_log_file_ino, (unsigned long long)st.st_ino);
    return 1;
}

static ssize_t tshim_log_to_file(const char *buf, size_t len)
{
    return tshim_fdguard_write_slot(TSHIM_FDGUARD_LOG, buf, len);
}

static ssize_t tshim_log_to_stderr(const char *buf, size_t len)
{
    return write(2, buf, len);
}

void tshim_log_close(void)
{
    if (tshim_fdguard_get(TSHIM_FDGUARD_LOG) >= 0)
        tshim_fdguard_release_slot(TSHIM_FDGUARD_LOG);
}

/* Writes the whole line with out, or gives up: a log line must never block or
 * loop the host. */
static void tshim_log_write_all(ssize_t (*out)(const char *, size_t), const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = out(buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

/* To the log file, with signals blocked: a handler of the host's that dup2()s
 * onto the file's number would otherwise wait for a write its own thread is in. */
static void tshim_log_write_file(const char *buf, size_t len)
{
    sigset_t old;
    tshim_fdguard_block_signals(&old);
    tshim_log_write_all(tshim_log_to_file, buf, len);
    tshim_fdguard_restore_signals(&old);
}

/* To stderr, if fd 2 is still the stderr the shim was given. */
static void tshim_log_write_stderr(const char *buf, size_t len)
{
    struct stat st;
    if (!tshim_log_err_known || fstat(2, &st) != 0 || st.st_dev != tshim_log_err_dev ||
        st.st_ino != tshim_log_err_ino)
        return; /* fd 2 is no longer the stderr we were given */
    tshim_log_write_all(tshim_log_to_stderr, buf, len);
}

/* The start of a line: in a file, which is read later and away from the
 * process, when and who. Returns its length. */
static size_t tshim_log_head(char *line, size_t size, int to_file)
{
    if (!to_file)
        return (size_t)snprintf(line, size, "toki-shim: ");
    char when[32];
    tshim_clock_iso8601(tshim_clock_wall_ms(), when, sizeof when);
    return (size_t)snprintf(line, size, "%s toki-shim[%ld]: ", when, (long)getpid());
}

/* Ends a line of size bytes whose head took n and whose message vsnprintf said
 * took m (cut where it did not fit) with a newline; returns its length. */
static size_t tshim_log_end(char *line, size_t size, size_t n, int m)
{
    if (m < 0)
        m = 0;
    n += (size_t)m < size - n - 1 ? (size_t)m : size - n - 2;
    line[n++] = '\n';
    return n;
}

/* Once in the process's life, on stderr: the log file asked for cannot be opened,
 * so its lines go to stderr instead (and, under Toki, which keeps a command's
 * stderr to itself, are seen by nobody). Without this line an empty log file
 * would be all the user saw. */
static void tshim_log_unopened(const char *path, int e)
{
    static _Atomic int said;
    if (atomic_exchange(&said, 1))
        return;
    char line[512], msg[64];
    size_t n = tshim_log_head(line, sizeof line, 0);
    int m = snprintf(line + n, sizeof line - n - 1,
                     "cannot open the log file %.300s (%s); logging to stderr instead", path,
                     tshim_log_strerror(e, msg, sizeof msg));
    tshim_log_write_stderr(line, tshim_log_end(line, sizeof line, n, m));
}

void tshim_log(enum tshim_log_level level, const char *fmt, ...)
{
    if (!tshim_log_enabled(level))
        return;
    int saved_errno = errno;
    char line[1024];
    char path[PATH_MAX];
    int to_file =
        tshim_log_has_pattern &&
        tshim_log_expand_path(path, sizeof path, tshim_log_pattern, (long)getpid()) == 0;
    if (to_file && !(to_file = tshim_log_file_ready(path)))
        tshim_log_unopened(path, errno);
    size_t n = tshim_log_head(line, sizeof line, to_file);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    n = tshim_log_end(line, sizeof line, n, m);
    if (to_file)
        tshim_log_write_file(line, n);
    else
        tshim_log_write_stderr(line, n);
    errno = saved_errno;
}
