"""Guard latency over the benign corpus on both dialects: p50/p95 per dialect, printed as a table and
written to benchmarks/results/guard.json. Target: p95 < 2 ms per statement.

Run: .venv/bin/python benchmarks/guard.py [--repeat N]
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from db.catalog import load_catalog  # noqa: E402
from sql_tools.guard import check_sql  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "redteam" / "benign-sql.jsonl"
OUT = ROOT / "benchmarks" / "results" / "guard.json"


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20, help="timed runs per statement (after one warm-up)")
    ap.add_argument("--role", default="agent")
    args = ap.parse_args()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    catalog = load_catalog()
    entries = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = {}
    for dialect in ("sqlite", "postgres"):
        stmts = [e["sql"] for e in entries if e["dialect"] in ("any", dialect)]
        times: list[float] = []
        for sql in stmts:
            check_sql(sql, catalog=catalog, dialect=dialect, role=args.role)  # warm-up
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                check_sql(sql, catalog=catalog, dialect=dialect, role=args.role)
                times.append((time.perf_counter() - t0) * 1000)
        results[dialect] = {"statements": len(stmts), "runs": len(times),
                            "p50_ms": round(_pct(times, 0.50), 3), "p95_ms": round(_pct(times, 0.95), 3),
                            "max_ms": round(max(times), 3), "mean_ms": round(statistics.fmean(times), 3)}
    print(f"{'dialect':<10}{'stmts':>7}{'runs':>7}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for d, r in results.items():
        print(f"{d:<10}{r['statements']:>7}{r['runs']:>7}{r['p50_ms']:>10.3f}{r['p95_ms']:>10.3f}{r['max_ms']:>10.3f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"role": args.role, "repeat": args.repeat, "target_p95_ms": 2.0,
                               "results": results}, indent=2) + "\n", encoding="utf-8")
    print(f"written {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
