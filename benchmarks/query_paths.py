"""The views path against the tables path, paired on the same questions in one run (issue 25).

Each question set runs twice with ONE loaded model: `query_path = tables` (today's path) and
`query_path = views` (the views first, the tables behind them). From the second run, "views alone"
counts a question right only when the views path answered it (a fallback counts as a miss), so the
table shows the views by themselves, the tables by themselves and the combination; "either" is the
oracle upper bound of choosing per question. Paired wins/losses with an exact McNemar test, per
language and category, p50/p95, the two static prefixes' tokens, new prompt and generated tokens.

    .venv/bin/python benchmarks/query_paths.py --sets dev,staff [--db postgres] [--limit N]

Questions are the project's evaluation files; the fresh set is held out: the script prints and
records its figures only, never its questions or misses (`--sets fresh`).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from common import ROOT, machine, pct, write_result

SETS = {"dev": "tests/data/eval/dev-questions.jsonl", "staff": "tests/data/eval/staff-questions.jsonl",
        "fresh": "tests/data/eval/fresh-questions.jsonl", "spider": None}
SPIDER = ROOT.parent / "shared" / "eval-data" / "spider-aviation"


def mcnemar_p(wins: int, losses: int) -> float:
    """Two-sided exact McNemar p-value (a binomial test on the discordant pairs)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def _questions(name: str, limit: int | None):
    from evaluation.questions import load_questions

    path = SPIDER / "questions.jsonl" if name == "spider" else ROOT / SETS[name]
    qs = load_questions(str(path))
    return qs[:limit] if limit else qs


def _run(settings, questions, chat, path: str, db_url, db_dir):
    from evaluation.cli import run_eval

    result = run_eval(settings.replace(query_path=path), questions, db_url=db_url, db_dir=db_dir, chat=chat,
                      progress=False, log=lambda m: None)
    return {r["id"]: r for r in result["systems"]["abordo"]["records"]}


def _summary(records: list[dict], correct) -> dict:
    n = len(records)
    lat = [r["latency_s"] for r in records]
    out = {"n": n, "correct": sum(map(correct, records)),
           "p50_s": round(pct(lat, 0.5), 2), "p95_s": round(pct(lat, 0.95), 2),
           "new_prompt_tokens": round(sum(r["new_prompt_tokens"] for r in records) / n, 1),
           "generated_tokens": round(sum(r["completion_tokens"] for r in records) / n, 1),
           "calls": round(sum(r["llm_calls"] for r in records) / n, 2)}
    for key in ("lang", "category"):
        groups: dict[str, list] = {}
        for r in records:
            groups.setdefault(r[key] or "-", []).append(r)
        out[f"by_{key}"] = {k: [sum(map(correct, v)), len(v)] for k, v in sorted(groups.items())}
    return out


def _rewrites(records: list[dict]) -> dict:
    """rule -> [questions whose query it changed, of those answered right]: which of the SQL path's
    passes still change an answer on each path."""
    out: dict[str, list[int]] = {}
    for r in records:
        for rule in r.get("trace") or ():
            if rule != "views":
                n = out.setdefault(rule, [0, 0])
                n[0] += 1
                n[1] += bool(r["correct"])
    return dict(sorted(out.items()))


def compare(tables: dict, views: dict) -> dict:
    ids = [i for i in tables if i in views]
    t = [tables[i] for i in ids]
    v = [views[i] for i in ids]
    alone = lambda r: r["correct"] and r.get("path") == "views"     # noqa: E731
    right = lambda r: r["correct"]                                   # noqa: E731
    out = {"tables": _summary(t, right), "views_then_tables": _summary(v, right),
           "views_alone": _summary(v, alone),
           "either": sum(tables[i]["correct"] or views[i]["correct"] for i in ids),
           "fell_back": sum(views[i].get("path") == "tables" for i in ids),
           "rewrites": {"tables": _rewrites(t), "views": _rewrites([r for r in v if r.get("path") == "views"])}}
    for name, ok in (("views_then_tables", right), ("views_alone", alone)):
        wins = sum(ok(views[i]) and not tables[i]["correct"] for i in ids)
        losses = sum(tables[i]["correct"] and not ok(views[i]) for i in ids)
        out[f"{name}_vs_tables"] = {"wins": wins, "losses": losses, "mcnemar_p": round(mcnemar_p(wins, losses), 4)}
    return out


def prefix_tokens(settings, chat) -> dict:
    from assistant.pipeline import Assistant

    a = Assistant(settings.replace(query_path="views"), chat_model=chat, role="supervisor", user="bench")
    count = getattr(chat, "count_tokens", None)
    if count is None:
        return {}
    return {"views": count(a.prefixes()[0]), "tables": count(a.prefixes()[1])}


