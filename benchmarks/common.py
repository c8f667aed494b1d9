"""Helpers shared by the benchmark scripts: percentiles, machine description, result files."""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pct(values, q: float) -> float:
    from evaluation.reports import pct as _pct

    return _pct(list(values), q)


def machine(settings=None) -> dict:
    from evaluation.reports import machine_info

    return machine_info(settings)


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    data = {"benchmark": name, "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join([".venv/bin/python", *sys.argv]), **data}
    out.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")
    return out


class ModelNeeded(Exception):
    """Raised where the model would be called (`NoModel`)."""


class NoModel:
    """Stands where the chat model would in a benchmark of what needs none (edits, verified questions):
    any call raises ModelNeeded, so a question that reached the model is seen, never answered."""
    model_name = "no model"

    def invoke(self, *a, **k):
        raise ModelNeeded

    def stream(self, *a, **k):
        raise ModelNeeded
