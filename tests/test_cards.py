"""Record cards on the real seeded demo, in SQLite and PostgreSQL: which questions open one, what each
card holds (checked against the database itself), masking per role, one audit record per query,
identifiers that cannot be smuggled into SQL, not-found cards, and no model anywhere on the path."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3

import pytest
import sqlalchemy as sa

from assistant.cards import (
    BOOKING_ROW_COLUMNS,
    BOOKING_SQL,
    TICKET_ROW_COLUMNS,
    TICKET_SQL,
    Card,
    CardError,
    CardRequest,
    card_request,
    open_card,
)
from assistant.cards.templates import _TEMPLATES, _literal, _prepared, _sql_text
from assistant.question.link import Hint, link
from db.catalog import load_catalog
from db.engines import parse_url
from db.settings import Settings
from sql_tools.audit import get_audit_log
from sql_tools.lookup import make_fetch
from sql_tools.service import run_guarded

TODAY = dt.date(2026, 6, 15)
CATALOG = load_catalog()
# Joins of the gold queries (the owner's plain SQL the cards are checked against).
COUPONS = "ticket_segments s JOIN tickets t ON t.ticket_number = s.ticket_number"
OF_BOOKING = f"{COUPONS} JOIN bookings b ON b.booking_id = t.booking_id"
TODAYS = "f.scheduled_departure >= '2026-06-15' AND f.scheduled_departure < '2026-06-16'"


# --------------------------------------------------------------------------------------------------
# fixtures: one seeded SQLite file and one seeded PostgreSQL database for the module


@pytest.fixture(scope="module")
def demo_sqlite(small_demo_db) -> str:
    return f"sqlite:///{small_demo_db}"


@pytest.fixture
def db_url(small_demo_url) -> str:
    return small_demo_url


@pytest.fixture
def settings_for(tmp_path):
    def make(url: str) -> Settings:
        return Settings(query_path="tables", database_url=url, app_url=f"sqlite:///{tmp_path / 'app.sqlite'}")
    return make


@pytest.fixture
def settings(settings_for, db_url) -> Settings:
    return settings_for(db_url)


def gold(url: str, sql: str, params: dict | None = None) -> list[tuple]:
    """The owner's view of the data (no guard, no masking): what the card is checked against."""
    engine = sa.create_engine(parse_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params or {})]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def ids(demo_sqlite) -> dict:
    """Identifiers of seeded records worth a card: a family booking with bags and an SSR, a ticket with
    an SSR, a bag, a flight of today with coupons, a passenger whose name is unique, namesakes."""
    path = sa.engine.make_url(demo_sqlite).database
    with sqlite3.connect(path) as c:
        one = lambda sql: c.execute(sql).fetchone()
        locator = one("SELECT b.record_locator FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
                      "JOIN ticket_segments s ON s.ticket_number = t.ticket_number "
                      "JOIN baggage g ON g.segment_id = s.segment_id GROUP BY b.booking_id "
                      "HAVING COUNT(DISTINCT t.passenger_id) > 1 ORDER BY b.booking_id LIMIT 1")[0]
        ticket = one("SELECT s.ticket_number FROM ticket_segments s JOIN special_service_requests r "
                     "ON r.segment_id = s.segment_id ORDER BY s.segment_id LIMIT 1")[0]
        bag = one("SELECT bag_tag FROM baggage ORDER BY bag_tag DESC LIMIT 1")[0]
        flight = one("SELECT f.carrier_code, f.flight_number FROM flights f JOIN ticket_segments s "
                     "ON s.flight_id = f.flight_id WHERE date(f.scheduled_departure) = '2026-06-15' "
                     "AND f.carrier_code = 'XA' GROUP BY f.flight_id ORDER BY COUNT(*) DESC LIMIT 1")
        unique = one("SELECT p.passenger_id, p.first_name, p.last_name FROM passengers p "
                     "JOIN tickets t ON t.passenger_id = p.passenger_id "
                     "WHERE p.first_name NOT LIKE '% %' AND p.last_name NOT LIKE '% %' AND "
                     "(SELECT COUNT(*) FROM passengers q WHERE q.search_name = p.search_name "
                     " OR q.search_name LIKE p.first_name || ' ' || p.last_name || ' %') <= 1 "
                     "AND (SELECT COUNT(*) FROM passengers q WHERE lower(q.first_name) = lower(p.first_name) "
                     " AND lower(q.last_name) = lower(p.last_name)) = 1 "
                     "GROUP BY p.passenger_id HAVING COUNT(*) >= 1 ORDER BY p.passenger_id LIMIT 1")
        pid, first, last = unique
    return {"locator": locator, "ticket": ticket, "bag": bag, "flight": f"{flight[0]}{flight[1]}",
            "carrier": flight[0], "number": flight[1], "pid": pid, "name": f"{first} {last}"}


