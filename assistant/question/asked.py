"""What the question's words ask for, read once before the model answers: the `Asked` record.

The rewrites that restore what a small model left out (a grouping 'por canal', a bound 'con 3 boletos
o más', the top group of 'qué vuelo tiene más maletas', a count beside another aggregate, the columns
the question names) read this record, never the question: the question is folded and matched once,
and each rule sees the same reading.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.question.lang import STOPWORDS, fold

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

# 'cuántas maletas', 'cuantos son', 'cuantas hay', 'how many bags', 'how many are there', 'number of
# tickets'. A count of a measure ('cuántos kilos', 'how many minutes') is a sum: its noun names no table.
# 'numero de vuelo' is a flight's number: after 'numero de', 'number of', 'cantidad de' only a plural counts.
_COUNT_ASKED = re.compile(r"(?<![\w])(?:(?:cuant[oa]s|how\s+many)(?:\s+(?:de\s+)?([^\W\d_]+))?"
                          r"|(?:number\s+of|numero\s+de|cantidad\s+de)\s+([^\W\d_]+s)(?![\w]))")
# Another aggregate the question asks for beside the count: 'y cuánto suman', 'and the average weight'.
_OTHER_AGGREGATE = re.compile(r"(?<![\w])(?:suma\w*|sum|total\w*|promedio|media|average|avg|mean|peso|kilos|kg"
                              r"|monto\w*|importe\w*|maxim\w*|minim\w*|max|min|combined)(?![\w])")
_DISTINCT_WORDS = re.compile(r"(?<![\w])(?:distint\w*|diferentes?|different|distinct|unique|unic[oa]s)(?![\w])")


def stem(word: str) -> str:
    """A folded word without its plural ending ('maletas' -> 'maleta', 'paises' -> 'pais')."""
    return word[:-2] if word.endswith("es") and len(word) > 5 else word[:-1] if word.endswith("s") and len(word) > 3 else word


@dataclass(frozen=True)
class Threshold:
    op: str                     # '>=', '>', '<', '<='
    number: str                 # as written ('3')
    words: tuple[str, ...]      # the one or two words after the number ('boletos')


@dataclass(frozen=True)
class CountAsked:
    pos: int                    # where in the folded question
    noun: str | None            # 'maletas' in 'cuántas maletas'; None in 'cuántos son'


@dataclass(frozen=True)
class Asked:
    """What the words ask for. Empty for a question that asks none of it."""
    groupings: tuple[tuple[tuple[str, ...], ...], ...] = ()   # per 'por'/'by': its phrases' stemmed words
    thresholds: tuple[Threshold, ...] = ()
    most: bool = False          # 'the most …', and no ordering of all groups nor a comparison
    top_numbers: tuple[int, ...] = ()                          # 'los 3 aeropuertos con más salidas'
    counts: tuple[CountAsked, ...] = ()
    other_aggregates: tuple[int, ...] = ()                     # where a sum, average, total … is asked
    distinct: bool = False      # 'distintos', 'unique': a count of different things
    words: frozenset[str] = frozenset()                        # every stemmed word


def read_asked(question: str) -> Asked:
    folded = fold(question)
    return Asked(
        groupings=tuple(_groupings(folded)),
        thresholds=tuple(Threshold(op, m.group(1), tuple(m.group(2).split()))
                         for pattern, op in _THRESHOLDS for m in pattern.finditer(folded)),
        most=bool(_MOST.search(folded)) and not _ORDER_ONLY.search(folded),
        top_numbers=tuple(int(a or b) for a, b in _TOP_N.findall(folded)),
        counts=tuple(CountAsked(m.start(), m.group(1) or m.group(2)) for m in _COUNT_ASKED.finditer(folded)),
        other_aggregates=tuple(m.start() for m in _OTHER_AGGREGATE.finditer(folded)),
        distinct=bool(_DISTINCT_WORDS.search(folded)),
        words=frozenset(stem(w) for w in re.findall(r"[^\W\d_]+", folded)),
    )


def _groupings(folded: str) -> list[tuple[tuple[str, ...], ...]]:
    """For each 'por ...' / 'by ...', its phrases (folded, stemmed content words): 'por canal y moneda'
    -> ((canal,), (moneda,))."""
    out = []
    for m in _GROUP_MARKER.finditer(folded):
        if m.group(1) and _NOT_GROUPING.match(m.group(1)):
            continue
        parts: list[list[str]] = [[]]
        for w in m.group(2).split():
            if w in _JOINERS:
                parts.append([])
            elif w in _PHRASE_END:
                break
            elif w not in STOPWORDS:
                parts[-1].append(stem(w))
        out.append(tuple(tuple(p) for p in parts))
    return out
