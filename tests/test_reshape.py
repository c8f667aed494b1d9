"""Reshaping model SQL: grouping columns first (same rows and values, the key in front); entity lists
read through joins made DISTINCT (the same entities, each once); a grand total grouped by the column
the question asked it per."""
from __future__ import annotations

import sqlite3
from collections import Counter

import pytest

from assistant import rewrite as rules
from assistant.question.asked import read_asked
from assistant.rewrite import Context, apply

# Each rule on one SQL string, with only the facts it reads (the pipeline gives them all, and the
# question's `Asked` record, read once).


def grouping_columns_first(sql, dialect):
    return apply(rules.grouping_columns_first, sql, Context(dialect))


def distinct_entity_list(sql, dialect, keys):
    return apply(rules.distinct_entity_list, sql, Context(dialect, entity_keys=keys))


def requested_grouping(sql, dialect, question, words):
    return apply(rules.requested_grouping, sql, Context(dialect, asked=read_asked(question), grouping_words=words))


def regroup_through_reference(sql, dialect, question, words, graph):
    return apply(rules.regroup_through_reference, sql,
                 Context(dialect, asked=read_asked(question), grouping_words=words, graph=graph))


def count_threshold(sql, dialect, question, table_words):
    return apply(rules.count_threshold, sql, Context(dialect, asked=read_asked(question), table_names=table_words))


def top_of_groups(sql, dialect, question):
    return apply(rules.top_of_groups, sql, Context(dialect, asked=read_asked(question)))


def requested_count(sql, dialect, question, table_words):
    return apply(rules.requested_count, sql, Context(dialect, asked=read_asked(question), table_names=table_words))


def people_grouped_by_key(sql, dialect, names, keys):
    return apply(rules.people_grouped_by_key, sql, Context(dialect, name_columns=names, row_keys=keys))


def unasked_constant_columns(sql, dialect, question, words):
    return apply(rules.unasked_constant_columns, sql,
                 Context(dialect, asked=read_asked(question), grouping_words=words))


def fanned_out_totals(sql, dialect, graph):
    return apply(rules.fanned_out_totals, sql, Context(dialect, graph=graph))


def rows(db, sql):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT SUM(fare_amount), currency FROM tickets GROUP BY currency",
     "SELECT currency, SUM(fare_amount) FROM tickets GROUP BY currency"),
    ("SELECT COUNT(*) AS n, t.currency AS cur FROM tickets t GROUP BY t.currency",
     "SELECT t.currency AS cur, COUNT(*) AS n FROM tickets AS t GROUP BY t.currency"),
    ("SELECT AVG(total_amount), channel, status FROM bookings GROUP BY channel, status",
     "SELECT channel, status, AVG(total_amount) FROM bookings GROUP BY channel, status"),
    ("SELECT COUNT(*), b.channel FROM bookings b GROUP BY channel",
     "SELECT b.channel, COUNT(*) FROM bookings AS b GROUP BY channel"),
])
def test_keys_move_to_the_front_and_rows_stay_the_same(small_demo_db, sql, expected):
    out = grouping_columns_first(sql, "sqlite")
    assert out == expected
    before = Counter(tuple(sorted(map(str, r))) for r in rows(small_demo_db, sql))
    after = Counter(tuple(sorted(map(str, r))) for r in rows(small_demo_db, out))
    assert before == after


@pytest.mark.parametrize("sql", [
    "SELECT currency, SUM(fare_amount) FROM tickets GROUP BY currency",         # already first
    "SELECT COUNT(*) FROM tickets",                                             # not grouped
    "SELECT SUM(fare_amount), currency FROM tickets GROUP BY currency ORDER BY 1",  # ordinal ORDER BY
    "SELECT currency FROM tickets GROUP BY currency",                           # nothing else
    # the join repair qualified only the first column it moved: both are still keys, nothing moves
    "SELECT f1.origin, destination, COUNT(*) FROM ticket_segments JOIN flights AS f1 "
    "ON f1.flight_id = ticket_segments.flight_id GROUP BY origin, destination",
    "not sql at all (",
])
def test_left_alone(sql):
    assert grouping_columns_first(sql, "sqlite") is None


