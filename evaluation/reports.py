"""Reports: a run's records aggregated (accuracy, latency percentiles, model cost), printed summaries,
failures, side-by-side and run-to-run comparisons, and the machine a run was on."""
from __future__ import annotations

import math
import os
import platform
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path

from evaluation.scoring import Record


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summarise(records: list[Record]) -> dict:
    n = len(records)
    if not n:
        return {"questions": 0}
    lat = [r.latency_s for r in records]
    fast = [r for r in records if r.fast_path]
    model = [r for r in records if not r.fast_path]

    def acc(rs):
        return {"n": len(rs), "correct": sum(r.correct for r in rs),
                "accuracy": round(sum(r.correct for r in rs) / len(rs), 4) if rs else None}

    by = lambda key: {k: acc(v) for k, v in sorted(_group(records, key).items())}
    return {
        "questions": n, **acc(records),
        "by_lang": by(lambda r: r.lang), "by_category": by(lambda r: r.category or "-"),
        "fast_path": acc(fast), "model_path": acc(model), "fast_path_share": round(len(fast) / n, 4),
        "join_fixed": acc([r for r in records if r.join_fixed]),
        "p50_s": round(pct(lat, 0.5), 3), "p95_s": round(pct(lat, 0.95), 3), "mean_s": round(statistics.fmean(lat), 3),
        "model_p50_s": round(pct([r.latency_s for r in model], 0.5), 3) if model else None,
        "llm_calls_per_q": round(sum(r.llm_calls for r in records) / n, 3),
        "prompt_tokens_per_q": round(sum(r.prompt_tokens for r in records) / n, 1),
        "new_prompt_tokens_per_q": round(sum(r.new_prompt_tokens for r in records) / n, 1),
        "completion_tokens_per_q": round(sum(r.completion_tokens for r in records) / n, 1),
        "errors": dict(Counter(r.reason for r in records if not r.correct)),
        "stage_p50_s": {s: round(pct([r.timings.get(s, 0.0) for r in records], 0.5), 3)
                        for s in ("link", "generate", "execute", "summarise")},
    }


def _group(records, key) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        out[key(r)].append(r)
    return out


def _a(x: dict) -> str:
    return "-" if not x.get("n") else f"{x['accuracy'] * 100:5.1f}% ({x['correct']}/{x['n']})"


def format_summary(s: dict, title: str = "abordo") -> str:
    if not s.get("questions"):
        return f"{title}: no questions"
    lines = [f"== {title}: {s['questions']} questions ==",
             f"{'accuracy':<28}{_a(s)}",
             f"{'  model path':<28}{_a(s['model_path'])}",
             f"{'  fast path':<28}{_a(s['fast_path'])}   (share {s['fast_path_share'] * 100:.0f}%)"]
    if s.get("join_fixed", {}).get("n"):
        lines.append(f"{'  joins repaired':<28}{_a(s['join_fixed'])}")
    for lang, v in s["by_lang"].items():
        lines.append(f"{'  lang ' + lang:<28}{_a(v)}")
    lines.append("by category:")
    for cat, v in s["by_category"].items():
        lines.append(f"{'  ' + cat:<28}{_a(v)}")
    lines += [f"{'latency p50 / p95':<28}{s['p50_s']:.2f} s / {s['p95_s']:.2f} s",
              f"{'model calls / question':<28}{s['llm_calls_per_q']:.2f}",
              f"{'prompt tokens / question':<28}{s['prompt_tokens_per_q']:.0f}",
              f"{'new prompt tokens / q':<28}{s['new_prompt_tokens_per_q']:.0f}",
              f"{'stage p50 (s)':<28}" + "  ".join(f"{k} {v:.2f}" for k, v in s["stage_p50_s"].items())]
    if s.get("errors"):
        lines.append(f"{'failures by reason':<28}" + ", ".join(f"{k} {v}" for k, v in sorted(s["errors"].items())))
    return "\n".join(lines)


def format_failures(records: list[Record], limit: int | None = None) -> str:
    out = []
    bad = [r for r in records if not r.correct]
    for r in bad[:limit]:
        out += [f"--- {r.id} [{r.lang}/{r.category}]{' fast-path' if r.fast_path else ''}: {r.reason}",
                f"  question:  {r.question}",
                f"  gold:      {r.gold_sql}",
                f"  predicted: {r.predicted_sql or r.sql_generated or '(none)'}"]
        if r.detail:
            out.append(f"  why:       {r.detail}")
    return "\n".join(out)


