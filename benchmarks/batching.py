"""What parallel slots can buy on this machine: llama.cpp's server with K slots, K requests at once, each
generating the same number of tokens from its own short prompt. Reports the aggregate generation rate
(tokens/s over all sequences) and each sequence's own rate against one slot alone, and the prompt-reading
rate for comparison. It is the ceiling under `benchmarks/load.py`: if K sequences together generate
only a little faster than one, no scheduler in front of the model can make a queue of 20 questions
drain twice as fast. Writes benchmarks/results/batching.json.

    flock /tmp/abordo-model.lock .venv/bin/python benchmarks/batching.py [--slots 1,2,4] [--tokens 64] [--rounds 3]
Needs the configured model (`abordo model fetch`) and llama-server (`abordo model serve --build-only`).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, write_result  # noqa: E402

PROMPTS = [f"-- SQLite. Table flights(flight_id, flight_number, origin, destination, scheduled_departure).\n"
           f"-- Question {i}: list the flights of route number {i} with their times, one query per line.\nSELECT"
           for i in range(16)]
LONG_PROMPT = "-- " + " ".join(f"column_{i} INTEGER," for i in range(120)) + "\nSELECT"


def _complete(base: str, prompt: str, tokens: int) -> dict:
    import httpx

    r = httpx.post(base + "/completion", json={"prompt": prompt, "n_predict": tokens, "temperature": 0,
                                               "ignore_eos": True, "cache_prompt": False}, timeout=600)
    r.raise_for_status()
    return r.json()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slots", default="1,2,4")
    ap.add_argument("--tokens", type=int, default=64, help="tokens generated per sequence")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from assistant.llm.models import locate
    from assistant.llm.server import build_server, server_command, start_server, wait_ready
    from db.settings import load_settings
    from tests.test_api import _free_port

    settings = load_settings()
    work = Path(tempfile.mkdtemp(prefix="abordo-batching-"))
    rows: dict[str, dict] = {}
    single = None
    for k in (int(x) for x in args.slots.split(",")):
        port = _free_port()
        cmd = server_command(build_server(), locate(settings.model).path, port=port, parallel=k, slot_ctx=1024,
                             threads=settings.n_threads)
        proc = start_server(cmd, log_path=work / f"server-{k}.log")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, proc)
            _complete(base, PROMPTS[0], 8)                              # warm-up
            walls, per_seq = [], []
            for round_ in range(args.rounds):
                prompts = [PROMPTS[(round_ * k + i) % len(PROMPTS)] for i in range(k)]
                started = time.perf_counter()
                with ThreadPoolExecutor(k) as pool:
                    outs = list(pool.map(lambda p: _complete(base, p, args.tokens), prompts))
                walls.append(time.perf_counter() - started)
                per_seq += [o["timings"]["predicted_per_second"] for o in outs]
            read = _complete(base, LONG_PROMPT, 1)["timings"]
        finally:
            proc.terminate()
            proc.wait(30)
        wall = statistics.median(walls)
        row = {"sequences": k, "wall_s": round(wall, 2), "aggregate_tokens_per_s": round(k * args.tokens / wall, 1),
               "per_sequence_tokens_per_s": round(statistics.median(per_seq), 1),
               "prompt_tokens_per_s": round(read["prompt_per_second"], 1), "prompt_tokens": read["prompt_n"]}
        single = single or row["aggregate_tokens_per_s"]
        row["aggregate_vs_one"] = round(row["aggregate_tokens_per_s"] / single, 2)
        rows[str(k)] = row
        print(f"{k} slot(s), {k} at once: {row['aggregate_tokens_per_s']:>6} tokens/s in all "
              f"({row['aggregate_vs_one']}x one slot), {row['per_sequence_tokens_per_s']} tokens/s each; "
              f"prompt reading {row['prompt_tokens_per_s']} tokens/s", flush=True)
    write_result("batching", {"model": settings.model, "threads": settings.n_threads, "tokens": args.tokens,
                              "rounds": args.rounds, "results": rows, "machine": machine(settings)})


if __name__ == "__main__":
    main()