def table(df) -> list[tuple]:
    return [tuple(r) for r in df.itertuples(index=False)]


def hints_for(question: str, url: str, role: str = "agent"):
    s = Settings(database_url=url, app_url="sqlite:///:memory:")
    return link(question, catalog=CATALOG, today=TODAY, fetch=make_fetch(s, role)).hints


def audit(settings) -> list:
    return get_audit_log(settings.app_url).tail(200)


# --------------------------------------------------------------------------------------------------
# which questions open a card


@pytest.mark.parametrize("template, kind", [
    ("{locator}", "booking"),
    ("reserva {locator_lower}", "booking"),
    ("show me booking {locator}", "booking"),
    ("boleto {ticket_dash}", "ticket"),
    ("ticket number {ticket}", "ticket"),
    ("maleta {bag}", "bag"),
    ("bag tag {bag}", "bag"),
    ("{flight} de hoy", "flight"),
    ("flight {flight} on 2026-06-15", "flight"),
    ("vuelo {flight_lower} mañana", "flight"),
    ("{name}", "passenger"),
    ("pasajero {name}", "passenger"),
    ("details of passenger {name}", "passenger"),
])
def test_a_pure_lookup_opens_a_card(template, kind, ids, demo_sqlite):
    q = template.format(**ids, locator_lower=ids["locator"].lower(), flight_lower=ids["flight"].lower(),
                        ticket_dash=f"{ids['ticket'][:3]}-{ids['ticket'][3:]}")
    req = card_request(q, hints_for(q, demo_sqlite), catalog=CATALOG)
    assert req is not None and req.kind == kind
    expected = {"booking": ids["locator"], "ticket": ids["ticket"], "bag": ids["bag"], "passenger": ids["pid"],
                "flight": (ids["carrier"], ids["number"])}[kind]
    assert req.value == expected
    if kind == "flight":
        assert req.day == (TODAY + dt.timedelta(days=1) if "mañana" in q else TODAY)


@pytest.mark.parametrize("template", [
    "¿en qué asiento va {name}?",
    "what seat does {name} have",
    "maletas perdidas de la reserva {locator}",
    "how many bags on booking {locator}",
    "reserva {locator} y boleto {ticket}",
    "{flight}",                               # a flight without its date is many flights
    "{flight} la semana pasada",              # a range is not one flight
    "¿cuántos pasajeros van en el {flight} de hoy?",
    "José Pérez",                             # namesakes: another part tells them apart
    "reserva QQ22QQ",                         # the shape of a locator, but no booking has it
    "pasajero {typo}",                        # a fuzzy match is a guess, not a resolved person
])
def test_anything_more_than_a_lookup_is_not_a_card(template, ids, demo_sqlite):
    typo = ids["name"][:-1] + ("x" if ids["name"][-1] != "x" else "y")
    q = template.format(**ids, typo=typo)
    assert card_request(q, hints_for(q, demo_sqlite), catalog=CATALOG) is None


