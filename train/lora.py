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
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from train.errors import TrainError, TrainingDataError, TrainingDependencyMissing
from train.export import INSTALL_HINT, gguf_architecture, manifest_path, write_lora_gguf, write_manifest

IGNORE = -100
CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINT_INFO = "checkpoint.json"
CHECKPOINT_FORMAT = "abordo-lora-checkpoint/1"
# Config fields that change how far a run goes or how often it saves, not the trajectory: a run may be
# resumed with other values (e.g. a longer max_steps).
_NOT_IDENTITY = ("checkpoint_every", "max_steps", "gradient_checkpointing")


@dataclass(frozen=True)
class TrainConfig:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    epochs: float = 2
    learning_rate: float = 2e-4
    batch_size: int = 8
    max_length: int = 384
    warmup_ratio: float = 0.05
    seed: int = 1234
    # torch.autocast("cpu", dtype=torch.bfloat16), master weights fp32; by default only where it is fast
    bf16: bool = field(default_factory=lambda: native_bf16())
    checkpoint_every: int = 50  # optimizer steps
    max_steps: int | None = None  # stop early (CI's tiny run); the LR schedule still spans `epochs`
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    # recompute each layer's activations in backward: measured on the 0.5B (batch 8 x 232 tokens, bf16) it
    # halves peak memory (13.2 -> 6.9 GB) for ~3 % more time per step
    gradient_checkpointing: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.rank < 1:
            problems.append("rank must be >= 1")
        if self.batch_size < 1:
            problems.append("batch_size must be >= 1")
        if self.epochs <= 0:
            problems.append("epochs must be > 0")
        if self.max_length < 8:
            problems.append("max_length must be >= 8")
        if not 0 <= self.warmup_ratio < 1:
            problems.append("warmup_ratio must be in [0, 1)")
        if self.checkpoint_every < 1:
            problems.append("checkpoint_every must be >= 1")
        if self.max_steps is not None and self.max_steps < 1:
            problems.append("max_steps must be >= 1")
        if not self.target_modules:
            problems.append("target_modules is empty")
        if problems:
            raise TrainError("invalid training configuration: " + "; ".join(problems))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        return data

    def identity(self) -> dict[str, Any]:
        """The fields that must match for a checkpoint to be resumed."""
        return {k: v for k, v in self.as_dict().items() if k not in _NOT_IDENTITY}


@dataclass(frozen=True)
class Encoded:
    """One training sequence: token ids, and labels (-100 outside the completion)."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.input_ids)


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


Progress = Callable[[TrainProgress], None]
Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- dependencies

def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX), as PyTorch reports it.

    Only then is bf16 autocast the faster precision (the 0.5B: 146 against 115 tokens/s fp32 on such an
    EPYC). On a CPU with AVX2 only, PyTorch's bf16 matrix product falls back to a scalar reference
    kernel: measured on a 2-vCPU AVX2 EPYC, not one 1.5B step finished in 11 minutes under bf16, where
    fp32 takes 139 s (`benchmarks/results/train-speed-*-avx2.json`). Without torch: False.
    """
    try:
        import torch
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (ImportError, AttributeError, RuntimeError):
        return False


def precision_name(config: TrainConfig) -> str:
    return "bf16" if config.bf16 else "fp32"


