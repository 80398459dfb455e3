/* log.c: formats each message into one buffer and emits it with a single write(2). */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const tshim_log_level_names[TSHIM_LOG_LEVELS] = {
    [TSHIM_LOG_QUIET] = "quiet", [TSHIM_LOG_ERROR] = "error", [TSHIM_LOG_WARN] = "warn",
    [TSHIM_LOG_INFO] = "info",   [TSHIM_LOG_DEBUG] = "debug",
};

/* Set once by the constructor before the listener thread exists, then only read,
 * so no lock is needed (and none may be: the host can fork at any moment). */
static enum tshim_log_level tshim_log_threshold = TSHIM_LOG_WARN;
static char tshim_log_pattern[PATH_MAX];
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
    tshim_log_pattern[0] = '\0';
    size_t len = path_pattern ? strlen(path_pattern) : 0;
    if (len < sizeof tshim_log_pattern && path_pattern)
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

/* Writes the whole line or gives up: a log line must never block or loop the host. */
static void tshim_log_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

void tshim_log(enum tshim_log_level level, const char *fmt, ...)
{
    if (!tshim_log_enabled(level))
        return;
    int saved_errno = errno;
    int fd = 2;
    char line[1024];
    char path[PATH_MAX];
    size_t n;

    if (tshim_log_pattern[0] != '\0' &&
        tshim_log_expand_path(path, sizeof path, tshim_log_pattern, (long)getpid()) == 0) {
        /* Opened per line: log lines are rare, and holding no fd means a host that
         * closes every descriptor can never close or reuse ours. If the file
         * cannot be opened the line still goes to stderr. */
        int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (f >= 0)
            fd = f;
    }
    if (fd != 2) {
        /* A file is read later, away from the process: say when and who. */
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = (size_t)snprintf(line, sizeof line,
                             "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ toki-shim[%ld]: ",
                             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                             tm.tm_sec, ts.tv_nsec / 1000000L, (long)getpid());
    } else {
        n = (size_t)snprintf(line, sizeof line, "toki-shim: ");
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += (size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2;
    line[n++] = '\n';

    if (fd == 2) {
        struct stat st;
        if (!tshim_log_err_known || fstat(2, &st) != 0 || st.st_dev != tshim_log_err_dev ||
            st.st_ino != tshim_log_err_ino) {
            errno = saved_errno;
            return; /* fd 2 is no longer the stderr we were given */
        }
    }
    tshim_log_write_all(fd, line, n);
    if (fd != 2)
        close(fd); /* ours is wrapped, and passes any fd but the socket */
    errno = saved_errno;
}
