"""Speculative decoding on llama.cpp's server: the 1.5B model alone against the 1.5B with the 0.5B as
draft (`abordo model serve --draft qwen2.5-coder-0.5b`), one slot, five dev-set questions asked in turn
through the Assistant after a warm-up. Reports the SQL-writing time per question and writes
benchmarks/results/speculative.json.

    flock /tmp/abordo-model.lock .venv/bin/python benchmarks/speculative.py
"""
from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, write_result  # noqa: E402

QUESTIONS = ("dev-005", "dev-036", "dev-041", "dev-046", "dev-006")    # as in benchmarks/concurrency.py


def main() -> None:
    from assistant.llm.models import locate
    from assistant.llm.server import build_server, server_command, start_server, wait_ready
    from assistant.pipeline import Assistant
    from db.settings import load_settings
    from evaluation.questions import question_lines
    from tests.test_api import _free_port

    rows = {q["id"]: q["question"] for _, q in question_lines(ROOT / "tests/data/eval/dev-questions.jsonl")}
    base = load_settings()
    work = Path(tempfile.mkdtemp(prefix="abordo-spec-"))
    out = {}
    for draft in (None, "qwen2.5-coder-0.5b"):
        port = _free_port()
        cmd = server_command(build_server(), locate(base.model).path, port=port, parallel=1, slot_ctx=4608,
                             threads=base.n_threads, draft=locate(draft).path if draft else None)
        proc = start_server(cmd, log_path=work / f"server-{port}.log")
        try:
            wait_ready(f"http://127.0.0.1:{port}", proc)
            assistant = Assistant(base.replace(openai_base_url=f"http://127.0.0.1:{port}/v1",
                                               app_url=f"sqlite:///{work / 'app.sqlite'}"))
            assistant.ask("¿Cuántos vuelos hay?")          # the prefix into the slot
            generate = [assistant.ask(rows[q]).timings["generate"] for q in QUESTIONS]
        finally:
            proc.terminate()
            proc.wait(30)
        label = f"1.5B + {draft} draft" if draft else "1.5B alone"
        out[label] = {"generate_s": [round(g, 2) for g in generate], "p50_s": round(statistics.median(generate), 2),
                      "mean_s": round(statistics.mean(generate), 2)}
        print(f"{label:<28} SQL writing p50 {out[label]['p50_s']} s, mean {out[label]['mean_s']} s", flush=True)
    write_result("speculative", {"questions": list(QUESTIONS), "slots": 1, "results": out, "machine": machine()})


if __name__ == "__main__":
    main()
