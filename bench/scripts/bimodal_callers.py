#!/usr/bin/env python3
"""Who a sampled kernel function was called from, in recordings kept by
`bimodal.py --perf --perf-dir DIR`: the share of all samples whose leaf is SYMBOL, split by
the first caller frames (the unwinder's view: a tail call leaves no frame of its own).

    python3 bench/scripts/bimodal_callers.py [--symbol S] [--depth 2] DIR/X.data... > OUT

With `cpu-clock` sampling in a guest, work done with interrupts disabled is sampled where
they are enabled again, so `_raw_spin_unlock_irqrestore` stands for the locked section
before it (a timer armed, a task woken): its callers say which one."""
import argparse, collections, subprocess


def samples(path):
    """Each sample's call chain as a list of symbols, leaf first."""
    out = subprocess.run(["perf", "script", "-i", path, "-F", "ip,sym"],
                         capture_output=True, text=True).stdout
    chain = []
    for line in out.splitlines():
        if not line.strip():
            if chain:
                yield chain
            chain = []
            continue
        parts = line.split(None, 1)
        chain.append(parts[1].split("+")[0] if len(parts) == 2 else "?")
    if chain:
        yield chain


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--symbol", default="_raw_spin_unlock_irqrestore")
    ap.add_argument("--depth", type=int, default=2, help="caller frames to tell apart")
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("data", nargs="+")
    a = ap.parse_args()
    for path in a.data:
        total, by_caller = 0, collections.Counter()
        for chain in samples(path):
            total += 1
            if chain[0] == a.symbol:
                by_caller[" ← ".join(chain[1:1 + a.depth])] += 1
        hits = sum(by_caller.values())
        print(f"## {path.rsplit('/', 1)[-1]}: {a.symbol} in {100 * hits / max(total, 1):.1f}% "
              f"of {total:,} samples; by caller:")
        for caller, n in by_caller.most_common(a.top):
            print(f"{100 * n / max(total, 1):6.2f}%  {caller}")
        print()


if __name__ == "__main__":
    main()
