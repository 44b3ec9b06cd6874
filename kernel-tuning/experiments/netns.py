"""Network namespaces for the experiments: create, run inside, set sysctls, read counters.

A `Netns` is deleted on exit (also on an exception, Ctrl-C or SIGTERM), after the
processes started in it are ended, so nothing outlives an experiment and the host's
sysctls are never written. Part of the experiments' library: use it through common.
"""
import os
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager

# The TcpExt counters the experiments report (short names, as in /proc/net/netstat).
QUEUE_COUNTERS = [
    "ListenOverflows", "ListenDrops", "TCPReqQFullDrop", "TCPReqQFullDoCookies",
    "SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed", "TCPAbortOnData",
]


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


@contextmanager
def netns_pair(tag, subnet):
    """Two namespaces, server and client, joined by a veth pair on SUBNET.0/24 (e.g. subnet
    "10.91.0": the server end is .1, the client end .2). Yields (server, client, client_dev)."""
    with Netns(tag + "-srv") as srv, Netns(tag + "-cli") as cli:
        _sdev, cdev = link_veth(srv, cli, f"{subnet}.1", f"{subnet}.2")
        yield srv, cli, cdev


def shape(ns, dev, rate, latency="2s"):
    """Rate-limits dev's egress with tbf (it needs no sch_netem module): a burst queues
    for a while, like packets on a slower path. rate as tc takes it, e.g. '30mbit';
    latency bounds the queue (what waits longer is dropped)."""
    ns.exec(["tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", rate,
             "burst", "1600", "latency", latency])
