#!/usr/bin/env python3
"""One server core: coreline vs nginx vs hyper vs the runtime's ceiling, same run, interleaved.

Legacy: `coreline-bench compare` (bench/README.md) supersedes this wrk-only script and covers
what it does (`--load wrk`, `--servers ...,ceiling`); it is kept so that the results recorded
with it (bench/results/http.md, files.md, ceiling.md) stay reproducible.

Every server is pinned to CPU 0 and wrk (-t1) to CPU 1, on loopback only, path /plaintext:

    coreline  target/release/coreline serve --listen 127.0.0.1:PORT --cpus 0
    nginx     ../shared/reference/nginx.conf minus TLS, one worker (CPU = that worker process)
    hyper     target/release/hyper-peer 127.0.0.1:PORT 0   (bench/src/bin/hyper-peer.rs)
    ceiling   target/release/examples/ceiling 127.0.0.1:PORT 0   (no HTTP parsing at all)
    coreline-metrics  coreline as above plus --metrics 127.0.0.1:PORT+1000 (latency metrics on;
              not in the default list: `--servers coreline,coreline-metrics` measures their cost)
    coreline-rxts  coreline-metrics plus --metrics-rx-timestamps (kernel receive timestamps;
              `--servers coreline,coreline-metrics,coreline-rxts` measures what they add)

Scenarios: plainN = keep-alive with N connections (plain64, plain1024); pipelinedD = D
requests per write (wrk with ../shared/reference/pipeline.lua for D = 16) on 64 connections;
fileSIZE (file64k, file1m) = GET of a static file of that size on 64 keep-alive connections,
from the same directory for both (coreline `--root DIR`, nginx `root DIR` with `sendfile on`),
reported also as GB/s and server CPU-seconds per GB.
Runs are interleaved: for each repeat, for each scenario, for each server.  Per run: wrk's
req/s, the server's CPU-seconds over the run (/proc/PID/stat utime+stime), hence CPU-µs per
request and requests per server CPU-second (the headline: one wrk core saturates near 200 K
req/s before these servers do), the server's and the client core's busy share, errors.
Medians over repeats, ratios against coreline (or, without it, against nginx), and which side
was the limit go to stdout, bench/results/NAME.md and NAME.json (NAME = --out, "http").

    python3 bench/scripts/compare.py [--servers coreline,nginx,hyper,ceiling[,coreline-metrics][,coreline-rxts]]
        [--scenarios plain64,plain1024,pipelined16] [--duration 10] [--repeats 3]
        [--pipeline-connections 64] [--port-base 18080] [--quiet-wait 30] [--retries 2] [--out http]

On a shared machine each run waits for both CPUs to go idle first, and a run disturbed by
other processes on the pinned CPUs (or in which neither core saturated) is redone up to
--retries times; those still disturbed are listed under the table.  bench/README.md explains
every column.  Python 3.11, stdlib only.  Raises its own RLIMIT_NOFILE (inherited by the
servers and wrk); never changes sysctls.
"""
import argparse, datetime, json, os, re, resource, shlex, shutil, socket, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]          # workspace root (bench/scripts/..)
SHARED = ROOT.parent / "shared" / "reference"
RESULTS = ROOT / "bench" / "results"
CLK = os.sysconf("SC_CLK_TCK")
SERVER_CPU, CLIENT_CPU = "0", "1"
ALL_SERVERS = ("coreline", "nginx", "hyper", "ceiling", "coreline-metrics", "coreline-rxts")
DEFAULT_SERVERS = "coreline,nginx,hyper,ceiling"
DEFAULT_SCENARIOS = "plain64,plain1024,pipelined16"
PATH = "/plaintext"
NOFILE = 65536
SATURATED = 95.0                                    # core % from which a side is "the limit"
QUIET = 10.0                                        # both CPUs below this busy % before a run
OTHER = 15.0                                        # CPU % not the server's or wrk's: a disturbed run
PROG = "compare.py"
FILE_SIZES = {}                                     # file scenario name -> file size in bytes
FILE_CONNS = 64

