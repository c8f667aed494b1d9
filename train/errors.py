"""The `train` package's exceptions. The CLI turns them into one-line user messages (exit status 2)."""
from __future__ import annotations


class TrainError(Exception):
    """Base class: shown to the user as one line."""


class TrainingDataError(TrainError):
    """The training data could not be generated, verified or read."""


class TrainingDependencyMissing(TrainError):
    """PyTorch / transformers / peft are not installed (the optional `train` extra)."""


class AdapterExportError(TrainError):
    """The trained LoRA weights could not be written as a GGUF adapter."""
