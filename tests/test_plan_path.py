"""The views path through the whole pipeline (`query_path = views`), with a scripted fake model on the
real seeded demo: the model's one-view SQL is expanded, guarded, run, masked and audited; one repair
turn shows the view's columns; what the views cannot answer falls back to the tables path."""
from __future__ import annotations

import sqlite3
from importlib import resources

import pytest
import sqlalchemy as sa
import yaml

from assistant.pipeline import Assistant
from db.catalog import DEFAULT_CATALOG, CatalogError, load_catalog
from db.errors import ConfigError
from db.settings import Settings, load_settings
from sql_tools.audit import get_audit_log
from tests.fakes import PrefixChat, RecordingChat

NO_SHOWS = ("SELECT origin_city, COUNT(*) AS n FROM coupons WHERE coupon_status = 'no_show' "
            "GROUP BY origin_city ORDER BY n DESC, origin_city LIMIT 3")
BY_HAND = ("SELECT a.city, COUNT(*) AS n FROM ticket_segments s JOIN flights f ON f.flight_id = s.flight_id "
           "JOIN airports a ON a.iata_code = f.origin WHERE s.status = 'no_show' GROUP BY a.city "
           "ORDER BY n DESC, a.city LIMIT 3")


@pytest.fixture
def settings(small_demo_db, tmp_path):
    return Settings(database_url=f"sqlite:///{small_demo_db}", app_url=f"sqlite:///{tmp_path / 'app.sqlite'}",
                    query_path="views")


def make(settings, responses, role="agent"):
    chat = RecordingChat(responses)
    return Assistant(settings, chat_model=chat, role=role, user="tester"), chat


def audit(settings):
    return get_audit_log(settings.app_url).tail(50)


def system_of(call) -> str:
    return str(call[0].content)


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_one_view_query_is_expanded_guarded_run_and_audited(engine, settings, small_demo_db, request, tmp_path):
    if engine == "postgres":
        settings = Settings(database_url=request.getfixturevalue("small_demo_pg"),
                            app_url=f"sqlite:///{tmp_path / 'app-pg.sqlite'}", query_path="views")
    a, chat = make(settings, [NO_SHOWS])
    ans = a.ask("Which three origin cities had the most no-shows?")
    assert ans.error is None and ans.path == "views" and ans.llm_calls == 1
    assert "CREATE VIEW coupons" in system_of(chat.calls[0]) and "CREATE TABLE" not in system_of(chat.calls[0])
    assert ans.sql_generated == NO_SHOWS and "FROM ticket_segments AS coupons" in ans.sql
    assert ans.plan["view"] == "coupons" and ans.plan["editable"]
    assert [(f["column"], f["op"], f["values"]) for f in ans.plan["filters"]] == [("coupon_status", "=", ["no_show"])]
    engine_ = sa.create_engine(settings.database_url)
    with engine_.connect() as conn:
        expected = [tuple(r) for r in conn.execute(sa.text(BY_HAND))]
    assert [tuple(r) for r in ans.rows.itertuples(index=False)] == expected and expected
    assert list(ans.rows.columns) == ["origin_city", "n"]
    record = audit(settings)[-1]
    assert record.verdict == "accepted" and record.trace == "views" and "ticket_segments" in record.sql_out
    assert ans.to_dict()["path"] == "views" and ans.to_dict()["plan"]["view"] == "coupons"


def test_hints_speak_view_columns(settings):
    a, chat = make(settings, ["SELECT COUNT(*) FROM coupons WHERE carrier_code = 'XA' AND flight_number = 401"])
    a.ask("How many passengers are booked on XA401?")
    question = str(chat.calls[0][-1].content)
    assert "carrier_code = 'XA' AND flight_number = 401" in question and "flights." not in question


def test_an_unknown_view_column_gets_one_repair_turn_with_the_views_columns(settings):
    a, chat = make(settings, ["SELECT COUNT(*) FROM bags WHERE status = 'lost'",
                              "SELECT COUNT(*) FROM bags WHERE bag_status = 'lost'"])
    ans = a.ask("How many bags are lost?")
    assert ans.error is None and ans.path == "views" and ans.llm_calls == 2
    repair = str(chat.calls[1][-1].content)
    assert "unknown column 'status'" in repair and "bags(bag_tag, segment_id, weight_kg, bag_status" in repair
    assert system_of(chat.calls[1]).startswith(system_of(chat.calls[0])[:200])      # the same views prefix
    assert [r.verdict for r in audit(settings)] == ["rejected", "accepted"]


