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
import argparse
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager

# The library is three modules (netns: namespaces; results: tables and checks; this one:
# servers and load); experiments import only this one and find every name here.
from netns import (QUEUE_COUNTERS, Netns, counter_delta, die, link_veth, netns_pair,
                   require_root, shape)
from repeats import RANGE_NOTE, interleaved, merge_rows, ranged_table
from results import (HERE, REPO, RESULTS, Checks, errors_cell, errors_total, kernel,
                     latency_cells, markdown_table, ms, over, reset_errors, write_result)

__all__ = [
    "QUEUE_COUNTERS", "Netns", "counter_delta", "die", "link_veth", "netns_pair",
    "require_root", "shape", "HERE", "REPO", "RESULTS", "Checks", "errors_cell",
    "errors_total", "kernel", "latency_cells", "markdown_table", "ms", "over",
    "reset_errors", "write_result", "build", "start_coreline", "start_nginx", "run_load",
    "BackgroundLoad",
    "parse_args", "Stalls", "listen_backlog", "NGINX_CONF", "build_example", "start_program",
    "RANGE_NOTE", "interleaved", "merge_rows", "ranged_table",
]

_built = None


def build():
    """Builds coreline and coreline-load (release) once; returns {'coreline', 'load'} paths.

    Set KT_NO_BUILD=1 to use the binaries already in target/release (CI builds first);
    without cargo on PATH (e.g. under sudo) those are used too.
    """
    global _built
    if _built is None:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        paths = {"coreline": os.path.join(target, "release", "coreline"),
                 "load": os.path.join(target, "release", "coreline-load")}
        cmd = ["cargo", "build", "--release", "-q", "-p", "coreline-http", "--bin", "coreline",
               "-p", "coreline-bench", "--bin", "coreline-load"]
        if os.environ.get("KT_NO_BUILD") != "1" and shutil.which("cargo"):
            r = subprocess.run(cmd, cwd=REPO)
            if r.returncode != 0:
                die(f"'{' '.join(cmd)}' failed (exit {r.returncode})")
        for p in paths.values():
            if not os.access(p, os.X_OK):
                die(f"{p} missing: build it first with '{' '.join(cmd)}'")
        _built = paths
    return _built


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

    KT_NO_BUILD=1 (or no cargo on PATH) uses the one already built, as for build().
    """
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    path = os.path.join(target, "release", "examples", name)
    if os.environ.get("KT_NO_BUILD") != "1" and shutil.which("cargo"):
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
    """Runs nginx (generated config in a temp dir, `return 200`) in ns until the block ends.

    Yields the Popen of the master: to stall nginx, stop its workers too (they are its
    children), not only this pid."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)
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


class BackgroundLoad:
    """`coreline-load LOAD_ARGS --json FILE --quiet` started in ns; result() waits for it
    and returns the parsed JSON (while it runs, the experiment measures something else)."""

    def __init__(self, ns, load_args):
        self._dir = tempfile.TemporaryDirectory(prefix="kt-load-")
        self._out = os.path.join(self._dir.name, "load.json")
        self._args = [str(a) for a in load_args]
        self._proc = ns.popen([build()["load"]] + self._args + ["--json", self._out, "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def result(self, timeout=120):
        """Waits for coreline-load; its JSON (RuntimeError when it wrote none)."""
        try:
            err = self._proc.communicate(timeout=timeout)[1]
            if not os.path.exists(self._out):
                raise RuntimeError(f"coreline-load {' '.join(self._args)}: exit "
                                   f"{self._proc.returncode}: {err.strip()[-500:]}")
            with open(self._out) as f:
                return json.load(f)
        finally:
            self._dir.cleanup()


def parse_args(doc, extra=None):
    """The common command line: --quick (one short pass, asserting, for CI) and --repeats N
    (full mode: each row N times, interleaved; --quick always runs once)."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="one short pass for CI: assert the findings, write no results table")
    p.add_argument("--repeats", type=int, default=3, metavar="N",
                   help="full mode: run every row N times, interleaved (default 3)")
    if extra:
        extra(p)
    args = p.parse_args()
    if args.quick:
        args.repeats = 1
    elif args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


class Stalls:
    """While the block runs, stop proc (SIGSTOP) for `pause` s every `period` s: a core
    that falls behind (a GC pause, a noisy neighbour), so its queues fill deterministically.
    The first stall starts after `start` s; the process is always continued at the end."""

    def __init__(self, proc, pause, period, start=0.2):
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
