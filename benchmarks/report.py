"""Print the latest benchmark results (benchmarks/results/*.json) as Markdown tables for the README.

    .venv/bin/python benchmarks/report.py [--eval eval.json ...]

Reads guard.json (benchmarks/guard.py), lookups.json, stages.json, concurrency.json, seed.json and
executor.json when present, and any `abordo eval --json` files given with --eval. Missing results are
listed with the command that produces them.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

HOW = {
    "guard": ".venv/bin/python benchmarks/guard.py",
    "lookups": ".venv/bin/python benchmarks/lookups.py",
    "stages": "flock /tmp/abordo-model.lock .venv/bin/python benchmarks/stages.py",
    "concurrency": "flock /tmp/abordo-model.lock .venv/bin/python benchmarks/concurrency.py",
}


def _load(name: str) -> dict | None:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None


def _machine(d: dict) -> str:
    m = d.get("machine") or {}
    if not m:
        return ""
    return f"_Machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores" + \
        (f", llama_cpp {m['llama_cpp']}" if m.get("llama_cpp") else "") + \
        (f", model {m.get('model') or m.get('model_setting')}" if m.get("model_setting") else "") + "._"


def _header(title: str, d: dict) -> list[str]:
    out = [f"### {title}", ""]
    if d.get("command") or d.get("measured_at"):
        out.append(f"`{d.get('command', '')}` · measured {d.get('measured_at', '?')}")
        out.append("")
    return out


def guard(d: dict) -> list[str]:
    out = _header("Guard overhead (per statement)", d)
    out += ["| dialect | statements | runs | p50 ms | p95 ms | max ms |", "|---|---:|---:|---:|---:|---:|"]
    for dialect, r in d["results"].items():
        out.append(f"| {dialect} | {r['statements']} | {r['runs']} | {r['p50_ms']:.3f} | {r['p95_ms']:.3f} | "
                   f"{r['max_ms']:.3f} |")
    out.append(f"\nTarget p95 < {d.get('target_p95_ms', 2)} ms; role {d.get('role')}.")
    return out


def lookups(d: dict) -> list[str]:
    out = _header(f"Lookups at {d['passengers']:,} passengers (PostgreSQL)", d)
    out += ["| lookup | samples | rows | raw p50 ms | raw p95 ms | guarded p50 ms | guarded p95 ms |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for k, r in d["results"].items():
        out.append(f"| {k} | {r['samples']} | {r['rows_mean']} | {r['raw_p50_ms']:.2f} | {r['raw_p95_ms']:.2f} | "
                   f"{r['guarded_p50_ms']:.2f} | {r['guarded_p95_ms']:.2f} |")
    out.append(f"\nTarget raw p95 <= {d.get('target_p95_ms', 20)} ms. Guarded = guard + role login + masking + "
               f"audit (role {d.get('role')}).")
    return out + ["", _machine(d)]


def stages(d: dict) -> list[str]:
    out = _header(f"Latency per pipeline stage ({d['questions']} dev questions, real model)", d)
    out += ["| questions | n | link | generate | execute | summarise | total |", "|---|---:|---:|---:|---:|---:|---:|"]
    for k, st in d["stages"].items():
        cells = " | ".join(f"{st[s]['p50_s']:.2f} / {st[s]['p95_s']:.2f}"
                           for s in ("link", "generate", "execute", "summarise", "total"))
        out.append(f"| {k} | {st['n']} | {cells} |")
    s = d.get("summary", {})
    out.append(f"\nCells: p50 / p95 seconds. Accuracy {s.get('accuracy', 0) * 100:.1f}%, "
               f"{s.get('llm_calls_per_q', 0):.2f} model calls and {s.get('new_prompt_tokens_per_q', 0):.0f} new "
               f"prompt tokens per question, fast-path share {s.get('fast_path_share', 0) * 100:.0f}%.")
    return out + ["", _machine(d)]


def concurrency(d: dict) -> list[str]:
    out = _header("Simultaneous users through the queue", d)
    out += ["| users | answers | answers/s | wait p50 s | wait p95 s | latency p95 s | fast path |",
            "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in d["levels"]:
        out.append(f"| {r['users']} | {r['answers']} | {r['throughput_per_s']:.2f} | {r['wait_p50_s']:.2f} | "
                   f"{r['wait_p95_s']:.2f} | {r['latency_p95_s']:.2f} | {r['fast_path_share'] * 100:.0f}% |")
    out.append(f"\nQueue: {d.get('queue')}; {d.get('per_user')} questions per user, every {d.get('model_every')}th "
               "needs the model.")
    return out + ["", _machine(d)]


def eval_file(path: str) -> list[str]:
    d = json.loads(Path(path).read_text(encoding="utf-8"))
    systems = d["systems"]
    run = d["run"]
    out = [f"### `abordo eval` — {run.get('questions_file', path)} ({run['questions']} questions, role {run['role']})", ""]
    out += ["| system | accuracy | es | en | model path | fast path (share) | p50 s | p95 s | calls/q | new prompt tok/q |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, sysres in systems.items():
        s = sysres["summary"]

        def a(x):
            return "-" if not x or not x.get("n") else f"{x['accuracy'] * 100:.1f}% ({x['correct']}/{x['n']})"

        out.append(f"| {name} | {a(s)} | {a(s['by_lang'].get('es'))} | {a(s['by_lang'].get('en'))} | "
                   f"{a(s['model_path'])} | {a(s['fast_path'])} ({s['fast_path_share'] * 100:.0f}%) | "
                   f"{s['p50_s']:.2f} | {s['p95_s']:.2f} | {s['llm_calls_per_q']:.2f} | {s['new_prompt_tokens_per_q']:.0f} |")
    first = next(iter(systems.values()))["summary"]
    out += ["", "| category | " + " | ".join(systems) + " |", "|---|" + "---:|" * len(systems)]
    for cat in first["by_category"]:
        cells = []
        for sysres in systems.values():
            x = sysres["summary"]["by_category"].get(cat)
            cells.append("-" if not x else f"{x['correct']}/{x['n']}")
        out.append(f"| {cat} | " + " | ".join(cells) + " |")
    return out + ["", _machine(d)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", nargs="*", default=[], help="abordo eval --json files to include")
    args = ap.parse_args()
    sections, missing = [], []
    for name, fn in (("guard", guard), ("lookups", lookups), ("stages", stages), ("concurrency", concurrency)):
        d = _load(name)
        if d is None:
            missing.append(f"- {name}: run `{HOW[name]}`")
        else:
            sections.append("\n".join(fn(d)))
    for path in args.eval:
        sections.append("\n".join(eval_file(path)))
    print("\n\n".join(sections))
    if missing:
        print("\nNot measured yet:\n" + "\n".join(missing))


if __name__ == "__main__":
    sys.exit(main())
