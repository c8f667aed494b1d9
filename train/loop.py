"""The training loop: LoRA parameters trained on encoded sequences, checkpointed and resumable.

Training runs in fp32, or under bf16 autocast (fp32 master weights) where `TrainConfig.bf16` says so.
Only the completion positions reach the LM head: the head (vocab 151,936) is a quarter of the 0.5B's
compute and most of the activation memory if applied to every position.
"""
from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from train.batches import collate, lr_lambda, plan_batches
from train.checkpoints import (
    CHECKPOINT_FILE,
    CHECKPOINT_FORMAT,
    identity_diff,
    read_checkpoint_info,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
    trainable_state,
)
from train.config import TrainConfig
from train.encoding import IGNORE, Encoded
from train.errors import TrainError


@dataclass(frozen=True)
class TrainProgress:
    """What the `progress` callback receives after each optimizer step."""

    step: int
    total_steps: int
    epoch: float
    loss: float
    learning_rate: float
    tokens_per_second: float
    eta_seconds: float


@dataclass(frozen=True)
class LoopResult:
    steps: int
    total_steps: int
    epochs: float
    seconds: float  # all sessions of this run, resumed ones included
    session_seconds: float
    tokens: int  # non-padding tokens processed in this session
    tokens_per_second: float
    loss_curve: list[tuple[int, float]]
    resumed_from: int | None


Progress = Callable[[TrainProgress], None]
Log = Callable[[str], None]


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def completion_loss(model: Any, ids, labels, mask):
    """Mean cross-entropy over the completion tokens; the LM head runs only at those positions."""
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal.model(input_ids=ids, attention_mask=mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE
    logits = causal.lm_head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def train_loop(model: Any, encoded: Sequence[Encoded], config: TrainConfig, *, pad_id: int,
               identity: dict[str, Any], checkpoint_dir: Path | None = None, resume: bool = True,
               progress: Progress | None = None, log: Log | None = stderr_log,
               show_progress: bool = True) -> LoopResult:
    """Train the trainable (LoRA) parameters of `model` on `encoded`; checkpoint and resume.

    `model` is a peft model (or any causal LM with `.model` and `.lm_head` whose only trainable
    parameters are the ones to learn). `identity` = {"data_hash", "base_sha256", "config"} decides
    whether a checkpoint in `checkpoint_dir` belongs to this run.
    """
    import torch
    from tqdm import tqdm

    say = log or (lambda _line: None)
    plan = plan_batches([len(e) for e in encoded], config.batch_size, config.seed, config.epochs)
    total_steps = len(plan)
    per_epoch = math.ceil(len(encoded) / config.batch_size)
    warmup = math.ceil(config.warmup_ratio * total_steps)
    stop_at = min(total_steps, config.max_steps) if config.max_steps else total_steps

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise TrainError("the model has no trainable parameters")
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(total_steps, warmup))
    seed_everything(config.seed)

    step = 0
    loss_curve: list[tuple[int, float]] = []
    previous_seconds = 0.0
    resumed_from = None
    if checkpoint_dir is not None:
        checkpoint_dir = Path(checkpoint_dir)
        saved = read_checkpoint_info(checkpoint_dir)
        if saved is not None:
            diffs = identity_diff(saved, identity)
            if diffs:
                raise TrainError(f"checkpoint directory {checkpoint_dir} holds a run with other data or settings "
                                 f"({'; '.join(diffs[:4])}): delete it or choose another checkpoint directory")
            if resume:
                try:  # our own file (optimizer and RNG states need full unpickling)
                    state = torch.load(checkpoint_dir / CHECKPOINT_FILE, map_location="cpu", weights_only=False)
                except (OSError, RuntimeError, EOFError, ValueError) as exc:
                    raise TrainError(f"checkpoint {checkpoint_dir / CHECKPOINT_FILE} cannot be read ({exc}): "
                                     f"delete {checkpoint_dir} to start afresh") from exc
                missing = set(trainable_state(model)) - set(state["trainable"])
                if missing:
                    raise TrainError(f"checkpoint in {checkpoint_dir} lacks {len(missing)} LoRA tensors "
                                     f"(e.g. {min(missing)}): delete it to start afresh")
                with torch.no_grad():
                    for name, p in model.named_parameters():
                        if p.requires_grad:
                            p.copy_(state["trainable"][name])
                optimizer.load_state_dict(state["optimizer"])
                scheduler.load_state_dict(state["scheduler"])
                set_rng_state(state["rng"])
                step = int(state["step"])
                loss_curve = [(int(s), float(v)) for s, v in state["loss_curve"]]
                previous_seconds = float(state.get("seconds", 0.0))
                resumed_from = step
                say(f"resuming from the checkpoint in {checkpoint_dir} at step {step}/{total_steps}")
            else:
                say(f"not resuming: the checkpoint in {checkpoint_dir} will be overwritten")

    def checkpoint(now_step: int, seconds: float) -> None:
        if checkpoint_dir is None:
            return
        payload = {"format": CHECKPOINT_FORMAT, "step": now_step, "trainable": trainable_state(model),
                   "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng_state(),
                   "loss_curve": loss_curve, "seconds": seconds, **identity}
        info = {"format": CHECKPOINT_FORMAT, "step": now_step, "total_steps": total_steps,
                "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **identity}
        save_checkpoint(checkpoint_dir, payload, info)

    model.train()
    started = time.perf_counter()
    tokens = 0
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16)
    bar = tqdm(total=stop_at, initial=step, file=sys.stderr, disable=not show_progress, unit="step",
               dynamic_ncols=True, desc="LoRA")
    try:
        while step < stop_at:
            ids, labels, mask = collate([encoded[i] for i in plan[step]], pad_id)
            with autocast:
                loss = completion_loss(model, ids, labels, mask)
            if not torch.isfinite(loss):
                raise TrainError(f"the loss became {loss.item()} at step {step + 1}: lower the learning rate")
            loss.backward()
            if config.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            tokens += int(mask.sum())
            value = float(loss.detach())
            loss_curve.append((step, value))
            elapsed = time.perf_counter() - started
            rate = tokens / elapsed if elapsed > 0 else 0.0
            eta = elapsed / (step - (resumed_from or 0)) * (stop_at - step)
            bar.set_postfix(loss=f"{value:.4f}", tok_s=f"{rate:.0f}", refresh=False)
            bar.update(1)
            if progress:
                progress(TrainProgress(step, total_steps, step / per_epoch, value, lr, rate, eta))
            if step % config.checkpoint_every == 0 or step == stop_at:
                checkpoint(step, previous_seconds + elapsed)
    finally:
        bar.close()
    model.eval()
    session = time.perf_counter() - started
    return LoopResult(steps=step, total_steps=total_steps, epochs=step / per_epoch,
                      seconds=previous_seconds + session, session_seconds=session, tokens=tokens,
                      tokens_per_second=tokens / session if session > 0 and tokens else 0.0,
                      loss_curve=loss_curve, resumed_from=resumed_from)
