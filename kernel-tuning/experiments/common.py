"""Shared pieces of the kernel-tuning experiments (python3 stdlib only, run as root).

Every experiment works inside network namespaces it creates here and deletes on exit
(also on an exception, Ctrl-C or SIGTERM), so the host's sysctls are never written:

    paths = build()
    with Netns("backlog") as ns:
        ns.sysctl("net.core.somaxconn", 4)
        before = ns.netstat()
        with start_coreline(ns, ["--backlog", "4"], port=8080) as server:
            result = run_load(ns, ["-c", "64", "-d", "2s", "--close", "http://127.0.0.1:8080/"])
        delta = counter_delta(before, ns.netstat())

`Checks` collects the findings a `--quick` run asserts; `write_result` stores a full
run's markdown table in experiments/results/.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
RESULTS = os.path.join(HERE, "results")

# The TcpExt counters the experiments report (short names, as in /proc/net/netstat).
QUEUE_COUNTERS = [
    "ListenOverflows", "ListenDrops", "TCPReqQFullDrop", "TCPReqQFullDoCookies",
    "SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed", "TCPAbortOnData",
]

_built = None


def die(msg):
    """Exits with a one-line error naming what to fix."""
    print(f"{os.path.basename(sys.argv[0])}: error: {msg}", file=sys.stderr)
    sys.exit(2)


def require_root():
    """Namespaces and sysctls need root: say so instead of failing halfway."""
    if os.geteuid() != 0:
        die("must be run as root (creates network namespaces)")
    for tool in ("ip", "ss"):
        if shutil.which(tool) is None:
            die(f"'{tool}' not found (install iproute2)")


def build():
    """Builds coreline and coreline-load (release) once; returns {'coreline', 'load'} paths.

    Set KT_NO_BUILD=1 to use the binaries already in target/release (CI builds first).
    """
    global _built
    if _built is None:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        paths = {"coreline": os.path.join(target, "release", "coreline"),
                 "load": os.path.join(target, "release", "coreline-load")}
        if os.environ.get("KT_NO_BUILD") != "1":
            cmd = ["cargo", "build", "--release", "-q", "-p", "coreline-http", "--bin", "coreline",
                   "-p", "coreline-bench", "--bin", "coreline-load"]
            r = subprocess.run(cmd, cwd=REPO)
            if r.returncode != 0:
                die(f"'{' '.join(cmd)}' failed (exit {r.returncode})")
        for p in paths.values():
            if not os.access(p, os.X_OK):
                die(f"{p} missing: build it with cargo build --release")
        _built = paths
    return _built


def _sigterm(_sig, _frame):
    # Turn SIGTERM into an exception so every `with` block (namespaces, servers) unwinds.
    raise SystemExit(143)


class Netns:
    """A network namespace `kt-exp-<pid>-<tag>` with lo up, deleted on exit."""

    def __init__(self, tag):
        self.name = f"kt-exp-{os.getpid()}-{tag}"
        self._procs = []

    def __enter__(self):
        require_root()
        try:
            signal.signal(signal.SIGTERM, _sigterm)
        except ValueError:  # not the main thread: the caller handles signals
            pass
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        try:
            self.exec(["ip", "link", "set", "lo", "up"])
        except BaseException:
            self._delete()
            raise
        return self

    def __exit__(self, *exc):
        self._delete()
        return False

    def _delete(self):
        # Processes we started here keep the namespace alive: end them (by pid) first.
        for p in self._procs:
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGCONT)
                    p.kill()
                    p.wait(timeout=5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)

    def _argv(self, args):
        return ["ip", "netns", "exec", self.name] + [str(a) for a in args]

    def exec(self, args, check=True, **kw):
        """Runs args inside the namespace; returns the CompletedProcess."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        r = subprocess.run(self._argv(args), **kw)
        if check and r.returncode != 0:
            err = (r.stderr or "").strip().splitlines()
            raise RuntimeError(f"in {self.name}: {' '.join(map(str, args))}: exit {r.returncode}"
                               + (f": {err[-1]}" if err else ""))
        return r

    def popen(self, args, **kw):
        """Starts args inside the namespace (`ip netns exec` execs it: same pid)."""
        p = subprocess.Popen(self._argv(args), **kw)
        self._procs.append(p)
        return p

    def sysctl(self, key, value):
        """Writes a sysctl inside this namespace only."""
        self.exec(["sysctl", "-qw", f"{key}={value}"])

    def read_sysctl(self, key):
        """Reads a sysctl as seen from this namespace (str, fields joined by one space)."""
        return " ".join(self.exec(["sysctl", "-n", key]).stdout.split())

    def netstat(self):
        """TcpExt counters of this namespace by short name, e.g. 'ListenOverflows'."""
        text = self.exec(["cat", "/proc/net/netstat"]).stdout
        lines = text.splitlines()
        for head, vals in zip(lines[::2], lines[1::2]):
            if head.startswith("TcpExt:"):
                return dict(zip(head.split()[1:], map(int, vals.split()[1:])))
        raise RuntimeError(f"no TcpExt line in /proc/net/netstat of {self.name}")

    def snmp(self, proto="Tcp"):
        """Counters of one /proc/net/snmp line (e.g. 'Tcp': RetransSegs, OutRsts...)."""
        lines = self.exec(["cat", "/proc/net/snmp"]).stdout.splitlines()
        for head, vals in zip(lines[::2], lines[1::2]):
            if head.startswith(proto + ":"):
                return dict(zip(head.split()[1:], map(int, vals.split()[1:])))
        raise RuntimeError(f"no {proto} line in /proc/net/snmp of {self.name}")


