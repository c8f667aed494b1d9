"""Deterministic rewrites of a model query, instead of spending a second model call.

Two only reshape, changing no value and no row: grouping columns first (`SELECT SUM(fare), currency
... GROUP BY currency` becomes `SELECT currency, SUM(fare) ...`: staff read a per-currency table by its
currency column, and a small model often writes the aggregate first), and a list of one table's
entities read through fanning-out joins made DISTINCT.

Five restore what the question asked and the model left out, each only when the question's words
name it unambiguously: a grand total asked 'por canal' grouped by that column
(`requested_grouping`), a group by a reference replaced by the referenced column the question names
(`regroup_through_reference`), the HAVING of a bounded per-group count (`count_threshold`), the
top group(s) of a 'which X has the most Y' question (`top_of_groups`), and the count asked beside
another aggregate ('cuántas hay y peso promedio', `requested_count`).

Three correct what nobody asks for: a person grouped by name is grouped by key too (namesakes,
`people_grouped_by_key`), a sum multiplied by an unused one-to-many join loses the join
(`fanned_out_totals`), and a column the WHERE fixes that the question never names leaves the output
(`unasked_constant_columns`).
"""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping

import sqlglot
from sqlglot import exp

from assistant.joinfix import JoinGraph, query_tables, table_instances
from assistant.lang import STOPWORDS, fold


def grouping_columns_first(sql: str, dialect: str) -> str | None:
    """The query with its grouping columns moved to the front, or None when nothing moves."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:          # ParseError, or TokenError for an unterminated string
        return None
    if not isinstance(tree, exp.Select) or not tree.args.get("group"):
        return None
    order = tree.args.get("order")
    if order is not None and any(isinstance(o.this, exp.Literal) for o in order.expressions):
        return None                                   # ORDER BY 2 would then sort by another column
    group = tree.args["group"].expressions
    keys = {g.sql(dialect=dialect).lower() for g in group}
    outputs = tree.expressions
    if any(isinstance(e, exp.Star) for e in outputs):
        return None

    def is_key(e: exp.Expression) -> bool:
        inner = e.this if isinstance(e, exp.Alias) else e
        return (inner.sql(dialect=dialect).lower() in keys or bool(e.alias and e.alias.lower() in keys)
                or any(_same_column(inner, g) for g in group))

    first = [e for e in outputs if is_key(e)]
    rest = [e for e in outputs if not is_key(e)]
    if not first or not rest or outputs[:len(first)] == first:
        return None
    tree.set("expressions", first + rest)
    return tree.sql(dialect=dialect)


def grouping_columns_shown(sql: str, dialect: str) -> str | None:
    """A grouped query whose GROUP BY columns are not all in its SELECT, with the missing ones added in
    front; None when every one is shown (or the query is not a plain grouped SELECT).

    `SELECT COUNT(*) FROM baggage ... GROUP BY f.destination` returns three bare counts that nobody can
    read: which airport is which? Adding the grouping column changes no group and no value, only what
    the table shows. Not for DISTINCT (another column would change which rows are distinct), a star,
    or positional GROUP BY / ORDER BY (their numbers would point at other columns)."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    if not isinstance(tree, exp.Select) or not tree.args.get("group") or tree.args.get("distinct"):
        return None
    group = tree.args["group"].expressions
    outputs = tree.expressions
    order = tree.args.get("order")
    if any(isinstance(e, exp.Star) or isinstance(e, exp.Column) and isinstance(e.this, exp.Star) for e in outputs) \
            or any(isinstance(g, exp.Literal) for g in group) \
            or (order is not None and any(isinstance(o.this, exp.Literal) for o in order.expressions)):
        return None
    aliases = {e.alias.lower() for e in outputs if e.alias}
    shown = {(e.this if isinstance(e, exp.Alias) else e).sql(dialect=dialect).lower() for e in outputs}

    def is_shown(g: exp.Expression) -> bool:
        if g.sql(dialect=dialect).lower() in shown:
            return True
        if isinstance(g, exp.Column) and not g.table and g.name.lower() in aliases:
            return True
        return any(_same_column(g, e.this if isinstance(e, exp.Alias) else e) for e in outputs)

    missing = [g.copy() for g in group if not is_shown(g)]
    if not missing:
        return None
    tree.set("expressions", missing + list(outputs))
    return tree.sql(dialect=dialect)


