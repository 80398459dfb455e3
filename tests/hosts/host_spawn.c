/* host_spawn.c: a service that starts the program in its arguments, reports when it ended, and waits for stdin to close. */
/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    write(1, "ready\n", 6);
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    write(1, "child ended\n", 12);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    return 0;
}
