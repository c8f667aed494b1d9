"""Mask a result by role, column by column, BEFORE any caller (UI or language model) sees a row.

Why after the query and not only in SQL: masking in the guard's SQL would be a parser promise; here it
is applied to the values themselves as the last step, so a guard bug cannot show a clear e-mail to an
agent. The guard still rejects expressions over masked columns (``substr(email, ...)``), because a
masked output column is only recognised when it is a bare column reference (``OutputColumn.pii``).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import hmac

import pandas as pd

BULLETS = "••••"


def partial(value):
    """E-mail -> 'j***@example.com'; phone, document, frequent-flyer number -> '••••1234'."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    s = str(value)
    if "@" in s:
        local, _, domain = s.rpartition("@")
        return f"{local[:1]}***@{domain}"
    return BULLETS + s[-4:] if len(s) > 4 else BULLETS


def year(value):
    """A date (or ISO text) -> 'YYYY'."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, (_dt.date, _dt.datetime, pd.Timestamp)):
        return f"{value.year:04d}"
    s = str(value).strip()
    return s[:4] if len(s) >= 4 and s[:4].isdigit() else None


def pseudonym(value, key: str):
    """Stable keyed token: same value and key -> same 'P-xxxxxxxx'; unkeyed guessing does not reverse it."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    digest = hmac.new(key.encode("utf-8"), str(value).encode("utf-8"), hashlib.sha256).hexdigest()
    return f"P-{digest[:8]}"


def mask_value(value, action: str, key: str):
    if action == "clear":
        return value
    if action == "partial":
        return partial(value)
    if action == "year":
        return year(value)
    if action == "pseudonym":
        return pseudonym(value, key)
    return None   # 'hide' (should never reach here: guard, authorizer and grants refuse it) or unknown


def mask_frame(df: pd.DataFrame, columns, policy, key: str) -> pd.DataFrame:
    """A masked copy of `df`. `columns` are the guard's OutputColumn objects, in the df's column order.

    Fails closed: when the guard's column list does not line up with the frame, every column with an
    unknown class is treated as personal data of the strictest kind the role has (hide -> None).
    """
    out = df.copy()
    for i, name in enumerate(df.columns):
        oc = columns[i] if i < len(columns) else None
        pii = getattr(oc, "pii", None) if oc is not None else "free_text"
        action = policy.action(pii)
        if action == "clear":
            continue
        out[name] = out.iloc[:, i].map(lambda v, a=action: mask_value(v, a, key)).astype(object) \
            if len(out) else out.iloc[:, i].astype(object)
    return out
