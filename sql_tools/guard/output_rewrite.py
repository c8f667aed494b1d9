"""Check 8, the statement that will run: the subject key appended for the audit log, LIMIT injected or
clamped to the role's cap, and the regenerated SQL re-parsed to make sure it says what the checked tree
said."""
from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel
from sqlglot.optimizer.scope import Scope

from sql_tools.guard.check_state import CheckBase
from sql_tools.guard.constants import SUBJECT_KEY_ALIAS
from sql_tools.guard.results import OutputColumn, _Base
from sql_tools.guard.tree_shapes import _int_literal, _is_aggregated


class OutputRewrites(CheckBase):
    """Check 8: the subject key, the row cap and the regenerated SQL."""

    # ---- subject key -----------------------------------------------------------------------------

    def _append_subject_key(self, q: exp.Expression, root_scope: Scope, lineage: list[set[_Base]],
                            outputs: list[OutputColumn]) -> int | None:
        """Append the passenger id so the audit log knows whose data a result showed."""
        st, sk = self.catalog.subject_table, self.catalog.subject_key
        if not st or not sk:
            return None
        subject_pii = [b for lin in lineage for b in lin if b.table == st and b.pii]
        booking_pii = [b for lin in lineage for b in lin if b.table == "bookings" and b.pii]
        if not subject_pii and not booking_pii:
            return None
        if not isinstance(q, exp.Select):
            if subject_pii:
                raise self.reject("untraceable_personal_data")
            return None
        aliases = [name for name, src in root_scope.sources.items()
                   if isinstance(src, exp.Table) and self._norm(src.this) == st]
        if len(aliases) != 1 or any(b.alias != aliases[0] for b in subject_pii):
            if subject_pii:
                raise self.reject("untraceable_personal_data")
            return None
        alias = aliases[0]
        key = exp.column(sk, table=alias)
        if _is_aggregated(q):
            if self.dialect == "sqlite":
                agg = exp.GroupConcat(this=exp.Distinct(expressions=[key]))
            else:
                agg = exp.GroupConcat(this=exp.Distinct(expressions=[exp.cast(key, "TEXT")]),
                                      separator=exp.Literal.string(","))
            value: exp.Expression = agg
        else:
            value = key
        q.append("expressions", exp.alias_(value, SUBJECT_KEY_ALIAS))
        outputs.append(OutputColumn(name=SUBJECT_KEY_ALIAS, table=None if _is_aggregated(q) else st,
                                    column=None if _is_aggregated(q) else sk, pii=None))
        return len(outputs) - 1

    # ---- 8. limit and regeneration ---------------------------------------------------------------

    def _inject_limit(self, q: exp.Expression) -> int:
        """LIMIT role.max_rows + 1, or the smaller literal already there; returns the row cap.

        The one extra row lets the executor (which keeps at most `limit` rows) tell a result that was
        cut at the role's cap from one that happens to have exactly that many rows, and say so.
        sqlite LIMIT -1 means no limit."""
        cap = self.policy.max_rows
        limit = q.args.get("limit")
        current = _int_literal(limit.args.get("expression")) if limit is not None else None
        if current is None or current < 0 or current > cap:
            q.set("limit", exp.Limit(expression=exp.Literal.number(cap + 1)))
            return cap
        q.set("limit", exp.Limit(expression=exp.Literal.number(current)))
        return current

    def _check_roundtrip(self, sql_out: str, q: exp.Expression) -> None:
        """Re-parse what will run: it must be one statement equal to the checked tree, so the text cannot
        mean something else than what was checked (the U& escape case regenerated differently)."""
        try:
            again = sqlglot.parse(sql_out, read=self.dialect, error_level=ErrorLevel.RAISE)
        except Exception:  # noqa: BLE001
            raise self.reject("guard_error") from None
        again = [s for s in again if s is not None]
        if len(again) != 1 or type(again[0]) is not type(q):
            raise self.reject("guard_error")
        # Compared as text: the generator may legitimately add nodes on the first pass (PostgreSQL
        # ROUND(avg(x), 2) gains a CAST to DECIMAL), but a second pass must be a fixed point.
        if again[0].sql(dialect=self.dialect) != sql_out:
            raise self.reject("guard_error")
