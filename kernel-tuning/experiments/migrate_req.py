#!/usr/bin/env python3
"""Experiment 8: tcp_migrate_req and restarts under connections that keep arriving.

In its own network namespace: coreline on CPU 0 (`--reuse-port`), and coreline-load on
CPU 1 opening a new connection per request at a fixed rate (open loop, `--close -R`).
Every RESTART_EVERY seconds a new coreline starts on the same port (SO_REUSEPORT); once
its listener is up the old one is stopped for BUSY_BEFORE_STOP seconds (a process busy
with its last requests: the kernel keeps queueing its share of new connections), gets
SIGTERM and closes its listener after draining what it had accepted. Connections the kernel queued on the old listener after its last accept
are reset when the socket closes, unless net.ipv4.tcp_migrate_req = 1 moves them (and
half-open requests) to the new listener (TcpExtTCPMigrateReqSuccess/Failure).

  migrate_req 0   the default: a closing listener resets its queue
  migrate_req 1   the recommended value: the queue moves to the successor

    sudo python3 kernel-tuning/experiments/migrate_req.py          # full, writes results/
    sudo python3 kernel-tuning/experiments/migrate_req.py --quick  # CI: asserts
"""
import signal
import subprocess
import threading
import time

import common as c

PORT = 8080
RATE = 500  # new connections per second: within what a busy 2-core machine keeps up with
RESTART_EVERY = 1.0
BUSY_BEFORE_STOP = 0.2  # s the old process is stopped (SIGSTOP) right before its SIGTERM
COUNTERS = ["TCPMigrateReqSuccess", "TCPMigrateReqFailure", "ListenDrops", "ListenOverflows"]


def listeners(ns):
    """LISTEN sockets on PORT (one per coreline process here: --cpus 0)."""
    return len(ns.exec(["ss", "-lntH", f"sport = :{PORT}"], check=False).stdout.splitlines())


def start(ns, paths):
    """A coreline on PORT with --reuse-port; returns once its listener is up."""
    before = listeners(ns)
    proc = ns.popen([paths["coreline"], "serve", "--listen", f"127.0.0.1:{PORT}", "--cpus", "0",
                     "--reuse-port", "--drain-timeout", "2"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while listeners(ns) <= before:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"coreline did not start listening (exit {proc.poll()})")
        time.sleep(0.02)
    return proc


class Restarts:
    """While the block runs, replaces the server every `every` s: start the new one, then
    SIGTERM the old one and wait for it to exit."""

    def __init__(self, ns, paths, first, every):
        self.ns, self.paths, self.current, self.every = ns, paths, first, every
        self.count, self.exits = 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.every):
            new = start(self.ns, self.paths)
            old, self.current = self.current, new
            # Told to stop while busy: its queue holds connections when it closes.
            old.send_signal(signal.SIGSTOP)
            time.sleep(BUSY_BEFORE_STOP)
            old.terminate()
            old.send_signal(signal.SIGCONT)
            self.exits.append(old.wait(timeout=15))
            self.count += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


def run(migrate, seconds):
    """One row in a fresh namespace; returns the measurements."""
    paths = c.build()
    with c.Netns(f"mig{migrate}") as ns:
        ns.sysctl("net.ipv4.tcp_migrate_req", migrate)
        first = start(ns, paths)
        before, rst0 = ns.netstat(), ns.snmp()["OutRsts"]
        with Restarts(ns, paths, first, RESTART_EVERY) as restarts:
            load = c.run_load(ns, ["-c", 32, "-R", RATE, "-d", f"{seconds}s", "--close",
                                   "--timeout", "2s", "--cpus", "1",
                                   f"http://127.0.0.1:{PORT}/plaintext"], check=False)
        delta = c.counter_delta(before, ns.netstat(), COUNTERS)
        delta["OutRsts"] = ns.snmp()["OutRsts"] - rst0
        restarts.current.terminate()
        restarts.current.wait(timeout=15)
    causes = load.get("error_causes", {})
    refused = sum(k.get("ECONNREFUSED", 0) for k in causes.values())
    reset = sum(k.get("ECONNRESET", 0) for k in causes.values())
    return {"migrate": migrate, "load": load, "delta": delta, "restarts": restarts.count,
            "bad_exits": sum(1 for e in restarts.exits if e != 0), "refused": refused,
            "reset": reset}