def test_a_reply_over_the_tables_or_a_failed_repair_falls_back_to_the_tables_path(settings, small_demo_db):
    a, chat = make(settings, ["SELECT COUNT(*) FROM baggage WHERE status = 'lost'",       # not over a view
                              "SELECT COUNT(*) FROM baggage WHERE status = 'lost'"])      # the tables path
    ans = a.ask("How many bags are lost?")
    assert ans.error is None and ans.path == "tables" and ans.llm_calls == 2 and ans.plan is None
    assert "CREATE TABLE baggage" in system_of(chat.calls[1])
    with sqlite3.connect(small_demo_db) as conn:
        lost = conn.execute("SELECT COUNT(*) FROM baggage WHERE status = 'lost'").fetchone()[0]
    assert ans.rows.iloc[0, 0] == lost

    a, chat = make(settings, ["SELECT nope FROM bags", "SELECT still_nope FROM bags",
                              "SELECT COUNT(*) FROM baggage"])
    ans = a.ask("How many bags are there?")
    assert ans.error is None and ans.path == "tables" and ans.llm_calls == 3 and ans.trace == ()
    assert [r.verdict for r in audit(settings)][-3:] == ["rejected", "rejected", "accepted"]


def test_a_role_reads_no_more_through_a_view(settings):
    a, chat = make(settings, ["SELECT document_number FROM coupons WHERE flight_number = 401",
                              "SELECT document_number FROM coupons WHERE flight_number = 401",
                              "SELECT p.document_number FROM passengers p",
                              "SELECT p.document_number FROM passengers p"], role="analyst")
    ans = a.ask("Documents of the passengers on flight 401")
    assert ans.rows.empty or "document_number" not in ans.rows.columns
    assert all(r.verdict != "accepted" for r in audit(settings))


def test_the_model_refusing_on_the_views_path_is_a_refusal(settings):
    a, _ = make(settings, ["REFUSE"])
    ans = a.ask("Delete every booking made yesterday please, in the system")
    assert ans.refused


def test_views_are_the_default_tables_on_request_and_a_catalog_without_views_answers_on_the_tables(
        settings, small_demo_db, tmp_path):
    plain = Settings(database_url=settings.database_url, app_url=settings.app_url)
    assert plain.query_path == "auto" and load_settings({}).query_path == "auto"
    a, chat = make(plain, ["SELECT COUNT(*) AS n FROM bags"])
    assert a.ask("How many bags are there?").path == "views" and a.views_first
    tables = plain.replace(query_path="tables")
    a, chat = make(tables, ["SELECT COUNT(*) FROM baggage"])
    ans = a.ask("How many bags are there?")
    assert ans.path == "tables" and "CREATE VIEW" not in system_of(chat.calls[0]) and not a.views_first
    doc = yaml.safe_load(resources.files("db.catalog").joinpath(DEFAULT_CATALOG).read_text(encoding="utf-8"))
    doc.pop("views")
    path = tmp_path / "no-views.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    without = Settings(database_url=settings.database_url, app_url=settings.app_url, query_path="views",
                       catalog_path=str(path))
    a, chat = make(without, ["SELECT COUNT(*) FROM baggage"])
    assert a.ask("How many bags are there?").path == "tables" and not a.views_first


def test_drafted_views_answer_second_unless_views_are_asked_for(settings, tmp_path):
    """`auto` (the default) puts the views first only once someone has reviewed them: a catalog whose
    views are as `abordo catalog init` drafted them (views_drafted: true) answers on the tables, as
    measured best on Spider's drafted catalogs; `query_path = views` still puts them first."""
    doc = yaml.safe_load(resources.files("db.catalog").joinpath(DEFAULT_CATALOG).read_text(encoding="utf-8"))
    doc["views_drafted"] = True
    path = tmp_path / "drafted.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    auto = Settings(database_url=settings.database_url, app_url=settings.app_url, catalog_path=str(path))
    a, chat = make(auto, ["SELECT COUNT(*) FROM baggage"])
    assert not a.views_first and a.ask("How many bags are there?").path == "tables"
    assert "CREATE VIEW" not in system_of(chat.calls[0])
    a, _ = make(auto.replace(query_path="views"), ["SELECT COUNT(*) AS n FROM bags"])
    assert a.views_first and a.ask("How many bags are there?").path == "views"
    doc["views_drafted"] = "yes"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError, match="views_drafted"):
        load_catalog(path)


