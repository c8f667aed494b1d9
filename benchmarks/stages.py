"""Latency per pipeline stage (link, generate, execute, summarise) on the dev set, with the REAL model.

Every question goes through `Assistant.ask` exactly as `abordo eval` runs it (same Answer timings), on a
freshly seeded demo SQLite unless --db is given. Prints p50/p95/mean per stage and writes
benchmarks/results/stages.json (plus accuracy, since the run computes it anyway).

    flock /tmp/abordo-model.lock .venv/bin/python benchmarks/stages.py [--limit N] [--db URL]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import pct, write_result

STAGES = ("link", "generate", "execute", "summarise", "total")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", default=str(ROOT / "tests" / "data" / "eval" / "dev-questions.jsonl"))
    ap.add_argument("--db", help="database URL (default: a fresh 5,000-passenger demo SQLite)")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--role", default="supervisor")
    ap.add_argument("--from-eval", help="reuse an `abordo eval --json` file of the dev set instead of running "
                                        "the model again (the same Answer timings)")
    args = ap.parse_args()

    from db.settings import load_settings
    from evaluation.cli import run_eval
    from evaluation.questions import load_questions

    if args.from_eval:
        import json

        result = json.loads(Path(args.from_eval).read_text(encoding="utf-8"))
    else:
        questions = load_questions(args.questions)[: args.limit]
        with tempfile.TemporaryDirectory(prefix="abordo-stages-") as tmp:
            db = args.db
            if not db:
                from seed_data.loaders import seed_database

                db = f"sqlite:///{tmp}/demo.sqlite"
                seed_database(db, passengers=5000, progress=False)
            result = run_eval(load_settings(), questions, db_url=db, role=args.role)
    records = result["systems"]["abordo"]["records"]
    summary = result["systems"]["abordo"]["summary"]
    stats = {}
    for model_path in (None, False, True):
        rs = [r for r in records if model_path is None or r["fast_path"] == model_path]
        key = {None: "all", False: "model path", True: "fast path"}[model_path]
        stats[key] = {"n": len(rs), **{s: {"p50_s": round(pct([r["timings"].get(s, 0) for r in rs], .5), 3),
                                           "p95_s": round(pct([r["timings"].get(s, 0) for r in rs], .95), 3),
                                           "mean_s": round(statistics.fmean([r["timings"].get(s, 0) for r in rs]), 3)
                                           if rs else 0.0} for s in STAGES}}
    print(f"{len(records)} questions · model {result['run']['model']} · {result['machine']['cpu']} "
          f"({result['machine']['cores']} cores)")
    print(f"{'':<12}{'n':>4}" + "".join(f"{s:>20}" for s in STAGES))
    for key, st in stats.items():
        print(f"{key:<12}{st['n']:>4}" + "".join(
            f"{st[s]['p50_s']:>8.2f}/{st[s]['p95_s']:>6.2f}/{st[s]['mean_s']:>4.1f}" for s in STAGES))
    print("(each cell: p50 / p95 / mean seconds)")
    print(f"accuracy {summary['accuracy'] * 100:.1f}% · model calls/question {summary['llm_calls_per_q']:.2f} · "
          f"new prompt tokens/question {summary['new_prompt_tokens_per_q']:.0f}")
    write_result("stages", {"questions": len(records), "role": result["run"]["role"],
                            "from_eval": args.from_eval, "stages": stats,
                            "summary": {k: summary[k] for k in ("accuracy", "p50_s", "p95_s", "llm_calls_per_q",
                                                                "new_prompt_tokens_per_q", "fast_path_share")},
                            "model": result["run"]["model"], "model_load_s": result["run"]["model_load_s"],
                            "machine": result["machine"]})


if __name__ == "__main__":
    main()
