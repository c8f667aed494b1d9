"""Semantic views (db/catalog/views.py) and their expansion into base tables (assistant/plan/compile.py):
the catalog's views load and are checked, a query over one view compiles into the joins it needs and
gives the same rows as the whole view written out by hand, on SQLite and PostgreSQL, and what the
guard sees is base tables, so a role cannot read through a view what it may not read from the table."""
from __future__ import annotations

import math
from decimal import Decimal

import pytest
import sqlalchemy as sa
import sqlglot
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.plan.compile import compile_sql, views_in
from assistant.plan.errors import AmbiguousViewColumn, PlanError, UnknownViewColumn
from assistant.plan.plan import read_plan
from db.catalog import DEFAULT_CATALOG, check_against_database, load_catalog, parse_catalog
from db.catalog.views import view_select
from db.engines import make_engine
from db.errors import CatalogError
from sql_tools.guard import GuardRejection, check_sql

CATALOG = load_catalog()
VIEWS = CATALOG.views


def demo_doc() -> dict:
    from importlib import resources

    return yaml.safe_load(resources.files("db.catalog").joinpath(DEFAULT_CATALOG).read_text(encoding="utf-8"))


# --- the views in the catalog ----------------------------------------------------------------

def test_the_demo_has_one_view_per_grain_and_no_name_means_two_things():
    assert set(VIEWS) == {"flights", "coupons", "bags", "ssrs", "tickets", "bookings", "passengers", "airports",
                          "aircraft"}
    coupons = VIEWS["coupons"].columns
    # the statuses of four tables, the airports by role, derived columns defined once
    assert {"coupon_status", "flight_status", "ticket_status", "booking_status"} <= set(coupons)
    assert {"origin_city", "destination_city", "origin_country_code", "destination_country_code"} <= set(coupons)
    assert {"flight_date", "flight_month", "departure_delay_min", "total_fare"} <= set(coupons)
    assert "status" not in coupons and "city" not in coupons
    for view in VIEWS.values():
        for col in view.columns.values():
            assert col.description.en and col.description.es, (view.name, col.name)
            for source, column in col.reads():
                assert column in CATALOG.tables[view.table_of(source)].columns


def test_every_join_walks_to_a_parent_so_a_view_has_its_tables_rows(small_demo_db):
    engine = make_engine(f"sqlite:///{small_demo_db}")
    with engine.connect() as conn:
        for view in VIEWS.values():
            whole = conn.execute(sa.text(f"SELECT COUNT(*) FROM ({view_select(view, 'sqlite')})")).scalar()
            table = conn.execute(sa.text(f"SELECT COUNT(*) FROM {view.table}")).scalar()
            assert whole == table > 0, view.name


@pytest.mark.parametrize("url_fixture", ["small_demo_db", pytest.param("small_demo_pg", marks=pytest.mark.postgres)])
def test_catalog_check_runs_every_view_on_the_database(url_fixture, request):
    value = request.getfixturevalue(url_fixture)
    url = value if isinstance(value, str) else f"sqlite:///{value}"
    check_against_database(CATALOG, make_engine(url))      # raises on a join without a key or a broken column


def _with_view(change) -> dict:
    doc = demo_doc()
    change(doc["views"])
    return doc


@pytest.mark.parametrize("change, says", [
    (lambda v: v["coupons"]["joins"].update(origin_airport="flight.origin -> airports.city"), None),  # by the database
    (lambda v: v["coupons"]["joins"].update(flight="flight_id -> flights.gate"), "flight_id is defined twice"),
    (lambda v: v["coupons"]["joins"].update(pilot="flight.pilot_id -> pilots.pilot_id"), "flights has no column 'pilot_id'"),
    (lambda v: v["coupons"]["joins"].update(crew="nobody.flight_id -> flights.flight_id"), "not a join of the view"),
    (lambda v: v["coupons"]["columns"].update(doc_tail={"sql": "substr(passenger.document_number, -4)"}),
     "may not read personal data"),
    (lambda v: v["coupons"]["columns"].update(odd={"sql": "crew.hours * 2"}), "'crew' is not a join"),
    (lambda v: v["coupons"].update(table="staff_accounts"), "not an exposed table"),
    (lambda v: v["coupons"].update(omit=["no_such_column"]), "omit no_such_column"),
    (lambda v: v["bags"]["columns"].update(cabin="flight.gate"), "cabin is defined twice"),
])
def test_inconsistent_views_are_refused_with_the_line_to_fix(change, says):
    doc = _with_view(change)
    if says is None:       # loads: the database check is what refuses it (below)
        parse_catalog(doc)
        return
    with pytest.raises(CatalogError, match=says):
        parse_catalog(doc)


