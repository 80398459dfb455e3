/* bench.c: `make bench`: start overhead, event latency against the floor, fan-out, idle cost, memory, wrapper cost, reconnect. */
/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIR_ BUILD_DIR "/bench/"
#define SHIM BUILD_DIR "/libtoki_shim.so"
#define TOKEN "0f8fad5b-d9cb-469f-a165-70867728950e"

static FILE *json;
static int json_first = 1;

/* One figure: printed in the table, and into BENCH_JSON when asked. */
static void figure(const char *key, double value, const char *unit, const char *note)
{
    printf("  %-44s %12.3f %-6s %s\n", key, value, unit, note ? note : "");
    if (json) {
        fprintf(json, "%s\n  \"%s\": %.6g", json_first ? "" : ",", key, value);
        json_first = 0;
    }
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
    fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- a Toki stand-in, driven directly so that its write time is known ---- */

static int listen_on(int port, int *bound)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    socklen_t len = sizeof a;
    int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4096) || getsockname(l, (struct sockaddr *)&a, &len))
        die("listen");
    *bound = ntohs(a.sin_port);
    return l;
}

/* Accepts one client and takes its token, as Toki does (one read). */
static int accept_client(int l)
{
    char buf[64];
    int c = accept4(l, NULL, NULL, SOCK_CLOEXEC), one = 1;
    if (c < 0)
        die("accept");
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (read(c, buf, sizeof buf) <= 0)
        die("token");
    return c;
}

/* ---- processes ---------------------------------------------------------- */

struct child {
    pid_t pid;
    int in_w;  /* its stdin; closing it ends bench_host */
    int out_r; /* its stdout */
};

/* Starts argv with stdin and stdout piped (or shared, when given), report pipe on
 * BENCH_FD, and preload (may be NULL) in LD_PRELOAD. */
static struct child spawn(const char *const argv[], const char *preload, int port, int with_token, int report_w,
                          const char *const extra[], int shared_in, int shared_out)
{
    char e_port[32], e_fd[32], e_pre[512];
    const char *envp[24];
    size_t n = 0;
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    snprintf(e_port, sizeof e_port, "TOKI_PORT=%d", port);
    envp[n++] = e_port;
    if (with_token)
        envp[n++] = "TOKI_TOKEN=" TOKEN;
    snprintf(e_fd, sizeof e_fd, "BENCH_FD=%d", report_w);
    envp[n++] = e_fd;
    if (preload) {
        snprintf(e_pre, sizeof e_pre, "LD_PRELOAD=%s", preload);
        envp[n++] = e_pre;
    }
    for (size_t i = 0; extra && extra[i] && n < 22; i++)
        envp[n++] = extra[i];
    envp[n] = NULL;

    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (shared_in < 0 && pipe2(in, O_CLOEXEC))
        die("pipe");
    if (shared_out < 0 && pipe2(out, O_CLOEXEC))
        die("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, shared_in >= 0 ? shared_in : in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, shared_out >= 0 ? shared_out : out[1], 1);
    if (report_w >= 0)
        posix_spawn_file_actions_adddup2(&fa, report_w, report_w); /* clears close-on-exec */
    struct child c = {0, in[1], out[0]};
    if (posix_spawn(&c.pid, argv[0], &fa, NULL, (char *const *)argv, (char *const *)envp) != 0)
        die(argv[0]);
    posix_spawn_file_actions_destroy(&fa);
    if (in[0] >= 0)
        close(in[0]);
    if (out[1] >= 0)
        close(out[1]);
    return c;
}

static void reap(struct child *c)
{
    if (c->in_w >= 0)
        close(c->in_w);
    if (c->out_r >= 0)
        close(c->out_r);
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
}

static void read_exact(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            die("read");
        p += r;
        n -= (size_t)r;
    }
}

/* ---- 1. process start ----------------------------------------------------- */

static int accept_all_listener;
static void *accept_all(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept4(accept_all_listener, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0 && errno != EINTR && errno != ECONNABORTED)
            return NULL; /* kept open: an idle Toki keeps its clients */
    }
}

/* One start of /bin/true: its wall time in microseconds, and its CPU time (all its
 * threads, user and system, from wait4) added to *cpu_us. */
