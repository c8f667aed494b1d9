"""The HAVING of a bounded per-group count: 'reservas con 3 boletos o más' answered with every booking's
count gets `HAVING COUNT(*) >= 3`."""
from __future__ import annotations

from sqlglot import exp

from assistant.joinfix import query_tables
from assistant.question.lang import STOPWORDS
from assistant.rewrite.common import table_named
from assistant.rewrite.context import Context

_COMPARE = {">=": exp.GTE, ">": exp.GT, "<": exp.LT, "<=": exp.LTE}


def count_threshold(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """None when nothing changes.

    Only when the query groups, has no HAVING, outputs exactly one COUNT, the number appears nowhere
    in it, and the words after the number name a table the query reads (`ctx.table_names`: word ->
    table, as the linker knows them): then that table's rows are what the COUNT counts."""
    if not isinstance(tree, exp.Select) or not tree.args.get("group") or tree.args.get("having"):
        return None
    counts = [c for e in tree.expressions for c in e.find_all(exp.Count)]
    if len(counts) != 1:
        return None
    numbers = {lit.this for lit in tree.find_all(exp.Literal) if not lit.is_string}
    tables = set(query_tables(tree).values())
    found = set()
    for t in ctx.asked.thresholds:
        noun = next((table_named(w, ctx.table_names) for w in reversed(t.words) if w not in STOPWORDS), None)
        if noun in tables and t.number not in numbers:
            found.add((t.op, t.number))
    if len(found) != 1:
        return None
    op, n = found.pop()
    tree.set("having", exp.Having(this=_COMPARE[op](this=counts[0].copy(), expression=exp.Literal.number(n))))
    return tree
