"""Training examples as token sequences, exactly as the model sees them at inference.

Each example's `messages` (the system + user prompt the assistant sends) are rendered with the GGUF's own
chat template (`add_generation_prompt=True`, as llama.cpp's `create_chat_completion` does), and the loss
covers only the completion's tokens and the end-of-turn token `<|im_end|>` (llama.cpp stops there, so
the "\n" the template writes after it is never generated and is left out). Prompt and padding are
labelled -100 (`IGNORE`).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from train.errors import TrainError, TrainingDataError

IGNORE = -100


@dataclass(frozen=True)
class Encoded:
    """One training sequence: token ids, and labels (-100 outside the completion)."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.input_ids)


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
