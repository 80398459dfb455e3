/* serve.c: Toki's event server, wire-exact: one token read, no replies, a 100-message queue per client. */
/* SPDX-License-Identifier: MIT */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/frame.h"
#include "say.h"

#define TSHIM_SERVE_QUEUE 100 /* Toki's per-client channel size */
#define TSHIM_SERVE_TOKEN_MAX 256
#define TSHIM_SERVE_FLUSH_MS 1000 /* how long FINISHED may take to drain before exit */

/* One broadcast line, shared by every client queue that holds it. */
struct tshim_serve_msg {
    unsigned refs;
    size_t len;
    char text[];
};

struct tshim_serve_client {
    int fd;
    unsigned id;
    int authed;
    int dropping; /* said "queue full" and not yet drained */
    struct tshim_serve_msg *q[TSHIM_SERVE_QUEUE];
    unsigned head, count;
    size_t off; /* bytes of q[head] already written */
};

struct tshim_serve {
    int lfd, sfd;
    int stdin_open;
    int dev, quiet;
    char token[TSHIM_SERVE_TOKEN_MAX + 1];
    size_t token_len;
    struct tshim_serve_client **c;
    size_t n, cap;
    unsigned next_id;
    pid_t child;              /* also the process group of the command */
    int status;               /* the command's, once it exited */
    long every_ms, next_tick; /* --every, and when its next refresh is due (0: none) */
    struct pollfd *p;         /* the poll set: listener, signals, stdin, then clients */
    size_t pcap;
    struct tshim_frame in;
};

static void tshim_serve_say(const struct tshim_serve *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tshim_serve_say(const struct tshim_serve *s, const char *fmt, ...)
{
    if (s->quiet)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    fprintf(stderr, "toki-shim serve: %.*s", n, line);
}

/* A version-4 UUID: 36 characters, the shape of Toki's tokens. */
static int tshim_serve_make_token(char *out)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

static void tshim_serve_drop(struct tshim_serve *s, size_t i, const char *why)
{
    struct tshim_serve_client *cl = s->c[i];
    tshim_serve_say(s, "client %u %s", cl->id, why);
    close(cl->fd);
    for (unsigned k = 0; k < cl->count; k++) {
        struct tshim_serve_msg *m = cl->q[(cl->head + k) % TSHIM_SERVE_QUEUE];
        if (--m->refs == 0)
            free(m);
    }
    free(cl);
    s->c[i] = s->c[--s->n];
}

/* Writes what the socket takes now. Returns -1 if the client is gone. */
static int tshim_serve_flush(struct tshim_serve_client *cl)
{
    while (cl->authed && cl->count > 0) {
        struct tshim_serve_msg *m = cl->q[cl->head];
        ssize_t w = send(cl->fd, m->text + cl->off, m->len - cl->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        cl->off += (size_t)w;
        if (cl->off < m->len)
            continue;
        cl->off = 0;
        cl->head = (cl->head + 1) % TSHIM_SERVE_QUEUE;
        cl->count--;
        cl->dropping = 0;
        if (--m->refs == 0)
            free(m);
    }
    return 0;
}

/* Queues name to every client, authenticated or not (Toki delivers what was
 * broadcast during the handshake once it succeeds), dropping it for a client whose
 * queue is full, and writes at once to those that can take it. */
static void tshim_serve_broadcast(struct tshim_serve *s, const char *name)
{
    size_t len = strlen(name);
    struct tshim_serve_msg *m = malloc(sizeof *m + len + 1);
    if (!m) {
        tshim_serve_say(s, "out of memory; %s not sent", name);
        return;
    }
    m->refs = 1;
    m->len = len + 1;
    memcpy(m->text, name, len);
    m->text[len] = '\n';
    unsigned sent = 0, waiting = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct tshim_serve_client *cl = s->c[i];
        if (cl->count == TSHIM_SERVE_QUEUE) {
            if (!cl->dropping)
                tshim_serve_say(s,
                                "client %u: queue full (%d events), dropping events until it reads",
                                cl->id, TSHIM_SERVE_QUEUE);
            cl->dropping = 1;
            continue;
        }
        m->refs++;
        cl->q[(cl->head + cl->count++) % TSHIM_SERVE_QUEUE] = m;
        sent += (unsigned)cl->authed;
        waiting += (unsigned)!cl->authed;
    }
    if (--m->refs == 0)
        free(m);
    for (size_t i = s->n; i-- > 0;)
        if (tshim_serve_flush(s->c[i]) < 0)
            tshim_serve_drop(s, i, "disconnected");
    if (waiting)
        tshim_serve_say(s, "sent %s to %u client%s (and queued for %u waiting for their token)",
                        name, sent, sent == 1 ? "" : "s", waiting);
    else
        tshim_serve_say(s, "sent %s to %u client%s", name, sent, sent == 1 ? "" : "s");
}

static void tshim_serve_accept(struct tshim_serve *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                tshim_serve_say(s, "accept: %s", strerror(errno));
            return;
        }
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            void *p = realloc(s->c, cap * sizeof(struct tshim_serve_client *));
            if (!p) {
                close(fd);
                return;
            }
            s->c = p;
            s->cap = cap;
        }
        struct tshim_serve_client *cl = calloc(1, sizeof *cl);
        if (!cl) {
            close(fd);
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        cl->fd = fd;
        cl->id = ++s->next_id;
        cl->authed = s->dev; /* --dev: no token check, nothing is ever read */
        s->c[s->n++] = cl;
        tshim_serve_say(s, "client %u connected", cl->id);
        if (s->dev)
            tshim_serve_say(s, "client %u authenticated", cl->id);
    }
}