def _same_column(a: exp.Expression, b: exp.Expression) -> bool:
    """`f1.origin` and `origin` are one column in a query where it resolves (the join repair qualifies
    the columns it moves to a bridged table and leaves the others as the model wrote them)."""
    return (isinstance(a, exp.Column) and isinstance(b, exp.Column) and a.name.lower() == b.name.lower()
            and (not a.table or not b.table or a.table.lower() == b.table.lower()))


def distinct_entity_list(sql: str, dialect: str, keys: Mapping[str, Collection[str]]) -> str | None:
    """A plain list of one table's rows, read through joins, made DISTINCT: `SELECT b.record_locator
    FROM bookings b JOIN tickets t ... JOIN flights f ... WHERE f.destination = 'NRT'` lists a booking
    once per matching coupon. The prompt asks for DISTINCT; a small model often forgets it.

    Only when every output column comes from the same table, one of them is that table's key (so a
    repeated row is the same entity, never two people who share a name), the query joins, and it has
    no aggregate, GROUP BY, DISTINCT, ORDER BY or set operation (where duplicates may mean something
    or DISTINCT would change the order's meaning). `keys` maps a table to its key columns (primary or
    unique)."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    if not isinstance(tree, exp.Select) or not tree.args.get("joins"):
        return None
    if any(tree.args.get(k) for k in ("distinct", "group", "order", "having")):
        return None
    if any(e.find(exp.AggFunc) for e in tree.expressions):
        return None
    tables = query_tables(tree)
    owners, names = set(), set()
    for e in tree.expressions:
        inner = e.this if isinstance(e, exp.Alias) else e
        if not isinstance(inner, exp.Column) or not inner.table or inner.table not in tables:
            return None
        owners.add(inner.table)
        names.add(inner.name.lower())
    if len(owners) != 1:
        return None
    table = tables[next(iter(owners))]
    if not names & {k.lower() for k in keys.get(table, ())}:
        return None
    tree.set("distinct", exp.Distinct())
    return tree.sql(dialect=dialect)


# 'por canal', 'by cabin', 'per currency', 'para cada moneda', 'for each status': the question asks for
# one row per value of a column.
_GROUP_MARKER = re.compile(r"(?<![\w])(?:(\w+)\s+)?(?:por|by|per|segun|para cada|for each|cada)\s+"
                           r"(?:(?:el|la|los|las|the|each|cada|su|sus|their|its)\s+)?"
                           r"((?:[^\W\d_]+)(?:\s+[^\W\d_]+){0,3})")
# Words before 'by'/'por' that make it no grouping: ordering ('sorted by fare'). A participle's 'by'
# may name who did it ('operated by American Airlines') or a grouping ('boletos emitidos por moneda'):
# the words after it decide (a value is no column; a column fixed by the WHERE is no grouping).
_NOT_GROUPING = re.compile(r"^(?:order|ordered|sort|sorted|rank|ranked|orden\w*|clasific\w*)$")
_JOINERS = {"y", "e", "and"}
_PHRASE_END = {"or", "o", "con", "with", "que", "that", "en", "in", "desde", "from", "para", "for", "sin", "without"}


def column_words(name: str, descriptions: Collection[str], table_words: Collection[str] = ()) -> frozenset[str]:
    """The words that name a column: those of its name and of the first clause of each description
    ('destination' -> destination, destino, iata, code), folded, without plural s. Words that name a
    table are left out unless the column's name has them: 'Estado del vuelo' is a status, and
    'cupones por vuelo' asks for no flight status."""
    own = {_stem(w) for w in name.lower().split("_")}
    words = set(own)
    for text in descriptions:
        head = re.split(r"[(,;:]", fold(text), maxsplit=1)[0]
        words.update(_stem(w) for w in re.findall(r"[^\W\d_]+", head) if w not in STOPWORDS and len(w) > 1)
    tables = {_stem(w) for phrase in table_words for w in fold(phrase).split()}
    return frozenset(w for w in words if w in own or w not in tables)


def _stem(word: str) -> str:
    return word[:-2] if word.endswith("es") and len(word) > 5 else word[:-1] if word.endswith("s") and len(word) > 3 else word


def requested_grouping(sql: str, dialect: str, question: str,
                       words: Mapping[str, Mapping[str, Collection[str]]]) -> str | None:
    """A total the question asked per value of a column, written without GROUP BY by the model
    (`SELECT COUNT(*) FROM special_service_requests` for '¿cuántas solicitudes hay por código?'),
    grouped by that column, which becomes the first output. None when nothing changes.

    Only when every output is an aggregate and there is no GROUP BY or DISTINCT, and the words after
    'por'/'by'/'per' name exactly one candidate column of the tables the query already reads: `words`
    maps table -> column -> the words naming it, for the columns one may group by (categorical,
    non-personal: the caller decides). The words after the marker that follow the first must narrow
    the choice, never contradict it: 'por aeropuerto de destino' is flights.destination, not origin."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    if not isinstance(tree, exp.Select) or any(tree.args.get(k) for k in ("group", "distinct", "having")):
        return None
    outputs = tree.expressions
    if not outputs or any(isinstance(e, exp.Star) or e.find(exp.Window) or e.find(exp.Subquery)
                          or not e.find(exp.AggFunc) or _bare_columns(e) for e in outputs):
        return None
    tables = query_tables(tree)
    fixed = _fixed_columns(tree)
    chosen: list[tuple[str, str]] = []
    for parts in _asked_groupings(question):
        for phrase in parts:
            found = _column_named(phrase, tables, words)
            if found is None or (tables[found[0]], found[1].lower()) in fixed:
                break                                    # 'routes by American Airlines' filters, not groups
            if found not in chosen:
                chosen.append(found)
    if not chosen:
        return None
    columns = [exp.column(c, table=a) for a, c in chosen]
    tree.set("expressions", [*columns, *outputs])
    tree.set("group", exp.Group(expressions=[c.copy() for c in columns]))
    return tree.sql(dialect=dialect)


