"""Verified questions (assistant/verified.py, issue 27): a supervisor verifies an answer; the same
question with other values is answered from it with no model call, the values substituted, guarded and
audited; anything less than a confident match goes to the model; an entry that no longer compiles is
skipped, never run; an agent cannot verify; entries move between installations as JSONL. A scripted
fake model on the real seeded demo (SQLite), and the CLI end to end."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from assistant import verified as vq
from assistant.pipeline import Assistant
from db.settings import Settings
from sql_tools.audit import get_audit_log
from tests.fakes import RecordingChat

Q1 = "¿Cuántos pasajeros volaron de MEX a CUN el 2026-06-10?"
Q2 = "¿Cuántos pasajeros volaron de GDL a MEX el 2026-06-12?"
VIEW_SQL = ("SELECT COUNT(*) AS n FROM coupons WHERE origin = 'MEX' AND destination = 'CUN' "
            "AND flight_date = '2026-06-10' AND coupon_status = 'flown'")
BY_HAND = ("SELECT COUNT(*) FROM ticket_segments s JOIN flights f ON f.flight_id = s.flight_id "
           "WHERE f.origin = :o AND f.destination = :d AND date(f.scheduled_departure) = :day AND s.status = 'flown'")


@pytest.fixture
def settings(small_demo_db, tmp_path):
    return Settings(database_url=f"sqlite:///{small_demo_db}", app_url=f"sqlite:///{tmp_path / 'app.sqlite'}",
                    query_path="views")


def make(settings, replies, role="supervisor"):
    chat = RecordingChat(replies)
    return Assistant(settings, chat_model=chat, role=role, user=f"{role}-1"), chat


def by_hand(settings, o, d, day) -> int:
    engine = sa.create_engine(settings.database_url)
    with engine.connect() as conn:
        n = conn.execute(sa.text(BY_HAND), {"o": o, "d": d, "day": day}).scalar()
    engine.dispose()
    return n


def verified_once(settings, *later: str):
    """A supervisor's Assistant with Q1 answered and verified; `later` are the model's next replies."""
    a, chat = make(settings, [VIEW_SQL, *later])
    first = a.ask(Q1)
    assert first.error is None and first.path == "views"
    entry = a.verify(Q1, first.sql_generated, first.path)
    return a, chat, entry


# --- shape and substitution -----------------------------------------------------------------------

def test_the_shape_sets_linked_values_aside_and_keeps_the_words_that_give_them_roles(settings):
    a, _ = make(settings, [])
    s1, slots1 = vq.shape_of(Q1, a._link(Q1).hints)
    s2, slots2 = vq.shape_of(Q2, a._link(Q2).hints)
    assert s1 == s2 == "cuantos pasajeros <term> de <airport> a <airport> el <date>"
    assert slots1 == (("term ticket_segments.status", ("flown",)), ("airport", ("MEX",)), ("airport", ("CUN",)),
                      ("date", ("2026-06-10",)))
    reversed_, _ = vq.shape_of("¿Cuántos pasajeros volaron a MEX desde CUN el 2026-06-10?",
                               a._link("¿Cuántos pasajeros volaron a MEX desde CUN el 2026-06-10?").hints)
    assert reversed_ != s1


def test_a_glossary_term_for_one_value_of_a_column_is_a_slot_of_that_column(settings):
    """'business class' and 'economy class' mean cabin = one value each: the same question with the other
    cabin has the same shape, and the cabin's literal is what changes; a term of another column never
    stands for it."""
    a, _ = make(settings, [])
    q1, q2 = "How many gold members flew business class in 2026?", "How many platinum members flew economy class in 2026?"
    (s1, slots1), (s2, slots2) = (vq.shape_of(q, a._link(q).hints) for q in (q1, q2))
    assert s1 == s2 == "how many <value> members <term> <term> <date_range>"
    assert slots2[2] == ("term ticket_segments.cabin", ("economy",))
    sql = ("SELECT COUNT(DISTINCT passenger_id) FROM coupons WHERE loyalty_tier = 'gold' AND coupon_status = 'flown' "
           "AND cabin = 'business' AND flight_date BETWEEN '2026-01-01' AND '2026-12-31'")
    assert "loyalty_tier = 'platinum'" in vq.substitute(sql, "sqlite", slots1, slots2) and \
        "cabin = 'economy'" in vq.substitute(sql, "sqlite", slots1, slots2)
    assert vq.substitute(sql, "sqlite", (("term ticket_segments.cabin", ("business",)),),
                         (("term ticket_segments.status", ("no_show",)),)) is None


def test_substitution_is_one_pass_and_refuses_what_it_cannot_do_surely():
    old = (("airport", ("MEX",)), ("airport", ("CUN",)))
    swapped = vq.substitute("SELECT 1 FROM flights WHERE origin = 'MEX' AND destination = 'CUN'", "sqlite",
                            old, (("airport", ("CUN",)), ("airport", ("MEX",))))
    assert swapped == "SELECT 1 FROM flights WHERE origin = 'CUN' AND destination = 'MEX'"
    assert vq.substitute("SELECT 1 FROM flights WHERE origin = 'MEX'", "sqlite", old,
                         (("airport", ("GDL",)), ("airport", ("TIJ",)))) is None       # CUN is not in the query
    assert vq.substitute("SELECT 1 FROM flights WHERE origin = 'MEX'", "sqlite", old[:1],
                         (("date", ("2026-01-01",)),)) is None                           # another kind
    assert vq.substitute("SELECT 1 FROM flights WHERE origin = 'MEX'", "sqlite", (("airport", ("MEX",)),) * 2,
                         (("airport", ("GDL",)), ("airport", ("TIJ",)))) is None       # one literal, two values
    flight = vq.substitute("SELECT 1 FROM flights WHERE carrier_code = 'XA' AND flight_number = 401", "sqlite",
                           (("flight", ("XA", 401)),), (("flight", ("XA", 622)),))
    assert flight.endswith("flight_number = 622")


# --- through the pipeline --------------------------------------------------------------------------

def test_a_verified_question_is_answered_again_for_other_values_with_no_model_call(settings):
    a, chat, entry = verified_once(settings)
    calls = len(chat.calls)
    ans = a.ask(Q2)
    assert len(chat.calls) == calls and ans.llm_calls == 0
    assert ans.error is None and ans.path == "verified"
    assert ans.verified == {"id": entry.id, "by": "supervisor-1", "at": entry.verified_at.date().isoformat(),
                            "question": Q1}
    assert "'GDL'" in ans.sql_generated and "'2026-06-12'" in ans.sql_generated
    assert int(ans.rows.iloc[0, 0]) == by_hand(settings, "GDL", "MEX", "2026-06-12")
    assert get_audit_log(settings.app_url).tail(1)[0].trace.startswith(f"verified,verified #{entry.id}")
    assert ans.to_dict()["verified"]["by"] == "supervisor-1"


def test_another_phrasing_or_word_goes_to_the_model(settings):
    a, chat, _ = verified_once(settings, VIEW_SQL.replace("'flown'", "'no_show'"))
    ans = a.ask("¿Cuántos pasajeros no se presentaron de MEX a CUN el 2026-06-10?")
    assert ans.path == "views" and ans.llm_calls == 1 and "'no_show'" in ans.sql_generated


def test_an_agent_cannot_verify_and_a_query_without_the_values_cannot_be_verified(settings):
    agent, _ = make(settings, [], role="agent")
    with pytest.raises(vq.VerifiedError, match="only a supervisor"):
        agent.verify(Q1, VIEW_SQL, "views")
    sup, _ = make(settings, [])
    with pytest.raises(vq.VerifiedError, match="does not use every value"):
        sup.verify(Q1, "SELECT COUNT(*) FROM coupons WHERE origin = 'MEX'", "views")


def test_an_entry_that_no_longer_compiles_is_skipped_not_run_and_listed(settings):
    a, chat, entry = verified_once(
        settings, VIEW_SQL.replace("'MEX'", "'GDL'").replace("'CUN'", "'MEX'").replace("06-10", "06-12"))
    engine = sa.create_engine(settings.app_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE verified_questions SET sql = replace(sql, 'coupon_status', 'coupon_mood')"))
    engine.dispose()
    audited = get_audit_log(settings.app_url).count()
    ans = a.ask(Q2)
    assert ans.path == "views" and ans.llm_calls == 1                  # the model answered instead
    assert get_audit_log(settings.app_url).count() == audited + 1     # the broken query never ran
    listed = vq.entries(settings.app_url)[0]
    assert listed.broken and "coupon_mood" in listed.broken
    assert "coupon_mood" in vq.status(a, listed)


def test_the_cli_adds_lists_exports_imports_and_removes(settings, tmp_path, monkeypatch):
    from abordo.cli import main
    from assistant.users import add_user

    add_user(settings.app_url, "jefa", "supervisor", "jefa-pass-123")
    add_user(settings.app_url, "ana", "agent", "ana-pass-123")
    env = {"ABORDO_DATABASE_URL": settings.database_url, "ABORDO_APP_URL": settings.app_url}
    run = CliRunner().invoke
    r = run(main, ["verified", "add", Q1, "--by", "ana", "--sql", VIEW_SQL, "--yes"], env=env)
    assert r.exit_code == 2 and "only a supervisor" in r.output
    r = run(main, ["verified", "add", Q1, "--by", "jefa", "--sql", VIEW_SQL, "--yes"], env=env)
    assert r.exit_code == 0, r.output
    r = run(main, ["verified", "list", "--json"], env=env)
    listed = [json.loads(line) for line in r.output.splitlines()]
    assert listed[0]["verified_by"] == "jefa" and listed[0]["skipped"] is None
    out = tmp_path / "verified.jsonl"
    assert run(main, ["verified", "export", str(out)], env=env).exit_code == 0
    other = {**env, "ABORDO_APP_URL": f"sqlite:///{tmp_path / 'other.sqlite'}"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(out.read_text() + "{not json\n")
    r = run(main, ["verified", "import", str(bad)], env=other)
    assert r.exit_code == 2 and "line 2" in r.output
    assert vq.entries(other["ABORDO_APP_URL"]) == []                   # all or nothing
    assert "imported 1" in run(main, ["verified", "import", str(out)], env=other).output
    assert vq.entries(other["ABORDO_APP_URL"])[0].sql == VIEW_SQL
    assert run(main, ["verified", "remove", str(listed[0]["id"])], env=env).exit_code == 0
    assert vq.entries(settings.app_url) == []