def require_training_stack() -> tuple[Any, Any, Any]:
    """(torch, transformers, peft), or TrainingDependencyMissing with the install line."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub: everything comes from the GGUF
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    missing = []
    modules = []
    for name in ("torch", "transformers", "peft"):
        try:
            modules.append(__import__(name))
        except ImportError:
            missing.append(name)
    if missing:
        raise TrainingDependencyMissing(f"{', '.join(missing)} not installed: {INSTALL_HINT}")
    return modules[0], modules[1], modules[2]


# ---------------------------------------------------------------- data

def data_hash(examples: Sequence[dict]) -> str:
    """SHA-256 of the examples (messages + completion, in order) as canonical JSON."""
    digest = hashlib.sha256()
    for example in examples:
        core = {"messages": example["messages"], "completion": example["completion"]}
        digest.update(json.dumps(core, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def validate_examples(examples: Sequence[dict]) -> None:
    if not examples:
        raise TrainingDataError("no training examples")
    for i, example in enumerate(examples):
        messages = example.get("messages") if isinstance(example, dict) else None
        completion = example.get("completion") if isinstance(example, dict) else None
        if not isinstance(messages, list) or not messages:
            raise TrainingDataError(f"training example {i} has no 'messages' list")
        for message in messages:
            if (not isinstance(message, dict) or message.get("role") not in ("system", "user")
                    or not isinstance(message.get("content"), str)):
                raise TrainingDataError(f"training example {i}: each message must be "
                                        "{'role': 'system'|'user', 'content': str}")
        if not isinstance(completion, str) or not completion.strip():
            raise TrainingDataError(f"training example {i} has an empty 'completion'")


def render_prompt(tokenizer: Any, messages: list[dict]) -> str:
    """The prompt text exactly as llama.cpp renders it with the GGUF's chat template."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def end_of_turn(tokenizer: Any, messages: list[dict], completion: str) -> tuple[list[int], str]:
    """Token ids that close an assistant turn after `completion`, up to the end-of-generation token.

    Derived from the template itself (render the assistant turn, take what follows the completion):
    for Qwen's ChatML that is "<|im_end|>\\n", of which only `<|im_end|>` is kept.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise TrainError("the base model's tokenizer has no chat template (tokenizer.chat_template in the GGUF)")
    prompt = render_prompt(tokenizer, messages)
    full = tokenizer.apply_chat_template(messages + [{"role": "assistant", "content": completion}],
                                         tokenize=False, add_generation_prompt=False)
    if not full.startswith(prompt + completion):
        raise TrainError("the chat template does not render an assistant turn as generation prompt + "
                         "completion: cannot build training sequences that match inference")
    suffix = full[len(prompt) + len(completion):]
    ids = tokenizer(suffix, add_special_tokens=False)["input_ids"]
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in suffix else tokenizer.eos_token_id
    if eos is None or eos not in ids:
        raise TrainError(f"the chat template's end of turn {suffix!r} has no end-of-generation token")
    return ids[: ids.index(eos) + 1], suffix


def encode_examples(tokenizer: Any, examples: Sequence[dict], max_length: int) -> tuple[list[Encoded], int]:
    """Tokenise prompt and completion separately (as inference sees them); drop (and count) long ones."""
    validate_examples(examples)
    end_ids, _ = end_of_turn(tokenizer, examples[0]["messages"], examples[0]["completion"])
    encoded: list[Encoded] = []
    dropped = 0
    for example in examples:
        prompt_ids = tokenizer(render_prompt(tokenizer, example["messages"]),
                               add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(example["completion"], add_special_tokens=False)["input_ids"] + end_ids
        if len(prompt_ids) + len(answer_ids) > max_length:
            dropped += 1
            continue
        encoded.append(Encoded(tuple(prompt_ids + answer_ids), tuple([IGNORE] * len(prompt_ids) + answer_ids)))
    if not encoded:
        raise TrainingDataError(f"all {len(examples)} training examples are longer than max_length={max_length} "
                                "tokens")
    return encoded, dropped


def plan_batches(lengths: Sequence[int], batch_size: int, seed: int, epochs: float) -> list[list[int]]:
    """Every optimizer step's example indices, for the whole run, deterministically from `seed`.

    Each epoch: shuffle, cut into chunks of 32 batches, sort each chunk by length (less padding), cut
    into batches, shuffle the batch order. A fractional last epoch takes the first batches of its order.
    """
    n = len(lengths)
    per_epoch = math.ceil(n / batch_size)
    total = max(1, math.ceil(epochs * per_epoch))
    plan: list[list[int]] = []
    epoch = 0
    while len(plan) < total:
        rng = random.Random(f"{seed}:{epoch}")
        order = list(range(n))
        rng.shuffle(order)
        chunk = batch_size * 32
        batches = []
        for start in range(0, n, chunk):
            part = sorted(order[start:start + chunk], key=lambda i: (lengths[i], i))
            batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
        rng.shuffle(batches)
        plan.extend(batches)
        epoch += 1
    return plan[:total]


def lr_lambda(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """Linear warmup to 1, then linear decay, never reaching 0 on a step that is taken."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))
    return factor


