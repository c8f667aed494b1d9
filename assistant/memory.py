"""Bounded conversation memory for follow-ups ("¿y cuántos en business?").

Only the last few turns' question, SQL and row count are kept, under a token cap: never result
sets, which would bloat the prompt, slow every question and put personal data into it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    question: str
    sql: str
    row_count: int
    note: str = ""     # what a turn without model SQL left on screen ('the record on screen is booking …')


class Memory:
    def __init__(self, max_turns: int = 3, max_tokens: int = 300):
        self.max_turns, self.max_tokens = max_turns, max_tokens
        self._turns: deque[Turn] = deque(maxlen=max_turns)

    def add(self, question: str, sql: str, row_count: int, note: str = "") -> None:
        if sql or note:
            self._turns.append(Turn(question, sql, row_count, note))

    def clear(self) -> None:
        self._turns.clear()

    def to_list(self) -> list[dict]:
        """The turns as plain data, oldest first (a conversation kept in the app store)."""
        return [{"question": t.question, "sql": t.sql, "row_count": t.row_count, "note": t.note} for t in self._turns]

    @classmethod
    def from_list(cls, turns: list[dict], **kwargs) -> Memory:
        memory = cls(**kwargs)
        for t in turns:
            memory.add(str(t.get("question", "")), str(t.get("sql", "")), int(t.get("row_count", 0)),
                       note=str(t.get("note", "")))
        return memory

    def __len__(self) -> int:
        return len(self._turns)

    @staticmethod
    def _tokens(text: str) -> int:
        return len(text) // 3 + 1   # rough, conservative for SQL and Spanish text

    def context_lines(self) -> list[str]:
        """Newest turns first until the token cap, returned oldest first."""
        lines: list[str] = []
        budget = self.max_tokens
        for turn in reversed(self._turns):
            line = (f"Q: {turn.question}\n({turn.note})" if not turn.sql else
                    f"Q: {turn.question}\nSQL: {turn.sql}\n({turn.row_count} rows)")
            cost = self._tokens(line)
            if cost > budget:
                sql = turn.sql[: max(0, budget * 3 - len(turn.question) - 30)]
                line = f"Q: {turn.question}\nSQL: {sql}…" if sql else ""
                if line:
                    lines.append(line)
                break
            lines.append(line)
            budget -= cost
        return list(reversed(lines))
