"""The guard's entry point, check_sql, and the order its checks run in (_Check.run); each check lives in
the module named for it."""
from __future__ import annotations

from sqlglot.optimizer.scope import traverse_scope

from db.catalog import Catalog
from sql_tools.functions import DIALECTS
from sql_tools.guard.column_policy import ColumnPolicyChecks
from sql_tools.guard.node_allowlist import NodeAllowlistChecks
from sql_tools.guard.output_rewrite import OutputRewrites
from sql_tools.guard.qualification import QualificationSteps, _name_unaliased_outputs
from sql_tools.guard.result_size import ResultSizeChecks
from sql_tools.guard.results import GuardRejection, GuardResult
from sql_tools.guard.tables_and_ctes import TableChecks
from sql_tools.guard.text_and_parse import TextAndParseChecks


def check_sql(sql: str, *, catalog: Catalog, dialect: str, role: str) -> GuardResult:
    """Check one statement for `role` on `dialect`; return what to run or raise GuardRejection."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}: use one of {', '.join(DIALECTS)}")
    policy = catalog.role(role)  # CatalogError for an unknown role: a usage error, not a rejection
    if not isinstance(sql, str):
        raise GuardRejection("empty")
    try:
        return _Check(sql, catalog, dialect, policy).run()
    except GuardRejection:
        raise
    except RecursionError:
        raise GuardRejection("too_complex", what="nesting too deep", sql=sql) from None
    except Exception:  # noqa: BLE001 - fail closed: a guard bug must never let a query through
        raise GuardRejection("guard_error", sql=sql) from None


class _Check(TextAndParseChecks, NodeAllowlistChecks, TableChecks, QualificationSteps,
             ColumnPolicyChecks, ResultSizeChecks, OutputRewrites):
    """One guard run; methods raise GuardRejection on the first violated rule."""

    # ---- pipeline ------------------------------------------------------------------------------

    def run(self) -> GuardResult:
        self._check_text()
        tree = self._parse()
        self._check_nodes(tree)
        self._check_functions(tree)
        self._check_tables(tree)
        self._check_recursion(tree)
        self._neutralise_exists_projections(tree)
        if self.dialect == "sqlite":
            self._double_quoted_strings(tree)
        _name_unaliased_outputs(tree, self.dialect)
        q = self._qualify(tree)
        scopes = traverse_scope(q)
        root_scope = scopes[-1]
        for s in scopes:
            self.scope_of[id(s.expression)] = s
        self._check_qualified_nodes(q)
        self._check_stars(q)
        self._check_columns(q, root_scope)
        self._check_limits(q)
        self._check_cartesian(scopes)
        self._check_packing(q)
        outputs, lineage = self._outputs(q, root_scope)
        self._check_bulk(q, root_scope, lineage)
        subject_index = self._append_subject_key(q, root_scope, lineage, outputs)
        limit = self._inject_limit(q)
        sql_out = q.sql(dialect=self.dialect)
        self._check_roundtrip(sql_out, q)
        return GuardResult(sql_in=self.sql, sql_out=sql_out, dialect=self.dialect, role=self.policy.name,
                           tables=tuple(sorted(self.tables)), columns=tuple(outputs),
                           subject_key_index=subject_index, limit=limit)
