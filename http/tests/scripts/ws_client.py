"""A WebSocket client (the `websockets` package) for the proxy's upgrade tests.

    ws_client.py URL echo   text and a 1 MiB binary message both ways, then the close
                            handshake; prints "ok CODE"
    ws_client.py URL idle   sends nothing and prints how many seconds passed until the
                            connection was closed under it (at most 30)
"""

import asyncio
import os
import sys
import time

import websockets


async def echo(url):
    async with websockets.connect(url, max_size=4 << 20, ping_interval=None) as ws:
        await ws.send("hello through the proxy")
        assert await ws.recv() == "hello through the proxy"
        blob = os.urandom(1 << 20)
        await ws.send(blob)
        back = await ws.recv()
        assert isinstance(back, bytes) and back == blob, "the binary message came back whole"
        await ws.close()
        print("ok", ws.close_code, flush=True)


async def idle(url):
    async with websockets.connect(url, ping_interval=None, close_timeout=1) as ws:
        start = time.monotonic()
        try:
            await asyncio.wait_for(ws.wait_closed(), 30)
        except asyncio.TimeoutError:
            pass
        print(f"{time.monotonic() - start:.2f}", flush=True)


url, mode = sys.argv[1], sys.argv[2]
asyncio.run({"echo": echo, "idle": idle}[mode](url))
