"""What an edit may offer as a grouping: the view's dimensions, not every column it has.

A coupon view has some sixty columns; grouping by a fare, a delay in minutes, a timestamp or a row id
gives one row per value, which is never what "cambiar la agrupación" means, and a list that long hides
the few choices staff use (status, cabin, channel, city, country, date, month). A dimension is a
column staff can read a category from: a text or date column that is not personal (masked or
refused: the guard would refuse the grouping anyway), not a look-up key (a record locator or ticket
number names one thing), and not a timestamp; a derived column is one unless it is arithmetic (a
delay, fare plus taxes are measures). Read from the database's column types, so a drafted catalog
gets the same treatment.
"""
from __future__ import annotations

import re

from db.catalog.views import SemanticView

_TEXT_TYPES = ("TEXT", "CHAR", "CLOB", "STRING")
_ARITHMETIC = re.compile(r"[-+*/]")
_STRING = re.compile(r"'(?:[^']|'')*'")


def grouping_choices(view: SemanticView, catalog, types: dict[str, dict[str, str]],
                     dialect: str) -> list[str]:
    """The names of `view`'s dimension columns, in the view's order."""
    out = []
    for col in view.columns.values():
        if col.derived:
            if not _ARITHMETIC.search(_STRING.sub("''", col.expression(dialect))):
                out.append(col.name)
            continue
        table = view.table_of(col.source)
        info = catalog.tables[table].columns.get(col.column) if table in catalog.tables else None
        if info is not None and (info.pii or info.lookup_key):
            continue
        typ = types.get(table, {}).get(col.column, "").upper()
        if typ == "DATE" or any(k in typ for k in _TEXT_TYPES):
            out.append(col.name)
    return out
