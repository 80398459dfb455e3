#!/usr/bin/env python3
"""python_service.py: a Python service that reloads on SIGHUP; run it with `toki-shim run`."""
# SPDX-License-Identifier: MIT
import os
import signal
import sys


def main():
    # Python runs a signal handler in the main thread, between bytecodes: a signal
    # that lands just as a blocking call starts would wait until that call returns.
    # The wakeup fd gets one byte per signal from the C-level handler, whenever the
    # signal lands, so a read of it never misses one.
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_w, False)
    signal.set_wakeup_fd(wakeup_w)
    # A handler must be installed (it may do nothing): without one SIGHUP would end
    # the process, and toki-shim would not send it.
    signal.signal(signal.SIGHUP, lambda signum, frame: None)
    print("python_service: started", flush=True)
    generation = 0
    while True:
        for signum in os.read(wakeup_r, 512):
            if signum == signal.SIGHUP:
                generation += 1
                print(f"python_service: reloaded credentials (#{generation})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
