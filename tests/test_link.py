"""The value linker (assistant/question/link/) over a small real SQLite database built here."""
from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from assistant.question.lang import detect_language, search_form
from assistant.question.link import Hint, LinkResult, clear_cache, link
from db.catalog import load_catalog
from db.schema import metadata

TODAY = date(2026, 6, 15)
T = metadata.tables

AIRPORTS = [("MEX", "Aeropuerto Internacional de la Ciudad de México", "Mexico City", "Mexico", "MX"),
            ("CUN", "Cancún International Airport", "Cancun", "Mexico", "MX"),
            ("GDL", "Guadalajara International Airport", "Guadalajara", "Mexico", "MX"),
            ("SJD", "Los Cabos International Airport", "San Jose del Cabo", "Mexico", "MX"),
            ("SJO", "Juan Santamaría International Airport", "San Jose", "Costa Rica", "CR"),
            ("MAD", "Adolfo Suárez Madrid-Barajas Airport", "Madrid", "Spain", "ES"),
            ("LAS", "Harry Reid International Airport", "Las Vegas", "United States", "US"),
            ("JFK", "John F Kennedy International Airport", "New York", "United States", "US"),
            ("ZCL", "General Leobardo C. Ruiz International Airport", "Zacatecas", "Mexico", "MX")]
FLIGHTS = [(1, "XA", 401, "MEX", "CUN"), (2, "XA", 1234, "CUN", "MEX"), (3, "AM", 55, "MEX", "MAD"),
           (4, "XA", 12, "GDL", "SJD"), (5, "XA", 7, "LAS", "MEX"), (6, "XA", 8, "MAD", "MEX"),
           (7, "XA", 9, "JFK", "MEX"), (8, "XA", 10, "SJO", "MEX"), (9, "XA", 13, "SJD", "MEX"),
           (10, "XA", 14, "ZCL", "MEX")]
PEOPLE = [(1, "José", "Pérez", "García"), (2, "Jose", "Perez", "Garcia"),
          (3, "María Fernanda", "de la Cruz", "López"), (4, "John", "Smith", None),
          (5, "Ana", "Gómez", "Ruiz"), (6, "Ana", "Gómez", "Soto"), (7, "Luis", "Hernández", "Martínez")]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """A handful of rows: airports, flights of XA and a partner, passengers with accent twins, one
    booking, ticket and bag. Built once per module (tests only read)."""
    eng = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('link') / 'link.sqlite'}")
    metadata.create_all(eng)
    when = datetime(2026, 6, 20, 10)
    with eng.begin() as c:
        c.execute(T["airports"].insert(), [dict(iata_code=a, name=n, city=ci, country=co, country_code=cc,
                                                timezone="UTC", latitude=0, longitude=0)
                                           for a, n, ci, co, cc in AIRPORTS])
        c.execute(T["aircraft_types"].insert(), [dict(code="738", name="Boeing 737-800", seats_economy=150,
                                                      seats_premium=0, seats_business=16)])
        c.execute(T["flights"].insert(), [dict(flight_id=i, carrier_code=cc, flight_number=n, origin=o,
                                               destination=d, scheduled_departure=when, scheduled_arrival=when,
                                               status="scheduled", aircraft_type="738")
                                          for i, cc, n, o, d in FLIGHTS])
        c.execute(T["passengers"].insert(), [dict(
            passenger_id=i, first_name=f, last_name=ln, second_last_name=s, gender="M",
            date_of_birth=date(1980, 1, 1), nationality="MX", email="x@example.com", phone="+5215500000000",
            document_type="passport", document_number="X1", created_at=datetime(2025, 1, 1),
            search_name=search_form(" ".join(x for x in (f, ln, s) if x))) for i, f, ln, s in PEOPLE])
        c.execute(T["bookings"].insert(), [
            dict(booking_id=1, record_locator="QX7K2M", created_at=when, channel="web", status="ticketed",
                 total_amount=100, currency="MXN"),
            dict(booking_id=2, record_locator="HKRTWZ", created_at=when, channel="app", status="ticketed",
                 total_amount=100, currency="MXN")])
        c.execute(T["tickets"].insert(), [dict(ticket_number="1391234567890", booking_id=1, passenger_id=1,
                                               issued_at=when, fare_amount=1, taxes_amount=1, currency="MXN",
                                               status="open")])
        c.execute(T["ticket_segments"].insert(), [dict(segment_id=1, ticket_number="1391234567890", flight_id=1,
                                                       coupon_number=1, cabin="economy", fare_class="Y",
                                                       status="booked")])
        c.execute(T["baggage"].insert(), [dict(bag_tag="0139123456", segment_id=1, weight_kg=20, status="lost")])
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine):
    """The caller's `fetch`: a parameterised read over the engine; records the SQL it ran."""
    clear_cache()
    eng = engine
    calls: list[str] = []

    def fetch(sql: str, params: dict) -> list[tuple]:
        calls.append(sql)
        with eng.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]

    fetch.calls = calls
    yield fetch
    clear_cache()


