/* harness.c: spawning, pumping and waiting, all with deadlines and no sleeps. */
/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

extern char **environ;

static void h_pipe(int fds[2])
{
    cr_assert_eq(pipe2(fds, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
}

const char *h_build_dir(void)
{
    const char *dir = getenv("TOKI_TEST_BUILD_DIR");
    return dir && *dir ? dir : BUILD_DIR;
}

const char *h_built(const char *rel)
{
    /* Each path is made once and kept, so that argv arrays can hold several. */
    static struct {
        char rel[128], path[768];
    } made[32];
    static int n;
    for (int i = 0; i < n; i++)
        if (strcmp(made[i].rel, rel) == 0)
            return made[i].path;
    cr_assert_lt(n, 32, "h_built: more than 32 paths in one test");
    snprintf(made[n].rel, sizeof made[n].rel, "%s", rel);
    snprintf(made[n].path, sizeof made[n].path, "%s/%s", h_build_dir(), rel);
    return made[n++].path;
}

const char *h_host_path(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "tests/hosts/%s", name);
    return h_built(rel);
}

void h_skip_unless_system_libc(void)
{
    if (strcmp(h_build_dir(), BUILD_DIR) != 0)
        cr_skip_test("the build under test (%s) may link another libc than the system's "
                     "programs, which then cannot preload its library", h_build_dir());
}

void h_spawn(struct h_proc *p, char *const argv[], const char *const env[], int preload)
{
    int in[2], out[2], err[2];
    memset(p, 0, sizeof *p);
    h_pipe(in);
    h_pipe(out);
    h_pipe(err);

    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    while (env && env[extra])
        extra++;
    char **envp = calloc(n + extra + 2, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "TOKI_", 5) != 0 && strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
            envp[k++] = environ[i];
    for (size_t i = 0; i < extra; i++)
        envp[k++] = (char *)env[i];
    char preload_var[4096];
    for (size_t i = 0; i < extra; i++)
        if (strncmp(env[i], "LD_PRELOAD=", 11) == 0)
            preload = 0; /* the test wrote its own */
    if (preload) {
        /* Sanitizer builds put their runtime first, as ASan requires. */
        const char *first = getenv("TOKI_TEST_PRELOAD_FIRST");
        snprintf(preload_var, sizeof preload_var, "LD_PRELOAD=%s%s%s",
                 first ? first : "", first ? " " : "", h_built("libtoki_shim.so"));
        envp[k++] = preload_var;
    }
    envp[k] = NULL;

    p->pid = fork();
    cr_assert_geq(p->pid, 0, "fork: %s", strerror(errno));
    if (p->pid == 0) {
        /* Its own process group, so that h_stop ends its descendants too (an nginx
         * master's workers, a shell's children). */
        setpgid(0, 0);
        /* Every signal at its default and none blocked, whatever the suite was
         * started with: under nohup SIGHUP is ignored, and a signal ignored when a
         * non-interactive bash starts can never be trapped (bash(1), SIGNALS). */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < NSIG; s++)
            if (s != SIGKILL && s != SIGSTOP)
                signal(s, SIG_DFL);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        execve(argv[0], argv, envp);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(envp);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    p->in = in[1];
    fcntl(p->in, F_SETFL, O_NONBLOCK); /* h_write never blocks: see there */
    p->out.fd = out[0];
    p->err.fd = err[0];
    p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
    cr_assert_geq(p->pidfd, 0, "pidfd_open: %s", strerror(errno));
}

void h_pump(struct h_proc *p, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = p->out.eof ? -1 : p->out.fd, .events = POLLIN},
                            {.fd = p->err.eof ? -1 : p->err.fd, .events = POLLIN}};
    if (poll(fds, 2, timeout_ms) <= 0)
        return;
    struct h_stream *ss[2] = {&p->out, &p->err};
    for (int i = 0; i < 2; i++) {
        if (!fds[i].revents)
            continue;
        struct h_stream *s = ss[i];
        if (s->cap - s->len < 4096) {
            s->cap = s->cap ? s->cap * 2 : 65536;
            s->data = realloc(s->data, s->cap);
            cr_assert_not_null(s->data);
            s->data[s->len] = '\0'; /* even if nothing more is read */
        }
        ssize_t r = read(s->fd, s->data + s->len, s->cap - s->len - 1);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue; /* not the end: read again next time */
        if (r <= 0) {
            s->eof = 1;
            continue;
        }
        s->len += (size_t)r;
        s->data[s->len] = '\0';
    }
}

/* Finds a complete line at or after from that contains needle; returns the index
 * just past its newline, or 0. */
