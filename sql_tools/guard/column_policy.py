"""Check 6 on the qualified tree: no column the role may not read, anywhere; masked columns only as bare
top-level outputs (or the one LIKE shape that reveals no more than the mask); no whole-row values; no
ordering or DISTINCT ON by a masked value."""
from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from sql_tools.functions import QUERY_ROOTS
from sql_tools.guard.constants import MASKED_ACTIONS
from sql_tools.guard.lineage import LineageChecks
from sql_tools.guard.tree_shapes import _in_distinct_on, _projections


class ColumnPolicyChecks(LineageChecks):
    """Check 6 on the qualified tree: hidden, masked and whole-row values."""

    def _check_stars(self, q: exp.Expression) -> None:
        """After qualification the only star left should be count(*): anything else is a whole-row
        reference (row_to_json(p.*), p.* in a function)."""
        for star in q.find_all(exp.Star):
            if isinstance(star.parent, exp.Count) and star.arg_key == "this":
                continue
            raise self.reject("whole_row", what="*")

    def _check_columns(self, q: exp.Expression, root_scope: Scope) -> None:
        """Hidden columns nowhere; masked columns only as bare top-level outputs; whole rows never."""
        root = q
        for col in list(q.find_all(exp.Column)):
            scope = self._scope_for(col)
            if not col.table:
                self._unqualified(col, scope)
                continue
            found = self._resolve(scope, col.table)
            if found is None:
                raise self.reject("unknown_column", what=col.sql(dialect=self.dialect))
            _, src = found
            if not isinstance(src, exp.Table):
                continue  # a column of a CTE/derived table: checked where that query is defined
            table = self._norm(src.this)
            info = self.catalog.column(table, col.name)
            if info is None:
                raise self.reject("unknown_column", what=f"{table}.{col.name}")
            action = self.policy.action(info.pii)
            if action == "hide":
                raise self.reject("column_not_allowed", what=f"{table}.{col.name}", role=self.policy.name)
            if action in MASKED_ACTIONS:
                if self._is_top_level_output(col, root) or self._mask_consistent(col, action):
                    continue
                raise self.reject("pii_in_expression", what=f"{table}.{col.name}", role=self.policy.name)

    def _unqualified(self, col: exp.Column, scope: Scope | None) -> None:
        """qualify() leaves a column unqualified when it is an output alias (ORDER BY x) or when it names
        a table (PostgreSQL whole-row value: `SELECT p FROM passengers p`, sql-atk-139)."""
        name = col.name
        if scope is not None and isinstance(scope.expression, QUERY_ROOTS):
            select = scope.expression
            # PostgreSQL reads DISTINCT ON (x) like ORDER BY x: an output name (or a position, which
            # qualify() turns into the output name) first. Same rule, same masked-value check.
            if col.find_ancestor(exp.Order) is not None or _in_distinct_on(col, select):
                for proj in _projections(select):
                    if proj.alias_or_name == name:
                        if any(b.pii and self.policy.action(b.pii) in MASKED_ACTIONS
                               for b in self._lineage(proj, set())):
                            # ordering by a masked value leaks it (binary search on the sort order);
                            # DISTINCT ON a masked value tells which rows share it
                            raise self.reject("pii_in_expression", what=name, role=self.policy.name)
                        return
        if scope is not None and self._resolve(scope, name) is not None:
            raise self.reject("whole_row", what=name)
        raise self.reject("unknown_column", what=name)

    @staticmethod
    def _is_top_level_output(col: exp.Column, root: exp.Expression) -> bool:
        if not isinstance(root, exp.Select):
            return False  # set operations: the masker masks by position of one SELECT only
        parent = col.parent
        if isinstance(parent, exp.Alias) and parent.this is col:
            col, parent = parent, parent.parent
        return parent is root and col.arg_key == "expressions"

    @staticmethod
    def _mask_consistent(col: exp.Column, action: str) -> bool:
        """`email ILIKE '%@example.com'` (benign sql-ok-033) reveals only what the partial mask shows
        anyway (the domain; the last 4 characters of a phone or document). Only that shape is exempt."""
        if action != "partial":
            return False
        like = col.parent
        if not isinstance(like, (exp.Like, exp.ILike)) or like.this is not col:
            return False
        if isinstance(like.parent, exp.Escape):
            return False
        pat = like.expression
        if not (isinstance(pat, exp.Literal) and pat.is_string):
            return False
        text = pat.this
        if not text.startswith("%"):
            return False
        rest = text[1:]
        if not rest or any(ch in rest for ch in "%_\\"):
            return False
        return (rest.startswith("@") and rest.count("@") == 1) or len(rest) <= 4
