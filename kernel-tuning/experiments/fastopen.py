#!/usr/bin/env python3
"""Experiment 5: TCP_FASTOPEN on versus off for a connection per request.

Each row runs in its own network namespace (so no Fast Open cookie carries over from one
row to the next): `coreline serve` on CPU 0, with or without `--tcp-fastopen 256`;
`coreline-load --close` (a new connection per request, closed loop) on CPU 1, with or
without `--fastopen` (TCP_FASTOPEN_CONNECT); `net.ipv4.tcp_fastopen` set in the namespace.
The TcpExt counters say where the request went: `TCPFastOpenActive` (client: SYN data
acknowledged), `TCPFastOpenPassive` (server: SYN data accepted), `TCPFastOpenCookieReqd`
(server: a SYN asked for a cookie), `…PassiveFail` / `…ActiveFail`.

On loopback a round trip costs tens of microseconds, so the round trip Fast Open saves is
small here; the counters prove that the request rode in the SYN. Over a network the saving
per new connection is one RTT (e.g. 20-100 ms on a WAN).

    sudo python3 kernel-tuning/experiments/fastopen.py           # full: results/fastopen.md
    sudo python3 kernel-tuning/experiments/fastopen.py --quick   # CI: short, asserts
"""
import common

PORT = 8080
COUNTERS = ["TCPFastOpenActive", "TCPFastOpenActiveFail", "TCPFastOpenPassive",
            "TCPFastOpenPassiveFail", "TCPFastOpenCookieReqd", "TCPFastOpenListenOverflow"]
HEADERS = ["tcp_fastopen", "server", "client", "requests", "req/s", "p50", "p99", "p99.9",
           "max", "segments/request", "Active Δ", "Passive Δ", "CookieReqd Δ", "PassiveFail Δ", "ActiveFail Δ",
           "errors"]


def row(sysctl, server_fo, client_fo, conns, secs):
    """One measurement in a fresh namespace; returns the table row and the raw values."""
    with common.Netns(f"fo-{sysctl}{int(server_fo)}{int(client_fo)}") as ns:
        ns.sysctl("net.ipv4.tcp_fastopen", sysctl)
        server_args = ["--tcp-fastopen", "256"] if server_fo else []
        with common.start_coreline(ns, server_args, port=PORT):
            before, segs = ns.netstat(), ns.snmp()["OutSegs"]
            load = ["-c", conns, "-d", secs, "--cpus", "1", "--close"]
            load += ["--fastopen"] if client_fo else []
            r = common.run_load(ns, load + [f"http://127.0.0.1:{PORT}/plaintext"])
            d = common.counter_delta(before, ns.netstat(), COUNTERS)
            # Both ends live in this namespace: every segment of every connection counts.
            d["segments"] = ns.snmp()["OutSegs"] - segs
    lat = r["latency_us"]
    cells = [sysctl, "`--tcp-fastopen 256`" if server_fo else "off",
             "`--fastopen`" if client_fo else "off", r["requests"],
             f"{r['requests_per_sec']:.0f}", common.ms(lat["p50"]), common.ms(lat["p99"]),
             common.ms(lat["p99.9"]), common.ms(lat["max"]),
             f"{d['segments'] / max(r['requests'], 1):.2f}", d["TCPFastOpenActive"],
             d["TCPFastOpenPassive"], d["TCPFastOpenCookieReqd"], d["TCPFastOpenPassiveFail"],
             d["TCPFastOpenActiveFail"], common.errors_total(r)]
    return cells, r, d


def main():
    args = common.parse_args(__doc__)
    common.build()
    secs = "1" if args.quick else "5"
    plan = [(3, False, False), (3, False, True), (3, True, False), (3, True, True)]
    if not args.quick:
        # The server bit missing: the listen option alone does nothing.
        plan = plan + [(1, True, True)]
    grouped = common.interleaved("fastopen", plan, lambda p: row(*p, 1, secs), args.repeats)
    results = {p: runs[0][1:] for p, runs in zip(plan, grouped)}
    if args.quick:
        c = common.Checks("fastopen")
        r, d = results[(3, True, True)]
        n = r["requests"]
        c.check(n > 20 and d["TCPFastOpenPassive"] >= n - 1 and d["TCPFastOpenActive"] >= n - 1,
                "both sides on: every request after the first (cookie) connection rides in the SYN",
                f"{n} requests, Active {d['TCPFastOpenActive']}, Passive {d['TCPFastOpenPassive']}")
        for key, what in [((3, False, True), "client only"), ((3, True, False), "server only"),
                          ((3, False, False), "neither")]:
            r, d = results[key]
            c.check(r["requests"] > 20 and d["TCPFastOpenPassive"] == 0 and d["TCPFastOpenActive"] == 0,
                    f"{what}: no data in SYNs (Active and Passive stay 0)",
                    f"{r['requests']} requests, {d}")
        c.exit()
    md = (f"Experiment 5, TCP Fast Open (kernel {common.kernel()}; `coreline-load -c 1 --close`, "
          f"closed loop, {secs} s per row, `/plaintext`, server on CPU 0, load on CPU 1, each row "
          f"in a fresh namespace). {common.RANGE_NOTE}\n\nCommand: `sudo python3 kernel-tuning/experiments/fastopen.py`\n\n"
          + common.ranged_table(HEADERS, [[run[0] for run in runs] for runs in grouped]))
    common.write_result("fastopen", md)


if __name__ == "__main__":
    main()