def test_a_catalog_written_back_with_sorted_keys_has_the_same_views_and_circular_joins_are_refused():
    again = parse_catalog(yaml.safe_load(yaml.safe_dump(demo_doc(), allow_unicode=True, sort_keys=True)))
    assert {v: set(again.views[v].columns) for v in again.views} == {v: set(VIEWS[v].columns) for v in VIEWS}
    assert [j.name for j in again.views["bags"].joins.values()][:2] == ["coupon", "flight"]   # parents first
    doc = _with_view(lambda v: v["tickets"]["joins"].update(a="b.passenger_id -> passengers.passenger_id",
                                                             b="a.passenger_id -> passengers.passenger_id"))
    with pytest.raises(CatalogError, match="joins a, b start from each other"):
        parse_catalog(doc)


def test_a_join_that_follows_no_foreign_key_or_a_view_that_does_not_run_is_refused_by_the_database_check(small_demo_db):
    engine = make_engine(f"sqlite:///{small_demo_db}")
    bad_join = parse_catalog(_with_view(lambda v: v["coupons"]["joins"].update(
        origin_airport="flight.origin -> airports.city")))
    with pytest.raises(CatalogError, match="view coupons: join origin_airport .* follows no foreign key"):
        check_against_database(bad_join, engine)
    bad_sql = parse_catalog(_with_view(lambda v: v["flights"]["columns"].update(
        late={"sql": "no_such_function(self.actual_departure)"})))
    with pytest.raises(CatalogError, match="view flights does not run on this database: .*no_such_function"):
        check_against_database(bad_sql, engine)


# --- compiling a query over one view ---------------------------------------------------------

def test_only_the_joins_the_query_uses_and_the_view_names_kept_for_the_output():
    sql = compile_sql("SELECT origin_city, COUNT(*) AS n FROM coupons WHERE coupon_status = 'no_show' "
                      "GROUP BY origin_city ORDER BY n DESC LIMIT 5", VIEWS, "sqlite")
    assert sql == ("SELECT origin_airport.city AS origin_city, COUNT(*) AS n FROM ticket_segments AS coupons "
                   "LEFT JOIN flights AS flight ON flight.flight_id = coupons.flight_id "
                   "LEFT JOIN airports AS origin_airport ON origin_airport.iata_code = flight.origin "
                   "WHERE coupons.status = 'no_show' GROUP BY origin_airport.city ORDER BY n DESC LIMIT 5")
    assert compile_sql("SELECT seat FROM coupons c WHERE c.coupon_status = 'flown'", VIEWS, "sqlite") == \
        "SELECT c.seat FROM ticket_segments AS c WHERE c.status = 'flown'"


def test_derived_columns_per_dialect_in_parentheses_where_an_operator_binds():
    q = "SELECT flight_number, departure_delay_min FROM flights WHERE departure_delay_min > 15 AND flight_date = '2026-06-14'"
    lite = compile_sql(q, VIEWS, "sqlite")
    assert "(STRFTIME('%s', flights.actual_departure) - STRFTIME('%s', flights.scheduled_departure)) / 60.0 " \
           "AS departure_delay_min" in lite
    assert "WHERE ((STRFTIME('%s', flights.actual_departure)" in lite and ") / 60.0) > 15" in lite
    pg = compile_sql(q, VIEWS, "postgres")
    assert "EXTRACT(EPOCH FROM (flights.actual_departure - flights.scheduled_departure)) / 60.0" in pg
    assert "CAST(flights.scheduled_departure AS DATE) = '2026-06-14'" in pg


