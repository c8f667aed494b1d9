"""Which catalog columns each expression is computed from (through WITH queries and derived tables),
and from that the top-level output columns the result will carry."""
from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from sql_tools.guard.check_state import CheckBase
from sql_tools.guard.results import OutputColumn, _Base
from sql_tools.guard.tree_shapes import _branches, _projections_named


class LineageChecks(CheckBase):
    """Lineage of expressions and the top-level output columns; the column-policy and result-size
    checks build on it."""

    # ---- lineage ---------------------------------------------------------------------------------

    def _lineage(self, expr: exp.Expression, seen: set[int]) -> set[_Base]:
        """Catalog columns that `expr` is computed from, following CTEs and derived tables."""
        out: set[_Base] = set()
        for col in expr.find_all(exp.Column):
            if not col.table:
                continue
            scope = self._scope_for(col)
            found = self._resolve(scope, col.table)
            if found is None:
                continue
            owner, src = found
            if isinstance(src, exp.Table):
                table = self._norm(src.this)
                info = self.catalog.column(table, col.name)
                direct = col.table if owner.is_root else None
                out.add(_Base(table, col.name, info.pii if info else None, direct))
            elif isinstance(src, Scope):
                key = id(src.expression)
                if key in seen:
                    continue  # recursive CTE
                for proj in _projections_named(src.expression, col.name):
                    out |= {_Base(b.table, b.column, b.pii, None) for b in self._lineage(proj, seen | {key})}
        return out

    # ---- outputs ---------------------------------------------------------------------------------

    def _outputs(self, q: exp.Expression, root_scope: Scope) -> tuple[list[OutputColumn], list[set[_Base]]]:
        """Top-level output columns in order, and the lineage of each."""
        branches = _branches(q)
        first = branches[0]
        outputs: list[OutputColumn] = []
        lineages: list[set[_Base]] = []
        for i, proj in enumerate(first.expressions):
            lin: set[_Base] = set()
            bare: set[tuple[str, str]] = set()
            for br in branches:
                p = br.expressions[i] if i < len(br.expressions) else None
                if p is None:
                    raise self.reject("unsupported_syntax", what="set operation with unequal columns")
                b = self._lineage(p, set())
                lin |= b
                inner = p.this if isinstance(p, exp.Alias) else p
                if isinstance(inner, exp.Column) and len(b) == 1:
                    bare |= {(x.table, x.column) for x in b}
                else:
                    bare.add(("", ""))
            table = column = pii = None
            if len(bare) == 1 and ("", "") not in bare:
                table, column = next(iter(bare))
                info = self.catalog.column(table, column)
                pii = info.pii if info else None
            derived = tuple(sorted({x.pii for x in lin if x.pii}))
            outputs.append(OutputColumn(name=proj.alias_or_name, table=table, column=column, pii=pii,
                                        derived_pii=derived))
            lineages.append(lin)
        return outputs, lineages
