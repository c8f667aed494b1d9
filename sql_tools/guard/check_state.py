"""The state of one guard run, and what every check uses: the rejection it raises, identifiers as the
engine reads them, and the scope a node sits in and the source an alias names there."""
from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from db.catalog import Catalog, RolePolicy
from sql_tools.guard.results import GuardRejection


class CheckBase:
    """One guard run: the statement, the catalog, the dialect and the role's policy, the tables it reads
    (filled by the table check) and the scope of every query node (filled after qualify()). The checks
    are mixins over this class; _Check in sql_tools.guard.check runs them in order."""

    def __init__(self, sql: str, catalog: Catalog, dialect: str, policy: RolePolicy):
        self.sql = sql
        self.catalog = catalog
        self.dialect = dialect
        self.policy = policy
        self.tables: set[str] = set()
        self.scope_of: dict[int, Scope] = {}

    def reject(self, code: str, **params: object) -> GuardRejection:
        return GuardRejection(code, sql=self.sql, **params)

    def _norm(self, ident: exp.Expression | None) -> str:
        """Identifier as the engine sees it: PostgreSQL folds unquoted names to lower case and keeps
        quoted ones verbatim ("Passengers" is another table); SQLite is case-insensitive throughout."""
        if ident is None:
            return ""
        if isinstance(ident, exp.Identifier):
            name = ident.this
            if self.dialect == "postgres" and ident.quoted:
                return name
            return name.lower()
        return ident.name.lower() if self.dialect == "sqlite" else ident.name

    def _scope_for(self, node: exp.Expression) -> Scope | None:
        """Innermost scope (SELECT or set operation) that contains `node`."""
        cur: exp.Expression | None = node
        while cur is not None:
            s = self.scope_of.get(id(cur))
            if s is not None:
                return s
            cur = cur.parent
        return None

    @staticmethod
    def _resolve(scope: Scope | None, alias: str) -> tuple[Scope, object] | None:
        """Source named `alias` in `scope` or, for correlated subqueries, in an enclosing scope."""
        while scope is not None:
            src = scope.sources.get(alias)
            if src is not None:
                return scope, src
            scope = scope.parent
        return None
