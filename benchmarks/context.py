"""What a prompt token and a generated token cost on this machine, and how both change with the length
of the context already in the KV cache. Measured, not assumed.

A question's latency is almost exactly `a × new prompt tokens + b × generated tokens` (a least-squares
fit over a dev-set run leaves 0.09 s of residual), so these two rates, and how much a shorter static
prefix would buy, decide every latency trade-off in the assistant. The script loads the configured
model once with the production settings (2 threads, n_batch 512) and, for each context length,
evaluates that many prompt tokens (prompt rate) and then decodes 30 tokens one at a time (the cost of
one generated token after a prefix of that length). `--library PATH` runs the same loop on another
llama-cpp-python build (a site-packages directory), to compare builds in the same process run.

    flock /tmp/abordo-model.lock .venv/bin/python benchmarks/context.py [--contexts 200,1000,2000,3200]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DECODED = 30


def measure(model_path: str, contexts: list[int], threads: int) -> list[dict]:
    from llama_cpp import Llama

    llm = Llama(model_path=model_path, n_ctx=max(contexts) + DECODED + 64, n_threads=threads,
                n_threads_batch=threads, n_batch=512, n_ubatch=512, verbose=False)
    text = (ROOT / "README.md").read_text(encoding="utf-8") * 4      # ordinary prose and SQL, no padding
    tokens = llm.tokenize(text.encode(), add_bos=False)
    rows = []
    for n in contexts:
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens[:n])
        prompt_s = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(DECODED):
            llm.eval([tokens[n + i]])
        decode_s = (time.perf_counter() - started) / DECODED
        rows.append({"context": n, "prompt_tokens_per_s": round(n / prompt_s, 1),
                     "decode_ms_per_token": round(decode_s * 1000, 1)})
        print(f"{n:>7} {n / prompt_s:>10.1f} {decode_s * 1000:>10.1f}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", default="200,1000,2000,3200")
    parser.add_argument("--library", help="site-packages directory of another llama-cpp-python build")
    parser.add_argument("--name", default="context")
    args = parser.parse_args()
    if args.library:
        sys.path.insert(0, args.library)
    from assistant.llm.models import locate
    from benchmarks.common import machine, write_result
    from db.settings import load_settings

    settings = load_settings()
    path = str(locate(settings.model).path)
    contexts = [int(c) for c in args.contexts.split(",")]
    import llama_cpp

    print(f"model {path}, llama_cpp {llama_cpp.__version__} from {Path(llama_cpp.__file__).parent}")
    print(f"{'context':>7} {'prompt t/s':>10} {'decode ms':>10}")
    rows = measure(path, contexts, settings.n_threads)
    write_result(args.name, {"machine": machine(settings), "library": str(Path(llama_cpp.__file__).parent),
                             "model": path, "rows": rows})


if __name__ == "__main__":
    main()
