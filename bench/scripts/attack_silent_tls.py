#!/usr/bin/env python3
"""Silent TLS connects against any server: 1,000 TCP connects to its TLS port that send
nothing, held open, while a fresh client measures 200 plain HTTP requests (one connection
each) and makes 5 HTTPS requests with a full handshake (Python ssl, certificate not
verified). Prints a Markdown table row set.

    python3 bench/scripts/attack_silent_tls.py PLAIN_ADDR TLS_ADDR [--path /plaintext]

Raise the open-file limit first (ulimit -n 8192): the attack holds 1,000 sockets.
"""
import argparse, socket, ssl, time

def fresh(addr, path):
    t = time.perf_counter()
    with socket.create_connection(addr, timeout=10) as c:
        c.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        got = b""
        while chunk := c.recv(4096):
            got += chunk
    ok = got.startswith(b"HTTP/1.1 200")
    return ok, (time.perf_counter() - t) * 1e6

def p99(addr, path):
    res = [fresh(addr, path) for _ in range(200)]
    lat = sorted(l for _, l in res)
    return sum(ok for ok, _ in res), lat[len(lat) * 99 // 100]

def tls_request(addr, path):
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection(addr, timeout=10) as raw, ctx.wrap_socket(raw) as c:
            c.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            got = b""
            while True:
                try:
                    chunk = c.recv(4096)
                except (ssl.SSLError, OSError):
                    break
                if not chunk:
                    break
                got += chunk
        return got.startswith(b"HTTP/1.1 200")
    except OSError:
        return False

def closed_by_server(conns):
    n = 0
    for c in conns:
        c.setblocking(False)
        try:
            if c.recv(1, socket.MSG_PEEK) == b"":
                n += 1
        except BlockingIOError:
            pass
        except OSError:
            n += 1
    return n

def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plain", type=addr)
    ap.add_argument("tls", type=addr)
    ap.add_argument("--path", default="/plaintext")
    ap.add_argument("--attackers", type=int, default=1000)
    a = ap.parse_args()
    ok0, base = p99(a.plain, a.path)
    attackers = [socket.create_connection(a.tls, timeout=10) for _ in range(a.attackers)]
    time.sleep(0.3)
    ok1, during = p99(a.plain, a.path)
    tls_ok = sum(tls_request(a.tls, a.path) for _ in range(5))
    refused = closed_by_server(attackers)
    print("| fresh plain requests OK (before / during) | p99 before | p99 during "
          "| TLS requests OK during | silent connects closed by the server |")
    print("|---|---|---|---|---|")
    print(f"| {ok0}/200 / {ok1}/200 | {base / 1000:.1f} ms | {during / 1000:.1f} ms "
          f"| {tls_ok}/5 | {refused} of {a.attackers} |")
    for c in attackers:
        c.close()

main()