def _asked_groupings(question: str) -> list[list[list[str]]]:
    """For each 'por ...' / 'by ...' of the question, its phrases (folded, stemmed content words): 'por
    canal y moneda' -> [[canal], [moneda]]."""
    out = []
    for m in _GROUP_MARKER.finditer(fold(question)):
        if m.group(1) and _NOT_GROUPING.match(m.group(1)):
            continue
        parts: list[list[str]] = [[]]
        for w in m.group(2).split():
            if w in _JOINERS:
                parts.append([])
            elif w in _PHRASE_END:
                break
            elif w not in STOPWORDS:
                parts[-1].append(_stem(w))
        out.append(parts)
    return out


def _fixed_columns(tree: exp.Select, top_level: bool = False) -> set[tuple[str, str]]:
    """(table, column) of the columns the WHERE clause sets to one value (`col = 'x'`): anywhere in it,
    or with `top_level` only in its AND-ed conditions (not `a = 'x' OR a = 'y'`)."""
    where = tree.args.get("where")
    tables = query_tables(tree)
    out = set()
    if where is None:
        return out
    for eq in (_conjuncts(where.this) if top_level else where.find_all(exp.EQ)):
        if not isinstance(eq, exp.EQ):
            continue
        for side, other in ((eq.this, eq.expression), (eq.expression, eq.this)):
            if isinstance(side, exp.Column) and isinstance(other, exp.Literal):
                table = tables.get(side.table) if side.table else (next(iter(tables.values())) if len(tables) == 1 else None)
                if table:
                    out.add((table, side.name.lower()))
    return out


