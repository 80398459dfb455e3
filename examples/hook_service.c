/* hook_service.c: a program that defines toki_on_refresh; build it with -rdynamic. */
/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include <toki_shim.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int refreshes;

/* Runs on the shim's thread: share state with the program under a lock. */
void toki_on_refresh(void)
{
    pthread_mutex_lock(&lock);
    refreshes++;
    printf("hook_service: toki_on_refresh called (#%d): fetching new credentials\n", refreshes);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
}

int main(void)
{
    printf("hook_service: started\n");
    fflush(stdout);
    for (;;)
        pause();
}
