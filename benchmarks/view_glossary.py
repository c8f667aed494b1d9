"""The views' prompt with and without the catalog's glossary (in the views' names), paired on the same
questions with one loaded model, the views first and the tables behind them (the default path).

Why: the tables' prompt carries the glossary ('maleta = baggage', 'asiento = seat'); the views' did not,
and Spanish was where the views lost (issue 25). Both prefixes are read once and kept; each question is
answered twice, once per prompt.

    .venv/bin/python benchmarks/view_glossary.py --sets dev,staff [--limit N]

The fresh set is held out: its figures are printed and recorded, never its questions or misses.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, write_result
from query_paths import _questions, _run, _summary, mcnemar_p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="dev,staff")
    ap.add_argument("--limit", type=int)
    args = ap.parse_args()

    import assistant.plan.prompt as view_prompt
    from assistant.llm import make_chat_model
    from db.settings import load_settings

    settings = load_settings()
    chat = make_chat_model(settings)
    with_glossary = view_prompt.view_prefix
    without = lambda *a, **k: with_glossary(*a, **{**k, "glossary": False})
    out: dict = {"machine": machine(settings), "model": str(settings.model), "sets": {}}
    right = lambda r: r["correct"]
    for name in args.sets.split(","):
        questions = _questions(name, args.limit)
        runs = {}
        for label, prefix in (("without", without), ("with", with_glossary)):
            view_prompt.view_prefix = prefix            # read by each new Assistant's view_prompt
            runs[label] = _run(settings, questions, chat, "views", None, None)
        view_prompt.view_prefix = with_glossary
        ids = [i for i in runs["without"] if i in runs["with"]]
        result = {label: _summary([runs[label][i] for i in ids], right) for label in runs}
        wins = sum(runs["with"][i]["correct"] and not runs["without"][i]["correct"] for i in ids)
        losses = sum(runs["without"][i]["correct"] and not runs["with"][i]["correct"] for i in ids)
        result["with_vs_without"] = {"wins": wins, "losses": losses, "mcnemar_p": round(mcnemar_p(wins, losses), 4)}
        out["sets"][name] = result
        print(f"\n== {name} ({len(ids)} questions{', held out: figures only' if name == 'fresh' else ''}) ==")
        for label in ("without", "with"):
            s = result[label]
            langs = ", ".join(f"{k} {c}/{t}" for k, (c, t) in s["by_lang"].items())
            print(f"glossary {label:<8} {s['correct']:>3}/{s['n']}  p50 {s['p50_s']} s  p95 {s['p95_s']} s  "
                  f"calls {s['calls']}  new tokens {s['new_prompt_tokens']}   {langs}")
        print(f"with vs without: +{wins} -{losses} (McNemar p = {result['with_vs_without']['mcnemar_p']})", flush=True)
    write_result("view-glossary", out)


if __name__ == "__main__":
    main()
