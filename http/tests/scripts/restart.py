#!/usr/bin/env python3
"""Zero-downtime restart under continuous load, inside a private network namespace.

    unshare -n python3 restart.py CORELINE_BINARY [--no-migrate]

Brings up `lo`, sets net.ipv4.tcp_migrate_req=1 (this namespace only; --no-migrate leaves
it 0), starts `coreline serve` (old), runs clients for 4 s — keep-alive ones and ones that
open a connection per request — starts a second `coreline serve --reuse-port` (new) on the
same port after 1 s, sends the old one SIGTERM after 2 s, and prints one JSON line:
requests answered, failures (any request without a complete 200), the old process's exit
status and how long it took to exit. Exit status 0 when nothing failed.
"""
import http.client, json, subprocess, sys, threading, time

PORT = 8080
RUN_SECS = 4.0


def sh(*cmd):
    subprocess.run(cmd, check=True)


def start(binary, *extra):
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{PORT}", "--cpus", "0", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()  # "serving ..." once its listeners are about to accept
    if "serving" not in line:
        sys.exit(f"restart: coreline did not start: {line.strip()} {proc.stderr.read()}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    time.sleep(0.3)
    return proc


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = 0
        self.failures = []

    def add(self, error=None):
        with self.lock:
            if error is None:
                self.ok += 1
            elif len(self.failures) < 20:
                self.failures.append(error)
            else:
                self.failures.append("...")


def client(counts, stop, keep_alive):
    conn = None
    while not stop.is_set():
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            headers = {} if keep_alive else {"Connection": "close"}
            conn.request("GET", "/plaintext", headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200 or body != b"Hello, World!":
                counts.add(f"status {resp.status} body {body[:40]!r}")
            else:
                counts.add()
            if not keep_alive or resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as e:  # every failure counts: no retries
            counts.add(f"{type(e).__name__}: {e}")
            if conn is not None:
                conn.close()
            conn = None


def main():
    binary = sys.argv[1]
    migrate = "--no-migrate" not in sys.argv
    sh("ip", "link", "set", "lo", "up")
    with open("/proc/sys/net/ipv4/tcp_migrate_req", "w") as f:
        f.write("1" if migrate else "0")
    old = start(binary)
    counts, stop = Counts(), threading.Event()
    threads = [threading.Thread(target=client, args=(counts, stop, i % 2 == 0)) for i in range(8)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    time.sleep(1.0)
    new = start(binary, "--reuse-port")
    time.sleep(max(0.0, 2.0 - (time.monotonic() - t0)))
    before = counts.ok
    stopped_at = time.monotonic()
    old.terminate()
    old_status = old.wait(timeout=20)
    old_exit_secs = time.monotonic() - stopped_at
    time.sleep(max(0.0, RUN_SECS - (time.monotonic() - t0)))
    stop.set()
    for t in threads:
        t.join(timeout=10)
    after = counts.ok - before
    new.terminate()
    new_status = new.wait(timeout=20)
    result = {"migrate_req": migrate, "answered": counts.ok, "answered_after_sigterm": after,
              "failures": len(counts.failures), "first_failures": counts.failures[:5],
              "old_exit_status": old_status, "old_exit_secs": round(old_exit_secs, 3),
              "new_exit_status": new_status}
    print(json.dumps(result))
    sys.exit(0 if not counts.failures and old_status == 0 and after > 0 else 1)


if __name__ == "__main__":
    main()
