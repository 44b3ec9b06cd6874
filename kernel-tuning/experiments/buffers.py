#!/usr/bin/env python3
"""Experiment 11: socket buffer limits (tcp_rmem/tcp_wmem) and the input queue
(netdev_max_backlog).

Throughput: coreline (`--root`, a large sparse file) on 10.97.0.1, one client in another
namespace reading it for SECONDS (slow_readers.py -n 1), over the veth as it is and over
the veth with the server's egress shaped by tbf (RATE); the buffer limits are set in
both namespaces:

  small         tcp_rmem 4096 16384 65536,  tcp_wmem 4096 16384 65536
  default       the kernel's values as this namespace starts with them
  recommended   tcp_rmem 4096 131072 16777216, tcp_wmem 4096 16384 16777216

Without added delay (this kernel has no sch_netem) a path's bandwidth-delay product is a
few KiB, so a buffer limit can only show where it is below that. `--delay 50ms` adds
`netem delay` on both ends for a reader whose kernel has sch_netem; here it stops with
an error.

Input queue: net.core.netdev_max_backlog is global (not in a network namespace), so it
is not changed here; the experiment reads its value and the host's /proc/net/softnet_stat
drop column around a burst of UDP datagrams sent through the veth by two senders.

    sudo python3 kernel-tuning/experiments/buffers.py          # full, writes results/
    sudo python3 kernel-tuning/experiments/buffers.py --quick  # CI: asserts
"""
import os
import subprocess
import sys
import tempfile

import common as c

PORT = 8080
SUBNET = "10.97.0"
RATE = "200mbit"
BIG = 64 << 30  # sparse: never read to its end
BUFFERS = [
    ("small", "4096 16384 65536", "4096 16384 65536"),
    ("default", None, None),
    ("recommended", "4096 131072 16777216", "4096 16384 16777216"),
]
BURST_SCRIPT = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end, n, data = time.monotonic() + float(sys.argv[2]), 0, b"x" * 64
while time.monotonic() < end:
    for _ in range(1000):
        s.sendto(data, (sys.argv[1], 9))
    n += 1000