# What each server needs built, and the binary that build leaves.
BUILDS = {
    "coreline": (["cargo", "build", "--release", "-p", "coreline-http", "--bin", "coreline"],
                 ROOT / "target/release/coreline"),
    "coreline-metrics": (["cargo", "build", "--release", "-p", "coreline-http", "--bin", "coreline"],
                         ROOT / "target/release/coreline"),
    "coreline-rxts": (["cargo", "build", "--release", "-p", "coreline-http", "--bin", "coreline"],
                      ROOT / "target/release/coreline"),
    "hyper": (["cargo", "build", "--release", "-p", "coreline-bench", "--bin", "hyper-peer"],
              ROOT / "target/release/hyper-peer"),
    "ceiling": (["cargo", "build", "--release", "-p", "coreline-runtime", "--example", "ceiling"],
                ROOT / "target/release/examples/ceiling"),
}


class Skip(Exception):
    """A server that cannot take part in this run (reported, not fatal)."""


def die(msg):
    sys.exit(f"{PROG}: error: {msg}")


def note(msg):
    print(f"# {msg}", file=sys.stderr, flush=True)


def parse_scenarios(spec, pipeline_conns):
    """{name: (connections, pipeline depth)} from e.g. 'plain64,plain1024,pipelined16'."""
    out = {}
    for name in [s.strip() for s in spec.split(",") if s.strip()]:
        f = re.fullmatch(r"file(\d+)([km])", name)
        if f and int(f.group(1)) >= 1:
            FILE_SIZES[name] = int(f.group(1)) << (10 if f.group(2) == "k" else 20)
            out[name] = (FILE_CONNS, 1)
            continue
        m = re.fullmatch(r"(plain|pipelined)(\d+)", name)
        if not m or int(m.group(2)) < 1:
            die(f"unknown scenario '{name}' (plainN: N keep-alive connections; pipelinedD: depth D; "
                "fileNk / fileNm: a static file of N KiB / MiB)")
        n = int(m.group(2))
        out[name] = (n, 1) if m.group(1) == "plain" else (pipeline_conns, n)
    if not out:
        die("--scenarios is empty")
    return out


def ensure_tools(names):
    need = [t for t in ("wrk", "taskset") + (("nginx",) if "nginx" in names else ()) if not shutil.which(t)]
    if need and os.geteuid() == 0 and shutil.which("apt-get"):
        pkgs = {"wrk": "wrk", "nginx": "nginx-light", "taskset": "util-linux"}
        note(f"installing {', '.join(need)} with apt-get")
        subprocess.run(["apt-get", "install", "-y", "-qq", *(pkgs[t] for t in need)],
                       capture_output=True, timeout=600)
    for tool in need:
        if not shutil.which(tool):
            die(f"`{tool}` not found and could not be installed: run `apt-get install -y nginx-light wrk` "
                "(or ci/test.sh, which installs them) as root")


def raise_nofile():
    """Raise RLIMIT_NOFILE for this process and so for every child (servers, wrk)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < NOFILE:
        try:                                            # root may raise the hard limit too
            resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    elif soft < NOFILE:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def nginx_conf(prefix, port, nofile):
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
    # 1,024 connections need the fds and the connection slots (the reference has 16384 slots).
    if not re.search(r"^\s*worker_rlimit_nofile\b", conf, re.M):
        conf = re.sub(r"^(\s*worker_processes[^;]*;\n)", rf"\g<1>worker_rlimit_nofile {nofile};\n",
                      conf, count=1, flags=re.M)
    conf = re.sub(r"worker_connections\s+(\d+)", lambda m: f"worker_connections {max(int(m.group(1)), 16384)}", conf)
    if "ssl_" in conf or f":{port}" not in conf or "worker_rlimit_nofile" not in conf \
            or f"location = {PATH}" not in conf:
        die("could not derive an nginx config from " + str(SHARED / "nginx.conf"))
    return conf


def proc_stat(pid):
    """(ppid, cpu-seconds) from /proc/PID/stat (fields 4, 14+15; all threads of the process)."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(f[1]), (int(f[11]) + int(f[12])) / CLK


