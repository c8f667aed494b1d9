"""Result comparison: whether a predicted result set equals the gold one, by the rules of
``shared/eval/README.md``:

* row order matters only when the gold SQL has a top-level ORDER BY;
* column names are ignored (columns compare by position);
* numbers compare as numbers within 0.005;
* timestamps compare as 'YYYY-MM-DD HH:MM:SS', dates as 'YYYY-MM-DD'; NULL equals NULL.

When the gold result has more rows than the role's row cap, the prediction is correct if it returned
exactly ``cap`` rows that are the first ``cap`` gold rows (ordered gold) or a sub-multiset of the gold
rows (unordered gold); the comparison says ``capped``.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal

TOLERANCE = 0.005
_TS = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(?:Z|[+-]00(?::?00)?)?$")


def normalise(v):
    """A comparable form of one value (numbers as float, timestamps as 'YYYY-MM-DD HH:MM:SS')."""
    if v is None:
        return None
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float, Decimal)):
        f = float(v)
        return None if math.isnan(f) else f
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, dt.timedelta):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    s = str(v)
    m = _TS.match(s)
    if m:
        t = m.group(2)
        return f"{m.group(1)} {t if len(t) == 8 else t + ':00'}"
    return s


def _values_equal(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= TOLERANCE + 1e-9
    return a == b


def _rows_equal(r1: tuple, r2: tuple) -> bool:
    return len(r1) == len(r2) and all(_values_equal(a, b) for a, b in zip(r1, r2))


def _sort_key(row: tuple):
    return tuple((0, "") if v is None else (1, round(v, 2), "") if isinstance(v, float) else (2, 0, str(v))
                 for v in row)


def _multiset_diff(gold: list[tuple], pred: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """(gold rows with no match in pred, pred rows left over), matching within the tolerance."""
    g_sorted, p_sorted = sorted(gold, key=_sort_key), sorted(pred, key=_sort_key)
    if len(g_sorted) == len(p_sorted) and all(_rows_equal(a, b) for a, b in zip(g_sorted, p_sorted)):
        return [], []
    remaining = list(p_sorted)
    missing = []
    for row in g_sorted:
        for i, cand in enumerate(remaining):
            if _rows_equal(row, cand):
                del remaining[i]
                break
        else:
            missing.append(row)
    return missing, remaining


def has_top_level_order_by(sql: str) -> bool:
    """ORDER BY at parenthesis depth 0, outside strings and comments."""
    depth, i, n = 0, 0, len(sql)
    text = sql
    while i < n:
        c = text[i]
        if c in "'\"":
            j = text.find(c, i + 1)
            while j != -1 and j + 1 < n and text[j + 1] == c:
                j = text.find(c, j + 2)
            i = n if j == -1 else j + 1
            continue
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j == -1 else j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and re.match(r"order\s+by\b", text[i:i + 20], re.IGNORECASE) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            return True
        i += 1
    return False


def has_top_level_distinct(sql: str) -> bool:
    return bool(re.match(r"\s*select\s+distinct\b", sql, re.IGNORECASE))


@dataclass
class Comparison:
    correct: bool
    reason: str = ""        # '' when correct; else error code / row count / value mismatch
    detail: str = ""
    gold_rows: int = 0
    pred_rows: int = 0
    ordered: bool = False
    capped: bool = False


def _fmt(row: tuple) -> str:
    return "(" + ", ".join("NULL" if v is None else f"{v:g}" if isinstance(v, float) else repr(v) for v in row) + ")"


def compare_results(gold: list[tuple], pred: list[tuple], *, ordered: bool, cap: int | None = None) -> Comparison:
    """Compare two result sets by the shared/eval scoring rules (values are normalised here)."""
    g = [tuple(normalise(v) for v in r) for r in gold]
    p = [tuple(normalise(v) for v in r) for r in pred]
    res = Comparison(correct=False, gold_rows=len(g), pred_rows=len(p), ordered=ordered)
    if g and p and len(g[0]) != len(p[0]):
        res.reason, res.detail = "column_count", f"gold has {len(g[0])} columns, prediction {len(p[0])}"
        return res
    if cap is not None and len(g) > cap and len(p) == cap:
        res.capped = True
        if ordered:
            g = g[:cap]
        else:
            missing, extra = _multiset_diff(g, p)
            if not extra:
                res.correct = True
                return res
            res.reason, res.detail = "value_mismatch", "not in gold: " + ", ".join(_fmt(r) for r in extra[:3])
            return res
    if len(g) != len(p):
        res.reason = "row_count"
        res.detail = f"gold {len(g)} rows, prediction {len(p)} rows"
        missing, extra = _multiset_diff(g, p) if len(g) + len(p) <= 4000 else ([], [])
        if missing[:2] or extra[:2]:
            res.detail += "; missing " + ", ".join(_fmt(r) for r in missing[:2]) if missing else ""
            res.detail += "; extra " + ", ".join(_fmt(r) for r in extra[:2]) if extra else ""
        return res
    if ordered:
        for i, (a, b) in enumerate(zip(g, p)):
            if not _rows_equal(a, b):
                missing, extra = _multiset_diff(g, p)
                res.reason = "order_mismatch" if not missing and not extra else "value_mismatch"
                res.detail = f"row {i + 1}: gold {_fmt(a)}, prediction {_fmt(b)}"
                return res
        res.correct = True
        return res
    missing, extra = _multiset_diff(g, p)
    if missing or extra:
        res.reason = "value_mismatch"
        res.detail = ("missing " + ", ".join(_fmt(r) for r in missing[:2]) + "; extra "
                      + ", ".join(_fmt(r) for r in extra[:2]))
        return res
    res.correct = True
    return res
