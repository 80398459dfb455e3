/* host_counter.c: linked with -ltoki_shim: polls the generation counter from its main loop, and reports the status. */
/* SPDX-License-Identifier: MIT */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "toki_shim.h"

int main(void)
{
    unsigned long seen = toki_shim_generation();
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        /* The main loop does its own work; 10 ms is its tick. */
        struct pollfd p = {.fd = 0, .events = POLLIN};
        if (poll(&p, 1, 10) > 0) {
            char buf[64];
            if (read(0, buf, sizeof buf) <= 0)
                break;
        }
        unsigned long g = toki_shim_generation();
        if (g != seen) {
            seen = g;
            printf("generation %lu\n", g);
            fflush(stdout);
        }
    }
    struct toki_shim_status s = {.size = sizeof s};
    if (toki_shim_status(&s) != 0) {
        printf("status failed\n");
        return 1;
    }
    printf("status version=%u active=%d connected=%d generation=%lu events=%lu actions=%lu "
           "reconnects=%lu error=%s\n", s.version, s.active, s.connected, s.generation, s.events,
           s.actions, s.reconnects, s.last_error ? s.last_error : "none");
    return 0;
}