KEYS = {"bookings": ["booking_id", "record_locator"], "airports": ["iata_code"], "passengers": ["passenger_id"]}


def test_an_entity_list_through_fanning_out_joins_is_made_distinct(small_demo_db):
    sql = ("SELECT b.record_locator FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
           "JOIN ticket_segments s ON s.ticket_number = t.ticket_number JOIN flights f ON f.flight_id = s.flight_id "
           "WHERE f.destination = 'MAD'")
    fixed = distinct_entity_list(sql, "sqlite", KEYS)
    assert fixed.startswith("SELECT DISTINCT")
    listed = rows(small_demo_db, sql)
    assert len(listed) > len(set(listed)) and sorted(rows(small_demo_db, fixed)) == sorted(set(listed))


@pytest.mark.parametrize("sql", [
    "SELECT p.first_name, p.last_name FROM passengers p JOIN tickets t ON t.passenger_id = p.passenger_id",  # no key
    "SELECT b.record_locator, t.ticket_number FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id",
    "SELECT b.record_locator FROM bookings b",                                                              # no join
    "SELECT b.record_locator FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id ORDER BY t.fare_amount",
    "SELECT b.record_locator, COUNT(*) FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
    "GROUP BY b.record_locator",
    "SELECT DISTINCT b.record_locator FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id",
    "SELECT 'unterminated",
])
def test_other_queries_keep_their_duplicates(sql):
    assert distinct_entity_list(sql, "sqlite", KEYS) is None


@pytest.fixture(scope="module")
def grouping_words(small_demo_db):
    """The candidate columns and their words as the pipeline derives them from the catalog and schema."""
    from assistant.pipeline import Assistant
    from db.settings import load_settings

    settings = load_settings().replace(database_url=f"sqlite:///{small_demo_db}")
    return Assistant(settings, chat_model=object()).schema.grouping_words


@pytest.mark.parametrize(("question", "sql", "correct"), [
    ("¿Cuántas solicitudes de servicio especial hay por código?",
     "SELECT COUNT(*) FROM special_service_requests",
     "SELECT code, COUNT(*) FROM special_service_requests GROUP BY code"),
    ("How many flights are there by destination airport?", "SELECT COUNT(*) FROM flights f",
     "SELECT destination, COUNT(*) FROM flights GROUP BY destination"),
    ("vuelos por aeropuerto de destino",                 # the table word goes, 'destino' decides
     "SELECT COUNT(*) FROM flights", "SELECT destination, COUNT(*) FROM flights GROUP BY destination"),
    ("reservas por canal y moneda: cuántas y cuánto suman",
     "SELECT COUNT(*), SUM(total_amount) FROM bookings",
     "SELECT channel, currency, COUNT(*), SUM(total_amount) FROM bookings GROUP BY channel, currency"),
    ("flights grouped by carrier", "SELECT COUNT(*) FROM flights",
     "SELECT carrier_code, COUNT(*) FROM flights GROUP BY carrier_code"),
    ("boletos emitidos por moneda", "SELECT COUNT(*) FROM tickets",      # a participle's 'por' may group
     "SELECT currency, COUNT(*) FROM tickets GROUP BY currency"),
    ("flown coupons per cabin", "SELECT COUNT(*) FROM ticket_segments s JOIN flights f ON f.flight_id = "
     "s.flight_id WHERE s.status = 'flown'",
     "SELECT cabin, COUNT(*) FROM ticket_segments WHERE status = 'flown' GROUP BY cabin"),
])
def test_a_total_asked_per_column_is_grouped_by_it(small_demo_db, grouping_words, question, sql, correct):
    out = requested_grouping(sql, "sqlite", question, grouping_words)
    assert out is not None
    assert Counter(rows(small_demo_db, out)) == Counter(rows(small_demo_db, correct))
    assert len(rows(small_demo_db, correct)) > 1


