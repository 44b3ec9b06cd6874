#!/usr/bin/env python3
"""Large-file run-to-run spread: consecutive short runs of one 1 MiB file against fresh
servers, to show whether throughput settles in one mode or jumps between modes.

    python3 bench/scripts/bimodal.py [--servers 3] [--runs 10] [--duration 3] [--out bimodal]
    python3 bench/scripts/bimodal.py --servers 1 --runs 4 --clients wrk --no-nginx \
        --server-arg=--notsent-lowat=off --out bimodal-lowat-off

For each client (`wrk -t1 -c16` and `coreline-load -c 16`, both pinned to CPU 1) it starts
--servers fresh `coreline serve --cpus 0 --root DIR` processes one after another and runs
--runs consecutive --duration second runs against each; then nginx (one worker on CPU 0,
sendfile and tcp_nopush on, as in bench/nginx/nginx.conf) gets the same number of wrk runs
in the same session. The table gives per server whether every run is within ±15 % of that
server's median, and the median's ratio to nginx's.

Besides req/s, each run records what tells the modes apart: the server's and the client's
CPU seconds split user/system (/proc/PID/stat, the client's from wait4), how often each
slept (voluntary context switches), how long the server waited for a CPU while runnable
(schedstat: other processes' share), the TCP counter deltas over the run (`nstat`:
retransmissions, D-SACKs, tail loss probes, receive-queue prunes and collapses, receive-side
drops, data segments and pure ACKs), and the server connections' pacing rate, delivery rate
and congestion window (`ss -tin`, bimodal_ss.py). The counters are host-wide unless --netns
runs the whole session in a private network namespace. --perf adds each run's server and
client profile (bimodal_perf.py).

`chrt -r 10 python3 bench/scripts/bimodal.py ...` runs the session with its CPUs guaranteed
over ordinary processes (the report says how it was scheduled); --hog CPU:BUSY/PERIOD adds
a competing task on one CPU for the whole session.

Results go to bench/results/OUT.md and OUT.json (written by bimodal_report.py). Stdlib
only; never changes the host's sysctls (--netns-sysctl acts inside the private namespace).
"""
import argparse, json, os, shlex, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path

from bimodal_perf import Profile
from bimodal_report import write
from bimodal_ss import Sampler

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
CLK = os.sysconf("SC_CLK_TCK")
# nstat counters recorded per run (all in the JSON; the telling ones are report columns).
# Loopback drops nothing by itself, so a retransmission there means the receiver pruned,
# collapsed or dropped what it got (receive queue over its rcvbuf, socket backlog full,
# TCP memory pressure, zero window) or a probe fired before the ACK came back: these tell
# those apart. Segments out per request tell the size of the skbs the sender built.
COUNTERS = ["TcpRetransSegs", "TcpExtTCPDSACKRecv", "TcpExtTCPTimeouts", "TcpExtTCPLossProbes",
            "TcpExtTCPLossProbeRecovery", "TcpExtTCPSpuriousRtxHostQueues",
            "TcpExtPruneCalled", "TcpExtRcvPruned", "TcpExtOfoPruned", "TcpExtTCPRcvCollapsed",
            "TcpExtTCPRcvQDrop", "TcpExtTCPBacklogDrop", "TcpExtTCPZeroWindowDrop",
            "TcpExtTCPOFOQueue", "TcpExtTCPOFODrop", "TcpExtTCPMemoryPressures",
            "TcpExtTCPWantZeroWindowAdv", "TcpExtTCPToZeroWindowAdv", "TcpExtTCPWinProbe",
            "TcpExtTCPRcvCoalesce", "TcpExtTCPBacklogCoalesce", "TcpExtDelayedACKs",
            "TcpExtTCPOrigDataSent", "TcpExtTCPPureAcks", "TcpExtTCPHPAcks", "TcpOutSegs",
            "TcpInSegs"]
NGINX_CONF = """worker_processes 1;
worker_cpu_affinity 1;
daemon off;
error_log stderr error;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; use epoll; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    server {{ listen 127.0.0.1:{port} reuseport backlog=4096; root {root}; }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit(f"server exited early ({proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("server did not start listening")


def cpu_times(pid):
    """(user, system) CPU seconds of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK, int(fields[12]) / CLK