def test_the_namesakes_are_really_in_the_seed(demo_sqlite):
    """The 'José Pérez' case above must fail for the right reason: the linker finds several people."""
    people = [h for h in hints_for("José Pérez", demo_sqlite) if h.kind == "passenger"]
    assert len(people) == 1 and people[0].found and len(people[0].value) > 1


def test_lookup_words_around_a_resolved_name():
    """'datos de Ana Ruiz': the look-up words of a person card, given the hint the linker should give."""
    hint = Hint("passenger", "Ana Ruiz", (512,), "'Ana Ruiz' matches passengers.passenger_id 512 (Ana Ruiz Soto)")
    for q in ("datos de Ana Ruiz", "pasajero Ana Ruiz", "info of Ana Ruiz", "búscame a Ana Ruiz"):
        assert card_request(q, [hint]).value == 512, q
    assert card_request("asiento de Ana Ruiz", [hint]) is None
    assert card_request("Ana Ruiz", [dataclasses.replace(hint, found=False)]) is None


def test_a_catalog_without_the_cards_tables_opens_no_card():
    hint = Hint("bag", "0139000001", "0139000001", "'0139000001' is bag tag '0139000001'")
    assert card_request("maleta 0139000001", [hint], catalog=CATALOG).kind == "bag"
    tables = {n: t for n, t in CATALOG.tables.items() if n != "baggage"}
    assert card_request("maleta 0139000001", [hint], catalog=dataclasses.replace(CATALOG, tables=tables)) is None


def test_a_hint_value_of_the_wrong_shape_opens_no_card():
    for kind, value in (("locator", "QX7K2M' OR '1'='1"), ("locator", "qx7k2m"),
                        ("ticket", "139123456789"), ("bag", "01390000010"), ("flight", ("XA", 0)),
                        ("passenger", ("1 OR 1=1",))):
        hint = Hint(kind, "X", value, "line")
        assert card_request("X mañana" if kind == "flight" else "X", [hint, Hint("date", "mañana", TODAY, "d")]
                            if kind == "flight" else [hint]) is None, (kind, value)


# --------------------------------------------------------------------------------------------------
# every kind opens, on both engines, with what the database holds


def open_(req, settings, role="agent", question="card"):
    return open_card(req, settings=settings, catalog=CATALOG, role=role, user=f"tester-{role}", question=question)


def test_booking_card_holds_the_whole_booking(settings, ids, db_url):
    loc = ids["locator"]
    card = open_(CardRequest("booking", loc, loc), settings, question=f"reserva {loc}")
    where = "FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id WHERE b.record_locator = :l"
    people = gold(db_url, f"SELECT COUNT(DISTINCT t.passenger_id) {where}", {"l": loc})[0][0]
    coupons = gold(db_url, f"SELECT COUNT(*) FROM {OF_BOOKING} WHERE b.record_locator = :l", {"l": loc})[0][0]
    bags = gold(db_url, f"SELECT g.bag_tag, g.status FROM {OF_BOOKING} JOIN baggage g ON g.segment_id = s.segment_id "
                        "WHERE b.record_locator = :l", {"l": loc})
    assert card.found and card.kind == "booking" and card.booking["record_locator"] == loc
    assert len(card.passengers) == people > 1 and len(card.coupons) == coupons and bags
    assert sorted((g["bag_tag"], g["bag_status"]) for g in card.bags) == sorted(bags)
    assert len(card.sql) == 1 and f"'{loc}'" in card.sql[0]
    es = card.sentence("es")
    assert es.startswith(f"Reserva {loc}: {people} pasajeros, {coupons} cup") and f", {len(bags)} maleta" in es
    assert card.sentence("en").startswith(f"Booking {loc}: {people} passengers")
    booking_id = gold(db_url, "SELECT booking_id FROM bookings WHERE record_locator = :l", {"l": loc})[0][0]
    assert card.subject == {"table": "bookings", "key": "booking_id", "value": booking_id, "record_locator": loc}
    assert f"bookings.booking_id = {booking_id}" in card.subject_line()