@pytest.mark.parametrize(("question", "sql"), [
    ("¿Cuántos cupones por vuelo?", "SELECT COUNT(*) FROM ticket_segments"),    # no categorical column
    ("coupons per booking", "SELECT COUNT(*) FROM ticket_segments"),           # 'booking' names a table
    ("total fares sorted by currency", "SELECT SUM(fare_amount) FROM tickets"),  # ordering, not grouping
    ("reservas hechas por travel agency", "SELECT COUNT(*) FROM bookings"),      # a value, not a column
    ("pasajeros por nombre", "SELECT COUNT(*) FROM passengers"),                # personal: never a group
    ("¿Cuántos vuelos por aeropuerto?", "SELECT COUNT(*) FROM flights"),         # origin or destination?
    ("reservas por canal", "SELECT channel, COUNT(*) FROM bookings GROUP BY channel"),  # already grouped
    ("reservas por canal", "SELECT record_locator FROM bookings"),                # not a total
    ("maletas por estado", "SELECT COUNT(*) FROM special_service_requests"),     # not a column of the query
    ("flights operated by American Airlines", "SELECT COUNT(*) FROM flights"),  # a value, not a column
    ("bookings made through the app by channel", "SELECT COUNT(*) FROM bookings WHERE channel = 'app'"),
])
def test_no_grouping_is_guessed(grouping_words, question, sql):
    assert requested_grouping(sql, "sqlite", question, grouping_words) is None


@pytest.fixture(scope="module")
def table_names():
    from assistant.question.link import table_words
    from db.catalog import load_catalog

    return table_words(load_catalog())


@pytest.mark.parametrize(("question", "sql", "correct"), [
    ("reservas con 3 boletos o más: localizador y cuántos boletos",
     "SELECT b.record_locator, COUNT(*) FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
     "GROUP BY b.record_locator",
     "SELECT b.record_locator, COUNT(*) FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
     "GROUP BY b.record_locator HAVING COUNT(*) >= 3"),
    ("flights with more than 2 coupons", "SELECT f.flight_id, COUNT(s.segment_id) FROM flights f JOIN "
     "ticket_segments s ON s.flight_id = f.flight_id GROUP BY f.flight_id",
     "SELECT flight_id, COUNT(*) FROM ticket_segments GROUP BY flight_id HAVING COUNT(*) > 2"),
    ("coupons with at least 2 bags", "SELECT s.segment_id, COUNT(*) FROM ticket_segments s JOIN baggage b "
     "ON b.segment_id = s.segment_id GROUP BY s.segment_id",
     "SELECT segment_id, COUNT(*) FROM baggage GROUP BY segment_id HAVING COUNT(*) >= 2"),
])
def test_a_bounded_count_gets_its_bound(small_demo_db, table_names, question, sql, correct):
    out = count_threshold(sql, "sqlite", question, table_names)
    assert out is not None and "HAVING" in out
    assert Counter(rows(small_demo_db, out)) == Counter(rows(small_demo_db, correct))
    assert 0 < len(rows(small_demo_db, correct)) < len(rows(small_demo_db, sql))


@pytest.mark.parametrize(("question", "sql"), [
    ("aircraft types with more than 20 business seats",          # seats name no table
     "SELECT name, COUNT(*) FROM aircraft_types GROUP BY name"),
    ("bookings with more than 3 tickets", "SELECT b.record_locator, COUNT(*) FROM bookings b JOIN tickets t "
     "ON t.booking_id = b.booking_id GROUP BY b.record_locator HAVING COUNT(*) > 3"),   # already bounded
    ("top 3 bookings with more than 3 tickets", "SELECT b.record_locator, COUNT(*) FROM bookings b JOIN "
     "tickets t ON t.booking_id = b.booking_id GROUP BY b.record_locator LIMIT 3"),      # the number is used
    ("flights with more than 100 passengers", "SELECT f.flight_id, COUNT(*) FROM flights f JOIN ticket_segments "
     "s ON s.flight_id = f.flight_id GROUP BY f.flight_id"),     # passengers are not what this counts
    ("bookings with more than 3 tickets", "SELECT COUNT(*) FROM bookings"),          # no groups
])
def test_no_bound_is_guessed(table_names, question, sql):
    assert count_threshold(sql, "sqlite", question, table_names) is None