def collate(batch: Sequence[Encoded], pad_id: int):
    import torch

    width = max(len(e) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        n = len(example)
        ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        mask[row, :n] = 1
    return ids, labels, mask


# ---------------------------------------------------------------- model

def base_identity(base_gguf: Path) -> tuple[str | None, str]:
    """(known model name or None, SHA-256) of the base GGUF; a verified known model reuses its recorded hash."""
    from assistant import models

    base_gguf = Path(base_gguf)
    for known in models.KNOWN_MODELS.values():
        if base_gguf.name == known.filename and models.marked_verified(base_gguf, known):
            return known.name, known.sha256
    sha = models.sha256_of(base_gguf)
    for known in models.KNOWN_MODELS.values():
        if sha == known.sha256:
            return known.name, sha
    return None, sha


def load_base(base_gguf: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from the GGUF: weights dequantised to fp32, tokenizer and chat template embedded."""
    torch, transformers, _ = require_training_stack()
    base_gguf = Path(base_gguf)
    if not base_gguf.is_file():
        raise TrainError(f"base model {base_gguf} does not exist")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(base_gguf.parent), gguf_file=base_gguf.name)
        model = transformers.AutoModelForCausalLM.from_pretrained(str(base_gguf.parent), gguf_file=base_gguf.name,
                                                                  dtype=torch.float32)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise TrainError(f"transformers cannot load {base_gguf}: {exc}") from exc
    if "<|im_start|>" not in (tokenizer.chat_template or ""):
        raise TrainError(f"{base_gguf.name} has no ChatML chat template: abordo trains Qwen2.5 chat models")
    model.config.use_cache = False
    return model, tokenizer


def make_peft_model(model: Any, config: TrainConfig) -> Any:
    """Wrap `model` with fresh LoRA matrices (deterministic init from config.seed); only they train."""
    torch, _, peft = require_training_stack()
    torch.manual_seed(config.seed)
    lora = peft.LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout,
                           target_modules=list(config.target_modules), bias="none", task_type="CAUSAL_LM")
    with warnings.catch_warnings():  # peft 0.21 calls transformers 5's deprecated is_gradient_checkpointing
        warnings.simplefilter("ignore", FutureWarning)
        wrapped = peft.get_peft_model(model, lora)
    if config.gradient_checkpointing:
        causal = wrapped.get_base_model()
        if hasattr(causal, "activation_checkpointing_enable"):  # transformers >= 5.x's name
            causal.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            causal.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return wrapped


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def _set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def _loss(model: Any, ids, labels, mask):
    """Mean cross-entropy over the completion tokens; the LM head runs only at those positions."""
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal.model(input_ids=ids, attention_mask=mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE
    logits = causal.lm_head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


# ---------------------------------------------------------------- checkpoints

def _trainable_state(model: Any) -> dict[str, Any]:
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


def _read_checkpoint_info(directory: Path) -> dict[str, Any] | None:
    info = directory / CHECKPOINT_INFO
    if not info.is_file():
        return None
    try:
        return json.loads(info.read_text())
    except (OSError, ValueError) as exc:
        raise TrainError(f"checkpoint {info} is unreadable ({exc}): delete {directory} to start afresh") from exc


def _identity_diff(saved: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    diffs = []
    for key in ("data_hash", "base_sha256"):
        if saved.get(key) != wanted.get(key):
            diffs.append(f"{key} {str(saved.get(key))[:12]} != {str(wanted.get(key))[:12]}")
    saved_cfg, wanted_cfg = saved.get("config") or {}, wanted.get("config") or {}
    for key in sorted(set(saved_cfg) | set(wanted_cfg)):
        if saved_cfg.get(key) != wanted_cfg.get(key):
            diffs.append(f"{key} {saved_cfg.get(key)!r} != {wanted_cfg.get(key)!r}")
    return diffs


def _save_checkpoint(directory: Path, payload: dict[str, Any], info: dict[str, Any]) -> None:
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{CHECKPOINT_FILE}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, directory / CHECKPOINT_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fd, tmp = tempfile.mkstemp(prefix=f".{CHECKPOINT_INFO}.", suffix=".tmp", dir=directory)
    with os.fdopen(fd, "w") as fh:
        json.dump(info, fh, indent=2)
    os.replace(tmp, directory / CHECKPOINT_INFO)


# ---------------------------------------------------------------- the loop

def _train_loop(model: Any, encoded: Sequence[Encoded], config: TrainConfig, *, pad_id: int,
                identity: dict[str, Any], checkpoint_dir: Path | None = None, resume: bool = True,
                progress: Progress | None = None, log: Log | None = _stderr,
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
    _seed_everything(config.seed)

    step = 0
    loss_curve: list[tuple[int, float]] = []
    previous_seconds = 0.0
    resumed_from = None
    if checkpoint_dir is not None:
        checkpoint_dir = Path(checkpoint_dir)
        saved = _read_checkpoint_info(checkpoint_dir)
        if saved is not None:
            diffs = _identity_diff(saved, identity)
            if diffs:
                raise TrainError(f"checkpoint directory {checkpoint_dir} holds a run with other data or settings "
                                 f"({'; '.join(diffs[:4])}): delete it or choose another checkpoint directory")
            if resume:
                try:  # our own file (optimizer and RNG states need full unpickling)
                    state = torch.load(checkpoint_dir / CHECKPOINT_FILE, map_location="cpu", weights_only=False)
                except (OSError, RuntimeError, EOFError, ValueError) as exc:
                    raise TrainError(f"checkpoint {checkpoint_dir / CHECKPOINT_FILE} cannot be read ({exc}): "
                                     f"delete {checkpoint_dir} to start afresh") from exc
                missing = set(_trainable_state(model)) - set(state["trainable"])
                if missing:
                    raise TrainError(f"checkpoint in {checkpoint_dir} lacks {len(missing)} LoRA tensors "
                                     f"(e.g. {min(missing)}): delete it to start afresh")
                with torch.no_grad():
                    for name, p in model.named_parameters():
                        if p.requires_grad:
                            p.copy_(state["trainable"][name])
                optimizer.load_state_dict(state["optimizer"])
                scheduler.load_state_dict(state["scheduler"])
                _set_rng_state(state["rng"])
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
        payload = {"format": CHECKPOINT_FORMAT, "step": now_step, "trainable": _trainable_state(model),
                   "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": _rng_state(),
                   "loss_curve": loss_curve, "seconds": seconds, **identity}
        info = {"format": CHECKPOINT_FORMAT, "step": now_step, "total_steps": total_steps,
                "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **identity}
        _save_checkpoint(checkpoint_dir, payload, info)

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
                loss = _loss(model, ids, labels, mask)
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


# ---------------------------------------------------------------- entry point

def train_adapter(examples: list[dict], base_gguf: Path, out: Path, config: TrainConfig,
                  checkpoint_dir: Path | None = None, resume: bool = True,
                  progress: Progress | None = None, extra_manifest: dict | None = None,
                  log: Log | None = _stderr, show_progress: bool = True,
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
    loop = _train_loop(model, encoded, config, pad_id=pad_id, identity=identity, checkpoint_dir=checkpoint_dir,
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


__all__ = ["Encoded", "LoopResult", "TrainConfig", "TrainProgress", "TrainResult", "base_identity", "data_hash",
           "encode_examples", "end_of_turn", "load_base", "make_peft_model", "native_bf16", "plan_batches",
           "precision_name", "render_prompt",
           "train_adapter"]