def _conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    """The AND-ed parts of a condition (`a AND b AND c` -> [a, b, c]); [] for none."""
    if condition is None:
        return []
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def _table_named(word: str, table_words: Mapping[str, str]) -> str | None:
    """The table a word names ('maletas' -> baggage), its plural stripped if need be."""
    return table_words.get(word) or table_words.get(word[:-1]) or table_words.get(word[:-2])


def _bare_columns(e: exp.Expression) -> bool:
    """True when `e` reads a column outside any aggregate (not valid without GROUP BY)."""
    return any(not c.find_ancestor(exp.AggFunc) for c in e.find_all(exp.Column))


def _column_named(phrase: list[str], tables: Mapping[str, str],
                  words: Mapping[str, Mapping[str, Collection[str]]]) -> tuple[str, str] | None:
    """(alias, column) of the one candidate the phrase names best, or None."""
    known = {w for cols in words.values() for names in cols.values() for w in names}
    while phrase and phrase[0] not in known:           # 'por aeropuerto de destino': the table word goes
        phrase = phrase[1:]
    if not phrase:
        return None
    scored = []
    for alias, table in tables.items():
        for column, names in words.get(table, {}).items():
            if phrase[0] in names:
                extra = sum(_stem(t) not in phrase for t in column.lower().split("_"))
                scored.append((sum(w in names for w in phrase), -extra, alias, column))
    if not scored:
        return None
    best = max(s[:2] for s in scored)                  # most words named, then the plainest column:
    top = [(a, c) for s, e, a, c in scored if (s, e) == best]   # 'país' is country, not country_code
    return top[0] if len(top) == 1 else None


