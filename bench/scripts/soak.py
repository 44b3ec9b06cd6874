#!/usr/bin/env python3
"""Soak: millions of mixed requests over 1,000 connections against one `coreline serve`,
checking that nothing fails and that memory and descriptors stay flat after warm-up.

    python3 bench/scripts/soak.py [--requests 10000000] [--round-secs 10] [--out soak]
    python3 bench/scripts/soak.py --requests 300000 --round-secs 2 --out soak-quick

The server runs on CPU 0 (`--cpus 0`, plain and TLS listeners, `--root` with two files);
the load is six `coreline-load` processes pinned to CPU 1, together 1,000 connections:

    plaintext  400 conns  GET /plaintext, keep-alive
    echo       200 conns  POST /echo with a 1 KiB body
    files      100 conns  GET /f16k.bin (16 KiB: read + send) and /f256k.bin (splice)
    pipelined  200 conns  GET /plaintext, 8 requests outstanding per connection
    tls        100 conns  GET /plaintext over TLS (sessions resumed)

Rounds of --round-secs run until --requests responses were counted; a fresh set of
connections each round (so connection set-up and teardown soak too). After every round,
with no load running, the server's RSS (/proc/PID/status VmRSS) and open fds
(/proc/PID/fd) are sampled; during each round they are sampled once a second too.
Verdict: zero errors of any kind; after the warm-up (the first fifth of the rounds, at
least one: per-core pools of pipes and buffers fill then) no idle fd count above the one
at the end of the warm-up, and every idle RSS within 5 % + 1 MiB of it.  Results go to bench/results/OUT.md and
OUT.json.  Exit status 1 if the verdict fails.  Stdlib only; never changes sysctls.
"""
import argparse, datetime, json, os, resource, shlex, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
BODY = "x" * 1024

MIX = [  # name, connections, coreline-load arguments after -c/-d, path or URL kind
    ("plaintext", 400, [], "http", "/plaintext"),
    ("echo", 200, ["-m", "POST", "--body", BODY], "http", "/echo"),
    ("files-16k", 50, [], "http", "/f16k.bin"),
    ("files-256k", 50, [], "http", "/f256k.bin"),
    ("pipelined", 200, ["--pipeline", "8"], "http", "/plaintext"),
    ("tls", 100, [], "https", "/plaintext"),
]