static size_t h_find(const struct h_stream *s, size_t from, const char *needle)
{
    size_t start = from;
    for (size_t i = from; i < s->len; i++) {
        if (s->data[i] != '\n')
            continue;
        size_t len = i + 1 - start; /* the newline is part of the line */
        size_t nl = strlen(needle);
        for (size_t j = 0; j + nl <= len; j++)
            if (memcmp(s->data + start + j, needle, nl) == 0)
                return i + 1;
        start = i + 1;
    }
    return 0;
}

int h_expect(struct h_proc *p, struct h_stream *s, const char *needle, int timeout_ms)
{
    long deadline = tshim_clock_now_ms() + timeout_ms;
    for (;;) {
        size_t at = h_find(s, s->cursor, needle);
        if (at) {
            s->cursor = at;
            return 0;
        }
        long left = deadline - tshim_clock_now_ms();
        if (left <= 0 || (s->eof && p->out.eof && p->err.eof))
            return -1;
        if (s->eof) /* nothing more can come on this stream */
            return -1;
        h_pump(p, (int)left);
    }
}

int h_count(struct h_proc *p, struct h_stream *s, const char *needle, int timeout_ms)
{
    long deadline = tshim_clock_now_ms() + timeout_ms;
    long left;
    do {
        left = deadline - tshim_clock_now_ms();
        h_pump(p, left > 0 ? (int)left : 0);
    } while (left > 0 && !(p->out.eof && p->err.eof));
    int n = 0;
    size_t at = 0;
    while ((at = h_find(s, at, needle)) != 0)
        n++;
    return n;
}

int h_wait_count(struct h_proc *p, struct h_stream *s, const char *needle, int n, int timeout_ms)
{
    long deadline = tshim_clock_now_ms() + timeout_ms;
    for (;;) {
        int have = 0;
        size_t at = 0;
        while ((at = h_find(s, at, needle)) != 0)
            have++;
        long left = deadline - tshim_clock_now_ms();
        if (have >= n || left <= 0 || s->eof)
            return have;
        h_pump(p, (int)left);
    }
}

void h_write(struct h_proc *p, const char *text)
{
    size_t len = strlen(text);
    long deadline = tshim_clock_now_ms() + H_WAIT_MS;
    /* The child's output is drained meanwhile: a child blocked on a full stdout or
     * stderr pipe would never read the rest of its stdin. */
    while (len > 0) {
        cr_assert_lt(tshim_clock_now_ms(), deadline, "the child stopped reading its stdin");
        struct pollfd fd = {.fd = p->in, .events = POLLOUT};
        if (poll(&fd, 1, 1) == 1) {
            ssize_t w = write(p->in, text, len);
            cr_assert(w > 0 || errno == EAGAIN, "write to child: %s", strerror(errno));
            if (w > 0) {
                text += w;
                len -= (size_t)w;
            }
        }
        h_pump(p, 0);
    }
}

void h_close_stdin(struct h_proc *p)
{
    if (p->in >= 0)
        close(p->in);
    p->in = -1;
}

int h_wait(struct h_proc *p, int timeout_ms)
{
    long deadline = tshim_clock_now_ms() + timeout_ms;
    while (!p->exited) {
        long left = deadline - tshim_clock_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd fds[3] = {{.fd = p->pidfd, .events = POLLIN},
                                {.fd = p->out.eof ? -1 : p->out.fd, .events = POLLIN},
                                {.fd = p->err.eof ? -1 : p->err.fd, .events = POLLIN}};
        poll(fds, 3, (int)left);
        h_pump(p, 0);
        if (waitpid(p->pid, &p->status, WNOHANG) == p->pid)
            p->exited = 1;
    }
    /* Collect what is still in the pipes (grandchildren may hold them open). */
    h_pump(p, 0);
    h_pump(p, 0);
    return p->status;
}

int h_alive(struct h_proc *p)
{
    if (!p->exited && waitpid(p->pid, &p->status, WNOHANG) == p->pid)
        p->exited = 1;
    return !p->exited;
}

/* Appends the lines of file that start with one of the prefixes. */
static size_t h_grep_file(char *out, size_t len, size_t size, const char *file, const char *const prefixes[])
{
    char line[256];
    FILE *f = fopen(file, "r");
    if (!f)
        return len;
    while (fgets(line, sizeof line, f) && len + sizeof line < size)
        for (int k = 0; prefixes[k]; k++)
            if (!strncmp(line, prefixes[k], strlen(prefixes[k]))) {
                len += (size_t)snprintf(out + len, size - len, "%s", line);
                break;
            }
    fclose(f);
    return len;
}