def kinds(res: LinkResult) -> list[tuple[str, object]]:
    return [(h.kind, h.value) for h in res.hints]


def one(res: LinkResult, kind: str) -> Hint:
    hs = [h for h in res.hints if h.kind == kind]
    assert len(hs) == 1, res.hints
    return hs[0]


# --- language ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,lang", [
    ("cuantos pax lleva el xa0401", "es"), ("vuelos de hoy cancelados", "es"), ("¿Quién viaja en la QX7K2M?", "es"),
    ("maletas perdidas ayer", "es"), ("dame los pasajeros del vuelo", "es"), ("How many bags are lost?", "en"),
    ("flights to Cancun tomorrow", "en"), ("who is on booking qx7k2m", "en"), ("show me the no-shows", "en"),
    ("list the pax on XA401 today please", "en"), ("cuántos bookings hay hoy", "es"),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang


# --- identifiers --------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["XA401", "XA 401", "xa0401", "xa 0401", "Xa-401"])
def test_flight_designators(db, catalog, typed):
    h = one(link(f"pasajeros del {typed} de hoy", catalog=catalog, today=TODAY, fetch=db), "flight")
    assert (h.text, h.value, h.found) == (typed, ("XA", 401), True)
    assert "flights.carrier_code = 'XA' AND flights.flight_number = 401" in h.line


def test_partner_and_unknown_flights(db, catalog):
    res = link("AM55 and XA9999 and ZZ401", catalog=catalog, today=TODAY, fetch=db)
    assert [(h.value, h.found) for h in res.hints if h.kind == "flight"] == [(("AM", 55), True), (("XA", 9999), False)]


def test_no_flight_false_positives(db, catalog):
    res = link("top 5 de reservas con 3 boletos en 2026 a las 10", catalog=catalog, today=TODAY, fetch=db)
    assert [h for h in res.hints if h.kind == "flight"] == []


def test_carriers_and_airports_are_cached(db, catalog):
    link("XA401 a Cancún", catalog=catalog, today=TODAY, fetch=db)
    n = len([c for c in db.calls if "DISTINCT" in c or "FROM airports" in c])
    link("XA12 a Guadalajara", catalog=catalog, today=TODAY, fetch=db)
    assert len([c for c in db.calls if "DISTINCT" in c or "FROM airports" in c]) == n


@pytest.mark.parametrize("typed", ["qx7k2m", "QX7K2M", "Qx7K2m"])
def test_record_locator_any_case(db, catalog, typed):
    h = one(link(f"who is on booking {typed}?", catalog=catalog, today=TODAY, fetch=db), "locator")
    assert (h.value, h.found) == ("QX7K2M", True)
    assert h.line == f"'{typed}' is record locator 'QX7K2M' (bookings.record_locator = 'QX7K2M')"


def test_all_letter_locator_needs_caps_or_a_cue(db, catalog):
    assert one(link("localizador hkrtwz", catalog=catalog, today=TODAY, fetch=db), "locator").found
    assert one(link("quien viaja en HKRTWZ", catalog=catalog, today=TODAY, fetch=db), "locator").found
    res = link("cuales pasajeros tienen maleta", catalog=catalog, today=TODAY, fetch=db)
    assert [h for h in res.hints if h.kind == "locator"] == []


