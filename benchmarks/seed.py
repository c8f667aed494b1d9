"""Seeding speed: the demo into SQLite and a large population into PostgreSQL by COPY.

Targets: demo (5,000 passengers) <= 10 s; 1,000,000 passengers into PostgreSQL <= 5 min.
Prints a table and writes benchmarks/results/seed.json.

    .venv/bin/python benchmarks/seed.py                      # demo + 1,000,000 into PostgreSQL
    .venv/bin/python benchmarks/seed.py --pg-passengers 100000
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from db.engines import parse_url  # noqa: E402
from seed_data.loaders import seed_database  # noqa: E402

PG_ADMIN_URL = os.environ.get("ABORDO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "abordo_bench_seed"


def _admin(sql: str) -> None:
    engine = sa.create_engine(parse_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def _run(target: str, url: str, passengers: int, limit_s: float, progress: bool) -> dict:
    started = time.perf_counter()
    result = seed_database(url, passengers, progress=progress)
    wall = time.perf_counter() - started
    return {"target": target, "passengers": passengers, "rows": result.total_rows, "rows_per_table": result.rows,
            "wall_s": round(wall, 2), "rows_per_s": int(result.total_rows / wall), "limit_s": limit_s,
            "within_limit": wall <= limit_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-passengers", type=int, default=5000)
    parser.add_argument("--pg-passengers", type=int, default=1_000_000, help="0 to skip PostgreSQL")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "seed.json"))
    args = parser.parse_args()

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        runs.append(_run("sqlite (demo)", f"sqlite:///{Path(tmp) / 'demo.sqlite'}", args.demo_passengers, 10.0,
                         args.progress))
    if args.pg_passengers:
        _admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{BENCH_DB}"')
        try:
            url = sa.engine.make_url(PG_ADMIN_URL).set(database=BENCH_DB).render_as_string(hide_password=False)
            limit = 300.0 * args.pg_passengers / 1_000_000
            runs.append(_run("postgresql (COPY)", url, args.pg_passengers, max(limit, 10.0), args.progress))
        finally:
            _admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')

    print(f"{'target':<20} {'passengers':>11} {'rows':>12} {'wall s':>8} {'rows/s':>9}  limit")
    for r in runs:
        print(f"{r['target']:<20} {r['passengers']:>11,} {r['rows']:>12,} {r['wall_s']:>8.1f} {r['rows_per_s']:>9,}  "
              f"{r['limit_s']:.0f} s {'ok' if r['within_limit'] else 'OVER'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                               "runs": runs}, indent=2) + "\n")
    return 0 if all(r["within_limit"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