static double start_once(const char *preload, int port, int token, const char *const extra[], double *cpu_us)
{
    const char *argv[] = {"/bin/true", NULL};
    struct rusage ru;
    int64_t t0 = now_ns();
    struct child c = spawn(argv, preload, port, token, -1, extra, -1, -1);
    close(c.in_w);
    close(c.out_r);
    if (wait4(c.pid, NULL, 0, &ru) < 0)
        die("wait4");
    *cpu_us += ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
    return (double)(now_ns() - t0) / 1000.0;
}

/* The median over rounds of the per-round ratio a/b: a round's noise falls on both. */
static double ratio(const double *a, const double *b, int rounds)
{
    double r[64];
    for (int i = 0; i < rounds && i < 64; i++)
        r[i] = a[i] / b[i];
    return median(r, (size_t)rounds);
}

static void bench_start(void)
{
    /* BENCH_OTHER_SHIM=path adds another build of the library, active, to the
     * rounds: two builds compared in one run, against the same floor. */
    const char *other = getenv("BENCH_OTHER_SHIM");
    enum { ROUNDS = 20, PER = 100, KMAX = 7 };
    const int K = other ? 7 : 6;
    int port;
    accept_all_listener = listen_on(0, &port);
    pthread_t t;
    pthread_create(&t, NULL, accept_all, NULL);
    /* The fifth: a program that the service (this benchmark, by its role) started.
     * The sixth: the physical floor of this design, a preload whose constructor
     * starts one idle thread. */
    char role[48];
    snprintf(role, sizeof role, "TOKI_SHIM_ROLE=%ld:h", (long)getpid());
    const char *const child_env[] = {role, NULL};
    const char *pre[KMAX] = {NULL, DIR_ "empty.so", SHIM, SHIM, SHIM, DIR_ "thread_floor.so", other};
    const int tok[KMAX] = {0, 0, 0, 1, 1, 0, 1};
    const char *const *extra[KMAX] = {NULL, NULL, NULL, NULL, child_env, NULL, NULL};
    static double v[KMAX][ROUNDS], cpu[KMAX][ROUNDS];
    /* Interleaved start by start: the machine's noise, even a burst shorter than a
     * round, falls on every configuration alike. */
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < PER; i++)
            for (int k = 0; k < K; k++)
                v[k][r] += start_once(pre[k], port, tok[k], extra[k], &cpu[k][r]) / PER;
    double m[KMAX], c[KMAX], rw[KMAX], rc[KMAX];
    for (int k = 0; k < K; k++)
        for (int r = 0; r < ROUNDS; r++)
            cpu[k][r] /= PER;
    for (int k = 0; k < K; k++) {
        int floor = k == 3 || k == 6 ? 5 : 1;
        rw[k] = ratio(v[k], v[floor], ROUNDS);
        rc[k] = ratio(cpu[k], cpu[floor], ROUNDS);
    }
    for (int k = 0; k < K; k++) {
        m[k] = median(v[k], ROUNDS); /* sorts: after the ratios */
        c[k] = median(cpu[k], ROUNDS);
    }
    printf("\n1. Process start (/bin/true, %d starts each, interleaved one by one; medians of %d rounds,\n"
           "   ratios are the median of the rounds' ratios)\n", ROUNDS * PER, ROUNDS);
    figure("start.no_preload_us", m[0], "us", NULL);
    figure("start.empty_so_us", m[1], "us", "the floor of LD_PRELOAD");
    figure("start.thread_floor_us", m[5], "us", "a preload whose constructor starts one idle thread");
    figure("start.shim_inert_us", m[2], "us", "no TOKI_TOKEN");
    figure("start.shim_active_us", m[3], "us", "the service: holds the listener");
    figure("start.shim_service_child_us", m[4], "us", "started by the service: inert");
    figure("start.ratio_inert_to_empty", rw[2], "x", "goal <= 1.02");
    figure("start.ratio_active_to_thread_floor", rw[3], "x", "goal <= 1.05");
    figure("start.ratio_service_child_to_empty", rw[4], "x", "goal <= 1.02");
    figure("start.cpu.empty_so_us", c[1], "us", "CPU time of the process, all threads (wait4)");
    figure("start.cpu.thread_floor_us", c[5], "us", NULL);
    figure("start.cpu.shim_active_us", c[3], "us", NULL);
    figure("start.cpu.ratio_inert_to_empty", rc[2], "x", NULL);
    figure("start.cpu.ratio_active_to_thread_floor", rc[3], "x", NULL);
    figure("start.cpu.ratio_service_child_to_empty", rc[4], "x", NULL);
    if (other) {
        figure("start.other_active_us", m[6], "us", other);
        figure("start.other.ratio_active_to_thread_floor", rw[6], "x", NULL);
        figure("start.other.cpu.ratio_active_to_thread_floor", rc[6], "x", NULL);
    }
}