def build():
    for args in (["-p", "coreline-http", "--bin", "coreline"],
                 ["-p", "coreline-bench", "--bin", "coreline-load"]):
        subprocess.run(["cargo", "build", "--release", "-q", *args], cwd=ROOT, check=True)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def usage(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return fds, rss


def wait_listening(port, proc):
    import socket
    for _ in range(500):
        if proc.poll() is not None:
            sys.exit(f"soak: coreline exited with {proc.returncode} at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit("soak: coreline did not start listening")


def start_server(work):
    coreline = ROOT / "target/release/coreline"
    subprocess.run([coreline, "gen-cert", work / "tls"], check=True, stdout=subprocess.DEVNULL)
    www = work / "www"
    www.mkdir()
    (www / "f16k.bin").write_bytes(os.urandom(16 * 1024))
    (www / "f256k.bin").write_bytes(os.urandom(256 * 1024))
    plain, tls = free_port(), free_port()
    cmd = [coreline, "serve", "--cpus", "0", "--listen", f"127.0.0.1:{plain}",
           "--root", www, "--tls-listen", f"127.0.0.1:{tls}",
           "--tls-cert", work / "tls/cert.pem", "--tls-key", work / "tls/key.pem"]
    proc = subprocess.Popen(["taskset", "-c", "0", *map(str, cmd)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(plain, proc)
    wait_listening(tls, proc)
    return proc, plain, tls


def run_round(secs, plain, tls, work, n):
    """Runs the whole mix once; returns {name: coreline-load JSON}."""
    load = ROOT / "target/release/coreline-load"
    procs = {}
    for name, conns, extra, scheme, path in MIX:
        port = tls if scheme == "https" else plain
        out = work / f"round{n}-{name}.json"
        cmd = [load, "-c", str(conns), "-d", str(secs), "--cpus", "1", "--quiet",
               "--json", out, *extra, f"{scheme}://127.0.0.1:{port}{path}"]
        procs[name] = (subprocess.Popen(list(map(str, cmd)), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True), out)
    return procs


def collect(procs):
    results = {}
    for name, (proc, out) in procs.items():
        _, err = proc.communicate(timeout=120)
        if not out.exists():
            sys.exit(f"soak: coreline-load ({name}) wrote no results: {err.strip()}")
        results[name] = json.loads(out.read_text())
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=10_000_000)
    ap.add_argument("--round-secs", type=int, default=10)
    ap.add_argument("--out", default="soak")
    ap.add_argument("--results-dir", type=Path, default=RESULTS)
    args = ap.parse_args()
    if os.cpu_count() < 2:
        sys.exit("soak: needs 2 CPUs (server on 0, load on 1)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    build()
    work = Path(tempfile.mkdtemp(prefix="coreline-soak-"))
    server, plain, tls = start_server(work)
    rounds, total, errors = [], 0, {}
    try:
        time.sleep(0.5)
        idle0 = usage(server.pid)
        n = 0
        while total < args.requests:
            n += 1
            procs = run_round(args.round_secs, plain, tls, work, n)
            peak_fds, peak_rss = 0, 0
            while any(p.poll() is None for p, _ in procs.values()):
                fds, rss = usage(server.pid)
                peak_fds, peak_rss = max(peak_fds, fds), max(peak_rss, rss)
                time.sleep(1)
            results = collect(procs)
            done = sum(r["requests"] for r in results.values())
            errs = {}
            for name, r in results.items():
                for kind, count in r["errors"].items():
                    if count:
                        errs[f"{name}:{kind}"] = count
                        errors[f"{name}:{kind}"] = errors.get(f"{name}:{kind}", 0) + count
            # The server closes the round's connections (lingering ones within 2 s).
            deadline = time.monotonic() + 5
            idle = usage(server.pid)
            while idle[0] > (rounds[0]["idle_fds"] if rounds else idle0[0]) and time.monotonic() < deadline:
                time.sleep(0.1)
                idle = usage(server.pid)
            total += done
            rounds.append({"round": n, "requests": done, "total": total, "errors": errs,
                           "peak_fds": peak_fds, "peak_rss_kib": peak_rss,
                           "idle_fds": idle[0], "idle_rss_kib": idle[1]})
            print(f"soak: round {n}: {done:,} requests ({total:,} in all), errors {errs or 0}, "
                  f"idle fds {idle[0]}, idle RSS {idle[1]} KiB, peak RSS {peak_rss} KiB",
                  flush=True)
            if server.poll() is not None:
                sys.exit(f"soak: coreline exited with {server.returncode}")
    finally:
        server.terminate()
        server.wait(timeout=15)
    warm = max(1, len(rounds) // 5)
    base_rss = rounds[warm - 1]["idle_rss_kib"]
    later = [r["idle_rss_kib"] for r in rounds[warm:]] or [base_rss]
    rss_ok = max(later) <= base_rss * 1.05 + 1024
    # Per-core pools (pipes for splices, buffers) fill during the first rounds: compare with
    # the idle count at the end of the warm-up, like the RSS.
    base_fds = rounds[warm - 1]["idle_fds"]
    fds_ok = all(r["idle_fds"] <= base_fds for r in rounds[warm:])
    ok = not errors and rss_ok and fds_ok
    report = {"command": "python3 bench/scripts/soak.py " + shlex.join(sys.argv[1:]),
              "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
              "kernel": os.uname().release, "requests": total, "errors": errors,
              "start_fds": idle0[0], "start_rss_kib": idle0[1], "warm_up_rounds": warm,
              "fds_after_warm_up": base_fds,
              "rss_after_warm_up_kib": base_rss, "max_later_idle_rss_kib": max(later),
              "rss_flat": rss_ok, "fds_flat": fds_ok, "ok": ok, "rounds": rounds,
              "mix": [{"name": m[0], "connections": m[1], "args": m[2], "scheme": m[3], "path": m[4]}
                      for m in MIX]}
    write(args.results_dir, args.out, report)
    print(f"soak: {'PASS' if ok else 'FAIL'}: {total:,} requests, errors {errors or 0}, "
          f"idle RSS {base_rss} -> max {max(later)} KiB after warm-up, fds flat: {fds_ok}")
    sys.exit(0 if ok else 1)


def write(results_dir, name, report):
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# Soak: {report['requests']:,} mixed requests over 1,000 connections", "",
             f"- command: `{report['command']}`", f"- date: {report['date']}; kernel {report['kernel']}",
             "- server `coreline serve --cpus 0` (plain + TLS + --root) on CPU 0; six `coreline-load` "
             "processes on CPU 1: " + ", ".join(f"{m['name']} {m['connections']}" for m in report["mix"]),
             f"- verdict: **{'PASS' if report['ok'] else 'FAIL'}**: errors {report['errors'] or 0}; "
             f"idle fds {report['start_fds']} at start, {report['fds_after_warm_up']} after the warm-up and "
             f"no more after any later round: {report['fds_flat']}; "
             f"idle RSS {report['rss_after_warm_up_kib']} KiB after {report['warm_up_rounds']} warm-up "
             f"round(s), at most {report['max_later_idle_rss_kib']} KiB after (flat: {report['rss_flat']})", "",
             "| round | requests | total | errors | peak fds | peak RSS KiB | idle fds | idle RSS KiB |",
             "|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in report["rounds"]:
        lines.append(f"| {r['round']} | {r['requests']:,} | {r['total']:,} | {r['errors'] or 0} | "
                     f"{r['peak_fds']} | {r['peak_rss_kib']} | {r['idle_fds']} | {r['idle_rss_kib']} |")
    (results_dir / f"{name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
