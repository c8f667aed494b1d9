"""Settings, engines, the catalog and `abordo catalog`: real files and the real PostgreSQL server."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner

from abordo.cli import main
from db.catalog import Text2, check_against_database, load_catalog, parse_catalog
from db.engines import dialect_of, is_empty, make_engine, parse_url
from db.errors import CatalogError, ConfigError, UnsupportedDatabase
from db.schema import EXPOSED_TABLES, metadata
from db.settings import SETTINGS, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --- settings -------------------------------------------------------------------------------

def test_settings_defaults_and_env_override(tmp_path):
    s = load_settings(env={"ABORDO_TODAY": "2026-07-01", "ABORDO_STATEMENT_TIMEOUT_MS": "900",
                           "ABORDO_DATABASE_URL": "sqlite:///x.db"})
    assert s.today == date(2026, 7, 1) and s.statement_timeout_ms == 900 and s.database_url == "sqlite:///x.db"
    assert load_settings(env={}).today == date(2026, 6, 15)


def test_settings_file_then_env(tmp_path):
    cfg = tmp_path / "abordo.toml"
    cfg.write_text('role = "analyst"\nn_ctx = 8192\n', encoding="utf-8")
    s = load_settings(env={"ABORDO_CONFIG": str(cfg), "ABORDO_N_CTX": "4096"})
    assert s.role == "analyst" and s.n_ctx == 4096


@pytest.mark.parametrize("env, fragment", [
    ({"ABORDO_TODAY": "15/06/2026"}, "today"),
    ({"ABORDO_N_CTX": "lots"}, "n_ctx"),
    ({"ABORDO_ROLE": "admin"}, "role"),
    ({"ABORDO_CONFIG": "/nonexistent/abordo.toml"}, "does not exist"),
])
def test_settings_bad_values_are_config_errors(env, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_settings(env=env)


def test_settings_unknown_key_in_file(tmp_path):
    cfg = tmp_path / "abordo.toml"
    cfg.write_text('databse_url = "sqlite:///x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting 'databse_url'"):
        load_settings(env={"ABORDO_CONFIG": str(cfg)})


def test_every_setting_is_documented_in_the_configuration_page():
    """docs/configuration.md holds the settings table (the README links to it): every field of
    `Settings` must appear there as `ABORDO_<NAME>`, as a row of the table."""
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    fields = {f for f in Settings.__dataclass_fields__}
    assert fields == {s.name for s in SETTINGS}
    missing = [f for f in fields if f"| `ABORDO_{f.upper()}` |" not in page]
    assert not missing, f"settings not documented in docs/configuration.md: {missing}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/configuration.md)" in readme, "the README must link to the settings table"


# --- engines --------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["mysql://root@localhost/x", "oracle://a@b/c", "mongodb://x"])
def test_unknown_url_scheme(url):
    with pytest.raises(UnsupportedDatabase):
        parse_url(url)


def test_not_a_url():
    with pytest.raises(ConfigError):
        parse_url("::::")


def test_dialect_of():
    assert dialect_of("sqlite:///a.db") == "sqlite"
    assert dialect_of("postgresql://u@h/d") == "postgres"


def test_is_empty_sqlite(schema_sqlite_url):
    engine = make_engine(schema_sqlite_url)
    assert is_empty(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO aircraft_types VALUES ('738', 'Boeing 737-800', 150, 0, 12)"))
    assert not is_empty(engine)


# --- schema ---------------------------------------------------------------------------------

@pytest.mark.postgres
def test_schema_creates_on_both_engines(schema_sqlite_url, schema_pg_url):
    for url in (schema_sqlite_url, schema_pg_url):
        names = set(sa.inspect(make_engine(url)).get_table_names())
        assert set(metadata.tables) <= names


@pytest.mark.postgres
@pytest.mark.parametrize("bad", [
    "INSERT INTO aircraft_types VALUES ('X', 'x', 1, 1, 1); INSERT INTO bookings VALUES "
    "(1, 'AAAAAA', '2026-01-01', 'fax', 'confirmed', 1, 'MXN', NULL, NULL)",
])
def test_enum_check_constraints(schema_pg_url, schema_sqlite_url, bad):
    for url in (schema_sqlite_url, schema_pg_url):
        engine = make_engine(url)
        with pytest.raises(sa.exc.IntegrityError):
            with engine.begin() as conn:
                for stmt in bad.split("; "):
                    conn.execute(sa.text(stmt))


# --- catalog --------------------------------------------------------------------------------

def test_demo_catalog_describes_every_exposed_column_in_both_languages():
    catalog = load_catalog()
    assert set(catalog.exposed_tables) == set(EXPOSED_TABLES)
    assert not catalog.tables["staff_accounts"].exposed
    for table in catalog.exposed_tables.values():
        assert table.description.en and table.description.es
        schema_cols = set(metadata.tables[table.name].columns.keys())
        assert set(table.columns) == schema_cols, table.name
        for col in table.columns.values():
            assert col.description.en and col.description.es, f"{table.name}.{col.name}"


def test_demo_catalog_personal_data_classes():
    catalog = load_catalog()
    pii = {(t.name, c.name): c.pii for t in catalog.exposed_tables.values() for c in t.columns.values() if c.pii}
    for col in ("date_of_birth", "email", "phone", "document_number", "frequent_flyer_number"):
        assert ("passengers", col) in pii
    assert pii[("bookings", "contact_email")] == "contact"
    assert catalog.role("agent").action("document") == "partial"
    assert catalog.role("analyst").action("contact") == "hide"
    assert "email" not in catalog.readable_columns("passengers", "analyst")


def test_demo_catalog_places_point_at_network_airports():
    catalog = load_catalog()
    assert catalog.places["ciudad de méxico"] == "MEX" and catalog.places["nueva york"] == "JFK"
    assert all(re.fullmatch(r"[A-Z]{3}", v) for v in catalog.places.values())
    assert catalog.terms["localizador"].startswith("bookings.record_locator")


_TWO_COLUMNS = "roles: {agent: {}}\ntables: {t: {exposed: true, columns: {a: {}, b: {}}}}\n"


def test_demo_catalog_declares_what_the_assistant_reads():
    """Where the linker, the cards and the restatements find the person, the identifiers staff type and
    the airports: the catalog's, so no code has to know the demo's tables."""
    catalog = load_catalog()
    assert (catalog.subject_table, catalog.subject_key, catalog.subject_search) == (
        "passengers", "passenger_id", "search_name")
    assert catalog.subject_names == ("first_name", "last_name", "second_last_name")
    assert catalog.identifiers == {"locator": ("bookings", "record_locator"), "ticket": ("tickets", "ticket_number"),
                                   "bag": ("baggage", "bag_tag"),
                                   "flight": ("flights", "carrier_code", "flight_number")}
    ref = catalog.airport_table
    assert (ref.table, ref.code, ref.city, ref.refs) == ("airports", "iata_code", "city",
                                                         ("flights.origin", "flights.destination"))
    assert catalog.hidden_tables == ("staff_accounts",) and "write" in catalog.messages


def test_a_catalog_without_the_new_sections_still_loads():
    catalog = parse_catalog(yaml.safe_load(_TWO_COLUMNS), "old.yaml")
    assert catalog.identifiers == {} and catalog.airport_table is None and catalog.subject_search is None
    assert catalog.messages == {} and catalog.message("write", "en", Text2(en="x")) == "x"


def test_draft_of_the_demo_schema_finds_what_the_shipped_catalog_declares(schema_sqlite_url):
    from db.introspect import draft_catalog

    draft = parse_catalog(yaml.safe_load(draft_catalog(schema_sqlite_url)), "draft")
    shipped = load_catalog()
    assert draft.identifiers == shipped.identifiers and draft.airport_table == shipped.airport_table
    assert (draft.subject_table, draft.subject_key, draft.subject_search, draft.subject_names) == (
        shipped.subject_table, shipped.subject_key, shipped.subject_search, shipped.subject_names)


@pytest.mark.parametrize("doc, fragment", [
    ("tables: [1, 2]", "expected a mapping"),
    ("roles: {agent: {masking: {contact: blur}}}\ntables: {t: {exposed: true, columns: {a: {}}}}", "not valid"),
    ("roles: {agent: {}}\ntables: {t: {exposed: true, columns: {a: {pii: secret}}}}", "pii must be one of"),
    ("roles: {agent: {}}\ntables: {t: {exposed: false}}", "no table is exposed"),
    ("roles: {agent: {max_rows: -1}}\ntables: {t: {exposed: true, columns: {a: {}}}}", "positive"),
    (_TWO_COLUMNS + "identifiers: {pnr: t.a}", "unknown kind"),
    (_TWO_COLUMNS + "identifiers: {flight: [t.a]}", "flight is 2"),
    (_TWO_COLUMNS + "identifiers: {locator: t.c}", "t.c is not an exposed column"),
    (_TWO_COLUMNS + "airports: {table: t, code: a}", "airports needs table, code and city"),
    (_TWO_COLUMNS + "airports: {table: t, code: a, city: b, refs: [u.a]}", "u.a is not an exposed column"),
    (_TWO_COLUMNS + "subject: {table: t, key: a, search_name: c}", "subject name column c"),
])
def test_malformed_catalogs(doc, fragment):
    with pytest.raises(CatalogError, match=fragment):
        parse_catalog(yaml.safe_load(doc), "bad.yaml")


def test_catalog_check_cli_malformed_file_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables: {t: [unclosed", encoding="utf-8")
    result = run_cli("catalog", "check", str(bad))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "not valid YAML" in result.stderr
    assert "Traceback" not in result.output


def test_catalog_matches_schema(schema_sqlite_url):
    check_against_database(load_catalog(), make_engine(schema_sqlite_url))


def test_catalog_mismatch_is_reported(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE airports (iata_code TEXT)"))
    with pytest.raises(CatalogError, match="airports has no column"):
        check_against_database(load_catalog(), engine)


@pytest.mark.postgres
def test_catalog_init_drafts_a_valid_catalog_on_both_engines(schema_sqlite_url, schema_pg_url):
    for url in (schema_sqlite_url, schema_pg_url):
        result = run_cli("catalog", "init", "--db", url)
        assert result.exit_code == 0, result.output
        catalog = parse_catalog(yaml.safe_load(result.stdout), "draft")
        assert not catalog.tables["staff_accounts"].exposed
        assert catalog.tables["passengers"].columns["email"].pii == "contact"
        assert catalog.tables["passengers"].columns["date_of_birth"].pii == "date_of_birth"
        assert catalog.tables["bookings"].columns["record_locator"].lookup_key


def test_catalog_init_on_a_foreign_database(shared_dir):
    db = shared_dir / "eval-data/spider-aviation/database/flight_2/flight_2.sqlite"
    result = run_cli("catalog", "init", "--db", f"sqlite:///{db}")
    assert result.exit_code == 0, result.output
    catalog = parse_catalog(yaml.safe_load(result.stdout), "draft")
    assert {"airlines", "airports", "flights"} <= set(catalog.exposed_tables)


@pytest.mark.parametrize("args, fragment", [
    (("catalog", "init", "--db", "mysql://root@localhost/x"), "unsupported database"),
    (("catalog", "init", "--db", "postgresql://postgres@127.0.0.1:1/x"), "cannot connect"),
])
def test_catalog_init_bad_input_one_line_exit_2(args, fragment):
    result = run_cli(*args)
    assert result.exit_code == 2
    assert fragment in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("url_fixture", ["schema_sqlite_url", "schema_pg_url"])
def test_catalog_worked_examples_pass_the_guard_and_run(url_fixture, request):
    """The worked examples teach the model: each must be SQL the guard accepts for an agent and the
    database runs, on both engines (a wrong column here would be copied into answers)."""
    from sql_tools.guard import check_sql

    url = request.getfixturevalue(url_fixture)
    catalog = load_catalog()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for example in catalog.examples:
                checked = check_sql(example["sql"], catalog=catalog, dialect=dialect_of(url), role="agent")
                conn.execute(sa.text(checked.sql_out)).fetchall()
    finally:
        engine.dispose()
    assert len(catalog.examples) >= 5
