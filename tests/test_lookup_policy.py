"""Who may look whom up, and by what (issue 23, items 1 and 11): a role that may not filter on a column
cannot look a record up by it either (`RolePolicy.may_look_up`).

On the real seeded demo (SQLite, and PostgreSQL for the key cases), through the `Assistant` as the API
drives it (`look_up` first, then `ask`), with a model that fails the test if a look-up ever reaches it
and a `fetch` that records every query the linker runs: an analyst typing a name, and an agent or an
analyst typing a document number, e-mail or phone, gets an audited refusal and no query by that
column, whether or not such a person exists; a supervisor typing a passport number gets the card."""
from __future__ import annotations

import datetime as dt
import re
import sqlite3
import unicodedata

import pytest
import sqlalchemy as sa

from assistant.cards import card_request
from assistant.pipeline import Assistant
from assistant.question.link import clear_cache, link
from assistant.question.refusals import Refusal
from db.catalog import load_catalog
from db.engines import parse_url
from db.settings import Settings
from sql_tools.audit import get_audit_log
from sql_tools.lookup import make_fetch
from tests.fakes import RecordingChat

CATALOG = load_catalog()
TODAY = dt.date(2026, 6, 15)
CODE = "refused_lookup_not_allowed"
KINDS = ("name", "locator", "ticket", "bag", "document", "email", "phone")

# What each role gets for each kind of look-up: the card it opens, or a refusal.
EXPECTED = {
    "agent": {"name": "passenger", "locator": "booking", "ticket": "ticket", "bag": "bag",
              "document": "refused", "email": "refused", "phone": "refused"},
    "supervisor": {"name": "passenger", "locator": "booking", "ticket": "ticket", "bag": "bag",
                   "document": "passenger", "email": "passenger", "phone": "passenger"},
    "analyst": {"name": "refused", "locator": "booking", "ticket": "ticket", "bag": "bag",
                "document": "refused", "email": "refused", "phone": "refused"},
}
# The catalog columns a refused look-up of that kind would have queried: no recorded query names them.
SUBJECT = CATALOG.exposed_tables[CATALOG.subject_table]
PERSONAL = tuple(c.name for c in SUBJECT.columns.values() if c.pii)


# --------------------------------------------------------------------------------------------------
# the seeded demo, in SQLite and PostgreSQL (same seed and size: the same rows)


@pytest.fixture(scope="module")
def demo_sqlite(small_demo_db) -> str:
    return f"sqlite:///{small_demo_db}"


@pytest.fixture
def db_url(small_demo_url) -> str:
    return small_demo_url


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    clear_cache()
    return Settings(query_path="tables", database_url=db_url, app_url=f"sqlite:///{tmp_path / 'app.sqlite'}")


@pytest.fixture(scope="module")
def person(demo_sqlite) -> dict:
    """A seeded passenger with a booking, a ticket and a bag, whose name, document, e-mail and phone
    each belong to no one else, and whose name the owner's linker resolves to them alone."""
    path = sa.engine.make_url(demo_sqlite).database
    unique = ("(SELECT COUNT(*) FROM passengers q WHERE q.{c} = p.{c}) = 1")
    with sqlite3.connect(path) as c:
        rows = c.execute(
            "SELECT p.passenger_id, p.first_name, p.last_name, p.second_last_name, p.document_number, p.email, "
            "p.phone, b.record_locator, t.ticket_number, g.bag_tag FROM passengers p "
            "JOIN tickets t ON t.passenger_id = p.passenger_id JOIN bookings b ON b.booking_id = t.booking_id "
            "JOIN ticket_segments s ON s.ticket_number = t.ticket_number "
            "JOIN baggage g ON g.segment_id = s.segment_id WHERE "
            + " AND ".join(unique.format(c=col) for col in ("document_number", "email", "phone"))
            + " AND (SELECT COUNT(*) FROM passengers q WHERE q.search_name = p.search_name "
              "OR q.search_name LIKE p.search_name || ' %') = 1 "
            "GROUP BY p.passenger_id ORDER BY p.passenger_id LIMIT 40").fetchall()
    fetch = make_fetch(Settings(database_url=demo_sqlite, app_url="sqlite:///:memory:"), "supervisor")
    for pid, first, last, second, doc, email, phone, locator, ticket, bag in rows:
        name = " ".join(x for x in (first, last, second) if x)
        req = card_request(name, link(name, catalog=CATALOG, today=TODAY, fetch=fetch).hints, catalog=CATALOG)
        if req is not None and req.value == pid:
            return {"pid": pid, "name": name, "first": first, "document": doc, "email": email, "phone": phone,
                    "locator": locator, "ticket": ticket, "bag": bag}
    pytest.fail("no seeded passenger fits the look-up table")


