#!/usr/bin/env python3
"""asyncio_service.py: an asyncio service that watches the shim's event fd through ctypes."""
# SPDX-License-Identifier: MIT
import asyncio
import ctypes
import os
import sys


def toki_event_fd():
    """The shim's event fd, or None when the shim is not loaded or inert here."""
    me = ctypes.CDLL(None, use_errno=True)  # the global scope: LD_PRELOAD's symbols too
    try:
        event_fd = me.toki_shim_event_fd
    except AttributeError:
        return None, "toki-shim is not loaded"
    event_fd.restype = ctypes.c_int
    fd = event_fd()
    if fd < 0:
        return None, os.strerror(ctypes.get_errno())
    return fd, None


async def main():
    fd, why = toki_event_fd()
    if fd is None:
        print(f"asyncio_service: started without toki-shim ({why})", flush=True)
    else:
        print(f"asyncio_service: started; watching Toki's refreshes on fd {fd}", flush=True)
        loop = asyncio.get_running_loop()
        reloads = 0

        def on_refresh():
            nonlocal reloads
            try:
                count = int.from_bytes(os.read(fd, 8), sys.byteorder)
            except BlockingIOError:
                return
            reloads += 1
            print(f"asyncio_service: credentials refreshed {count} time(s); "
                  f"reloading (#{reloads})", flush=True)

        loop.add_reader(fd, on_refresh)
    await asyncio.Event().wait()  # the service's real work would go here


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
