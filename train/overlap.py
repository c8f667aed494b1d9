"""How much the training questions share with an evaluation set: 5-grams of words, accent- and case-blind.

A generator written from the schema shares common phrases with any set of questions about the same
database ("cuántos vuelos cancelados hubo"), so overlap is not zero; what it must not do is copy
evaluation questions. The test reports these figures for every evaluation set and fails on a copy.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.question.lang import search_form


def ngrams(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", search_form(text))
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


@dataclass(frozen=True)
class Overlap:
    questions: int
    with_shared: int          # evaluation questions sharing at least one n-gram with training
    shared_ngrams: int        # distinct n-grams shared
    copies: int               # evaluation questions that appear (normalised) in training

    @property
    def share(self) -> float:
        return self.with_shared / self.questions if self.questions else 0.0


def overlap(train_questions: Iterable[str], eval_questions: Iterable[str], n: int = 5) -> Overlap:
    train = list(train_questions)
    grams: set[tuple[str, ...]] = set()
    for q in train:
        grams |= ngrams(q, n)
    normal = {" ".join(re.findall(r"\w+", search_form(q))) for q in train}
    evals = list(eval_questions)
    shared: set[tuple[str, ...]] = set()
    hits = copies = 0
    for q in evals:
        mine = ngrams(q, n) & grams
        shared |= mine
        hits += bool(mine)
        copies += " ".join(re.findall(r"\w+", search_form(q))) in normal
    return Overlap(questions=len(evals), with_shared=hits, shared_ngrams=len(shared), copies=copies)
