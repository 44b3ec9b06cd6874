"""Per-run CPU profiles for bench/scripts/bimodal.py: where a server's time goes in one run.

`perf record -e cpu-clock -g -p PID` samples the server for the length of one client run (a
software clock: it works where hardware counters are absent), and `perf report` turns the
samples into the run's top symbols, so a slow run and a fast run of one session can be
compared symbol by symbol."""
import signal, subprocess
from pathlib import Path


class Profile:
    """One `perf record` of a process over a client run."""

    def __init__(self, pid, data: Path):
        self.data = data
        self.proc = subprocess.Popen(
            ["perf", "record", "-q", "-e", "cpu-clock", "-g", "-p", str(pid), "-o", str(data)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self, limit=40, keep: Path = None):
        """Ends the recording; returns [(percent, symbol)] of the top `limit` symbols
        (kernel symbols marked `[k]`, user ones `[.]`), self time only. With `keep` the
        recording is moved there for `perf report -i` (call graphs) instead of deleted."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(30)
        out = subprocess.run(
            ["perf", "report", "-i", str(self.data), "--no-children", "--sort", "sym",
             "--stdio", "-g", "none", "--percent-limit", "0.5"],
            capture_output=True, text=True).stdout
        if keep:
            self.data.rename(keep)
        else:
            self.data.unlink(missing_ok=True)
        top = []
        for line in out.splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0].endswith("%"):
                top.append((float(parts[0][:-1]), parts[1].strip()))
        return top[:limit]
