#!/usr/bin/env python3
"""Opens N connections that each send one `Connection: close` request, read the response
to the server's FIN, and then never close: their side stays in CLOSE_WAIT, the server's in
FIN_WAIT_2, as with a client that half-closes or vanishes after the server's FIN.

    python3 half_closers.py --host 127.0.0.1 --port 8080 -n 500

Run inside a namespace by fin_timeout.py. Prints `held=N` once every response was read to
its end, then keeps the sockets open until killed.
"""
import argparse
import signal
import socket


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("-n", type=int, required=True)
    a = p.parse_args()
    request = (f"GET /plaintext HTTP/1.1\r\nHost: {a.host}\r\nConnection: close\r\n\r\n").encode()
    held = []
    for _ in range(a.n):
        s = socket.create_connection((a.host, a.port), timeout=10)
        s.sendall(request)
        while s.recv(65536):  # to the server's FIN
            pass
        held.append(s)
    print(f"held={len(held)}", flush=True)
    signal.pause()


if __name__ == "__main__":
    main()