def regroup_through_reference(sql: str, dialect: str, question: str,
                              words: Mapping[str, Mapping[str, Collection[str]]], graph: JoinGraph) -> str | None:
    """Groups the question names through a grouped reference: 'por país de destino' when the model
    grouped by `f.destination` (an airport code) becomes a join of the airports and a group by their
    country. None when nothing changes.

    Only when a plain grouped column is a foreign key to a table the query does not read, the
    question's grouping phrase names that column ('destino') and its other words name exactly one
    candidate column of the referenced table ('país' -> airports.country); `words` as for
    `requested_grouping`."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    group = tree.args.get("group") if isinstance(tree, exp.Select) else None
    if group is None:
        return None
    tables = query_tables(tree)
    asked = [p for parts in _asked_groupings(question) for p in parts]
    for key in group.expressions:
        if not isinstance(key, exp.Column) or key.table not in tables:
            continue
        table = tables[key.table]
        ref = graph.reference(table, key.name)
        own = words.get(table, {}).get(key.name.lower())
        if ref is None or own is None or ref[0] in tables.values():
            continue
        for phrase in asked:
            rest = [w for w in phrase if w not in own]
            if len(rest) == len(phrase) or not rest:
                continue                                  # the phrase must name the key and more
            alias = next(f"{ref[0][0]}{n}" for n in range(1, 99) if f"{ref[0][0]}{n}" not in tables)
            found = _column_named(rest, {alias: ref[0]}, words)
            if found is None or found[1].lower() == ref[1].lower():
                continue
            old = key.copy()
            new = exp.column(found[1], table=alias)
            tree.append("joins", exp.Join(this=exp.to_table(ref[0]).as_(alias),
                                          on=exp.EQ(this=exp.column(ref[1], table=alias), expression=old.copy())))
            for col in [c for c in tree.find_all(exp.Column) if c == old and c.find_ancestor(exp.Join) is None]:
                parent = col.parent
                if isinstance(parent, exp.Alias) and parent.alias.lower() == old.name.lower():
                    parent.replace(new.copy())
                else:
                    col.replace(new.copy())
            return tree.sql(dialect=dialect)
    return None


# 'con 3 boletos o más', 'with at least 2 bags', 'más de 100 pasajeros', 'fewer than 5 coupons'.
_N = r"(\d+)\s+((?:[^\W\d_]+\s+){0,1}[^\W\d_]+)"
_THRESHOLDS = [
    (re.compile(rf"(?<![\w])(?:al menos|at least|como minimo|minimo|por lo menos)\s+{_N}"), ">="),
    (re.compile(rf"(?<![\w])(?:mas de|more than|over)\s+{_N}"), ">"),
    (re.compile(rf"(?<![\w])(?:menos de|fewer than|less than)\s+{_N}"), "<"),
    (re.compile(rf"(?<![\w])(?:como maximo|a lo sumo|at most)\s+{_N}"), "<="),
    (re.compile(rf"(?<![\w\.]){_N}\s+(?:o mas|or more)(?![\w])"), ">="),
    (re.compile(r"(?<![\w\.])(\d+)\s+(?:o mas|or more)\s+((?:[^\W\d_]+\s+){0,1}[^\W\d_]+)"), ">="),
]
_COMPARE = {">=": exp.GTE, ">": exp.GT, "<": exp.LT, "<=": exp.LTE}


def count_threshold(sql: str, dialect: str, question: str, table_words: Mapping[str, str]) -> str | None:
    """A per-group count the question bounds ('reservas con 3 boletos o más') that the model left
    unbounded: `HAVING COUNT(*) >= 3` added. None when nothing changes.

    Only when the query groups, has no HAVING, outputs exactly one COUNT, the number appears nowhere
    in it, and the words after the number name a table the query reads (`table_words`: word -> table,
    as the linker knows them): then that table's rows are what the COUNT counts."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    if not isinstance(tree, exp.Select) or not tree.args.get("group") or tree.args.get("having"):
        return None
    counts = [c for e in tree.expressions for c in e.find_all(exp.Count)]
    if len(counts) != 1:
        return None
    numbers = {lit.this for lit in tree.find_all(exp.Literal) if not lit.is_string}
    tables = set(query_tables(tree).values())
    folded = fold(question)
    found = set()
    for pattern, op in _THRESHOLDS:
        for m in pattern.finditer(folded):
            words = m.group(2).split()
            noun = next((_table_named(w, table_words)
                         for w in reversed(words) if w not in STOPWORDS), None)
            if noun in tables and m.group(1) not in numbers:
                found.add((op, m.group(1)))
    if len(found) != 1:
        return None
    op, n = found.pop()
    tree.set("having", exp.Having(this=_COMPARE[op](this=counts[0].copy(), expression=exp.Literal.number(n))))
    return tree.sql(dialect=dialect)


# 'qué vuelo tiene más maletas', 'el aeropuerto con más salidas', 'which flight has the most bags',
# 'the 5 busiest routes'. Not 'más de 3' (a bound) and not an ordering ('de más a menos').
_MOST = re.compile(r"(?<![\w])(?:(?:tiene|tienen|tuvo|tuvieron|con|hay|registra\w*)\s+(?:la\s+)?"
                   r"(?:mayor\s+(?:cantidad|numero)\s+de|mas)\s+(?!de(?![\w])|que(?![\w]))[^\W\d_]"
                   r"|the\s+most(?![\w])|busiest|the\s+(?:largest|highest|greatest)\s+number)")
_ORDER_ONLY = re.compile(r"de\s+mas\s+a\s+menos|de\s+menos\s+a\s+mas|most\s+to\s+least|least\s+to\s+most"
                         r"|descend|ascend|ordenad|ordered|sorted"
                         r"|mas\s+(?:[^\W\d_]+\s+){1,2}que(?![\w])|more\s+(?:[^\W\d_]+\s+){1,2}than(?![\w])")
_TOP_N = re.compile(r"(?<![\w])(?:top|los|las|the|primer[oa]s|first)\s+(\d+)(?![\w])"
                    r"|(?<![\w])(\d+)\s+(?:[^\W\d_]+\s+)?(?:busiest|mas|most)(?![\w])")


