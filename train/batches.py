"""What each optimizer step sees: the whole run's batch plan (deterministic from the seed), one batch
padded into tensors, and the learning-rate schedule."""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from train.encoding import IGNORE, Encoded


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
