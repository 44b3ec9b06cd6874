"""The report of bench/scripts/bimodal.py: a summary per (client, server) and every run,
as Markdown and JSON under bench/results/."""
import datetime, json, os, shlex, statistics, sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def within(rates, pct):
    med = statistics.median(rates)
    return all(abs(r - med) <= med * pct / 100 for r in rates)


def policy():
    """How this session was scheduled: under `chrt -r N` the runs take their CPUs from
    every ordinary process (a busy machine's share no longer decides the rate). Not
    `chrt -f`: wrk's timer thread then never preempts its busy worker on the same CPU, and
    runs overstay their duration."""
    pol = os.sched_getscheduler(0)
    if pol in (os.SCHED_FIFO, os.SCHED_RR):
        name = "SCHED_FIFO (`chrt -f`)" if pol == os.SCHED_FIFO else "SCHED_RR (`chrt -r`)"
        return f"{name} priority {os.sched_getparam(0).sched_priority}"
    return f"SCHED_OTHER, nice {os.nice(0)}"


def write(a, rows, commands):
    groups = {}
    for r in rows:
        groups.setdefault((r["client"], r["server"]), []).append(r)
    nginx = [r["rps"] for r in groups.get(("wrk", "nginx"), [])]
    nginx_med = statistics.median(nginx) if nginx else None
    summary = []
    for (client, server), rs in groups.items():
        rates = [r["rps"] for r in rs]
        med = statistics.median(rates)
        summary.append({
            "client": client, "server": server, "median": med, "min": min(rates),
            "max": max(rates), "within_15pct": within(rates, 15),
            "x_nginx": round(med / nginx_med, 2) if nginx_med and server != "nginx" else None,
        })
    argv = " ".join(shlex.quote(x) for x in sys.argv[1:])
    lines = [
        "# Large files: run-to-run spread",
        "",
        f"- command: `python3 bench/scripts/bimodal.py {argv}`",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M:%S} UTC",
        f"- kernel: {os.uname().release}; {a.size:,}-byte file from the page cache; "
        f"server on CPU 0, client on CPU 1, -c {a.connections}, {a.duration} s runs",
        f"- server: `{commands[0] if commands else ''}`",
        *([f"- namespace sysctls: `{' '.join(a.netns_sysctl)}`"] if a.netns_sysctl else []),
        *([f"- competing task: CPU {a.hog.replace(':', ' busy ', 1)} ms"] if a.hog else []),
        f"- scheduling: {policy()}; load average at the end: {os.getloadavg()[0]:.2f}; TCP counters "
        + ("of a private network namespace" if a.netns else "host-wide"),
        "",
        "| client | server | median req/s | min | max | all within ±15 % | × nginx |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for s in summary:
        lines.append(f"| {s['client']} | {s['server']} | {s['median']:,.0f} | {s['min']:,.0f} | "
                     f"{s['max']:,.0f} | {'yes' if s['within_15pct'] else 'no'} | "
                     f"{s['x_nginx'] if s['x_nginx'] is not None else ''} |")
    lines += ["", "Every run (seconds over the run):", "",
              "| client | server | run | req/s | server user | server sys | server run-queue wait | client user | "
              "client sys | loss probes | retrans segs | D-SACKs |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['client']} | {r['server']} | {r['run']} | {r['rps']:,.0f} | "
                     f"{r['server_user']} | {r['server_sys']} | {r['server_runq_wait']} | {r['client_user']} | "
                     f"{r['client_sys']} | {r['TcpExtTCPLossProbes']} | {r['TcpRetransSegs']} | "
                     f"{r['TcpExtTCPDSACKRecv']} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{a.out}.md").write_text("\n".join(lines) + "\n")
    (RESULTS / f"{a.out}.json").write_text(json.dumps({"summary": summary, "runs": rows}, indent=1) + "\n")
    print("\n".join(lines))


