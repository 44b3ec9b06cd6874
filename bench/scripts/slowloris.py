#!/usr/bin/env python3
"""Slowloris against normal clients' tail latency, measured with an open-loop load.

    python3 bench/scripts/slowloris.py [--slow 2000] [--rate 50000] [--duration 5] [--repeats 3]

`coreline serve --cpus 0` on CPU 0. Normal clients: `coreline-load -c 64 -R RATE -d SECS
--cpus 1` (latency from each request's due time). Each repeat measures their p99 alone, then
with SLOW connections that each send one header byte per second (spread evenly over the
second, never finishing the head) from this script, also on CPU 1; the slow connections are
opened 1 s before the load starts and are closed by the server at its header timeout (10 s).
Medians of the repeats, the ratio during/alone, and how many slow connections the server
closed go to stdout and bench/results/slowloris.md. Stdlib only; loopback only.
"""
import argparse, datetime, json, os, resource, shlex, socket, statistics, subprocess, sys, tempfile, threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target/release/coreline"
LOAD = ROOT / "target/release/coreline-load"
HEAD = b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Slow: "


def load(port, rate, secs, out):
    cmd = [str(LOAD), "-c", "64", "-R", str(rate), "-d", str(secs), "--cpus", "1", "--quiet",
           "--json", str(out), f"http://127.0.0.1:{port}/plaintext"]
    subprocess.run(cmd, check=True, capture_output=True)
    r = json.loads(out.read_text())
    if sum(r["errors"].values()):
        sys.exit(f"slowloris: normal clients saw errors: {r['errors']}")
    return r["latency_us"]["p99"], r["requests_per_sec"]


def trickle(conns, stop, closed):
    """One byte per connection per second, spread over the second, until `stop`."""
    gap = 1.0 / len(conns)
    i = 0
    while not stop.is_set():
        start = time.monotonic()
        for n, c in enumerate(conns):
            if c is None:
                continue
            try:
                c.send(HEAD[i:i + 1] if i < len(HEAD) else b"a")
            except OSError:
                conns[n] = None
                closed[0] += 1
            delay = start + gap * (n + 1) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if stop.is_set():
                return
        i += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--slow", type=int, default=2000)
    ap.add_argument("--rate", type=int, default=50000)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "coreline-http", "--bin", "coreline",
                    "-p", "coreline-bench", "--bin", "coreline-load"], cwd=ROOT, check=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(["taskset", "-c", "0", str(BIN), "serve", "--cpus", "0", "--listen",
                               f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    alone, during, closed_total = [], [], 0
    try:
        time.sleep(0.5)
        with tempfile.TemporaryDirectory() as t:
            out = Path(t) / "load.json"
            for rep in range(a.repeats):
                alone.append(load(port, a.rate, a.duration, out)[0])
                conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(a.slow)]
                stop, closed = threading.Event(), [0]
                th = threading.Thread(target=trickle, args=(conns, stop, closed))
                th.start()
                time.sleep(1)
                during.append(load(port, a.rate, a.duration, out)[0])
                # Keep trickling until the server's 10 s header timeout closes them.
                deadline = time.monotonic() + 15
                while closed[0] < a.slow and time.monotonic() < deadline:
                    time.sleep(0.2)
                stop.set()
                th.join()
                closed_total += closed[0]
                for c in conns:
                    if c is not None:
                        c.close()
                print(f"rep {rep + 1}: p99 alone {alone[-1]:.0f} µs, with {a.slow} slowloris "
                      f"{during[-1]:.0f} µs; {closed[0]} of them closed by the server", flush=True)
                time.sleep(1)
    finally:
        server.terminate()
        server.wait()
    p_alone, p_during = statistics.median(alone), statistics.median(during)
    lines = [f"# Slowloris: {a.slow} connections at one header byte per second vs normal clients' p99", "",
             f"- command: `{shlex.join(['python3', 'bench/scripts/slowloris.py', *sys.argv[1:]])}`",
             f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}; kernel {os.uname().release}",
             f"- `coreline serve --cpus 0` on CPU 0; normal clients `coreline-load -c 64 -R {a.rate} -d {a.duration} "
             "--cpus 1` (open loop, latency from the due time); slowloris from this script, also on CPU 1", "",
             "| repeat | p99 alone µs | p99 with slowloris µs |", "|---:|---:|---:|"]
    lines += [f"| {i + 1} | {x:.0f} | {y:.0f} |" for i, (x, y) in enumerate(zip(alone, during))]
    lines += ["", f"Median p99 {p_alone:.0f} µs alone, {p_during:.0f} µs with slowloris: "
              f"**{p_during / p_alone:.2f}×**. Slow connections closed by the server (408 at the header "
              f"timeout): {closed_total} of {a.slow * a.repeats}."]
    (ROOT / "bench/results/slowloris.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
