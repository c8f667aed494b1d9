"""Record-locator and ticket-number lookups answered by template queries, with no model call.

Only a *pure* lookup takes this path ("QX7K2M", "reserva qx7k2m", "show ticket 139-1234567890"): once
the identifier and lookup words are removed, nothing may remain. Anything more specific goes to the
model. Such a question almost always opens a record card first (`assistant.cards`); this path answers
the few pure look-ups a card does not take (a second, unresolved name-like hint beside the identifier:
"QX7K2M Detalles Info"). The queries are the cards' (`cards.row_sql`: the one place record templates
live, keyed on the catalog's identifiers), so a catalog without those cards has no fast path. The
template still runs through the guard, masking and audit like any other SQL, and answers are flagged
`fast_path` so accuracy figures can report them separately.
"""
from __future__ import annotations

import re

from assistant.cards import LOOKUP_WORDS, ROW_KINDS, row_sql
from assistant.lang import fold


def template_sql(question: str, hints, catalog) -> str | None:
    """The template SQL when `question` is a pure locator/ticket lookup, else None."""
    ids = [h for h in hints if h.kind in ROW_KINDS and h.found]
    if len(ids) != 1:
        return None
    hint = ids[0]
    rest = fold(question.replace(hint.text, " "))
    words = re.findall(r"[a-z0-9#º]+", rest)
    if any(w not in LOOKUP_WORDS for w in words):
        return None
    return row_sql(hint.kind, hint.value, catalog)
