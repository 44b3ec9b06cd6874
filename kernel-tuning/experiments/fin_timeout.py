#!/usr/bin/env python3
"""Experiment 10: tcp_fin_timeout and FIN_WAIT_2 orphans of clients that never close.

Each setting in its own namespace, both side by side (same clock, same machine load):
coreline on 127.0.0.1 (CPU 0) and half_closers.py, whose HOLD connections each send a
`Connection: close` request, read the response to the server's FIN and then never close
(a client that half-closed, or one that vanished: the server cannot tell them apart, no
packet comes back). coreline closes its socket after the response: an orphan in
FIN_WAIT_2, kept for net.ipv4.tcp_fin_timeout seconds. A timeout up to 60 s turns the
orphan into a small timewait socket (`tw` in the namespace's /proc/net/sockstat, slab
`tw_sock_TCP`); its memory here is that count times the slab's object size.

  60   the kernel default
  15   the recommended value

    sudo python3 kernel-tuning/experiments/fin_timeout.py          # full, writes results/
    sudo python3 kernel-tuning/experiments/fin_timeout.py --quick  # CI: asserts
"""
import os
import re
import subprocess
import sys
import threading
import time

import common as c

PORT = 8080
HOLD = 1000


def tw_object_size():
    """Bytes per timewait socket (slab tw_sock_TCP), or None without /proc/slabinfo."""
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                if line.startswith("tw_sock_TCP "):
                    return int(line.split()[3])
    except OSError:
        pass
    return None


def sample(ns):
    """(server-side FIN_WAIT_2 sockets, the namespace's timewait sockets)."""
    fw2 = ns.exec(["ss", "-tanH", "state", "fin-wait-2", f"sport = :{PORT}"]).stdout
    tw = int(re.search(r"^TCP:.* tw (\d+)", ns.exec(["cat", "/proc/net/sockstat"]).stdout,
                       re.M).group(1))
    return len(fw2.splitlines()), tw


def one(timeout, times, out):
    """One setting: hold HOLD connections, sample at each of times (s after they are held)."""
    with c.Netns(f"fin{timeout}") as ns:
        ns.sysctl("net.ipv4.tcp_fin_timeout", timeout)
        with c.start_coreline(ns, [], PORT):
            holders = ns.popen([sys.executable, os.path.join(c.HERE, "half_closers.py"),
                                "--host", "127.0.0.1", "--port", PORT, "-n", HOLD],
                               stdout=subprocess.PIPE, text=True)
            line = holders.stdout.readline().strip()
            t0 = time.monotonic()
            samples = []
            for t in times:
                time.sleep(max(0.0, t0 + t - time.monotonic()))
                samples.append(sample(ns))
            holders.kill()
            holders.wait()
    out[timeout] = {"timeout": timeout, "held": line, "samples": samples}


def run(timeouts, times):
    """Every setting at once, each in its own namespace; {timeout: measurements}."""
    out = {}
    threads = [threading.Thread(target=one, args=(t, times, out)) for t in timeouts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    missing = [t for t in timeouts if t not in out]
    if missing:
        raise RuntimeError(f"fin_timeout {missing}: the run failed (see above)")
    return out


def cells(r, size):
    row = [r["timeout"], r["held"].replace("held=", "")]
    for fw2, tw in r["samples"]:
        kib = f", {tw * size // 1024} KiB" if size else ""
        row.append(f"{fw2} ({tw} tw{kib})")
    return row


def main():
    args = c.parse_args(__doc__)
    c.build()
    timeouts = [3, 60] if args.quick else [60, 15]
    times = [1, 6] if args.quick else [1, 10, 14, 20, 30, 50, 59, 65]
    size = tw_object_size()
    grouped = c.interleaved("fin_timeout", ["side by side"], lambda _: run(timeouts, times),
                            args.repeats)[0]
    headers = (["tcp_fin_timeout", "connections held"]
               + [f"FIN_WAIT_2 at {t} s (tw{', memory' if size else ''})" for t in times])
    table = c.ranged_table(headers, [[cells(r[t], size) for r in grouped] for t in timeouts])
    print(table)
    if not args.quick:
        c.write_result("fin_timeout", (
            f"Kernel {c.kernel()}; {HOLD} connections whose client never closes after the "
            f"server's FIN, settings side by side in their own namespaces; server-side "
            "FIN_WAIT_2 sockets (`ss -tan state fin-wait-2`) and the namespace's timewait "
            f"sockets (/proc/net/sockstat `tw`), memory = tw × {size} B (slab tw_sock_TCP), "
            f"seconds after the last response. {c.RANGE_NOTE}\n"
            "`sudo python3 kernel-tuning/experiments/fin_timeout.py`\n\n" + table))
        return
    ck = c.Checks("fin_timeout")
    short, default = grouped[0][3], grouped[0][60]
    for r in (short, default):
        ck.check(r["held"] == f"held={HOLD}" and r["samples"][0][0] >= HOLD * 0.9,
                 f"fin_timeout {r['timeout']}: the server's sockets wait in FIN_WAIT_2",
                 f"{r['held']}, samples {r['samples']}")
    ck.check(short["samples"][1][0] == 0, "fin_timeout 3: none left after 6 s",
             str(short["samples"]))
    ck.check(default["samples"][1][0] >= HOLD * 0.9, "fin_timeout 60: all still there after 6 s",
             str(default["samples"]))
    ck.exit()


if __name__ == "__main__":
    main()
