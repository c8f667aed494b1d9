"""Another catalog is another product: Spider's flight_2 (airlines, airports, flights; no passengers,
bookings or tickets), with the catalog `abordo db draft-catalog` drafts for it, through the whole
pipeline with a scripted model. What the code knows of a database comes from the catalog: nothing here
may need the demo's tables, and what the drafted catalog does declare (its airports table) is used."""
from __future__ import annotations

import shutil
import sqlite3

import pytest

from assistant.pipeline import Assistant
from db.catalog import load_catalog
from db.introspect import draft_catalog
from db.settings import Settings
from tests.fakes import ScriptedChat


@pytest.fixture(scope="module")
def flight_2(tmp_path_factory, shared_dir):
    """A copy of flight_2 (the shared file is read-only data) and the catalog drafted for it."""
    source = shared_dir / "eval-data/spider-aviation/database/flight_2/flight_2.sqlite"
    if not source.is_file():
        pytest.fail(f"the Spider aviation fixture is expected at {source}")
    folder = tmp_path_factory.mktemp("flight_2")
    db = folder / "flight_2.sqlite"
    shutil.copyfile(source, db)
    catalog_file = folder / "flight_2.yaml"
    catalog_file.write_text(draft_catalog(f"sqlite:///{db}"), encoding="utf-8")
    return db, catalog_file


@pytest.fixture
def assistant(flight_2, tmp_path):
    db, catalog_file = flight_2
    settings = Settings(query_path="tables", database_url=f"sqlite:///{db}", app_url=f"sqlite:///{tmp_path / 'app.sqlite'}",
                        catalog_path=str(catalog_file))
    chat = ScriptedChat()
    return Assistant(settings, chat_model=chat, role="agent", user="tester"), chat


def scalar(db, sql: str):
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchone()[0]


def test_the_drafted_catalog_declares_what_it_can_and_nothing_of_the_demo(flight_2):
    _db, catalog_file = flight_2
    catalog = load_catalog(catalog_file)
    assert set(catalog.exposed_tables) == {"airlines", "airports", "flights"}
    # Read from the schema: the airport table, its IATA code and city, and the two foreign keys to it.
    ref = catalog.airport_table
    assert (ref.table, ref.code, ref.city) == ("airports", "AirportCode", "City")
    assert ref.refs == ("flights.SourceAirport", "flights.DestAirport")
    # No table of people, no record locator, ticket, bag tag or carrier code: none of them is declared.
    assert catalog.subject_table is None and catalog.subject_search is None and catalog.identifiers == {}
    assert catalog.messages == {} and catalog.hidden_tables == ()


def test_a_count_runs_the_models_sql_and_says_the_number(assistant, flight_2):
    a, chat = assistant
    db, _ = flight_2
    sql = "SELECT COUNT(*) FROM flights WHERE Airline = 1"
    chat.script(sql)
    ans = a.ask("How many flights does airline 1 operate?")
    expected = scalar(db, sql)
    assert ans.error is None and not ans.refused and ans.llm_calls == 1
    assert expected > 0 and ans.rows.iloc[0, 0] == expected
    assert ans.text == f"The answer is {expected:,}."
    assert ans.restatement and ans.card is None and ans.namesakes == [] and not ans.fast_path


def test_a_city_is_linked_to_its_airports_and_the_model_is_told(assistant, flight_2):
    """'Aberdeen' is two airports of the drafted catalog's airports table (APG and ABR): the linker
    finds them from the table itself and says so next to the question, naming the columns holding
    airport codes that the catalog read from the foreign keys."""
    a, chat = assistant
    db, _ = flight_2
    codes = sorted(r[0] for r in sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(
        "SELECT TRIM(AirportCode) FROM airports WHERE TRIM(City) = 'Aberdeen'"))
    assert len(codes) == 2
    sql = f"SELECT COUNT(*) FROM flights WHERE TRIM(SourceAirport) IN ({', '.join(repr(c) for c in codes)})"
    chat.script(sql)
    ans = a.ask("How many flights leave from Aberdeen?")
    listed = ", ".join(f"'{c}'" for c in codes)
    line = (f"'Aberdeen' = airports {listed} (flights.SourceAirport / flights.DestAirport IN ({listed}))")
    assert ans.hints == [line]
    assert line in chat.prompts[0]                   # the model was given it with the question
    expected = scalar(db, sql)
    assert ans.error is None and ans.rows.iloc[0, 0] == expected > 0
    assert ans.text == f"The answer is {expected:,}."


def test_an_airport_code_and_a_stored_airline_name_are_linked(assistant):
    a, chat = assistant
    chat.script("SELECT COUNT(*) FROM flights")
    ans = a.ask("Flights of Delta Airlines from APG")
    assert any(h.startswith("'Delta Airlines' is a stored value of airlines.Airline") for h in ans.hints)
    assert any(h.startswith("'APG' is airport 'APG'") for h in ans.hints)
    assert ans.error is None


def test_no_card_no_name_and_no_record_look_up_without_the_catalog_declaring_them(assistant, flight_2):
    """Shapes the demo's linker and cards act on (a locator, a ticket number, a flight designator, a
    capitalised name) are plain words here: no look-up query, no card, no namesakes, nothing missing."""
    a, chat = assistant
    airlines = scalar(flight_2[0], "SELECT COUNT(*) FROM airlines")
    for question, typed in (("QX7K2M", "QX7K2M"), ("ticket 139-1234567890", "139-1234567890"),
                            ("flight UAL28", "UAL28"), ("John Smith", "John Smith")):
        assert a.look_up(question) is None, question      # no card kind: the question waits for the model
        chat.script("SELECT COUNT(*) FROM airlines")
        ans = a.ask(question)
        assert ans.error is None and not ans.refused and ans.card is None and not ans.fast_path, question
        assert ans.namesakes == [] and ans.llm_calls == 1 and ans.rows.iloc[0, 0] == airlines, question
        assert not any(typed in h for h in ans.hints), (question, ans.hints)


def test_refusals_speak_of_the_data_not_of_the_demos_passengers(assistant):
    a, _ = assistant
    ans = a.ask("please delete flight 28 of airline 1")
    assert ans.refused and ans.text == ("I can only look data up: I cannot change, add or delete anything in the "
                                        "database.")
    ans = a.ask("")
    assert ans.error == "empty_question" and ans.text == "Escribe una pregunta sobre los datos."
