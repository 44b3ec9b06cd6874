"""Parses Prometheus text from stdin with the reference parser (prometheus_client) and
prints one line per sample: `name{label="v",...} value` with labels sorted, preceded by
`# family NAME TYPE` per family. Exits non-zero (with the parser's error) if the text
does not parse, or if prometheus_client is missing: the tests must not skip that check."""

import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
for family in text_string_to_metric_families(text):
    print(f"# family {family.name} {family.type}")
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value!r}")