def test_unknown_locator_is_reported_not_found(db, catalog):
    h = one(link("reserva ZZ9Z9Z", catalog=catalog, today=TODAY, fetch=db), "locator")
    assert (h.value, h.found) == ("ZZ9Z9Z", False)
    assert "no booking" in h.line


@pytest.mark.parametrize("typed", ["1391234567890", "139-1234567890", "139 1234567890"])
def test_ticket_numbers(db, catalog, typed):
    h = one(link(f"cupones del boleto {typed}", catalog=catalog, today=TODAY, fetch=db), "ticket")
    assert (h.text, h.value, h.found) == (typed, "1391234567890", True)
    assert [x.kind for x in link(f"boleto {typed}", catalog=catalog, today=TODAY, fetch=db).hints] == ["ticket"]


def test_bag_tags(db, catalog):
    h = one(link("estado de la maleta 0139123456", catalog=catalog, today=TODAY, fetch=db), "bag")
    assert (h.value, h.found) == ("0139123456", True)
    h = one(link("bag tag 0000000001?", catalog=catalog, today=TODAY, fetch=db), "bag")
    assert h.found is False
    # Ten digits with no bag and no bag word: nothing.
    assert link("llamar al 5512345678", catalog=catalog, today=TODAY, fetch=db).hints == ()


def test_without_fetch(catalog):
    res = link("boleto 139-1234567890, localizador qx7k2m, XA401 ayer, José Pérez a Cancún",
               catalog=catalog, today=TODAY, fetch=None)
    got = {h.kind: h for h in res.hints}
    assert got["ticket"].value == "1391234567890" and got["ticket"].found is False
    assert got["locator"].value == "QX7K2M" and got["locator"].found is False
    assert got["date"].value == date(2026, 6, 14)
    assert got["airport"].value == "CUN"  # from the catalog alone
    assert "passenger" not in got and "flight" not in got


# --- airports, routes, countries ------------------------------------------------------------------------

def test_place_names_longest_first(db, catalog):
    res = link("vuelos de Ciudad de México a San José del Cabo y a San José", catalog=catalog, today=TODAY, fetch=db)
    assert [(h.text, h.value) for h in res.hints] == [
        ("Ciudad de México", "MEX"), ("San José del Cabo", "SJD"), ("San José", "SJO")]
    assert "flights.origin = 'MEX'" in res.hints[0].line           # "de ..." : where the trip starts
    assert "flights.destination = 'SJD'" in res.hints[1].line      # "a ...": where it ends


@pytest.mark.parametrize(("question", "expected"), [
    ("¿A qué hora sale mañana el primer vuelo a Los Cabos?", "flights.destination = 'SJD'"),
    ("What destinations have nonstop flights out of Guadalajara?", "flights.origin = 'GDL'"),
    ("flights from MEX tomorrow", "flights.origin = 'MEX'"),
    ("bookings with a coupon on a flight to CUN", "flights.destination = 'CUN'"),
    ("¿Cuántas maletas se perdieron en el aeropuerto de Cancún?", "flights.origin / flights.destination = 'CUN'"),
    ("vuelos en Guadalajara", "flights.origin / flights.destination = 'GDL'"),
])
def test_the_word_before_a_place_gives_its_direction(db, catalog, question, expected):
    res = link(question, catalog=catalog, today=TODAY, fetch=db)
    assert any(expected in h.line for h in res.hints), [h.line for h in res.hints]


def test_place_names_accent_and_case_insensitive(db, catalog):
    res = link("CIUDAD DE MEXICO a cancun, luego a nueva york", catalog=catalog, today=TODAY, fetch=db)
    assert [h.value for h in res.hints] == ["MEX", "CUN", "JFK"]


def test_city_from_the_airports_table(db, catalog):
    # 'Zacatecas' is in no catalog: the airports table's city column finds it.
    h = one(link("flights from Zacatecas", catalog=catalog, today=TODAY, fetch=db), "airport")
    assert h.value == "ZCL"


