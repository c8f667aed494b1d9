"""Edited answers and verified questions (issue 27): end-to-end latency with no model call.

  edit       `Assistant.edit`: one change to an answer's plan (a filter removed or changed, the grouping,
             the limit), re-read, expanded, guarded, run, masked, audited and put into words;
  verified   `Assistant.ask` of a question a supervisor verified, asked again with another route and
             day: linking, the shape match, the substitution, the same guarded run and the words.
Target: p95 <= 200 ms end to end at 1,000,000 passengers. The verified answers are also checked
against the same count written by hand for the new values (matched / right).

The first answers' queries are written here from the schema contract (the model is not needed: a
stand-in that raises on any call, `benchmarks.common.NoModel`, proves none is made). Questions and
variants are drawn from the database (routes and days that have flights), not from any evaluation set.

    .venv/bin/python benchmarks/edits.py [--db pg1m|sqlite] [--samples 40]
pg1m reuses database `abordo_bench_1m` (benchmarks/lookups.py seeds it when absent, ~3 min).
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from benchmarks.common import NoModel, machine, pct, write_result  # noqa: E402

TARGET_P95_MS = 200
# (question, the query over one view a model would write, edits staff make to it)
EDITS = [
    ("¿Cuántos no-shows en turista hubo por ciudad de origen?",
     "SELECT origin_city, COUNT(*) AS n FROM coupons WHERE coupon_status = 'no_show' AND cabin = 'economy' "
     "GROUP BY origin_city ORDER BY n DESC LIMIT 10",
     [dict(kind="remove_filter", index=1), dict(kind="set_filter", index=1, values=["business"]),
      dict(kind="set_grouping", columns=["destination_city"]), dict(kind="set_limit", limit=5)]),
    ("Cancelled flights per origin airport in June 2026",
     "SELECT origin, COUNT(*) AS n FROM flights WHERE flight_status = 'cancelled' "
     "AND flight_date BETWEEN '2026-06-01' AND '2026-06-30' GROUP BY origin ORDER BY n DESC",
     [dict(kind="set_filter", index=0, values=["delayed"]), dict(kind="remove_filter", index=1),
      dict(kind="set_grouping", columns=["aircraft_type"])]),
    ("¿Cuántas maletas hay por estado en los vuelos desde MEX?",
     "SELECT bag_status, COUNT(*) AS n FROM bags WHERE origin = 'MEX' GROUP BY bag_status",
     [dict(kind="set_filter", index=0, values=["CUN"]), dict(kind="set_grouping", columns=["destination"])]),
]
VERIFIED_Q = "¿Cuántos pasajeros volaron de {o} a {d} el {day}?"
VERIFIED_SQL = ("SELECT COUNT(*) AS n FROM coupons WHERE origin = '{o}' AND destination = '{d}' "
                "AND flight_date = '{day}' AND coupon_status = 'flown'")
BY_HAND = ("SELECT COUNT(*) FROM ticket_segments s JOIN flights f ON f.flight_id = s.flight_id WHERE f.origin = :o "
           "AND f.destination = :d AND f.scheduled_departure >= :day AND f.scheduled_departure < :after "
           "AND s.status = 'flown'")


def _stats(ms: list[float]) -> dict:
    return {"n": len(ms), "p50_ms": round(pct(ms, .5), 1), "p95_ms": round(pct(ms, .95), 1),
            "max_ms": round(max(ms), 1) if ms else None}


def _routes(engine, n: int, seed: int) -> list[tuple[str, str, str]]:
    """(origin, destination, day) of flights that flew, drawn at random."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT DISTINCT f.origin, f.destination, substr(CAST(f.scheduled_departure AS TEXT), 1, 10) "
            "FROM flights f JOIN ticket_segments s ON s.flight_id = f.flight_id WHERE s.status = 'flown'")).all()
    rng = random.Random(seed)
    return [tuple(r) for r in rng.sample(rows, min(n, len(rows)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["pg1m", "sqlite"], default="pg1m")
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--passengers", type=int, default=1_000_000)
    args = ap.parse_args()

    from assistant.pipeline import Assistant
    from assistant.plan.edit import Edit
    from db.settings import Settings, load_settings

    if args.db == "pg1m":
        from benchmarks.lookups import open_bench_database

        url, _, _, raw, settings = open_bench_database(args.passengers)
        raw.close()
    else:
        url = load_settings().database_url
        settings = Settings(database_url=url, app_url=f"sqlite:///{tempfile.mkdtemp(prefix='abordo-bench-')}/app.sqlite")
    settings = settings.replace(query_path="views")
    a = Assistant(settings, chat_model=NoModel(), role="supervisor", user="bench")
    from db.engines import parse_url

    engine = sa.create_engine(parse_url(url))      # psycopg2, as the assistant's own engines

    edit_ms: list[float] = []
    failed: dict[str, int] = {}
    execute_ms: list[float] = []          # of which: guard, the database and masking (`_execute`)
    per_edit: dict[str, list[float]] = {}
    for _ in range(max(1, args.samples // 10)):
        for question, sql, edits in EDITS:
            for e in edits:
                change = Edit.from_dict(e)
                t = time.perf_counter()
                ans = a.edit(question, sql, change)
                ms = (time.perf_counter() - t) * 1000
                if ans.error:              # e.g. the role's statement timeout at 1 M passengers: kept, counted
                    failed.setdefault(f"{change.describe()} ({ans.error})", 0)
                    failed[f"{change.describe()} ({ans.error})"] += 1
                    continue
                edit_ms.append(ms)
                execute_ms.append(ans.timings.get("execute", 0.0) * 1000)
                per_edit.setdefault(change.kind, []).append(ms)

    routes = _routes(engine, args.samples + 1, seed=7)
    o, d, day = routes[0]
    a.verify(VERIFIED_Q.format(o=o, d=d, day=day), VERIFIED_SQL.format(o=o, d=d, day=day), "views", user="bench")
    verified_ms, matched, right = [], 0, 0
    import datetime as dt
    for o, d, day in routes[1:]:
        t = time.perf_counter()
        ans = a.ask(VERIFIED_Q.format(o=o, d=d, day=day))
        verified_ms.append((time.perf_counter() - t) * 1000)
        if ans.path != "verified" or ans.error:
            continue
        matched += 1
        after = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
        with engine.connect() as conn:
            expected = conn.execute(sa.text(BY_HAND), {"o": o, "d": d, "day": day, "after": after}).scalar()
        right += int(ans.rows.iloc[0, 0]) == expected

    out = {"machine": machine(settings), "db": args.db, "passengers": args.passengers if args.db == "pg1m" else None,
           "edit": _stats(edit_ms), "edit_execute": _stats(execute_ms), "edit_by_kind": {k: _stats(v) for k, v in per_edit.items()},
           "verified": _stats(verified_ms) | {"matched": matched, "right": right, "asked": len(routes) - 1},
           "edits_failed": failed, "target_p95_ms": TARGET_P95_MS}
    print(f"{'what':<28}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name, s in [("edit (all kinds)", out["edit"]), ("  of which guard+database", out["edit_execute"]),
                    *((f"  {k}", v) for k, v in out["edit_by_kind"].items()),
                    ("verified question", out["verified"])]:
        print(f"{name:<28}{s['n']:>5}{s['p50_ms']:>9}{s['p95_ms']:>9}{s['max_ms']:>9}")
    for what, n in failed.items():
        print(f"edit failed {n}x: {what}")
    print(f"verified: {matched}/{len(routes) - 1} variants matched, {right} of them right; "
          f"target p95 <= {TARGET_P95_MS} ms")
    write_result(f"edits-{args.db}", out)


if __name__ == "__main__":
    main()
