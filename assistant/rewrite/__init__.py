"""The SQL path's deterministic rewrites, as a registry of passes over ONE parse (sqlglot's optimizer
style): `RULES` in the order they run, each a function `(tree, Context) -> tree | None` in a module of its
own named by what it does. A rule returns None when it does not apply; `rewrite` runs each on a copy,
keeps what a rule returns, and records its name in the trace, so an answer can say which rules changed
its query, in order.

The order: first the join conditions the model left to the schema (`complete_joins`, which raises
`JoinUnclear` when the keys allow two readings); then those that restore what the question asked (a
grouping, a grouping through a reference, a count's bound, the top group, a count left out), those
that correct what nobody asked for (a person grouped by key and not by name, a total no unused join
multiplies, no column the WHERE fixes that the question did not ask for); then those that change no
value the query reads (the grouping columns shown, and first, a misplaced reference value re-pointed,
a value read from the one table of the query whose column holds it, an entity list read through joins
made DISTINCT, a difference of SQLite timestamps in seconds, day comparisons as ranges on the column).
No rule reads the question: what its words ask for is `Context.asked`, read once before the model.
"""
from __future__ import annotations

from collections.abc import Callable, Collection

import sqlglot
from sqlglot import exp

from assistant.rewrite.complete_joins import JoinUnclear, complete_joins
from assistant.rewrite.context import Context
from assistant.rewrite.count_threshold import count_threshold
from assistant.rewrite.day_ranges import day_ranges
from assistant.rewrite.distinct_entity_list import distinct_entity_list
from assistant.rewrite.fanned_out_totals import fanned_out_totals
from assistant.rewrite.grouping_columns_first import grouping_columns_first
from assistant.rewrite.grouping_columns_shown import grouping_columns_shown
from assistant.rewrite.move_values_to_their_table import move_values_to_their_table
from assistant.rewrite.people_grouped_by_key import people_grouped_by_key
from assistant.rewrite.regroup_through_reference import regroup_through_reference
from assistant.rewrite.repoint_values import repoint_values
from assistant.rewrite.requested_count import requested_count
from assistant.rewrite.requested_grouping import requested_grouping
from assistant.rewrite.timestamp_differences import timestamp_differences
from assistant.rewrite.top_of_groups import top_of_groups
from assistant.rewrite.unasked_constant_columns import unasked_constant_columns

Rule = Callable[[exp.Expression, Context], exp.Expression | None]

RULES: tuple[Rule, ...] = (
    complete_joins,
    requested_grouping,
    regroup_through_reference,
    count_threshold,
    top_of_groups,
    requested_count,
    people_grouped_by_key,
    fanned_out_totals,
    unasked_constant_columns,
    grouping_columns_shown,
    grouping_columns_first,
    repoint_values,
    move_values_to_their_table,
    distinct_entity_list,
    timestamp_differences,
    day_ranges,
)
RULE_NAMES: tuple[str, ...] = tuple(r.__name__ for r in RULES)


def parse(sql: str, dialect: str) -> exp.Expression | None:
    """The model's SQL parsed once, or None when it does not parse (the guard then says why)."""
    try:
        return sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:          # ParseError, or TokenError for an unterminated string
        return None


def rewrite(tree: exp.Expression, ctx: Context, *, skip: Collection[str] = ()) -> tuple[exp.Expression, tuple[str, ...]]:
    """`tree` through every rule in order (but those named in `skip`): the result and the trace, the
    names of the rules that changed it. `tree` itself is left as it was. Raises `JoinUnclear`."""
    trace = []
    for rule in RULES:
        if rule.__name__ in skip:
            continue
        changed = rule(tree.copy(), ctx)
        if changed is not None:
            tree = changed
            trace.append(rule.__name__)
    return tree, tuple(trace)


def apply(rule: Rule, sql: str, ctx: Context) -> str | None:
    """One rule on one SQL string: the rewritten SQL, or None when the rule does not apply or the SQL
    does not parse. For tests and benchmarks that look at one rule at a time."""
    tree = parse(sql, ctx.dialect)
    out = rule(tree, ctx) if tree is not None else None
    return out.sql(dialect=ctx.dialect) if out is not None else None


__all__ = ["RULES", "RULE_NAMES", "Context", "JoinUnclear", "Rule", "apply", "parse", "rewrite"]