def test_stars_correlated_subqueries_and_two_views():
    assert compile_sql("SELECT * FROM aircraft", VIEWS, "sqlite") == (
        "SELECT aircraft.code AS aircraft_type, aircraft.name AS aircraft_name, aircraft.seats_economy, "
        "aircraft.seats_premium, aircraft.seats_business FROM aircraft_types AS aircraft")
    sql = compile_sql("SELECT COUNT(DISTINCT passenger_id) FROM bags b WHERE b.bag_status = 'lost' AND EXISTS "
                      "(SELECT 1 FROM ssrs s WHERE s.segment_id = b.segment_id AND s.ssr_code = 'WCHR')", VIEWS, "sqlite")
    assert "FROM baggage AS b LEFT JOIN ticket_segments AS coupon" in sql
    assert "EXISTS(SELECT 1 FROM special_service_requests AS s WHERE s.segment_id = b.segment_id AND s.code = 'WCHR')" in sql
    two = compile_sql("SELECT c.flight_number, COUNT(*) FROM coupons c JOIN bags b ON b.segment_id = c.segment_id "
                      "WHERE b.bag_status = 'delayed' GROUP BY c.flight_number", VIEWS, "sqlite")
    assert "FROM ticket_segments AS c LEFT JOIN flights AS flight" in two and "JOIN baggage AS b" in two
    with pytest.raises(AmbiguousViewColumn, match="c.flight_number or b.flight_number"):
        compile_sql("SELECT flight_number FROM coupons c JOIN bags b ON b.segment_id = c.segment_id", VIEWS, "sqlite")


def test_a_column_no_view_has_is_unknown_column_with_the_views_columns():
    with pytest.raises(UnknownViewColumn) as caught:
        compile_sql("SELECT status FROM coupons", VIEWS, "sqlite")
    assert caught.value.kind == "unknown_column" and "coupon_status" in caught.value.hint()
    assert "flight_status" in caught.value.hint()
    with pytest.raises(PlanError, match="not SQL"):
        compile_sql("SELECT FROM WHERE", VIEWS, "sqlite")
    # an output alias is not a column of the view
    assert "HAVING n > 2" in compile_sql("SELECT cabin, COUNT(*) AS n FROM coupons GROUP BY cabin HAVING n > 2",
                                         VIEWS, "sqlite")


def test_sql_over_tables_is_left_as_it_was():
    assert compile_sql("SELECT seat FROM ticket_segments", VIEWS, "sqlite") == "SELECT seat FROM ticket_segments"
    assert views_in(sqlglot.parse_one("WITH coupons AS (SELECT 1 AS x) SELECT x FROM coupons"), VIEWS) == []


# --- what the guard sees ---------------------------------------------------------------------

def test_the_guard_sees_base_tables_and_a_role_reads_no_more_through_a_view():
    sql = compile_sql("SELECT first_name, document_number, seat FROM coupons WHERE flight_number = 401", VIEWS,
                      "sqlite")
    agent = check_sql(sql, catalog=CATALOG, dialect="sqlite", role="agent")
    assert set(agent.tables) == {"ticket_segments", "tickets", "passengers", "flights"}
    pii = {c.name: c.pii for c in agent.columns}
    assert pii["document_number"] == "document" and CATALOG.role("agent").action("document") == "partial"
    with pytest.raises(GuardRejection):
        check_sql(sql, catalog=CATALOG, dialect="sqlite", role="analyst")    # documents are hidden from analysts
    with pytest.raises(GuardRejection):
        check_sql(compile_sql("SELECT COUNT(*) FROM coupons WHERE document_number = 'X1234567'", VIEWS, "sqlite"),
                  catalog=CATALOG, dialect="sqlite", role="analyst")


# --- the plan --------------------------------------------------------------------------------

def test_the_plan_is_the_parsed_one_view_query():
    plan = read_plan("SELECT origin_city, COUNT(DISTINCT passenger_id) AS n FROM coupons WHERE coupon_status IN "
                     "('no_show', 'flown') AND flight_date BETWEEN '2026-06-01' AND '2026-06-07' AND "
                     "departure_delay_min > 15 AND seat IS NULL GROUP BY origin_city ORDER BY n DESC LIMIT 5",
                     VIEWS, "sqlite")
    assert plan.view == "coupons" and plan.editable and plan.fields == ("origin_city",)
    assert [(m.function, m.column, m.distinct, m.name) for m in plan.measures] == [("COUNT", "passenger_id", True, "n")]
    assert [(f.column, f.op, f.values) for f in plan.filters] == [
        ("coupon_status", "IN", ("no_show", "flown")), ("flight_date", "BETWEEN", ("2026-06-01", "2026-06-07")),
        ("departure_delay_min", ">", (15,)), ("seat", "IS NULL", ())]
    assert plan.groupings == ("origin_city",) and plan.order == (("n", True),) and plan.limit == 5
    assert plan.as_dict()["filters"][0]["values"] == ["no_show", "flown"]


