/* test_libc.c: `toki-shim run` with the build under test (glibc's, or musl's in check-musl), and its refusal to mix the two libcs. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

TestSuite(libc, .fini = h_fini, .timeout = 120);

/* A program linked with the other libc than the build under test: the plain
 * build's musl host, or, when check-musl names the musl build, the plain build's
 * own (glibc) host. */
static const char *other_libc_host(const char **libc)
{
    if (strcmp(h_build_dir(), BUILD_DIR) != 0) {
        *libc = "glibc";
        return H_HOST("host_hook");
    }
    if (access(H_HOST("host_musl"), X_OK) != 0)
        cr_skip_test("no musl host to run: musl-gcc is not installed");
    *libc = "musl";
    return H_HOST("host_musl");
}

Test(libc, run_refuses_a_program_of_the_other_libc_with_one_line)
{
    const char *libc, *prog = other_libc_host(&libc);
    const char *argv[] = {h_built("toki-shim"), "run", "--", prog, NULL};
    h_spawn(&h_host, (char *const *)argv, NULL, 0);
    h_close_stdin(&h_host);
    int st = h_wait(&h_host, H_WAIT_MS);
    const char *err = h_host.err.data ? h_host.err.data : "";
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 126, "status %d: %s", st, err);
    /* One line, the command's own; nothing from the loader, and the program never ran. */
    cr_assert_eq(strncmp(err, "toki-shim run: ", 15), 0, "%s", err);
    cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "more than one line: %s", err);
    char want[64];
    snprintf(want, sizeof want, "is a %s program", libc);
    cr_assert_not_null(strstr(err, want), "%s", err);
    cr_assert_not_null(strstr(err, "run it with a toki-shim built for"), "%s", err);
    cr_assert_eq(h_host.out.len, 0, "the program ran: %s", h_host.out.data);
}

/* musl passes main the array the kernel gave, which a role added to the
 * environment by the constructor leaves behind: a child started with main's envp
 * would not know the service's role, and listen too. */
Test(libc, main_gets_the_environment_with_the_role)
{
    h_start_server(NULL);
    const char *argv[] = {h_host_path("host_probe"), NULL};
    h_start_host_ready(argv, 1, 1, "ready", NULL);
    h_write(&h_host, "envp\n");
    char want[64];
    snprintf(want, sizeof want, "envp role %d:h pid %d\n", (int)h_host.pid, (int)h_host.pid);
    cr_assert_eq(h_expect(&h_host, &h_host.out, want, H_WAIT_MS), 0, "%s", h_host.out.data);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0, "%s", h_host.err.data);
}

Test(libc, run_preloads_the_library_into_a_program_of_its_own_libc)
{
    h_start_server(NULL);
    const char *argv[] = {h_built("toki-shim"), "run", "--", h_host_path("host_hook"), NULL};
    const char *env[] = {h_env_port, h_env_token, h_preload_first(), NULL};
    h_start_host(argv, env, 0, 1);
    h_send_events(2);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 2\n", H_WAIT_MS), 0, "%s", h_host.err.data);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(h_host.err.len, 0, "stderr: %s", h_host.err.data);
}