def test_iata_codes_and_routes(db, catalog):
    res = link("How many no-shows did MEX–CUN have last week?", catalog=catalog, today=TODAY, fetch=db)
    assert kinds(res) == [("term", "ticket_segments.status = 'no_show'"), ("route", ("MEX", "CUN")),
                          ("date_range", (date(2026, 6, 8), date(2026, 6, 15)))]
    res = link("mezcla de cabinas en mex-mad", catalog=catalog, today=TODAY, fetch=db)
    assert kinds(res) == [("route", ("MEX", "MAD"))]
    res = link("vuelos de gdl a MAD", catalog=catalog, today=TODAY, fetch=db)
    assert kinds(res) == [("airport", "GDL"), ("airport", "MAD")]


def test_lower_case_codes_that_are_words_stay_words(db, catalog):
    res = link("las maletas de los pasajeros mad", catalog=catalog, today=TODAY, fetch=db)
    assert [h for h in res.hints if h.kind == "airport"] == []


def test_countries_and_nationalities(db, catalog):
    res = link("pasajeros mexicanos con destino a Estados Unidos", catalog=catalog, today=TODAY, fetch=db)
    assert kinds(res) == [("country", "MX"), ("country", "US")]
    assert "passengers.nationality = 'MX'" in res.hints[0].line
    assert "airports.country_code = 'US'" in res.hints[1].line
    res = link("argentine passengers flying to Spain", catalog=catalog, today=TODAY, fetch=db)
    assert kinds(res) == [("country", "AR"), ("country", "ES")]


@pytest.mark.parametrize(("question", "expected"), [
    ("vuelos con destino a España", "destination country 'ES': JOIN airports ON airports.iata_code = "
                                    "flights.destination and filter airports.country_code = 'ES'"),
    ("flights from Spain last week", "origin country 'ES': JOIN airports ON airports.iata_code = "
                                     "flights.origin and filter airports.country_code = 'ES'"),
    ("pasajeros de España", "country 'ES' (ISO2: "),   # a bare 'de' may be nationality: not a trip's end
])
def test_a_country_at_one_end_of_a_trip_is_its_airports_country(db, catalog, question, expected):
    h = one(link(question, catalog=catalog, today=TODAY, fetch=db), "country")
    assert expected in h.line


# --- names ----------------------------------------------------------------------------------------------

def test_name_accent_and_case_insensitive_finds_both_twins(db, catalog):
    for typed in ("jose perez", "José Pérez", "JOSE PEREZ GARCIA"):
        h = one(link(f"¿en qué asiento va {typed}?", catalog=catalog, today=TODAY, fetch=db), "passenger")
        assert set(h.value) == {1, 2}, typed
        assert "ambiguous" in h.line and "José Pérez García" in h.line and "Jose Perez Garcia" in h.line


def test_name_twins_line_marks_the_exact_spelling(db, catalog):
    h = one(link("boletos de José Pérez", catalog=catalog, today=TODAY, fetch=db), "passenger")
    assert "(1 is spelled exactly as typed)" in h.line


def test_unique_name_with_particles(db, catalog):
    h = one(link("reservas de la pasajera maria fernanda de la cruz lopez", catalog=catalog, today=TODAY,
                 fetch=db), "passenger")
    assert h.value == (3,)
    assert h.line == ("'maria fernanda de la cruz lopez' matches passengers.passenger_id 3 "
                      "(María Fernanda de la Cruz López); use tickets.passenger_id = 3")


def test_name_without_second_surname_is_a_prefix(db, catalog):
    h = one(link("Who is Luis Hernandez flying with?", catalog=catalog, today=TODAY, fetch=db), "passenger")
    assert h.value == (7,)


def test_ambiguous_name(db, catalog):
    h = one(link("vuelos de Ana Gomez", catalog=catalog, today=TODAY, fetch=db), "passenger")
    assert set(h.value) == {5, 6} and "ambiguous" in h.line


def test_fuzzy_name_with_a_typo(db, catalog):
    h = one(link("asiento de Luis Hernandes Martinez", catalog=catalog, today=TODAY, fetch=db), "passenger")
    assert h.value == (7,) and "closest" in h.line


def test_name_together_with_other_values(db, catalog):
    res = link("¿En qué asiento va jose perez garcia en el xa0401 de hoy?", catalog=catalog, today=TODAY, fetch=db)
    assert [h.kind for h in res.hints] == ["passenger", "flight", "date"]


