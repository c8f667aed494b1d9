"""Small readings of a query's tree that several rules share."""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from sqlglot import exp

from assistant.joinfix import query_tables
from assistant.question.asked import stem
from assistant.question.lang import STOPWORDS, fold


def column_words(name: str, descriptions: Collection[str], table_words: Collection[str] = ()) -> frozenset[str]:
    """The words that name a column: those of its name and of the first clause of each description
    ('destination' -> destination, destino, iata, code), folded, without plural s. Words that name a
    table are left out unless the column's name has them: 'Estado del vuelo' is a status, and
    'cupones por vuelo' asks for no flight status."""
    own = {stem(w) for w in name.lower().split("_")}
    words = set(own)
    for text in descriptions:
        head = re.split(r"[(,;:]", fold(text), maxsplit=1)[0]
        words.update(stem(w) for w in re.findall(r"[^\W\d_]+", head) if w not in STOPWORDS and len(w) > 1)
    tables = {stem(w) for phrase in table_words for w in fold(phrase).split()}
    return frozenset(w for w in words if w in own or w not in tables)


def same_column(a: exp.Expression, b: exp.Expression) -> bool:
    """`f1.origin` and `origin` are one column in a query where it resolves (the join repair qualifies
    the columns it moves to a bridged table and leaves the others as the model wrote them)."""
    return (isinstance(a, exp.Column) and isinstance(b, exp.Column) and a.name.lower() == b.name.lower()
            and (not a.table or not b.table or a.table.lower() == b.table.lower()))


def fixed_columns(tree: exp.Select, top_level: bool = False) -> set[tuple[str, str]]:
    """(table, column) of the columns the WHERE clause sets to one value (`col = 'x'`): anywhere in it,
    or with `top_level` only in its AND-ed conditions (not `a = 'x' OR a = 'y'`)."""
    where = tree.args.get("where")
    tables = query_tables(tree)
    out = set()
    if where is None:
        return out
    for eq in (conjuncts(where.this) if top_level else where.find_all(exp.EQ)):
        if not isinstance(eq, exp.EQ):
            continue
        for side, other in ((eq.this, eq.expression), (eq.expression, eq.this)):
            if isinstance(side, exp.Column) and isinstance(other, exp.Literal):
                table = tables.get(side.table) if side.table else (next(iter(tables.values())) if len(tables) == 1 else None)
                if table:
                    out.add((table, side.name.lower()))
    return out


def conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    """The AND-ed parts of a condition (`a AND b AND c` -> [a, b, c]); [] for none."""
    if condition is None:
        return []
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def table_named(word: str, table_words: Mapping[str, str]) -> str | None:
    """The table a word names ('maletas' -> baggage), its plural stripped if need be."""
    return table_words.get(word) or table_words.get(word[:-1]) or table_words.get(word[:-2])


def bare_columns(e: exp.Expression) -> bool:
    """True when `e` reads a column outside any aggregate (not valid without GROUP BY)."""
    return any(not c.find_ancestor(exp.AggFunc) for c in e.find_all(exp.Column))


def column_named(phrase: list[str] | tuple[str, ...], tables: Mapping[str, str],
                 words: Mapping[str, Mapping[str, Collection[str]]]) -> tuple[str, str] | None:
    """(alias, column) of the one candidate the phrase names best, or None."""
    phrase = list(phrase)
    known = {w for cols in words.values() for names in cols.values() for w in names}
    while phrase and phrase[0] not in known:           # 'por aeropuerto de destino': the table word goes
        phrase = phrase[1:]
    if not phrase:
        return None
    scored = []
    for alias, table in tables.items():
        for column, names in words.get(table, {}).items():
            if phrase[0] in names:
                extra = sum(stem(t) not in phrase for t in column.lower().split("_"))
                scored.append((sum(w in names for w in phrase), -extra, alias, column))
    if not scored:
        return None
    best = max(s[:2] for s in scored)                  # most words named, then the plainest column:
    top = [(a, c) for s, e, a, c in scored if (s, e) == best]   # 'país' is country, not country_code
    return top[0] if len(top) == 1 else None


def positional_order(tree: exp.Select) -> bool:
    """True when the query orders by output position (`ORDER BY 2`): moving outputs would re-point it."""
    order = tree.args.get("order")
    return order is not None and any(isinstance(o.this, exp.Literal) for o in order.expressions)
