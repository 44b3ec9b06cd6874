#!/usr/bin/env python3
"""Experiment 1: a listen backlog / somaxconn too small under a connection burst.

In its own network namespace: coreline on one core, coreline-load on the other opening
a new connection per request (`--close`, 200 at once, latency includes the connect),
while the server is stopped (SIGSTOP) for 300 ms every second, like a core that falls
behind. Three settings, one change each from the tuned one:

  backlog 4       coreline --backlog 4, somaxconn 4096 (the app asks for too little)
  somaxconn 4     coreline --backlog 4096, somaxconn 4 (the kernel clamps it to 4)
  tuned           coreline --backlog 4096, somaxconn 4096

With a full accept queue the kernel drops SYNs (and final ACKs): ListenOverflows and
ListenDrops count them, and the client only retries after its 1 s SYN timeout (then
3 s, 7 s...). So the small queue shows no errors but a 1 s / 3 s connect-latency tail.

    sudo python3 kernel-tuning/experiments/listen_backlog.py          # full, writes results/
    sudo python3 kernel-tuning/experiments/listen_backlog.py --quick  # CI: asserts
"""
import common as c

PORT = 8080
CONNS = 200
STALL_S, PERIOD_S = 0.3, 1.0
SETTINGS = [  # (label, somaxconn, coreline --backlog)
    ("backlog 4", 4096, 4),
    ("somaxconn 4", 4, 4096),
    ("tuned", 4096, 4096),
]
COUNTERS = ["ListenOverflows", "ListenDrops", "TCPReqQFullDoCookies", "SyncookiesRecv"]


def run(label, somaxconn, backlog, duration):
    """One setting in a fresh namespace; returns the measurements."""
    with c.Netns("backlog") as ns:
        ns.sysctl("net.core.somaxconn", somaxconn)
        with c.start_coreline(ns, ["--backlog", backlog], PORT) as server:
            effective = c.listen_backlog(ns, PORT)
            before = ns.netstat()
            with c.Stalls(server, STALL_S, PERIOD_S):
                result = c.run_load(ns, ["-c", CONNS, "-d", duration, "--close", "--cpus", "1",
                                         f"http://127.0.0.1:{PORT}/"])
            delta = c.counter_delta(before, ns.netstat(), COUNTERS)
    return {"label": label, "somaxconn": somaxconn, "backlog": backlog,
            "effective": effective, "load": result, "delta": delta}


def cells(r):
    ld = r["load"]
    return ([r["label"], r["somaxconn"], r["backlog"], r["effective"], ld["requests"],
             c.errors_cell(ld)] + c.latency_cells(ld)
            + [c.over(ld, 1000), c.over(ld, 3000)] + [r["delta"][k] for k in COUNTERS])


def table(grouped):
    """One line per setting, each cell over its repeats."""
    headers = (["setting", "somaxconn", "--backlog", "effective (ss Send-Q)", "requests", "client errors",
                "p50", "p99", "p99.9", "max", "≥ 1 s", "≥ 3 s"] + COUNTERS)
    return c.ranged_table(headers, [[cells(r) for r in runs] for runs in grouped])


def main():
    args = c.parse_args(__doc__)
    c.build()
    duration = "3s" if args.quick else "10s"
    grouped = c.interleaved("listen_backlog", SETTINGS, lambda s: run(*s, duration), args.repeats)
    print(table(grouped))
    if not args.quick:
        c.write_result("listen_backlog", (
            f"Kernel {c.kernel()}; {CONNS} connections, a new one per request, {duration}; "
            f"server stopped {STALL_S * 1000:.0f} ms every {PERIOD_S:.0f} s. {c.RANGE_NOTE}\n"
            "`sudo python3 kernel-tuning/experiments/listen_backlog.py`\n\n" + table(grouped)))
        return
    runs = [g[0] for g in grouped]
    ck = c.Checks("listen_backlog")
    small, clamped, tuned = runs
    for r in (small, clamped):
        d, ld = r["delta"], r["load"]
        ck.check(r["effective"] == 4, f"{r['label']}: effective backlog is 4",
                 f"ss Send-Q {r['effective']}")
        ck.check(d["ListenOverflows"] > 0 and d["ListenDrops"] > 0,
                 f"{r['label']}: the burst overflows the accept queue", str(d))
        ck.check(c.over(ld, 1000) > 0, f"{r['label']}: some connects wait ≥ 1 s (SYN retransmit)",
                 f"max {c.ms(ld['latency_us']['max'])}")
        # Dropped SYNs are retried, not refused: no resets. (A connect that loses four
        # SYNs in a row would time out after 10 s; the quick run is too short for that.)
        ck.check(c.reset_errors(ld) == 0 and ld["errors"]["connect"] == 0,
                 f"{r['label']}: clients retry, no resets or connect errors", c.errors_cell(ld))
    d, ld = tuned["delta"], tuned["load"]
    ck.check(tuned["effective"] == 4096, "tuned: effective backlog is 4096",
             f"ss Send-Q {tuned['effective']}")
    ck.check(d["ListenOverflows"] == 0 and d["ListenDrops"] == 0, "tuned: no overflow", str(d))
    ck.check(c.over(ld, 1000) == 0 and c.errors_total(ld) == 0,
             "tuned: no connect waits ≥ 1 s, no errors",
             f"{c.over(ld, 1000)} ≥ 1 s, max {c.ms(ld['latency_us']['max'])}, {ld['errors']}")
    ck.exit()


if __name__ == "__main__":
    main()
