/* proc_count.h: counts a process's own threads and sockets from /proc/self, for test hosts. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_PROC_COUNT_H
#define TSHIM_PROC_COUNT_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Entries of dir; with sockets_only, only the fds that are sockets. */
static inline int proc_count(const char *dir, int sockets_only)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (sockets_only) {
            char path[300], target[300];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            ssize_t len = readlink(path, target, sizeof target - 1);
            if (len <= 0)
                continue;
            target[len] = '\0';
            if (strncmp(target, "socket:", 7) != 0)
                continue;
        }
        n++;
    }
    closedir(d);
    return n;
}

#endif