def rss_kib(pid):
    m = re.search(r"^VmRSS:\s*(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(m.group(1)) if m else None


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
    """(busy, total, task) jiffies of one CPU from /proc/stat: busy = total - idle - iowait;
    task = user + nice + system, the part that processes are charged for (no irq, softirq)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            v = [int(x) for x in line.split()[1:9]]     # user..steal (guest is inside user)
            return sum(v) - v[3] - v[4], sum(v), v[0] + v[1] + v[2]
    die(f"cpu{cpu} not in /proc/stat")


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def wait_port(name, port, proc, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise Skip(f"{name} exited with status {proc.returncode} before listening on port {port}")
        if port_open(port):
            return
        time.sleep(0.05)
    raise Skip(f"{name} did not start listening on port {port} within {timeout:.0f} s")


def build(names):
    """cargo-build what the servers need; coreline is skipped (with a note) if it fails."""
    skipped = {}
    for name in [n for n in names if n in BUILDS]:
        cmd, _ = BUILDS[name]
        note("building " + name + ": " + " ".join(cmd))
        b = subprocess.run(cmd, cwd=ROOT, timeout=1800, capture_output=True, text=True)
        if b.returncode != 0:
            tail = "\n".join(b.stderr.strip().splitlines()[-15:])
            if name != "coreline":
                die(f"`{' '.join(cmd)}` failed:\n{tail}")
            skipped[name] = "skipped: `" + " ".join(cmd) + "` failed (the binary cannot be built yet)"
            note(f"coreline {skipped[name]}\n{tail}")
    return skipped


def start_server(name, port, tmp, nofile):
    """Start one server pinned to CPU 0; return (Popen, pid to measure)."""
    if port_open(port):
        die(f"port {port} is already in use (try --port-base)")
    if name == "nginx":
        prefix = tmp / "nginx"
        for d in ("logs", "www", "tmp"):
            (prefix / d).mkdir(parents=True, exist_ok=True)
        (prefix / "nginx.conf").write_text(nginx_conf(prefix, port, nofile))
        cmd = ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
    elif name in ("coreline", "coreline-metrics", "coreline-rxts"):
        cmd = [str(BUILDS["coreline"][1]), "serve", "--cpus", SERVER_CPU, "--listen", f"127.0.0.1:{port}",
               "--root", str(tmp / "nginx" / "www")]          # nginx's root too
        if name != "coreline":                          # admin listener (and its hlog) out of the way
            cmd += ["--metrics", f"127.0.0.1:{port + 1000}", "--metrics-hlog", str(tmp)]
        if name == "coreline-rxts":
            cmd += ["--metrics-rx-timestamps"]
    else:
        cmd = [str(BUILDS[name][1]), f"127.0.0.1:{port}", SERVER_CPU]
    log = tmp / f"{name}.log"
    with open(log, "wb") as err:                        # taskset execs: p.pid is the server itself
        p = subprocess.Popen(["taskset", "-c", SERVER_CPU, *cmd], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_port(name, port, p)
    except Skip as e:
        stop(p)
        said = log.read_text(errors="replace").strip()
        raise Skip(f"{e}" + (f"; it said: {said[-500:]}" if said else "")) from None
    return p, (nginx_worker(p.pid) if name == "nginx" else p.pid)


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wrk_args(scenario, tmp):
    conns, depth = scenario
    args = ["-t1", f"-c{conns}"]
    if depth > 1:
        script = SHARED / "pipeline.lua"
        if depth != 16:                                 # the reference script, another depth
            script = tmp / f"pipeline{depth}.lua"
            text = (SHARED / "pipeline.lua").read_text()
            script.write_text(re.sub(r"local depth = \d+", f"local depth = {depth}", text))
        args += ["-s", str(script)]
    return args


def busy_pct(a, b, part=0):
    """Share (%) of a CPU's time between two cpu_times() samples: busy (part 0) or task (part 2)."""
    return 100 * (b[part] - a[part]) / max(b[1] - a[1], 1)


def wait_quiet(max_wait):
    """Wait (up to max_wait s) until both CPUs are idle, so other work on a shared machine does not
    land inside a run; return the busy % of the last 0.5 s sample (max of the two CPUs)."""
    end, busy = time.monotonic() + max_wait, 0.0
    while True:
        a = [cpu_times(c) for c in (SERVER_CPU, CLIENT_CPU)]
        time.sleep(0.5)
        b = [cpu_times(c) for c in (SERVER_CPU, CLIENT_CPU)]
        busy = max(busy_pct(x, y) for x, y in zip(a, b))
        if busy < QUIET or time.monotonic() >= end:
            return busy


def file_path(scenario_name):
    return f"/f{FILE_SIZES[scenario_name]}.bin" if scenario_name in FILE_SIZES else PATH


def run_wrk(port, pid, args, duration, path=PATH):
    cmd = ["taskset", "-c", CLIENT_CPU, "wrk", *args, f"-d{duration}s", f"http://127.0.0.1:{port}{path}"]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)   # wrk's own CPU, once it is reaped
    c0, s0, k0, w0 = proc_stat(pid)[1], cpu_times(SERVER_CPU), cpu_times(CLIENT_CPU), time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    c1, s1, k1, w1 = proc_stat(pid)[1], cpu_times(SERVER_CPU), cpu_times(CLIENT_CPU), time.monotonic()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = re.search(r"Requests/sec:\s*([\d.]+)", r.stdout)
    if r.returncode != 0 or not m:
        die(f"wrk failed (rc {r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", r.stdout)
    sock = re.search(r"Socket errors:\s*connect (\d+), read (\d+), write (\d+), timeout (\d+)", r.stdout)
    n = re.search(r"(\d+) requests in", r.stdout)
    rps, cpu, wall = float(m.group(1)), c1 - c0, w1 - w0
    reqs = int(n.group(1)) if n else int(rps * wall)
    wrk_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    errors = dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()))) if sock else {}
    return {"rps": rps, "requests": reqs,
            "cpu_us_per_req": cpu / reqs * 1e6 if reqs else float("nan"),
            "req_per_cpu_s": reqs / cpu if cpu > 0 else float("nan"),
            "server_core_pct": 100 * cpu / wall, "client_core_pct": busy_pct(k0, k1),
            "wrk_process_pct": 100 * wrk_cpu / wall, "server_cpu_busy_pct": busy_pct(s0, s1),
            "server_cpu_task_pct": busy_pct(s0, s1, 2), "client_cpu_task_pct": busy_pct(k0, k1, 2),
            "server_cpu_s": cpu, "wall_s": wall, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors, "server_rss_kib": rss_kib(pid), "wrk_command": " ".join(cmd)}


