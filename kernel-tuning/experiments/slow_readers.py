#!/usr/bin/env python3
"""Opens N connections that each GET one large response and read it as it comes.

    python3 slow_readers.py --host 10.95.0.1 --port 8080 --path /big.bin -n 32 --duration 8

Run inside the client namespace by notsent_lowat.py; over a rate-limited link they share,
every reader is slow; with --rate B each also reads only B bytes/s. Prints `bytes=B connections=N` (bytes read in total, connections
that got a response) when the duration is over.
"""
import argparse
import selectors
import socket
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", required=True)
    p.add_argument("-n", type=int, required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--rate", type=int, default=0, help="bytes/s each connection reads (0: all)")
    a = p.parse_args()
    sel = selectors.DefaultSelector()
    request = f"GET {a.path} HTTP/1.1\r\nHost: {a.host}\r\n\r\n".encode()
    for _ in range(a.n):
        s = socket.create_connection((a.host, a.port), timeout=5)
        s.sendall(request)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, [0])
    total, end = 0, time.monotonic() + a.duration
    # --rate: each connection reads at most rate × 50 ms per 50 ms tick (an app that
    # consumes slowly); the rest stays in its receive buffer and closes the window.
    tick = 0.05
    budget = int(a.rate * tick) if a.rate else 1 << 16
    while time.monotonic() < end:
        t0 = time.monotonic()
        for key, _ in sel.select(timeout=0.1):
            try:
                data = key.fileobj.recv(budget)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(key.fileobj)
                continue
            key.data[0] += len(data)
            total += len(data)
        if a.rate:
            time.sleep(max(0.0, t0 + tick - time.monotonic()))
    got = sum(1 for k in sel.get_map().values() if k.data[0] > 0)
    print(f"bytes={total} connections={got}", flush=True)


if __name__ == "__main__":
    main()
