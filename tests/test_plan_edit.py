"""Plan edits (assistant/plan/edit.py): each change to a plan rewrites its one-view query, which compiles
and runs on the real demo database with the rows the change asks for; an edit that names a column the
view lacks, an index out of range, or a plan that cannot be edited is refused with the reason."""
from __future__ import annotations

import sqlite3

import pytest

from assistant.plan.compile import compile_sql
from assistant.plan.edit import Edit, EditError, apply_edit
from assistant.plan.plan import read_plan
from db.catalog import load_catalog

VIEWS = load_catalog().views
BY_CITY = ("SELECT origin_city, COUNT(*) AS n FROM coupons WHERE coupon_status = 'no_show' AND cabin = 'economy' "
           "GROUP BY origin_city ORDER BY n DESC LIMIT 3")


def run(db, view_sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(compile_sql(view_sql, VIEWS, "sqlite")).fetchall()


def edited(sql: str, **kw) -> str:
    return apply_edit(sql, Edit(**kw), VIEWS, "sqlite")


def test_removing_a_filter_widens_the_rows_and_the_plan_loses_it(small_demo_db):
    out = edited(BY_CITY, kind="remove_filter", index=1)
    plan = read_plan(out, VIEWS, "sqlite")
    assert [f.column for f in plan.filters] == ["coupon_status"]
    unlimited = dict(kind="set_limit", limit=None)
    before, after = dict(run(small_demo_db, edited(BY_CITY, **unlimited))), dict(run(small_demo_db, edited(out, **unlimited)))
    assert sum(after.values()) >= sum(before.values()) and set(after) >= set(before)
    assert run(small_demo_db, out) == run(small_demo_db, "SELECT origin_city, COUNT(*) AS n FROM coupons WHERE "
                                          "coupon_status = 'no_show' GROUP BY origin_city ORDER BY n DESC LIMIT 3")


def test_removing_the_only_filter_drops_the_where():
    out = edited("SELECT COUNT(*) FROM flights WHERE origin = 'MEX'", kind="remove_filter", index=0)
    assert "WHERE" not in out.upper()


def test_a_filter_value_changed_in_place_keeps_its_column_and_the_rest(small_demo_db):
    out = edited(BY_CITY, kind="set_filter", index=1, values=("business",))
    plan = read_plan(out, VIEWS, "sqlite")
    assert [(f.column, f.op, f.values) for f in plan.filters] == [("coupon_status", "=", ("no_show",)),
                                                                  ("cabin", "=", ("business",))]
    assert plan.groupings == ("origin_city",) and plan.limit == 3
    run(small_demo_db, out)


@pytest.mark.parametrize("operator, values, sql", [
    ("IN", ("MEX", "CUN"), "origin IN ('MEX', 'CUN')"),
    ("NOT IN", ("MEX",), "NOT origin IN ('MEX')"),
    ("BETWEEN", ("2026-06-01", "2026-06-30"), "origin BETWEEN '2026-06-01' AND '2026-06-30'"),
    ("IS NULL", (), "origin IS NULL"),
    (">=", (10,), "origin >= 10"),
])
def test_a_filter_is_added_with_each_operator(operator, values, sql):
    out = edited("SELECT COUNT(*) FROM flights", kind="add_filter", columns=("origin",), operator=operator,
                 values=values)
    assert out.endswith("WHERE " + sql)
    assert read_plan(out, VIEWS, "sqlite").editable


def test_changing_the_grouping_puts_the_new_column_first_and_keeps_the_measure(small_demo_db):
    out = edited(BY_CITY, kind="set_grouping", columns=("destination_city",))
    plan = read_plan(out, VIEWS, "sqlite")
    assert plan.groupings == ("destination_city",) and plan.fields == ("destination_city",)
    assert [m.function for m in plan.measures] == ["COUNT"] and plan.order == (("n", True),)
    assert len(run(small_demo_db, out)) == 3


def test_no_grouping_is_one_total_and_an_order_by_the_old_grouping_goes(small_demo_db):
    sql = "SELECT cabin, COUNT(*) FROM coupons GROUP BY cabin ORDER BY cabin"
    out = edited(sql, kind="set_grouping", columns=())
    assert read_plan(out, VIEWS, "sqlite").groupings == ()
    assert "ORDER" not in out.upper()
    total = run(small_demo_db, out)
    assert total[0][0] == sum(n for _, n in run(small_demo_db, sql))


def test_the_measure_changes_and_an_order_by_it_follows(small_demo_db):
    sql = "SELECT cabin, COUNT(*) FROM coupons GROUP BY cabin ORDER BY COUNT(*) DESC"
    out = edited(sql, kind="set_measure", index=0, function="COUNT", columns=("passenger_id",), distinct=True)
    assert "COUNT(DISTINCT passenger_id)" in out and out.endswith("ORDER BY COUNT(DISTINCT passenger_id) DESC")
    rows = run(small_demo_db, out)
    assert all(d <= n for (_, d), (_, n) in zip(sorted(rows), sorted(run(small_demo_db, sql))))


def test_order_and_limit(small_demo_db):
    out = edited(BY_CITY, kind="set_limit", limit=5)
    assert len(run(small_demo_db, out)) == 5
    out = edited(out, kind="set_order", descending=False)
    counts = [n for _, n in run(small_demo_db, out)]
    assert counts == sorted(counts)
    assert read_plan(edited(out, kind="set_limit", limit=None), VIEWS, "sqlite").limit is None


@pytest.mark.parametrize("sql, edit, says", [
    (BY_CITY, dict(kind="add_filter", columns=("password_hash",), values=("x",)), "has no column 'password_hash'"),
    (BY_CITY, dict(kind="remove_filter", index=5), "there is no filter 5"),
    (BY_CITY, dict(kind="set_measure", index=0, function="DROP"), "unknown measure"),
    (BY_CITY, dict(kind="set_limit", limit=0), "1 or more"),
    (BY_CITY, dict(kind="add_filter", columns=("cabin",), operator="; DROP", values=("x",)), "unknown operator"),
    ("SELECT COUNT(*) FROM flights WHERE origin = 'MEX' OR destination = 'MEX'",
     dict(kind="remove_filter", index=0), "cannot be edited"),
    ("SELECT origin FROM flights", dict(kind="set_grouping", columns=("origin",)), "only a query with a count"),
])
def test_an_edit_that_cannot_apply_is_refused_with_the_reason(sql, edit, says):
    with pytest.raises(EditError, match=says):
        apply_edit(sql, Edit(**edit), VIEWS, "sqlite")


def test_an_edit_from_the_api_form_is_checked():
    e = Edit.from_dict({"kind": "set_filter", "index": "1", "values": "business"})
    assert e.index == 1 and e.values == ("business",)
    assert e.describe() == "set_filter 1 = 'business'"
    with pytest.raises(EditError, match="needs a kind"):
        Edit.from_dict({"kind": "drop_table"})
    with pytest.raises(EditError, match="malformed"):
        Edit.from_dict({"kind": "set_limit", "limit": "ten"})


def test_a_value_is_always_a_literal_never_sql():
    out = edited("SELECT COUNT(*) FROM flights", kind="add_filter", columns=("origin",),
                 values=("MEX' OR 1=1 --",))
    assert out.endswith("WHERE origin = 'MEX'' OR 1=1 --'")
    assert len(read_plan(out, VIEWS, "sqlite").filters) == 1


def test_the_grouping_choices_are_the_views_dimensions_on_both_engines(small_demo_url):
    """What the 'Agrupar por' box offers: categories staff group by (status, cabin, city, date, month),
    never a personal column, a look-up key, a timestamp, a number or an id: read from the database's
    column types, so PostgreSQL's VARCHAR and DATE count as SQLite's TEXT does."""
    from assistant.plan.choices import grouping_choices
    from assistant.schema_facts import SchemaFacts

    catalog = load_catalog()
    dialect = "sqlite" if small_demo_url.startswith("sqlite") else "postgres"
    types = SchemaFacts(catalog, small_demo_url, fetch=None).types
    coupons = grouping_choices(catalog.views["coupons"], catalog, types, dialect)
    assert {"cabin", "coupon_status", "origin_city", "destination_country", "loyalty_tier", "channel",
            "flight_date", "flight_month"} <= set(coupons)
    assert not {"first_name", "last_name", "email", "document_number", "record_locator", "ticket_number",
                "fare_amount", "total_fare", "departure_delay_min", "passenger_id", "scheduled_departure"} & set(coupons)
    assert grouping_choices(catalog.views["bookings"], catalog, types, dialect) == \
        ["channel", "booking_status", "currency", "booking_date"]
