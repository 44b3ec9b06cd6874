#!/usr/bin/env python3
"""Experiment 7: listener modes (reuseport, shared, steered) with one core slowed.

In its own network namespace: coreline on CPUs 0 and 1 (`--listener-mode MODE`), and
coreline-load on CPU 1 opening a new connection per request at a fixed rate (open loop,
`--close -R`), so the client shares a core with the server, as on a busy host. In the
`slow core 0` rows the thread of the server's core 0 is made SCHED_IDLE and a busy loop
runs on CPU 0: the core gets the CPU only in rare short slices, like a core starved by a
noisy neighbour or an interrupt storm, while everything else on CPU 0 (the kernel, the
rest of the host) shares it as usual.

  reuseport   a socket per core; the kernel hashes each connection to one
  shared      one socket, a multishot accept on it from each core
  steered     a socket per core; a BPF program picks the core with the lowest load (open
              connections plus those sent to it and not accepted yet) among the cores
              that do not lag (their recent wait for a CPU, or for their connections to
              be accepted, is within twice the lowest plus a slack)

Per row: each core's share of the accepted connections (the admin listener's
coreline_http_connections_accepted_total), how many of those a core took over from the
other core's listener while that core lagged (steered only:
coreline_http_connections_taken_over_total), how many a core accepted while it lagged and
handed to the other core (steered only: coreline_http_connections_handed_off_total; the
other core counts them as accepted), accept-queue overflows (ListenOverflows), and
the connect + first-response latency percentiles. The per-core counts are the measured
window's: the counters are read again when the 1 s warm-up ends, and the warm-up's counts
are printed to stderr, not put in the table.

    sudo python3 kernel-tuning/experiments/reuseport_balance.py          # full, writes results/
    sudo python3 kernel-tuning/experiments/reuseport_balance.py --quick  # CI: asserts
    sudo python3 kernel-tuning/experiments/reuseport_balance.py --steered-only  # the steered
        rows alone (healthy and starved), written to results/reuseport_balance_steered.md
"""
import re
import sys
import time

import common as c

PORT = 8080
ADMIN = 9090
RATE = 1000  # new connections per second
WARMUP = 1  # seconds of load before the measured window
MODES = ["reuseport", "shared", "steered"]
COUNTERS = ["ListenOverflows", "ListenDrops"]
_ACCEPTED = re.compile(r'^coreline_http_connections_accepted_total\{core="(\d+)"\} (\S+)$', re.M)
_TAKEN = re.compile(r'^coreline_http_connections_taken_over_total\{core="(\d+)"\} (\S+)$', re.M)
_HANDED = re.compile(r'^coreline_http_connections_handed_off_total\{core="(\d+)"\} (\S+)$', re.M)

FETCH = ("import sys, urllib.request; "
         "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())")


def accepted_per_core(ns):
    """({core index: connections accepted}, {core index: of those, taken over from a
    lagging core's listener}, {core index: accepted while lagging and handed to another
    core}) from the server's admin listener."""
    text = ns.exec([sys.executable, "-c", FETCH, f"http://127.0.0.1:{ADMIN}/metrics"]).stdout
    count = lambda pattern: {int(core): int(float(n)) for core, n in pattern.findall(text)}
    return count(_ACCEPTED), count(_TAKEN), count(_HANDED)


def core0_thread(ns, pid):
    """The tid of the server's core 0 thread. With --metrics the admin listener runs a
    runtime of its own, started first, whose core thread has the same name: the server's
    is the later one."""
    out = ns.exec(["sh", "-c", f"grep -l '^coreline-http-0$' /proc/{pid}/task/*/comm"]).stdout
    tids = sorted(int(path.split("/")[4]) for path in out.split())
    if not tids:
        raise RuntimeError("no coreline-http-0 thread")
    return tids[-1]


def run(slow, mode, seconds):
    """One row in a fresh namespace; returns the measurements."""
    paths = c.build()
    with c.Netns(f"bal-{mode}") as ns:
        args = ["--listener-mode", mode, "--metrics", f"127.0.0.1:{ADMIN}"]
        with c.start_coreline(ns, args, port=PORT, cpus="0,1") as server:
            hog = None
            if slow:
                ns.exec(["chrt", "-i", "-p", "0", core0_thread(ns, server.pid)])
                hog = ns.popen(["taskset", "-c", "0", sys.executable, "-c", "while True: pass"])
            before = ns.netstat()
            # The warm-up takes the client's first connections, opened all at once; the
            # per-core counters are read again when the measured window starts, so the
            # table counts the window alone.
            start = accepted_per_core(ns)
            t0 = time.monotonic()
            load = c.BackgroundLoad(ns, ["-c", 64, "-R", RATE, "-d", f"{seconds}s",
                                         "--warmup", WARMUP, "--close", "--timeout", "2s",
                                         "--cpus", "1", f"http://127.0.0.1:{PORT}/plaintext"])
            time.sleep(max(0.0, WARMUP - (time.monotonic() - t0)))
            window = accepted_per_core(ns)
            load = load.result()
            delta = c.counter_delta(before, ns.netstat(), COUNTERS)
            end = accepted_per_core(ns)
            if hog is not None:
                hog.kill()
                hog.wait()
        stderr = server.stderr.read() if server.stderr else ""
    between = lambda a, b: [[b[k].get(i, 0) - a[k].get(i, 0) for i in (0, 1)] for k in range(3)]
    per_core, taken, handed = between(window, end)
    warm = between(start, window)
    print(f"{'starved' if slow else 'healthy'} {mode} warm-up: accepted {warm[0]}, taken over "
          f"{warm[1]}, handed off {warm[2]}", file=sys.stderr)
    return {"slow": slow, "mode": mode, "load": load, "delta": delta, "per_core": per_core,
            "taken": taken, "handed": handed,
            "fell_back": "unavailable" in stderr}