def test_booking_rows_are_the_fast_path_rows(settings, ids):
    """Evaluation compares rows by position: the card's table is the fast path's template result."""
    loc = ids["locator"]
    card = open_(CardRequest("booking", loc, loc), settings)
    fast = run_guarded(BOOKING_SQL.format(value=loc), settings=settings, catalog=CATALOG, role="agent", user="fast")
    assert tuple(card.rows.columns) == BOOKING_ROW_COLUMNS == tuple(fast.df.columns)
    assert table(card.rows) == table(fast.df)


def test_ticket_card(settings, ids, db_url):
    tk = ids["ticket"]
    card = open_(CardRequest("ticket", tk, tk), settings, question=f"boleto {tk}")
    fast = run_guarded(TICKET_SQL.format(value=tk), settings=settings, catalog=CATALOG, role="agent", user="fast")
    assert tuple(card.rows.columns) == TICKET_ROW_COLUMNS
    assert table(card.rows) == table(fast.df)
    codes = gold(db_url, "SELECT r.code FROM special_service_requests r JOIN ticket_segments s "
                         "ON s.segment_id = r.segment_id WHERE s.ticket_number = :t", {"t": tk})
    assert sorted(r["code"] for r in card.ssrs) == sorted(c for (c,) in codes) != []
    assert len(card.passengers) == 1 and [t["ticket_number"] for t in card.tickets] == [tk]
    assert card.subject["value"] == tk and card.subject["record_locator"] == card.booking["record_locator"]
    assert card.sentence("en").startswith(f"Ticket {tk} of {card.passengers[0]['first_name']}")


def test_bag_card(settings, ids, db_url):
    tag = ids["bag"]
    card = open_(CardRequest("bag", tag, tag), settings, question=f"maleta {tag}")
    weight, status, ticket, flight_number = gold(
        db_url, "SELECT g.weight_kg, g.status, s.ticket_number, f.flight_number FROM baggage g "
                "JOIN ticket_segments s ON s.segment_id = g.segment_id JOIN flights f ON f.flight_id = s.flight_id "
                "WHERE g.bag_tag = :b", {"b": tag})[0]
    row = card.rows.iloc[0]
    assert len(card.rows) == 1 and row["bag_tag"] == tag and row["bag_status"] == status
    assert float(row["weight_kg"]) == float(weight) and row["ticket_number"] == ticket
    assert int(row["flight_number"]) == flight_number
    assert [g["bag_tag"] for g in card.bags] == [tag] and [c["ticket_number"] for c in card.coupons] == [ticket]
    assert card.subject["table"] == "baggage" and card.subject["ticket_number"] == ticket
    flight = card.coupons[0]["flight"]
    assert flight.endswith(str(flight_number)) and card.sentence("es").startswith(
        f"Maleta {tag} ({status.replace('_', ' ')}, {float(weight):g} kg) de {card.passengers[0]['first_name']}")
    assert f" en el {flight} del {card.coupons[0]['date']}, " in card.sentence("es")
    assert f" on {flight} on {card.coupons[0]['date']}, " in card.sentence("en")


