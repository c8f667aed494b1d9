"""LoRA fine-tuning on the CPU (PyTorch + transformers + peft), straight from the quantised GGUF base.

transformers dequantises the GGUF (Q4_K/Q5_0/... -> fp32) into a Qwen2ForCausalLM; peft adds the LoRA
matrices; training runs in fp32, or under bf16 autocast (fp32 master weights) where the CPU multiplies bf16
natively (AVX512-BF16 or AMX: see `native_bf16`); `train.export` writes the result as a
llama.cpp GGUF adapter that the serving path applies on top of the SAME quantised file.

What the model is trained on is exactly what it sees at inference: each example's `messages` (the
system + user prompt the assistant sends) are rendered with the GGUF's own chat template
(`add_generation_prompt=True`, as llama.cpp's `create_chat_completion` does), and the loss covers only
the completion's tokens and the end-of-turn token `<|im_end|>` (llama.cpp stops there, so the "\n" the
template writes after it is never generated and is left out). Prompt and padding are labelled -100.

Only the completion positions reach the LM head: the head (vocab 151,936) is a quarter of the 0.5B's
compute and most of the activation memory if applied to every position.

PyTorch, transformers and peft are imported lazily: `import train.lora` works without them, and
`train_adapter` raises TrainingDependencyMissing with the install line.

`train_adapter` (here) composes the steps, each its own module: `config` (TrainConfig, the precision),
`base_model` (the stack, the GGUF base, the LoRA matrices), `encoding` (examples as token sequences),
`batches` (the batch plan, padding, the LR schedule), `checkpoints` and `loop` (the training loop);
`export` writes the adapter and its manifest.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from train.base_model import base_identity, load_base, make_peft_model, require_training_stack
from train.config import TrainConfig, native_bf16
from train.encoding import data_hash, encode_examples, validate_examples
from train.export import gguf_architecture, manifest_path, write_lora_gguf, write_manifest
from train.loop import Log, Progress, stderr_log, train_loop


@dataclass(frozen=True)
class TrainResult:
    steps: int
    total_steps: int
    epochs: float
    seconds: float
    tokens_per_second: float
    loss_curve: list[tuple[int, float]]
    examples: int  # used for training
    dropped: int  # longer than max_length
    out: Path
    manifest: Path
    adapter_size: int
    resumed_from: int | None = None
    base_sha256: str = ""
    data_hash: str = ""


def train_adapter(examples: list[dict], base_gguf: Path, out: Path, config: TrainConfig,
                  checkpoint_dir: Path | None = None, resume: bool = True,
                  progress: Progress | None = None, extra_manifest: dict | None = None,
                  log: Log | None = stderr_log, show_progress: bool = True,
                  threads: int | None = None) -> TrainResult:
    """Fine-tune a LoRA on `examples` over the GGUF base; write the GGUF adapter `out` and its manifest.

    `checkpoint_dir=None` keeps no checkpoints. A checkpoint there for other data, settings or base
    raises TrainError; one for this run is resumed (unless `resume=False`, which starts afresh).
    """
    torch, _, _ = require_training_stack()
    validate_examples(examples)
    say = log or (lambda _line: None)
    torch.set_num_threads(threads or os.cpu_count() or 1)
    base_gguf, out = Path(base_gguf), Path(out)
    architecture = gguf_architecture(base_gguf)
    base_name, base_sha = base_identity(base_gguf)
    digest = data_hash(examples)
    identity = {"data_hash": digest, "base_sha256": base_sha, "config": config.identity()}

    if config.bf16 and not native_bf16():
        say("warning: this CPU has no native bf16 (AVX512-BF16 or AMX): bf16 steps run on a slow reference "
            "kernel, many times slower than fp32 (use --precision fp32 or auto)")
    say(f"loading {base_gguf.name} (dequantising to fp32) ...")
    model, tokenizer = load_base(base_gguf)
    encoded, dropped = encode_examples(tokenizer, examples, config.max_length)
    if dropped:
        say(f"dropped {dropped} of {len(examples)} examples longer than {config.max_length} tokens")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model = make_peft_model(model, config)
    loop = train_loop(model, encoded, config, pad_id=pad_id, identity=identity, checkpoint_dir=checkpoint_dir,
                      resume=resume, progress=progress, log=log, show_progress=show_progress)

    summary = write_lora_gguf(model, out, alpha=config.alpha, rank=config.rank, architecture=architecture)
    extra = {"data_counts": {"examples": len(examples), "trained": len(encoded), "dropped": dropped},
             "steps": loop.steps, "total_steps": loop.total_steps, "epochs_done": round(loop.epochs, 3),
             "resumed_from": loop.resumed_from, **(extra_manifest or {})}
    manifest = write_manifest(out, base_model=base_name, base_file=base_gguf.name, base_sha256=base_sha,
                              architecture=architecture, hyperparameters=config.as_dict(),
                              loss_curve=loop.loss_curve, train_seconds=loop.seconds,
                              tokens_per_second=loop.tokens_per_second, data_hash=digest, extra=extra)
    say(f"adapter written: {out} ({summary['size'] / 1e6:.1f} MB, {summary['pairs']} LoRA pairs); "
        f"manifest {manifest_path(out).name}")
    return TrainResult(steps=loop.steps, total_steps=loop.total_steps, epochs=loop.epochs, seconds=loop.seconds,
                       tokens_per_second=loop.tokens_per_second, loss_curve=loop.loss_curve,
                       examples=len(encoded), dropped=dropped, out=out, manifest=manifest,
                       adapter_size=summary["size"], resumed_from=loop.resumed_from, base_sha256=base_sha,
                       data_hash=digest)