/* ---- 8. a script of short commands ---------------------------------------- */

/* Connections the server sees from a shell script that runs 1000 short commands
 * under the shim, with the default scope and with TOKI_SHIM_INHERIT=all. */
static int script_connections(const char *inherit, const char *settle)
{
    int port, l = listen_on(0, &port), n = 0;
    const char *argv[] = {"/bin/sh", "-c",
                          "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done", NULL};
    const char *const extra[] = {inherit, settle, NULL};
    struct child c = spawn(argv, SHIM, port, 1, -1, extra, -1, -1);
    close(c.in_w);
    close(c.out_r);
    waitpid(c.pid, NULL, 0);
    /* Whatever connected meanwhile is queued on the listener; a connection that a
     * holder makes after its settle delay comes within a second. */
    for (;;) {
        struct pollfd p = {.fd = l, .events = POLLIN};
        if (poll(&p, 1, 1500) <= 0)
            break;
        int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            n++;
            close(fd);
        }
    }
    close(l);
    return n;
}

static void bench_script(void)
{
    printf("\n8. A shell script of 1000 short commands (/bin/true) under the shim\n");
    figure("script.connections", script_connections("TOKI_SHIM_INHERIT=1", NULL), "",
           "default scope: the shell only, once it has lived TOKI_SHIM_SETTLE_MS");
    figure("script.connections_before", script_connections("TOKI_SHIM_INHERIT=all", "TOKI_SHIM_SETTLE_MS=0"),
           "", "every process a client at once, as before scopes and settling");
}

/* ---- 2. latency ------------------------------------------------------------ */

struct lat {
    const char *name;
    int64_t *v;
    size_t n;
};

/* Sends n events to one client, each after the previous was reported, and records
 * server-write-to-report times. */
static void measure(struct lat *out, const char *const argv[], const char *preload, const char *const extra[], int n,
                    int wait_ready)
{
    int port, rep[2];
    int l = listen_on(0, &port);
    if (pipe2(rep, O_CLOEXEC))
        die("pipe");
    struct child c = spawn(argv, preload, port, 1, rep[1], extra, -1, -1);
    int s = accept_client(l);
    char r;
    if (wait_ready)
        read_exact(c.out_r, &r, 1);
    usleep(20000); /* let the listener settle into recv() */
    out->v = realloc(out->v, (out->n + (size_t)n) * sizeof *out->v);
    for (int i = 0; i < n; i++) {
        int64_t t1, t0 = now_ns();
        if (write(s, "AUTH_REFRESHED\n", 15) != 15)
            die("write");
        read_exact(rep[0], &t1, sizeof t1);
        out->v[out->n++] = t1 - t0;
    }
    close(s);
    close(l);
    close(rep[0]);
    close(rep[1]);
    reap(&c);
}

static void stats(const struct lat *l, double *p50, double *p99, double *max)
{
    qsort(l->v, l->n, sizeof *l->v, cmp64);
    *p50 = (double)l->v[l->n / 2] / 1000.0;
    *p99 = (double)l->v[(size_t)((double)l->n * 0.99)] / 1000.0;
    *max = (double)l->v[l->n - 1] / 1000.0;
}

