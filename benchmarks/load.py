"""Concurrent clients over HTTP against `abordo serve` on loopback, with (a) the in-process model behind
the FIFO queue and (b) llama.cpp's server with K slots. Each client sends a bounded mix of 4 record
look-ups (cards) to 1 model question. Reports answers/s, p50/p95 latency per kind, errors, and whether
every request left its audit record (no answer lost). Writes benchmarks/results/load.json.

    flock /tmp/abordo-model.lock .venv/bin/python benchmarks/load.py [--clients 1,5,20,50] [--slots 1,2,4]
        [--draft-slots 2] [--per-client 5]
Needs the 1.5B model (`abordo model fetch`) and, for the server rows, llama-server
(`abordo model serve --build-only`). Loopback only; bounded in count and time.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, pct, write_result  # noqa: E402

MODEL_QUESTIONS = ("dev-005", "dev-036", "dev-041", "dev-046", "dev-006")   # as in benchmarks/concurrency.py


def _questions() -> list[str]:
    from evaluation.questions import question_lines

    rows = {q["id"]: q["question"] for _, q in question_lines(ROOT / "tests/data/eval/dev-questions.jsonl")}
    return [rows[i] for i in MODEL_QUESTIONS]


def _run_level(url: str, tokens: list[str], locators: list[str], per_client: int, model_qs: list[str]) -> dict:
    import httpx

    results: list[tuple[str, float, int, str]] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        with httpx.Client(timeout=900) as http:
            for j in range(per_client):
                kind = "model" if j % 5 == 4 else "look-up"
                q = model_qs[(i + j) % len(model_qs)] if kind == "model" else f"reserva {locators[(i * 7 + j) % len(locators)]}"
                started = time.perf_counter()
                waited = 0.0
                try:
                    r = http.post(url + "/v1/ask", json={"question": q}, headers=headers)
                    code, err = r.status_code, (r.json().get("error") or "") if r.status_code == 200 else r.text[:80]
                    if code == 200:
                        waited = r.json()["timings"].get("queue", 0.0)
                except Exception as exc:   # noqa: BLE001
                    code, err = 0, type(exc).__name__
                with lock:
                    results.append((kind, time.perf_counter() - started, code, err, waited))

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    out = {"requests": len(results), "wall_s": round(wall, 1), "answers_per_s": round(len(results) / wall, 2),
           "errors": sum(code != 200 for _k, _s, code, _e, _w in results)}
    for kind in ("look-up", "model"):
        secs = [s for k, s, _c, _e, _w in results if k == kind]
        if secs:
            out[kind] = {"n": len(secs), "p50_s": round(pct(secs, 0.5), 2), "p95_s": round(pct(secs, 0.95), 2)}
    waits = [w for k, _s, _c, _e, w in results if k == "model"]
    if waits:
        out["model"].update(queue_p50_s=round(pct(waits, 0.5), 2), queue_p95_s=round(pct(waits, 0.95), 2),
                            answers_per_min=round(60 * len(waits) / wall, 1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", default="1,5,20,50")
    ap.add_argument("--slots", default="1,2,4", help="model-server slot counts to measure beside the FIFO")
    ap.add_argument("--draft-slots", default="", help="slot counts to measure again with the 0.5B draft model "
                                                      "(speculative decoding), e.g. 2")
    ap.add_argument("--per-client", type=int, default=5)
    args = ap.parse_args()
    levels = [int(x) for x in args.clients.split(",")]

    from api.app import create_app
    from assistant.llm.models import locate
    from assistant.llm.server import build_server, server_command, start_server, wait_ready
    from assistant.users import add_user, issue_token
    from db.settings import load_settings
    from seed_data.loaders import seed_database
    from sql_tools.audit import get_audit_log
    from tests.test_api import Server, _free_port

    work = Path(tempfile.mkdtemp(prefix="abordo-load-"))
    db_url = f"sqlite:///{work / 'demo.sqlite'}"
    seed_database(db_url, passengers=5000, progress=False)
    import sqlite3

    conn = sqlite3.connect(work / "demo.sqlite")
    locators = [r[0] for r in conn.execute("SELECT record_locator FROM bookings ORDER BY booking_id LIMIT 500")]
    conn.close()
    base = load_settings()
    configs = ([("in-process FIFO", None, False)]
               + [(f"llama-server, {k} slot(s)", k, False) for k in map(int, filter(None, args.slots.split(",")))]
               + [(f"llama-server, {k} slot(s) + 0.5B draft", k, True)
                  for k in map(int, filter(None, args.draft_slots.split(",")))])
    report = {"per_client": args.per_client, "mix": "4 look-ups : 1 model question", "configs": {}}
    for n_config, (label, slots, draft) in enumerate(configs):
        app_url = f"sqlite:///{work / f'app-{n_config}.sqlite'}"
        server_proc = None
        if slots:
            port = _free_port()
            cmd = server_command(build_server(), locate(base.model).path, port=port, parallel=slots, slot_ctx=4608,
                                 threads=base.n_threads,
                                 draft=locate("qwen2.5-coder-0.5b").path if draft else None)
            server_proc = start_server(cmd, log_path=work / f"llama-server-{n_config}.log")
            wait_ready(f"http://127.0.0.1:{port}", server_proc)
            settings = base.replace(database_url=db_url, app_url=app_url, openai_base_url=f"http://127.0.0.1:{port}/v1",
                                    model_slots=slots, api_rate_per_minute=100000)
        else:
            settings = base.replace(database_url=db_url, app_url=app_url, api_rate_per_minute=100000)
        tokens = []
        for i in range(max(levels)):
            add_user(app_url, f"load{i}", "agent", "load-password", replace=True)
            tokens.append(issue_token(app_url, f"load{i}"))
        api = Server(create_app(settings))
        try:
            service = api.server.config.app.state.service
            if slots:
                from assistant.llm.server import warm_slots

                warm_slots(settings.openai_base_url.removesuffix("/v1"), service.assistant("agent").system_prompt, slots)
            else:
                service.assistant("agent").warm()
            rows = {}
            for n in levels:
                before = get_audit_log(app_url).count()
                row = _run_level(api.url, tokens[:n], locators, args.per_client, _questions())
                row["audit_records"] = get_audit_log(app_url).count() - before
                row["no_answer_lost"] = row["errors"] == 0 and row["audit_records"] >= row["requests"]
                rows[str(n)] = row
                m = row.get("model", {})
                print(f"{label:<38} {n:>3} clients: {row['answers_per_s']:>6} answers/s, model p50/p95 "
                      f"{m.get('p50_s', '-')}/{m.get('p95_s', '-')} s (queue p95 {m.get('queue_p95_s', '-')} s, "
                      f"{m.get('answers_per_min', '-')}/min), look-up p95 {row.get('look-up', {}).get('p95_s', '-')} s,"
                      f" errors {row['errors']}, audit {row['audit_records']}/{row['requests']}", flush=True)
            report["configs"][label] = rows
        finally:
            api.stop()
            if server_proc is not None:
                server_proc.terminate()
                server_proc.wait(30)
    write_result("load", {**report, "machine": machine()})


if __name__ == "__main__":
    main()
