#!/usr/bin/env python3
"""Reproduces the kernel-tuning reference: every experiment in full mode, one after another.

    sudo python3 kernel-tuning/experiments/run_all.py              # all, 3 repeats per row
    sudo python3 kernel-tuning/experiments/run_all.py --only syn_flood,fin_timeout
    sudo python3 kernel-tuning/experiments/run_all.py --repeats 5

Each experiment runs in namespaces of its own (the host's sysctls are never written) and
writes experiments/results/NAME.md. While they run, one progress line per measured row:
experiment, row, repeat, and the time left (this experiment's estimate from its own runs so
far, plus the usual duration of the experiments still to come). At the end: where each
table of kernel-tuning/README.md comes from, and the total time. Builds the binaries once
first (KT_NO_BUILD=1 uses target/release as it is).
"""
import argparse
import os
import re
import subprocess
import sys
import time

import common as c

# (script, README section its results file feeds, usual full-mode seconds with 3 repeats
# on the 2-core reference machine; only used for the time-left estimate)
EXPERIMENTS = [
    ("listen_backlog", "1. Listen backlog and somaxconn", 120),
    ("abort_on_overflow", "2. tcp_abort_on_overflow", 150),
    ("syn_flood", "3. SYN queue and syncookies", 190),
    ("nodelay", "4. TCP_NODELAY", 110),
    ("fastopen", "5. TCP_FASTOPEN", 100),
    ("port_range", "6. ip_local_port_range and tcp_tw_reuse", 450),
    ("reuseport_balance", "7. Listener modes with a starved core", 270),
    ("migrate_req", "8. tcp_migrate_req and restarts", 80),
    ("notsent_lowat", "9. tcp_notsent_lowat", 130),
    ("fin_timeout", "10. tcp_fin_timeout", 230),
    ("buffers", "11. Socket buffers and netdev_max_backlog", 110),
]
_LEFT = re.compile(r"~(\d+):(\d\d) left")


def _clock(seconds):
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def run_one(index, total, name, repeats, later_s, start, usual_s):
    """Runs one experiment, echoing its progress lines with the whole run's time left."""
    argv = [sys.executable, os.path.join(c.HERE, f"{name}.py"), "--repeats", str(repeats)]
    env = dict(os.environ, KT_NO_BUILD="1")
    log_lines = []
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, bufsize=1)
    for line in proc.stdout:
        line = line.rstrip("\n")
        log_lines.append(line)
        if line.startswith("progress: "):
            m = _LEFT.search(line)
            # Before its first row ends an experiment has no estimate: use its usual time.
            own = int(m.group(1)) * 60 + int(m.group(2)) if m else usual_s
            whole = (f"; all: {_clock(time.monotonic() - start)} elapsed, "
                     f"~{_clock(own + later_s)} left")
            print(f"[{index}/{total}] {line[len('progress: '):]}{whole}", flush=True)
    rc = proc.wait()
    if rc != 0:
        print(f"[{index}/{total}] {name} FAILED (exit {rc}); its last lines:", flush=True)
        for line in log_lines[-15:]:
            print(f"    {line}")
    return rc


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3, metavar="N",
                   help="runs of every row, interleaved (default 3)")
    p.add_argument("--only", metavar="LIST", help="comma-separated experiment names")
    args = p.parse_args()
    c.require_root()
    names = [e[0] for e in EXPERIMENTS]
    chosen = names if not args.only else args.only.split(",")
    for n in chosen:
        if n not in names:
            c.die(f"unknown experiment '{n}' (one of: {', '.join(names)})")
    plan = [e for e in EXPERIMENTS if e[0] in chosen]
    c.build()
    c.build_example("small_writes")
    start = time.monotonic()
    scale = args.repeats / 3
    failed = []
    for i, (name, _section, secs) in enumerate(plan):
        later = sum(s for _n, _sec, s in plan[i + 1:]) * scale
        if run_one(i + 1, len(plan), name, args.repeats, later, start, secs * scale) != 0:
            failed.append(name)
    print(f"\nall done in {_clock(time.monotonic() - start)} ({args.repeats} repeats per row)")
    print("kernel-tuning/README.md tables and their results files:")
    for name, section, _secs in plan:
        state = "FAILED, not written" if name in failed else "written"
        print(f"  {section:45} <- kernel-tuning/experiments/results/{name}.md ({state})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