def counter_delta(before, after, names=QUEUE_COUNTERS):
    """after - before for each name (0 when the kernel lacks the counter)."""
    return {n: after.get(n, 0) - before.get(n, 0) for n in names}


def link_veth(a, b, addr_a, addr_b, prefix=24):
    """Joins namespaces a and b with a veth pair: a gets addr_a, b gets addr_b (both up)."""
    ia, ib = f"kta{os.getpid() % 100000}", f"ktb{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", ia, "netns", a.name, "type", "veth",
                    "peer", "name", ib, "netns", b.name], check=True)
    a.exec(["ip", "addr", "add", f"{addr_a}/{prefix}", "dev", ia])
    b.exec(["ip", "addr", "add", f"{addr_b}/{prefix}", "dev", ib])
    a.exec(["ip", "link", "set", ia, "up"])
    b.exec(["ip", "link", "set", ib, "up"])
    return ia, ib


def _wait_listening(ns, proc, port, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"{what} exited ({proc.returncode}) before listening on {port}: "
                               + (err.strip()[-500:] or "no stderr"))
        # ss, not a probe connect: a connect would move the counters being measured.
        out = ns.exec(["ss", "-lntH", f"sport = :{port}"], check=False).stdout
        if out.strip():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f}s")


def _stop(proc, timeout=5.0):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGCONT)  # a stopped process would never see SIGTERM
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def start_coreline(ns, args, port, host="127.0.0.1", cpus="0"):
    """Runs `coreline serve --listen HOST:PORT --cpus CPUS ARGS` in ns until the block ends.

    Yields the Popen (its pid is coreline's, e.g. for SIGSTOP/SIGCONT). Waits (10 s at
    most) for the listener; if the server dies first, the error carries its stderr.
    """
    paths = build()
    argv = [paths["coreline"], "serve", "--listen", f"{host}:{port}", "--cpus", cpus] + list(args)
    proc = ns.popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_listening(ns, proc, port, "coreline")
        yield proc
    finally:
        _stop(proc)


def build_example(name, package="coreline-http"):
    """Builds (release) and returns the path of an example, e.g. http/examples/NAME.rs.

    KT_NO_BUILD=1 skips the build, as for build().
    """
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    path = os.path.join(target, "release", "examples", name)
    if os.environ.get("KT_NO_BUILD") != "1":
        cmd = ["cargo", "build", "--release", "-q", "-p", package, "--example", name]
        r = subprocess.run(cmd, cwd=REPO)
        if r.returncode != 0:
            die(f"'{' '.join(cmd)}' failed (exit {r.returncode})")
    if not os.access(path, os.X_OK):
        die(f"{path} missing: build it with cargo build --release -p {package} --example {name}")
    return path