/* Toki's handshake: ONE read of up to the token's length, compared whole. */
static void tshim_serve_handshake(struct tshim_serve *s, size_t i)
{
    struct tshim_serve_client *cl = s->c[i];
    char buf[TSHIM_SERVE_TOKEN_MAX];
    ssize_t n = read(cl->fd, buf, s->token_len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0 || (size_t)n != s->token_len || memcmp(buf, s->token, (size_t)n) != 0) {
        tshim_serve_drop(s, i, n <= 0 ? "disconnected" : "rejected (wrong token)");
        return;
    }
    cl->authed = 1;
    tshim_serve_say(s, "client %u authenticated", cl->id);
    if (tshim_serve_flush(cl) < 0)
        tshim_serve_drop(s, i, "disconnected");
}

/* One line of standard input: broadcast if it is an event name. */
static int tshim_serve_line(void *ctx, enum tshim_frame_kind kind, const char *name)
{
    struct tshim_serve *s = ctx;
    if (kind == TSHIM_FRAME_EVENT)
        tshim_serve_broadcast(s, name);
    else
        tshim_serve_say(s, "ignored an input line that is not an event name");
    return 0;
}

static void tshim_serve_read_stdin(struct tshim_serve *s)
{
    char buf[4096];
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        s->stdin_open = 0; /* keep serving: --every and the command still run */
        return;
    }
    tshim_frame_push(&s->in, buf, (size_t)n, tshim_serve_line, s);
}

/* What Toki does on each refresh: stop the group, refresh, broadcast, continue. The
 * broadcast goes out before SIGCONT, so it can arrive while the command is stopped,
 * as it can under Toki. */
static void tshim_serve_refresh(struct tshim_serve *s)
{
    if (s->child > 0)
        kill(-s->child, SIGSTOP);
    tshim_serve_broadcast(s, "AUTH_REFRESHED");
    if (s->child > 0)
        kill(-s->child, SIGCONT);
}