def test_query_path_setting_is_checked():
    assert load_settings(env={"ABORDO_QUERY_PATH": "views"}).query_path == "views"
    assert load_settings(env={"ABORDO_QUERY_PATH": "auto"}).query_path == "auto"
    with pytest.raises(ConfigError, match="query_path"):
        load_settings(env={"ABORDO_QUERY_PATH": "plans"})


def test_both_prefixes_are_warmed_when_the_views_answer_first(settings):
    a, _ = make(settings, ["SELECT 1"])
    prefixes = a.prefixes()
    assert len(prefixes) == 2 and "CREATE VIEW" in str(prefixes[0][0].content)
    assert "CREATE TABLE" in str(prefixes[1][0].content)


def warmed(chat) -> list[str]:
    return [text for _thread, text, _calls in chat.warmed]


def test_a_question_makes_ready_only_the_prefix_its_call_starts_with(settings):
    """A new process (`abordo ask`) restores the views' prefix for a question the views answer, and the
    tables' only when a question falls back to them: each once, before the call that starts with it."""
    chat = PrefixChat(["SELECT COUNT(*) FROM bags", "SELECT COUNT(*) FROM bags WHERE bag_status = 'lost'",
                       "SELECT COUNT(*) FROM baggage WHERE status = 'lost'",                  # not over a view
                       "SELECT COUNT(*) FROM baggage WHERE status = 'lost'"])
    a = Assistant(settings, chat_model=chat, role="agent", user="tester")
    views, tables = (str(m[0].content) for m in a.prefixes())
    assert a.ask("How many bags are there?").path == "views"
    assert warmed(chat) == [views] and chat.preloads == 1
    assert a.ask("How many bags are lost?").path == "views"
    assert warmed(chat) == [views]                                # ready: not asked for again
    ans = a.ask("How many lost bags are there?")
    assert ans.path == "tables" and ans.llm_calls == 2
    assert warmed(chat) == [views, tables]                        # the fallback's prefix, once it was needed
    assert [system_of(c) for c in chat.calls] == [views, views, views, tables]
    a.warm()                                                      # a server warms every prefix at start
    assert warmed(chat) == [views, tables, views, tables]


def test_a_card_or_a_refusal_loads_no_model(settings):
    chat = PrefixChat([])
    a = Assistant(settings, chat_model=chat, role="agent", user="tester")
    with sqlite3.connect(settings.database_url.removeprefix("sqlite:///")) as conn:
        locator = conn.execute("SELECT record_locator FROM bookings LIMIT 1").fetchone()[0]
    assert a.ask(f"Booking {locator}").card is not None
    assert a.ask("DROP TABLE passengers").refused
    assert chat.warmed == [] and chat.preloads == 0 and chat.calls == []


def test_headers_come_from_the_views_columns(settings):
    a, _ = make(settings, ["SELECT origin_city, destination_city, COUNT(*) AS n FROM coupons "
                           "GROUP BY origin_city, destination_city ORDER BY n DESC LIMIT 3"])
    ans = a.ask("Pasajeros por ciudad de origen y de destino")
    assert ans.labels_by_lang["es"][:2] == ["Ciudad (origen)", "Ciudad (destino)"]
    assert ans.labels_by_lang["en"][:2] == ["City (origin)", "City (destination)"]
    assert ans.text.startswith("3 grupos por Ciudad (origen), Ciudad (destino).")


