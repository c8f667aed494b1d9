"""Same SQL before and after a refactoring: the dev, staff and fresh sets through the pipeline, compared
question by question, without paying for the model twice.

    record  runs the real model once (on the code before the change) and keeps, per question, every
            reply the model gave (the SQL call and any repair) and what the pipeline made of them: the
            SQL that ran, the error, the number of model calls;
    check   replays those replies through the code as it is now with a scripted model, and reports per
            set how many questions end with the same SQL, error and number of calls.

    .venv/bin/python benchmarks/same_sql.py record --out /tmp/replies.jsonl [--sets dev,staff,fresh]
    .venv/bin/python benchmarks/same_sql.py check --replies /tmp/replies.jsonl [--before d89ed60]

The replies file holds the model's SQL for held-out questions: keep it out of the repository (the
default path is ignored by git) and read only the counts `check` prints for the fresh set. Both
steps seed the same demo database (seed 42, 5,000 passengers) in a temporary directory, role agent,
today 2026-06-15.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETS = {"dev": "tests/data/eval/dev-questions.jsonl", "staff": "tests/data/eval/staff-questions.jsonl",
        "fresh": "tests/data/eval/fresh-questions.jsonl"}
DEFAULT_REPLIES = ROOT / "benchmarks" / "results" / "same-sql-replies.tmp"


def _questions(names: list[str]) -> list[tuple[str, str, str]]:
    out = []
    for name in names:
        for line in (ROOT / SETS[name]).read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line)
                out.append((name, q["id"], q["question"]))
    return out


def _settings(tmp: Path):
    from db.settings import Settings
    from seed_data.loaders import seed_database

    db = tmp / "demo.sqlite"
    seed_database(f"sqlite:///{db}", passengers=5000, progress=False)
    return Settings(database_url=f"sqlite:///{db}", app_url=f"sqlite:///{tmp / 'app.sqlite'}")


def _ask(assistant, question: str) -> dict:
    """One question, as a card or through the model: what the pipeline made of it."""
    ans = assistant.look_up(question) or assistant.ask(question)
    return {"sql": ans.sql, "error": ans.error, "refused": ans.refused, "calls": ans.llm_calls,
            "card": (ans.card or {}).get("kind")}


def record(args) -> None:
    from assistant.pipeline import Assistant

    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(_settings(Path(tmp)), role="agent", user="same-sql")
        assistant.warm()
        seen: list[str] = []
        call = assistant._call

        def recording(ans, turns, **kw):
            text = call(ans, turns, **kw)
            seen.append(text)
            return text

        assistant._call = recording
        with open(args.out, "w", encoding="utf-8") as out:
            for i, (name, qid, question) in enumerate(_questions(args.sets.split(",")), 1):
                seen.clear()
                row = {"set": name, "id": qid, **_ask(assistant, question), "replies": list(seen)}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
                print(f"{i:>4} {name} {qid} calls={row['calls']} error={row['error']}", flush=True)


def check(args) -> None:
    from assistant.pipeline import Assistant
    from tests.fakes import ScriptedChat

    rows = [json.loads(line) for line in Path(args.replies).read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = {(n, i): q for n, i, q in _questions(sorted({r["set"] for r in rows}))}
    tally: dict[str, dict[str, int]] = {}
    differing: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp))
        for row in rows:
            chat = ScriptedChat(row["replies"] or ["SELECT 1"])
            assistant = Assistant(settings, chat_model=chat, role="agent", user="same-sql")
            now = _ask(assistant, questions[(row["set"], row["id"])])
            same = all(now[k] == row[k] for k in ("sql", "error", "refused", "calls", "card"))
            t = tally.setdefault(row["set"], {"questions": 0, "same": 0})
            t["questions"] += 1
            t["same"] += same
            if not same and row["set"] != "fresh":      # the fresh set's misses stay unread
                differing.append(f"{row['set']} {row['id']}: before {row['sql'] or row['error']!r} "
                                 f"now {now['sql'] or now['error']!r}")
    print("\nset     questions  same SQL, error and calls")
    for name, t in tally.items():
        print(f"{name:<8}{t['questions']:>9}  {t['same']:>4}")
    for line in differing:
        print("  differs:", line)
    if args.before:
        from common import machine, write_result

        write_result("same-sql", {"recorded_on": args.before, "sets": tally, "machine": machine()})
    if any(t["same"] != t["questions"] for t in tally.values()):
        sys.exit(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", default=str(DEFAULT_REPLIES))
    r.add_argument("--sets", default="dev,staff,fresh")
    c = sub.add_parser("check")
    c.add_argument("--replies", default=str(DEFAULT_REPLIES))
    c.add_argument("--before", help="the commit the replies were recorded on: write the counts (never the SQL) "
                                    "to benchmarks/results/same-sql.json")
    args = ap.parse_args()
    (record if args.cmd == "record" else check)(args)


if __name__ == "__main__":
    main()
