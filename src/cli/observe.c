/* observe.c: reads another process's signal masks, descriptors and maps from /proc. */
/* SPDX-License-Identifier: MIT */
#include "observe.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/elf.h"

/* Reads a whole /proc file; returns its length, or -1. */
long tshim_observe_slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

/* 1 if pid has a handler for signo (the SigCgt mask of /proc/PID/status). */
int tshim_observe_caught(long pid, int signo)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if (tshim_observe_slurp(path, buf, sizeof buf) < 0)
        return 0;
    const char *p = strstr(buf, "SigCgt:");
    unsigned long long mask = p ? strtoull(p + 7, NULL, 16) : 0;
    return (int)((mask >> (signo - 1)) & 1);
}

/* 1 if every thread of pid blocks signo (SigBlk) and one of its descriptors is a
 * signalfd for it (sigmask in fdinfo): the library then sends the signal. (A
 * thread in sigwait is seen by the library, not from outside.) */
int tshim_observe_takes_blocked(long pid, int signo)
{
    char path[96], buf[8192];
    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    DIR *d = opendir(path);
    int all = d != NULL, taken = 0;
    for (struct dirent *e; all && d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%ld/task/%.20s/status", pid, e->d_name);
        if (tshim_observe_slurp(path, buf, sizeof buf) < 0)
            continue;
        /* The shim's own thread blocks everything; it is not the program's. */
        if (strstr(buf, "Name:\ttoki-shim\n"))
            continue;
        const char *m = strstr(buf, "\nSigBlk:");
        all = m && (strtoull(m + 8, NULL, 16) >> (signo - 1)) & 1;
    }
    if (d)
        closedir(d);
    snprintf(path, sizeof path, "/proc/%ld/fdinfo", pid);
    d = all ? opendir(path) : NULL;
    for (struct dirent *e; d && !taken && (e = readdir(d));) {
        snprintf(path, sizeof path, "/proc/%ld/fdinfo/%.20s", pid, e->d_name);
        if (e->d_name[0] == '.' || tshim_observe_slurp(path, buf, sizeof buf) < 0)
            continue;
        const char *m = strstr(buf, "\nsigmask:");
        taken = m && (strtoull(m + 9, NULL, 16) >> (signo - 1)) & 1;
    }
    if (d)
        closedir(d);
    return all && taken;
}

int tshim_observe_jvm(long pid)
{
    char path[64], line[4096];
    int jvm = 0;
    snprintf(path, sizeof path, "/proc/%ld/maps", pid);
    FILE *f = fopen(path, "re");
    while (f && !jvm && fgets(line, sizeof line, f))
        jvm = tshim_elf_names_jvm(line);
    if (f)
        fclose(f);
    return jvm;
}
