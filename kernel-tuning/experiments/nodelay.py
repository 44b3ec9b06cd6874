#!/usr/bin/env python3
"""Experiment 4: TCP_NODELAY off versus on with small writes (Nagle against delayed ACK).

Each row runs in its own network namespace: a server on CPU 0, `coreline-load` keep-alive
on CPU 1, counters from the namespace's /proc/net/netstat before and after.

- `small_writes` (http/examples/small_writes.rs): every response is a streamed body of two
  small chunks, so it leaves in several sends (head + first chunk, second chunk, end
  marker). With TCP_NODELAY off, Nagle holds the second send until the first is
  acknowledged; the client, still waiting for the rest of the response, sends no data to
  carry that ACK and delays it (40 ms minimum on Linux): each response waits ~40 ms.
- `coreline serve` /plaintext: head and body leave in one send, so Nagle has nothing to
  hold back and the option makes no difference.

    sudo python3 kernel-tuning/experiments/nodelay.py           # full: results/nodelay.md
    sudo python3 kernel-tuning/experiments/nodelay.py --quick   # CI: short, asserts
"""
import common

PORT = 8080


def row(server, route, nodelay, conns, secs):
    """One measurement in a fresh namespace; returns the table row and the raw values."""
    with common.Netns(f"nd-{server[:5]}-{nodelay}") as ns:
        if server == "small_writes":
            argv = [common.build_example("small_writes"), "--listen", f"127.0.0.1:{PORT}",
                    "--cpus", "0", "--tcp-nodelay", nodelay]
            ctx = common.start_program(ns, argv, PORT, "small_writes")
        else:
            ctx = common.start_coreline(ns, ["--tcp-nodelay", nodelay], port=PORT)
        with ctx:
            before = ns.netstat()
            r = common.run_load(ns, ["-c", conns, "-d", secs, "--cpus", "1",
                                     f"http://127.0.0.1:{PORT}{route}"])
            d = common.counter_delta(before, ns.netstat(), ["DelayedACKs", "TCPAutoCorking"])
    lat = r["latency_us"]
    cells = [f"{'coreline serve' if server == 'coreline' else server} `{route}`", nodelay, conns,
             r["requests"], f"{r['requests_per_sec']:.0f}", common.ms(lat["p50"]),
             common.ms(lat["p99"]), common.ms(lat["p99.9"]), common.ms(lat["max"]),
             d["DelayedACKs"], common.errors_total(r)]
    return cells, r, d


HEADERS = ["server, route", "TCP_NODELAY", "conns", "requests", "req/s", "p50", "p99",
           "p99.9", "max", "DelayedACKs Δ", "errors"]


def main():
    args = common.parse_args(__doc__)
    common.build()
    secs = "2" if args.quick else "5"
    plan = [("small_writes", "/", "off", 1), ("small_writes", "/", "on", 1),
            ("coreline", "/plaintext", "off", 1), ("coreline", "/plaintext", "on", 1)]
    if not args.quick:
        plan += [("small_writes", "/", "off", 16), ("small_writes", "/", "on", 16)]
    grouped = common.interleaved("nodelay", plan, lambda p: row(*p, secs), args.repeats)
    results = {(p[0], p[2], p[3]): runs[0][1:] for p, runs in zip(plan, grouped)}
    if args.quick:
        c = common.Checks("nodelay")
        r, d = results[("small_writes", "off", 1)]
        c.check(r["latency_us"]["p50"] >= 30_000,
                "small writes, TCP_NODELAY off: median response waits for the delayed ACK (>= 30 ms)",
                f"p50 {r['latency_us']['p50']} us")
        c.check(d["DelayedACKs"] >= r["requests"] // 2,
                "small writes, TCP_NODELAY off: a delayed ACK per response (DelayedACKs)",
                f"{d['DelayedACKs']} for {r['requests']} requests")
        r, _ = results[("small_writes", "on", 1)]
        c.check(r["latency_us"]["p50"] < 10_000,
                "small writes, TCP_NODELAY on: no stall (p50 < 10 ms)", f"p50 {r['latency_us']['p50']} us")
        r, _ = results[("coreline", "off", 1)]
        c.check(r["latency_us"]["p50"] < 10_000,
                "coreline /plaintext (one send per response), TCP_NODELAY off: no stall (p50 < 10 ms)",
                f"p50 {r['latency_us']['p50']} us")
        c.exit()
    md = (f"Experiment 4, TCP_NODELAY (kernel {common.kernel()}; keep-alive, closed loop, "
          f"{secs} s per row, server on CPU 0, coreline-load on CPU 1, each row in a fresh "
          f"namespace). {common.RANGE_NOTE}\n\nCommand: `sudo python3 kernel-tuning/experiments/nodelay.py`\n\n"
          + common.ranged_table(HEADERS, [[run[0] for run in runs] for runs in grouped]))
    common.write_result("nodelay", md)


if __name__ == "__main__":
    main()
