"""The server's TCP sending state during a bimodal.py run, from `ss -tin`: the pacing rate
the congestion control set, the delivery rate it measured, and the congestion window, as
medians over the server's connections at a few moments of the run.

A pacing rate below what the connection could carry makes the kernel hold segments back
on a timer (internal pacing, used by BBR when the qdisc is not fq): every hold arms a timer
and every expiry runs a softirq, and the segments get smaller, on the server's CPU."""
import re, statistics, subprocess, threading, time

FIELDS = {"pacing_rate": r"pacing_rate (\d+)bps", "delivery_rate": r"delivery_rate (\d+)bps",
          "cwnd": r"cwnd:(\d+)"}


def snapshot(port):
    """{field: [value per server connection]} of the established sockets on `port`, and
    under "algorithm" the congestion control names (the first word of each details line)."""
    out = subprocess.run(["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    values = {k: [] for k in FIELDS}
    values["algorithm"] = []
    parts = out.split("\n\t")  # ss puts each socket's details on an indented line
    for conn in parts:
        for key, pattern in FIELDS.items():
            m = re.search(pattern, conn)
            if m:
                values[key].append(int(m.group(1)))
    values["algorithm"] = [p.split()[0] for p in parts[1:] if p.split()]
    return values


class Sampler:
    """Takes `count` snapshots spread over a run of `duration` seconds, in a thread."""

    def __init__(self, port, duration, count=3):
        self.samples = {k: [] for k in [*FIELDS, "algorithm"]}
        self.thread = threading.Thread(target=self._run, args=(port, duration, count), daemon=True)
        self.thread.start()

    def _run(self, port, duration, count):
        for i in range(count):
            time.sleep(duration / (count + 1))
            for k, v in snapshot(port).items():
                self.samples[k] += v

    def result(self):
        """Medians: pacing and delivery rate in Gbit/s, cwnd in segments (None if unseen);
        the server connections' congestion control names, as seen ("bbr", "reno", ...)."""
        self.thread.join()
        med = lambda xs: statistics.median(xs) if xs else None
        gbit = lambda x: round(x / 1e9, 1) if x is not None else None
        return {"pacing_gbit": gbit(med(self.samples["pacing_rate"])),
                "delivery_gbit": gbit(med(self.samples["delivery_rate"])),
                "cwnd": med(self.samples["cwnd"]),
                "algorithm": "/".join(sorted(set(self.samples["algorithm"]))) or None}