static void bench_latency(void)
{
    enum { N = 5000, REPS = 2 };
    const char *host[] = {DIR_ "bench_host", NULL};
    const char *floor_[] = {DIR_ "bench_floor", NULL};
    const char *hook_env[] = {"TOKI_SHIM_ACTION=hook", NULL};
    const char *sig_env[] = {"TOKI_SHIM_ACTION=signal", NULL};
    const char *nap_env[] = {"TOKI_SHIM_ACTION=signal", "BENCH_IDLE=nanosleep", NULL};
    const char *fd_env[] = {"TOKI_SHIM_ACTION=fd", "BENCH_EVENTFD=1", NULL};
    struct lat floor_l = {"floor", NULL, 0}, hook = {"hook", NULL, 0}, sig = {"signal", NULL, 0},
               efd = {"fd", NULL, 0}, nap = {"signal-nanosleep", NULL, 0};
    /* Alternated, in two halves, so that drift in the machine's load is shared. */
    for (int r = 0; r < REPS; r++) {
        measure(&floor_l, floor_, NULL, NULL, N, 0);
        measure(&hook, host, SHIM, hook_env, N, 1);
        measure(&sig, host, SHIM, sig_env, N, 1);
        measure(&nap, host, SHIM, nap_env, N, 1);
        measure(&efd, host, SHIM, fd_env, N, 1);
    }
    double f50, f99, fmax, h50, h99, hmax, s50, s99, smax, e50, e99, emax, n50, n99, nmax;
    stats(&floor_l, &f50, &f99, &fmax);
    stats(&hook, &h50, &h99, &hmax);
    stats(&sig, &s50, &s99, &smax);
    stats(&efd, &e50, &e99, &emax);
    stats(&nap, &n50, &n99, &nmax);
    printf("\n2. Event latency, server write to first instruction of the handler (%d events each)\n", N * REPS);
    figure("latency.floor_p50_us", f50, "us", "bare client: blocking recv");
    figure("latency.floor_p99_us", f99, "us", NULL);
    figure("latency.floor_max_us", fmax, "us", NULL);
    figure("latency.hook_p50_us", h50, "us", NULL);
    figure("latency.hook_p99_us", h99, "us", NULL);
    figure("latency.hook_max_us", hmax, "us", NULL);
    figure("latency.signal_p50_us", s50, "us", NULL);
    figure("latency.signal_p99_us", s99, "us", NULL);
    figure("latency.signal_max_us", smax, "us", NULL);
    figure("latency.signal_nanosleep_p50_us", n50, "us", "the same host idling in nanosleep, not read");
    figure("latency.signal_nanosleep_p99_us", n99, "us", NULL);
    figure("latency.signal_nanosleep_max_us", nmax, "us", NULL);
    figure("latency.eventfd_p50_us", e50, "us", "poll() on toki_shim_event_fd() in the main thread");
    figure("latency.eventfd_p99_us", e99, "us", NULL);
    figure("latency.eventfd_max_us", emax, "us", NULL);
    figure("latency.hook_p50_ratio", h50 / f50, "x", "goal <= 1.3");
    figure("latency.hook_p99_ratio", h99 / f99, "x", "goal <= 1.5");
    figure("latency.signal_p50_ratio", s50 / f50, "x", "goal <= 2.5");
    figure("latency.signal_p99_ratio", s99 / f99, "x", "goal <= 3");
    figure("latency.signal_nanosleep_p50_ratio", n50 / f50, "x", NULL);
    figure("latency.signal_nanosleep_p99_ratio", n99 / f99, "x", NULL);
    figure("latency.eventfd_p50_ratio", e50 / f50, "x", NULL);
    figure("latency.eventfd_p99_ratio", e99 / f99, "x", NULL);
    if (access("/usr/bin/python3", X_OK) == 0) {
        const char *py[] = {"/usr/bin/python3", BUILD_DIR "/../tests/bench/ref_client.py", NULL};
        struct lat ref = {"python", NULL, 0};
        measure(&ref, py, NULL, NULL, N, 0);
        double r50, r99, rmax;
        stats(&ref, &r50, &r99, &rmax);
        figure("latency.python_reference_p50_us", r50, "us", "asyncio thread, one read per event");
        figure("latency.python_reference_p99_us", r99, "us", NULL);
        figure("latency.python_reference_p50_vs_hook", r50 / h50, "x", "times slower than the hook");
        free(ref.v);
    }
    free(floor_l.v);
    free(hook.v);
    free(sig.v);
    free(efd.v);
    free(nap.v);
}

/* ---- 3. fan-out ------------------------------------------------------------ */

