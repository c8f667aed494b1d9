"""Question sets: JSON-lines files in the shared/eval format or in Spider's, read into `Question`s."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.errors import EvalError


@dataclass
class Question:
    id: str
    lang: str
    question: str
    gold: dict[str, str]            # dialect ('sqlite' / 'postgres') -> gold SQL
    category: str = ""
    notes: str = ""
    db_id: str | None = None        # Spider: the database the question is about
    fill: dict[str, str] = field(default_factory=dict)   # placeholder values used (needs-data)

    def gold_sql(self, dialect: str) -> str:
        sql = self.gold.get(dialect) or self.gold.get("sqlite" if dialect == "postgres" else "postgres")
        if not sql:
            raise EvalError(f"question {self.id}: no gold SQL for {dialect}")
        return sql


def question_lines(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON-lines question file, each object with a
    'question' string, read as it goes: the one reader of question files (`load_questions`, the
    benchmarks). EvalError names the file and line of the first bad one."""
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"question file {path} does not exist")
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{path}: line {n} is not valid JSON: {exc.msg}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            raise EvalError(f"{path}: line {n} has no 'question' string")
        yield n, obj


def load_questions(path: str | Path) -> list[Question]:
    """Read a JSON-lines question file in the shared/eval format or in Spider's format."""
    path = Path(path)
    out: list[Question] = []
    seen: set[str] = set()
    for n, obj in question_lines(path):
        if "db_id" in obj and "sql" in obj:      # Spider
            q = Question(id=str(obj.get("id") or f"{path.stem}-{n}"), lang=obj.get("lang") or "en",
                         question=obj["question"], gold={"sqlite": obj["sql"]}, category=obj["db_id"],
                         notes=obj.get("notes", ""), db_id=obj["db_id"])
        elif "sql_sqlite" in obj or "sql_postgres" in obj:
            gold = {d: obj[k] for d, k in (("sqlite", "sql_sqlite"), ("postgres", "sql_postgres"))
                    if isinstance(obj.get(k), str) and obj[k].strip()}
            if not gold:
                raise EvalError(f"{path}: line {n} has no gold SQL")
            q = Question(id=str(obj.get("id") or f"{path.stem}-{n}"), lang=obj.get("lang") or "en",
                         question=obj["question"], gold=gold, category=obj.get("category") or "",
                         notes=obj.get("notes") or "")
        else:
            raise EvalError(f"{path}: line {n} has neither sql_sqlite/sql_postgres nor db_id/sql")
        if q.id in seen:
            raise EvalError(f"{path}: line {n} repeats id {q.id}")
        seen.add(q.id)
        out.append(q)
    if not out:
        raise EvalError(f"{path} holds no questions")
    return out
