#!/usr/bin/env python3
"""Proxy response bodies spliced vs copied: the proxy's CPU per request, per body size.

An upstream `coreline serve --root DIR` (CPU 0) serves files of each size; two proxies
(CPU 1) forward to it, one with `--proxy-splice-min 0` (every body spliced), one with
`--proxy-splice-min off` (every body copied through user space). `coreline-load` (CPU 0)
sends a fixed number of keep-alive GETs per run; the proxy's CPU time for the run is the
change of utime + stime in /proc/PID/stat. Copy and splice runs alternate, REPEATS times
per size; the table gives each run and the medians.

    python3 bench/scripts/proxy_splice.py --repeats 3 --out bench/results/proxy-splice.md

Run from the workspace root after `cargo build --release -p coreline-http -p coreline-bench`.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SIZES = [4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10, 1 << 20]
BIN = "target/release/coreline"
LOAD = "target/release/coreline-load"
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args):
    port = free_port()
    proc = subprocess.Popen(
        [BIN, "serve", "--listen", f"127.0.0.1:{port}", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"{BIN} {args} did not start")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def requests_for(size):
    # About 1 GiB per run, between 2,000 and 20,000 requests.
    return max(2000, min(20000, (1 << 30) // size))


def run(proc, port, size, connections):
    n = requests_for(size)
    out = tempfile.mktemp(suffix=".json")
    before = cpu_seconds(proc.pid)
    subprocess.run(
        [LOAD, "--cpus", "0", "-c", str(connections), "-n", str(n), "--quiet",
         "--json", out, f"http://127.0.0.1:{port}/f{size}"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    cpu = cpu_seconds(proc.pid) - before
    with open(out) as f:
        result = json.load(f)
    os.unlink(out)
    ok = result["status_counts"].get("200", 0)
    if ok != n:
        sys.exit(f"size {size}: {ok} of {n} answered 200: {result['status_counts']}")
    return cpu / n * 1e6, result["requests_per_sec"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--out", default="bench/results/proxy-splice.md")
    a = ap.parse_args()

    root = tempfile.mkdtemp(prefix="proxy-splice-")
    for size in SIZES:
        with open(os.path.join(root, f"f{size}"), "wb") as f:
            f.write(os.urandom(size))
    upstream, up_port = start(["--cpus", "0", "--root", root])
    route = f"/=http://127.0.0.1:{up_port}"
    modes = {
        "copy": start(["--cpus", "1", "--proxy", route, "--proxy-splice-min", "off"]),
        "splice": start(["--cpus", "1", "--proxy", route, "--proxy-splice-min", "0"]),
    }
    rows = []
    try:
        for size in SIZES:
            for proc, port in modes.values():  # warm the pools and the page cache
                run(proc, port, size, a.connections)
            runs = {m: [] for m in modes}
            for _ in range(a.repeats):
                for mode, (proc, port) in modes.items():
                    runs[mode].append(run(proc, port, size, a.connections))
            rows.append((size, runs))
            print(size, {m: [round(us, 1) for us, _ in r] for m, r in runs.items()})
    finally:
        for proc, _ in [*modes.values(), (upstream, 0)]:
            proc.kill()
            proc.wait()
        shutil.rmtree(root)

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Proxy bodies: spliced vs copied, proxy CPU per request",
        "",
        "**Busy machine, for direction**: other builds and tests shared the two CPUs, so "
        "only the comparison within a size means anything, not the absolute figures.",
        "",
        f"- command: `python3 bench/scripts/proxy_splice.py --repeats {a.repeats}"
        f" --connections {a.connections} --out {a.out}`",
        f"- date: {now}; kernel {platform.release()}",
        "- upstream `coreline serve --root DIR` on CPU 0; proxies on CPU 1 "
        "(`--proxy-splice-min off` / `0`); `coreline-load -c "
        f"{a.connections}` on CPU 0, a fixed request count per run (about 1 GiB, "
        "2,000 to 20,000 requests); proxy CPU = utime + stime from /proc/PID/stat; "
        f"copy and splice runs alternate, {a.repeats} each",
        "",
        "| body | requests/run | copy CPU-µs/req (runs) | splice CPU-µs/req (runs) "
        "| copy median | splice median | splice / copy |",
        "|---:|---:|---|---|---:|---:|---:|",
    ]
    for size, runs in rows:
        med = {m: statistics.median(us for us, _ in r) for m, r in runs.items()}
        each = {m: ", ".join(f"{us:.1f}" for us, _ in r) for m, r in runs.items()}
        lines.append(
            f"| {size // 1024} KiB | {requests_for(size):,} | {each['copy']} | "
            f"{each['splice']} | {med['copy']:.1f} | {med['splice']:.1f} | "
            f"{med['splice'] / med['copy']:.2f} |"
        )
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", a.out)


if __name__ == "__main__":
    main()
