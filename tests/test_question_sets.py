"""The held-out question sets (staff-questions.jsonl, fresh-questions.jsonl): their shape, and their gold SQL
on a seeded demo in SQLite and in PostgreSQL.

Every gold query must run on both engines, return the same rows on both (compared by the evaluator's own
scoring rules) and return a non-empty, non-trivial result. needs-data questions are filled by the
evaluator's placeholder sampler on each engine, and must draw the same sample on both.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from evaluation.compare import compare_results, has_top_level_order_by
from evaluation.placeholders import PlaceholderFiller, placeholders_of
from evaluation.questions import load_questions
from evaluation.readonly_db import ReadOnlyDB

EVAL = Path(__file__).parent / "data" / "eval"
SETS = {"staff": EVAL / "staff-questions.jsonl", "fresh": EVAL / "fresh-questions.jsonl"}
CATEGORIES = {"filter", "aggregate", "join-2", "join-multi", "relative-date", "city-names", "needs-data", "top-n",
              "disruptions", "baggage", "ssr", "revenue", "loyalty", "cabin-mix"}
PER_CATEGORY = {"staff": 4, "fresh": 3}


@pytest.mark.parametrize("name", sorted(SETS))
def test_shape_of_the_set(name):
    qs = load_questions(SETS[name])
    ids = [q.id for q in qs]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert all(re.fullmatch(rf"{name}-\d{{3}}", i) for i in ids), ids
    assert Counter(q.category for q in qs) == {c: PER_CATEGORY[name] for c in CATEGORIES}
    langs = Counter(q.lang for q in qs)
    assert set(langs) == {"es", "en"} and langs["es"] == langs["en"], langs
    for q in qs:
        assert re.match(r"Difficulty: (easy|medium|hard)\. ", q.notes + " "), q.id
        assert q.gold.get("sqlite") and q.gold.get("postgres"), q.id
        # placeholders belong to needs-data questions, and every needs-data question has some
        assert bool(placeholders_of(q)) == (q.category == "needs-data"), q.id


def _non_trivial(rows) -> bool:
    return any(v is not None and v != 0 for row in rows for v in row)


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(SETS))
def test_gold_sql_agrees_on_both_engines(name, seeded_demo):
    sqlite_url = f"sqlite:///{seeded_demo(5000)}"      # the demo as `abordo seed` makes it (5,000 passengers)
    pg_url = seeded_demo(5000, postgres=True)
    lite, pg = ReadOnlyDB(sqlite_url), ReadOnlyDB(pg_url)
    problems = []
    try:
        for q in load_questions(SETS[name]):
            q_lite, q_pg = q, q
            if placeholders_of(q):
                q_lite, q_pg = PlaceholderFiller(lite).fill(q), PlaceholderFiller(pg).fill(q)
                if q_lite.fill != q_pg.fill:
                    problems.append(f"{q.id}: sampled {q_lite.fill} on SQLite but {q_pg.fill} on PostgreSQL")
                    continue
            try:
                _, rows_lite = lite.run(q_lite.gold_sql("sqlite"))
                _, rows_pg = pg.run(q_pg.gold_sql("postgres"))
            except Exception as exc:  # noqa: BLE001 - report every failing question at once
                problems.append(f"{q.id}: {type(exc).__name__}: {exc}")
                continue
            if not rows_lite or not _non_trivial(rows_lite):
                problems.append(f"{q.id}: empty or trivial result {rows_lite[:3]}")
            cmp = compare_results(rows_lite, rows_pg, ordered=has_top_level_order_by(q_lite.gold_sql("sqlite")))
            if not cmp.correct:
                problems.append(f"{q.id}: SQLite and PostgreSQL differ ({cmp.reason}: {cmp.detail})")
    finally:
        lite.close()
        pg.close()
    assert not problems, "\n".join(problems)