def disturbed(r):
    """Why a run cannot be trusted on a shared machine (other work on a pinned CPU), or None."""
    if r["busy_before_pct"] >= QUIET:
        return f"CPUs {r['busy_before_pct']:.0f} % busy just before it"
    other = max(r["server_cpu_task_pct"] - r["server_core_pct"], r["client_cpu_task_pct"] - r["wrk_process_pct"])
    if other >= OTHER:
        return f"{other:.0f} % of a pinned CPU went to other processes"
    if limit(r) == "neither":    # closed loop: a quiet run saturates one side (the VM shows no steal)
        return (f"neither core saturated (server {r['server_core_pct']:.0f} %, client "
                f"{r['client_core_pct']:.0f} %): load from outside the VM, or a server that stalls")
    return None


def limit(m):
    """Which side saturated its core: the client (wrk) is checked first, as it usually is."""
    c, s = m["client_core_pct"] >= SATURATED, m["server_core_pct"] >= SATURATED
    return "both" if c and s else "client" if c else "server" if s else "neither"


def ratio_pairs(names):
    if "coreline" in names:
        pairs = [("coreline", o) for o in ("nginx", "hyper", "ceiling", "coreline-metrics", "coreline-rxts")
                 if o in names]
        if "coreline-metrics" in names and "coreline-rxts" in names:
            pairs.append(("coreline-metrics", "coreline-rxts"))
        return pairs
    return [(n, "nginx") for n in names if n != "nginx"] if "nginx" in names else []


def fmt_errors(total):
    return ", ".join(f"{k} {v}" for k, v in total.items() if v) or "0"


