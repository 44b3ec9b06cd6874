#!/usr/bin/env python3
"""coreline-load against wrk on the same target in the same run: nginx (the reference config,
one worker) pinned to CPU 0, each load generator pinned to CPU 1 in turn, interleaved.

    python3 bench/scripts/load_vs_wrk.py [--duration 5] [--repeats 3]

Scenarios: 64 keep-alive connections on /plaintext, and the same with 16 pipelined requests
per write (wrk with ../shared/reference/pipeline.lua, coreline-load --pipeline 16). Per run:
the load's req/s and the client CPU's busy share (/proc/stat). Medians to stdout and
bench/results/load_vs_wrk.md. Reuses compare.py's nginx set-up; stdlib only.
"""
import argparse, datetime, importlib.util, json, os, re, shlex, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("compare", HERE / "compare.py")
compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare)
ROOT = compare.ROOT
LOAD = ROOT / "target/release/coreline-load"
CONNS = 64


def busy_share(before, after):
    return 100.0 * (after[0] - before[0]) / max(1, after[1] - before[1])


def run_wrk(url, secs, pipelined):
    args = ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNS}", f"-d{secs}s", url]
    if pipelined:
        args[4:4] = ["-s", str(compare.SHARED / "pipeline.lua")]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def run_load(url, secs, pipelined, tmp):
    out = tmp / "load.json"
    args = [str(LOAD), "-c", str(CONNS), "-d", str(secs), "--cpus", "1", "--quiet", "--json", str(out)]
    if pipelined:
        args += ["--pipeline", "16"]
    subprocess.run(args + [url], capture_output=True, check=True)
    r = json.loads(out.read_text())
    if sum(r["errors"].values()):
        sys.exit(f"load_vs_wrk: coreline-load errors {r['errors']}")
    return r["requests_per_sec"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    compare.ensure_tools(["nginx", "wrk", "taskset"])
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "coreline-bench", "--bin", "coreline-load"],
                   cwd=ROOT, check=True)
    nofile = compare.raise_nofile()
    results = {}
    with tempfile.TemporaryDirectory(prefix="load-vs-wrk-") as t:
        tmp = Path(t)
        proc, _ = compare.start_server("nginx", 28180, tmp, nofile)
        url = "http://127.0.0.1:28180/plaintext"
        try:
            for rep in range(a.repeats):
                for scenario, pipelined in (("plain64", False), ("pipelined16", True)):
                    for tool in ("wrk", "coreline-load"):
                        time.sleep(1)
                        before = compare.cpu_times(1)
                        rps = (run_wrk(url, a.duration, pipelined) if tool == "wrk"
                               else run_load(url, a.duration, pipelined, tmp))
                        share = busy_share(before, compare.cpu_times(1))
                        results.setdefault((scenario, tool), []).append((rps, share))
                        print(f"rep {rep + 1} {scenario} {tool}: {rps:,.0f} req/s, client CPU {share:.0f} %",
                              flush=True)
        finally:
            compare.stop(proc)
    lines = ["# coreline-load vs wrk, same target (nginx, one worker on CPU 0), same run", "",
             f"- command: `python3 bench/scripts/load_vs_wrk.py {shlex.join(sys.argv[1:])}`",
             f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}; kernel {os.uname().release}",
             f"- {CONNS} keep-alive connections, {a.duration} s per run, medians of {a.repeats} interleaved repeats; "
             "both tools pinned to CPU 1 (wrk -t1, coreline-load --cpus 1)", "",
             "| scenario | tool | req/s | client CPU % | coreline-load / wrk |", "|---|---|---:|---:|---:|"]
    for scenario in ("plain64", "pipelined16"):
        med = {tool: (statistics.median(r for r, _ in results[(scenario, tool)]),
                      statistics.median(s for _, s in results[(scenario, tool)]))
               for tool in ("wrk", "coreline-load")}
        for tool, (rps, share) in med.items():
            ratio = f"{med['coreline-load'][0] / med['wrk'][0]:.2f}x" if tool == "coreline-load" else ""
            lines.append(f"| {scenario} | {tool} | {rps:,.0f} | {share:.0f} | {ratio} |")
    report = "\n".join(lines) + "\n"
    (ROOT / "bench/results/load_vs_wrk.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
