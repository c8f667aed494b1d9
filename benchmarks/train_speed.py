"""What one LoRA training step costs on this machine, by allocator and precision.

    .venv/bin/python benchmarks/train_speed.py [--base qwen2.5-coder-0.5b] [--steps 4] [--data train/demo-data]

Each configuration runs in its own process (the allocator is chosen at process start): forward and
backward of one batch of 8 demo pairs, `--steps` times; the first step is reported apart (it pays for
first-touch page faults). Results: benchmarks/results/train-speed.json and a printed table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"


def _child(base: str, steps: int, data: str, bf16: bool) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    from assistant.llm.models import locate
    from train.base_model import load_base, make_peft_model
    from train.batches import collate
    from train.config import TrainConfig
    from train.data import read_dataset
    from train.encoding import encode_examples
    from train.loop import completion_loss as _loss

    torch.set_num_threads(2)
    rows, _v, _m = read_dataset(Path(data))
    model, tok = load_base(locate(base).path)
    enc, _ = encode_examples(tok, rows[:8], 384)
    pm = make_peft_model(model, TrainConfig(gradient_checkpointing=False))
    pm.train()
    ids, labels, mask = collate(enc, tok.pad_token_id or 0)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = _loss(pm, ids, labels, mask)
        loss.backward()
        pm.zero_grad()
        times.append(time.perf_counter() - t)
    tokens = int(mask.sum())
    print(json.dumps({"times": times, "tokens": tokens}))


def _cpu_features() -> dict:
    """What decides the precision: bf16 autocast is fast only where the CPU multiplies bf16 natively."""
    import torch

    from train.config import native_bf16

    return {"torch_cpu_capability": torch.backends.cpu.get_cpu_capability(), "native_bf16": native_bf16()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="qwen2.5-coder-0.5b")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--data", default=str(ROOT / "train" / "demo-data"))
    ap.add_argument("--configs", default="glibc:bf16,jemalloc:bf16,jemalloc:fp32",
                    help="allocator:precision pairs, comma-separated")
    ap.add_argument("--name", default=None,
                    help="results file suffix (default: none; results/train-speed-<base>[-<name>].json)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--bf16", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.base, args.steps, args.data, args.bf16)
        return
    configs = [tuple(c.split(":")) for c in args.configs.split(",")]
    print("| allocator | precision | first step | later steps (mean) | tokens/s (later) |\n|---|---|---|---|---|")
    rows = []
    for alloc, precision in configs:
        env = dict(os.environ)
        if alloc == "jemalloc":
            if not Path(JEMALLOC).is_file():
                print(f"| jemalloc | {precision} | (libjemalloc2 not installed) | | |")
                continue
            env.update(LD_PRELOAD=JEMALLOC, MALLOC_CONF="dirty_decay_ms:30000,muzzy_decay_ms:30000")
        cmd = [sys.executable, __file__, "--child", "--base", args.base, "--steps", str(args.steps), "--data", args.data]
        if precision == "bf16":
            cmd.append("--bf16")
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        later = result["times"][1:] or result["times"]
        mean = sum(later) / len(later)
        row = {"allocator": alloc, "precision": precision, "first_s": round(result["times"][0], 2),
               "later_s": round(mean, 2), "tokens": result["tokens"], "tokens_per_s": round(result["tokens"] / mean, 1)}
        rows.append(row)
        print(f"| {alloc} | {precision} | {row['first_s']} s | {row['later_s']} s | {row['tokens_per_s']} |", flush=True)
    suffix = f"-{args.name}" if args.name else ""
    out = ROOT / "benchmarks" / "results" / f"train-speed-{args.base}{suffix}.json"
    out.write_text(json.dumps({"base": args.base, "steps": args.steps, "rows": rows,
                               "machine": {"cpu": platform.processor(), "cores": os.cpu_count(), **_cpu_features()}},
                              indent=2) + "\n")
    print(out)


if __name__ == "__main__":
    main()
