/* harness.h: integration-test helpers: child processes with piped output, and toki-shim serve. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_HARNESS_H
#define TSHIM_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

/* Generous: CI is a noisy two-core machine, and a wait only costs time when a test fails. */
#define H_WAIT_MS 15000
#define H_TOKEN "0f8fad5b-d9cb-469f-a165-70867728950e"

/* Everything a child wrote on one stream, kept whole; cursor is where h_expect goes on. */
struct h_stream {
    int fd;
    char *data;
    size_t len, cap, cursor;
    int eof;
};

struct h_proc {
    pid_t pid;
    int pidfd;
    int in; /* the child's stdin, -1 once closed */
    struct h_stream out, err;
    int exited, status;
};

/* Starts argv[0] (a path) with stdin/stdout/stderr piped. The environment is the
 * test's own without TOKI_* and LD_PRELOAD, then env (NULL-terminated "K=V"), then
 * LD_PRELOAD with the shim if preload is set and env has no LD_PRELOAD of its own. */
void h_spawn(struct h_proc *p, char *const argv[], const char *const env[], int preload);

/* Waits until a complete line after the cursor contains needle, moves the cursor past
 * it and returns 0; -1 on timeout or end of stream. line (may be NULL) gets a copy. */
int h_expect(struct h_proc *p, struct h_stream *s, const char *needle, int timeout_ms);

/* Reads what is there within timeout_ms, then counts complete lines containing needle
 * in everything the stream ever said. */
int h_count(struct h_proc *p, struct h_stream *s, const char *needle, int timeout_ms);

/* Waits until n complete lines in everything the stream said contain needle;
 * returns how many there are (fewer than n on timeout or end of stream). */
int h_wait_count(struct h_proc *p, struct h_stream *s, const char *needle, int n, int timeout_ms);

/* Moves whatever the child has written into the stream buffers; waits up to
 * timeout_ms for something to arrive (0: only what is there). */
void h_pump(struct h_proc *p, int timeout_ms);

void h_write(struct h_proc *p, const char *text);
void h_close_stdin(struct h_proc *p);
/* Waits for the child to exit (collecting its output meanwhile); returns the wait
 * status, or -1 on timeout. */
int h_wait(struct h_proc *p, int timeout_ms);
/* 1 if the child has not exited. */
int h_alive(struct h_proc *p);
/* Each thread of the child: its state, signal masks and current system call, and
 * what each of its fds is, from /proc (for failure messages). */
const char *h_signals(struct h_proc *p);
/* SIGKILL and reap, if still there; frees the buffers. */
void h_stop(struct h_proc *p);

/* A port on 127.0.0.1 that nothing listens on: held, bound and not listening, until
 * h_release_port(port) or h_fini, so that connections to it are refused. */
int h_free_port(void);
void h_release_port(int port);

/* A port for a daemon that binds it later, itself: outside the kernel's ephemeral
 * range (which starts at 32768 here), so that no outgoing connection can take it
 * between this check and the daemon's bind. Free for TCP and UDP now. */
int h_daemon_port(void);

/* A bare TCP server on 127.0.0.1 for tests that must control every byte: listen,
 * then accept one client within timeout_ms and read its token (-1 if none came;
 * clients that hang up without a token are skipped). */
int h_raw_listen(int *port);
int h_raw_accept(int listener, int timeout_ms);
/* One write(2) of all of text: on loopback, one segment, which the shim reads at once. */
void h_raw_send(int conn, const char *text);

struct h_server {
    struct h_proc p;
    int port;
    char token[64];
};

/* Starts `toki-shim serve --port port --token H_TOKEN` plus extra arguments (NULL-
 * terminated) and waits for its TOKI_PORT line. port 0 picks a free one. */
void h_server_start(struct h_server *s, int port, const char *const extra[]);
/* Broadcasts: writes the text to the server's stdin. */
void h_server_send(struct h_server *s, const char *text);
/* The env entries TOKI_PORT=... and TOKI_TOKEN=... for a client of s. */
void h_server_env(struct h_server *s, char port[32], char token[96]);

