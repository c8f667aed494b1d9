"""Draft a catalog for any SQLite or PostgreSQL database, so the assistant is not tied to the demo schema.

The draft is a starting point for a person: column names that look personal are marked with a `pii`
class (to be reviewed), tables whose names look like credentials are not exposed, and descriptions
hold the column type plus, for low-cardinality text columns, the values found.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
import yaml

from db.engines import check_reachable, make_engine

# Name patterns that suggest personal data, most specific first. A draft, reviewed by a person.
_PII_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"(^|_)(e_?mail|phone|telephone|mobile|contact)", "contact"),
    (r"(passport|document|doc_num|national_id|ssn|tax_id|frequent_flyer|ffn|card)", "document"),
    (r"(birth|dob)", "date_of_birth"),
    (r"(note|comment|free_text|remark|text_)", "free_text"),
    (r"(^|_)(first_name|last_name|surname|full_name|passenger_name|given_name|family_name|name_)", "identifier"),
)
_HIDDEN_TABLES = re.compile(r"(staff|user|account|credential|password|secret|auth|token|session)", re.I)
_KEY_HINT = re.compile(r"(_id$|^id$|_code$|_number$|_no$|locator|ref$|tag$)", re.I)


def _pii_class(column: str) -> str | None:
    for pattern, cls in _PII_PATTERNS:
        if re.search(pattern, column, re.I):
            return cls
    return None


def _sample_values(conn, table: str, column: str, preparer) -> list | None:
    """Up to 12 distinct values of a text column, or None when it has more (not an enumeration)."""
    q = (f"SELECT DISTINCT {preparer.quote(column)} FROM {preparer.quote(table)} "
         f"WHERE {preparer.quote(column)} IS NOT NULL LIMIT 13")
    try:
        rows = [r[0] for r in conn.execute(sa.text(q))]
    except sa.exc.DBAPIError:
        return None
    return sorted(map(str, rows)) if 0 < len(rows) <= 12 else None


def draft_catalog(url: str, *, sample: bool = True) -> str:
    """Introspect `url` and return a catalog YAML document."""
    engine = make_engine(url)
    check_reachable(engine)
    inspector = sa.inspect(engine)
    preparer = engine.dialect.identifier_preparer
    tables: dict[str, dict] = {}
    with engine.connect() as conn:
        for tname in sorted(inspector.get_table_names()):
            if _HIDDEN_TABLES.search(tname):
                tables[tname] = {"exposed": False}
                continue
            pk = set(inspector.get_pk_constraint(tname).get("constrained_columns") or ())
            fks = {c: f"{fk['referred_table']}.{fk['referred_columns'][i]}"
                   for fk in inspector.get_foreign_keys(tname) for i, c in enumerate(fk["constrained_columns"])}
            columns: dict[str, dict] = {}
            for col in inspector.get_columns(tname):
                name = col["name"]
                desc = f"{name.replace('_', ' ')} ({col['type']})"
                if name in fks:
                    desc += f", references {fks[name]}"
                pii = _pii_class(name)
                is_text = isinstance(col["type"], (sa.String, sa.Text)) or "CHAR" in str(col["type"]).upper()
                if sample and pii is None and is_text and name not in pk:
                    values = _sample_values(conn, tname, name, preparer)
                    if values:
                        desc += "; values: " + ", ".join(values)
                entry: dict = {"description": {"en": desc, "es": desc}}
                if pii:
                    entry["pii"] = pii
                if name in pk or name in fks or _KEY_HINT.search(name):
                    entry["lookup_key"] = True
                columns[name] = entry
            tables[tname] = {"exposed": True, "description": {"en": tname.replace("_", " "),
                                                               "es": tname.replace("_", " ")},
                             "columns": columns}
    engine.dispose()
    doc = {
        "name": engine.url.database.rsplit("/", 1)[-1].split(".")[0] if engine.url.database else "database",
        "description": {"en": "Drafted by abordo catalog init: review every pii mark and exposed table.",
                        "es": "Borrador de abordo catalog init: revise las marcas pii y las tablas expuestas."},
        "roles": {
            "agent": {"max_rows": 200, "max_passengers_per_query": 200, "max_passengers_per_hour": 2000,
                      "masking": {"identifier": "clear", "contact": "partial", "document": "partial",
                                  "date_of_birth": "year", "free_text": "clear"}},
            "supervisor": {"max_rows": 1000, "max_passengers_per_query": 1000, "max_passengers_per_hour": 10000,
                           "masking": {c: "clear" for c in ("identifier", "contact", "document",
                                                            "date_of_birth", "free_text")}},
            "analyst": {"max_rows": 1000, "max_passengers_per_query": 1000, "max_passengers_per_hour": 20000,
                        "masking": {"identifier": "pseudonym", "contact": "hide", "document": "hide",
                                    "date_of_birth": "year", "free_text": "hide"}},
        },
        "tables": tables,
    }
    header = ("# Catalog drafted by `abordo catalog init`. Review before use:\n"
              "#  - pii classes were guessed from column names; mark every personal column\n"
              "#  - tables that look like credentials are exposed: false\n")
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
