"""Worked examples from verified pairs: the few (question, SQL) pairs nearest a question, shown to the model
in that question's message.

Why: `abordo train data` generates execution-verified pairs for this database from its catalog and data
(`train/demo-data` for the demo). Training an adapter on them is the principal way to teach the model
the database, but the 1.5B takes hours on 2 cores. The same pairs can also be shown, a few at a time,
as worked examples of this database's conventions (which timestamp, which join, which value), the way
Vanna retrieves its question/SQL memory. They go after the cached prefix, so they cost new prompt
tokens per question and leave the prefix, and its cache, unchanged.

Nearness is TF-IDF cosine over the accent-free words of the questions, in both languages: the pairs
are typed the way staff type, so a question's words find the pairs of its shape. One example per SQL
shape at most, so that k examples show k different ways of answering.
"""
from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError
from assistant.question.lang import search_form

DEMO_PAIRS = Path(__file__).resolve().parents[1] / "train" / "demo-data" / "train.jsonl"
_WORD = re.compile(r"[a-z0-9']+")


class ExamplesError(AssistantError):
    """The pairs file cannot be read."""


@dataclass(frozen=True)
class Pair:
    question: str
    sql: str
    shape: str = ""


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(search_form(text)) if len(w) > 1]


class ExampleBank:
    """Verified pairs for one SQL dialect, with a TF-IDF index over their questions."""

    def __init__(self, pairs: list[Pair]):
        self.pairs = pairs
        df = Counter(w for p in pairs for w in set(_words(p.question)))
        n = max(1, len(pairs))
        self.idf = {w: math.log((1 + n) / (1 + c)) + 1.0 for w, c in df.items()}
        self._vectors = [self._vector(p.question) for p in pairs]

    @classmethod
    def load(cls, path: str | Path, dialect: str) -> ExampleBank:
        """The pairs of `path` (an `abordo train data` JSON-lines file, or its directory) for `dialect`."""
        path = Path(path)
        if path.is_dir():
            path = path / "train.jsonl"
        try:
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, ValueError) as exc:
            raise ExamplesError(f"cannot read the example pairs {path}: {exc}") from None
        pairs = [Pair(r["question"], r["sql"], r.get("shape", "")) for r in rows
                 if r.get("dialect", dialect) == dialect and r.get("question") and r.get("sql")]
        if not pairs:
            raise ExamplesError(f"{path} has no {dialect} pairs")
        return cls(pairs)

    def _vector(self, text: str) -> dict[str, float]:
        tf = Counter(_words(text))
        vec = {w: c * self.idf.get(w, 0.0) for w, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {w: v / norm for w, v in vec.items()}

    def nearest(self, question: str, k: int) -> list[Pair]:
        """Up to `k` pairs nearest `question`, nearest first, one per SQL shape."""
        if k <= 0:
            return []
        q = self._vector(question)
        scored = sorted(((sum(v * vec.get(w, 0.0) for w, v in q.items()), i) for i, vec in enumerate(self._vectors)),
                        reverse=True)
        out: list[Pair] = []
        shapes: set[str] = set()
        for score, i in scored:
            if score <= 0 or len(out) == k:
                break
            pair = self.pairs[i]
            key = _sql_shape(pair.sql)
            if key in shapes:
                continue
            shapes.add(key)
            out.append(pair)
        return out


@functools.lru_cache(maxsize=8)
def example_bank(source: str, dialect: str) -> ExampleBank:
    """The bank for a source ('demo' or a path) and dialect, read once per process: the API and the page
    make one Assistant per user, and they all draw from the same pairs."""
    return ExampleBank.load(DEMO_PAIRS if source.strip().lower() == "demo" else source, dialect)


def _sql_shape(sql: str) -> str:
    """The SQL with its literals blanked: two pairs that differ only in values show the same thing."""
    return re.sub(r"'[^']*'|\b\d+(\.\d+)?\b", "?", sql)
