"""Results of the experiments: coreline-load JSON helpers, markdown tables, result files
and the findings a --quick run asserts. Part of the experiments' library: use it
through common.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
RESULTS = os.path.join(HERE, "results")


def errors_total(result):
    """All client errors of a coreline-load result."""
    return sum(result["errors"].values())


def ms(us):
    """Microseconds as a short millisecond string for tables."""
    v = us / 1000.0
    return f"{v:.0f} ms" if v >= 100 else f"{v:.1f} ms" if v >= 1 else f"{v:.2f} ms"


def markdown_table(headers, rows):
    """A GitHub markdown table (cells converted with str)."""
    out = ["| " + " | ".join(map(str, headers)) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(out) + "\n"


def write_result(name, markdown):
    """Writes experiments/results/NAME.md and prints it."""
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"{name}.md")
    with open(path, "w") as f:
        f.write(markdown)
    print(markdown)
    print(f"# written to {os.path.relpath(path, REPO)}")


def kernel():
    """The running kernel release, for the results header."""
    return os.uname().release


class Checks:
    """Findings asserted by --quick: `ok - ...` / `FAIL - ...` lines, exit 1 if any failed."""

    def __init__(self, name):
        self.name = name
        self.failed = 0
        self.passed = 0

    def check(self, cond, what, detail=""):
        """Records one finding; detail is printed on failure (the measured values)."""
        if cond:
            self.passed += 1
            print(f"ok - {self.name}: {what}")
        else:
            self.failed += 1
            print(f"FAIL - {self.name}: {what}" + (f" ({detail})" if detail else ""))
        sys.stdout.flush()
        return cond

    def exit(self):
        """Exits 1 if any check failed, else 0."""
        print(f"# {self.name}: {self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def latency_cells(result):
    """p50, p99, p99.9, max of a coreline-load result, as table cells."""
    lat = result["latency_us"]
    return [ms(lat["p50"]), ms(lat["p99"]), ms(lat["p99.9"]), ms(lat["max"])]


def over(result, threshold_ms):
    """Responses that took at least threshold_ms (200, 1000 or 3000)."""
    return result["latency_over_ms"][str(threshold_ms)]


def errors_cell(result):
    """Client errors by kind with the first message of each, e.g. 'read 12 (Connection
    reset by peer)', or '0'."""
    parts = []
    for kind, n in sorted(result["errors"].items()):
        if n:
            why = result["first_errors"].get(kind, "").replace(" (os error 104)", "")
            parts.append(f"{kind} {n} ({why})" if why else f"{kind} {n}")
    return ", ".join(parts) or "0"


def reset_errors(result):
    """Client errors of the kinds whose first error was a reset (ECONNRESET): coreline-load
    keeps one message per kind, so this assumes a kind's errors share their cause."""
    return sum(n for kind, n in result["errors"].items()
               if "reset" in result["first_errors"].get(kind, "").lower())
