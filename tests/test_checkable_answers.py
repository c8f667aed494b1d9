"""Answers staff can check, through the whole pipeline with a scripted model on real databases: the
restatement (in the answer, the JSON, the audit record), human column labels, grouped results that
show their groups, exact key figures, and namesakes told apart within the role's masking."""
from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
import sqlalchemy as sa

from assistant import rewrite as rules
from assistant.pipeline import Assistant
from assistant.rewrite import Context, apply
from db.settings import Settings
from sql_tools.audit import get_audit_log
from tests.fakes import RecordingChat


def grouping_columns_shown(sql, dialect):
    return apply(rules.grouping_columns_shown, sql, Context(dialect))


LOST_BY_DESTINATION = (
    "SELECT COUNT(*) FROM baggage b JOIN ticket_segments s ON s.segment_id = b.segment_id "
    "JOIN flights f ON f.flight_id = s.flight_id WHERE b.status IN ('lost', 'delayed') GROUP BY f.destination")


@pytest.fixture
def settings(small_demo_db, tmp_path):
    return Settings(query_path="tables", database_url=f"sqlite:///{small_demo_db}", app_url=f"sqlite:///{tmp_path / 'app.sqlite'}")


@pytest.fixture
def demo_pg_settings(small_demo_pg, tmp_path):
    return Settings(query_path="tables", database_url=small_demo_pg, app_url=f"sqlite:///{tmp_path / 'app.sqlite'}")


def ask(settings, sql: str, question: str, role: str = "agent"):
    return Assistant(settings, chat_model=RecordingChat([sql]), role=role, user="tester").ask(question)