def test_cued_unknown_name_is_reported(db, catalog):
    h = one(link("passenger Pedro Páramo", catalog=catalog, today=TODAY, fetch=db), "passenger")
    assert h.found is False and h.value == ()


def test_name_lookups_are_few_and_indexed(db, catalog):
    db.calls.clear()
    link("cuantos pasajeros gold volaron ayer de Cancún a Madrid con maletas perdidas", catalog=catalog,
         today=TODAY, fetch=db)
    name_calls = [c for c in db.calls if "search_name" in c]
    assert len(name_calls) <= 6
    assert all("search_name >= :p AND search_name < :p_end" in c for c in name_calls)


# --- nothing spurious -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["hola", "cancelados", "flights", "maletas", "gracias", "status", "pasajeros",
                                  "cuantas reservas hay por canal de venta", "How many passengers are there?"])
def test_ordinary_phrases_make_no_hints(db, catalog, text):
    # glossary words for stored values ('cancelados' -> status = 'cancelled') are the only hints allowed
    assert [h for h in link(text, catalog=catalog, today=TODAY, fetch=db).hints if h.kind != "term"] == []


def test_prompt_lines_are_capped(db, catalog):
    q = " ".join(["XA401 ayer"] * 10) + " QX7K2M Cancún México 139-1234567890"
    res = link(q, catalog=catalog, today=TODAY, fetch=db)
    assert len(res.prompt_lines()) <= 12


@pytest.mark.parametrize(("question", "meaning"), [
    ("¿Cuántos pasajeros volaron a Cancún ayer?", "ticket_segments.status = 'flown'"),
    ("How many titanium members flew business?", "ticket_segments.status = 'flown'"),
    ("maletas perdidas de hoy", "baggage.status = 'lost'"),
    ("menores no acompañados en el vuelo", "special_service_requests.code = 'UMNR'"),
    ("pasajeros en clase business", "ticket_segments.cabin = 'business'"),
    # an unqualified glossary column takes the table the question names nearest (before first) ...
    ("vuelos de hoy cancelados", "flights.status = 'cancelled'"),
    ("¿Cuántas reservas canceladas hubo en marzo?", "bookings.status = 'cancelled'"),  # feminine plural
    ("cancelled coupons on XA401", "ticket_segments.status = 'cancelled'"),
    ("boletos reembolsados", "tickets.status = 'refunded'"),
    # ... and stays unqualified when no table with that column is named
    ("cuantos pax cancelados hay", "status = 'cancelled'"),
    # a negation right before the word negates the condition
    ("cuantos pax sin contar cancelados", "status <> 'cancelled'"),
    ("vuelos de hoy no cancelados", "flights.status <> 'cancelled'"),
    ("boletos de 2026 sin anulados ni reembolsados", "tickets.status <> 'refunded'"),
    ("flights today excluding the cancelled ones", "flights.status <> 'cancelled'"),
    ("¿no hay vuelos cancelados hoy?", "flights.status = 'cancelled'"),    # negates the sentence, not the word
])
def test_glossary_words_for_stored_values_become_hints(catalog, question, meaning):
    res = link(question, catalog=catalog, today=TODAY, fetch=None)
    assert ("term", meaning) in kinds(res)


def test_phrases_naming_a_column_become_hints(catalog):
    res = link("kilos por vuelo de hoy: numero de vuelo y total", catalog=catalog, today=TODAY, fetch=None)
    assert ("term", "flights.flight_number") in kinds(res)
    res = link("nombre y apellido", catalog=catalog, today=TODAY, fetch=None)   # single words: too vague
    assert not [k for k in kinds(res) if k[0] == "term"]


def test_a_value_word_after_another_tables_noun_is_not_a_hint(catalog):
    # checked baggage is not a checked-in coupon; checked-in passengers are
    res = link("kilos de equipaje documentado hoy", catalog=catalog, today=TODAY, fetch=None)
    assert not [k for k in kinds(res) if k[0] == "term"]
    res = link("pasajeros documentados hoy en el XA401", catalog=catalog, today=TODAY, fetch=None)
    assert ("term", "ticket_segments.status = 'checked_in'") in kinds(res)