def test_flight_card_is_the_flight_and_its_load(settings, ids, db_url):
    req = CardRequest("flight", (ids["carrier"], ids["number"]), ids["flight"], TODAY)
    card = open_(req, settings, question=f"{ids['flight']} de hoy")
    which = {"c": ids["carrier"], "n": ids["number"]}
    load = gold(db_url, "SELECT s.cabin, s.status, COUNT(*) FROM ticket_segments s JOIN flights f ON f.flight_id = "
                        f"s.flight_id WHERE f.carrier_code = :c AND f.flight_number = :n AND {TODAYS} "
                        "GROUP BY s.cabin, s.status", which)
    fid, gate, status = gold(db_url, "SELECT f.flight_id, f.gate, f.status FROM flights f WHERE f.carrier_code = :c "
                                     f"AND f.flight_number = :n AND {TODAYS}", which)[0]
    assert card.found and len(card.flights) == 1
    fl = card.flights[0]
    assert sorted((x["cabin"], x["status"], x["coupons"]) for x in fl["load"]) == sorted(load)
    assert fl["gate"] == gate and fl["flight_status"] == status and fl["aircraft_name"]
    assert sorted(tuple(r) for r in card.rows.itertuples(index=False)) == sorted(load)
    assert "first_name" not in card.rows.columns and not card.passengers      # a load, never a manifest
    assert card.subject == {"table": "flights", "key": "flight_id", "value": fid, "flight": ids["flight"],
                            "date": "2026-06-15"}
    total = sum(n for *_, n in load)
    en = card.sentence("en")
    assert en.startswith(f"Flight {ids['flight']} · 2026-06-15: ") and f"{total} coupons" in en


def test_passenger_card(settings, ids, db_url):
    card = open_(CardRequest("passenger", ids["pid"], ids["name"]), settings, question=f"pasajero {ids['name']}")
    person = {"p": ids["pid"]}
    coupons = gold(db_url, f"SELECT COUNT(*) FROM {COUPONS} WHERE t.passenger_id = :p", person)[0][0]
    bookings = gold(db_url, "SELECT COUNT(DISTINCT booking_id) FROM tickets WHERE passenger_id = :p", person)[0][0]
    assert card.found and card.passengers[0]["passenger_id"] == ids["pid"]
    assert card.title.startswith(ids["name"])
    assert len(card.coupons) == coupons > 0 and len(card.bookings) == bookings
    assert sum(b["coupons"] for b in card.bookings) == coupons
    departures = [c["scheduled_departure"] for c in card.coupons]
    assert departures == sorted(departures)
    assert card.subject == {"table": "passengers", "key": "passenger_id", "value": ids["pid"]}


# --------------------------------------------------------------------------------------------------
# masking per role, audit, injection, not found, no model


def test_masking_per_role(settings, ids, db_url):
    loc = ids["locator"]
    clear = {r[0]: r[1:] for r in gold(
        db_url, "SELECT p.passenger_id, p.document_number, p.date_of_birth, p.email FROM passengers p "
                "JOIN tickets t ON t.passenger_id = p.passenger_id JOIN bookings b ON b.booking_id = t.booking_id "
                "WHERE b.record_locator = :l", {"l": loc})}
    req = CardRequest("booking", loc, loc)
    agent, analyst, supervisor = (open_(req, settings, role) for role in ("agent", "analyst", "supervisor"))
    for p in agent.passengers:
        doc, born, email = clear[p["passenger_id"]]
        assert p["document_number"] == "••••" + str(doc)[-4:] != doc
        assert p["date_of_birth"] == str(born)[:4]
        assert p["email"] != email and p["email"].endswith(email.split("@")[1])
    assert agent.booking["contact_email"].count("***@") == 1
    for p in analyst.passengers:
        assert p["first_name"].startswith("P-") and p["last_name"].startswith("P-")
        assert not {"document_number", "email", "phone", "frequent_flyer_number"} & set(p)
    assert "contact_email" not in analyst.booking
    assert all("free_text" not in r for r in analyst.ssrs)
    assert all(str(v).startswith("P-") for v in analyst.rows["first_name"])
    assert {p["document_number"] for p in supervisor.passengers} == {str(v[0]) for v in clear.values()}
    text = analyst.text("en") + json.dumps(analyst.to_dict(), ensure_ascii=False)
    assert not any(str(v[0]) in text or v[2] in text for v in clear.values())


