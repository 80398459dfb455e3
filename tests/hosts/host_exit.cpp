// host_exit.cpp: a hook that uses a global with a destructor, and a main that exits while events arrive.
// SPDX-License-Identifier: MIT
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "toki_shim.h"

static std::atomic<int> destroyed;
static std::atomic<int> seen;

struct Registry {
    std::vector<std::string> names{"a", "b", "c"};
    // A teardown that takes a while, as real ones do (flushing, joining), so that
    // an unguarded hook would surely land in it.
    ~Registry()
    {
        destroyed = 1;
        usleep(3000);
    }
};
static Registry registry;

void toki_on_refresh(void)
{
    if (destroyed) {
        static const char msg[] = "HOOK AFTER DESTRUCTOR\n";
        write(2, msg, sizeof msg - 1);
        abort();
    }
    registry.names.push_back("refresh");
    registry.names.erase(registry.names.begin());
    seen++;
}

int main(int argc, char **argv)
{
    // Leave as soon as the hook has run once, while the next events are coming.
    while (!seen)
        usleep(100);
    if (argc > 1 && std::strcmp(argv[1], "exit") == 0)
        std::exit(0);
    return 0;
}