@pytest.mark.parametrize("sql, reason", [
    ("SELECT c.seat FROM coupons c JOIN bags b ON b.segment_id = c.segment_id", "joins more than one view"),
    ("SELECT seat FROM coupons WHERE flight_id IN (SELECT flight_id FROM flights WHERE gate = 'A1')", "subquery"),
    ("SELECT seat FROM coupons WHERE cabin = 'business' OR seat = '1A'", "not a simple filter"),
    ("SELECT cabin FROM coupons UNION SELECT cabin FROM bags", "not a single SELECT"),
])
def test_a_query_the_parts_cannot_hold_is_a_plan_that_is_not_editable(sql, reason):
    plan = read_plan(sql, VIEWS, "sqlite")
    assert not plan.editable and reason in plan.reason


def test_a_query_over_no_view_has_no_plan():
    with pytest.raises(PlanError, match="none of the catalog's views"):
        read_plan("SELECT seat FROM ticket_segments", VIEWS, "sqlite")


# --- same rows as the whole view written by hand, on both engines ------------------------------

def _samples(url: str) -> dict[str, dict[str, list]]:
    """Per view, per non-personal column, a few stored values to filter on."""
    engine = make_engine(url)
    out: dict[str, dict[str, list]] = {}
    with engine.connect() as conn:
        for view in VIEWS.values():
            rows = conn.execute(sa.text(view_select(view, "sqlite") + " LIMIT 40")).mappings().all()
            out[view.name] = {c: sorted({r[c] for r in rows if r[c] is not None}, key=str)[:6]
                              for c in _plain_columns(view)}
    return out


def _plain_columns(view) -> list[str]:
    return [name for name, col in view.columns.items()
            if all(CATALOG.tables[view.table_of(s)].columns[c].pii is None for s, c in col.reads())]


def _literal(v) -> str:
    if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


@st.composite
def one_view_queries(draw, samples):
    view = VIEWS[draw(st.sampled_from(sorted(VIEWS)))]
    plain = _plain_columns(view)
    shown = draw(st.lists(st.sampled_from(plain), min_size=1, max_size=3, unique=True))
    where = []
    for _ in range(draw(st.integers(0, 2))):
        col = draw(st.sampled_from(plain))
        values = samples[view.name].get(col) or []
        if values and draw(st.booleans()):
            where.append(f"{col} = {_literal(draw(st.sampled_from(values)))}")
        else:
            where.append(f"{col} IS {draw(st.sampled_from(['NULL', 'NOT NULL']))}")
    alias = draw(st.sampled_from(["", " v"]))
    q = " WHERE " + " AND ".join(where) if where else ""
    if draw(st.booleans()):
        measure = draw(st.sampled_from(["COUNT(*)", f"COUNT(DISTINCT {draw(st.sampled_from(plain))})"]))
        return f"SELECT {', '.join(shown)}, {measure} AS n FROM {view.name}{alias}{q} GROUP BY {', '.join(shown)}"
    return f"SELECT {'DISTINCT ' if draw(st.booleans()) else ''}{', '.join(shown)} FROM {view.name}{alias}{q}"


def _rows(conn, sql: str) -> list[tuple]:
    def norm(v):
        if isinstance(v, (float, Decimal)):
            return None if math.isnan(float(v)) else round(float(v), 6)
        return str(v) if v is not None and not isinstance(v, (int, str)) else v
    return sorted((tuple(norm(v) for v in row) for row in conn.execute(sa.text(sql))), key=repr)


