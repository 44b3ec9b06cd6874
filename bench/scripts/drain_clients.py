#!/usr/bin/env python3
"""Graceful shutdown under keep-alive load, against any server: starts the server command,
runs 20 clients making keep-alive requests in a loop (reconnecting on `Connection: close`
or EOF, stopping when a connect is refused), sends the server SIGNAL after 0.4 s, waits
for it to exit, and counts per run: answered requests, clean EOFs instead of a response,
resets, and other failures. Prints a Markdown table.

    python3 bench/scripts/drain_clients.py ADDR SIGNAL RUNS -- SERVER COMMAND...
    e.g. ... 127.0.0.1:18080 TERM 5 -- target/release/coreline serve --cpus 0 --listen 127.0.0.1:18080
         ... 127.0.0.1:18082 QUIT 5 -- taskset -c 0 nginx -p DIR -c DIR/nginx.conf
"""
import signal, socket, subprocess, sys, threading, time

REQ = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
CLIENTS = 20

def request(c):
    try:
        c.sendall(REQ)
    except (ConnectionResetError, BrokenPipeError):
        return "reset", False
    got = b""
    while True:
        try:
            chunk = c.recv(4096)
        except ConnectionResetError:
            return "reset", False
        except OSError as e:
            return "failed", str(e)
        if not chunk:
            return ("eof", False) if not got else ("failed", "truncated")
        got += chunk
        end = got.find(b"\r\n\r\n")
        if end < 0:
            continue
        head = got[:end].decode("latin1").lower()
        length = next((int(l.split(":", 1)[1]) for l in head.split("\r\n")
                       if l.startswith("content-length:")), None)
        if length is not None and len(got) >= end + 4 + length:
            if not head.startswith("http/1.1 200"):
                return "failed", head
            return "answered", "connection: close" in head

def client(addr, stop, tally, lock):
    while not stop.is_set():
        try:
            c = socket.create_connection(addr, timeout=15)
        except OSError:
            return
        with c:
            while True:
                kind, close = request(c)
                with lock:
                    tally[kind] += 1
                if kind != "answered" or close or stop.is_set():
                    break

def wait_port(addr):
    for _ in range(200):
        try:
            socket.create_connection(addr, timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("server did not start")

def main():
    host, port = sys.argv[1].rsplit(":", 1)
    addr, sig, runs = (host, int(port)), getattr(signal, "SIG" + sys.argv[2]), int(sys.argv[3])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    print(f"| run | answered | clean EOF | resets | failed | exit |")
    print("|---|---|---|---|---|---|")
    for run in range(1, runs + 1):
        server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(addr)
        stop, lock = threading.Event(), threading.Lock()
        tally = {"answered": 0, "eof": 0, "reset": 0, "failed": 0}
        threads = [threading.Thread(target=client, args=(addr, stop, tally, lock))
                   for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(0.4)
        server.send_signal(sig)
        code = server.wait()
        stop.set()
        for t in threads:
            t.join()
        print(f"| {run} | {tally['answered']} | {tally['eof']} | {tally['reset']} "
              f"| {tally['failed']} | {code} |")

main()