def test_every_card_query_is_audited_with_what_ran_and_whose_data(settings, ids):
    before = len(audit(settings))
    loc = ids["locator"]
    card = open_(CardRequest("booking", loc, loc), settings, question=f"reserva {loc}")
    records = audit(settings)[before:]
    assert len(records) == len(card.sql) == 1
    rec = records[0]
    assert rec.verdict == "accepted" and rec.question == f"reserva {loc}" and rec.user == "tester-agent"
    assert rec.sql_out == card.sql[0] and f"'{loc}'" in rec.sql_in and "ZZZZZZ" not in rec.sql_out + rec.sql_in
    assert sorted(rec.passenger_ids) == sorted(str(p["passenger_id"]) for p in card.passengers)
    assert card.audit_ids == [rec.id]
    flight = open_(CardRequest("flight", (ids["carrier"], ids["number"]), ids["flight"], TODAY), settings)
    assert len(audit(settings)) == before + 1 + len(flight.sql)


def test_the_prepared_template_is_exactly_what_the_guard_makes_of_the_real_sql(settings, ids):
    """Reusing the checked template with the literal substituted must equal a full guard run."""
    from db.engines import dialect_of
    from sql_tools.guard import check_sql

    dialect = dialect_of(settings.database_url)
    values = {"booking": {"locator": ids["locator"]}, "ticket": {"ticket": ids["ticket"]}, "bag": {"bag": ids["bag"]},
              "passenger": {"pid": ids["pid"]},
              "flight": {"carrier": ids["carrier"], "number": ids["number"], "day": TODAY,
                         "next_day": TODAY + dt.timedelta(days=1)}}
    for role in ("agent", "supervisor", "analyst"):
        for kind, t in _TEMPLATES.items():
            assert _prepared(t, CATALOG, role, dialect) is not None, (role, kind)
            card = open_card(_request(kind, ids), settings=settings, catalog=CATALOG, role=role, user="x")
            real = _sql_text(t, CATALOG, role).format(**{n: _literal(k, values[kind][n]) for n, k in t.params})
            full = check_sql(real, catalog=CATALOG, dialect=dialect, role=role)
            assert card.sql == [full.sql_out], (role, kind)


def _request(kind: str, ids: dict) -> CardRequest:
    return {"booking": CardRequest("booking", ids["locator"], ""), "ticket": CardRequest("ticket", ids["ticket"], ""),
            "bag": CardRequest("bag", ids["bag"], ""), "passenger": CardRequest("passenger", ids["pid"], ""),
            "flight": CardRequest("flight", (ids["carrier"], ids["number"]), "", TODAY)}[kind]


@pytest.mark.parametrize("req", [
    CardRequest("booking", "QX7K2M' OR '1'='1", ""),
    CardRequest("booking", "QX7K2M'--", ""),
    CardRequest("booking", "qx7k2m", ""),
    CardRequest("booking", "QX7K21", ""),               # 0 and 1 are no locator characters
    CardRequest("ticket", "1390008888888 OR 1=1", ""),
    CardRequest("ticket", 1390008888888, ""),
    CardRequest("bag", "013900000'", ""),
    CardRequest("bag", "٠١٣٩٠٠٠٠٠١", ""),              # digits, but not ASCII ones
    CardRequest("passenger", "1 OR 1=1", ""),
    CardRequest("passenger", True, ""),
    CardRequest("passenger", -1, ""),
    CardRequest("flight", ("XA", "401; DROP TABLE flights"), "", TODAY),
    CardRequest("flight", ("X'", 401), "", TODAY),
    CardRequest("flight", ("XA", 401), "", None),
    CardRequest("flight", ("XA", 401), "", "2026-06-15' OR '1'='1"),
])
def test_an_odd_identifier_cannot_reach_the_sql(req, settings):
    before = len(audit(settings))
    with pytest.raises(CardError) as err:
        open_(req, settings)
    assert err.value.code == "invalid_identifier" and "'" not in err.value.text("es")
    assert len(audit(settings)) == before           # nothing ran