@contextmanager
def start_program(ns, argv, port, what):
    """Runs any server argv in ns until the block ends (like start_coreline): waits for
    its listener on port, yields the Popen, then SIGTERM (SIGKILL after 5 s)."""
    proc = ns.popen([str(a) for a in argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    text=True)
    try:
        _wait_listening(ns, proc, port, what)
        yield proc
    finally:
        _stop(proc)


NGINX_CONF = """\
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen {host}:{port} backlog={backlog};
        location / {{ return 200 "hello\\n"; }}
    }}
}}
"""


@contextmanager
def start_nginx(ns, port, backlog=4096, host="127.0.0.1", workers=1, cpus="0"):
    """Runs nginx (generated config in a temp dir, `return 200`) in ns until the block ends."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx is None:
        die("nginx not found (install nginx-light)")
    with tempfile.TemporaryDirectory(prefix="kt-nginx-") as d:
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(workers=workers, dir=d, host=host, port=port, backlog=backlog))
        argv = ["taskset", "-c", cpus, nginx, "-c", conf, "-e", os.path.join(d, "error.log")]
        proc = ns.popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _wait_listening(ns, proc, port, "nginx")
            yield proc
        finally:
            _stop(proc)


def run_load(ns, load_args, check=True):
    """Runs `coreline-load LOAD_ARGS --json FILE --quiet` inside ns; returns the parsed JSON."""
    paths = build()
    with tempfile.TemporaryDirectory(prefix="kt-load-") as d:
        out = os.path.join(d, "load.json")
        r = ns.exec([paths["load"]] + [str(a) for a in load_args] + ["--json", out, "--quiet"],
                    check=False)
        if r.returncode != 0 and (check or not os.path.exists(out)):
            raise RuntimeError(f"coreline-load {' '.join(map(str, load_args))}: exit "
                               f"{r.returncode}: {r.stderr.strip()[-500:]}")
        with open(out) as f:
            return json.load(f)


def errors_total(result):
    """All client errors of a coreline-load result."""
    return sum(result["errors"].values())


def ms(us):
    """Microseconds as a short millisecond string for tables."""
    v = us / 1000.0
    return f"{v:.0f} ms" if v >= 100 else f"{v:.1f} ms" if v >= 1 else f"{v:.2f} ms"


def markdown_table(headers, rows):
    """A GitHub markdown table (cells converted with str)."""
    out = ["| " + " | ".join(map(str, headers)) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(out) + "\n"


def write_result(name, markdown):
    """Writes experiments/results/NAME.md and prints it."""
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"{name}.md")
    with open(path, "w") as f:
        f.write(markdown)
    print(markdown)
    print(f"# written to {os.path.relpath(path, REPO)}")


def kernel():
    """The running kernel release, for the results header."""
    return os.uname().release


class Checks:
    """Findings asserted by --quick: `ok - ...` / `FAIL - ...` lines, exit 1 if any failed."""

    def __init__(self, name):
        self.name = name
        self.failed = 0
        self.passed = 0

    def check(self, cond, what, detail=""):
        """Records one finding; detail is printed on failure (the measured values)."""
        if cond:
            self.passed += 1
            print(f"ok - {self.name}: {what}")
        else:
            self.failed += 1
            print(f"FAIL - {self.name}: {what}" + (f" ({detail})" if detail else ""))
        sys.stdout.flush()
        return cond

    def exit(self):
        """Exits 1 if any check failed, else 0."""
        print(f"# {self.name}: {self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def parse_args(doc, extra=None):
    """The common command line: --quick (short, asserting, for CI) and --keep-going."""
    import argparse
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="short run for CI: assert the findings, write no results table")
    if extra:
        extra(p)
    return p.parse_args()


class Stalls:
    """While the block runs, stop proc (SIGSTOP) for `pause` s every `period` s: a core
    that falls behind (a GC pause, a noisy neighbour), so its queues fill deterministically.
    The first stall starts after `start` s; the process is always continued at the end."""

    def __init__(self, proc, pause, period, start=0.2):
        import threading
        self.proc, self.pause, self.period, self.start = proc, pause, period, start
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        wait = self.start
        while not self._stop.wait(wait):
            t0 = time.monotonic()
            try:
                self.proc.send_signal(signal.SIGSTOP)
                self.count += 1
                self._stop.wait(self.pause)
            finally:
                self.proc.send_signal(signal.SIGCONT)
            wait = max(0.0, self.period - (time.monotonic() - t0))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
        return False


def listen_backlog(ns, port):
    """The effective backlog of the listener on port (ss -lnt Send-Q), or None."""
    out = ns.exec(["ss", "-lntH", f"sport = :{port}"], check=False).stdout.split()
    return int(out[2]) if len(out) >= 3 else None


def latency_cells(result):
    """p50, p99, p99.9, max of a coreline-load result, as table cells."""
    lat = result["latency_us"]
    return [ms(lat["p50"]), ms(lat["p99"]), ms(lat["p99.9"]), ms(lat["max"])]


def over(result, threshold_ms):
    """Responses that took at least threshold_ms (200, 1000 or 3000)."""
    return result["latency_over_ms"][str(threshold_ms)]


@contextmanager
def netns_pair(tag, subnet):
    """Two namespaces, server and client, joined by a veth pair on SUBNET.0/24 (e.g. subnet
    "10.91.0": the server end is .1, the client end .2). Yields (server, client, client_dev)."""
    with Netns(tag + "-srv") as srv, Netns(tag + "-cli") as cli:
        _sdev, cdev = link_veth(srv, cli, f"{subnet}.1", f"{subnet}.2")
        yield srv, cli, cdev


def shape(ns, dev, rate):
    """Rate-limits dev's egress with tbf (no netem here): a burst queues for a while, like
    packets on a slower path. rate as tc takes it, e.g. '30mbit'."""
    ns.exec(["tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", rate,
             "burst", "1600", "latency", "2s"])


def errors_cell(result):
    """Client errors by kind with the first message of each, e.g. 'read 12 (Connection
    reset by peer)', or '0'."""
    parts = []
    for kind, n in sorted(result["errors"].items()):
        if n:
            why = result["first_errors"].get(kind, "").replace(" (os error 104)", "")
            parts.append(f"{kind} {n} ({why})" if why else f"{kind} {n}")
    return ", ".join(parts) or "0"


def reset_errors(result):
    """Client errors of the kinds whose first error was a reset (ECONNRESET): coreline-load
    keeps one message per kind, so this assumes a kind's errors share their cause."""
    return sum(n for kind, n in result["errors"].items()
               if "reset" in result["first_errors"].get(kind, "").lower())