def question(kind: str, p: dict) -> str:
    """How staff type each look-up (a phone with a space after its country code, as people write it)."""
    phone = p["phone"]
    return {"name": p["name"], "locator": f"reserva {p['locator']}", "ticket": f"boleto {p['ticket']}",
            "bag": f"maleta {p['bag']}", "document": f"pasaporte {p['document']}", "email": f"correo {p['email']}",
            "phone": f"teléfono {phone[:3]} {phone[3:]}"}[kind]


def assistant(settings, role: str) -> tuple[Assistant, RecordingChat, list[str]]:
    """An Assistant whose model fails the test when called and whose `fetch` records its SQL."""
    inner = make_fetch(settings, role)
    ran: list[str] = []

    def fetch(sql: str, params: dict) -> list[tuple]:
        ran.append(sql)
        return inner(sql, params)

    chat = RecordingChat([])    # no scripted reply: any model call raises
    return Assistant(settings, chat_model=chat, role=role, user=f"tester-{role}", fetch=fetch), chat, ran


def personal_queries(ran: list[str]) -> list[str]:
    """Recorded queries that read or filter a personal column of the subject table (a name, document
    or contact look-up); the prompt's value sampling reads only non-personal columns."""
    pattern = re.compile(r"\b(?:" + "|".join(PERSONAL) + r")\b", re.IGNORECASE)
    return [sql for sql in ran if pattern.search(sql)]


def content(card: dict) -> dict:
    """A card's data, without what differs between two openings (its audit ids, its time)."""
    return {k: v for k, v in card.items() if k not in ("audit_ids", "elapsed_ms")}


def refusals(settings) -> list:
    return [r for r in get_audit_log(settings.app_url).tail(50) if r.verdict == "refused"]


# --------------------------------------------------------------------------------------------------
# the rule


def test_may_look_up_is_seeing_the_class_in_the_clear():
    for role, policy in CATALOG.roles.items():
        assert policy.may_look_up(None) is True, role          # no personal data: anyone
        for cls in ("identifier", "contact", "document", "date_of_birth", "free_text"):
            assert policy.may_look_up(cls) is (policy.action(cls) == "clear"), (role, cls)
    agent, supervisor, analyst = (CATALOG.role(r) for r in ("agent", "supervisor", "analyst"))
    assert agent.may_look_up("identifier") and not agent.may_look_up("document") and not agent.may_look_up("contact")
    assert supervisor.may_look_up("document") and supervisor.may_look_up("contact")
    assert not analyst.may_look_up("identifier") and not analyst.may_look_up("document")
    # A locator, ticket or bag tag carries no personal data: the guard lets every role filter on it.
    for table, column in (("bookings", "record_locator"), ("tickets", "ticket_number"), ("baggage", "bag_tag")):
        assert CATALOG.column(table, column).pii is None
        assert all(p.may_look_up(None) for p in CATALOG.roles.values())


# --------------------------------------------------------------------------------------------------
# role x kind of look-up: a card or a refusal, never the model