/* The build under test: the library that h_spawn preloads, the command that
 * h_server_start runs, and the hosts of h_host. BUILD_DIR, the tree these tests
 * were built in, unless TOKI_TEST_BUILD_DIR names another: `make check-musl` runs
 * these glibc test programs against the musl build's library, command and hosts. */
const char *h_build_dir(void);
/* rel (e.g. "examples/epoll_service") in the build under test; the path stays
 * valid for the rest of the test. */
const char *h_built(const char *rel);
/* A host program of the build under test: h_built("tests/hosts/" name). */
const char *h_host_path(const char *name);
/* Skips the calling test when the build under test links another libc than the
 * system's programs (/bin/sh, /bin/sleep): its library cannot be preloaded there. */
void h_skip_unless_system_libc(void);

/* The usual cast of an integration test: one server and one host under the shim,
 * both stopped by h_fini (a TestSuite's .fini). H_HOST is the plain build's host,
 * a literal, for the suites that run with that build only. */
#define H_HOST(name) BUILD_DIR "/tests/hosts/" name
extern struct h_server h_srv;
extern struct h_proc h_host;
void h_fini(void);

/* h_srv's address for a client: "TOKI_PORT=..." and "TOKI_TOKEN=...", set by
 * h_start_server. */
extern char h_env_port[32], h_env_token[96];

/* Starts h_srv as h_server_start does (port 0) and sets h_env_port/h_env_token. */
void h_start_server(const char *const extra[]);

/* Starts argv as h_host, under the shim if preload is set, and waits until h_srv
 * has authenticated `clients` connections, so that events sent afterwards reach
 * them. env should hold h_env_port and h_env_token. */
void h_start_host(const char *const argv[], const char *const env[], int preload, int clients);

/* Waits until h_srv has authenticated n more clients: each wait, of up to
 * timeout_ms, moves past the next "authenticated" line on the server's stderr.
 * Returns how many came (n, or fewer on timeout or the server's end). */
int h_authenticated(int n, int timeout_ms);

/* h_authenticated, and fails the test if fewer than n came, saying whether the
 * host still runs and what it said on stderr. */
void h_expect_authenticated_within(int n, int timeout_ms);

/* h_expect_authenticated_within(n, H_WAIT_MS). */
void h_expect_authenticated(int n);

/* h_start_host with h_srv's address (h_env_port, h_env_token) and the "K=V"
 * variables that follow as the environment: the list ends at the first NULL, so a
 * NULL variable ends it early. Then, unless ready is NULL, waits for a line of the
 * host's stdout that contains ready (its handlers are in place) and moves past it. */
void h_start_host_ready(const char *const argv[], int preload, int clients, const char *ready, ...)
    __attribute__((sentinel));

/* Sends n events one at a time, each once the stream s of h_host shows seen one
 * more time (counted in all that the stream said). */
void h_send_each(int n, struct h_stream *s, const char *seen);

/* n lines of AUTH_REFRESHED into buf (as many as fit), NUL-terminated. */
void h_burst(char *buf, size_t size, int n);

/* Broadcasts n AUTH_REFRESHED events from h_srv in one write. */
void h_send_events(int n);

/* Copies the file from into to, with mode (a setuid copy of a host, for one). */
void h_copy(const char *from, const char *to, unsigned mode);

/* Waits until the file at path contains needle (a log file the shim writes);
 * returns 0, or -1 on timeout. */
int h_wait_file(const char *path, const char *needle, int timeout_ms);

/* What must already be in LD_PRELOAD for the children of `toki-shim run`:
 * "LD_PRELOAD=" and the sanitizer runtime in a sanitizer build (run appends the
 * shim after it), else NULL (an env list's end). */
const char *h_preload_first(void);

/* gcc 12's ASan allocator takes no lock around fork(): a child of a multithreaded
 * process may inherit it locked (held by any thread, ours or the host's) and hang in
 * its first malloc. glibc's malloc is fork-safe, so such tests run in the plain build
 * only; this skips the calling test under a preloaded sanitizer. */
void h_skip_fork_under_sanitizers(void);

/* Real runtimes and daemons (bash, Python, a JVM, nginx) run in the plain build only:
 * a preloaded sanitizer wraps their sigaction and signal delivery, and the test would
 * test that combination rather than the shim. */
void h_skip_under_sanitizers(void);

#endif
