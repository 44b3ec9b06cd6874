"""A WebSocket echo server (the `websockets` package) on a free loopback port, for the
proxy's upgrade tests: it prints its port, then echoes every message back, text as text
and binary as binary, up to 4 MiB each. A request that is no valid WebSocket handshake is
answered with an HTTP error by `websockets` itself."""

import asyncio

import websockets


async def echo(ws, *_path):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass  # the proxy closed an idle pipe: expected, not worth a traceback


async def main():
    # No keep-alive pings: the tests measure how long an idle pipe lives.
    async with websockets.serve(
        echo, "127.0.0.1", 0, max_size=4 << 20, ping_interval=None
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.Future()


asyncio.run(main())
