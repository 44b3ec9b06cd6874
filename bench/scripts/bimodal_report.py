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


def congestion_control():
    """The congestion control new connections get here (the namespace's own with --netns)."""
    with open("/proc/sys/net/ipv4/tcp_congestion_control") as f:
        return f.read().strip()


# A side whose CPU share of the run is at least this is taken to bound the run.
SATURATED = 0.9


def shares(r):
    """(server, client) CPU seconds as a share of the run's wall time."""
    wall = r["wall"] or 1.0
    return ((r["server_user"] + r["server_sys"]) / wall,
            (r["client_user"] + r["client_sys"]) / wall)


def per_server_cpu_s(r, duration):
    """Requests answered per CPU-second of the server (the project's headline metric)."""
    cpu = r["server_user"] + r["server_sys"]
    return r["rps"] * duration / cpu if cpu > 0 else 0.0


def bound(server_share, client_share):
    """Which side's CPU was saturated: what limited the run."""
    sides = [name for name, share in (("server", server_share), ("client", client_share))
             if share >= SATURATED]
    return " and ".join(sides) if sides else "neither"


def per_req(r, key):
    """A count over the run per request answered (segments, ACKs, sleeps), or blank when
    the run did not record it."""
    return f"{r[key] / r['requests']:.1f}" if key in r and r["requests"] else ""


# Receive-side losses inside the namespace: the receiver pruned or collapsed its queue
# (over its rcvbuf) or dropped what arrived (receive queue, socket backlog, zero window,
# out-of-order queue). Loopback itself drops nothing.
PRUNED = ["TcpExtPruneCalled", "TcpExtRcvPruned", "TcpExtOfoPruned"]
DROPPED = ["TcpExtTCPRcvQDrop", "TcpExtTCPBacklogDrop", "TcpExtTCPZeroWindowDrop",
           "TcpExtTCPOFODrop"]


def receive_side(r):
    if "TcpExtPruneCalled" not in r:
        return ""
    return (f"{sum(r[k] for k in PRUNED)} · {r['TcpExtTCPRcvCollapsed']} · "
            f"{sum(r[k] for k in DROPPED)}")


def blank(x):
    return "" if x is None else x


def spread(values, nginx_med):
    med = statistics.median(values)
    return {"median": med, "min": min(values), "max": max(values),
            "within_15pct": within(values, 15),
            "x_nginx": round(med / nginx_med, 2) if nginx_med else None}


def profile_text(rows):
    """The server's and the client's top symbols per run (--perf), each headed by the run's
    rate and CPU; a symbol's share is also given as CPU µs per request answered."""
    out = []
    for r in rows:
        if "server_profile" not in r:
            continue
        out += ["", f"## {r['client']} → {r['server']}, run {r['run']}: {r['rps']:,.0f} req/s, "
                f"{r['per_server_cpu_s']:,} req per server CPU-s, server share "
                f"{r['server_share']}, bound by {r['bound']}"]
        for side in ("server", "client"):
            cpu = r[side + "_user"] + r[side + "_sys"]
            us = cpu * 1e6 / r["requests"] if r["requests"] else 0.0
            out += ["", f"{side}: {cpu:.2f} CPU-s, {us:.0f} µs per request (share, µs per request, symbol):"]
            out += [f"{pct:6.2f}%  {pct * us / 100:6.1f} µs  {sym}"
                    for pct, sym in r.get(side + "_profile") or []]
    return "\n".join(out) + "\n" if out else ""


