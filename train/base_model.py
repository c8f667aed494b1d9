"""The training stack and the base model: torch, transformers and peft (imported lazily, or
TrainingDependencyMissing with the install line), the quantised GGUF loaded and dequantised to fp32,
its identity, and the LoRA matrices peft adds."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from train.config import TrainConfig
from train.errors import TrainError, TrainingDependencyMissing
from train.export import INSTALL_HINT


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


def base_identity(base_gguf: Path) -> tuple[str | None, str]:
    """(known model name or None, SHA-256) of the base GGUF; a verified known model reuses its recorded hash."""
    from assistant.llm import models

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
