"""Which of the deterministic rewrites (`assistant.rewrite.RULES`) still change an
answer, for the configured model (and adapter). Each question of a set is asked once through the
Assistant; the model's SQL is then rewritten by the whole chain and by the chain with one rewrite left
out, and both are run and scored against the gold query. A rewrite *rescues* a question when the whole
chain is right and leaving it out is wrong, and *breaks* one the other way round. Only counts are
reported: the questions themselves (the held-out set's above all) are neither printed nor stored.
The rewrites are judged on the model's final SQL (after a repair call, the repaired one). Writes
benchmarks/results/rewrites-LABEL.json.

    flock /tmp/abordo-model.lock env ABORDO_MODEL=qwen2.5-coder-0.5b ABORDO_ADAPTER=demo \\
        .venv/bin/python benchmarks/rewrites.py --questions tests/data/eval/fresh-questions.jsonl --label fresh-0.5b-demo
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, write_result  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--questions", required=True)
    ap.add_argument("--db", help="database URL (default: the configured/demo database)")
    ap.add_argument("--label", required=True, help="names the result file")
    ap.add_argument("--role", default="supervisor")
    args = ap.parse_args()

    from assistant.question.asked import read_asked
    from assistant.rewrite import RULE_NAMES, JoinUnclear
    from assistant.pipeline import Assistant
    from db.settings import load_settings
    from evaluation.cli import _ask, _groups, make_chat
    from evaluation.placeholders import PlaceholderFiller
    from evaluation.questions import load_questions
    from evaluation.readonly_db import ReadOnlyDB
    from evaluation.scoring import evaluate_answer, score

    questions = load_questions(args.questions)
    with tempfile.TemporaryDirectory(prefix="abordo-rewrites-") as tmp:
        settings = load_settings().replace(app_url=f"sqlite:///{Path(tmp) / 'app.sqlite'}")
        ((gsettings, catalog, qs),) = _groups(settings, questions, args.db, None, None, Path(tmp))
        db = ReadOnlyDB(gsettings.database_url)
        cap = catalog.role(args.role).max_rows
        assistant = Assistant(gsettings, chat_model=make_chat(gsettings), catalog=catalog, role=args.role,
                              user="rewrites-bench")
        assistant.warm()
        names = list(RULE_NAMES)
        changed, rescues, breaks = Counter(), Counter(), Counter()
        right = model_path = 0
        for q in (PlaceholderFiller(db).fill(q) for q in qs):
            ans = _ask(assistant, q.question)
            right += evaluate_answer(db, q, ans, cap=cap).correct
            if ans.error or ans.refused or ans.fast_path or ans.card or not ans.sql_generated:
                continue                               # no model SQL went through the rewrites
            try:
                asked = read_asked(q.question)
                full = assistant.rewritten(ans.sql_generated, asked)[0]
            except JoinUnclear:
                continue
            model_path += 1
            full_ok = score(db, q, full, cap=cap).correct
            for name in names:
                try:
                    without = assistant.rewritten(ans.sql_generated, asked, skip={name})[0]
                except JoinUnclear:
                    without = ""
                if without == full:
                    continue
                changed[name] += 1
                without_ok = bool(without) and score(db, q, without, cap=cap).correct
                rescues[name] += full_ok and not without_ok
                breaks[name] += without_ok and not full_ok
        db.close()
    rows = {n: {"changes_sql": changed[n], "rescues": rescues[n], "breaks": breaks[n]} for n in names}
    print(f"{len(qs)} questions, {right} right; {model_path} answered from model SQL through the rewrites")
    print(f"{'rewrite':<28} {'changes SQL':>11} {'rescues':>8} {'breaks':>7}")
    for n in names:
        print(f"{n:<28} {changed[n]:>11} {rescues[n]:>8} {breaks[n]:>7}")
    write_result(f"rewrites-{args.label}", {
        "questions_file": args.questions, "questions": len(qs), "right": right, "through_rewrites": model_path,
        "model": gsettings.model, "adapter": gsettings.adapter, "database": gsettings.database_url,
        "rewrites": rows, "machine": machine(gsettings)})


if __name__ == "__main__":
    main()
