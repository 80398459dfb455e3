/* bench_peer.c: the peer check's time with 0, 10,000 and 100,000 other TCP sockets on the machine, by sock_diag and by /proc/net/tcp. */
/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/net.h"

/* Sockets one holder process keeps: below the 20,000 descriptors a process may
 * have here, two per loopback connection. */
#define PER_HOLDER 18000

static pid_t holders[16];
static int nholders;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int listener(struct sockaddr_in *a)
{
    socklen_t len = sizeof *a;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || bind(l, (struct sockaddr *)a, sizeof *a) != 0 || listen(l, 4096) != 0 ||
        getsockname(l, (struct sockaddr *)a, &len) != 0) {
        perror("bench_peer: listener");
        exit(1);
    }
    return l;
}

/* A process that holds n established loopback sockets (n/2 connections to its own
 * listener, both ends) until it is killed; returns once they all exist. */
static void hold(int n)
{
    int ready[2];
    if (pipe(ready) != 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        struct sockaddr_in a;
        int l = listener(&a);
        /* Reset at exit rather than closed: no TIME_WAIT is left to weigh on the
         * next run's figures without other sockets. */
        struct linger reset = {1, 0};
        for (int i = 0; i < n / 2; i++) {
            int c = socket(AF_INET, SOCK_STREAM, 0), s = -1;
            if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0 ||
                (s = accept(l, NULL, NULL)) < 0) {
                perror("bench_peer: holder");
                _exit(1);
            }
            setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
            setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        }
        (void)!write(ready[1], "r", 1);
        for (;;)
            pause();
    }
    char r;
    close(ready[1]);
    if (read(ready[0], &r, 1) != 1) {
        fprintf(stderr, "bench_peer: a holder could not make its sockets\n");
        exit(1);
    }
    close(ready[0]);
    holders[nholders++] = pid;
}

/* The TCP sockets on the machine now (IPv4 and IPv6), as the fallback sees them. */
static long machine_sockets(void)
{
    long n = 0;
    const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (int t = 0; t < 2; t++) {
        FILE *f = fopen(tables[t], "r");
        int c;
        while (f && (c = getc(f)) != EOF)
            n += c == '\n';
        if (f) {
            n--; /* the heading */
            fclose(f);
        }
    }
    return n;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median time of one peer check, one way, over reps calls. */
static double check_us(enum tshim_net_way way, int reps)
{
    static double v[2000];
    for (int i = 0; i < reps; i++) {
        unsigned uid;
        double t0 = now_us();
        if (tshim_net_peer_uid_by(way, &uid) != 0 || uid != (unsigned)geteuid()) {
            fprintf(stderr, "bench_peer: the peer check failed\n");
            exit(1);
        }
        v[i] = now_us() - t0;
    }
    qsort(v, (size_t)reps, sizeof v[0], cmpd);
    return v[reps / 2];
}

static void line(const char *key, double value, const char *unit, const char *note)
{
    printf("%s\t%.3f\t%s\t%s\n", key, value, unit, note ? note : "");
}

int main(void)
{
    static const int others[] = {0, 10000, 100000};
    static const char *const name[] = {"0", "10k", "100k"};
    double diag[3], proc[3];
    long seen[3];
    struct sockaddr_in a;
    char err[160];
    int l = listener(&a);
    if (tshim_net_connect((struct sockaddr *)&a, sizeof a, 2000, err, sizeof err) < 0) {
        fprintf(stderr, "bench_peer: %s\n", err);
        return 1;
    }
    int server = accept(l, NULL, NULL), held = 0;
    for (int k = 0; k < 3; k++) {
        while (held < others[k]) {
            int n = others[k] - held < PER_HOLDER ? others[k] - held : PER_HOLDER;
            hold(n);
            held += n;
        }
        seen[k] = machine_sockets();
        diag[k] = check_us(TSHIM_NET_DIAG, 1000);
        proc[k] = check_us(TSHIM_NET_PROC, k == 2 ? 20 : 200);
    }
    for (int i = 0; i < nholders; i++) {
        kill(holders[i], SIGKILL);
        waitpid(holders[i], NULL, 0);
    }
    close(server);
    for (int k = 0; k < 3; k++) {
        char key[64];
        snprintf(key, sizeof key, "peer.machine_sockets_%s", name[k]);
        line(key, (double)seen[k], "socks", k == 0 ? "TCP sockets on the machine, the bench's own included" : NULL);
    }
    for (int k = 0; k < 3; k++) {
        char key[64];
        snprintf(key, sizeof key, "peer.sock_diag_us_%s", name[k]);
        line(key, diag[k], "us", k == 0 ? "the shim's peer check: one netlink request" : NULL);
    }
    for (int k = 0; k < 3; k++) {
        char key[64];
        snprintf(key, sizeof key, "peer.proc_net_tcp_us_%s", name[k]);
        line(key, proc[k], "us", k == 0 ? "the fallback: /proc/net/tcp read line by line" : NULL);
    }
    line("peer.sock_diag_ratio_10k", diag[1] / diag[0], "x", "goal <= 1.2");
    line("peer.sock_diag_ratio_100k", diag[2] / diag[0], "x", NULL);
    line("peer.proc_net_tcp_ratio_10k", proc[1] / proc[0], "x", "what it was");
    return 0;
}
