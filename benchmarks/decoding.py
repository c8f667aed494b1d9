"""Does prompt-lookup decoding speed up SQL generation on 2 cores? Measured, not assumed.

Generation is what a question waits for (the prefix is cached; the model writes SQL at ~7 tokens/s).
SQL copies table and column names from the prompt, so llama.cpp's prompt-lookup drafting
(`LlamaPromptLookupDecoding`: propose the tokens that followed the last n-gram where it appeared
before, verify them in one batch) looks like a free speed-up. This script loads the default model once
per configuration, in this one process, and sends each the same requests the assistant sends (the
real system prefix, the real user message with its hints) at temperature 0:

* `plain`: the production configuration;
* `flash`: the production configuration with llama.cpp's flash attention, which fuses the attention
  over the cached prefix (3,500 tokens here) into one kernel;
* `k8`: the keys of the KV cache stored as 8-bit (q8_0) instead of 16-bit floats: each generated token
  reads the keys of the whole cached prefix, so halving them should shorten every step;
* `n:k` (prompt lookup): drafting from n-grams of up to n tokens, k tokens per draft. llama-cpp-python needs
  `logits_all=True` for it (it sizes its score buffer by that argument), which would also compute
  logits for every prompt token; the prompt batch is therefore evaluated without them, as a real
  integration would, so the comparison is the drafting itself.

Outputs must be identical (greedy decoding verified token by token); the table reports generation time
and tokens/s per configuration and the ratio to `plain`. Writes benchmarks/results/decoding.json.

    flock /tmp/abordo-model.lock .venv/bin/python benchmarks/decoding.py [--questions 12] [--configs plain,2:2,3:8]
    flock /tmp/abordo-model.lock .venv/bin/python benchmarks/decoding.py --configs plain,flash --name attention
    flock /tmp/abordo-model.lock .venv/bin/python benchmarks/decoding.py --configs plain,k8 --name kv-cache
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, pct, write_result


def requests(db_url: str, n: int) -> tuple[str, list[tuple[str, str]]]:
    """The system prefix and (id, user message) of the first n dev questions without placeholders."""
    from assistant import prompts
    from assistant.pipeline import Assistant
    from assistant.question.link import link
    from db.settings import load_settings
    from evaluation.questions import question_lines

    settings = load_settings({"ABORDO_DATABASE_URL": db_url})

    class NoModel:                       # the prompt is built without loading a model
        pass

    assistant = Assistant(settings, chat_model=NoModel())
    dev = [q for _, q in question_lines(ROOT / "tests/data/eval/dev-questions.jsonl")
           if "{" not in q["question"]][:n]
    out = []
    for q in dev:
        linked = link(q["question"], catalog=assistant.catalog, today=settings.today, fetch=assistant.fetch)
        out.append((q["id"], prompts.question_message(q["question"], hints=linked.prompt_lines(), context=[])))
    return assistant.system_prompt, out


def run(config: str, model_path: str, system: str, reqs: list[tuple[str, str]]) -> dict:
    import llama_cpp
    from llama_cpp import Llama
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    from assistant.llm.llamacpp import MIN_CTX, N_BATCH
    from assistant.pipeline import SQL_STOP

    kwargs = {}
    if config == "flash":
        kwargs = {"flash_attn": True}
    elif config == "k8":
        kwargs = {"type_k": llama_cpp.GGML_TYPE_Q8_0}
    elif config != "plain":
        ngram, k = (int(x) for x in config.split(":"))
        kwargs = {"draft_model": LlamaPromptLookupDecoding(max_ngram_size=ngram, num_pred_tokens=k),
                  "logits_all": True}
    llm = Llama(model_path=model_path, n_ctx=MIN_CTX, n_threads=2, n_threads_batch=2, n_batch=N_BATCH,
                n_ubatch=N_BATCH, verbose=False, **kwargs)
    if "draft_model" in kwargs:
        original_eval = llm.eval

        def eval_prompt_without_logits(tokens):
            if len(tokens) > 32:                  # a prompt batch, not a draft to verify
                llm._logits_all = False
                try:
                    return original_eval(tokens)
                finally:
                    llm._logits_all = True
            return original_eval(tokens)

        llm.eval = eval_prompt_without_logits

    def complete(user: str) -> tuple[str, int, float]:
        t = time.perf_counter()
        r = llm.create_chat_completion(messages=[{"role": "system", "content": system},
                                                 {"role": "user", "content": user}],
                                       temperature=0.0, max_tokens=256, stop=SQL_STOP)
        return r["choices"][0]["message"]["content"], r["usage"]["completion_tokens"], time.perf_counter() - t

    complete("SELECT 1")                           # evaluate the static prefix once, as warm() does
    rows = []
    for qid, user in reqs:
        complete(user[:40])                        # leave only the prefix in the KV cache, as between questions
        text, tokens, seconds = complete(user)
        rows.append({"id": qid, "text": text, "tokens": tokens, "seconds": seconds})
        print(f"  {config:8} {qid} {tokens:4d} tokens {seconds:6.2f} s", flush=True)
    llm.close()                                    # free the model before the next configuration loads
    gc.collect()
    return {"config": config, "rows": rows, "seconds": sum(r["seconds"] for r in rows),
            "tokens": sum(r["tokens"] for r in rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", type=int, default=12)
    ap.add_argument("--configs", default="plain,2:2,3:8")
    ap.add_argument("--db", help="a seeded demo database (default: a fresh demo seeded in a temp dir)")
    ap.add_argument("--name", default="decoding", help="result file name in benchmarks/results/")
    args = ap.parse_args()
    from assistant.llm.models import locate
    from db.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if not db:
            from seed_data.loaders import seed_database

            db = f"sqlite:///{Path(tmp) / 'demo.sqlite'}"
            seed_database(db, passengers=5000, progress=False)
        system, reqs = requests(db, args.questions)
    settings = load_settings()
    model_path = str(locate(settings.model).path)
    results = [run(c, model_path, system, reqs) for c in args.configs.split(",")]
    base = results[0]
    print(f"\n{'config':10} {'tokens':>7} {'gen s':>8} {'tok/s':>7} {'p50 s':>7} {'vs plain':>9} {'same SQL':>9}")
    for r in results:
        same = sum(a["text"] == b["text"] for a, b in zip(r["rows"], base["rows"]))
        r["tokens_per_s"] = r["tokens"] / r["seconds"]
        r["p50_s"] = pct([x["seconds"] for x in r["rows"]], 0.5)
        r["ratio_vs_first"] = r["seconds"] / base["seconds"]
        r["same_output"] = same
        print(f"{r['config']:10} {r['tokens']:7d} {r['seconds']:8.1f} {r['tokens_per_s']:7.2f} {r['p50_s']:7.2f} "
              f"{r['ratio_vs_first']:8.2f}x {same:>5}/{len(r['rows'])}")
    write_result(args.name, {"machine": machine(settings), "questions": len(reqs), "results": results})


if __name__ == "__main__":
    main()