static pid_t tshim_serve_spawn(struct tshim_serve *s, char **argv, int port, const sigset_t *orig)
{
    pid_t pid = fork();
    if (pid < 0) {
        tshim_serve_say(s, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        char p[16];
        snprintf(p, sizeof p, "%d", port);
        setpgid(0, 0);
        sigprocmask(SIG_SETMASK, orig, NULL);
        setenv("TOKI_PORT", p, 1);
        setenv("TOKI_TOKEN", s->token, 1);
        execvp(argv[0], argv);
        fprintf(stderr, "toki-shim serve: %s: %s\n", argv[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    setpgid(pid, pid); /* also here, so the group exists before the first SIGSTOP */
    return pid;
}

/* Gives queued events (FINISHED above all) a moment to reach their clients. */
static void tshim_serve_drain(struct tshim_serve *s)
{
    long deadline = tshim_clock_now_ms() + TSHIM_SERVE_FLUSH_MS;
    for (;;) {
        struct pollfd p[1024];
        size_t np = 0;
        for (size_t i = 0; i < s->n && np < 1024; i++)
            if (s->c[i]->authed && s->c[i]->count > 0)
                p[np++] = (struct pollfd){.fd = s->c[i]->fd, .events = POLLOUT};
        long left = deadline - tshim_clock_now_ms();
        if (np == 0 || left <= 0)
            return;
        poll(p, np, (int)left);
        for (size_t i = s->n; i-- > 0;)
            if (tshim_serve_flush(s->c[i]) < 0)
                tshim_serve_drop(s, i, "disconnected");
    }
}

static int tshim_serve_usage(FILE *f, int status)
{
    fputs("Usage: toki-shim serve [--port N] [--token T | --dev] [--every SECONDS] [--quiet]\n"
          "                       [-- COMMAND [ARGS...]]\n"
          "A Toki-compatible event server on 127.0.0.1. Prints TOKI_PORT= and TOKI_TOKEN=\n"
          "lines, then broadcasts each line read from stdin as an event.\n\n"
          "  --port N         port to listen on (default 3110; 0 picks a free one)\n"
          "  --token T        token clients must send (default: a random 36-character UUID)\n"
          "  --dev            accept any client without reading a token, like toki --dev\n"
          "  --every SECONDS  broadcast AUTH_REFRESHED every SECONDS (decimals allowed)\n"
          "  --quiet          do not report connections and broadcasts on stderr\n"
          "  -- COMMAND       run COMMAND as Toki does: own process group, TOKI_PORT and\n"
          "                   TOKI_TOKEN set, SIGSTOP/broadcast/SIGCONT on each refresh,\n"
          "                   FINISHED when it exits; exit with its status\n",
          f);
    return status;
}

static int tshim_serve_options(struct tshim_serve *s, int argc, char **argv, long *port,
                               long *every_ms)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},
        {"token", required_argument, NULL, 't'},
        {"dev", no_argument, NULL, 'd'},
        {"every", required_argument, NULL, 'e'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    char *end;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+:p:t:de:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            errno = 0;
            *port = strtol(optarg, &end, 10);
            if (optarg[0] < '0' || optarg[0] > '9' || *end || errno || *port > 65535) {
                tshim_say_usage("serve", "--port %s is not a port (0-65535)", optarg);
                return -1;
            }
            break;
        case 't':
            s->token_len = strlen(optarg);
            if (s->token_len == 0 || s->token_len > TSHIM_SERVE_TOKEN_MAX || strchr(optarg, '\n')) {
                tshim_say_usage("serve", "--token must be 1 to %d bytes, one line",
                                TSHIM_SERVE_TOKEN_MAX);
                return -1;
            }
            memcpy(s->token, optarg, s->token_len + 1);
            break;
        case 'd':
            s->dev = 1;
            break;
        case 'e': {
            errno = 0;
            double v = strtod(optarg, &end);
            if (optarg[0] < '0' || optarg[0] > '9' || *end || errno || v < 0.001 || v > 86400) {
                tshim_say_usage("serve", "--every %s is not a time in seconds (0.001-86400)",
                                optarg);
                return -1;
            }
            *every_ms = (long)(v * 1000 + 0.5);
            break;
        }
        case 'q':
            s->quiet = 1;
            break;
        case 'h':
            exit(tshim_serve_usage(stdout, 0));
        default:
            tshim_say_bad_option("serve", ch, argv);
            return -1;
        }
    }
    if (s->dev && s->token_len) {
        tshim_say_usage("serve", "--dev and --token exclude each other");
        return -1;
    }
    return 0;
}

static int tshim_serve_listen(struct tshim_serve *s, long port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int one = 1;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(s->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->lfd, 4096) < 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &len) < 0) {
        fprintf(stderr, "toki-shim serve: cannot listen on 127.0.0.1:%ld: %s\n", port,
                strerror(errno));
        return -1;
    }
    return ntohs(a.sin_port);
}

/* Listens, takes the signals it handles as a signalfd, says where it listens, and
 * starts the command. Returns 0, or -1 having said why. */