def format_side_by_side(a: dict, b: dict, name_a: str = "abordo", name_b: str = "langchain-sql-agent") -> str:
    def ratio(x, y):
        return "-" if not x or not y else f"{x / y:.2f}x"

    rows = [("accuracy", f"{a['accuracy'] * 100:.1f}%", f"{b['accuracy'] * 100:.1f}%", ratio(a["accuracy"], b["accuracy"])),
            ("p50 latency (s)", f"{a['p50_s']:.2f}", f"{b['p50_s']:.2f}", ratio(b["p50_s"], a["p50_s"])),
            ("p95 latency (s)", f"{a['p95_s']:.2f}", f"{b['p95_s']:.2f}", ratio(b["p95_s"], a["p95_s"])),
            ("model calls / question", f"{a['llm_calls_per_q']:.2f}", f"{b['llm_calls_per_q']:.2f}",
             ratio(b["llm_calls_per_q"], a["llm_calls_per_q"])),
            ("prompt tokens / question", f"{a['prompt_tokens_per_q']:.0f}", f"{b['prompt_tokens_per_q']:.0f}",
             ratio(b["prompt_tokens_per_q"], a["prompt_tokens_per_q"]))]
    for lang in sorted(set(a["by_lang"]) | set(b["by_lang"])):
        x, y = a["by_lang"].get(lang, {}), b["by_lang"].get(lang, {})
        rows.append((f"accuracy ({lang})", _pc(x), _pc(y), ratio(x.get("accuracy"), y.get("accuracy"))))
    w = max(len(name_a), 10)
    head = f"{'':<26}{name_a:>{w}}  {name_b:>20}  {'ratio':>8}"
    body = [f"{k:<26}{x:>{w}}  {y:>20}  {r:>8}" for k, x, y, r in rows]
    note = "ratio: accuracy abordo/baseline; latency, calls and tokens baseline/abordo (higher = abordo better)"
    return "\n".join([head, *body, note])


def _pc(x: dict) -> str:
    return "-" if not x.get("n") else f"{x['accuracy'] * 100:.1f}%"


def machine_info(settings=None) -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "cores": os.cpu_count(),
            "cpu": _cpu_model(), "simd": _simd()}
    try:
        import llama_cpp

        info["llama_cpp"] = llama_cpp.__version__
    except Exception:  # noqa: BLE001
        info["llama_cpp"] = None
    if settings is not None:
        info["model_setting"] = settings.model
        try:
            from assistant.llm.models import locate

            local = locate(settings.model)
            info["model_file"] = str(local.path)
            info["model"] = local.label
        except Exception:  # noqa: BLE001
            info["model_file"] = None
        info["n_threads"] = settings.n_threads
        info["n_ctx"] = settings.n_ctx
        info["openai_base_url"] = settings.openai_base_url or None
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _simd() -> str:
    """The vector extensions llama.cpp's speed depends on ("avx2 avx512f avx512_bf16 amx_tile"): VMs
    named "AMD EPYC" here come with and without AVX-512, at 2-3x apart in prompt reading."""
    wanted = ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return " ".join(f for f in wanted if f in flags)
    except OSError:
        pass
    return "unknown"


def records_to_json(records: list[Record]) -> list[dict]:
    return [asdict(r) for r in records]


def compare_runs(old: dict, new: dict) -> str:
    """What got better or worse between two `--json` outputs."""
    out = []
    for system in sorted(set(old.get("systems", {})) | set(new.get("systems", {}))):
        o = {r["id"]: r for r in old.get("systems", {}).get(system, {}).get("records", [])}
        n = {r["id"]: r for r in new.get("systems", {}).get(system, {}).get("records", [])}
        so = old.get("systems", {}).get(system, {}).get("summary", {})
        sn = new.get("systems", {}).get(system, {}).get("summary", {})
        out.append(f"== {system} ==")
        better = sorted(i for i in o.keys() & n.keys() if not o[i]["correct"] and n[i]["correct"])
        worse = sorted(i for i in o.keys() & n.keys() if o[i]["correct"] and not n[i]["correct"])
        out.append(f"better ({len(better)}): " + (", ".join(better) or "-"))
        out.append(f"worse ({len(worse)}): " + (", ".join(worse) or "-"))
        for i in worse:
            out.append(f"  {i}: {n[i]['reason']} {n[i].get('detail', '')}"[:300])
        only_o, only_n = sorted(o.keys() - n.keys()), sorted(n.keys() - o.keys())
        if only_o or only_n:
            out.append(f"only in old: {len(only_o)}; only in new: {len(only_n)}")
        for key, label, unit in (("accuracy", "accuracy", "%"), ("p50_s", "p50 latency", " s"),
                                 ("p95_s", "p95 latency", " s"), ("llm_calls_per_q", "model calls / q", ""),
                                 ("new_prompt_tokens_per_q", "new prompt tokens / q", ""),
                                 ("fast_path_share", "fast-path share", "%")):
            a, b = so.get(key), sn.get(key)
            if a is None or b is None:
                continue
            scale = 100 if unit == "%" else 1
            out.append(f"{label:<24}{a * scale:10.2f} -> {b * scale:10.2f}{unit}  ({(b - a) * scale:+.2f})")
    return "\n".join(out)