@pytest.mark.parametrize("engine_name", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_random_one_view_queries_give_the_rows_of_the_hand_written_view(engine_name, small_demo_db, request):
    url = f"sqlite:///{small_demo_db}" if engine_name == "sqlite" else request.getfixturevalue("small_demo_pg")
    engine = make_engine(url)
    samples = _samples(f"sqlite:///{small_demo_db}")      # the same rows on both engines
    dialect = "sqlite" if engine_name == "sqlite" else "postgres"

    @settings(max_examples=250, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(one_view_queries(samples))
    def same_rows(query):
        tree = sqlglot.parse_one(query)
        view = views_in(tree, VIEWS)[0]
        table = next(tree.find_all(sqlglot.exp.Table))
        table.set("this", sqlglot.exp.to_identifier("whole_view"))
        if not table.alias:
            table.set("alias", sqlglot.exp.TableAlias(this=sqlglot.exp.to_identifier(view)))
        reference = f"WITH whole_view AS ({view_select(VIEWS[view], dialect)}) {tree.sql(dialect=dialect)}"
        compiled = compile_sql(query, VIEWS, dialect)
        read = {t.name for t in sqlglot.parse_one(compiled, read=dialect).find_all(sqlglot.exp.Table)}
        assert read <= set(CATALOG.exposed_tables), compiled       # base tables only
        with engine.connect() as conn:
            assert _rows(conn, compiled) == _rows(conn, reference), (query, compiled)

    same_rows()


# --- drafted views: any database ---------------------------------------------------------------

@pytest.mark.parametrize("url_fixture", ["small_demo_db", pytest.param("small_demo_pg", marks=pytest.mark.postgres)])
def test_catalog_init_drafts_a_view_per_table_that_checks_and_compiles(url_fixture, request):
    from db.introspect import draft_catalog

    value = request.getfixturevalue(url_fixture)
    url = value if isinstance(value, str) else f"sqlite:///{value}"
    drafted = parse_catalog(yaml.safe_load(draft_catalog(url, sample=False)), "draft")
    assert set(drafted.views) == set(drafted.exposed_tables)
    assert drafted.views_drafted and not load_catalog().views_drafted     # reviewed views answer first
    coupons = drafted.views["ticket_segments"]
    assert list(coupons.joins) == ["flight", "ticket", "aircraft_type", "destination", "origin", "booking", "passenger"]
    assert {"flight_status", "origin_city", "destination_city", "passenger_last_name"} <= set(coupons.columns)
    engine = make_engine(url)
    check_against_database(drafted, engine)
    dialect = "postgres" if url.startswith("postgresql") else "sqlite"
    sql = compile_sql("SELECT destination_city, COUNT(*) AS n FROM ticket_segments WHERE status = 'no_show' "
                      "GROUP BY destination_city ORDER BY n DESC, destination_city LIMIT 3", drafted.views, dialect)
    checked = check_sql(sql, catalog=drafted, dialect=dialect, role="agent")
    with engine.connect() as conn:
        got = conn.execute(sa.text(checked.sql_out)).fetchall()
        by_hand = conn.execute(sa.text(
            "SELECT a.city, COUNT(*) AS n FROM ticket_segments s JOIN flights f ON f.flight_id = s.flight_id "
            "JOIN airports a ON a.iata_code = f.destination WHERE s.status = 'no_show' GROUP BY a.city "
            "ORDER BY n DESC, a.city LIMIT 3")).fetchall()
    assert [tuple(r) for r in got] == [tuple(r) for r in by_hand] and got


def test_catalog_init_drafts_views_for_the_spider_aviation_databases(shared_dir):
    from db.introspect import draft_catalog

    joined = 0
    for db in sorted((shared_dir / "eval-data/spider-aviation/database").glob("*/*.sqlite")):
        url = f"sqlite:///{db}"
        drafted = parse_catalog(yaml.safe_load(draft_catalog(url, sample=False)), db.name)
        check_against_database(drafted, make_engine(url))
        joined += sum(bool(v.joins) for v in drafted.views.values())
    assert joined >= 6         # every database with foreign keys has views that join


def test_the_views_prompt_carries_the_glossary_in_the_views_names():
    """Staff's words ('maleta', 'asiento', 'cupón') reach the views' prompt as the views call things:
    a table as the view of its rows, a column by its view name; no base table name is left in it."""
    from assistant.plan.prompt import view_glossary, view_prefix

    catalog = load_catalog()
    glossary = view_glossary(catalog)
    assert "equipaje / maleta / maletas / bag / luggage = bags" in glossary
    assert "asiento / seat = seat" in glossary and "= coupons" in glossary and "= ssrs" in glossary
    assert "perdida / extraviada = bag_status = 'lost'" in glossary
    for table in ("ticket_segments", "baggage", "special_service_requests", "aircraft_types"):
        assert table not in glossary
    assert "Glossary (words staff use): " + glossary in view_prefix(catalog, "sqlite", "")
    assert "Glossary" not in view_prefix(catalog, "sqlite", "", glossary=False)
    bare = parse_catalog(demo_doc() | {"terms": {}}, "no terms")
    assert "Glossary" not in view_prefix(bare, "sqlite", "")
