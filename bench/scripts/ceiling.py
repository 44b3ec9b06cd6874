#!/usr/bin/env python3
"""Single-core ceiling: coreline's `ceiling` example vs nginx, same run, interleaved.

Both servers are pinned to CPU 0 and wrk (-t1) to CPU 1, on loopback only.  For
each repeat, scenario (plain keep-alive, 16-deep pipelining) and server we record
wrk's req/s, the server's CPU-seconds during the run (/proc/PID/stat utime+stime;
for nginx the single worker process), and CPU 1's busy share (the client).
Medians over repeats go to stdout, bench/results/ceiling.md and ceiling.json.

    python3 bench/scripts/ceiling.py [--servers ceiling,nginx] [--duration 10]
        [--repeats 3] [--connections 64] [--port-base 18080]

Python 3.11, stdlib only.  Never changes sysctls.
"""
import argparse, datetime, json, os, re, shlex, shutil, socket, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]          # workspace root (bench/scripts/..)
SHARED = ROOT.parent / "shared" / "reference"
RESULTS = ROOT / "bench" / "results"
CLK = os.sysconf("SC_CLK_TCK")
SERVER_CPU, CLIENT_CPU = "0", "1"
SCENARIOS = {"plain": [], "pipelined": ["-s", str(SHARED / "pipeline.lua")]}


def die(msg):
    sys.exit(f"ceiling.py: error: {msg}")


def ensure_tools():
    if shutil.which("nginx") and shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "nginx-light", "wrk"], capture_output=True, timeout=600)
    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool):
            die(f"`{tool}` not found and could not be installed (apt-get install -y nginx-light wrk)")


