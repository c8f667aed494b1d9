"""Checkpoints of a training run: the LoRA tensors, optimizer, scheduler and RNG states saved atomically
every few steps, and the identity (data, base, settings) that decides whether one may be resumed."""
from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

from train.errors import TrainError

CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINT_INFO = "checkpoint.json"
CHECKPOINT_FORMAT = "abordo-lora-checkpoint/1"


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def trainable_state(model: Any) -> dict[str, Any]:
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


def read_checkpoint_info(directory: Path) -> dict[str, Any] | None:
    info = directory / CHECKPOINT_INFO
    if not info.is_file():
        return None
    try:
        return json.loads(info.read_text())
    except (OSError, ValueError) as exc:
        raise TrainError(f"checkpoint {info} is unreadable ({exc}): delete {directory} to start afresh") from exc


def identity_diff(saved: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    diffs = []
    for key in ("data_hash", "base_sha256"):
        if saved.get(key) != wanted.get(key):
            diffs.append(f"{key} {str(saved.get(key))[:12]} != {str(wanted.get(key))[:12]}")
    saved_cfg, wanted_cfg = saved.get("config") or {}, wanted.get("config") or {}
    for key in sorted(set(saved_cfg) | set(wanted_cfg)):
        if saved_cfg.get(key) != wanted_cfg.get(key):
            diffs.append(f"{key} {saved_cfg.get(key)!r} != {wanted_cfg.get(key)!r}")
    return diffs


def save_checkpoint(directory: Path, payload: dict[str, Any], info: dict[str, Any]) -> None:
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