static int tshim_serve_setup(struct tshim_serve *s, long port, char **command)
{
    if (!s->token_len) {
        /* --dev prints one too: the shim stays inert without a token. */
        if (tshim_serve_make_token(s->token) < 0) {
            fprintf(stderr, "toki-shim serve: getrandom: %s\n", strerror(errno));
            return -1;
        }
        s->token_len = 36;
    }
    /* Fan-out tests connect thousands of clients: take every fd we may. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int bound = tshim_serve_listen(s, port);
    if (bound < 0)
        return -1;
    sigset_t mask, orig;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, &orig);
    s->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    signal(SIGPIPE, SIG_IGN);
    tshim_frame_init(&s->in);
    s->stdin_open = 1;

    printf("TOKI_PORT=%d\nTOKI_TOKEN=%s\n", bound, s->token);
    fflush(stdout);
    tshim_serve_say(s, "listening on 127.0.0.1:%d%s", bound,
                    s->dev ? " (dev mode: no token check)" : "");
    if (command && (s->child = tshim_serve_spawn(s, command, bound, &orig)) < 0)
        return -1;
    s->next_tick = s->every_ms ? tshim_clock_now_ms() + s->every_ms : 0;
    return 0;
}

/* Fills the poll set for this round, growing it as clients come; returns how many
 * entries, or 0 if out of memory. */
static size_t tshim_serve_poll_set(struct tshim_serve *s)
{
    if (s->pcap < s->n + 3) {
        size_t cap = (s->n + 3) * 2;
        struct pollfd *grown = realloc(s->p, cap * sizeof *s->p);
        if (!grown)
            return 0;
        s->p = grown;
        s->pcap = cap;
    }
    s->p[0] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
    s->p[1] = (struct pollfd){.fd = s->sfd, .events = POLLIN};
    s->p[2] = (struct pollfd){.fd = s->stdin_open ? 0 : -1, .events = POLLIN};
    for (size_t i = 0; i < s->n; i++) {
        struct tshim_serve_client *cl = s->c[i];
        /* After the handshake nothing is read, as in Toki; POLLRDHUP notices a
         * client that left without reading its bytes. */
        short ev = cl->authed ? POLLRDHUP : POLLIN;
        if (cl->authed && cl->count > 0)
            ev |= POLLOUT;
        s->p[3 + i] = (struct pollfd){.fd = cl->fd, .events = ev};
    }
    return s->n + 3;
}

/* The first nc clients' poll results. Back to front, so that dropping one (which
 * moves the last into its place) never skips another. */
static void tshim_serve_clients(struct tshim_serve *s, size_t nc)
{
    for (size_t i = nc; i-- > 0;) {
        short re = s->p[3 + i].revents;
        if (!re)
            continue;
        if (!s->c[i]->authed) {
            tshim_serve_handshake(s, i);
            continue;
        }
        /* Gone, or a write that found it gone. */
        if ((re & (POLLRDHUP | POLLHUP | POLLERR)) ||
            ((re & POLLOUT) && tshim_serve_flush(s->c[i]) < 0))
            tshim_serve_drop(s, i, "disconnected");
    }
}

/* The signals that came: the command's exit (FINISHED, then the server ends), or a
 * request to stop (passed on to the command, if there is one). Returns 1 when the
 * server is done. */
static int tshim_serve_signals(struct tshim_serve *s)
{
    struct signalfd_siginfo si;
    int done = 0;
    while (read(s->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo != SIGCHLD) {
            if (s->child <= 0) {
                tshim_serve_say(s, "stopping on signal %u", si.ssi_signo);
                done = 1;
            } else {
                kill(-s->child, SIGTERM); /* the command's exit ends the server */
            }
            continue;
        }
        int ws;
        if (s->child > 0 && waitpid(s->child, &ws, WNOHANG) == s->child) {
            s->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
            tshim_serve_say(s, "command exited with status %d", s->status);
            s->child = 0;
            tshim_serve_broadcast(s, "FINISHED");
            done = 1;
        }
    }
    return done;
}

/* The poll timeout: until --every's next refresh, or none. */
static int tshim_serve_timeout(const struct tshim_serve *s)
{
    if (!s->next_tick)
        return -1;
    long left = s->next_tick - tshim_clock_now_ms();
    return left > 0 ? (int)left : 0;
}

/* Refreshes if --every says it is time. */
static void tshim_serve_tick(struct tshim_serve *s)
{
    if (!s->next_tick || tshim_clock_now_ms() < s->next_tick)
        return;
    tshim_serve_refresh(s);
    s->next_tick += s->every_ms;
    if (s->next_tick < tshim_clock_now_ms())
        s->next_tick = tshim_clock_now_ms() + s->every_ms;
}

/* Serves until the command exits or a signal says stop. Returns 0, or -1. */
static int tshim_serve_loop(struct tshim_serve *s)
{
    for (;;) {
        size_t np = tshim_serve_poll_set(s);
        if (np == 0) {
            fprintf(stderr, "toki-shim serve: out of memory\n");
            return -1;
        }
        if (poll(s->p, np, tshim_serve_timeout(s)) < 0 && errno != EINTR) {
            perror("toki-shim serve: poll");
            return -1;
        }
        tshim_serve_clients(s, np - 3);
        if (s->p[0].revents)
            tshim_serve_accept(s);
        if (s->p[2].revents)
            tshim_serve_read_stdin(s);
        tshim_serve_tick(s);
        if (tshim_serve_signals(s))
            return 0;
    }
}

int tshim_serve_main(int argc, char **argv)
{
    static struct tshim_serve s0;
    struct tshim_serve *s = &s0;
    long port = 3110;
    if (tshim_serve_options(s, argc, argv, &port, &s->every_ms) < 0)
        return 2;
    char **command = optind < argc ? argv + optind : NULL;
    if (tshim_serve_setup(s, port, command) < 0)
        return 1;
    int r = tshim_serve_loop(s);
    if (r == 0)
        tshim_serve_drain(s);
    while (s->n > 0)
        tshim_serve_drop(s, s->n - 1, "closed");
    free(s->p);
    free(s->c);
    return r < 0 ? 1 : s->status;
}
