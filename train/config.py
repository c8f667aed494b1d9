"""The settings of a LoRA training run (`TrainConfig`) and the precision it defaults to: bf16 autocast only
where the CPU multiplies bf16 natively (`native_bf16`), fp32 elsewhere."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from train.errors import TrainError

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
