#!/usr/bin/env python3
"""Accept-queue overflow probe, run inside a network namespace.

usage: listen_burst.py BACKLOG CONNECTS

Listens on 127.0.0.1 with listen(BACKLOG), never accepts, fires CONNECTS
non-blocking connects, waits briefly and prints one line:
  backlog=<Send-Q from ss -lnt> overflows=<delta> drops=<delta> established=<n>
where the deltas are TcpExtListenOverflows / TcpExtListenDrops from
/proc/net/netstat (per network namespace).
"""
import select
import socket
import subprocess
import sys
import time


def tcpext():
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for head, vals in zip(lines[::2], lines[1::2]):
        if head.startswith("TcpExt:"):
            return dict(zip(head.split()[1:], map(int, vals.split()[1:])))
    raise SystemExit("no TcpExt line in /proc/net/netstat")


def main():
    backlog, n = int(sys.argv[1]), int(sys.argv[2])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(backlog)
    port = ls.getsockname()[1]
    out = subprocess.run(["ss", "-lntH", f"sport = :{port}"], capture_output=True,
                         text=True, check=True).stdout.split()
    effective = int(out[2])  # State Recv-Q Send-Q ...; Send-Q = backlog

    before = tcpext()
    clients = []
    for _ in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        clients.append(c)
    time.sleep(0.3)  # loopback handshakes finish in softirq; SYN retransmits come after 1 s
    after = tcpext()
    _, writable, _ = select.select([], clients, [], 0)
    established = sum(1 for c in writable if c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)
    print(f"backlog={effective} "
          f"overflows={after['ListenOverflows'] - before['ListenOverflows']} "
          f"drops={after['ListenDrops'] - before['ListenDrops']} "
          f"established={established}")
    for c in clients:
        c.close()
    ls.close()


if __name__ == "__main__":
    main()