@pytest.mark.parametrize(("question", "sql", "correct"), [
    ("By destination country, how many business coupons are there?",
     "SELECT f.destination AS destination, COUNT(*) FROM ticket_segments s JOIN flights f ON f.flight_id = "
     "s.flight_id WHERE s.cabin = 'business' GROUP BY f.destination",
     "SELECT a.country, COUNT(*) FROM ticket_segments s JOIN flights f ON f.flight_id = s.flight_id JOIN "
     "airports a ON a.iata_code = f.destination WHERE s.cabin = 'business' GROUP BY a.country"),
    ("vuelos por ciudad de origen, de más a menos",
     "SELECT f.origin, COUNT(*) FROM flights f GROUP BY f.origin ORDER BY COUNT(*) DESC",
     "SELECT a.city, COUNT(*) FROM flights f JOIN airports a ON a.iata_code = f.origin GROUP BY a.city "
     "ORDER BY COUNT(*) DESC"),
])
def test_a_group_by_a_reference_becomes_the_referenced_column_asked_for(small_demo_db, grouping_words, join_graph,
                                                                         question, sql, correct):
    out = regroup_through_reference(sql, "sqlite", question, grouping_words, join_graph)
    assert out is not None
    assert (Counter(rows(small_demo_db, out)) == Counter(rows(small_demo_db, correct))
            != Counter(rows(small_demo_db, sql)))


@pytest.mark.parametrize(("question", "sql"), [
    ("flights by origin", "SELECT f.origin, COUNT(*) FROM flights f GROUP BY f.origin"),     # the key itself
    ("vuelos por país", "SELECT f.origin, COUNT(*) FROM flights f GROUP BY f.origin"),       # origin or destination?
    ("flights by origin country", "SELECT a.country, COUNT(*) FROM flights f JOIN airports a ON a.iata_code = "
     "f.origin GROUP BY a.country"),                                                        # already joined
    ("flights by origin country", "SELECT COUNT(*) FROM flights"),                           # no groups
])
def test_no_reference_is_followed_unasked(grouping_words, join_graph, question, sql):
    assert regroup_through_reference(sql, "sqlite", question, grouping_words, join_graph) is None


BAGS_PER_FLIGHT = ("SELECT s.flight_id, COUNT(*) FROM baggage b JOIN ticket_segments s ON s.segment_id = b.segment_id "
                   "GROUP BY s.flight_id")


@pytest.mark.parametrize(("question", "n"), [
    ("¿Qué vuelo tiene más maletas?", 1),
    ("Which flight has the most bags?", 1),
    ("los 3 vuelos con más maletas", 3),
    ("top 5 flights with the most bags", 5),
])
def test_the_group_with_the_most_is_kept(small_demo_db, question, n):
    out = top_of_groups(BAGS_PER_FLIGHT, "sqlite", question)
    assert out is not None
    counts = sorted((c for _, c in rows(small_demo_db, BAGS_PER_FLIGHT)), reverse=True)
    assert [c for _, c in rows(small_demo_db, out)] == counts[:n]


@pytest.mark.parametrize("question", [
    "maletas por vuelo, de más a menos",                 # an ordering of every group
    "vuelos con más de 3 maletas",                       # a bound
    "¿Cuántas maletas tiene cada vuelo?",                # no superlative
    "vuelos que tienen más maletas que asientos",        # a comparison
])
def test_no_top_is_cut_unasked(question):
    assert top_of_groups(BAGS_PER_FLIGHT, "sqlite", question) is None


def test_a_query_that_already_orders_keeps_its_order():
    sql = BAGS_PER_FLIGHT + " ORDER BY 2 DESC LIMIT 1"
    assert top_of_groups(sql, "sqlite", "Which flight has the most bags?") is None


