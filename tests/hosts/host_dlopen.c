/* host_dlopen.c: loads the plugin named in argv[1] with RTLD_GLOBAL when stdin says "load". */
/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    char line[64];
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("ready\n");
    while (argc > 1 && fgets(line, sizeof line, stdin)) {
        if (strcmp(line, "load\n") != 0)
            continue;
        void *h = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
        printf(h ? "loaded\n" : "dlopen failed: %s\n", dlerror());
    }
    return 0;
}