def test_an_unknown_identifier_gives_a_not_found_card(settings):
    card = open_(CardRequest("booking", "QQQQ22", "QQQQ22"), settings, question="reserva QQQQ22")
    assert not card.found and card.rows.empty and not card.passengers and not card.subject
    assert card.sentence("es") == "No encontré la reserva QQQQ22." == card.text("es")
    assert card.sentence("en") == "No booking QQQQ22 was found."
    assert audit(settings)[-1].verdict == "accepted" and audit(settings)[-1].row_count == 0
    flight = open_(CardRequest("flight", ("XA", 9999), "XA9999", TODAY), settings)
    assert not flight.found and flight.sentence("en") == "No flight XA9999 on 2026-06-15 was found."
    person = open_(CardRequest("passenger", 10 ** 9, ""), settings)
    assert not person.found and person.sentence("es") == f"No encontré al pasajero {10 ** 9}."


def test_no_model_is_called_anywhere_on_the_card_path(settings, ids, db_url, monkeypatch):
    from langchain_core.language_models import BaseChatModel

    def boom(*_a, **_k):
        raise AssertionError("a card must not call a model")

    for name in ("invoke", "stream", "generate", "_generate", "_stream"):
        monkeypatch.setattr(BaseChatModel, name, boom, raising=False)
    for q in (ids["locator"], f"maleta {ids['bag']}", f"{ids['flight']} de hoy", f"pasajero {ids['name']}",
              f"boleto {ids['ticket']}"):
        req = card_request(q, hints_for(q, db_url), catalog=CATALOG)
        assert req is not None, q
        assert open_(req, settings, question=q).found


# --------------------------------------------------------------------------------------------------
# rendering


def _all_cards(settings, ids) -> list[Card]:
    return [open_card(_request(k, ids), settings=settings, catalog=CATALOG, role="agent", user="r", question="q")
            for k in ("booking", "ticket", "bag", "flight", "passenger")]


def test_text_and_json_in_both_languages(settings, ids):
    for card in _all_cards(settings, ids):
        d = card.to_dict()
        assert json.loads(json.dumps(d)) == d
        assert d["kind"] == card.kind and d["columns"] == list(card.rows.columns) and d["sql"] == card.sql
        es, en = card.text("es"), card.text("en")
        assert es.splitlines()[0] == card.heading("es") and en.splitlines()[0] == card.heading("en")
        if card.coupons:
            assert "Cupones" in es and "Coupons" in en and "Estado del cupón" in es and "Coupon status" in en
            assert all(c["flight"] in es for c in card.coupons)
        assert "\x1b" not in es


def test_a_note_is_shown_as_data_not_as_markup(settings, ids):
    from ui.card_view import md_escape

    card = open_(CardRequest("ticket", ids["ticket"], ""), settings)
    assert card.ssrs and all("free_text" in r for r in card.ssrs)   # the agent sees the note, as text
    assert md_escape("<img src=x onerror=alert(1)> [x](http://e)") == \
        r"\<img src=x onerror=alert\(1\)\> \[x\]\(http://e\)"


def test_the_ui_draws_every_card_kind(settings, ids):
    from streamlit.testing.v1 import AppTest

    def page(card: dict, lang: str):
        from ui.card_view import show_card

        show_card(card, lang)

    for card in _all_cards(settings, ids) + [open_(CardRequest("bag", "0000000001", ""), settings)]:
        for lang in ("es", "en"):
            at = AppTest.from_function(page, args=(card.to_dict(), lang)).run()
            assert not at.exception, (card.kind, lang)
            assert at.subheader[0].value == card.heading(lang)
            if not card.found:
                assert at.info[0].value == card.sentence()
            elif card.kind == "flight":
                status = card.flights[0]["flight_status"].replace("_", " ")
                assert len(at.dataframe) == 2 and at.metric[0].value == status
            else:
                assert len(at.dataframe) >= 1
