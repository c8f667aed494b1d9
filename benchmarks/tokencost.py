"""Compare the latency of `abordo eval` runs made at different times on a host whose speed drifts.

A question's generation time is almost exactly `a × new prompt tokens + b × generated tokens` (a
least-squares fit over one run's single-call questions leaves ~0.1 s of residual), but a shared VM's
`b` moved from 75 to 98 ms within one session with identical code. So two runs' wall-clock p50 mixes
the change with the host. This script fits `a` and `b` on one run (the reference) and prices every
run's tokens at those rates: the p50/p95 that each run's tokens would have cost on the same host.

    .venv/bin/python benchmarks/tokencost.py REFERENCE.json RUN.json [RUN.json ...]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import pct


def records(path: str) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["systems"]["abordo"]["records"]


def fit(recs: list[dict]) -> tuple[float, float, float]:
    """(seconds per new prompt token, per generated token, fixed) over the single-call questions."""
    import numpy as np

    one = [r for r in recs if r["llm_calls"] == 1]
    x = np.array([[r["new_prompt_tokens"], r["completion_tokens"], 1.0] for r in one])
    y = np.array([r["timings"]["generate"] for r in one])
    a, b, c = np.linalg.lstsq(x, y, rcond=None)[0]
    return float(a), float(b), float(c)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference")
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args()
    a, b, _ = fit(records(args.reference))
    print(f"rates from {args.reference}: {a:.4f} s per new prompt token, {b:.4f} s per generated token")
    print(f"{'run':<48} {'a':>7} {'b':>7} {'p50 s':>7} {'p95 s':>7} {'priced p50':>10} {'priced p95':>10}")
    for path in [args.reference, *args.runs]:
        recs = records(path)
        ra, rb, _ = fit(recs)
        wall = [r["latency_s"] for r in recs]
        priced = [a * r["new_prompt_tokens"] + b * r["completion_tokens"] for r in recs]
        print(f"{Path(path).name:<48} {ra:>7.4f} {rb:>7.4f} {pct(wall, 0.5):>7.2f} {pct(wall, 0.95):>7.2f} "
              f"{pct(priced, 0.5):>10.2f} {pct(priced, 0.95):>10.2f}")


if __name__ == "__main__":
    main()