def rows(url_or_path, sql: str) -> list[tuple]:
    engine = sa.create_engine(url_or_path if "://" in str(url_or_path) else f"sqlite:///{url_or_path}")
    with engine.connect() as conn:
        out = [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    engine.dispose()
    return out


def test_the_answer_the_json_and_the_audit_record_carry_the_restatement(settings, capsys):
    from assistant.ask_cli import _print_answer

    sql = ("SELECT COUNT(DISTINCT t.passenger_id) FROM ticket_segments s JOIN tickets t ON t.ticket_number = "
           "s.ticket_number JOIN flights f ON f.flight_id = s.flight_id WHERE s.status = 'flown' AND f.origin = 'MEX'")
    ans = ask(settings, sql, "¿Cuántos pasajeros volaron desde la Ciudad de México?")
    assert ans.error is None
    assert ans.restatement == ("Número de pasajeros distintos, donde estado del cupón es volado (flown) y origen "
                               "es MEX (Ciudad de México).")
    assert ans.column_labels == ["Número de pasajeros distintos"]
    assert ans.labels_by_lang == {"es": ["Número de pasajeros distintos"], "en": ["Number of distinct passengers"]}
    record = get_audit_log(settings.app_url).tail(1)[0]
    assert record.verdict == "accepted" and record.restatement == ans.restatement
    _print_answer(ans, True)
    out = json.loads(capsys.readouterr().out)
    assert out["restatement"] == ans.restatement and out["restatement_complete"] is True
    assert out["columns"] == ["count(distinct t.passenger_id)"]          # the SQL names stay
    assert out["column_labels"] == ["Número de pasajeros distintos"]
    _print_answer(ans, False)
    assert "Qué se calculó: Número de pasajeros distintos" in capsys.readouterr().out


def test_a_rejected_query_has_no_restatement_to_show(settings):
    ans = Assistant(settings, chat_model=RecordingChat(["DELETE FROM flights", "DROP TABLE flights"]),
                    role="agent", user="tester").ask("¿Cuántos vuelos hay?")
    assert ans.error and ans.restatement == "" and ans.column_labels == []
    assert get_audit_log(settings.app_url).tail(1)[0].restatement is None


def test_a_grouped_result_always_shows_its_groups_and_says_its_figures(settings, small_demo_db):
    ans = ask(settings, LOST_BY_DESTINATION, "¿Cuántas maletas perdidas o retrasadas hay por aeropuerto de destino?")
    assert ans.error is None
    expected = dict(rows(small_demo_db,
                         LOST_BY_DESTINATION.replace("SELECT COUNT(*)", "SELECT f.destination, COUNT(*)")))
    assert list(ans.rows.columns) == ["destination", "count(*)"]
    assert dict(zip(ans.rows["destination"], ans.rows["count(*)"])) == expected
    assert ans.column_labels == ["Destino", "Número de maletas"]
    top = sorted(expected.items(), key=lambda kv: -kv[1])[0]
    assert ans.text.startswith(f"{len(expected)} grupos por Destino. Mayor número de maletas: {top[0]} ({top[1]})")
    assert ans.text.endswith(f"Total: {sum(expected.values()):,}.")
    assert ans.restatement.startswith("Número de maletas, por destino, donde estado de la maleta es perdida (lost) o "
                                      "retrasada (delayed)")


@pytest.mark.parametrize("sql", [
    LOST_BY_DESTINATION,
    "SELECT SUM(fare_amount), AVG(taxes_amount) FROM tickets GROUP BY currency, status ORDER BY SUM(fare_amount) DESC",
    "SELECT COUNT(*) AS n FROM flights f GROUP BY f.origin, strftime('%Y-%m', f.scheduled_departure)",
    "SELECT b.channel, COUNT(*) FROM bookings b GROUP BY b.channel, b.status HAVING COUNT(*) > 2",
])
def test_the_grouping_rewrite_changes_no_group_and_no_value(small_demo_db, sql):
    rewritten = grouping_columns_shown(sql, "sqlite")
    assert rewritten is not None
    before, after = rows(small_demo_db, sql), rows(small_demo_db, rewritten)
    assert len(before) == len(after) > 1
    added = len(after[0]) - len(before[0])
    assert added >= 1
    assert sorted(map(tuple, (r[added:] for r in after)), key=repr) == sorted(before, key=repr)
    assert len({r[:added] for r in after}) == len(after) or "status" in sql   # one row per group shown


@pytest.mark.parametrize("sql", [
    "SELECT origin, COUNT(*) FROM flights GROUP BY origin",
    "SELECT origin AS o, COUNT(*) FROM flights GROUP BY o",
    "SELECT DISTINCT COUNT(*) FROM flights GROUP BY origin",
    "SELECT COUNT(*) FROM flights GROUP BY 1",
    "SELECT COUNT(*) FROM flights",
])
def test_the_grouping_rewrite_leaves_alone_what_it_must(sql):
    assert grouping_columns_shown(sql, "sqlite") is None


def test_the_restatement_on_postgresql(demo_pg_settings):
    sql = ("SELECT f.destination, COUNT(*) FROM ticket_segments s JOIN flights f ON f.flight_id = s.flight_id "
           "WHERE s.cabin = 'business' AND f.scheduled_departure >= '2026-06-08' AND f.scheduled_departure < "
           "'2026-06-15' GROUP BY f.destination")
    ans = ask(demo_pg_settings, sql, "How many business coupons per destination in the week of 8 June 2026?")
    assert ans.error is None, ans.text
    assert ans.restatement == ("Number of coupons, by destination, where cabin is business and scheduled departure "
                               "from 8 to 14 Jun 2026.")
    assert ans.column_labels == ["Destination", "Number of coupons"]
    assert get_audit_log(demo_pg_settings.app_url).tail(1)[0].restatement == ans.restatement


def _namesake(small_demo_db) -> tuple[str, list[int]]:
    with sqlite3.connect(small_demo_db) as conn:
        name = conn.execute("SELECT p.search_name FROM passengers p GROUP BY p.search_name HAVING COUNT(*) = 2 "
                            "ORDER BY p.search_name LIMIT 1").fetchone()[0]
        people = conn.execute("SELECT passenger_id, first_name, last_name, second_last_name FROM passengers "
                              "WHERE search_name = ?", (name,)).fetchall()
    return " ".join(part for part in people[0][1:] if part), [p[0] for p in people]


def test_namesakes_are_counted_and_told_apart_within_the_agents_masking(settings, small_demo_db):
    name, ids = _namesake(small_demo_db)
    ans = ask(settings, f"SELECT p.email FROM passengers p WHERE p.passenger_id IN ({ids[0]}, {ids[1]})",
              f"dame el correo de {name}")
    assert ans.error is None
    assert [p["id"] for p in ans.namesakes] == sorted(ids)
    assert f"«{name}» corresponde a 2 pasajeros distintos" in ans.text
    with sqlite3.connect(small_demo_db) as conn:
        docs = [conn.execute("SELECT document_number, date_of_birth FROM passengers WHERE passenger_id = ?",
                             (i,)).fetchone() for i in sorted(ids)]
    for person, (doc, born) in zip(ans.namesakes, docs):
        assert person["document_number"].endswith(doc[-4:]) and doc not in json.dumps(ans.namesakes)
        assert person["date_of_birth"] == born[:4]                   # the year only, for an agent
        assert f"n.º {person['id']}" in ans.text and born[:4] in ans.text
    audited = get_audit_log(settings.app_url).tail(5)
    assert sum(r.sql_out is not None and "document_number" in r.sql_out for r in audited) == 1


def test_an_analyst_naming_a_person_is_refused_not_told_their_namesakes(settings, small_demo_db):
    """Pseudonyms are stable: telling an analyst which pseudonyms answer to a typed name would
    re-identify them everywhere else (issue 23). The name is refused before any look-up or model call."""
    name, ids = _namesake(small_demo_db)
    ans = ask(settings, f"SELECT COUNT(*) FROM tickets t WHERE t.passenger_id IN ({ids[0]}, {ids[1]})",
              f"¿cuántos boletos tiene {name}?", role="analyst")
    assert ans.refused and ans.namesakes == [] and ans.sql == "" and ans.llm_calls == 0
    assert "analyst" in ans.text and not any(str(i) in ans.text for i in ids)


def test_one_person_is_no_namesake(settings, small_demo_db):
    with sqlite3.connect(small_demo_db) as conn:
        pid, first, last, second = conn.execute(
            "SELECT passenger_id, first_name, last_name, second_last_name FROM passengers p WHERE "
            "(SELECT COUNT(*) FROM passengers q WHERE q.search_name LIKE p.search_name || '%') = 1 LIMIT 1").fetchone()
    ans = ask(settings, f"SELECT p.email FROM passengers p WHERE p.passenger_id = {pid}",
              f"dame el correo de {first} {last} {second or ''}".strip())
    assert ans.error is None and ans.namesakes == [] and "corresponde a" not in ans.text


def test_an_old_audit_store_gains_the_restatement_column_and_keeps_its_records(tmp_path):
    from sql_tools import audit

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    old = sa.MetaData()
    sa.Table("audit_log", old, *[sa.Column(c.name, c.type, primary_key=c.primary_key)
                                 for c in audit.audit_log.columns if c.name != "restatement"])
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO audit_log (ts, user_name, role, verdict, question) "
                             "VALUES ('2026-06-01 10:00:00', 'ana', 'agent', 'accepted', 'before the upgrade')"))
    engine.dispose()
    log = audit.AuditLog(url)
    log.append(audit.AuditRecord(user="ana", role="agent", verdict="accepted", question="after",
                                 restatement="Número de vuelos."))
    got = {r.question: r.restatement for r in log.tail(5)}
    assert got == {"before the upgrade": None, "after": "Número de vuelos."}


