#!/usr/bin/env python3
"""python_service.py: a Python service that reloads on SIGHUP; run it with `toki-shim run`."""
import signal
import sys
import threading

reload_requested = threading.Event()


def on_sighup(signum, frame):
    reload_requested.set()


def main():
    signal.signal(signal.SIGHUP, on_sighup)
    print("python_service: started", flush=True)
    generation = 0
    while True:
        reload_requested.wait()
        reload_requested.clear()
        generation += 1
        print(f"python_service: reloaded credentials (#{generation})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
