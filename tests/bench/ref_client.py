"""ref_client.py: a listener built like the reference client in Toki's docs: a background
thread running asyncio, one read per event; it timestamps each read for the benchmark."""
# SPDX-License-Identifier: MIT
import asyncio
import os
import struct
import threading
import time


async def listen(port, token, out):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(token.encode())
    await writer.drain()
    while True:
        data = await reader.read(4096)
        if not data:
            return
        ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        for _ in range(data.count(b"\n")):
            os.write(out, struct.pack("q", ns))


def main():
    port, token = int(os.environ["TOKI_PORT"]), os.environ["TOKI_TOKEN"]
    out = int(os.environ["BENCH_FD"])
    t = threading.Thread(target=lambda: asyncio.run(listen(port, token, out)), daemon=True)
    t.start()
    t.join()


main()