def write(a, rows, commands):
    for r in rows:
        r["server_share"], r["client_share"] = (round(x, 2) for x in shares(r))
        r["per_server_cpu_s"] = round(per_server_cpu_s(r, a.duration))
        r["bound"] = bound(r["server_share"], r["client_share"])
        r["requests"] = round(r["rps"] * a.duration)
    groups = {}
    for r in rows:
        groups.setdefault((r["client"], r["server"]), []).append(r)
    ngx = groups.get(("wrk", "nginx"), [])
    nginx_med = statistics.median([r["rps"] for r in ngx]) if ngx else None
    nginx_eff = statistics.median([r["per_server_cpu_s"] for r in ngx]) if ngx else None
    summary = []
    for (client, server), rs in groups.items():
        is_nginx = server == "nginx"
        rate = spread([r["rps"] for r in rs], None if is_nginx else nginx_med)
        eff = spread([r["per_server_cpu_s"] for r in rs], None if is_nginx else nginx_eff)
        summary.append({
            "client": client, "server": server, **rate,
            "server_share": statistics.median(r["server_share"] for r in rs),
            "client_share": statistics.median(r["client_share"] for r in rs),
            "per_server_cpu_s": eff,
        })
    argv = " ".join(shlex.quote(x) for x in sys.argv[1:])
    lines = [
        "# Large files: run-to-run spread",
        "",
        f"- command: `python3 bench/scripts/bimodal.py {argv}`",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M:%S} UTC",
        f"- kernel: {os.uname().release}; {a.size:,}-byte file from the page cache; "
        f"server on CPU 0, client on CPU 1, -c {a.connections}, {a.duration} s runs",
        f"- congestion control: {congestion_control()}, the kernel's default here (BBR paces each "
        "connection itself when the device has no pacing qdisc; loopback has none); what the "
        "server's connections used is the per-run column \"TCP algorithm\" (`ss -tin`)",
        f"- server: `{commands[0] if commands else ''}`",
        *([f"- coreline-load arguments: `{' '.join(a.load_arg)}`"] if getattr(a, "load_arg", None) else []),
        *([f"- namespace sysctls: `{' '.join(a.netns_sysctl)}`"] if a.netns_sysctl else []),
        *([f"- competing task: CPU {a.hog.replace(':', ' busy ', 1)} ms"] if a.hog else []),
        f"- scheduling: {policy()}; load average at the end: {os.getloadavg()[0]:.2f}; TCP counters "
        + ("of a private network namespace" if a.netns else "host-wide"),
        *([f"- label: {a.label}"] if getattr(a, "label", None) else []),
        "- CPU share: the process's user + system CPU seconds over the run's wall time (median "
        f"of the runs); a side at {SATURATED:.0%} or more bounds the run. Requests per server "
        "CPU-second: requests answered over the server's CPU seconds in the run.",
        "- Per run: pruned · collapsed · dropped sums the receive side's queue prunes, collapsed "
        "segments and drops (receive queue, backlog, zero window, out-of-order); data segments, "
        "pure ACKs and the client's sleeps (voluntary context switches) are per request; pacing "
        "and delivery rate are the medians over the server's connections (`ss -tin`, three "
        "moments of the run), the pacing rate being enforced only by a congestion control that "
        "paces (BBR).",
        "",
        "| client | server | median req/s | min | max | all within ±15 % | × nginx | "
        "server CPU share | client CPU share | median req per server CPU-s | min | max | "
        "all within ±15 % | × nginx |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    yes = lambda ok: "yes" if ok else "no"
    ratio = lambda x: x if x is not None else ""
    for s in summary:
        e = s["per_server_cpu_s"]
        lines.append(f"| {s['client']} | {s['server']} | {s['median']:,.0f} | {s['min']:,.0f} | "
                     f"{s['max']:,.0f} | {yes(s['within_15pct'])} | {ratio(s['x_nginx'])} | "
                     f"{s['server_share']:.2f} | {s['client_share']:.2f} | {e['median']:,.0f} | "
                     f"{e['min']:,.0f} | {e['max']:,.0f} | {yes(e['within_15pct'])} | "
                     f"{ratio(e['x_nginx'])} |")
    lines += ["", "Every run (seconds over the run):", "",
              "| client | server | run | req/s | req per server CPU-s | server CPU share | "
              "client CPU share | bound by | server user | server sys | server run-queue wait | "
              "client user | client sys | loss probes | retrans segs | D-SACKs | "
              "pruned · collapsed · dropped | data segs per req | pure ACKs per req | "
              "client sleeps per req | TCP algorithm | pacing rate Gbit/s | delivery rate Gbit/s |",
              "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
              "---:|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['client']} | {r['server']} | {r['run']} | {r['rps']:,.0f} | "
                     f"{r['per_server_cpu_s']:,} | {r['server_share']} | {r['client_share']} | "
                     f"{r['bound']} | "
                     f"{r['server_user']} | {r['server_sys']} | {r['server_runq_wait']} | {r['client_user']} | "
                     f"{r['client_sys']} | {r['TcpExtTCPLossProbes']} | {r['TcpRetransSegs']} | "
                     f"{r['TcpExtTCPDSACKRecv']} | {receive_side(r)} | {per_req(r, 'TcpExtTCPOrigDataSent')} | "
                     f"{per_req(r, 'TcpExtTCPPureAcks')} | {per_req(r, 'client_sleeps')} | "
                     f"{blank(r.get('algorithm'))} | {blank(r.get('pacing_gbit'))} | {blank(r.get('delivery_gbit'))} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    profiles = profile_text(rows)
    if profiles:
        (RESULTS / f"{a.out}-profiles.txt").write_text(
            f"# command: python3 bench/scripts/bimodal.py {argv}\n{profiles}")
    (RESULTS / f"{a.out}.md").write_text("\n".join(lines) + "\n")
    (RESULTS / f"{a.out}.json").write_text(json.dumps({"summary": summary, "runs": rows}, indent=1) + "\n")
    print("\n".join(lines))
