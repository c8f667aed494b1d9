"""Base model against trained adapters, side by side, in one run: `abordo eval` per configuration,
question set and engine, then one table.

    .venv/bin/python benchmarks/adapters.py --sets fresh,dev,staff --engines sqlite \
        --configs base-1.5b,base-0.5b,demo-0.5b --sqlite sqlite:///demo.sqlite --pg postgresql://.../abordo_demo

A configuration is `base-<size>` (the model with the cached schema prefix, as today) or
`<adapter>-<size>` (`demo` = the adapter shipped for the demo catalog, or a path to any adapter made
by `abordo train`). Each eval runs in its own process (one model load each), one after another, so
no two share the two cores. Results: benchmarks/results/adapters-<name>.json and the printed table;
each eval's own JSON sits beside it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SETS = {name: ROOT / "tests" / "data" / "eval" / f"{name}-questions.jsonl" for name in ("dev", "staff", "fresh")}
SIZES = {"0.5b": "qwen2.5-coder-0.5b", "1.5b": "qwen2.5-coder-1.5b"}


def _config(name: str) -> tuple[str, str]:
    """(model, adapter setting) of a configuration name."""
    adapter, _, size = name.rpartition("-")
    if size not in SIZES:
        raise SystemExit(f"configuration {name!r}: end it in -0.5b or -1.5b")
    return SIZES[size], "none" if adapter == "base" else adapter


def _training_seconds(model: str, adapter: str) -> float | None:
    from assistant.llm.adapters import manifest_path, shipped_adapter

    if adapter == "none":
        return None
    path = shipped_adapter(model) if adapter == "demo" else Path(adapter)
    try:
        return json.loads(manifest_path(path).read_text())["train_seconds"]
    except (OSError, ValueError, KeyError):
        return None


def run(configs, sets, engines, urls, tag: str) -> list[dict]:
    rows = []
    for config in configs:
        model, adapter = _config(config)
        for engine in engines:
            for qset in sets:
                out = RESULTS / f"eval-{qset}-{engine}-{config}-{tag}.json"
                env = {**os.environ, "ABORDO_MODEL": model, "ABORDO_ADAPTER": adapter}
                cmd = [str(ROOT / ".venv" / "bin" / "abordo"), "eval", "--questions", str(SETS[qset]),
                       "--db", urls[engine], "--json", str(out), "--no-failures", "--no-progress"]
                started = time.perf_counter()
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(f"{config} {engine} {qset}: eval failed: {done.stderr.strip()[-400:]}", file=sys.stderr)
                    continue
                summary = json.loads(out.read_text())["systems"]["abordo"]["summary"]
                rows.append({"config": config, "model": model, "adapter": adapter, "engine": engine, "set": qset,
                             "accuracy": summary["accuracy"], "correct": summary["correct"], "n": summary["n"],
                             "en": summary["by_lang"].get("en", {}).get("accuracy"),
                             "es": summary["by_lang"].get("es", {}).get("accuracy"),
                             "p50_s": summary["p50_s"], "p95_s": summary["p95_s"],
                             "calls_per_q": summary["llm_calls_per_q"],
                             "new_prompt_tokens_per_q": summary["new_prompt_tokens_per_q"],
                             "completion_tokens_per_q": summary["completion_tokens_per_q"],
                             "train_s": _training_seconds(model, adapter), "wall_s": round(time.perf_counter() - started, 1),
                             "json": out.name})
                print(_line(rows[-1]), flush=True)
    return rows


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def _line(r: dict) -> str:
    train = "–" if r["train_s"] is None else f"{r['train_s'] / 60:.0f} min"
    return (f"| {r['config']} | {r['engine']} | {r['set']} | **{_pct(r['accuracy'])}** ({r['correct']}/{r['n']}) | "
            f"{_pct(r['en'])} | {_pct(r['es'])} | {r['p50_s']:.1f} s | {r['p95_s']:.1f} s | "
            f"{r['new_prompt_tokens_per_q']:.0f} | {r['completion_tokens_per_q']:.0f} | {r['calls_per_q']:.2f} | {train} |")


HEADER = ("| configuration | engine | set | accuracy | en | es | p50 | p95 | new prompt tokens/q | generated tokens/q "
          "| calls/q | training |\n|---|---|---|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="base-1.5b,base-0.5b,demo-0.5b")
    ap.add_argument("--sets", default="fresh,dev,staff")
    ap.add_argument("--engines", default="sqlite")
    ap.add_argument("--sqlite", default=None, help="seeded demo SQLite URL")
    ap.add_argument("--pg", default=None, help="seeded demo PostgreSQL URL (abordo seed + abordo db grant-readonly)")
    ap.add_argument("--name", default=None, help="results file suffix (default: the git commit)")
    args = ap.parse_args()
    tag = args.name or subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False,
                                      cwd=ROOT).stdout.strip()
    urls = {"sqlite": args.sqlite, "postgres": args.pg}
    engines = args.engines.split(",")
    for e in engines:
        if not urls.get(e):
            raise SystemExit(f"--{'pg' if e == 'postgres' else e} URL is needed for engine {e}")
    print(HEADER, flush=True)
    rows = run(args.configs.split(","), args.sets.split(","), engines, urls, tag)
    import platform

    out = RESULTS / f"adapters-{tag}.json"
    out.write_text(json.dumps({"rows": rows, "machine": {"cpu": platform.processor() or platform.machine(),
                                                          "cores": os.cpu_count(), "platform": platform.platform()},
                               "command": " ".join(sys.argv)}, indent=2) + "\n")
    print(f"\n{out}")


if __name__ == "__main__":
    main()
