"""Database lookups at 1,000,000 passengers on PostgreSQL: record locator, ticket number, accent-insensitive
name search (search_name), a flight's manifest. p50/p95 through the guarded path (guard + read-only role
login + masking + audit, i.e. `sql_tools.service.run_guarded`) and raw (the same SQL on a plain
psycopg2 connection: database time as the client sees it). Target: p95 <= 20 ms raw.

Seeds database `abordo_bench_1m` with seed_database(passengers=1_000_000) when it is absent (~3 min),
and reuses it afterwards. Prints a table and writes benchmarks/results/lookups.json.

    .venv/bin/python benchmarks/lookups.py [--samples 50] [--passengers 1000000]
Needs PostgreSQL at ABORDO_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa

from benchmarks.common import machine, pct, write_result  # noqa: E402
from db.engines import parse_url  # noqa: E402

PG_ADMIN_URL = os.environ.get("ABORDO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "abordo_bench_1m"


def _next_prefix(v: str) -> str:
    from assistant.question.link.people import _next_prefix as next_prefix

    return next_prefix(v)


def _q(v: str) -> str:
    return "'" + str(v).replace("'", "''") + "'"


QUERIES = {
    "record locator": lambda v: (
        "SELECT b.record_locator, b.status, p.first_name, p.last_name FROM bookings b "
        "JOIN tickets t ON t.booking_id = b.booking_id JOIN passengers p ON p.passenger_id = t.passenger_id "
        f"WHERE b.record_locator = {_q(v)}"),
    "ticket number": lambda v: (
        "SELECT s.coupon_number, f.flight_number, f.origin, f.destination, s.status FROM ticket_segments s "
        f"JOIN flights f ON f.flight_id = s.flight_id WHERE s.ticket_number = {_q(v)} ORDER BY s.coupon_number"),
    # The linker's own form (assistant.question.link.people._name_lookup): one index range over search_name, the typed
    # name as prefix (finds 'maria lopez' and 'maria lopez garcia').
    "name search (search_name)": lambda v: (
        "SELECT passenger_id, first_name, last_name, second_last_name FROM passengers "
        f"WHERE search_name >= {_q(v)} AND search_name < {_q(_next_prefix(v))} ORDER BY search_name LIMIT 50"),
    "flight manifest": lambda v: (
        "SELECT p.first_name, p.last_name, s.seat, s.cabin, s.status FROM ticket_segments s "
        "JOIN tickets t ON t.ticket_number = s.ticket_number JOIN passengers p ON p.passenger_id = t.passenger_id "
        f"WHERE s.flight_id = {int(v)}"),
}
SAMPLES = {
    "record locator": "SELECT record_locator FROM bookings ORDER BY md5(booking_id::text) LIMIT {n}",
    "ticket number": "SELECT ticket_number FROM tickets ORDER BY md5(ticket_number) LIMIT {n}",
    "name search (search_name)": "SELECT search_name FROM passengers ORDER BY md5(passenger_id::text) LIMIT {n}",
    "flight manifest": "SELECT flight_id FROM flights WHERE flight_id IN (SELECT flight_id FROM ticket_segments) "
                       "ORDER BY md5(flight_id::text) LIMIT {n}",
}


def _url(db: str) -> str:
    return sa.engine.make_url(PG_ADMIN_URL).set(database=db).render_as_string(hide_password=False)


def ensure_database(passengers: int) -> tuple[str, float | None]:
    from seed_data.loaders import seed_database

    admin = sa.create_engine(parse_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DB_NAME}).first()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    url = _url(DB_NAME)
    engine = sa.create_engine(parse_url(url))
    try:
        with engine.connect() as conn:
            have = conn.execute(sa.text("SELECT COUNT(*) FROM passengers")).scalar()
    except sa.exc.ProgrammingError:
        have = 0
    engine.dispose()
    seeded = None
    if have != passengers:
        print(f"seeding {passengers:,} passengers into {DB_NAME} (a few minutes) ...", flush=True)
        t = time.perf_counter()
        seed_database(url, passengers=passengers, replace=True, progress=True)
        seeded = time.perf_counter() - t
    return url, seeded


def open_bench_database(passengers: int):
    """The benchmark database (seeded once), its read-only roles, a plain read-only connection for raw
    timings and Settings with a throw-away app store: (url, seconds seeded or None, catalog, raw, settings)."""
    import psycopg2

    from db.catalog import load_catalog
    from db.roles import grant_readonly
    from db.settings import Settings

    url, seeded = ensure_database(passengers)
    catalog = load_catalog()
    grant_readonly(url, catalog, 3000)
    raw = psycopg2.connect(sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    raw.set_session(readonly=True, autocommit=True)
    tmp = tempfile.mkdtemp(prefix="abordo-bench-")
    return url, seeded, catalog, raw, Settings(database_url=url, app_url=f"sqlite:///{tmp}/app.sqlite")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=50, help="distinct values per lookup kind")
    ap.add_argument("--passengers", type=int, default=1_000_000)
    ap.add_argument("--role", default="supervisor", help="role for the guarded path (supervisor: 1000-row cap)")
    args = ap.parse_args()

    from sql_tools.service import run_guarded

    url, seeded, catalog, raw, settings = open_bench_database(args.passengers)
    results = {}
    with raw.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM passengers")
        n_passengers = cur.fetchone()[0]
        for kind, make in QUERIES.items():
            cur.execute(SAMPLES[kind].format(n=args.samples))
            values = [r[0] for r in cur.fetchall()]
            raw_ms, guarded_ms, rows = [], [], []
            for i, v in enumerate(values):
                sql = make(v)
                for timed in (False, True):             # first pass warms the cache
                    t = time.perf_counter()
                    cur.execute(sql)
                    out = cur.fetchall()
                    if timed:
                        raw_ms.append((time.perf_counter() - t) * 1000)
                        rows.append(len(out))
                    t = time.perf_counter()
                    run_guarded(sql, settings=settings, catalog=catalog, role=args.role, user=f"bench-{kind[:4]}-{i}")
                    if timed:
                        guarded_ms.append((time.perf_counter() - t) * 1000)
            results[kind] = {"samples": len(values), "rows_mean": round(sum(rows) / max(1, len(rows)), 1),
                             "raw_p50_ms": round(pct(raw_ms, .5), 2), "raw_p95_ms": round(pct(raw_ms, .95), 2),
                             "guarded_p50_ms": round(pct(guarded_ms, .5), 2),
                             "guarded_p95_ms": round(pct(guarded_ms, .95), 2)}
    raw.close()
    print(f"PostgreSQL, {n_passengers:,} passengers ({DB_NAME}); guarded path as role {args.role}")
    print(f"{'lookup':<28}{'n':>4}{'rows':>7}{'raw p50':>10}{'raw p95':>10}{'guarded p50':>13}{'guarded p95':>13}  target")
    for kind, r in results.items():
        ok = "ok" if r["raw_p95_ms"] <= 20 else "MISSED"
        print(f"{kind:<28}{r['samples']:>4}{r['rows_mean']:>7}{r['raw_p50_ms']:>8.2f}ms{r['raw_p95_ms']:>8.2f}ms"
              f"{r['guarded_p50_ms']:>11.2f}ms{r['guarded_p95_ms']:>11.2f}ms  p95<=20ms raw: {ok}")
    write_result("lookups", {"database": DB_NAME, "passengers": n_passengers, "role": args.role,
                             "seeded_seconds": round(seeded, 1) if seeded else None, "target_p95_ms": 20,
                             "results": results, "machine": machine()})


if __name__ == "__main__":
    main()