const char *h_signals(struct h_proc *p)
{
    static char out[8192];
    static const char *const status[] = {"Name:", "State:", "SigPnd:", "ShdPnd:", "SigBlk:", "SigCgt:", NULL};
    static const char *const any[] = {"", NULL};
    char dir[64], file[384];
    size_t len = 0;
    out[0] = '\0';
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)p->pid);
    DIR *d = opendir(dir);
    if (!d)
        return "(no /proc entry)";
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        len += (size_t)snprintf(out + len, sizeof out - len, "task %s: ", e->d_name);
        snprintf(file, sizeof file, "%s/%s/status", dir, e->d_name);
        len = h_grep_file(out, len, sizeof out, file, status);
        snprintf(file, sizeof file, "%s/%s/syscall", dir, e->d_name);
        len = h_grep_file(out, len, sizeof out, file, any);
    }
    closedir(d);
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)p->pid);
    d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) && len + 300 < sizeof out;) {
        char target[256];
        if (e->d_name[0] == '.')
            continue;
        snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
        ssize_t n = readlink(file, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        len += (size_t)snprintf(out + len, sizeof out - len, "fd %s: %s\n", e->d_name, target);
    }
    if (d)
        closedir(d);
    return out;
}

void h_stop(struct h_proc *p)
{
    if (p->pid <= 0)
        return; /* never started, or stopped already: its descriptors are gone */
    kill(-p->pid, SIGKILL); /* the whole group, even if its leader has exited */
    if (!p->exited)
        waitpid(p->pid, &p->status, 0);
    p->exited = 1;
    h_close_stdin(p);
    close(p->out.fd);
    close(p->err.fd);
    close(p->pidfd);
    free(p->out.data);
    free(p->err.data);
    p->out.data = p->err.data = NULL;
    p->pid = 0;
}

/* A TCP socket bound to 127.0.0.1 on a port the kernel picks; *port gets it. */
static int h_bound(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* The sockets that hold the ports h_free_port gave, bound and not listening: a
 * connection to one is refused, and no other test's server (two run at once, and
 * another suite may run beside this one) can take the port meanwhile. */
static struct {
    int fd, port;
} h_held[8];
static int h_nheld;

int h_free_port(void)
{
    int port, fd = h_bound(&port);
    cr_assert_lt(h_nheld, 8, "too many ports held");
    h_held[h_nheld].fd = fd;
    h_held[h_nheld++].port = port;
    return port;
}

void h_release_port(int port)
{
    for (int i = 0; i < h_nheld; i++)
        if (h_held[i].port == port && h_held[i].fd >= 0) {
            close(h_held[i].fd);
            h_held[i].fd = -1;
        }
}

int h_raw_listen(int *port)
{
    int fd = h_bound(port);
    cr_assert_eq(listen(fd, 64), 0);
    return fd;
}

int h_raw_accept(int listener, int timeout_ms)
{
    long deadline = tshim_clock_now_ms() + timeout_ms;
    for (long left; (left = deadline - tshim_clock_now_ms()) > 0;) {
        struct pollfd p = {.fd = listener, .events = POLLIN};
        if (poll(&p, 1, (int)left) != 1)
            return -1;
        int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        /* A client that hung up before its token (the shim gave up on this
         * connection) is skipped: the next one is what the caller waits for. */
        char token[64];
        p = (struct pollfd){.fd = c, .events = POLLIN};
        if (poll(&p, 1, (int)(left > 0 ? left : 1)) == 1 && read(c, token, sizeof token) > 0)
            return c;
        close(c);
    }
    return -1;
}

void h_raw_send(int conn, const char *text)
{
    size_t len = strlen(text);
    cr_assert_eq(write(conn, text, len), (ssize_t)len, "a short write to the shim");
}

int h_daemon_port(void)
{
    for (int k = 0; k < 9000; k++) {
        int port = 20000 + (int)((getpid() + k) % 9000), ok = 1;
        for (int type = SOCK_STREAM; type <= SOCK_DGRAM && ok; type++) {
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
            ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
            if (fd >= 0)
                close(fd);
        }
        if (ok)
            return port;
    }
    cr_assert_fail("no free port in 20000-28999");
    return -1;
}

void h_server_start(struct h_server *s, int port, const char *const extra[])
{
    char portarg[16];
    const char *argv[32] = {h_built("toki-shim"), "serve", "--port", portarg, "--token", H_TOKEN};
    size_t n = 6;
    snprintf(portarg, sizeof portarg, "%d", port);
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    memset(s, 0, sizeof *s);
    h_spawn(&s->p, (char *const *)argv, NULL, 0);
    cr_assert_eq(h_expect(&s->p, &s->p.out, "TOKI_PORT=", H_WAIT_MS), 0,
                 "server did not start: %s", s->p.err.data ? s->p.err.data : "");
    const char *line = strstr(s->p.out.data, "TOKI_PORT=");
    s->port = atoi(line + 10); /* test code: the server printed it, just now */
    snprintf(s->token, sizeof s->token, "%s", H_TOKEN);
}

void h_server_send(struct h_server *s, const char *text)
{
    h_write(&s->p, text);
}

