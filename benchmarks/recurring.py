"""Recurring questions (issue 27): a supervisor verifies 20 dev-set answers; staff then ask 60 variants of
them, 40 with other values (another route, day, month, country, tier, flight, passenger, booking or
ticket, some typed differently) and 20 phrased another way. How many are answered from the verified
store (matched), how many of those are right, and what the same 60 get from the model alone.

The 20 verified queries are the views-path SQL a supervisor would accept for each dev question, written
from the schema contract and checked here against the dev set's gold answer before they are stored (a
wrong one stops the run). The variants and their gold SQL are in benchmarks/data/recurring-questions.jsonl,
written from the schema and the demo's values, not from the held-out sets; needs-data variants are filled
from the database like the evaluation sets (another sample than their dev question's: the fill is drawn
by question id).

  matched   answered from a verified entry (no model call); scored against the variant's gold
  model     with --model: what is not matched goes to the model (the store then only adds); and the
            same 60 asked with an empty store, paired on the same questions in the same run

    .venv/bin/python benchmarks/recurring.py [--model] [--db URL]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import ModelNeeded, NoModel, machine, pct, write_result  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "recurring-questions.jsonl"
DEV = ROOT / "tests" / "data" / "eval" / "dev-questions.jsonl"


def _variants(entries: list[dict]):
    from evaluation.questions import Question

    for e in entries:
        for v in e["variants"]:
            gold = {"sqlite": v["sql_sqlite"], "postgres": v["sql_postgres"]}
            yield e["verify"], v["kind"], Question(id=v["id"], lang=v["lang"], question=v["question"],
                                                   gold=gold, category=v["category"], notes=v["notes"])


def _verify(assistant, db, filler, entries: list[dict]) -> list[dict]:
    """Store the 20 verified answers, each checked against its dev question's gold first."""
    from assistant.plan.compile import compile_sql
    from evaluation.placeholders import substitute
    from evaluation.questions import load_questions
    from evaluation.scoring import score

    dev = {q.id: q for q in load_questions(DEV)}
    out = []
    for e in entries:
        q = filler.fill(dev[e["verify"]])
        sql = substitute(e["sql"], q.fill)
        check = score(db, q, compile_sql(sql, assistant.catalog.views, assistant.dialect))
        if not check.correct:
            sys.exit(f"the verified query for {q.id} is not its gold answer ({check.reason}: "
                     f"{check.detail}): fix {DATA.name}")
        entry_id = assistant.verify(q.question, sql, "views", user="supervisor")
        out.append({"dev": q.id, "question": q.question, "entry": entry_id})
    return out


def _ask(assistant, q):
    """(the Answer or None when the model was needed and none is loaded, seconds)."""
    t = time.perf_counter()
    try:
        ans = assistant.ask(q.question)
    except ModelNeeded:
        return None, time.perf_counter() - t
    return ans, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="store_true", help="send what is not matched to the configured model, "
                    "and ask the 60 with an empty store too (paired)")
    ap.add_argument("--db", help="database URL (default: the configured demo database)")
    args = ap.parse_args()

    from assistant.pipeline import Assistant
    from db.settings import load_settings
    from evaluation.cli import make_chat
    from evaluation.placeholders import PlaceholderFiller
    from evaluation.readonly_db import ReadOnlyDB
    from evaluation.scoring import evaluate_answer

    settings = load_settings()
    if args.db:
        settings = settings.replace(database_url=args.db)
    tmp = Path(tempfile.mkdtemp(prefix="abordo-recurring-"))
    settings = settings.replace(query_path="views", app_url=f"sqlite:///{tmp / 'app.sqlite'}")
    entries = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    db = ReadOnlyDB(settings.database_url)
    filler = PlaceholderFiller(db)
    chat = make_chat(settings) if args.model else NoModel()
    asker = Assistant(settings, chat_model=chat, role="supervisor", user="bench")
    cap = asker.catalog.role("supervisor").max_rows
    verified = _verify(asker, db, filler, entries)

    variants = [(dev, kind, filler.fill(q)) for dev, kind, q in _variants(entries)]
    records = []
    for dev, kind, q in variants:
        ans, seconds = _ask(asker, q)
        rec = {"id": q.id, "of": dev, "kind": kind, "question": q.question,
               "matched": bool(ans and ans.path == "verified"), "seconds": round(seconds, 3)}
        if ans is not None:
            r = evaluate_answer(db, q, ans, cap=cap)
            rec |= {"correct": r.correct, "reason": r.reason, "path": ans.path}
        records.append(rec)

    if args.model:                       # the same 60, an empty store: what the model alone gets
        alone = Assistant(settings.replace(app_url=f"sqlite:///{tmp / 'empty.sqlite'}"), chat_model=chat,
                          role="supervisor", user="bench")
        for rec, (_, _, q) in zip(records, variants):
            ans, seconds = _ask(alone, q)
            r = evaluate_answer(db, q, ans, cap=cap)
            rec |= {"model_alone_correct": r.correct, "model_alone_seconds": round(seconds, 3)}
    db.close()

    rows = []
    for name, sel in (("other values", "values"), ("other phrasing", "phrasing"), ("all", None)):
        rs = [r for r in records if sel is None or r["kind"] == sel]
        m = [r for r in rs if r["matched"]]
        row = {"set": name, "asked": len(rs), "matched": len(m),
               "right_of_matched": sum(bool(r.get("correct")) for r in m),
               "matched_p50_ms": round(pct([r["seconds"] for r in m], .5) * 1000, 1) if m else None}
        if args.model:
            row |= {"right_with_store": sum(bool(r.get("correct")) for r in rs),
                    "right_model_alone": sum(bool(r.get("model_alone_correct")) for r in rs),
                    "p50_s_with_store": round(pct([r["seconds"] for r in rs], .5), 2),
                    "p50_s_model_alone": round(pct([r["model_alone_seconds"] for r in rs], .5), 2)}
        rows.append(row)
    print(f"verified {len(verified)} dev answers; {len(records)} variants asked ({settings.database_url})")
    head = f"{'variants':<16}{'asked':>6}{'matched':>9}{'right':>7}{'p50 ms':>8}"
    if args.model:
        head += f"{'right, store+model':>20}{'right, model alone':>20}{'p50 s':>13}"
    print(head)
    for r in rows:
        line = (f"{r['set']:<16}{r['asked']:>6}{r['matched']:>9}{r['right_of_matched']:>7}"
                f"{r['matched_p50_ms'] or '-':>8}")
        if args.model:
            line += (f"{r['right_with_store']:>20}{r['right_model_alone']:>20}"
                     f"{r['p50_s_with_store']:>6} / {r['p50_s_model_alone']:<5}")
        print(line)
    for r in records:
        if r["matched"] and not r.get("correct"):
            print(f"  matched but wrong: {r['id']} ({r.get('reason')}): {r['question']}")
    dialect = "postgres" if settings.database_url.startswith("postgres") else "sqlite"
    write_result(f"recurring-{dialect}" + ("-model" if args.model else ""),
                 {"machine": machine(settings), "model": getattr(chat, "model_name", None), "summary": rows,
                  "verified": verified, "records": records})


if __name__ == "__main__":
    main()