@pytest.mark.parametrize(("question", "sql", "correct"), [
    ("maletas por estatus: cuántas son y el peso total",
     "SELECT status, SUM(weight_kg) FROM baggage GROUP BY status",
     "SELECT status, COUNT(*), SUM(weight_kg) FROM baggage GROUP BY status"),
    ("Per currency, the total fare and how many tickets",            # asked second: comes second
     "SELECT currency, SUM(fare_amount) FROM tickets GROUP BY currency",
     "SELECT currency, SUM(fare_amount), COUNT(*) FROM tickets GROUP BY currency"),
    ("How many bags are there and what is their average weight?",
     "SELECT AVG(b.weight_kg) FROM baggage b", "SELECT COUNT(*), AVG(weight_kg) FROM baggage"),
    ("¿Cuántas maletas lleva el vuelo 12 y cuántos kilos suman?",  # kilos are a sum, maletas a count
     "SELECT SUM(b.weight_kg) FROM baggage b JOIN ticket_segments s ON s.segment_id = b.segment_id "
     "WHERE s.flight_id = 12",
     "SELECT COUNT(*), SUM(b.weight_kg) FROM baggage b JOIN ticket_segments s ON s.segment_id = b.segment_id "
     "WHERE s.flight_id = 12"),
])
def test_a_count_asked_beside_another_aggregate_is_added(small_demo_db, table_names, question, sql, correct):
    out = requested_count(sql, "sqlite", question, table_names)
    assert out is not None
    assert rows(small_demo_db, out) == rows(small_demo_db, correct)
    assert len(rows(small_demo_db, out)[0]) == len(rows(small_demo_db, sql)[0]) + 1


@pytest.mark.parametrize(("question", "sql"), [
    ("kilos de equipaje por vuelo: numero de vuelo y total de kg",   # a flight's number, not a count
     "SELECT f.flight_number, SUM(b.weight_kg) FROM baggage b JOIN ticket_segments s ON s.segment_id = "
     "b.segment_id JOIN flights f ON f.flight_id = s.flight_id GROUP BY f.flight_number"),
    ("cuántos kilos de equipaje hay por estatus",                    # a measure, not a count
     "SELECT status, SUM(weight_kg) FROM baggage GROUP BY status"),
    ("maletas por estatus: cuántas hay",                              # no other aggregate asked
     "SELECT status, SUM(weight_kg) FROM baggage GROUP BY status"),
    ("How many distinct passengers hold tickets, and their total fare?",
     "SELECT SUM(fare_amount) FROM tickets"),
    ("How many passengers paid, and what was the total fare?",       # passengers: not what it reads
     "SELECT SUM(fare_amount) FROM tickets"),
    ("how many business coupons and their average fare",            # already counted
     "SELECT COUNT(*), AVG(t.fare_amount) FROM tickets t JOIN ticket_segments s "
     "ON s.ticket_number = t.ticket_number WHERE s.cabin = 'business'"),
    ("how many business coupons and the average fare",              # counted as a conditional sum
     "SELECT SUM(CASE WHEN s.cabin = 'business' THEN 1 ELSE 0 END), AVG(t.fare_amount) FROM tickets t "
     "JOIN ticket_segments s ON s.ticket_number = t.ticket_number"),
    ("how many bags and their total weight, per flight",            # a plain output is not a group
     "SELECT s.flight_id, b.bag_tag, SUM(b.weight_kg) FROM baggage b JOIN ticket_segments s "
     "ON s.segment_id = b.segment_id GROUP BY s.flight_id"),
    ("how many bags and their total weight", "SELECT b.bag_tag, b.weight_kg FROM baggage b"),  # no aggregate
])
def test_no_count_is_guessed(table_names, question, sql):
    assert requested_count(sql, "sqlite", question, table_names) is None


NAMES = {"passengers": ["first_name", "last_name", "second_last_name", "search_name"]}
ROW_KEYS = {"passengers": "passenger_id", "tickets": "ticket_number", "flights": "flight_id"}


