"""Executor overhead: the same SQL through run_guarded (guard + hardened executor + mask + audit) vs a plain
sqlite3 / psycopg2 query, on a small seeded database. Prints p50/p95 per engine and writes
benchmarks/results/executor.json.  Usage: python benchmarks/executor.py [--pg ADMIN_URL] [-n 200]
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

SQL = "SELECT first_name, last_name, email FROM passengers WHERE passenger_id = 3"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def timeit(fn, n):
    fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default=os.environ.get("ABORDO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="abordo-bench-"))
    os.environ["ABORDO_HOME"] = str(tmp)
    import sqlalchemy as sa

    from db.engines import parse_url
    from db.catalog import load_catalog
    from db.roles import grant_readonly
    from sql_tools.service import run_guarded
    from test_executor_support import seed, settings_for

    cat = load_catalog()
    results = {}
    url = f"sqlite:///{tmp / 'p.sqlite'}"
    seed(url)
    st = settings_for(url, tmp)
    raw = sqlite3.connect(tmp / "p.sqlite")
    results["sqlite"] = {"raw": timeit(lambda: raw.execute(SQL).fetchall(), args.n),
                         "run_guarded": timeit(lambda: run_guarded(SQL, settings=st, catalog=cat, role="agent",
                                                                   user="bench"), args.n)}
    name = f"abordo_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(parse_url(args.pg), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        pg = sa.engine.make_url(args.pg).set(database=name).render_as_string(hide_password=False)
        seed(pg)
        grant_readonly(pg, cat, 3000)
        import psycopg2
        rconn = psycopg2.connect(sa.engine.make_url(pg).set(drivername="postgresql").render_as_string(False))

        def raw_pg():
            with rconn.cursor() as cur:
                cur.execute(SQL)
                cur.fetchall()
            rconn.rollback()
        pst = settings_for(pg, tmp / "pg")
        (tmp / "pg").mkdir()
        results["postgres"] = {"raw": timeit(raw_pg, args.n),
                               "run_guarded": timeit(lambda: run_guarded(SQL, settings=pst, catalog=cat, role="agent",
                                                                         user="bench"), args.n)}
        rconn.close()
        from sql_tools.executors import clear_executor_cache
        clear_executor_cache()
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    summary = {}
    print(f"{'engine':10} {'path':12} {'p50 ms':>8} {'p95 ms':>8}")
    for eng, r in results.items():
        for path, xs in r.items():
            summary.setdefault(eng, {})[path] = {"p50_ms": round(statistics.median(xs), 3),
                                                 "p95_ms": round(pct(xs, 95), 3), "n": len(xs)}
            print(f"{eng:10} {path:12} {statistics.median(xs):8.3f} {pct(xs, 95):8.3f}")
        summary[eng]["overhead_p50_ms"] = round(summary[eng]["run_guarded"]["p50_ms"] - summary[eng]["raw"]["p50_ms"], 3)
    out = ROOT / "benchmarks" / "results" / "executor.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"sql": SQL, "results": summary}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