HEADERS = (["tcp_migrate_req", "restarts", "requests done / due", "client errors",
            "refused (ECONNREFUSED)", "reset (ECONNRESET)", "RSTs sent (OutRsts, both ends)", "p50",
            "p99", "p99.9", "max"] + COUNTERS)


def cells(r):
    ld = r["load"]
    return ([r["migrate"], r["restarts"], f"{ld['requests']} / {ld['requests_due']}",
             c.errors_cell(ld), r["refused"], r["reset"], r["delta"]["OutRsts"]]
            + c.latency_cells(ld) + [r["delta"][k] for k in COUNTERS])


def main():
    args = c.parse_args(__doc__)
    c.build()
    seconds = 4 if args.quick else 10
    grouped = c.interleaved("migrate_req", [0, 1], lambda m: run(m, seconds), args.repeats)
    table = c.ranged_table(HEADERS, [[cells(r) for r in runs] for runs in grouped])
    print(table)
    if not args.quick:
        c.write_result("migrate_req", (
            f"Kernel {c.kernel()}; coreline on CPU 0 replaced every {RESTART_EVERY:.0f} s (new "
            f"process with --reuse-port, then the old one stopped {BUSY_BEFORE_STOP * 1000:.0f} ms "
            "and sent SIGTERM); coreline-load on CPU 1, "
            f"{RATE} new connections/s for {seconds} s, open loop, 2 s timeout. {c.RANGE_NOTE}\n"
            "`sudo python3 kernel-tuning/experiments/migrate_req.py`\n\n" + table))
        return
    ck = c.Checks("migrate_req")
    off, on = grouped[0][0], grouped[1][0]
    # Whether a closing listener still holds queued connections depends on whether the old
    # process accepts what queued while it was stopped before its shutdown closes the
    # listener. A migrate_req 1 row where nothing was queued at any close (nothing
    # migrated, nobody reset) shows nothing either way: run it again, at most twice.
    for _ in range(2):
        if on["delta"]["TCPMigrateReqSuccess"] > 0 or on["reset"] > 0:
            break
        print("# migrate_req 1: nothing was queued at any close; running the row again")
        on = run(1, seconds)
        print(c.ranged_table(HEADERS, [[cells(on)]]))
    for r in (off, on):
        ck.check(r["restarts"] >= 2 and r["bad_exits"] == 0,
                 f"migrate_req {r['migrate']}: the server was replaced, every old one exited 0",
                 f"{r['restarts']} restarts, {r['bad_exits']} bad exits")
        ck.check(r["load"]["requests"] >= 0.9 * r["load"]["requests_due"],
                 f"migrate_req {r['migrate']}: ≥ 90 % of the requests done across the restarts",
                 f"{r['load']['requests']} of {r['load']['requests_due']}")
    ck.check(off["delta"]["TCPMigrateReqSuccess"] == 0 and off["delta"]["TCPMigrateReqFailure"] == 0,
             "migrate_req 0: nothing migrated", str(off["delta"]))
    ck.check(off["reset"] > 0, "migrate_req 0: clients queued on a closing listener are reset",
             c.errors_cell(off["load"]))
    # One race is left to the kernel even with migrate_req 1: a handshake whose last ACK
    # is processed on one CPU while the listener closes on the other finds the listener
    # no longer listening when it queues the new socket (inet_csk_reqsk_queue_add), and
    # that socket is reset without a migration attempt (neither counter moves). CI saw it
    # once in 2,000 connections; the hash-only row resets dozens.
    ck.check(on["delta"]["TCPMigrateReqSuccess"] > 0 and on["delta"]["TCPMigrateReqFailure"] == 0
             and on["reset"] <= 2 and on["reset"] < off["reset"],
             "migrate_req 1: queued connections migrate, none fails, resets only from the "
             "kernel's close/handshake race (≤ 2, fewer than migrate_req 0's)",
             f"{on['delta']}, {c.errors_cell(on['load'])}")
    ck.exit()


if __name__ == "__main__":
    main()