def _fresh_pg(url: str, seed_database) -> str:
    """The demo (5,000 passengers, seed 42) in a new PostgreSQL database named by `url`, with the
    read-only role logins the assistant connects with."""
    import sqlalchemy as sa

    from db.catalog import load_catalog
    from db.engines import parse_url
    from db.roles import grant_readonly

    target = sa.engine.make_url(url)
    admin = sa.create_engine(parse_url(target.set(database="postgres").render_as_string(hide_password=False)),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    seed_database(url, passengers=5000, progress=False)
    grant_readonly(url, load_catalog(), 3000)
    return url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="dev,staff")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/abordo_bench_paths")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--name", default="query-paths")
    ap.add_argument("--records", metavar="FILE",
                    help="also write each question's SQL and verdict on both paths (JSONL; never for the fresh set)")
    args = ap.parse_args()

    from assistant.llm import make_chat_model
    from db.settings import load_settings
    from seed_data.loaders import seed_database

    settings = load_settings()
    db_url = None
    if args.db == "postgres":
        db_url = _fresh_pg(args.pg_url, seed_database)
    chat = make_chat_model(settings)
    out: dict = {"machine": machine(settings), "model": str(settings.model), "db": args.db,
                 "prefix_tokens": prefix_tokens(settings.replace(database_url=db_url) if db_url else settings, chat),
                 "sets": {}}
    print(f"prefix tokens: {out['prefix_tokens']}", flush=True)
    for name in args.sets.split(","):
        questions = _questions(name, args.limit)
        db_dir = str(SPIDER / "database") if name == "spider" else None
        tables = _run(settings, questions, chat, "tables", db_url, db_dir)
        views = _run(settings, questions, chat, "views", db_url, db_dir)
        result = compare(tables, views)
        out["sets"][name] = result
        _print(name, result, held_out=name == "fresh")
        if args.records and name != "fresh":
            _write_records(args.records, name, tables, views)
    write_result(f"{args.name}-{args.db}", out)


def _write_records(path: str, name: str, tables: dict, views: dict) -> None:
    """One line per question and path, to read a development set's misses (the fresh set stays held out)."""
    import json

    keep = ("id", "lang", "category", "question", "correct", "reason", "path", "trace", "sql_generated",
            "predicted_sql", "gold_sql", "error", "latency_s", "llm_calls")
    with open(path, "a", encoding="utf-8") as f:
        for run, records in (("tables", tables), ("views", views)):
            for r in records.values():
                f.write(json.dumps({"set": name, "run": run, **{k: r.get(k) for k in keep}}, ensure_ascii=False) + "\n")


def _print(name: str, r: dict, *, held_out: bool) -> None:
    n = r["tables"]["n"]
    print(f"\n== {name} ({n} questions{', held out: figures only' if held_out else ''}) ==")
    print(f"{'configuration':<20}{'right':>7}{'p50 s':>8}{'p95 s':>8}{'new tok':>9}{'gen tok':>9}{'calls':>7}   by language")
    for key in ("tables", "views_alone", "views_then_tables"):
        s = r[key]
        langs = ", ".join(f"{k} {c}/{t}" for k, (c, t) in s["by_lang"].items())
        print(f"{key:<20}{s['correct']:>4}/{n:<3}{s['p50_s']:>7}{s['p95_s']:>8}{s['new_prompt_tokens']:>9}"
              f"{s['generated_tokens']:>9}{s['calls']:>7}   {langs}")
    print(f"either path right: {r['either']}/{n}; the views path fell back on {r['fell_back']}")
    for path, rules in r["rewrites"].items():
        print(f"rewrites that changed a query on the {path} path (changed/right): "
              + (", ".join(f"{k} {a}/{b}" for k, (a, b) in rules.items()) or "none"))
    for key in ("views_alone_vs_tables", "views_then_tables_vs_tables"):
        w = r[key]
        print(f"{key}: +{w['wins']} -{w['losses']} (McNemar p = {w['mcnemar_p']})")
    cats = sorted(set(r["tables"]["by_category"]) | set(r["views_then_tables"]["by_category"]))
    print("by category (tables / views alone / views then tables): " + "; ".join(
        f"{c} {r['tables']['by_category'].get(c, [0, 0])[0]}/{r['views_alone']['by_category'].get(c, [0, 0])[0]}/"
        f"{r['views_then_tables']['by_category'].get(c, [0, 0])[0]} of {r['tables']['by_category'].get(c, [0, 0])[1]}"
        for c in cats))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