static void bench_fanout(int n)
{
    int port, rep[2], in[2], out[2];
    int l = listen_on(0, &port);
    if (pipe2(rep, O_CLOEXEC) || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
        die("pipe");
    fcntl(rep[0], F_SETPIPE_SZ, 1 << 20);
    const char *host[] = {DIR_ "bench_host", NULL};
    const char *env[] = {"TOKI_SHIM_ACTION=hook", NULL};
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    int *socks = calloc((size_t)n, sizeof *socks);
    for (int i = 0; i < n; i++)
        pids[i] = spawn(host, SHIM, port, 1, rep[1], env, in[0], out[1]).pid;
    for (int i = 0; i < n; i++)
        socks[i] = accept_client(l);
    char *ready = malloc((size_t)n);
    read_exact(out[0], ready, (size_t)n);
    usleep(200000);
    int64_t t0 = now_ns(), last = 0, t;
    for (int i = 0; i < n; i++)
        if (write(socks[i], "AUTH_REFRESHED\n", 15) != 15)
            die("write");
    int64_t written = now_ns();
    for (int i = 0; i < n; i++) {
        read_exact(rep[0], &t, sizeof t);
        last = t > last ? t : last;
    }
    char key[64];
    if (n == 500)
        printf("\n3. Fan-out: one broadcast to N shimmed processes, until the last hook ran\n");
    snprintf(key, sizeof key, "fanout.%d_last_hook_ms", n);
    figure(key, (double)(last - t0) / 1e6, "ms", n == 500 ? "goal < 50 ms" : NULL);
    snprintf(key, sizeof key, "fanout.%d_server_writes_ms", n);
    figure(key, (double)(written - t0) / 1e6, "ms", "of which the server's own writes");
    close(in[1]);
    for (int i = 0; i < n; i++) {
        kill(pids[i], SIGKILL);
        close(socks[i]);
    }
    for (int i = 0; i < n; i++)
        waitpid(pids[i], NULL, 0);
    close(in[0]);
    close(out[0]);
    close(out[1]);
    close(rep[0]);
    close(rep[1]);
    close(l);
    free(pids);
    free(socks);
    free(ready);
}

/* ---- 4 and 5. idle cost and memory ----------------------------------------- */

/* The listener's tid: the task named "toki-shim". */
static int listener_tid(pid_t pid)
{
    char path[320], name[32];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    int tid = -1;
    while (d && (e = readdir(d))) {
        snprintf(path, sizeof path, "/proc/%d/task/%s/comm", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(name, sizeof name, f) && strncmp(name, "toki-shim", 9) == 0)
            tid = atoi(e->d_name);
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return tid;
}

static long status_field(const char *path, const char *field)
{
    char line[256];
    long v = -1;
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, strlen(field)) == 0)
            v = strtol(line + strlen(field), NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static void thread_usage(pid_t pid, int tid, long *switches, long *ticks)
{
    char path[96], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, tid);
    *switches = status_field(path, "voluntary_ctxt_switches:") + status_field(path, "nonvoluntary_ctxt_switches:");
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, tid);
    FILE *f = fopen(path, "r");
    *ticks = 0;
    if (f && fgets(buf, sizeof buf, f)) {
        char *p = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            *ticks = (long)(ut + st);
    }
    if (f)
        fclose(f);
}