HEADERS = (["core 0", "listener mode", "requests done / due", "client errors",
            "accepted by core 0 / core 1", "of those taken over from the other core",
            "handed off to the other core",
            "core 0 share", "p50", "p99", "p99.9", "max"]
           + COUNTERS)


def share0(r):
    total = sum(r["per_core"])
    return r["per_core"][0] / total if total else 0.0


def cells(r):
    ld = r["load"]
    mode = r["mode"] + (" (fell back to reuseport)" if r["fell_back"] else "")
    return ([("starved" if r["slow"] else "healthy"), mode,
             f"{ld['requests']} / {ld['requests_due']}", c.errors_cell(ld),
             f"{r['per_core'][0]} / {r['per_core'][1]}",
             f"{r['taken'][0]} / {r['taken'][1]}", f"{r['handed'][0]} / {r['handed'][1]}",
             f"{share0(r) * 100:.0f} %"]
            + c.latency_cells(ld) + [r["delta"][k] for k in COUNTERS])


def main():
    args = c.parse_args(__doc__, lambda p: p.add_argument(
        "--steered-only", action="store_true",
        help="full mode: only the steered rows, to results/reuseport_balance_steered.md"))
    c.build()
    seconds = 3 if args.quick else 10
    modes = ["steered"] if args.steered_only and not args.quick else MODES
    plan = [(slow, mode) for slow in (False, True) for mode in modes]
    grouped = c.interleaved("reuseport_balance", plan, lambda p: run(*p, seconds), args.repeats)
    table = c.ranged_table(HEADERS, [[cells(r) for r in runs] for runs in grouped])
    print(table)
    if not args.quick:
        name = "reuseport_balance_steered" if args.steered_only else "reuseport_balance"
        c.write_result(name, (
            f"Kernel {c.kernel()}; coreline on CPUs 0 and 1, coreline-load on CPU 1 (sharing "
            f"the server's core 1), {RATE} new connections/s for {seconds} s, open loop, 2 s "
            f"timeout, 1 s warm-up not measured, `/plaintext`. Slow core 0: the server's core 0 "
            f"thread SCHED_IDLE and a busy loop on CPU 0. {c.RANGE_NOTE}\n"
            "`sudo python3 kernel-tuning/experiments/reuseport_balance.py"
            + (" --steered-only" if args.steered_only else "") + "`\n\n" + table))
        return
    ck = c.Checks("reuseport_balance")
    rows = {(r["slow"], r["mode"]): r for runs in grouped for r in runs}
    done = lambda r: r["load"]["requests"] / max(1, r["load"]["requests_due"])
    for r in [rows[(False, m)] for m in MODES] + [rows[(True, "steered")]]:
        ck.check(done(r) >= 0.9,
                 f"{r['mode']}, {'starved' if r['slow'] else 'healthy'} core 0: ≥ 90 % of the "
                 "requests done", f"{r['load']['requests']} of {r['load']['requests_due']}")
    steered = rows[(True, "steered")]
    ck.check(not steered["fell_back"], "steered: the BPF program was loaded (no fallback)",
             "fell back to reuseport")
    hashed = rows[(True, "reuseport")]
    ck.check(0.3 <= share0(hashed) <= 0.7,
             "reuseport: the hash gives the starved core about half of the connections",
             f"core 0 share {share0(hashed):.2f}")
    ck.check(done(hashed) < 0.9 or hashed["load"]["latency_us"]["p99"] > 100_000,
             "reuseport: connections hashed to the starved core wait (< 90 % done or p99 > 100 ms)",
             f"{done(hashed):.2f} done, p99 {c.ms(hashed['load']['latency_us']['p99'])}")
    ck.check(share0(steered) < share0(hashed) - 0.1,
             "steered: the starved core gets clearly fewer connections than under the hash",
             f"core 0 share {share0(steered):.2f} against {share0(hashed):.2f}")
    healthy = rows[(False, "steered")]
    ck.check(min(healthy["per_core"]) > 0,
             "steered, both cores healthy: both cores accept", str(healthy["per_core"]))
    ck.exit()


if __name__ == "__main__":
    main()
