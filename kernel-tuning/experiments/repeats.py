"""Repeated rows: run a plan's rows interleaved, then show each cell as a median and range.

One run per row cannot tell signal from luck on a shared machine, so a full run measures
every row `repeats` times in the order A, B, C, A, B, C, ... (a slow minute then hits
every row once, not one row three times) and a table cell reads `median (min–max)`.
Part of the experiments' library: use it through common.

    grouped = interleaved("syn_flood", plan, lambda s: run(*s), repeats=3)
    table = ranged_table(headers, [[cells(r) for r in runs] for runs in grouped])
"""
import re
import time

from results import markdown_table

# A number inside a cell: "0.21 ms", "5000 / 5000", "connect 15 (connect timed out)".
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _clock(seconds):
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def interleaved(name, plan, run_one, repeats):
    """Runs run_one(item) for every item of plan, `repeats` times over, interleaved.

    Returns one list per plan item with its results in run order. Prints a progress line
    per run (`progress: NAME row i/n LABEL, repeat r/R, elapsed, ~left`), which run_all.py
    reads to show the whole reference's progress.
    """
    grouped = [[] for _ in plan]
    total, done, start = len(plan) * repeats, 0, time.monotonic()
    for rep in range(repeats):
        for i, item in enumerate(plan):
            elapsed = time.monotonic() - start
            left = f"~{_clock(elapsed / done * (total - done))} left" if done else "~? left"
            print(f"progress: {name} row {i + 1}/{len(plan)} {_label(item)}, repeat "
                  f"{rep + 1}/{repeats}, {_clock(elapsed)} elapsed, {left}", flush=True)
            grouped[i].append(run_one(item))
            done += 1
    print(f"progress: {name} done, {total} runs in {_clock(time.monotonic() - start)}",
          flush=True)
    return grouped


def _label(item):
    if isinstance(item, (tuple, list)):
        return "(" + ", ".join(str(x).strip() for x in item) + ")"
    return str(item)


def _fmt_range(tokens):
    """median (min–max) of number tokens, each shown as it was measured."""
    order = sorted(tokens, key=float)
    med = order[(len(order) - 1) // 2]  # the lower middle for an even count
    if float(order[0]) == float(order[-1]):
        return med
    return f"{med} ({order[0]}–{order[-1]})"


def merge_cells(cells):
    """One cell from the same cell of every repeat.

    Equal cells stay as they are. Cells that differ only in their numbers (same words,
    same units) become the cell with each number as `median (min–max)`. Cells that differ
    in their words are listed, distinct values joined with ' / ' in first-seen order.
    """
    texts = [str(x) for x in cells]
    if len(set(texts)) == 1:
        return texts[0]
    skeletons = {_NUMBER.sub("#", t) for t in texts}
    if len(skeletons) == 1:
        numbers = [_NUMBER.findall(t) for t in texts]
        parts = _NUMBER.split(texts[0])
        out = [parts[0]]
        for pos in range(len(numbers[0])):
            out.append(_fmt_range([n[pos] for n in numbers]))
            out.append(parts[pos + 1])
        return "".join(out)
    seen = []
    for t in texts:
        if t not in seen:
            seen.append(t)
    return " / ".join(seen)


def merge_rows(rows):
    """One table row from the rows of every repeat of a plan item (same columns)."""
    return [merge_cells(col) for col in zip(*rows)]


def ranged_table(headers, grouped_rows):
    """A markdown table with one line per plan item, cells merged over its repeats, and a
    last column `runs` when any item ran more than once."""
    repeated = any(len(g) > 1 for g in grouped_rows)
    rows = [merge_rows(g) + ([len(g)] if repeated else []) for g in grouped_rows]
    return markdown_table(list(headers) + (["runs"] if repeated else []), rows)


RANGE_NOTE = ("Each cell: the median of the repeats with the range (min–max) in brackets "
              "where they differ; rows run interleaved (A, B, C, A, B, C, ...), each in fresh "
              "namespaces.")