static void bench_idle_and_memory(void)
{
    const char *host[] = {DIR_ "bench_host", NULL};
    int port, l = listen_on(0, &port);
    struct child c = spawn(host, SHIM, port, 1, -1, NULL, -1, -1);
    int s = accept_client(l);
    char r;
    read_exact(c.out_r, &r, 1);
    usleep(100000);
    int tid = listener_tid(c.pid);
    long sw0, t0, sw1, t1;
    thread_usage(c.pid, tid, &sw0, &t0);
    sleep(10);
    thread_usage(c.pid, tid, &sw1, &t1);
    printf("\n4. Idle cost of the listener thread over 10 s, after the connect\n");
    figure("idle.context_switches", (double)(sw1 - sw0), "", "goal 0");
    figure("idle.cpu_ticks", (double)(t1 - t0), "ticks", "goal 0");

    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)c.pid);
    double rss_active = (double)status_field(path, "VmRSS:"), vsz_active = (double)status_field(path, "VmSize:");
    double anon_active = (double)status_field(path, "RssAnon:");
    reap(&c);
    close(s);
    const char *pre[2] = {NULL, SHIM};
    double rss[2], vsz[2], anon[2];
    for (int k = 0; k < 2; k++) {
        struct child d = spawn(host, pre[k], port, 0, -1, NULL, -1, -1);
        read_exact(d.out_r, &r, 1);
        snprintf(path, sizeof path, "/proc/%d/status", (int)d.pid);
        rss[k] = (double)status_field(path, "VmRSS:");
        anon[k] = (double)status_field(path, "RssAnon:");
        vsz[k] = (double)status_field(path, "VmSize:");
        reap(&d);
    }
    close(l);
    struct stat st;
    stat(SHIM, &st);
    printf("\n5. Memory of a small host (bench_host)\n");
    figure("memory.rss_no_preload_kib", rss[0], "KiB", NULL);
    figure("memory.rss_inert_kib", rss[1], "KiB", NULL);
    figure("memory.rss_active_kib", rss_active, "KiB", NULL);
    figure("memory.rss_active_added_kib", rss_active - rss[0], "KiB", "mostly libc pages shared with every process");
    figure("memory.private_no_preload_kib", anon[0], "KiB", "RssAnon");
    figure("memory.private_inert_added_kib", anon[1] - anon[0], "KiB", NULL);
    figure("memory.private_active_added_kib", anon_active - anon[0], "KiB", "goal < 100");
    figure("memory.vsz_no_preload_kib", vsz[0], "KiB", NULL);
    figure("memory.vsz_active_kib", vsz_active, "KiB", "includes the listener's 256 KiB stack");
    figure("memory.listener_stack_kib", 256, "KiB", "TOKI_SHIM_STACK_KB default; virtual until touched");
    figure("memory.so_size_kib", (double)st.st_size / 1024, "KiB", "libtoki_shim.so with debug info");
}

/* ---- 6. wrapper cost --------------------------------------------------------- */

static void bench_ops(void)
{
    enum { RUNS = 7 };
    double c[2][RUNS], d[2][RUNS];
    const char *argv[] = {DIR_ "bench_ops", NULL};
    const char *pre[2] = {NULL, SHIM};
    for (int i = 0; i < RUNS; i++)
        for (int k = 0; k < 2; k++) {
            struct child ch = spawn(argv, pre[k], 1, 0, -1, NULL, -1, -1);
            char buf[64] = "";
            close(ch.in_w);
            ch.in_w = -1;
            ssize_t n = read(ch.out_r, buf, sizeof buf - 1);
            buf[n > 0 ? n : 0] = '\0';
            sscanf(buf, "%lf %lf", &c[k][i], &d[k][i]);
            reap(&ch);
        }
    double c0 = median(c[0], RUNS), c1 = median(c[1], RUNS), d0 = median(d[0], RUNS), d1 = median(d[1], RUNS);
    printf("\n6. Cost of the wrapped calls (median of %d runs of 2,000,000 calls)\n", RUNS);
    figure("wrap.close_badfd_ns", c0, "ns", "without the shim");
    figure("wrap.close_badfd_shim_ns", c1, "ns", "with it");
    figure("wrap.close_added_ns", c1 - c0, "ns", "goal < 2");
    figure("wrap.dup2_ns", d0, "ns", "without the shim");
    figure("wrap.dup2_shim_ns", d1, "ns", "with it");
    figure("wrap.dup2_added_ns", d1 - d0, "ns", "goal < 2");
    /* Time on this VM wanders by several ns around a ~150 ns syscall; instructions
     * do not. Counted where valgrind is installed. */
    if (access("/usr/bin/valgrind", X_OK) == 0) {
        const char *ops[2] = {"close", "dup2"};
        for (int o = 0; o < 2; o++) {
            double ins[2][2];
            for (int k = 0; k < 2; k++)
                for (int half = 0; half < 2; half++) {
                    char cmd[512], line[256];
                    snprintf(cmd, sizeof cmd,
                             "%s%s valgrind --tool=callgrind --callgrind-out-file=/dev/null "
                             DIR_ "bench_ops %s %d 2>&1", k ? "LD_PRELOAD=" : "", k ? SHIM : "", ops[o],
                             half ? 200000 : 100000);
                    FILE *p = popen(cmd, "r");
                    ins[k][half] = 0;
                    while (p && fgets(line, sizeof line, p)) {
                        char *at = strstr(line, "Collected : ");
                        if (at)
                            ins[k][half] = strtod(at + 12, NULL);
                    }
                    if (p)
                        pclose(p);
                }
            /* The difference of two run lengths cancels the start-up cost. */
            double per0 = (ins[0][1] - ins[0][0]) / 100000, per1 = (ins[1][1] - ins[1][0]) / 100000;
            char key[64];
            snprintf(key, sizeof key, "wrap.%s_instructions_added", ops[o]);
            figure(key, per1 - per0, "instr", "per call, user space, callgrind");
        }
    }
}

