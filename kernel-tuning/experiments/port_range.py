#!/usr/bin/env python3
"""Experiment 6: ip_local_port_range and tcp_tw_reuse for a client opening a connection
per request.

Whoever closes a TCP connection first keeps its 4-tuple in TIME_WAIT for 60 s. A client
that connects to the same server address again and again needs a local port whose 4-tuple
is free: ports held in TIME_WAIT by the client are not (connect() fails with
EADDRNOTAVAIL once the range is used up), unless `tcp_tw_reuse` lets it take over a
TIME_WAIT 4-tuple that is older than `tcp_tw_reuse_delay` (1 s; TCP timestamps make that
safe). TIME_WAIT held by the *server* does not use up client ports.

Each row runs in its own network namespace: `coreline serve` on CPU 0; `coreline-load
--close` on CPU 1, open loop at a fixed rate, with one of two request headers:
- `Connection: keep-alive` (`-H`): the server keeps the connection after the response, so
  the client closes first and holds the TIME_WAIT (a client or proxy that opens a
  connection per request and closes it itself);
- `Connection: close` (coreline-load's default with --close): the server closes first.

    sudo python3 kernel-tuning/experiments/port_range.py           # full: results/port_range.md
    sudo python3 kernel-tuning/experiments/port_range.py --quick   # CI: short, asserts
"""
import common

PORT = 8080
NARROW = "40000 40099"  # 100 ports
HEADERS = ["closes first", "ip_local_port_range", "tcp_tw_reuse", "rate", "requests",
           "req/s", "connect errors (EADDRNOTAVAIL)", "p50", "p99", "max",
           "TIME_WAIT client / server", "TWRecycled Δ"]


def time_wait(ns, port_range):
    """TIME_WAIT sockets on the client side (local port in the range) and the server's."""
    lo, hi = port_range.split()
    count = lambda f: len(ns.exec(["ss", "-tanH", "state", "time-wait", f]).stdout.splitlines())
    return count(f"( sport >= :{lo} and sport <= :{hi} )"), count(f"( sport = :{PORT} )")


def row(closer, port_range, reuse, rate, secs):
    """One measurement in a fresh namespace; returns the table row and the raw values."""
    with common.Netns(f"pr-{closer[0]}{reuse}-{port_range.split()[0]}") as ns:
        ns.sysctl("net.ipv4.ip_local_port_range", port_range)
        ns.sysctl("net.ipv4.tcp_tw_reuse", reuse)
        with common.start_coreline(ns, [], port=PORT):
            before = ns.netstat()
            load = ["-c", "1", "-d", secs, "--cpus", "1", "--close", "--timeout", "2s"]
            load += ["-R", rate] if rate else []
            load += ["-H", "Connection: keep-alive"] if closer == "client" else []
            r = common.run_load(ns, load + [f"http://127.0.0.1:{PORT}/plaintext"], check=False)
            d = common.counter_delta(before, ns.netstat(), ["TWRecycled"])
            tw = time_wait(ns, port_range)
    lat = r["latency_us"]
    eaddr = r.get("error_causes", {}).get("connect", {}).get("EADDRNOTAVAIL", 0)
    cells = [closer, port_range.replace(" ", "-"), reuse, f"{rate}/s" if rate else "max",
             r["requests"], f"{r['requests_per_sec']:.0f}",
             f"{r['errors']['connect']} ({eaddr})", common.ms(lat["p50"]), common.ms(lat["p99"]),
             common.ms(lat["max"]), f"{tw[0]} / {tw[1]}", d["TWRecycled"]]
    return cells, r, d, tw, eaddr


def main():
    args = common.parse_args(__doc__)
    common.build()
    secs = "3" if args.quick else "10"
    rate = 50  # below 100 ports / 1 s reuse delay, above 100 ports per 60 s TIME_WAIT
    plan = [("client", NARROW, 0, rate), ("client", NARROW, 1, rate), ("server", NARROW, 0, rate)]
    if not args.quick:
        plan = [("client", "32768 60999", 0, rate)] + plan + [
            ("client", NARROW, 2, rate),      # the default: reuse for loopback only
            ("client", NARROW, 1, 0),         # as fast as it goes: capped near 100/s
            ("client", "32768 60999", 0, 0),  # 28,232 ports: used up after a while
            ("client", "32768 60999", 1, 0),
        ]
    def measure(item):
        closer, port_range, reuse, r = item
        # Long enough for a closed loop to go through the default range without reuse.
        long = not args.quick and r == 0 and port_range != NARROW
        cells, res, d, tw, eaddr = row(closer, port_range, reuse, r, "30" if long else secs)
        cells[3] += " (30 s)" if long else ""
        return cells, res, d, tw, eaddr

    grouped = common.interleaved("port_range", plan, measure, args.repeats)
    results = {p: runs[0][1:] for p, runs in zip(plan, grouped)}
    if args.quick:
        c = common.Checks("port_range")
        res, d, tw, eaddr = results[("client", NARROW, 0, rate)]
        c.check(eaddr > 0 and res["requests"] <= 100,
                "100 ports, tw_reuse 0, client closes first: connect() fails with EADDRNOTAVAIL "
                "after about 100 connections", f"{res['requests']} requests, {eaddr} EADDRNOTAVAIL")
        c.check(tw[0] >= 90 and tw[1] == 0, "... and the client holds the TIME_WAIT sockets",
                f"client {tw[0]}, server {tw[1]}")
        res, d, tw, eaddr = results[("client", NARROW, 1, rate)]
        due = rate * int(secs)
        c.check(res["errors"]["connect"] == 0 and res["requests"] >= due * 0.9 and d["TWRecycled"] > 0,
                "100 ports, tw_reuse 1: no connect error, TIME_WAIT ports reused (TWRecycled)",
                f"{res['requests']}/{due} requests, errors {res['errors']}, TWRecycled {d['TWRecycled']}")
        res, d, tw, eaddr = results[("server", NARROW, 0, rate)]
        c.check(res["errors"]["connect"] == 0 and res["requests"] >= due * 0.9 and tw[1] > 4 * tw[0],
                "100 ports, tw_reuse 0, server closes first: no connect error; TIME_WAIT is the "
                "server's", f"{res['requests']}/{due} requests, TIME_WAIT client {tw[0]} server {tw[1]}")
        c.exit()
    md = (f"Experiment 6, ip_local_port_range and tcp_tw_reuse (kernel {common.kernel()}; "
          f"`coreline-load -c 1 --close`, open loop at the rate shown or closed loop (max), "
          f"{secs} s per row unless marked, `/plaintext`, server on CPU 0, load on CPU 1, each row in a fresh "
          f"namespace; TIME_WAIT counted with `ss` at the end of the row). {common.RANGE_NOTE}\n\nCommand: "
          "`sudo python3 kernel-tuning/experiments/port_range.py`\n\n"
          + common.ranged_table(HEADERS, [[run[0] for run in runs] for runs in grouped]))
    common.write_result("port_range", md)


if __name__ == "__main__":
    main()