@pytest.mark.parametrize("role", ["agent", "supervisor", "analyst"])
def test_each_role_and_kind_of_look_up_opens_a_card_or_is_refused(role, settings, person):
    wrong = []
    for kind in KINDS:
        q = question(kind, person)
        a, chat, ran = assistant(settings, role)
        before = len(refusals(settings))
        found = a.look_up(q)                    # what the API does before queueing for the model
        got = "none" if found is None else "refused" if found.refused else (found.card or {}).get("kind", "?")
        if got != EXPECTED[role][kind]:
            wrong.append((kind, q, got, EXPECTED[role][kind]))
            continue
        asked = a.ask(q)                         # the same question asked directly
        assert chat.calls == [] and found.llm_calls == asked.llm_calls == 0, (role, kind)
        if got == "refused":
            assert asked.refused and asked.text == found.text and asked.card is None
            records = refusals(settings)[before:]
            assert [r.code for r in records] == [CODE, CODE] and {r.question for r in records} == {q}
            assert all(r.role == role for r in records)
            assert personal_queries(ran) == [], (role, kind)
            assert f"({role})" in found.text and ("no puede buscar" in found.text or "cannot look" in found.text)
            assert not any(str(v) in found.text for v in (person["name"], person["document"], person["email"]))
        else:
            assert content(asked.card) == content(found.card) and not asked.refused
            if got == "passenger":
                assert found.card["subject"]["value"] == person["pid"], (role, kind)
    assert wrong == [], f"{role}: (kind, question, got, expected): {wrong}"


def test_the_refusal_names_what_and_who_may_in_both_languages(settings, person):
    a, _, _ = assistant(settings, "analyst")
    en = a.look_up(f"show me the details of passenger {person['name']}")
    es = a.look_up(f"datos del pasajero {person['name']}")
    assert en.text == "Your role (analyst) cannot look people up by name; the agent and supervisor roles can."
    assert es.text == ("Tu rol (analyst) no puede buscar personas por nombre; "
                       "los roles agent y supervisor sí pueden.")
    agent, _, _ = assistant(settings, "agent")
    assert agent.look_up(f"show me the passport {person['document']}").text == (
        "Your role (agent) cannot look people up by document number; the supervisor role can.")
    assert Refusal("write").text("en").startswith("I can only look data up")


# --------------------------------------------------------------------------------------------------
# no existence oracle


def test_an_analyst_naming_someone_who_does_not_exist_gets_the_very_same_refusal(settings, db_url, person):
    ghost = "Zacarías Quintanilla Ybarra"
    engine = sa.create_engine(parse_url(db_url))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM passengers WHERE search_name LIKE 'zacarias q%'")
                            ).scalar() == 0
    engine.dispose()
    answers = {}
    for who in (person["name"], ghost):
        a, chat, ran = assistant(settings, "analyst")
        ans = a.look_up(who)
        assert ans is not None and ans.refused and ans.card is None and chat.calls == []
        assert personal_queries(ran) == []
        asked = a.ask(f"¿cuántos vuelos tomó {who} este año?")   # naming a person anywhere in a question
        assert asked.refused and chat.calls == [] and personal_queries(ran) == []
        answers[who] = (ans.text, ans.lang, asked.text, refusals(settings)[-1].code)
    assert answers[person["name"]] == answers[ghost]
    assert answers[ghost][3] == CODE


def test_an_agent_typing_an_unknown_document_or_contact_is_refused_alike(settings, person):
    a, chat, ran = assistant(settings, "agent")
    real = [a.look_up(q).text for q in (f"pasaporte {person['document']}", f"correo {person['email']}")]
    fake = [a.look_up(q).text for q in ("pasaporte QZ0000001", "correo nadie.existe@ejemplo.mx")]
    assert real == fake and chat.calls == [] and personal_queries(ran) == []


# --------------------------------------------------------------------------------------------------
# what an analyst may do: a locator card, with pseudonyms


