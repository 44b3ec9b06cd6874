#!/usr/bin/env python3
"""Single-core ceiling: coreline's `ceiling` example vs nginx, same run, interleaved.

Legacy: `coreline-bench compare` (bench/README.md) supersedes this wrk-only script and covers
what it does (`--load wrk`, `--servers ...,ceiling`); it is kept so that the results recorded
with it (bench/results/http.md, files.md, ceiling.md) stay reproducible.

A thin wrapper over compare.py (which does the measuring; see bench/README.md): servers
ceiling and nginx, scenarios plainC (C keep-alive connections) and pipelined16 (16 requests
per write, ../shared/reference/pipeline.lua, on C connections), results in
bench/results/ceiling.md and ceiling.json.

    python3 bench/scripts/ceiling.py [--servers ceiling,nginx] [--duration 10]
        [--repeats 3] [--connections 64] [--port-base 18080]

Python 3.11, stdlib only.  Never changes sysctls.
"""
import argparse, shlex, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402  (next to this file)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--servers", default="ceiling,nginx")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--port-base", type=int, default=18080)
    a = ap.parse_args()
    compare.PROG = "ceiling.py"
    servers = [s for s in a.servers.split(",") if s]
    if not servers or set(servers) - {"ceiling", "nginx"}:
        compare.die("--servers takes a comma list of: ceiling, nginx")
    if a.duration < 1 or a.repeats < 1 or a.connections < 1:
        compare.die("--duration, --repeats and --connections must be at least 1")
    opts = compare.parser("").parse_args([
        "--servers", ",".join(servers), "--scenarios", f"plain{a.connections},pipelined16",
        "--duration", str(a.duration), "--repeats", str(a.repeats),
        "--pipeline-connections", str(a.connections), "--port-base", str(a.port_base), "--out", "ceiling"])
    compare.run(opts, "python3 " + " ".join(shlex.quote(x) for x in sys.argv),
                "Single-core ceiling: coreline `ceiling` example vs nginx")


if __name__ == "__main__":
    main()