def test_glossary_words_naming_only_a_table_are_not_hints(catalog):
    res = link("¿Cuántas reservas y boletos hay?", catalog=catalog, today=TODAY, fetch=None)
    assert not [k for k in kinds(res) if k[0] == "term"]


VALUES = {("passengers", "loyalty_tier"): ["classic", "gold", "platinum", "titanium"],
          ("bookings", "channel"): ["airport", "app", "call_center", "travel_agency", "web"],
          ("bookings", "currency"): ["EUR", "MXN", "USD"], ("tickets", "currency"): ["EUR", "MXN", "USD"],
          ("ticket_segments", "cabin"): ["business", "economy", "premium"],
          ("ticket_segments", "status"): ["booked", "cancelled", "flown"],
          ("passengers", "gender"): ["F", "M", "X"]}


@pytest.mark.parametrize(("question", "line"), [
    ("How many titanium members flew in 2026?", "'titanium' is a stored value of passengers.loyalty_tier ('titanium')"),
    ("reservas hechas por travel agency ayer", "'travel agency' is a stored value of bookings.channel ('travel_agency')"),
    ("average booking total in MXN", "'MXN' is a stored value of bookings.currency ('MXN')"),   # the table named
    ("tickets issued in USD", "'USD' is a stored value of tickets.currency ('USD')"),
    ("cuánto suman en EUR", "'EUR' is a stored value of bookings.currency or tickets.currency ('EUR')"),
    ("bookings made at the airport", "'airport' is a stored value of bookings.channel ('airport')"),
])
def test_stored_values_of_small_columns_become_hints(catalog, question, line):
    res = link(question, catalog=catalog, today=TODAY, fetch=None, values=VALUES)
    assert line in res.prompt_lines()


@pytest.mark.parametrize("question", [
    "How many seats are booked on the flight?",        # status words read as verbs: never value hints
    "aviones con más de 20 asientos en business",      # 'business' is part of seats_business
    "¿Cuántos pasajeros hay?",                         # one-letter codes (gender) are not words
    "Which airports receive flights from MEX?",        # the table, not the booking channel 'airport'
])
def test_words_that_are_not_filters_give_no_value_hint(catalog, question):
    res = link(question, catalog=catalog, today=TODAY, fetch=None, values=VALUES)
    assert not [h for h in res.hints if h.kind == "value"]


def test_a_code_the_question_names_replaces_the_glossary_set_it_belongs_to(catalog):
    values = {("special_service_requests", "code"): ["BLND", "UMNR", "WCHC", "WCHR"]}
    res = link("How many wheelchair requests (WCHR) are there?", catalog=catalog, today=TODAY, fetch=None,
               values=values)
    assert res.prompt_lines() == ["'WCHR' is a stored value of special_service_requests.code ('WCHR')"]
    res = link("¿Cuántas sillas de ruedas hay hoy?", catalog=catalog, today=TODAY, fetch=None, values=values)
    assert ("term", "special_service_requests.code IN ('WCHR', 'WCHC')") in kinds(res)


@pytest.mark.parametrize(("question", "expected"), [
    ("vuelos desviados de ayer", "flights.status = 'diverted'"),
    ("maletas entregadas hoy en CUN", "baggage.status = 'delivered'"),
    ("reservas confirmadas hechas por agencia de viajes", "bookings.channel = 'travel_agency'"),
    ("boletos sin los canjeados", "tickets.status <> 'exchanged'"),
    ("pax que viajan con pasaporte", "passengers.document_type = 'passport'"),
    ("apellido materno de los pasajeros del XA401", "the column passengers.second_last_name"),
])
def test_value_words_are_linked_but_stay_out_of_the_prompt(db, catalog, question, expected):
    from assistant.prompts import glossary_text

    res = link(question, catalog=catalog, today=TODAY, fetch=db)
    assert any(expected in h.line for h in res.hints), [h.line for h in res.hints]
    glossary = glossary_text(catalog.terms)
    assert not any(search_form(term) in search_form(glossary) for term in catalog.value_terms
                   if len(term) > 4), "value words are hints, not glossary entries"