void h_server_env(struct h_server *s, char port[32], char token[96])
{
    snprintf(port, 32, "TOKI_PORT=%d", s->port);
    snprintf(token, 96, "TOKI_TOKEN=%s", s->token);
}

struct h_server h_srv;
struct h_proc h_host;

void h_fini(void)
{
    h_stop(&h_host);
    h_stop(&h_srv.p);
    for (int i = 0; i < h_nheld; i++)
        if (h_held[i].fd >= 0)
            close(h_held[i].fd);
    h_nheld = 0;
}

char h_env_port[32], h_env_token[96];

void h_start_server(const char *const extra[])
{
    h_server_start(&h_srv, 0, extra);
    h_server_env(&h_srv, h_env_port, h_env_token);
}

int h_authenticated(int n, int timeout_ms)
{
    int i = 0;
    while (i < n && h_expect(&h_srv.p, &h_srv.p.err, "authenticated", timeout_ms) == 0)
        i++;
    return i;
}

void h_expect_authenticated_within(int n, int timeout_ms)
{
    int have = h_authenticated(n, timeout_ms);
    if (have == n)
        return;
    /* What the host said meanwhile, for the message. */
    if (h_host.pid > 0)
        h_count(&h_host, &h_host.err, "", 500);
    cr_assert_fail("%d of %d clients authenticated; host %s; its stderr: %s", have, n,
                   h_host.pid <= 0 ? "not started" : h_alive(&h_host) ? "still running" : "exited",
                   h_host.err.data ? h_host.err.data : "");
}

void h_expect_authenticated(int n)
{
    h_expect_authenticated_within(n, H_WAIT_MS);
}

void h_start_host(const char *const argv[], const char *const env[], int preload, int clients)
{
    h_spawn(&h_host, (char *const *)argv, env, preload);
    h_expect_authenticated(clients);
}

void h_start_host_ready(const char *const argv[], int preload, int clients, const char *ready, ...)
{
    const char *env[16] = {h_env_port, h_env_token};
    size_t n = 2;
    va_list more;
    va_start(more, ready);
    for (const char *v; (v = va_arg(more, const char *)) != NULL;) {
        cr_assert_lt(n, sizeof env / sizeof *env - 1, "h_start_host_ready: too many variables");
        env[n++] = v;
    }
    va_end(more);
    env[n] = NULL;
    h_start_host(argv, env, preload, clients);
    if (ready)
        cr_assert_eq(h_expect(&h_host, &h_host.out, ready, H_WAIT_MS), 0, "no \"%s\" from the host: %s / %s",
                     ready, h_host.out.data ? h_host.out.data : "", h_host.err.data ? h_host.err.data : "");
}

void h_send_each(int n, struct h_stream *s, const char *seen)
{
    for (int i = 1; i <= n; i++) {
        h_send_events(1);
        cr_assert_eq(h_wait_count(&h_host, s, seen, i, H_WAIT_MS), i, "%d of %d: out: %s err: %s", i - 1, n,
                     h_host.out.data, h_host.err.data);
    }
}

void h_burst(char *buf, size_t size, int n)
{
    static const char one[] = "AUTH_REFRESHED\n";
    size_t len = 0;
    for (int i = 0; i < n && len + sizeof one <= size; i++) {
        memcpy(buf + len, one, sizeof one - 1);
        len += sizeof one - 1;
    }
    buf[len] = '\0';
}

void h_send_events(int n)
{
    static char b[64 * 1024];
    h_burst(b, sizeof b, n);
    h_server_send(&h_srv, b);
}

const char *h_preload_first(void)
{
    static char var[4200];
    const char *first = getenv("TOKI_TEST_PRELOAD_FIRST");
    if (!first)
        return NULL;
    snprintf(var, sizeof var, "LD_PRELOAD=%s", first);
    return var;
}

void h_skip_fork_under_sanitizers(void)
{
    if (getenv("TOKI_TEST_PRELOAD_FIRST"))
        cr_skip_test("forks of a threaded process are tested in the plain build only: the "
                     "sanitizer's allocator is not fork-safe");
}

void h_skip_under_sanitizers(void)
{
    if (getenv("TOKI_TEST_PRELOAD_FIRST"))
        cr_skip_test("runtime hosts run in the plain build only, not under a preloaded sanitizer");
}

int h_wait_file(const char *path, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        char buf[65536];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n > 0) {
            buf[n] = '\0';
            if (strstr(buf, needle))
                return 0;
        }
        struct timespec ms = {0, 10000000};
        nanosleep(&ms, NULL);
    }
    return -1;
}

void h_copy(const char *from, const char *to, unsigned mode)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    cr_assert(in && out, "cannot copy %s to %s", from, to);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    cr_assert_eq(fclose(out), 0);
    cr_assert_eq(chmod(to, (mode_t)mode), 0);
}