/* ---- 7. reconnect -------------------------------------------------------------- */

static void bench_reconnect(void)
{
    char log[] = "/tmp/toki-bench-XXXXXX", env_log[96], line[512];
    int fd = mkstemp(log);
    close(fd);
    snprintf(env_log, sizeof env_log, "TOKI_SHIM_LOG_FILE=%s", log);
    const char *env[] = {"TOKI_SHIM_LOG=debug", env_log, NULL};
    const char *host[] = {DIR_ "bench_host", NULL};
    int port, rep[2];
    if (pipe2(rep, O_CLOEXEC))
        die("pipe");
    int l = listen_on(0, &port);
    struct child c = spawn(host, SHIM, port, 1, rep[1], env, -1, -1);
    int s = accept_client(l);
    char r;
    read_exact(c.out_r, &r, 1);
    close(s); /* the server goes away for 10 s */
    close(l);
    sleep(10);
    int attempts = 0;
    FILE *f = fopen(log, "r");
    while (f && fgets(line, sizeof line, f))
        attempts += strstr(line, "no connection to Toki") != NULL;
    if (f)
        fclose(f);
    int64_t restart = now_ns(), t1;
    l = listen_on(port, &port);
    s = accept_client(l);
    if (write(s, "AUTH_REFRESHED\n", 15) != 15)
        die("write");
    read_exact(rep[0], &t1, sizeof t1);
    printf("\n7. Reconnect with the default backoff (cap 30 s): server down 10 s, then back\n");
    figure("reconnect.attempts_while_down", attempts, "", "connection attempts in 10 s");
    figure("reconnect.restart_to_event_ms", (double)(t1 - restart) / 1e6, "ms", "server back to first event handled");
    reap(&c);
    close(s);
    close(l);
    close(rep[0]);
    close(rep[1]);
    unlink(log);
}

/* ---- 9. the peer check against the host's sockets ----------------------- */

/* bench_peer calls the peer check itself (it links the common archive), with 0,
 * 10,000 and 100,000 other sockets on the machine; its lines are figures. */
static void bench_peer(void)
{
    printf("\n9. Peer check, median of one call, with other TCP sockets on the machine\n");
    FILE *f = popen(DIR_ "bench_peer", "r");
    char l[256];
    while (f && fgets(l, sizeof l, f)) {
        char key[64], unit[8], note[128] = "";
        double v;
        if (sscanf(l, "%63[^\t]\t%lf\t%7[^\t]\t%127[^\n]", key, &v, unit, note) >= 3)
            figure(key, v, unit, note[0] ? note : NULL);
    }
    if (!f || pclose(f) != 0)
        printf("  (bench_peer failed: see its message above)\n");
}

int main(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    signal(SIGPIPE, SIG_IGN);
    const char *path = getenv("BENCH_JSON");
    if (path && !(json = fopen(path, "w")))
        die(path);
    if (json)
        fprintf(json, "{");
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("toki-shim benchmark: %ld cores; every figure from this run, on this machine\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    /* BENCH_ONLY=25 runs parts 2 and 5, for a quick look at one change. */
    const char *only = getenv("BENCH_ONLY");
#define PART(c) (!only || strchr(only, c))
    if (PART('1'))
        bench_start();
    if (PART('2'))
        bench_latency();
    if (PART('3')) {
        bench_fanout(500);
        bench_fanout(2000);
    }
    if (PART('4') || PART('5'))
        bench_idle_and_memory();
    if (PART('6'))
        bench_ops();
    if (PART('7'))
        bench_reconnect();
    if (PART('8'))
        bench_script();
    if (PART('9'))
        bench_peer();
    if (json) {
        fprintf(json, "\n}\n");
        fclose(json);
    }
    return 0;
}