def nginx_conf(prefix, port):
    """The reference config minus its TLS server block, on our port, everything under prefix."""
    src = (SHARED / "nginx.conf").read_text()
    out, i = [], 0
    for m in re.finditer(r"^\s*server\s*\{", src, re.M):   # drop server blocks that listen ssl
        if m.start() < i:
            continue
        depth, j = 0, m.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(src[j], 0)
            j += 1
            if depth == 0:
                break
        if re.search(r"listen\s+[^;]*\bssl\b", src[m.start():j]):
            out.append(src[i:m.start()])
            i = j + 1 if src[j:j + 1] == "\n" else j
    out.append(src[i:])
    conf = "".join(out)
    conf = re.sub(r"listen\s+127\.0\.0\.1:\d+", f"listen 127.0.0.1:{port}", conf)
    conf = conf.replace("WWW_ROOT", str(prefix / "www"))
    temps = "".join(f"    {k}_temp_path {prefix / 'tmp' / k};\n"
                    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = re.sub(r"^http\s*\{\n", lambda m: m.group(0) + temps, conf, count=1, flags=re.M)
    if "ssl_" in conf or f":{port}" not in conf:
        die("could not derive an nginx config from " + str(SHARED / "nginx.conf"))
    return conf


def proc_stat(pid):
    """(ppid, cpu-seconds) from /proc/PID/stat (fields 4, 14+15)."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(f[1]), (int(f[11]) + int(f[12])) / CLK


def nginx_worker(master, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if proc_stat(d.name)[0] == master:
                        return int(d.name)
                except (OSError, IndexError, ValueError):
                    pass
        time.sleep(0.05)
    die("nginx worker process did not appear")


def cpu_times(cpu):
    """(busy, total) jiffies of one CPU from /proc/stat; busy = total - idle - iowait."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            v = [int(x) for x in line.split()[1:9]]     # user..steal (guest is inside user)
            return sum(v) - v[3] - v[4], sum(v)
    die(f"cpu{cpu} not in /proc/stat")


def wait_port(port, proc, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            die(f"server on port {port} exited with status {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    die(f"server on port {port} did not start listening")


def start_servers(names, port_base, tmp, procs):
    """Start each server pinned to CPU 0; return {name: (port, pid to measure)}."""
    out = {}
    for name in names:
        port = port_base + (name == "nginx")    # ceiling: base, nginx: base + 1
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            die(f"port {port} is already in use (try --port-base)")
        except OSError:
            pass
        if name == "ceiling":
            cmd = ["taskset", "-c", SERVER_CPU, str(ROOT / "target/release/examples/ceiling"),
                   f"127.0.0.1:{port}", SERVER_CPU]
        else:
            prefix = tmp / "nginx"
            for d in ("logs", "www", "tmp"):
                (prefix / d).mkdir(parents=True, exist_ok=True)
            (prefix / "nginx.conf").write_text(nginx_conf(prefix, port))
            cmd = ["taskset", "-c", SERVER_CPU, "nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        procs.append(p)                        # taskset execs: p.pid is the server itself
        wait_port(port, p)
        out[name] = (port, nginx_worker(p.pid) if name == "nginx" else p.pid)
    return out


def run_wrk(port, pid, scenario, duration, conns):
    cmd = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{conns}", f"-d{duration}s",
           *SCENARIOS[scenario], f"http://127.0.0.1:{port}/hello"]
    c0, (b0, t0), w0 = proc_stat(pid)[1], cpu_times(CLIENT_CPU), time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
    c1, (b1, t1), w1 = proc_stat(pid)[1], cpu_times(CLIENT_CPU), time.monotonic()
    m = re.search(r"Requests/sec:\s*([\d.]+)", r.stdout)
    if r.returncode != 0 or not m:
        die(f"wrk failed (rc {r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", r.stdout)
    sock = re.search(r"Socket errors:\s*(.*)", r.stdout)
    n = re.search(r"(\d+) requests in", r.stdout)
    rps, cpu, wall = float(m.group(1)), c1 - c0, w1 - w0
    reqs = int(n.group(1)) if n else rps * wall
    return {"rps": rps, "cpu_us_per_req": cpu / reqs * 1e6 if reqs else float("nan"), "requests": reqs,
            "server_core_pct": 100 * cpu / wall, "client_core_pct": 100 * (b1 - b0) / max(t1 - t0, 1),
            "server_cpu_s": cpu, "wall_s": wall, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sock.group(1).strip() if sock else ""}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--servers", default="ceiling,nginx")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--port-base", type=int, default=18080)
    a = ap.parse_args()
    names = [s for s in ("ceiling", "nginx") if s in a.servers.split(",")]
    if not names or set(a.servers.split(",")) - {"ceiling", "nginx"}:
        die("--servers takes a comma list of: ceiling, nginx")
    if (os.cpu_count() or 1) < 2:
        die("needs at least 2 CPUs (server on 0, wrk on 1)")
    ensure_tools()
    if "ceiling" in names:
        b = subprocess.run(["cargo", "build", "--release", "-p", "coreline-runtime", "--example", "ceiling"],
                           cwd=ROOT, timeout=1800)
        if b.returncode != 0:
            die("cargo build of the ceiling example failed")
    cmdline = "python3 " + " ".join(shlex.quote(x) for x in sys.argv)
    kernel = os.uname().release
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    runs = {(s, n): [] for s in SCENARIOS for n in names}
    procs = []
    with tempfile.TemporaryDirectory(prefix="ceiling-bench-") as tmp:
        try:
            servers = start_servers(names, a.port_base, Path(tmp), procs)
            for n in names:                                   # 1 s warm-up each
                run_wrk(*servers[n], "plain", 1, a.connections)
            for rep in range(a.repeats):
                for s in SCENARIOS:
                    for n in names:
                        r = run_wrk(*servers[n], s, a.duration, a.connections)
                        runs[(s, n)].append(r)
                        print(f"# rep {rep + 1} {s:9} {n:7} {r['rps']:>12,.0f} req/s  "
                              f"{r['cpu_us_per_req']:.3f} us/req  server {r['server_core_pct']:.0f}%  "
                              f"client {r['client_core_pct']:.0f}%  non-2xx {r['non2xx']}  "
                              f"socket errors: {r['socket_errors'] or 'none'}", file=sys.stderr)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                    try:
                        p.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()

    keys = ("rps", "cpu_us_per_req", "server_core_pct", "client_core_pct")
    med = {k: {m: statistics.median(r[m] for r in v) for m in keys} for k, v in runs.items()}
    errs = {k: (sum(r["non2xx"] for r in v), sorted({r["socket_errors"] for r in v if r["socket_errors"]}))
            for k, v in runs.items()}
    lines = ["# Single-core ceiling: coreline `ceiling` example vs nginx", "",
             f"- command: `{cmdline}`", f"- date: {date}", f"- kernel: {kernel}",
             f"- server pinned to CPU {SERVER_CPU}, wrk -t1 -c{a.connections} -d{a.duration}s pinned to CPU "
             f"{CLIENT_CPU}; medians of {a.repeats} interleaved repeat(s); nginx CPU = its one worker process", "",
             "| scenario | server | req/s | server CPU-µs/req | server core % | client core % | non-2xx | socket errors |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for s in SCENARIOS:
        for n in names:
            m, (nx, se) = med[(s, n)], errs[(s, n)]
            lines.append(f"| {s} | {n} | {m['rps']:,.0f} | {m['cpu_us_per_req']:.3f} | "
                         f"{m['server_core_pct']:.1f} | {m['client_core_pct']:.1f} | {nx} | {'; '.join(se) or 'none'} |")
        if len(names) == 2:
            c, g = med[(s, "ceiling")], med[(s, "nginx")]
            lines.append(f"| {s} | **ceiling/nginx** | {c['rps'] / g['rps']:.2f}× | "
                         f"{c['cpu_us_per_req'] / g['cpu_us_per_req']:.2f}× | | | | |")
    md = "\n".join(lines) + "\n"
    print(md)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ceiling.md").write_text(md)
    (RESULTS / "ceiling.json").write_text(json.dumps({
        "command": cmdline, "date": date, "kernel": kernel, "duration_s": a.duration,
        "connections": a.connections, "repeats": a.repeats, "server_cpu": SERVER_CPU, "client_cpu": CLIENT_CPU,
        "median": {f"{s}/{n}": v for (s, n), v in med.items()},
        "runs": {f"{s}/{n}": v for (s, n), v in runs.items()}}, indent=2) + "\n")


if __name__ == "__main__":
    main()