print(n)
"""


def softnet_drops():
    """Sum over CPUs of /proc/net/softnet_stat column 2 (input queue full; host-wide)."""
    with open("/proc/net/softnet_stat") as f:
        return sum(int(line.split()[1], 16) for line in f if line.strip())


def throughput(path, label, rmem, wmem, root, seconds, delay):
    """One throughput row in fresh namespaces; returns the measurements."""
    host = f"{SUBNET}.1"
    with c.Netns("buf-srv") as srv, c.Netns("buf-cli") as cli:
        sdev, cdev = c.link_veth(srv, cli, host, f"{SUBNET}.2")
        if delay:
            for ns, dev in ((srv, sdev), (cli, cdev)):
                ns.exec(["tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", delay])
        if path == "tbf":
            c.shape(srv, sdev, RATE)
        for ns in (srv, cli):
            if rmem:
                ns.sysctl("net.ipv4.tcp_rmem", rmem)
                ns.sysctl("net.ipv4.tcp_wmem", wmem)
        limits = f"{cli.read_sysctl('net.ipv4.tcp_rmem')} / {srv.read_sysctl('net.ipv4.tcp_wmem')}"
        with c.start_coreline(srv, ["--root", root, "--min-send-rate", "0"], PORT, host=host):
            r = cli.exec([sys.executable, os.path.join(c.HERE, "slow_readers.py"), "--host", host,
                          "--port", PORT, "--path", "/big.bin", "-n", 1, "--duration", seconds])
            rtx = srv.snmp()["RetransSegs"]
    got = dict(kv.split("=") for kv in r.stdout.split())
    return {"path": path, "label": label, "limits": limits, "retrans": rtx,
            "mbit": int(got["bytes"]) * 8 / seconds / 1e6}


def burst(seconds):
    """UDP burst through a veth; the input-queue drops seen meanwhile."""
    host = f"{SUBNET}.1"
    with c.netns_pair("burst", SUBNET) as (srv, cli, _cdev):
        d0, udp0 = softnet_drops(), srv.snmp("Udp")
        senders = [cli.popen([sys.executable, "-c", BURST_SCRIPT, host, seconds],
                             stdout=subprocess.PIPE, text=True) for _ in range(2)]
        sent = sum(int(p.communicate(timeout=seconds + 30)[0]) for p in senders)
        udp = srv.snmp("Udp")
        drops = softnet_drops() - d0
        present = os.path.exists("/proc/sys/net/core/netdev_max_backlog")
        in_ns = srv.exec(["test", "-e", "/proc/sys/net/core/netdev_max_backlog"],
                         check=False).returncode == 0
    host_value = None
    if present:
        with open("/proc/sys/net/core/netdev_max_backlog") as f:
            host_value = int(f.read())
    return {"sent": sent, "arrived": (udp["InDatagrams"] + udp["NoPorts"] + udp["InErrors"])
            - (udp0["InDatagrams"] + udp0["NoPorts"] + udp0["InErrors"]),
            "drops": drops, "host_value": host_value, "in_ns": in_ns}


def main():
    def extra(p):
        p.add_argument("--delay", metavar="DELAY",
                       help="add `netem delay DELAY` on both veth ends (needs sch_netem)")
    args = c.parse_args(__doc__, extra)
    c.build()
    seconds = 2 if args.quick else 4
    plan = [(p, *b) for p in ("veth", "tbf") for b in BUFFERS]
    if args.quick:
        plan = [(p, *b) for p in ("veth", "tbf") for b in BUFFERS if b[0] != "default"]
    with tempfile.TemporaryDirectory(prefix="kt-buf-") as root:
        os.chmod(root, 0o755)
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.truncate(BIG)
        grouped = c.interleaved("buffers", plan, lambda p: throughput(
            *p, root, seconds, args.delay), args.repeats)
    bursts = c.interleaved("buffers (burst)", ["udp burst"], lambda _: burst(seconds),
                           args.repeats)[0]
    path_cell = {"veth": "veth", "tbf": f"veth, tbf {RATE}"}
    t1 = c.ranged_table(
        ["path", "buffers", "tcp_rmem (client) / tcp_wmem (server)", "throughput",
         "server RetransSegs"],
        [[[path_cell[r["path"]], r["label"], r["limits"], f"{r['mbit']:.0f} Mbit/s", r["retrans"]]
          for r in runs] for runs in grouped])
    t2 = c.ranged_table(
        ["UDP datagrams sent", "arrived at the server (Udp In + NoPorts + InErrors)",
         "softnet_stat drops Δ (host-wide)", "netdev_max_backlog (host)", "writable in a netns"],
        [[[b["sent"], b["arrived"], b["drops"], b["host_value"], "yes" if b["in_ns"] else "no"]
          for b in bursts]])
    print(t1 + "\n" + t2)
    if not args.quick:
        c.write_result("buffers", (
            f"Kernel {c.kernel()}; one reader of a large file for {seconds} s per row"
            + (f", netem delay {args.delay} on both ends" if args.delay else ", no added delay")
            + f"; then two UDP senders for {seconds} s through a veth. {c.RANGE_NOTE}\n"
            "`sudo python3 kernel-tuning/experiments/buffers.py`\n\n" + t1 + "\n" + t2))
        return
    ck = c.Checks("buffers")
    rows = {(g[0]["path"], g[0]["label"]): g[0] for g in grouped}
    for key, r in rows.items():
        ck.check(r["mbit"] > 10, f"{key[0]}, {key[1]} buffers: the file streams", f"{r['mbit']:.1f} Mbit/s")
    ck.check(rows[("tbf", "small")]["limits"].startswith("4096 16384 65536"),
             "the namespaces' buffer limits are the row's", rows[("tbf", "small")]["limits"])
    b = bursts[0]
    ck.check(not b["in_ns"] and b["sent"] > 0,
             "netdev_max_backlog is not in the namespace (global); the burst was sent",
             str(b))
    ck.exit()


if __name__ == "__main__":
    main()
