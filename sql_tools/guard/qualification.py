"""Check 6's preparation: the rewrites made before qualify() (EXISTS projections, SQLite's double-quoted
strings, names for unaliased outputs), the per-role schema qualify() expands stars against (cached per
catalog, role and dialect), and qualify() itself, whose failures become rejections."""
from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from db.catalog import Catalog, RolePolicy
from sql_tools.guard.check_state import CheckBase
from sql_tools.guard.tree_shapes import _branches

# qualify()'s schema per catalog, role and dialect, cached (see _role_schema)
_SCHEMAS: dict[tuple[int, str, str], tuple[Catalog, MappingSchema]] = {}


def _role_schema(catalog: Catalog, policy: RolePolicy, dialect: str) -> MappingSchema:
    """qualify() schema with only the columns `role` may read: `SELECT *` then expands to readable
    columns only, and a hidden column becomes an unknown one. Built once per catalog, role and
    dialect (normalising the schema was a third of the guard's time)."""
    key = (id(catalog), policy.name, dialect)
    hit = _SCHEMAS.get(key)
    if hit is not None and hit[0] is catalog:
        return hit[1]
    mapping = {t.name: {c.name: "TEXT" for c in t.columns.values() if policy.action(c.pii) != "hide"}
               for t in catalog.exposed_tables.values()}
    schema = MappingSchema(mapping, dialect=dialect)
    if len(_SCHEMAS) > 64:
        _SCHEMAS.clear()
    _SCHEMAS[key] = (catalog, schema)  # the catalog is kept alive so its id() cannot be reused
    return schema


class QualificationSteps(CheckBase):
    """The rewrites made before qualify(), and qualify() against the role's schema."""

    def _neutralise_exists_projections(self, tree: exp.Expression) -> None:
        """EXISTS ignores what its subquery selects; `EXISTS (SELECT * FROM passengers ...)` would
        otherwise expand the star into masked columns and be refused for nothing."""
        for ex in tree.find_all(exp.Exists):
            sub = ex.this
            if isinstance(sub, exp.Select):
                sub.set("expressions", [exp.Literal.number(1)])

    def _double_quoted_strings(self, tree: exp.Expression) -> None:
        """SQLite reads "Los Angeles" as a string when no column has that name (a legacy rule that
        Spider-style SQL, and models trained on it, rely on). Mirror it, conservatively: only an
        unqualified double-quoted name that is no column of any exposed table (hidden ones included,
        so they are still refused) and no alias in the query becomes a string literal. The SQL that
        runs is regenerated with a single-quoted literal, so the database reads what the guard read."""
        quoted = [c for c in tree.find_all(exp.Column)
                  if not c.table and isinstance(c.this, exp.Identifier) and c.this.quoted]
        if not quoted:
            return                                    # the usual case: nothing to look up
        known = {c.name.lower() for t in self.catalog.exposed_tables.values() for c in t.columns.values()}
        known |= {a.alias.lower() for a in tree.find_all(exp.Alias) if a.alias}
        known |= {i.name.lower() for ta in tree.find_all(exp.TableAlias) for i in ta.args.get("columns") or []}
        for col in quoted:
            if col.this.name.lower() not in known:
                col.replace(exp.Literal.string(col.this.name))

    # ---- 6. qualify ------------------------------------------------------------------------------

    def _qualify(self, tree: exp.Expression) -> exp.Expression:
        schema = _role_schema(self.catalog, self.policy, self.dialect)
        try:
            return qualify(tree, schema=schema, dialect=self.dialect, validate_qualify_columns=True,
                           quote_identifiers=False, identify=False, expand_alias_refs=True)
        except Exception as exc:  # noqa: BLE001 - OptimizeError and anything else: fail closed
            hidden = self._hidden_names()
            for col in tree.find_all(exp.Column):
                if col.name.lower() in hidden:
                    raise self.reject("column_not_allowed", what=col.name, role=self.policy.name) from None
            msg = str(exc).split(".")[0][:120]
            raise self.reject("unknown_column", what=msg) from None

    def _hidden_names(self) -> set[str]:
        return {c.name.lower() for t in self.catalog.exposed_tables.values() for c in t.columns.values()
                if self.policy.action(c.pii) == "hide"}


def _name_unaliased_outputs(tree: exp.Expression, dialect: str) -> None:
    """Give unaliased computed outputs of the top-level query the name people would read
    (``COUNT(*)``, ``SUM(t.fare_amount)``) instead of qualify()'s ``_col_1``: the UI shows it."""
    for branch in _branches(tree)[:1]:
        for proj in list(branch.expressions):
            if isinstance(proj, (exp.Alias, exp.Column, exp.Star)) or proj.find(exp.Star) and not isinstance(
                    proj, exp.Count):
                continue
            name = proj.sql(dialect=dialect)
            if len(name) <= 80 and '"' not in name:
                proj.replace(exp.alias_(proj.copy(), exp.to_identifier(name, quoted=True)))
