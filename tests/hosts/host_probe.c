/* host_probe.c: reports its own threads and sockets (from /proc/self) for each line on stdin. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int count_entries(const char *dir, int sockets_only)
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

int main(void)
{
    char line[256];
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("ready\n");
    while (fgets(line, sizeof line, stdin))
        printf("tasks %d sockets %d\n", count_entries("/proc/self/task", 0),
               count_entries("/proc/self/fd", 1));
    return 0;
}
