"""Check 7, how much a statement may return: literal LIMIT/OFFSET only, no cartesian products, contacts,
documents and dates of birth only for specific records (a lookup filter), and no packing of personal
data into one cell."""
from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from sql_tools.functions import PACKING_AGGREGATES
from sql_tools.guard.constants import BULK_CLASSES, MAX_LOOKUP_IN
from sql_tools.guard.lineage import LineageChecks
from sql_tools.guard.results import _Base
from sql_tools.guard.tree_shapes import _branches, _conjuncts, _int_literal, _is_constant, _single_row


class ResultSizeChecks(LineageChecks):
    """Check 7: how much a statement may return, and how packed."""

    # ---- limits anywhere -------------------------------------------------------------------------

    def _check_limits(self, q: exp.Expression) -> None:
        for node in q.find_all(exp.Limit, exp.Offset):
            value = node.args.get("expression")
            if _int_literal(value) is None:
                raise self.reject("bad_limit", what=node.sql(dialect=self.dialect))

    # ---- cartesian products ----------------------------------------------------------------------

    def _check_cartesian(self, scopes: list[Scope]) -> None:
        """Every source of a SELECT must be linked to the others by an equality between their columns
        (ON or a top-level WHERE conjunct). sql-atk-143 (four-way cross join of passengers) and theta
        joins have none. A derived table that yields one row (aggregate without GROUP BY) is exempt."""
        for scope in scopes:
            select = scope.expression
            if not isinstance(select, exp.Select) or not select.args.get("joins"):
                continue
            aliases = [n for n, _ in self._from_sources(select)]
            parent = {a: a for a in aliases}

            def find(a: str, parent: dict[str, str] = parent) -> str:
                while parent[a] != a:
                    a = parent[a]
                return a

            for name, node in self._from_sources(select):
                if isinstance(node, exp.Subquery) and _single_row(node.this) and aliases:
                    parent[find(name)] = find(aliases[0])
            conds = [j.args.get("on") for j in select.args.get("joins") or []]
            if select.args.get("where") is not None:
                conds.append(select.args["where"].this)
            for cond in conds:
                if cond is None:
                    continue
                for c in _conjuncts(cond):
                    if not isinstance(c, (exp.EQ, exp.NullSafeEQ)):
                        continue
                    left = {x.table for x in c.this.find_all(exp.Column)}
                    right = {x.table for x in c.expression.find_all(exp.Column)}
                    if len(left) == 1 and len(right) == 1 and left != right:
                        a, b = next(iter(left)), next(iter(right))
                        if a in parent and b in parent:
                            parent[find(a)] = find(b)
            roots = {find(a) for a in aliases}
            if len(roots) > 1:
                raise self.reject("cartesian_product", what=", ".join(aliases))

    @staticmethod
    def _from_sources(select: exp.Select) -> list[tuple[str, exp.Expression]]:
        out = []
        from_ = select.args.get("from_") or select.args.get("from")
        nodes = [from_.this] if from_ is not None else []
        nodes += [j.this for j in select.args.get("joins") or []]
        for n in nodes:
            out.append((n.alias_or_name, n))
        return out

    # ---- personal data in bulk -------------------------------------------------------------------

    def _lookup_filtered(self, select: exp.Select) -> bool:
        """True when the WHERE of `select` has, as a top-level AND conjunct, `key = constant` or
        `key IN (<= 20 constants)` on a catalog lookup_key column (optionally lower/upper/trim)."""
        where = select.args.get("where")
        if where is None:
            return False
        for c in _conjuncts(where.this):
            if isinstance(c, exp.EQ):
                for a, b in ((c.this, c.expression), (c.expression, c.this)):
                    if self._is_lookup_key(a) and _is_constant(b):
                        return True
            elif isinstance(c, exp.In) and not c.args.get("query") and not c.args.get("unnest"):
                values = c.expressions
                if 1 <= len(values) <= MAX_LOOKUP_IN and all(_is_constant(v) for v in values) \
                        and self._is_lookup_key(c.this):
                    return True
        return False

    def _is_lookup_key(self, e: exp.Expression) -> bool:
        while isinstance(e, (exp.Lower, exp.Upper, exp.Trim, exp.Paren)):
            e = e.this
        if not isinstance(e, exp.Column) or not e.table:
            return False
        found = self._resolve(self._scope_for(e), e.table)
        if found is None or not isinstance(found[1], exp.Table):
            return False
        info = self.catalog.column(self._norm(found[1].this), e.name)
        return bool(info and info.lookup_key)

    def _check_bulk(self, q: exp.Expression, root_scope: Scope, lineage: list[set[_Base]]) -> None:
        """Contacts, documents and dates of birth only for specific records (sql-atk-137/142)."""
        if not any(b.pii in BULK_CLASSES for lin in lineage for b in lin):
            return
        for br in _branches(q):
            if not self._lookup_filtered(br):
                raise self.reject("bulk_personal_data", max_in=MAX_LOOKUP_IN)

    def _check_packing(self, q: exp.Expression) -> None:
        """string_agg/group_concat of personal data packs a whole table into one cell, past any row cap
        (F8, sql-atk-188/190); allowed only under a lookup filter (benign sql-ok-075: travellers of one
        booking)."""
        for agg in q.find_all(*PACKING_AGGREGATES):
            if any(b.pii for b in self._lineage(agg, set())):
                select = agg.find_ancestor(exp.Select)
                if select is None or not self._lookup_filtered(select):
                    raise self.reject("bulk_personal_data", max_in=MAX_LOOKUP_IN)