def test_labels_follow_the_ui_language_in_the_page(settings):
    from ui.render import labelled

    ans = ask(settings, "SELECT currency, SUM(fare_amount) FROM tickets GROUP BY currency", "total fare per currency")
    df = pd.DataFrame(ans.rows)
    assert list(labelled(df, ans.labels_by_lang, "es").columns) == ["Moneda", "Suma de tarifa"]
    assert list(labelled(df, ans.labels_by_lang, "en").columns) == ["Currency", "Total fare"]


def _a_booking(small_demo_db) -> tuple[str, int]:
    with sqlite3.connect(small_demo_db) as conn:
        return conn.execute("SELECT b.record_locator, b.booking_id FROM bookings b JOIN tickets t ON t.booking_id = "
                            "b.booking_id ORDER BY b.booking_id LIMIT 1").fetchone()


def test_a_record_look_up_is_a_card_with_no_model_call(settings, small_demo_db, capsys):
    from assistant.ask_cli import _print_answer
    from assistant.memory import Memory

    locator, booking_id = _a_booking(small_demo_db)
    chat = RecordingChat(["SELECT COUNT(*) FROM baggage"])        # only the follow-up may call the model
    assistant = Assistant(settings, chat_model=chat, role="agent", user="tester")
    memory = Memory()
    ans = assistant.ask(f"reserva {locator.lower()}", memory=memory)
    assert ans.error is None and ans.card is not None and chat.calls == []
    assert ans.card["kind"] == "booking" and ans.card["key"] == {"record_locator": locator}
    assert ans.text.startswith(f"Reserva {locator}: ")
    assert ans.restatement.startswith(f"Ficha de la reserva {locator}")
    assert get_audit_log(settings.app_url).tail(1)[0].restatement == ans.restatement
    assert set(ans.rows["record_locator"]) == {locator} and ans.fast_path
    _print_answer(ans, True)
    out = json.loads(capsys.readouterr().out)
    assert out["card"]["key"] == {"record_locator": locator} and out["card"]["passengers"]
    _print_answer(ans, False)
    assert f"Reserva {locator}" in capsys.readouterr().out
    # The follow-up stays on the record on screen.
    assistant.ask("¿y sus maletas?", memory=memory)
    assert f"bookings.booking_id = {booking_id}" in chat.user_messages[0]


def test_look_up_answers_cards_only(settings, small_demo_db):
    locator, _ = _a_booking(small_demo_db)
    assistant = Assistant(settings, chat_model=RecordingChat([]), role="agent", user="tester")
    assert assistant.look_up(f"localizador {locator}").card["kind"] == "booking"
    assert assistant.look_up("¿Cuántos vuelos hay hoy?") is None
    assert assistant.look_up("") is None
    assert assistant.look_up("dame todos los correos") is None         # refused questions are ask()'s


def test_a_question_that_is_no_card_is_linked_once(settings, monkeypatch):
    """look_up then ask (what the page and the API do) run the linker's database look-ups once."""
    import assistant.pipeline as pipeline

    calls = []
    real = pipeline.link
    monkeypatch.setattr(pipeline, "link", lambda *a, **kw: calls.append(a[0]) or real(*a, **kw))
    assistant = Assistant(settings, chat_model=RecordingChat(["SELECT COUNT(*) FROM flights"] * 2), role="agent",
                          user="tester")
    assert assistant.look_up("¿Cuántos vuelos hay?") is None
    assert assistant.ask("¿Cuántos vuelos hay?").error is None
    assert calls == ["¿Cuántos vuelos hay?"]
    assistant.ask("¿Cuántos vuelos hay?")                 # a later ask links afresh
    assert len(calls) == 2