def versions(names):
    out = {"wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0].split(" [")[0]}
    if "nginx" in names:
        out["nginx"] = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    return out


def run(a, cmdline, title):
    requested = [s.strip() for s in a.servers.split(",") if s.strip()]
    if not requested or set(requested) - set(ALL_SERVERS):
        die("--servers takes a comma list of: " + ", ".join(ALL_SERVERS))
    names = [s for s in ALL_SERVERS if s in requested]
    scenarios = parse_scenarios(a.scenarios, a.pipeline_connections)
    if (os.cpu_count() or 1) < 2:
        die("needs at least 2 CPUs (server on 0, wrk on 1)")
    ensure_tools(names)
    nofile = raise_nofile()
    if max(c for c, _ in scenarios.values()) + 64 > nofile:
        die(f"RLIMIT_NOFILE is {nofile}: too low for {max(c for c, _ in scenarios.values())} connections")
    skipped = build(names)
    kernel = os.uname().release
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    procs, servers = {}, {}
    with tempfile.TemporaryDirectory(prefix="coreline-compare-") as tmp:
        tmp = Path(tmp)
        (tmp / "nginx" / "www").mkdir(parents=True)
        tmp.chmod(0o755)                                # nginx workers started by root run as nobody
        for size in set(FILE_SIZES.values()):           # the same files for every server
            (tmp / "nginx" / "www" / f"f{size}.bin").write_bytes(os.urandom(size))
        try:
            for i, name in enumerate(names):
                if name in skipped:
                    continue
                try:
                    p, pid = start_server(name, a.port_base + i, tmp, nofile)
                except Skip as e:
                    if name != "coreline":
                        die(str(e))
                    skipped[name] = f"skipped: {e}"
                    note(f"coreline {skipped[name]}")
                    continue
                procs[name] = p
                servers[name] = (a.port_base + i, pid)
            live = [n for n in names if n in servers]
            if not live:
                die("no server could be started")
            runs = {(s, n): [] for s in scenarios for n in live}
            noisy = []
            for n in live:                                  # 1 s warm-up each
                run_wrk(*servers[n], ["-t1", "-c64"], 1)
            for rep in range(a.repeats):
                for s, sc in scenarios.items():
                    for n in live:
                        for attempt in range(a.retries + 1):
                            before = wait_quiet(a.quiet_wait)   # also lets the last run's sockets go
                            r = run_wrk(*servers[n], wrk_args(sc, tmp), a.duration, file_path(s))
                            if s in FILE_SIZES:
                                gb = r["requests"] * FILE_SIZES[s] / 1e9
                                r["gb_per_s"] = gb / r["wall_s"]
                                r["cpu_s_per_gb"] = r["server_cpu_s"] / gb if gb else float("nan")
                            r["busy_before_pct"], r["attempt"] = before, attempt + 1
                            why = disturbed(r)
                            if not why:
                                break
                            note(f"rep {rep + 1} {s} {n} attempt {attempt + 1}: disturbed ({why})"
                                 + ("; again" if attempt < a.retries else "; keeping it"))
                        if why:
                            noisy.append(f"rep {rep + 1} {s} {n}: {why} (after {a.retries + 1} attempts)")
                        runs[(s, n)].append(r)
                        note(f"rep {rep + 1} {s:11} {n:8} {r['rps']:>12,.0f} req/s  "
                             f"{r['req_per_cpu_s']:>12,.0f} req/CPU-s  {r['cpu_us_per_req']:.3f} us/req  "
                             f"server {r['server_core_pct']:.0f}%  client {r['client_core_pct']:.0f}%  "
                             f"non-2xx {r['non2xx']}  socket errors {fmt_errors(r['socket_errors'])}")
                        if procs[n].poll() is not None:     # a server that died mid-run is a failure
                            die(f"{n} exited (status {procs[n].returncode}) during its {s} run")
        finally:
            for p in procs.values():
                stop(p)

    keys = ("rps", "req_per_cpu_s", "cpu_us_per_req", "server_core_pct", "client_core_pct",
            "wrk_process_pct", "server_cpu_busy_pct")
    med = {k: {m: statistics.median(r[m] for r in v) for m in keys} for k, v in runs.items()}
    for k, v in runs.items():
        med[k]["limit"] = limit(med[k])
        if k[0] in FILE_SIZES:
            for m in ("gb_per_s", "cpu_s_per_gb"):
                med[k][m] = statistics.median(r[m] for r in v)
        med[k]["non2xx"] = sum(r["non2xx"] for r in v)
        med[k]["socket_errors"] = {e: sum(r["socket_errors"].get(e, 0) for r in v)
                                   for e in ("connect", "read", "write", "timeout")}
    pairs = ratio_pairs(live)
    ratios = {f"{s}/{x}/{y}": {"rps": med[(s, x)]["rps"] / med[(s, y)]["rps"],
                               "req_per_cpu_s": med[(s, x)]["req_per_cpu_s"] / med[(s, y)]["req_per_cpu_s"]}
              for s in scenarios for x, y in pairs}
    vers = versions(live)

    lines = [f"# {title}", "",
             f"- command: `{cmdline}`", f"- date: {date}", f"- kernel: {kernel}",
             f"- CPUs: {os.cpu_count()}; " + "; ".join(vers.values()),
             f"- each server pinned to CPU {SERVER_CPU}, `wrk -t1 -d{a.duration}s` pinned to CPU {CLIENT_CPU}, "
             f"`GET {PATH}`; medians of {a.repeats} interleaved repeat(s) (repeat → scenario → server); "
             f"CPU from /proc/PID/stat (nginx: its one worker process)",
             "- scenarios: " + "; ".join(f"`{s}` = {c} connections" + (f", {d} pipelined requests per write"
                                                                      if d > 1 else " keep-alive")
                                        + (f", `GET {file_path(s)}` instead" if s in FILE_SIZES else "")
                                        for s, (c, d) in scenarios.items())]
    lines += [f"- **{n}**: {why}" for n, why in skipped.items()]
    lines += ["",
              "| scenario | server | req/s | req per server CPU-s | server CPU-µs/req | server core % | "
              "client core % | limit | non-2xx | socket errors |",
              "|---|---|---:|---:|---:|---:|---:|---|---:|---|"]
    for s in scenarios:
        for n in live:
            m = med[(s, n)]
            lines.append(f"| {s} | {n} | {m['rps']:,.0f} | {m['req_per_cpu_s']:,.0f} | {m['cpu_us_per_req']:.3f} | "
                         f"{m['server_core_pct']:.1f} | {m['client_core_pct']:.1f} | {m['limit']} | "
                         f"{m['non2xx']} | {fmt_errors(m['socket_errors'])} |")
    if pairs:
        lines += ["", "| scenario | ratio | req/s | req per server CPU-s |", "|---|---|---:|---:|"]
        for s in scenarios:
            for x, y in pairs:
                r = ratios[f"{s}/{x}/{y}"]
                lines.append(f"| {s} | {x}/{y} | {r['rps']:.2f}× | **{r['req_per_cpu_s']:.2f}×** |")
    if any(s in FILE_SIZES for s in scenarios):
        lines += ["", "| scenario | server | GB/s | server CPU-s per GB |", "|---|---|---:|---:|"]
        for s in [s for s in scenarios if s in FILE_SIZES]:
            for n in live:
                m = med[(s, n)]
                lines.append(f"| {s} | {n} | {m['gb_per_s']:.2f} | {m['cpu_s_per_gb']:.3f} |")
    if noisy:
        lines += ["", "Runs still disturbed after every retry (rerun on a quiet machine):", ""]
        lines += [f"- {x}" for x in noisy]
    md = "\n".join(lines) + "\n"
    print(md)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{a.out}.md").write_text(md)
    (RESULTS / f"{a.out}.json").write_text(json.dumps({
        "command": cmdline, "date": date, "kernel": kernel, "versions": vers, "duration_s": a.duration,
        "repeats": a.repeats, "server_cpu": SERVER_CPU, "client_cpu": CLIENT_CPU, "path": PATH,
        "scenarios": {s: {"connections": c, "pipeline": d} for s, (c, d) in scenarios.items()},
        "servers": live, "skipped": skipped, "disturbed": noisy,
        "median": {f"{s}/{n}": v for (s, n), v in med.items()}, "ratios": ratios,
        "runs": {f"{s}/{n}": v for (s, n), v in runs.items()}}, indent=2) + "\n")
    note(f"wrote {RESULTS / (a.out + '.md')} and {a.out}.json")


def parser(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--servers", default=DEFAULT_SERVERS, help="comma list of " + ", ".join(ALL_SERVERS))
    ap.add_argument("--scenarios", default=DEFAULT_SCENARIOS,
                    help="comma list of plainN / pipelinedD / fileNk / fileNm")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats (medians are reported)")
    ap.add_argument("--pipeline-connections", type=int, default=64, help="connections of pipelinedD")
    ap.add_argument("--port-base", type=int, default=18080, help="servers listen on consecutive ports from here")
    ap.add_argument("--quiet-wait", type=float, default=30,
                    help="seconds to wait for both CPUs to go idle before each run (shared machines)")
    ap.add_argument("--retries", type=int, default=2,
                    help="times a disturbed run (other processes on the pinned CPUs) is redone")
    ap.add_argument("--out", default="http", help="results go to bench/results/OUT.md and OUT.json")
    return ap


def main():
    a = parser(__doc__.split("\n")[0]).parse_args()
    if a.duration < 1 or a.repeats < 1:
        die("--duration and --repeats must be at least 1")
    run(a, "python3 " + " ".join(shlex.quote(x) for x in sys.argv),
        "One server core: coreline vs nginx vs hyper vs ceiling")


if __name__ == "__main__":
    main()
