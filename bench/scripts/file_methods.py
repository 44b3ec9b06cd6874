#!/usr/bin/env python3
"""How coreline sends file bodies, method against method and against nginx, per file size.

Server CPU per request (from /proc/PID/stat) for GET of one static file on 64 keep-alive
connections, the server pinned to CPU 0 and `wrk -t1` to CPU 1 (as compare.py), for:

    auto     coreline as shipped (read+send below 8 KiB, splice from 8 KiB up)
    splice   CORELINE_FILE_BODY=splice   (file -> pipe -> socket at every size)
    read     CORELINE_FILE_BODY=read     (read into the output buffer, then send)
    send-zc  CORELINE_FILE_BODY=send-zc  (read, then IORING_OP_SEND_ZC)
    nginx    ../shared/reference/nginx.conf (sendfile on, tcp_nopush on), one worker

    python3 bench/scripts/file_methods.py [--sizes 256,1k,4k,16k,64k,1m]
        [--methods auto,splice,read,send-zc,nginx] [--duration 3] [--repeats 3]
        [--port-base 18400] [--out file_methods]

Runs are interleaved (repeat -> size -> method); medians go to stdout and
bench/results/NAME.md.  No quiet-machine checks (compare.py has them): CPU per request is
fairly robust to other load, req/s is not.  Python 3.11, stdlib only.
"""
import argparse, datetime, os, statistics, subprocess, sys, tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare as c  # noqa: E402  (the helpers: nginx config, /proc, wrk)

METHODS = ("auto", "splice", "read", "send-zc", "nginx")


def size_arg(s):
    s = s.strip().lower()
    mult = {"k": 1 << 10, "m": 1 << 20}.get(s[-1:], 1)
    return int(s[:-1] if s[-1:] in "km" else s) * mult


def start(method, port, tmp, nofile):
    if method == "nginx":
        return c.start_server("nginx", port, tmp, nofile)
    env = dict(os.environ)
    if method != "auto":
        env["CORELINE_FILE_BODY"] = method
    cmd = ["taskset", "-c", c.SERVER_CPU, str(c.BUILDS["coreline"][1]), "serve", "--cpus", c.SERVER_CPU,
           "--listen", f"127.0.0.1:{port}", "--root", str(tmp / "nginx" / "www")]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    c.wait_port(method, port, p)
    return p, p.pid


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="256,1k,4k,16k,64k,1m")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--port-base", type=int, default=18400)
    ap.add_argument("--out", default="file_methods")
    a = ap.parse_args()
    sizes = [size_arg(s) for s in a.sizes.split(",") if s.strip()]
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    if bad := [m for m in methods if m not in METHODS]:
        c.die(f"unknown method {bad[0]!r} (one of {', '.join(METHODS)})")
    c.ensure_tools(methods)
    nofile = c.raise_nofile()
    if [m for m in methods if m != "nginx"] and c.build(["coreline"]):
        c.die("coreline does not build")
    runs = {}
    port = a.port_base
    with tempfile.TemporaryDirectory(prefix="coreline-file-methods-") as t:
        tmp = Path(t)
        www = tmp / "nginx" / "www"
        www.mkdir(parents=True)
        tmp.chmod(0o755)
        for size in sizes:
            (www / f"f{size}.bin").write_bytes(os.urandom(size))
        for rep in range(a.repeats):
            for size in sizes:
                for m in methods:
                    port += 1
                    p, pid = start(m, port, tmp, nofile)
                    try:
                        path = f"/f{size}.bin"
                        c.run_wrk(port, pid, ["-t1", f"-c{c.FILE_CONNS}"], 1, path)  # warm-up
                        r = c.run_wrk(port, pid, ["-t1", f"-c{c.FILE_CONNS}"], a.duration, path)
                    finally:
                        c.stop(p)
                    runs.setdefault((size, m), []).append(r)
                    c.note(f"rep {rep + 1} {size} B {m}: {r['cpu_us_per_req']:.2f} CPU-µs/req, "
                           f"{r['rps']:,.0f} req/s, {r['non2xx']} non-2xx")
    cmdline = "python3 bench/scripts/file_methods.py " + " ".join(sys.argv[1:])
    lines = [f"# File body methods: server CPU per request", "",
             f"- command: `{cmdline}`",
             f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M:%S} UTC",
             f"- kernel: {os.uname().release}; medians of {a.repeats}; server on CPU {c.SERVER_CPU}, "
             f"`wrk -t1 -c{c.FILE_CONNS} -d{a.duration}s` on CPU {c.CLIENT_CPU}", "",
             "| file | method | server CPU-µs/req | server CPU-s per GB | req/s | non-2xx |",
             "|---:|---|---:|---:|---:|---:|"]
    for size in sizes:
        for m in methods:
            rs = runs[(size, m)]
            us = statistics.median(r["cpu_us_per_req"] for r in rs)
            lines.append(f"| {size:,} | {m} | {us:.2f} | {us * 1e-6 / (size / 1e9):.3f} | "
                         f"{statistics.median(r['rps'] for r in rs):,.0f} | {sum(r['non2xx'] for r in rs)} |")
    text = "\n".join(lines) + "\n"
    print(text)
    c.RESULTS.mkdir(parents=True, exist_ok=True)
    (c.RESULTS / f"{a.out}.md").write_text(text)


if __name__ == "__main__":
    main()