def top_of_groups(sql: str, dialect: str, question: str) -> str | None:
    """A question for the group with the most of something ('¿qué vuelo tiene más maletas?') that the
    model answered with every group's count: ordered by that count, descending, and cut to the one (or
    the N the question names, 'los 3 aeropuertos con más salidas'). None when nothing changes.

    Only when the query groups, has exactly one aggregate output and no ORDER BY or LIMIT, and the
    question says 'the most' without asking for an ordering of all groups ('de más a menos') or
    comparing two quantities ('más maletas que asientos')."""
    folded = fold(question)
    if not _MOST.search(folded) or _ORDER_ONLY.search(folded):
        return None
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    if not isinstance(tree, exp.Select) or not tree.args.get("group") \
            or any(tree.args.get(k) for k in ("order", "limit", "having")):
        return None
    aggregates = [e for e in tree.expressions if e.find(exp.AggFunc)]
    if len(aggregates) != 1:
        return None
    numbers = [int(a or b) for a, b in _TOP_N.findall(folded)]
    if len(set(numbers)) > 1:
        return None
    inner = aggregates[0].this if isinstance(aggregates[0], exp.Alias) else aggregates[0]
    tree.set("order", exp.Order(expressions=[exp.Ordered(this=inner.copy(), desc=True)]))
    tree.set("limit", exp.Limit(expression=exp.Literal.number(numbers[0] if numbers else 1)))
    return tree.sql(dialect=dialect)


# 'cuántas maletas', 'cuantos son', 'cuantas hay', 'how many bags', 'how many are there', 'number of
# tickets'. A count of a measure ('cuántos kilos', 'how many minutes') is a sum: its noun names no table.
# 'numero de vuelo' is a flight's number: after 'numero de', 'number of', 'cantidad de' only a plural counts.
_COUNT_ASKED = re.compile(r"(?<![\w])(?:(?:cuant[oa]s|how\s+many)(?:\s+(?:de\s+)?([^\W\d_]+))?"
                          r"|(?:number\s+of|numero\s+de|cantidad\s+de)\s+([^\W\d_]+s)(?![\w]))")
_NO_NOUN = {"son", "hay", "fueron", "eran", "habia", "hubo", "are", "were", "there", "y", "and", "en", "in"}
# Another aggregate the question asks for beside the count: 'y cuánto suman', 'and the average weight'.
_OTHER_AGGREGATE = re.compile(r"(?<![\w])(?:suma\w*|sum|total\w*|promedio|media|average|avg|mean|peso|kilos|kg"
                              r"|monto\w*|importe\w*|maxim\w*|minim\w*|max|min|combined)(?![\w])")
_DISTINCT_WORDS = re.compile(r"(?<![\w])(?:distint\w*|diferentes?|different|distinct|unique|unic[oa]s)(?![\w])")


