#!/usr/bin/env python3
"""Experiment 3: the SYN queue and syncookies under a half-open SYN burst.

Two namespaces joined by a veth: the server (coreline --backlog 1024 on 10.93.0.1) and
a client (10.93.0.2). The server routes 10.99.0.0/16 to the client end; from the client
namespace syn_sender.py sends SYNs from spoofed 10.99.x.y sources through a raw socket.
Their SYN-ACKs reach the client namespace, which drops them (not its address,
forwarding off), so every SYN leaves a half-open request on the server. Meanwhile
coreline-load, from the client namespace, opens a new connection per request at a
fixed rate (open loop, `--close -R`), and we see whether these legitimate clients get
through.

  no flood            net.ipv4.tcp_syncookies = 1 (the default), no SYN burst
  syncookies 0        the SYN queue fills with half-open requests; new SYNs are dropped
                      (TCPReqQFullDrop) and legitimate connects time out
  syncookies 0, sized (full mode) backlog 4096, tcp_max_syn_backlog 8192: a bigger queue
                      only fills a little later
  syncookies 1        past a full queue the server answers with a cookie and keeps no
                      state (SyncookiesSent); the real clients' ACKs carry it back
                      (SyncookiesRecv) and their connections are made

    sudo python3 kernel-tuning/experiments/syn_flood.py          # full, writes results/
    sudo python3 kernel-tuning/experiments/syn_flood.py --quick  # CI: asserts
"""
import os
import subprocess
import sys
import time

import common as c

PORT = 8080
SUBNET = "10.93.0"
SPOOFED = "10.99.0.0/16"
FLOOD_RATE = 5000  # SYNs per second
LEGIT_RATE = 500  # requests per second, 20 connections, a new connection each
COUNTERS = ["TCPReqQFullDrop", "ListenDrops", "TCPReqQFullDoCookies", "SyncookiesSent",
            "SyncookiesRecv", "SyncookiesFailed"]
SETTINGS = [  # (label, syncookies, backlog, tcp_max_syn_backlog or None, flood)
    ("no flood", 1, 1024, None, False),
    ("syncookies 0", 0, 1024, None, True),
    ("syncookies 0, sized", 0, 4096, 8192, True),
    ("syncookies 1", 1, 1024, None, True),
]


def run(label, cookies, backlog, max_syn, flood, seconds):
    """One setting in fresh namespaces; returns the measurements."""
    host = f"{SUBNET}.1"
    with c.netns_pair("syn", SUBNET) as (srv, cli, _cdev):
        srv.exec(["ip", "route", "add", SPOOFED, "via", f"{SUBNET}.2"])
        srv.sysctl("net.ipv4.tcp_syncookies", cookies)
        if max_syn:
            srv.sysctl("net.ipv4.tcp_max_syn_backlog", max_syn)
        max_syn = int(srv.read_sysctl("net.ipv4.tcp_max_syn_backlog"))
        with c.start_coreline(srv, ["--backlog", backlog], PORT, host=host):
            before, ip_before = srv.netstat(), cli.snmp("Ip")
            sender, half_open, sent = None, 0, 0
            if flood:
                sender = cli.popen([sys.executable, os.path.join(c.HERE, "syn_sender.py"),
                                    "--dst", host, "--port", PORT, "--src", SPOOFED,
                                    "--rate", FLOOD_RATE, "--duration", seconds + 2],
                                   stdout=subprocess.PIPE, text=True)
                time.sleep(1)  # let the burst fill the queue before the real clients come
                half_open = len(srv.exec(["ss", "-ntH", "state", "syn-recv"]).stdout.splitlines())
            result = c.run_load(cli, ["-c", 20, "-R", LEGIT_RATE, "-d", f"{seconds}s", "--close",
                                      "--timeout", "4s", "--cpus", "1", f"http://{host}:{PORT}/"],
                                check=False)
            if sender:
                out = sender.communicate(timeout=30)[0]
                sent = int(out.strip().split("=")[1]) if out.startswith("sent=") else 0
            delta = c.counter_delta(before, srv.netstat(), COUNTERS)
            ip_after = cli.snmp("Ip")
    return {"label": label, "cookies": cookies, "backlog": backlog, "max_syn": max_syn,
            "sent": sent, "half_open": half_open, "load": result, "delta": delta,
            "synack_dropped": ip_after["InAddrErrors"] - ip_before["InAddrErrors"]}