@pytest.mark.parametrize(("sql", "correct"), [
    ("SELECT p.first_name, p.last_name, COUNT(*) FROM passengers p JOIN tickets t ON t.passenger_id = "
     "p.passenger_id GROUP BY p.first_name, p.last_name HAVING COUNT(*) >= 5",
     "SELECT p.first_name, p.last_name, COUNT(*) FROM passengers p JOIN tickets t ON t.passenger_id = "
     "p.passenger_id GROUP BY p.passenger_id, p.first_name, p.last_name HAVING COUNT(*) >= 5"),
    ("SELECT first_name, last_name, COUNT(*) FROM passengers GROUP BY first_name, last_name",
     "SELECT first_name, last_name, COUNT(*) FROM passengers GROUP BY passenger_id, first_name, last_name"),
])
def test_people_are_grouped_by_their_key(small_demo_db, sql, correct):
    out = people_grouped_by_key(sql, "sqlite", NAMES, ROW_KEYS)
    assert out is not None and "passenger_id," in out.replace("p.passenger_id,", "passenger_id,")
    assert Counter(rows(small_demo_db, out)) == Counter(rows(small_demo_db, correct))


def test_namesakes_are_no_longer_added_together(tmp_path):
    """Two passengers with one name: grouped by name they are one row with both tickets."""
    db = tmp_path / "namesakes.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript("""
            CREATE TABLE passengers (passenger_id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT);
            CREATE TABLE tickets (ticket_number TEXT PRIMARY KEY, passenger_id INTEGER);
            INSERT INTO passengers VALUES (1, 'José', 'Hernández'), (2, 'José', 'Hernández');
            INSERT INTO tickets VALUES ('a', 1), ('b', 2);""")
    sql = ("SELECT p.first_name, p.last_name, COUNT(*) FROM passengers p JOIN tickets t "
           "ON t.passenger_id = p.passenger_id GROUP BY p.first_name, p.last_name")
    assert rows(db, sql) == [("José", "Hernández", 2)]
    assert rows(db, people_grouped_by_key(sql, "sqlite", NAMES, ROW_KEYS)) == [("José", "Hernández", 1)] * 2


@pytest.mark.parametrize("sql", [
    "SELECT last_name, COUNT(*) FROM passengers GROUP BY last_name",               # a name counted
    "SELECT passenger_id, first_name, last_name, COUNT(*) FROM passengers GROUP BY passenger_id, first_name, "
    "last_name",                                                                     # already by key
    "SELECT nationality, gender, COUNT(*) FROM passengers GROUP BY nationality, gender",   # no names
    "SELECT first_name, last_name FROM passengers",                                 # no grouping
])
def test_other_groupings_are_left_alone(sql):
    assert people_grouped_by_key(sql, "sqlite", NAMES, ROW_KEYS) is None


@pytest.mark.parametrize(("question", "sql", "correct"), [
    ("vuelos de MEX a MTY de ayer: numero de vuelo y estatus",
     "SELECT f.origin, f.destination, f.flight_number, f.status FROM flights f WHERE f.origin = 'MEX' "
     "AND f.destination = 'MTY' AND f.scheduled_departure >= '2026-06-14' AND f.scheduled_departure < '2026-06-15'",
     "SELECT f.flight_number, f.status FROM flights f WHERE f.origin = 'MEX' AND f.destination = 'MTY' "
     "AND f.scheduled_departure >= '2026-06-14' AND f.scheduled_departure < '2026-06-15'"),
    ("How many gold members are there per nationality?",
     "SELECT loyalty_tier, nationality, COUNT(*) FROM passengers WHERE loyalty_tier = 'gold' "
     "GROUP BY loyalty_tier, nationality",
     "SELECT nationality, COUNT(*) FROM passengers WHERE loyalty_tier = 'gold' GROUP BY nationality"),
    ("delayed bags: how many?",                                     # the one group goes with its column
     "SELECT status, COUNT(*) FROM baggage WHERE status = 'delayed' GROUP BY status",
     "SELECT COUNT(*) FROM baggage WHERE status = 'delayed'"),
])
def test_a_constant_column_nobody_asked_for_is_dropped(small_demo_db, grouping_words, question, sql, correct):
    out = unasked_constant_columns(sql, "sqlite", question, grouping_words)
    assert out is not None
    assert Counter(rows(small_demo_db, out)) == Counter(rows(small_demo_db, correct))
    assert len(rows(small_demo_db, out)) == len(rows(small_demo_db, sql)) > 0


@pytest.mark.parametrize(("question", "sql"), [
    ("vuelos de MEX a MTY de ayer: origen, destino, numero de vuelo y estatus",      # asked for
     "SELECT f.origin, f.destination, f.flight_number, f.status FROM flights f WHERE f.origin = 'MEX' "
     "AND f.destination = 'MTY'"),
    ("flights out of MEX or GDL: origin and flight number",       # not fixed: two values
     "SELECT origin, flight_number FROM flights WHERE origin = 'MEX' OR origin = 'GDL'"),
    ("bags with status delayed", "SELECT status FROM baggage WHERE status = 'delayed'"),   # nothing left
    ("status of booking abc123",                                   # a key: staff read it as a label
     "SELECT record_locator, status FROM bookings WHERE record_locator = 'ABC123'"),
    ("flights from MEX, ordered", "SELECT origin, flight_number FROM flights WHERE origin = 'MEX' ORDER BY 1"),
])
def test_columns_asked_or_not_constant_stay(grouping_words, question, sql):
    assert unasked_constant_columns(sql, "sqlite", question, grouping_words) is None


@pytest.mark.parametrize(("sql", "correct"), [
    ("SELECT p.last_name, SUM(t.fare_amount) FROM passengers p JOIN tickets t ON t.passenger_id = "
     "p.passenger_id JOIN ticket_segments s ON s.ticket_number = t.ticket_number GROUP BY p.passenger_id, "
     "p.last_name",                                              # each fare once per coupon
     "SELECT p.last_name, SUM(t.fare_amount) FROM passengers p JOIN tickets t ON t.passenger_id = "
     "p.passenger_id GROUP BY p.passenger_id, p.last_name"),
    ("SELECT b.currency, AVG(b.total_amount) FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
     "JOIN ticket_segments s ON s.ticket_number = t.ticket_number WHERE b.status = 'ticketed' GROUP BY b.currency",
     "SELECT b.currency, AVG(b.total_amount) FROM bookings b WHERE b.status = 'ticketed' GROUP BY b.currency"),
])
def test_a_total_loses_the_unused_join_that_multiplied_it(small_demo_db, join_graph, sql, correct):
    out = fanned_out_totals(sql, "sqlite", join_graph)
    assert out is not None and "ticket_segments" not in out
    assert Counter(rows(small_demo_db, out)) == Counter(rows(small_demo_db, correct))
    assert Counter(rows(small_demo_db, sql)) != Counter(rows(small_demo_db, correct))    # the join did inflate it


@pytest.mark.parametrize("sql", [
    "SELECT SUM(t.fare_amount) FROM tickets t JOIN ticket_segments s ON s.ticket_number = t.ticket_number "
    "WHERE s.status = 'flown'",                                   # the coupons are read: a filter
    "SELECT SUM(t.fare_amount) FROM tickets t JOIN ticket_segments s ON s.ticket_number = t.ticket_number "
    "AND s.cabin = 'business'",                                   # ... in its ON
    "SELECT COUNT(*), SUM(t.fare_amount) FROM tickets t JOIN ticket_segments s ON s.ticket_number = "
    "t.ticket_number",                                            # a count may mean the coupons
    "SELECT SUM(t.fare_amount) FROM tickets t JOIN bookings b ON b.booking_id = t.booking_id",  # many to one
    "SELECT SUM(s.coupon_number) FROM tickets t JOIN ticket_segments s ON s.ticket_number = t.ticket_number",
    "SELECT SUM(fare_amount) FROM tickets t JOIN ticket_segments s ON s.ticket_number = t.ticket_number "
    "WHERE status = 'used'",                                       # unqualified: status could be the coupon's
    "SELECT t.ticket_number, s.seat FROM tickets t JOIN ticket_segments s ON s.ticket_number = t.ticket_number",
])
def test_joins_that_matter_stay(join_graph, sql):
    assert fanned_out_totals(sql, "sqlite", join_graph) is None