def test_a_view_that_drops_a_named_place_gets_a_repair_naming_the_views_that_have_it(settings, small_demo_db):
    a, chat = make(settings, ["SELECT record_locator FROM bookings",
                              "SELECT DISTINCT record_locator FROM coupons WHERE destination = 'CUN'"])
    ans = a.ask("Record locators of bookings with a coupon on a flight to CUN")
    assert ans.error is None and ans.path == "views" and ans.llm_calls == 2
    repair = str(chat.calls[1][-1].content)
    assert "does not use it" in repair and "'CUN'" in repair and "coupons" in repair.split("views with that column:")[1]
    with sqlite3.connect(small_demo_db) as conn:
        expected = {r[0] for r in conn.execute(
            "SELECT DISTINCT b.record_locator FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
            "JOIN ticket_segments s ON s.ticket_number = t.ticket_number JOIN flights f ON f.flight_id = s.flight_id "
            "WHERE f.destination = 'CUN'")}
    assert set(ans.rows.iloc[:, 0]) == expected and expected
    assert [r.code for r in audit(settings)][:1] == ["value_ignored"]


def test_ignored_values_reads_literals():
    from assistant.checks import ignored_values
    from assistant.question.link.hints import Hint

    flight = Hint("flight", "XA401", ("XA", 401), "'XA401' is flight XA401")
    place = Hint("airport", "MEX", "MEX", "'MEX' is airport 'MEX'")
    name = Hint("passenger", "Ana Ruiz", (512,), "'Ana Ruiz' matches passenger 512")
    assert ignored_values("SELECT 1 FROM coupons WHERE carrier_code = 'XA' AND flight_number = 401 AND origin <> 'MEX'",
                          [flight, place, name]) == []
    assert ignored_values("SELECT 1 FROM coupons WHERE flight_number = 4010", [flight, place, name]) == [flight, place]


def test_a_final_error_on_the_views_path_ends_the_question(settings, tmp_path):
    doc = yaml.safe_load(resources.files("db.catalog").joinpath(DEFAULT_CATALOG).read_text(encoding="utf-8"))
    doc["roles"]["agent"]["max_passengers_per_query"] = 5
    path = tmp_path / "strict.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    strict = Settings(database_url=settings.database_url, app_url=settings.app_url, query_path="views",
                      catalog_path=str(path))
    a, chat = make(strict, ["SELECT first_name, last_name FROM coupons WHERE coupon_status = 'flown'"])
    ans = a.ask("Names of the passengers who flew")
    assert ans.error == "bulk_extraction_refused" and ans.path == "views" and ans.llm_calls == 1
    assert "5" in ans.text


# --- editing an answer's plan (issue 27): no model call, the same guard and audit ------------------

def test_an_edited_plan_runs_with_no_model_call_and_the_audit_names_the_edit(settings):
    from assistant.plan.edit import Edit

    a, chat = make(settings, [NO_SHOWS], role="supervisor")
    first = a.ask("Which three origin cities had the most no-shows?")
    calls = len(chat.calls)
    ans = a.edit(first.question, first.plan["sql"], Edit("set_grouping", columns=("destination_city",)))
    assert len(chat.calls) == calls and ans.llm_calls == 0
    assert ans.error is None and ans.path == "views" and ans.plan["groupings"] == ["destination_city"]
    assert ans.plan["edit"] == "set_grouping destination_city"
    assert "destination_airport" in ans.sql and list(ans.rows.columns)[0] == "destination_city"
    assert ans.column_labels[0] == "City (destination)" and ans.text
    assert audit(settings)[-1].trace.startswith("views,edit: set_grouping destination_city")
    wider = a.edit(first.question, ans.plan["sql"], Edit("remove_filter", index=0))
    assert wider.plan["filters"] == [] and wider.rows["n"].sum() > ans.rows["n"].sum()


def test_an_edit_reads_nothing_a_question_could_not(settings):
    from assistant.plan.edit import Edit, EditError

    a, _ = make(settings, [], role="agent")
    sql = "SELECT COUNT(*) AS n FROM passengers WHERE nationality = 'MX'"
    with pytest.raises(EditError, match="no column"):
        a.edit("how many", sql, Edit("add_filter", columns=("password_hash",), values=("x",)))
    ans = a.edit("how many", sql, Edit("set_grouping", columns=("document_number",)))
    assert ans.error is not None and ans.rows.empty          # the guard: no grouping by a document for an agent
    assert audit(settings)[-1].trace.startswith("views,edit: set_grouping document_number")