def requested_count(sql: str, dialect: str, question: str, table_words: Mapping[str, str]) -> str | None:
    """A count the question asks for beside another aggregate ('cuántas hay y peso promedio', 'how
    many bags and their total weight') that the model left out: `COUNT(*)` added where the question
    puts it, before or after the other aggregates. None when nothing changes.

    Only when the question asks for exactly one count of rows (its noun names a table the query reads,
    or it has no noun: 'cuantos son', 'how many are there'), not of distinct things, and also for
    another aggregate; the query aggregates, has no COUNT and no conditional sum (a count written as
    `SUM(CASE ...)`), and every plain output is a grouping column. Then the query's rows are the groups
    the question counts, and `COUNT(*)` counts what it asked."""
    folded = fold(question)
    if _DISTINCT_WORDS.search(folded):
        return None
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    if not isinstance(tree, exp.Select) or tree.find(exp.Count) or any(
            s.find(exp.Case, exp.Literal) for s in tree.find_all(exp.Sum)):
        return None
    outputs = tree.expressions
    aggregates = [i for i, e in enumerate(outputs) if e.find(exp.AggFunc)]
    group = tree.args["group"].expressions if tree.args.get("group") else []
    if not aggregates or any(isinstance(e, exp.Star) or (i not in aggregates and not any(
            _same_column(e.this if isinstance(e, exp.Alias) else e, g) for g in group))
            for i, e in enumerate(outputs)):
        return None
    tables = set(query_tables(tree).values())
    counts = []
    for m in _COUNT_ASKED.finditer(folded):
        noun = m.group(1) or m.group(2)
        if noun is None or noun in _NO_NOUN or _table_named(noun, table_words) in tables:
            counts.append(m.start())
    others = [m.start() for m in _OTHER_AGGREGATE.finditer(folded)]
    if len(counts) != 1 or not others:
        return None
    at = aggregates[0] if counts[0] < min(others) else len(outputs)
    tree.set("expressions", [*outputs[:at], exp.Count(this=exp.Star()), *outputs[at:]])
    return tree.sql(dialect=dialect)


def people_grouped_by_key(sql: str, dialect: str, names: Mapping[str, Collection[str]],
                          keys: Mapping[str, str]) -> str | None:
    """A grouping by a person's names (`GROUP BY p.first_name, p.last_name`) also grouped by the
    person's key (`p.passenger_id`), the outputs unchanged. None when nothing changes.

    Names are not unique: the demo has namesakes, a real airline has thousands of José Hernández. A
    query grouped by names adds different people's tickets into one row ('who holds 7 or more
    tickets' finds three José Hernández with three tickets each). Only when at least two of the
    grouping columns are name columns of one table (`names`: the catalog's personal identifier
    columns per table) and that table's key (`keys`: its one-column primary key) is not grouped: a
    grouping by one name column ('pasajeros por apellido') counts a name, and is left alone."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    changed = False
    for select in list(tree.find_all(exp.Select)):
        group = select.args.get("group")
        if not group:
            continue
        tables = {a.lower(): t for a, t in query_tables(select).items()}
        only = next(iter(tables.values())) if len(set(tables.values())) == 1 else None
        grouped: dict[str, tuple[str, list[str]]] = {}   # qualifier (lower case) -> (as written, columns)
        for g in group.expressions:
            if isinstance(g, exp.Column):
                grouped.setdefault(g.table.lower(), (g.table, []))[1].append(g.name.lower())
        for qualifier, (written, columns) in grouped.items():
            table = tables.get(qualifier) if qualifier else only
            key = keys.get(table or "")
            person = {c.lower() for c in names.get(table or "", ())}
            if key and key.lower() not in columns and sum(c in person for c in columns) >= 2:
                group.set("expressions", [exp.column(key, table=written or None), *group.expressions])
                changed = True
    return tree.sql(dialect=dialect) if changed else None


def unasked_constant_columns(sql: str, dialect: str, question: str,
                             words: Mapping[str, Mapping[str, Collection[str]]]) -> str | None:
    """Output columns the WHERE clause fixes to one value and the question does not name, dropped
    (from the GROUP BY too). None when nothing changes.

    'vuelos de Cancún a Tijuana: salida programada y estatus' asks for two columns; a small model also
    returns `f.origin, f.destination`, which are 'CUN' and 'TIJ' on every row: the table staff read
    gets wider and says nothing new, and the columns are no longer the ones asked for. Only a bare
    column set by a top-level `col = literal` conjunct, whose words (`words`: table -> column -> the
    words naming it, as for groupings) appear nowhere in the question, and only while another output
    remains; a query ordered by output position is left alone."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    if not isinstance(tree, exp.Select) or not tree.args.get("where"):
        return None
    order = tree.args.get("order")
    if order is not None and any(isinstance(o.this, exp.Literal) for o in order.expressions):
        return None
    tables = query_tables(tree)
    only = next(iter(tables.values())) if len(set(tables.values())) == 1 else None
    fixed = _fixed_columns(tree, top_level=True)
    asked = {_stem(w) for w in re.findall(r"[^\W\d_]+", fold(question))}
    keep, dropped = [], []
    for e in tree.expressions:
        col = e.this if isinstance(e, exp.Alias) else e
        table = (tables.get(col.table) if col.table else only) if isinstance(col, exp.Column) else None
        names = words.get(table or "", {}).get(col.name) if table else None
        if table and (table, col.name.lower()) in fixed and names and not (names & asked):
            dropped.append(col)
        else:
            keep.append(e)
    if not dropped or not keep:
        return None
    tree.set("expressions", keep)
    group = tree.args.get("group")
    if group is not None:
        rest = [g for g in group.expressions if not any(_same_column(g, d) for d in dropped)]
        tree.set("group", exp.Group(expressions=rest) if rest else None)
    return tree.sql(dialect=dialect)