def run_queue_wait(pid):
    """Seconds the threads of `pid` have waited for a CPU while runnable (schedstat):
    large against the run's length means other processes took the CPU, not the network."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[1])
        except OSError:  # the thread ended meanwhile
            pass
    return total / 1e9


def sleeps(pid):
    """Voluntary context switches of every thread of `pid` so far: how often it slept."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                total += sum(int(l.split()[1]) for l in f if l.startswith("voluntary_ctxt"))
        except OSError:
            pass
    return total


def nstat():
    out = subprocess.run(["nstat", "-az", "--json"], capture_output=True, text=True).stdout
    data = json.loads(out)
    kernel = data.get("kernel", data)
    return {k: int(kernel.get(k, 0)) for k in COUNTERS}


def client_cmd(client, url, duration, connections, load_args=()):
    if client == "wrk":
        return ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{duration}s", url]
    return [str(TARGET / "coreline-load"), "--cpus", "1", "-c", str(connections),
            "-d", f"{duration}s", "--quiet", *load_args, url]


def parse_rate(client, out):
    # wrk and coreline-load both print a `Requests/sec: N` line; a run with any other
    # status than 200 measured something else (a 403 is much faster than a file).
    if "Non-2xx" in out or any(l.strip().startswith("Status codes:") and l.split()[2:] != ["200:"]
                               and len(l.split()) != 4 for l in out.splitlines()):
        sys.exit(f"{client} saw responses other than 200:\n{out}")
    for line in out.splitlines():
        if line.strip().startswith("Requests/sec:"):
            return float(line.split()[1])
    sys.exit(f"no rate in {client}'s output:\n{out}")


def one_run(client, url, duration, connections, server_pid, load_args=(), profile_to=None,
            keep_profile=None, port=None):
    """One client run; with `profile_to` (a perf.data path) also the server's top symbols
    (and the recording itself moved to `keep_profile` when given)."""
    prof = Profile(server_pid, profile_to) if profile_to else None
    s0, w0, n0 = cpu_times(server_pid), run_queue_wait(server_pid), nstat()
    z0 = sleeps(server_pid)
    t0 = time.monotonic()
    p = subprocess.Popen(client_cmd(client, url, duration, connections, load_args),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tcp = Sampler(port, duration) if port else None
    # The client's profile too: over loopback each side's CPU runs part of the other's TCP.
    cprof = Profile(p.pid, profile_to.with_suffix(".client")) if profile_to else None
    out = p.stdout.read()
    ctop = cprof.stop(keep=keep_profile and keep_profile.with_suffix(".client.data")) \
        if cprof else None
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    s1, w1, n1 = cpu_times(server_pid), run_queue_wait(server_pid), nstat()
    z1 = sleeps(server_pid)
    top = prof.stop(keep=keep_profile) if prof else None
    if p.returncode != 0:
        sys.exit(f"{client} failed:\n{out}")
    return {
        "rps": parse_rate(client, out),
        "server_user": round(s1[0] - s0[0], 2), "server_sys": round(s1[1] - s0[1], 2),
        "server_runq_wait": round(w1 - w0, 2),
        "client_user": round(ru.ru_utime, 2), "client_sys": round(ru.ru_stime, 2),
        "wall": round(wall, 2),
        "server_sleeps": z1 - z0, "client_sleeps": ru.ru_nvcsw,
        **{k: n1[k] - n0[k] for k in COUNTERS},
        **(tcp.result() if tcp else {}),
        **({"server_profile": top, "client_profile": ctop} if top is not None else {}),
    }


def serve_coreline(root, extra):
    port = free_port()
    cmd = [str(TARGET / "coreline"), "serve", "--cpus", "0", "--root", str(root),
           "--listen", f"127.0.0.1:{port}", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    # The report names the command as it is typed from the workspace root.
    shown = ["target/release/coreline", *cmd[1:]]
    shown[shown.index("--root") + 1] = "DIR"
    shown[shown.index("--listen") + 1] = "127.0.0.1:PORT"
    return proc, port, shlex.join(shown)


def serve_nginx(root, prefix):
    port = free_port()
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port, root=root))
    proc = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    # The worker serves: measure its CPU, not the master's.
    for _ in range(100):
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        if kids:
            return proc, port, int(kids[0])
        time.sleep(0.05)
    sys.exit("nginx started no worker")


HOG = """
import os, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])})
busy, period = float(sys.argv[2]) / 1e3, float(sys.argv[3]) / 1e3
while True:
    t = time.perf_counter()
    while time.perf_counter() - t < busy:
        pass
    time.sleep(period - busy)
"""