def cells(r):
    ld = r["load"]
    return ([r["label"], r["cookies"], r["backlog"], r["max_syn"], r["sent"],
             r["half_open"], r["synack_dropped"],
             f"{ld['requests']} / {ld['requests_due']}", c.errors_cell(ld)]
            + (c.latency_cells(ld) if ld["requests"] else ["-"] * 4)
            + [r["delta"][k] for k in COUNTERS])


def table(grouped):
    """One line per setting, each cell over its repeats."""
    headers = (["setting", "syncookies", "--backlog", "tcp_max_syn_backlog", "spoofed SYNs",
                "half-open after 1 s", "SYN-ACKs dropped by client ns", "requests done / due",
                "client errors", "p50", "p99", "p99.9", "max"] + COUNTERS)
    return c.ranged_table(headers, [[cells(r) for r in runs] for runs in grouped])


def main():
    args = c.parse_args(__doc__)
    c.build()
    seconds = 4 if args.quick else 10
    settings = [s for s in SETTINGS if not args.quick or s[0] in ("syncookies 0", "syncookies 1")]
    grouped = c.interleaved("syn_flood", settings, lambda s: run(*s, seconds), args.repeats)
    print(table(grouped))
    if not args.quick:
        c.write_result("syn_flood", (
            f"Kernel {c.kernel()}; {FLOOD_RATE} spoofed SYNs/s from 1 s before until after the "
            f"real clients' {seconds} s: {LEGIT_RATE} requests/s, a new connection each, "
            f"4 s timeout. {c.RANGE_NOTE}\n"
            "`sudo python3 kernel-tuning/experiments/syn_flood.py`\n\n" + table(grouped)))
        return
    runs = [g[0] for g in grouped]
    ck = c.Checks("syn_flood")
    off, on = runs
    for r in runs:
        ck.check(r["half_open"] >= r["backlog"] // 2, f"{r['label']}: the burst fills the SYN queue",
                 f"{r['half_open']} half-open, backlog {r['backlog']}")
        ck.check(r["synack_dropped"] > 1000, f"{r['label']}: the SYN-ACKs go unanswered",
                 f"{r['synack_dropped']} dropped in the client namespace")
    d, ld = off["delta"], off["load"]
    ck.check(d["TCPReqQFullDrop"] > 1000 and d["SyncookiesSent"] == 0,
             "syncookies 0: SYNs are dropped (TCPReqQFullDrop), no cookies", str(d))
    ck.check(ld["requests"] < 0.1 * ld["requests_due"] and c.errors_total(ld) > 0,
             "syncookies 0: real clients fail (< 10 % of requests done, connect errors)",
             f"{ld['requests']} of {ld['requests_due']}, {c.errors_cell(ld)}")
    d, ld = on["delta"], on["load"]
    ck.check(d["SyncookiesSent"] > 1000 and d["SyncookiesRecv"] > 0 and d["TCPReqQFullDrop"] == 0,
             "syncookies 1: cookies sent and received back, nothing dropped", str(d))
    ck.check(ld["requests"] >= 0.9 * ld["requests_due"] and c.errors_total(ld) == 0
             and c.over(ld, 1000) == 0,
             "syncookies 1: real clients get through (≥ 90 % done, no errors, none ≥ 1 s)",
             f"{ld['requests']} of {ld['requests_due']}, {c.errors_cell(ld)}, "
             f"max {c.ms(ld['latency_us']['max'])}")
    ck.exit()


if __name__ == "__main__":
    main()