def fanned_out_totals(sql: str, dialect: str, graph: JoinGraph) -> str | None:
    """A sum or average over rows that an unused join multiplied, without that join. None when
    nothing changes.

    `SELECT p.last_name, SUM(t.fare_amount) FROM passengers p JOIN tickets t ON ... JOIN
    ticket_segments s ON s.ticket_number = t.ticket_number GROUP BY ...`: nothing reads the coupons,
    yet each ticket's fare is added once per coupon, and the total looks like a real one. Dropped
    only: a joined table that no column outside its own ON reads (nor an unqualified column it could
    own), whose ON is nothing but equalities of its foreign keys to the table it joins (so each of
    that table's rows meets many of it: the fan-out), and only while the query totals with SUM or AVG
    the columns of other tables, counts nothing (a COUNT may mean the joined rows) and is not
    DISTINCT. Repeated while such a leaf remains."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    instances = table_instances(tree) if isinstance(tree, exp.Select) else None
    if not instances or len(instances) == 1 or tree.find(exp.Count) or tree.args.get("distinct"):
        return None
    totals = [a for a in tree.find_all(exp.Sum, exp.Avg) if a.find_ancestor(exp.Select) is tree]
    if not totals or any(a.find(exp.Distinct) for a in totals):
        return None
    tables = {alias: table for alias, table, _ in instances}
    if len(tables) != len(instances):
        return None                                   # an alias used twice: not worth reading
    measured = {c.table for a in totals for c in a.find_all(exp.Column)}
    unqualified = {c.name.lower() for c in tree.find_all(exp.Column) if not c.table}
    changed = False
    while True:
        leaf = next((j for j in reversed(tree.args.get("joins") or [])
                     if _fanning_leaf(tree, j, tables, measured, unqualified, graph)), None)
        if leaf is None:
            break
        tree.set("joins", [j for j in tree.args["joins"] if j is not leaf])
        changed = True
    return tree.sql(dialect=dialect) if changed else None


def _fanning_leaf(tree: exp.Select, join: exp.Join, tables: Mapping[str, str], measured: set[str],
                  unqualified: set[str], graph: JoinGraph) -> bool:
    alias = join.this.alias_or_name
    table = tables[alias]
    if alias in measured or any(graph.has(table, name) for name in unqualified) or join.args.get("using"):
        return False
    if any(c.table == alias for c in tree.find_all(exp.Column) if c.find_ancestor(exp.Join) is not join):
        return False
    conditions = _conjuncts(join.args.get("on"))
    if not conditions:
        return False
    for cond in conditions:
        if not (isinstance(cond, exp.EQ) and isinstance(cond.this, exp.Column)
                and isinstance(cond.expression, exp.Column)):
            return False
        mine, other = (cond.this, cond.expression) if cond.this.table == alias else (cond.expression, cond.this)
        if mine.table != alias or other.table not in tables or other.table == alias:
            return False
        if graph.reference(table, mine.name) != (tables[other.table], other.name.lower()):
            return False
    return True