def start_hog(spec):
    """A competing task: `CPU:BUSY/PERIOD` spins BUSY ms of every PERIOD ms on CPU, under
    the session's own scheduling (so under `chrt -r` it queues behind whichever of the
    server or client is running, and takes its turn whenever that one sleeps)."""
    cpu, rest = spec.split(":")
    busy, period = rest.split("/")
    return subprocess.Popen([sys.executable, "-c", HOG, cpu, busy, period])


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--size", type=int, default=1 << 20, help="file size in bytes")
    ap.add_argument("--clients", default="wrk,coreline-load")
    ap.add_argument("--no-nginx", action="store_true")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra `coreline serve` argument (repeatable)")
    ap.add_argument("--load-arg", action="append", default=[],
                    help="extra coreline-load argument (repeatable; --load-arg=--recv-buffers=1024)")
    ap.add_argument("--netns", action="store_true",
                    help="run everything in a private network namespace (its own loopback, "
                         "so the TCP counters are this script's alone)")
    ap.add_argument("--netns-sysctl", action="append", default=[], metavar="KEY=VALUE",
                    help="with --netns: set this per-namespace sysctl inside the private "
                         "namespace first (net.ipv4.tcp_congestion_control=reno); the host's "
                         "are never touched (repeatable)")
    ap.add_argument("--hog", metavar="CPU:BUSY/PERIOD",
                    help="during the whole session, a task spinning BUSY ms of every PERIOD "
                         "ms on CPU (0:5/10): how much a server loses to a co-runnable task")
    ap.add_argument("--perf", action="store_true",
                    help="sample each run's server with `perf record -e cpu-clock -g` and "
                         "write its top symbols to OUT-profiles.txt")
    ap.add_argument("--perf-dir", type=Path,
                    help="with --perf: keep each run's perf.data here as "
                         "CLIENT-SERVER-RUN.data (for call graphs)")
    ap.add_argument("--label", help="a line for the report's header (\"busy machine\")")
    ap.add_argument("--out", default="bimodal")
    a = ap.parse_args()
    if a.perf_dir:
        a.perf_dir.mkdir(parents=True, exist_ok=True)
    if a.netns_sysctl and not a.netns:
        ap.error("--netns-sysctl needs --netns (host sysctls are never changed)")
    if a.netns and os.environ.get("BIMODAL_IN_NETNS") != "1":
        os.environ["BIMODAL_IN_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "-n", "--", sys.executable, *sys.argv])
    if a.netns:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        for kv in a.netns_sysctl:
            subprocess.run(["sysctl", "-qw", kv], check=True)

    tmp = Path(tempfile.mkdtemp(prefix="coreline-bimodal-"))
    tmp.chmod(0o755)  # nginx's worker runs as an unprivileged user
    (tmp / "www").mkdir()
    (tmp / "www" / "file.bin").write_bytes(os.urandom(a.size))
    rows, commands = [], []
    hog = start_hog(a.hog) if a.hog else None
    try:
        run_session(a, tmp, rows, commands)
    finally:
        if hog:
            hog.kill()
            hog.wait()
    write(a, rows, commands)


def run_session(a, tmp, rows, commands):
    path = "/file.bin"
    for client in a.clients.split(","):
        for server in range(1, a.servers + 1):
            proc, port, cmd = serve_coreline(tmp / "www", a.server_arg)
            commands.append(cmd)
            url = f"http://127.0.0.1:{port}{path}"
            try:
                for run in range(1, a.runs + 1):
                    keep = a.perf_dir / f"{client}-coreline{server}-{run}.data" if a.perf_dir else None
                    r = one_run(client, url, a.duration, a.connections, proc.pid, a.load_arg,
                                tmp / "perf.data" if a.perf else None, keep, port)
                    rows.append({"server": f"coreline {server}", "client": client, "run": run, **r})
                    print(f"{client} coreline {server} run {run}: {r}", file=sys.stderr)
            finally:
                stop(proc)
    if not a.no_nginx:
        proc, port, worker = serve_nginx(tmp / "www", tmp / "nginx")
        try:
            for run in range(1, a.runs + 1):
                keep = a.perf_dir / f"wrk-nginx-{run}.data" if a.perf_dir else None
                r = one_run("wrk", f"http://127.0.0.1:{port}{path}", a.duration, a.connections,
                            worker, profile_to=tmp / "perf.data" if a.perf else None,
                            keep_profile=keep, port=port)
                rows.append({"server": "nginx", "client": "wrk", "run": run, **r})
                print(f"wrk nginx run {run}: {r}", file=sys.stderr)
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