def test_an_analysts_locator_card_shows_pseudonyms(settings, db_url, person):
    # A locator carries no personal data: the guard lets analysts filter on it, and so does the rule.
    assert CATALOG.column("bookings", "record_locator").pii is None
    assert CATALOG.role("analyst").may_look_up(CATALOG.column("bookings", "record_locator").pii)
    a, chat, _ = assistant(settings, "analyst")
    ans = a.look_up(person["locator"])
    assert ans is not None and not ans.refused and ans.card["kind"] == "booking" and chat.calls == []
    passengers = ans.card["passengers"]
    assert passengers and all(p["first_name"].startswith("P-") and p["last_name"].startswith("P-")
                              for p in passengers)
    assert not {"document_number", "email", "phone"} & {k for p in passengers for k in p}
    shown = ans.card_text + ans.text + repr(ans.card)
    assert person["first"] not in shown and person["email"] not in shown and person["document"] not in shown


# --------------------------------------------------------------------------------------------------
# identifiers typed in full-width forms


FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}


def test_a_full_width_locator_opens_the_same_card(settings, person):
    a, chat, _ = assistant(settings, "agent")
    ascii_card = a.look_up(f"reserva {person['locator']}")
    wide = f"reserva {person['locator'].translate(FULL_WIDTH)}"
    assert wide != f"reserva {person['locator']}"
    wide_card = a.look_up(wide)
    assert wide_card is not None and chat.calls == []
    assert content(wide_card.card) == content(ascii_card.card) and wide_card.card["kind"] == "booking"


def test_full_width_digits_link_like_ascii_ones(demo_sqlite, person):
    fetch = make_fetch(Settings(database_url=demo_sqlite, app_url="sqlite:///:memory:"), "agent")
    path = sa.engine.make_url(demo_sqlite).database
    with sqlite3.connect(path) as c:
        carrier, number = c.execute(
            "SELECT f.carrier_code, f.flight_number FROM flights f JOIN ticket_segments s ON s.flight_id = f.flight_id "
            "WHERE date(f.scheduled_departure) = '2026-06-15' AND f.carrier_code = 'XA' "
            "GROUP BY f.flight_id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()
    for q in (f"boleto {person['ticket']}", f"maleta {person['bag']}", f"{carrier}{number} de hoy",
              f"reserva {person['locator'].lower()}"):
        wide = q.translate(FULL_WIDTH)
        plain = card_request(q, link(q, catalog=CATALOG, today=TODAY, fetch=fetch, role="agent").hints,
                             catalog=CATALOG, role="agent")
        linked = link(wide, catalog=CATALOG, today=TODAY, fetch=fetch, role="agent")
        assert plain is not None, q
        assert card_request(wide, linked.hints, catalog=CATALOG, role="agent") == plain, wide
    # NFKC leaves composed accents as they are and composes decomposed ones: 'José' is 'José'.
    composed = person["name"]
    decomposed = unicodedata.normalize("NFD", composed)
    a = link(composed, catalog=CATALOG, today=TODAY, fetch=fetch, role="agent").hints
    b = link(decomposed, catalog=CATALOG, today=TODAY, fetch=fetch, role="agent").hints
    assert [(h.kind, h.value, h.text) for h in a] == [(h.kind, h.value, h.text) for h in b]
    assert any(h.kind == "passenger" and h.text == composed for h in a)


# --------------------------------------------------------------------------------------------------
# the card path asks too, whatever made the hint


def test_a_card_is_never_opened_from_a_name_hint_for_a_role_that_may_not_look_names_up(demo_sqlite, person):
    fetch = make_fetch(Settings(database_url=demo_sqlite, app_url="sqlite:///:memory:"), "agent")
    hints = link(person["name"], catalog=CATALOG, today=TODAY, fetch=fetch).hints     # the owner's view
    assert card_request(person["name"], hints, catalog=CATALOG, role="agent").value == person["pid"]
    assert card_request(person["name"], hints, catalog=CATALOG, role="analyst") is None
    denied = link(person["name"], catalog=CATALOG, today=TODAY, fetch=fetch, role="analyst")
    assert denied.hints == () and [d.kind for d in denied.denied] == ["name"]
